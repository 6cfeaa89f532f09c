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
SCRIPT = os.path.join(HERE, '..', '..', 'scripts', 'check-trampoline')

X86_GOOD = """
    .globl arch_rethook_trampoline, rethook_trampoline_handler
    .text
arch_rethook_trampoline:
    pushq %rbp
    call rethook_trampoline_handler
    popq %rbp
    ret
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
                    self.assertEqual(res.returncode, 1, res.stdout + res.stderr)
                    self.assertIn(why, res.stdout)

    def test_x86(self):
        extra = X86_GOOD.replace('    popq %rbp',
                                 '    call arch_rethook_trampoline_callback\n'
                                 '    popq %rbp')
        extra += 'arch_rethook_trampoline_callback:\n    ret\n'
        self.cases('gcc', X86_GOOD, {
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

    def test_not_elf(self):
        with tempfile.NamedTemporaryFile('w') as f:
            f.write('not a kernel\n')
            f.flush()
            res = check(f.name)
            self.assertEqual(res.returncode, 2)
            self.assertIn('is not an ELF file', res.stderr)


if __name__ == '__main__':
    unittest.main()
