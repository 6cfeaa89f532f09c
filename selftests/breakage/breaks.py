#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Break the rethook trampolines on purpose; show the tests catch each break.

For every break: the series applied in a private worktree, one edit to the
trampoline's assembly (an exact text replacement, so a series change that
moves the text makes the break fail loudly instead of silently testing
nothing), an incremental build, a boot with the KUnit suites, and the
verdict: which cases failed, which console splats appeared, or the hang.
A break is caught when at least one case fails, the console has a splat or
the boot hangs; the run also needs the unbroken kernel ('none') to pass.
Exit status 0 only if the control passes and every break is caught.

  python3 selftests/breakage/breaks.py x86_64 [BREAK ...]
  python3 selftests/breakage/breaks.py arm64 --list

Worktree and build directory default to <cache>/wt-break and
<cache>/build-break/<target>; --worktree/--build-dir point elsewhere (the
worktree must belong to the cache's base repository, never a user tree).
"""

import argparse
import dataclasses
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, 'scripts'))
from rthlib import api as rth  # noqa: E402
from rthlib.common import HarnessError, log  # noqa: E402

X86 = 'arch/x86/kernel/rethook_trampoline.S'
ARM64 = 'arch/arm64/kernel/rethook_trampoline.S'
X86_UNWIND = 'arch/x86/include/asm/unwind.h'


@dataclasses.dataclass
class Break:
    name: str
    target: str
    path: str
    old: str
    new: str
    what: str


BREAKS = [
    # ---------------------------------------------------------- x86_64
    Break('no-rax-reload', 'x86_64', X86,
          '\tpopq\t%r8\n\tpopq\t%rax\n',
          '\tpopq\t%r8\n\taddq\t$8, %rsp\t/* BREAK */\n',
          'drop the reload of rax (the return value) after the handlers'),
    Break('clobber-rbx', 'x86_64', X86,
          '\tleaq\tPTREGS_SIZE(%rsp), %rsi\n\tcall\trethook_trampoline_handler\n',
          '\tleaq\tPTREGS_SIZE(%rsp), %rsi\n\tcall\trethook_trampoline_handler\n'
          '\tmovq\t%rsp, %rbx\t/* BREAK */\n',
          'use the callee-saved rbx as a scratch register without restoring it'),
    Break('no-sp-fixup', 'x86_64', X86,
          '\taddq\t$(PTREGS_SIZE + 8 - SS), RSP(%rsp)\n', '\t/* BREAK: no sp fixup */\n',
          'leave regs->sp pointing 16 bytes below the caller\'s sp'),
    Break('no-popf', 'x86_64', X86,
          '\tpopfq\n', '\tleaq\t8(%rsp), %rsp\t/* BREAK: flags not restored */\n',
          'return with the flags the handler call left instead of regs->flags'),
    Break('unwind-one-pass', 'x86_64', X86_UNWIND,
          '\t} while (ret != prev);\n',
          '\t} while (0);\t/* BREAK: one pass */\n',
          'the unwinder undoes fgraph then rethook once, not until neither is left'),
    Break('flags-if-off', 'x86_64', X86,
          '\tpushfq\t\t\t\t\t/* pt_regs->flags */\n',
          '\tpushq\t$2\t/* BREAK: flags with IF clear */\n',
          'save constant flags with IF clear instead of the real flags'),
    Break('fake-ret-zero', 'x86_64', X86,
          '\tpushq\t$arch_rethook_trampoline\n\tUNWIND_HINT_FUNC\n',
          '\tpushq\t$0\t/* BREAK */\n\tUNWIND_HINT_FUNC\n',
          'push 0 as the return address the unwinder sees above pt_regs'),
    Break('frame-off-by-8', 'x86_64', X86,
          '\tleaq\tPTREGS_SIZE(%rsp), %rsi\n',
          '\tleaq\tPTREGS_SIZE+8(%rsp), %rsi\t/* BREAK */\n',
          'pass the wrong frame (the slot above the return address slot)'),
    # ----------------------------------------------------------- arm64
    Break('no-x0-reload', 'arm64', ARM64,
          '\tldp\tx0, x1, [sp, #S_X0]\n',
          '\tldr\tx1, [sp, #S_X0 + 8]\t/* BREAK */\n',
          'drop the reload of x0 (the return value) after the handlers'),
    Break('clobber-x19', 'arm64', ARM64,
          '\tbl\trethook_trampoline_handler\n',
          '\tbl\trethook_trampoline_handler\n\tmov\tx19, x0\t/* BREAK */\n',
          'use the callee-saved x19 as a scratch register without restoring it'),
    Break('sp-wrong', 'arm64', ARM64,
          '\tadd\tx9, sp, #PT_REGS_SIZE\n', '\tmov\tx9, sp\t/* BREAK */\n',
          'record the trampoline\'s sp instead of the caller\'s in pt_regs'),
    Break('pstate-no-daif', 'arm64', ARM64,
          '\tmrs\t\\tmp, daif\n\torr\t\\dst, \\dst, \\tmp\n', '\t/* BREAK: no DAIF */\n',
          'leave DAIF out of pt_regs->pstate'),
    Break('frame-record-lr-zero', 'arm64', ARM64,
          '\tstp\tx10, xzr, [sp, #S_STACKFRAME + 8]\n',
          '\tstp\txzr, xzr, [sp, #S_STACKFRAME + 8]\t/* BREAK */\n',
          'put 0 as the return address in the frame record the unwinder reads'),
    Break('no-ret-fixup', 'arm64', ARM64,
          '\tldp\tx29, x30, [sp, #S_STACKFRAME]\n',
          '\tldr\tx29, [sp, #S_STACKFRAME]\t/* BREAK: x30 not set */\n',
          'return with x30 not set to the real return address (pc left wrong)'),
    Break('no-x29-reload', 'arm64', ARM64,
          '\tldp\tx29, x30, [sp, #S_STACKFRAME]\n',
          '\tldr\tx30, [sp, #S_STACKFRAME + 8]\t/* BREAK: no x29 reload */\n',
          'leave x29 pointing into pt_regs after the return'),
    Break('no-ssbs', 'arm64', ARM64,
          '\tmrs\t\\tmp, sctlr_el1\n',
          '\tmov\t\\tmp, xzr\t/* BREAK: no SSBS */\n',
          'leave PSTATE.SSBS out of pt_regs->pstate'),
    Break('no-pan', 'arm64', ARM64,
          '\tmrs_s\t\\tmp, SYS_PSTATE_PAN\n',
          '\tmov\t\\tmp, xzr\t/* BREAK: no PAN */\n',
          'leave PSTATE.PAN out of pt_regs->pstate'),
    Break('no-dit', 'arm64', ARM64,
          '\tmrs_s\t\\tmp, SYS_PSTATE_DIT\n',
          '\tmov\t\\tmp, xzr\t/* BREAK: no DIT */\n',
          'leave PSTATE.DIT out of pt_regs->pstate'),
    # ---------------------------- arm64 without PAN (cortex-a72), SW PAN
    Break('no-swpan', 'arm64-swpan', ARM64,
          '\tcset\t\\tmp, eq\n',
          '\tmov\t\\tmp, xzr\t/* BREAK: no emulated PAN */\n',
          'leave the emulated PAN (CONFIG_ARM64_SW_TTBR0_PAN) out of pstate'),
    # ------------------------------------------- arm64 with pseudo-NMI
    Break('no-pmr', 'arm64-pnmi', ARM64,
          '\tmrs_s\tx13, SYS_ICC_PMR_EL1\n',
          '\tmov\tx13, xzr\t/* BREAK: PMR not read */\n',
          'record pmr 0 instead of ICC_PMR_EL1 under priority masking'),
]
TARGET_SUITES = ['kprobes_test', 'kretprobe_trampoline_test']


def breaks_for(target):
    return [b for b in BREAKS if b.target == target]


def apply_break(wt, brk):
    p = os.path.join(wt, brk.path)
    with open(p) as f:
        text = f.read()
    n = text.count(brk.old)
    if n != 1:
        raise HarnessError(f'break {brk.name}: expected the text once in '
                           f'{brk.path}, found it {n} time(s); the series '
                           f'changed, update selftests/breakage/breaks.py:\n'
                           f'{brk.old!r}')
    with open(p, 'w') as f:
        f.write(text.replace(brk.old, brk.new))


def verdict(target, text, hang):
    """(caught, failed cases, splat lines) of one boot."""
    if hang:
        return True, [], ['hang: ' + hang.split('\n')[0]]
    suites, failures = rth.judge(target, text)
    cases = [f[:-len(' failed')] for f in failures if f.endswith(' failed')]
    other = [f for f in failures if not f.endswith(' failed')]
    return bool(failures), cases, other


def prepare_worktree(wt):
    repo, tag = rth.ensure_base()
    rth.ensure_worktree(repo, wt, tag)
    names = rth.apply_series(wt, tag, branch='breakage')
    return names


def restore(wt, brk):
    rth.git(wt, 'checkout', '-q', '--', brk.path, quiet=True)


def run(target_name, names, wt, build_dir, timeout, out):
    target = rth.select_targets([target_name])[0]
    target = dataclasses.replace(target, suites=[s for s in target.suites
                                                 if s in TARGET_SUITES])
    todo = [None] + [b for b in breaks_for(target_name)
                     if not names or b.name in names]
    results = []
    for brk in todo:
        name = brk.name if brk else 'none'
        t0 = time.time()
        log(f'== {target_name}: break {name}'
            + (f': {brk.what}' if brk else ' (control)'))
        if brk:
            apply_break(wt, brk)
        hang = None
        text = ''
        try:
            image = rth.build(wt, target, build_dir)
            logf = os.path.join(build_dir, f'console-{name}.log')
            try:
                text = rth.boot(target, image, logf, timeout=timeout)
            except HarnessError as e:
                hang = str(e)
        finally:
            if brk:
                restore(wt, brk)
        caught, cases, other = verdict(target, text, hang)
        r = {'break': name, 'what': brk.what if brk else 'unbroken series',
             'caught': caught, 'failed_cases': cases, 'other': other[:5],
             'seconds': round(time.time() - t0)}
        results.append(r)
        if brk:
            log(f'{name}: ' + ('caught: ' + ', '.join(cases + other[:2])
                               if caught else 'NOT caught (all cases passed)'))
        else:
            log('control: ' + ('FAILED: ' + ', '.join(cases + other[:2])
                               if caught else 'all cases pass'))
        with open(out, 'w') as f:
            json.dump({'target': target_name, 'results': results}, f, indent=1)
    return results


def table(target_name, results):
    lines = [f'| break ({target_name}) | what it does | caught by |',
             '|---|---|---|']
    for r in results:
        if r['break'] == 'none':
            by = 'control: ' + ('FAILED ' + ', '.join(r['failed_cases'] + r['other'])
                                if r['caught'] else 'all cases pass')
        elif not r['caught']:
            by = '**not caught**'
        else:
            names = [c.split('.', 1)[-1] for c in r['failed_cases']]
            by = ', '.join(names[:4]) + (f' (+{len(names) - 4} more)'
                                         if len(names) > 4 else '')
            by += ''.join(f'; {o.replace("|", "/")[:70]}' for o in r['other'][:1])
        lines.append(f'| {r["break"]} | {r["what"]} | {by} |')
    return '\n'.join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('target', choices=sorted({b.target for b in BREAKS}))
    ap.add_argument('breaks', nargs='*', help='break names (default: all)')
    ap.add_argument('--list', action='store_true')
    ap.add_argument('--worktree')
    ap.add_argument('--build-dir')
    ap.add_argument('--timeout', type=int, default=600)
    ap.add_argument('--results', help='JSON (default <cache>/breakage-<target>.json)')
    args = ap.parse_args(argv)
    if args.list:
        for b in breaks_for(args.target):
            print(f'{b.name:<22} {b.what}')
        return 0
    known = {b.name for b in breaks_for(args.target)}
    bad = [n for n in args.breaks if n not in known]
    try:
        if bad:
            raise HarnessError(f'unknown break(s) {", ".join(bad)} for '
                               f'{args.target}; known: {", ".join(sorted(known))}')
        wt = os.path.abspath(args.worktree or os.path.join(rth.cache_dir(), 'wt-break'))
        bd = os.path.abspath(args.build_dir or os.path.join(
            rth.cache_dir(), 'build-break', args.target))
        out = args.results or os.path.join(rth.cache_dir(),
                                           f'breakage-{args.target}.json')
        prepare_worktree(wt)
        results = run(args.target, args.breaks, wt, bd, args.timeout, out)
    except HarnessError as e:
        print(f'breaks: error: {e}', file=sys.stderr)
        return 2
    print()
    print(table(args.target, results))
    print(f'(results: {out})')
    ctrl = results[0]
    missed = [r['break'] for r in results[1:] if not r['caught']]
    if ctrl['caught']:
        print(f'FAILED: the unbroken series fails: {ctrl["failed_cases"] + ctrl["other"]}')
        return 1
    if missed:
        print(f'FAILED: not caught: {", ".join(missed)}')
        return 1
    print(f'all {len(results) - 1} break(s) caught; control passes')
    return 0


if __name__ == '__main__':
    sys.exit(main())
