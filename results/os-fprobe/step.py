# gdb-multiarch -batch -nx -ex 'set architecture i386:x86-64' -x step.py
# Single-steps the first call of fprobe_selftest_target() inside
# test_fprobe_multi and writes one line per instruction (symbol+offset,
# rsp, instruction) to $OUT, until the PC drops below 1 MiB (the jump to
# 0x1). QEMU must be started with -S -gdb tcp:127.0.0.1:1234 and the
# kernel's System.map given in $SYSTEM_MAP (KASLR off: nokaslr).
import bisect
import os

import gdb

syms = []
for line in open(os.environ['SYSTEM_MAP']):
    p = line.split()
    if p[1] in 'tTwW':
        syms.append((int(p[0], 16), p[2]))
syms.sort()
addrs = [a for a, _ in syms]
byname = {n: a for a, n in syms}


def fn(pc):
    i = bisect.bisect_right(addrs, pc) - 1
    return '%s+0x%x' % (syms[i][1], pc - syms[i][0]) if i >= 0 else hex(pc)


gdb.execute('set pagination off')
gdb.execute('target remote :1234')
gdb.execute('hbreak *0x%x' % byname['test_fprobe_multi'])
gdb.execute('continue')
gdb.execute('delete')
gdb.execute('hbreak *0x%x' % byname['fprobe_selftest_target'])
gdb.execute('continue')
gdb.execute('delete')
with open(os.environ['OUT'], 'w') as out:
    for _ in range(20000):
        pc = int(gdb.parse_and_eval('$pc')) & 0xffffffffffffffff
        insn = gdb.execute('x/i $pc', to_string=True).strip()
        rsp = int(gdb.parse_and_eval('$rsp')) & 0xffffffffffffffff
        out.write('%s rsp=%x %s\n' % (fn(pc), rsp, insn.split(':', 1)[-1].strip()))
        if pc < 0x100000:
            break
        gdb.execute('stepi', to_string=True)
gdb.execute('kill')
