# SPDX-License-Identifier: GPL-2.0
"""rth.py boots: build one target once and boot it N times under a given
emulator setup; count the clean boots, oopses, failures and hangs.

For questions a single boot cannot answer: whether a crash is a kernel race
or an emulation artefact (issue 18: the x86_64-debug two-CPU oops) needs
the same image booted many times per variant (multi- or single-threaded
TCG, the machine's QEMU or trixie's, CPUs, CPU model, a config without a
fragment). Every boot's console is kept; the JSON is written after every
boot, so an interrupted run keeps what it counted.
"""

import dataclasses
import json
import os
import re
import time

from rthlib.build import build, build_root
from rthlib.common import HarnessError, log
from rthlib.kconfig import FRAGMENTS
from rthlib.ktap import SPLAT_RE, judge, online_cpus, strip_console
from rthlib.qemu import qemu_cmd, qemu_flavour, resolve, run_console
from rthlib.targets import QEMU_CPU_RE


OUTCOMES = ('clean', 'oops', 'fail', 'hang')
RIP_RE = re.compile(r'\b(RIP|pc) ?: ?(\S.*)')


def variant_target(target, smp=None, cpu=None, drop=(), add=(), llvm=None):
    """The target with the variant's CPUs, CPU model, compiler (llvm: the
    clang version suffix, e.g. '-19'), without the fragments in drop and
    with those in add after its own (its own build directory when the
    config differs)."""
    bad = [f for f in drop if f not in target.fragments]
    if bad:
        raise HarnessError(f'--drop {",".join(bad)}: not a fragment of '
                           f'{target.name} ({" ".join(target.fragments)})')
    bad = [f for f in add if f in target.fragments or
           not os.path.exists(os.path.join(FRAGMENTS, f + '.config'))]
    if bad:
        raise HarnessError(f'--add {",".join(bad)}: no such fragment in '
                           f'kconfig-fragments/ or already in {target.name}')
    if cpu is not None and not QEMU_CPU_RE.fullmatch(cpu):
        raise HarnessError(f'--cpu {cpu!r}: want a QEMU CPU model')
    if llvm is not None and not re.fullmatch(r'-\d+', llvm):
        raise HarnessError(f'--llvm {llvm!r}: want a clang version suffix, e.g. -19')
    name = target.name + ''.join(f'-no{f}' for f in drop) + \
        ''.join(f'-{f}' for f in add) + (f'-clang{llvm}' if llvm else '')
    return dataclasses.replace(
        target, name=name, smp=smp or target.smp, cpu=cpu or target.cpu,
        llvm=llvm or target.llvm,
        fragments=[f for f in target.fragments if f not in drop] + list(add))


def classify(target, text, timed_out):
    """(outcome, details): hang (the QEMU timeout), oops (a kernel splat on
    the console), fail (a suite failed or is missing, no splat), clean."""
    splats = [strip_console(l) for l in text.splitlines() if SPLAT_RE.search(l)]
    rips = [m.group(0) for m in (RIP_RE.search(strip_console(l))
                                 for l in text.splitlines()) if m]
    if timed_out:
        last = [strip_console(l) for l in text.splitlines()[-8:]]
        return 'hang', (splats[:3] + rips[:2]) or last
    if splats:
        return 'oops', splats[:3] + rips[:2]
    _, failures = judge(target, text)
    if failures:
        return 'fail', failures[:5]
    return 'clean', []


def qemu_argv(target, image, accel):
    """The QEMU command of a boot; accel (mttcg or single) overrides the
    target's accel= option."""
    if accel not in ('mttcg', 'single'):
        raise HarnessError(f'--accel {accel}: want mttcg or single')
    cmd = qemu_cmd(dataclasses.replace(target, accel='' if accel == 'mttcg'
                                       else accel), image)
    return resolve(cmd, target.arch, target)


def boot_once(target, image, logf, timeout, accel):
    cmd, env = qemu_argv(target, image, accel)
    text, timed_out, secs, _ = run_console(cmd, logf, timeout, env, header=True)
    return text, timed_out, secs


def run_boots(src, target, count, timeout, accel, label, results_file, meta,
              partial=False):
    """Build target from src once, boot it count times; append a variant
    entry to results_file (a JSON list of variants). Returns the entry."""
    if count < 1:
        raise HarnessError('--count must be at least 1')
    image = build(src, target, allow_undefined=partial)
    logdir = os.path.join(build_root(), target.name, 'boots', label)
    os.makedirs(logdir, exist_ok=True)
    cmd, _ = qemu_argv(target, image, accel)
    entry = dict(meta, label=label, target=target.name, smp=target.smp,
                 cpu=target.cpu, accel=accel, qemu=qemu_flavour(target),
                 fragments=target.fragments, command=cmd, count=count,
                 boots=[], **{o: 0 for o in OUTCOMES})
    allres = []
    if os.path.exists(results_file):
        with open(results_file) as f:
            allres = [v for v in json.load(f) if v.get('label') != label]
    allres.append(entry)
    t0 = time.time()
    for i in range(count):
        logf = os.path.join(logdir, f'boot-{i + 1:02d}.log')
        text, timed_out, secs = boot_once(target, image, logf, timeout, accel)
        cpus = online_cpus(text)
        if cpus is not None and cpus != target.smp:
            # not a result of the variant: the kernel cannot run it
            # (tinyconfig's SMP=y leaves CONFIG_NR_CPUS at 2)
            raise HarnessError(
                f'{label}: the kernel brought up {cpus} CPUs where -smp '
                f'{target.smp} was asked for (CONFIG_NR_CPUS of '
                f'{target.name}?); console {logf}; nothing counted')
        outcome, details = classify(target, text, timed_out)
        entry[outcome] += 1
        entry['boots'].append({'n': i + 1, 'outcome': outcome,
                               'seconds': round(secs), 'console': logf,
                               'details': details})
        log(f'{label}: boot {i + 1}/{count}: {outcome} in {secs:.0f} s'
            + (f' ({details[0]})' if details else '') +
            f'; so far ' + ', '.join(f'{entry[o]} {o}' for o in OUTCOMES))
        entry['seconds'] = round(time.time() - t0)
        tmp = results_file + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(allres, f, indent=1)
        os.replace(tmp, results_file)
    return entry


def format_table(variants):
    if not isinstance(variants, list) or not all(
            isinstance(v, dict) and 'label' in v and 'boots' in v for v in variants):
        raise HarnessError('not a boots results file (a list of variants)')
    lines = [f'{"variant":<22} {"boots":>5} {"clean":>5} {"oops":>5} '
             f'{"fail":>5} {"hang":>5}  setup']
    for v in variants:
        setup = (f'{v["target"]} -smp {v["smp"]} {v["accel"]} QEMU {v["qemu"]}'
                 + (f' -cpu {v["cpu"]}' if v.get('cpu') else ''))
        lines.append(f'{v["label"]:<22} {len(v["boots"]):>5} {v["clean"]:>5} '
                     f'{v["oops"]:>5} {v["fail"]:>5} {v["hang"]:>5}  {setup}')
    return '\n'.join(lines) + '\n'
