# SPDX-License-Identifier: GPL-2.0
"""scripts/check-trampoline against small linked programs whose
arch_rethook_trampoline is right or wrong in one way at a time."""

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, 'check-trampoline')

X86_GOOD = """
    .globl arch_rethook_trampoline, rethook_trampoline_handler
    .text
arch_rethook_trampoline:
    pushq %rbp
    call rethook_trampoline_handler
    popq %rbp
    ret
    .size arch_rethook_trampoline, .-arch_rethook_trampoline
rethook_trampoline_handler:
    ret
"""

ARM64_GOOD = """
    .globl arch_rethook_trampoline, rethook_trampoline_handler
    .text
arch_rethook_trampoline:
    mov x9, x30
    bl rethook_trampoline_handler
    mov x30, x9
    ret
rethook_trampoline_handler:
    ret
"""


DATA = os.path.join(HERE, 'testdata')

from importlib.machinery import SourceFileLoader  # noqa: E402
ct = SourceFileLoader('check_trampoline', SCRIPT).load_module()


def build(cc, src, d, name):
    s = os.path.join(d, name + '.S')
    with open(s, 'w') as f:
        f.write(textwrap.dedent(src))
    out = os.path.join(d, name)
    subprocess.run([cc, '-nostdlib', '-static', '-Wl,-e,arch_rethook_trampoline',
                    '-o', out, s], check=True, capture_output=True)
    return out


def check(path):
    return subprocess.run([sys.executable, SCRIPT, path], capture_output=True,
                          text=True)


class CheckTrampolineTest(unittest.TestCase):
    def cases(self, cc, good, bad):
        if not shutil.which(cc):
            self.skipTest(f'{cc} not installed')
        with tempfile.TemporaryDirectory() as d:
            res = check(build(cc, good, d, 'good'))
            self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
            self.assertIn('one call, to rethook_trampoline_handler', res.stdout)
            for name, (src, why) in bad.items():
                with self.subTest(name):
                    res = check(build(cc, src, d, name))
                    if why is None:     # a variant that must pass
                        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
                        self.assertIn('one call, to rethook_trampoline_handler (+1 '
                                      'intra-function)', res.stdout)
                        continue
                    self.assertEqual(res.returncode, 1, res.stdout + res.stderr)
                    self.assertIn(why, res.stdout)

    def test_x86(self):
        extra = X86_GOOD.replace('    popq %rbp',
                                 '    call arch_rethook_trampoline_callback\n'
                                 '    popq %rbp')
        extra += 'arch_rethook_trampoline_callback:\n    ret\n'
        self.cases('gcc', X86_GOOD, {
            'intra-call-ok': (X86_GOOD.replace('    ret\n    .size',
                                               '    call 1f\n    int3\n1:  lea 8(%rsp), %rsp\n'
                                               '    ret\n    .size'), None),
            'second-call': (extra, 'FAIL: calls'),
            'no-call': (X86_GOOD.replace('    call rethook_trampoline_handler\n', ''),
                        'FAIL: calls none'),
            'callback-left': (X86_GOOD + '    .globl arch_rethook_trampoline_callback\n'
                              'arch_rethook_trampoline_callback:\n    ret\n',
                              'FAIL: still has arch_rethook_trampoline_callback'),
        })

    def test_arm64(self):
        self.cases('aarch64-linux-gnu-gcc', ARM64_GOOD, {
            'indirect-call': (ARM64_GOOD.replace('    bl rethook_trampoline_handler',
                                                 '    adr x8, rethook_trampoline_handler\n'
                                                 '    blr x8'),
                              'FAIL: calls'),
            'brk-handler-left': (ARM64_GOOD + '    .globl kretprobe_brk_handler\n'
                                 'kretprobe_brk_handler:\n    ret\n',
                                 'FAIL: still has kretprobe_brk_handler'),
        })

    def test_targets_from_build_root(self):
        if not shutil.which('gcc'):
            self.skipTest('gcc not installed')
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, 'x86_64'))
            os.rename(build('gcc', X86_GOOD, d, 'good'), os.path.join(d, 'x86_64', 'vmlinux'))
            env = dict(os.environ, RTH_BUILD_ROOT=d)
            res = subprocess.run([sys.executable, SCRIPT, '--targets', 'x86_64'],
                                 capture_output=True, text=True, env=env)
            self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
            self.assertIn(os.path.join(d, 'x86_64', 'vmlinux'), res.stdout)
            res = subprocess.run([sys.executable, SCRIPT, '--targets', 'x86_64', 'arm64'],
                                 capture_output=True, text=True, env=env)
            self.assertEqual(res.returncode, 2)     # no arm64 build there
            res = subprocess.run([sys.executable, SCRIPT, '--targets'],
                                 capture_output=True, text=True, env=env)
            self.assertEqual(res.returncode, 2)

    def test_x86_no_size(self):
        if not shutil.which('gcc'):
            self.skipTest('gcc not installed')
        with tempfile.TemporaryDirectory() as d:
            src = X86_GOOD.replace('    .size arch_rethook_trampoline, '
                                   '.-arch_rethook_trampoline\n', '')
            res = check(build('gcc', src, d, 'nosize'))
            self.assertEqual(res.returncode, 1, res.stdout + res.stderr)
            self.assertIn('has no size', res.stdout)

    def test_not_elf(self):
        with tempfile.NamedTemporaryFile('w') as f:
            f.write('not a kernel\n')
            f.flush()
            res = check(f.name)
            self.assertEqual(res.returncode, 2)
            self.assertIn('is not an ELF file', res.stderr)


