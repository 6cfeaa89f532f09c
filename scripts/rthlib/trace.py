# SPDX-License-Identifier: GPL-2.0
"""The instructions of one probed event, function by function: a bench
kernel booted under icount with QEMU's gdbstub, one event half
single-stepped in gdb-multiarch and counted per System.map symbol.
"""

import glob
import json
import os
import shlex
import socket
import subprocess
import tempfile
import time

from rthlib.bench import QEMU, qemu_bench_cmd, series_hash
from rthlib.common import HarnessError, bench_cache, log, require


PROBED = 'bpf_get_numa_node_id'   # what the bench's trig-k*probe attach to
# Triggers whose program is attached elsewhere (progs/trigger_bench.c)
PROBED_BY_TRIGGER = {'trig-fmodret': 'bpf_modify_return_test_tp'}


def probed(trigger):
    """The kernel function the trigger's BPF program is attached to."""
    return PROBED_BY_TRIGGER.get(trigger, PROBED)


GDB_SCRIPT = r'''
import bisect, gdb, json, os
OUTSIDE = os.environ['TR_OUTSIDE']
syms, bounds = [], {}
with open(os.environ['TR_MAP']) as f:
    for l in f:
        p = l.split()
        if len(p) >= 3 and p[1] in 'tTwW':
            syms.append((int(p[0], 16), p[2]))
        if len(p) >= 3 and p[2] in ('_stext', '_etext'):
            bounds[p[2]] = int(p[0], 16)
syms.sort()
addrs = [a for a, _ in syms]
byname = {}
for a, n in syms:
    byname.setdefault(n, a)
lo, hi = bounds.get('_stext', 0), bounds.get('_etext', 1 << 64)
def fn(pc):
    # BPF JIT images (the trigger program and the attached one) and
    # ftrace's dynamic trampolines have no System.map symbol.
    if not lo <= pc < hi:
        return OUTSIDE
    i = bisect.bisect_right(addrs, pc) - 1
    return syms[i][1] if i >= 0 else hex(pc)
gdb.execute('set pagination off')
gdb.execute('set architecture ' + os.environ['TR_GDB_ARCH'])
gdb.execute('target remote :' + os.environ['TR_PORT'])
start = os.environ['TR_START']
stop = os.environ['TR_STOP']
pre = os.environ.get('TR_PRE')
# Let TR_SKIP hits of the first stop pass. With TR_PRE (arm64 entry) that
# is the probed function, whose next exception is its BRK: only then is
# the breakpoint moved to the trace start.
gdb.execute('hbreak *0x%x' % byname[pre or start])
gdb.execute('ignore 1 ' + os.environ['TR_SKIP'])
gdb.execute('continue')
retaddr = None
# TR_RETADDR: the probed function's return address, read at its first
# instruction (the first stop is there); a 'retaddr' half ends when
# execution gets there.
if os.environ.get('TR_RETADDR'):
    retaddr = int(gdb.parse_and_eval(os.environ['TR_RETADDR'])) & 0xffffffffffffffff
if pre:
    gdb.execute('delete')
    gdb.execute('hbreak *0x%x' % byname[start])
    gdb.execute('continue')
trace, insns, left = [], [], False
limit = int(os.environ.get('TR_MAX', '20000'))
while len(trace) < limit:
    pc = int(gdb.parse_and_eval('$pc')) & 0xffffffffffffffff
    f = fn(pc)
    insn = gdb.execute('x/i $pc', to_string=True)
    mnem = insn.split(':', 1)[-1].split()[0] if ':' in insn else ''
    if stop == 'resume' and left and f == start:
        break
    if stop == 'retaddr' and pc == retaddr:
        break
    trace.append(pc)
    insns.append(insn.split(':', 1)[-1].strip() if ':' in insn else insn.strip())
    if stop == 'ret' and f == start and mnem == 'ret':
        break
    if stop == 'eret' and mnem == 'eret':
        break
    if f != start:
        left = True
    gdb.execute('stepi', to_string=True)
json.dump({'pcs': trace, 'funcs': [fn(p) for p in trace], 'insns': insns,
           'complete': len(trace) < limit},
          open(os.environ['TR_OUT'], 'w'))
gdb.execute('kill')
'''


OUTSIDE = '(outside kernel text: BPF JIT or ftrace trampoline)'

