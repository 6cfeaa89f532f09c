# SPDX-License-Identifier: GPL-2.0
"""Count the instructions of one probed event, function by function.

Boots a kernel that scripts/bench.py built (and cached) with the bench
initramfs, under '-icount shift=0', runs one trig-* benchmark in it and
attaches gdb to QEMU's gdbstub. After --skip hits of a start address it
single-steps one event half and attributes every instruction to the
function (System.map symbol) it belongs to:

  --half return   arch_rethook_trampoline .. its final RET (kretprobes);
  --half entry    arm64: the debug exception of the kprobe BRK at the
                  probed function, from el1h_64_sync to its ERET; x86_64: from the probed
                  function's first instruction until execution comes
                  back into it (kprobes on ftrace, no exception).
  --half ftrace-entry   both arches: from the probed function's first
                  instruction, through ftrace (fgraph, fprobe, the BPF
                  program), until it runs on: trig-kprobe-multi, the
                  entry of trig-kretprobe-multi, trig-fentry.
  --half fgraph-return  both arches: return_to_handler, from the probed
                  function's RET until its caller resumes (the return
                  address read at the function's first instruction):
                  trig-kretprobe-multi.
  --half call     both arches: the whole call, from the probed function's
                  first instruction until its caller resumes, with the
                  function's body and every hook on the way in and out:
                  trig-fentry, trig-fexit, trig-fmodret (the BPF
                  trampoline and its programs), both halves of
                  trig-kretprobe-multi.

Code outside the kernel's text (the BPF programs' JIT images, ftrace's
dynamic trampolines) is counted as one row.

The sum matches what the bench's icount figure says the event costs, so
this shows where a change saves (or spends) instructions. Needs
gdb-multiarch. Example:

  scripts/trace-event --arch arm64 --which patched --half return
"""

import argparse
import json
import os
import sys

from rthlib.bench import QEMU
from rthlib.common import HarnessError, log
from rthlib.trace import find_kernel, summarize, trace


def main(argv=None):
    ap = argparse.ArgumentParser(prog='trace-event', description=__doc__.split('\n')[0])
    ap.add_argument('--arch', choices=sorted(QEMU), default='arm64')
    ap.add_argument('--which', choices=['base', 'patched'], default='patched')
    ap.add_argument('--upto', type=int, metavar='K',
                    help='the kernel with the first K patches (bench.py --upto K)')
    ap.add_argument('--kernel-dir', help='a bench kernel directory with a System.map '
                    '(default: the cached one of this series, see --which/--upto)')
    ap.add_argument('--trigger', default='trig-kretprobe')
    ap.add_argument('--half', choices=['return', 'entry', 'ftrace-entry',
                                       'fgraph-return', 'call'], default='return')
    ap.add_argument('--skip', type=int, default=50,
                    help='start hits to let pass first (default %(default)s)')
    ap.add_argument('--timeout', type=int, default=900)
    ap.add_argument('--json', help='write the per-function counts here')
    args = ap.parse_args(argv)
    try:
        if args.half == 'return' and args.which == 'base' and args.arch == 'arm64':
            raise HarnessError('the arm64 base has no arch_rethook_trampoline '
                               '(kretprobes return through a BRK): trace '
                               '--half entry there, which covers that exception too')
        if args.kernel_dir:
            kdir, meta = args.kernel_dir, {}
            smap = os.path.join(kdir, 'System.map')
        else:
            kdir, smap, meta = find_kernel(args.arch, args.which, args.upto)
        log(f'tracing {args.arch} {args.which} {args.trigger} {args.half} half in {kdir}')
        res = trace(args.arch, kdir, smap, args.trigger, args.half, args.skip,
                    args.timeout)
    except HarnessError as e:
        print(f'trace-event: error: {e}', file=sys.stderr)
        return 2
    rows = summarize(res)
    total = len(res['funcs'])
    print(f'{args.arch} {args.which} {args.trigger}, {args.half} half: '
          f'{total} instructions')
    for f, n in rows:
        print(f'  {n:5d}  {f}')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump({'arch': args.arch, 'which': args.which, 'kernel': kdir,
                       'meta': meta, 'trigger': args.trigger, 'half': args.half,
                       'total': total, 'per_function': rows,
                       # every instruction, in order: [pc, function, text]
                       'trace': [[hex(pc), fn, insn] for pc, fn, insn in
                                 zip(res['pcs'], res['funcs'],
                                     res.get('insns') or [''] * total)]},
                      f, indent=1)
    return 0