def orc_fixture(name):
    """A real `objtool --dump=orc vmlinux` excerpt: the first line is
    '# start SIZE' of arch_rethook_trampoline in that vmlinux."""
    with open(os.path.join(DATA, name)) as f:
        text = f.read()
    start, size = (int(x, 16) for x in text.splitlines()[0].split()[1:3])
    return text, start, size


class OrcRuleTest(unittest.TestCase):
    """The ORC rule: no entry may record a register saved below sp."""

    def test_synthetic(self):
        lines = '\n'.join([
            '1000:type:call sp:sp+8 bp:(und) signal:0',
            '1004:type:call sp:sp+168 bp:prevsp-48 signal:0',
            '1010:type:call sp:sp+128 bp:prevsp-144 signal:0',
            '1014:type:call sp:bp+16 bp:prevsp-16 signal:0',
            '2000:type:call sp:sp+8 bp:prevsp-400 signal:0',   # outside
            'not an orc line',
        ])
        seen, bad = ct.orc_problems(lines, 0x1000, 0x1020)
        self.assertEqual(seen, 4)
        self.assertEqual(len(bad), 1)
        self.assertIn('+0x10: sp:sp+128 bp:prevsp-144', bad[0])
        self.assertIn('16 bytes below sp', bad[0])
        seen, bad = ct.orc_problems(lines, 0x1000, 0x1010)
        self.assertEqual((seen, bad), (2, []))

    def test_v1_patch7_fails(self):
        """The ORC table of the v1 series' x86_64 vmlinux (patch 7 skipped
        the callee-saved slots, rbp's among them, with one ADD)."""
        text, start, size = orc_fixture('orc-v1-patch7.txt')
        seen, bad = ct.orc_problems(text, start, start + size)
        self.assertGreater(seen, 10)
        self.assertTrue(bad, 'the rule does not catch the v1 patch 7 table')
        self.assertTrue(all('bp:prevsp-' in b for b in bad))

    def test_v2_passes(self):
        text, start, size = orc_fixture('orc-v2.txt')
        seen, bad = ct.orc_problems(text, start, start + size)
        self.assertGreater(seen, 10)
        self.assertEqual(bad, [])

    def test_end_to_end_with_objtool(self):
        """check-trampoline runs objtool --dump=orc on a vmlinux with an
        ORC table: a fake objtool that prints a table for the trampoline's
        address, good then bad; no objtool at all is bad input."""
        if not shutil.which('gcc') or not shutil.which('nm'):
            self.skipTest('gcc/binutils not installed')
        with tempfile.TemporaryDirectory() as d:
            src = X86_GOOD + '    .section .orc_unwind, "a"\n    .long 0\n'
            prog = build('gcc', src, d, 'vmlinux')
            nm = subprocess.run(['nm', prog], capture_output=True, text=True,
                                check=True).stdout
            addr = next(l.split()[0] for l in nm.splitlines()
                        if l.endswith(' arch_rethook_trampoline'))
            a = int(addr, 16)
            table = {'good': f'{a:x}:type:call sp:sp+8 bp:(und) signal:0\n'
                             f'{a + 1:x}:type:call sp:sp+16 bp:prevsp-16 signal:0\n',
                     'bad': f'{a:x}:type:call sp:sp+8 bp:(und) signal:0\n'
                            f'{a + 1:x}:type:call sp:sp+16 bp:prevsp-24 signal:0\n'}
            res = check(prog)
            self.assertEqual(res.returncode, 2, res.stdout + res.stderr)
            self.assertIn('no objtool', res.stderr)
            for name, want in (('good', 0), ('bad', 1)):
                fake = os.path.join(d, 'objtool-' + name)
                with open(fake, 'w') as f:
                    f.write('#!/bin/sh\n[ "$1" = --dump=orc ] || exit 9\n'
                            f'cat <<EOF\n{table[name]}EOF\n')
                os.chmod(fake, 0o755)
                res = subprocess.run([sys.executable, SCRIPT, '--objtool', fake, prog],
                                     capture_output=True, text=True)
                self.assertEqual(res.returncode, want, res.stdout + res.stderr)
            self.assertIn('8 bytes below sp', res.stdout)


if __name__ == '__main__':
    unittest.main()