# (arch, half): (first stop, start of the trace, end condition)
#   return          the rethook trampoline (kretprobe) to its final RET
#   entry           arm64: the kprobe BRK exception; x86_64: the probed
#                   function's entry until it runs on (kprobes on ftrace)
#   ftrace-entry    the probed function's entry, through ftrace (and
#                   fgraph, fprobe, the BPF program), until it runs on:
#                   kprobe.multi, kretprobe.multi's entry, fentry
#   fgraph-return   return_to_handler, from the probed function's RET
#                   until its caller resumes: kretprobe.multi's return
#   call            the whole call: from the probed function's first
#                   instruction until its caller resumes (its body, and
#                   every hook on the way in and out: a BPF trampoline's
#                   fentry, fexit and fmod_ret programs, both halves of
#                   a kretprobe.multi)
HALVES = {
    ('arm64', 'return'): (None, 'arch_rethook_trampoline', 'ret'),
    ('arm64', 'entry'): (PROBED, 'el1h_64_sync', 'eret'),
    ('arm64', 'ftrace-entry'): (None, PROBED, 'resume'),
    ('arm64', 'fgraph-return'): (PROBED, 'return_to_handler', 'retaddr'),
    ('x86_64', 'return'): (None, 'arch_rethook_trampoline', 'ret'),
    ('x86_64', 'entry'): (None, PROBED, 'resume'),
    ('x86_64', 'ftrace-entry'): (None, PROBED, 'resume'),
    ('x86_64', 'fgraph-return'): (PROBED, 'return_to_handler', 'retaddr'),
    ('arm64', 'call'): (None, PROBED, 'retaddr'),
    ('x86_64', 'call'): (None, PROBED, 'retaddr'),
}
# Where the probed function's return address is at its first instruction.
RETADDR = {'arm64': '$x30', 'x86_64': '*(unsigned long *)$sp'}
GDB_ARCH = {'arm64': 'aarch64', 'x86_64': 'i386:x86-64'}


def find_kernel(arch, which, upto=None):
    """The cached bench kernel of the series in patches/ (its first
    `upto` patches) or of the base, with its System.map."""
    want = series_hash(upto) if which == 'patched' else 'none'
    cands = []
    for d in glob.glob(os.path.join(bench_cache(), 'kernels', f'{arch}-*')):
        try:
            with open(os.path.join(d, 'meta.json')) as f:
                meta = json.load(f)
        except (OSError, ValueError):
            continue
        if meta.get('which') == which and meta.get('series_hash') == want:
            cands.append((os.path.getmtime(d), d, meta))
    if not cands:
        what = 'base' if which == 'base' else (
            'patched' + (f' --upto {upto}' if upto is not None else ''))
        raise HarnessError(f'no cached {what} {arch} bench kernel for this '
                           f'series: run scripts/bench.py --arch {arch} '
                           f'--kernels {which}'
                           + (f' --upto {upto}' if upto is not None else '') + ' first')
    _, d, meta = max(cands)
    smap = os.path.join(d, 'System.map')
    if not os.path.exists(smap):
        raise HarnessError(f'{d} has no System.map (cached by an older '
                           f'bench.py); scripts/bench.py rebuilds it')
    return d, smap, meta


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def trace(arch, kdir, smap, trigger, half, skip, timeout):
    require('gdb-multiarch', QEMU[arch]['qemu'])
    initrd = os.path.join(bench_cache(), f'initramfs-{arch}.cpio')
    if not os.path.exists(initrd):
        raise HarnessError(f'no {initrd}: run scripts/bench.py --arch {arch} first')
    image = os.path.join(kdir, os.path.basename(QEMU[arch]['image']))
    pre, start, stop = HALVES[(arch, half)]
    pre, start = [probed(trigger) if n == PROBED else n for n in (pre, start)]
    port = free_port()
    cmd = qemu_bench_cmd(arch, image, initrd, [trigger], '-w1 -d1000', 1, True)
    cmd[1:1] = ['-gdb', f'tcp:127.0.0.1:{port}']
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, 'trace.py')
        out = os.path.join(tmp, 'trace.json')
        console = os.path.join(tmp, 'console.log')
        with open(script, 'w') as f:
            f.write(GDB_SCRIPT)
        log('$ ' + ' '.join(shlex.quote(c) for c in cmd))
        with open(console, 'w') as cf:
            q = subprocess.Popen(cmd, stdout=cf, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL)
        try:
            time.sleep(1)
            env = dict(os.environ, TR_MAP=smap, TR_PORT=str(port), TR_START=start,
                       TR_STOP=stop, TR_SKIP=str(skip), TR_OUT=out,
                       TR_GDB_ARCH=GDB_ARCH[arch], TR_PRE=pre or '',
                       TR_OUTSIDE=OUTSIDE,
                       TR_RETADDR=RETADDR[arch] if stop == 'retaddr' else '')
            try:
                g = subprocess.run(['gdb-multiarch', '-batch', '-nx', '-x', script],
                                   env=env, capture_output=True, text=True,
                                   timeout=timeout)
            except subprocess.TimeoutExpired:
                g = None
            if g is None or not os.path.exists(out):
                with open(console, errors='replace') as cf:
                    last = '\n    '.join(cf.read().splitlines()[-20:])
                why = (f'timed out after {timeout} s' if g is None else
                       f'gdb exited {g.returncode}: ' + (g.stderr or g.stdout)[-800:])
                raise HarnessError(f'trace of {arch} {half} ({trigger}) failed: {why}\n'
                                   f'  last console lines:\n    {last}')
            with open(out) as f:
                res = json.load(f)
        finally:
            q.kill()
            q.wait()
    if not res['complete']:
        raise HarnessError(f'{half} half did not end within the step limit: '
                           f'is {start} the right start for {trigger}?')
    return res


def summarize(res):
    order, counts = [], {}
    for f in res['funcs']:
        if f not in counts:
            order.append(f)
            counts[f] = 0
        counts[f] += 1
    return [(f, counts[f]) for f in order]
