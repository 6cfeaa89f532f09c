# SPDX-License-Identifier: GPL-2.0
"""scripts/check-toolchains: fails naming the package when the arm64 libc
is missing (a fake sysroot without it), passes where the packages are."""

import importlib.machinery
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, 'check-toolchains')
sys.path.insert(0, HERE)

from rthlib import bench  # noqa: E402

_loader = importlib.machinery.SourceFileLoader('check_toolchains', SCRIPT)
_spec = importlib.util.spec_from_loader('check_toolchains', _loader)
ct = importlib.util.module_from_spec(_spec)
_loader.exec_module(ct)

CROSS = 'aarch64-linux-gnu-gcc'


def run(*args, env=None):
    e = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True,
                          text=True, env=e)


def installed(pkg):
    res = subprocess.run(['dpkg-query', '-W', '-f=${Status}', pkg],
                         capture_output=True, text=True)
    return res.stdout.strip() == 'install ok installed'


class CheckToolchainsTest(unittest.TestCase):
    def test_fake_sysroot_without_arm64_libc_fails(self):
        if not shutil.which(CROSS):
            self.skipTest(f'{CROSS} not installed (gcc-aarch64-linux-gnu)')
        with tempfile.TemporaryDirectory() as d:
            empty = os.path.join(d, 'empty')
            os.mkdir(empty)
            # What a fresh machine has: the host's (amd64) /usr/include,
            # no arm64 headers: the failure of issue 21.
            host = os.path.join(d, 'host-headers')
            os.makedirs(os.path.join(host, 'usr'))
            os.symlink('/usr/include', os.path.join(host, 'usr', 'include'))
            cases = [('empty sysroot', ['--sysroot', empty], None, 'stdio.h')]
            if os.path.exists('/usr/include/stdio.h'):
                cases.append(('host headers only', [], {'RTH_CROSS_SYSROOT': host},
                              'bits/libc-header-start.h'))
            for name, args, env, header in cases:
                with self.subTest(name):
                    res = run(*args, env=env)
                    out = res.stdout + res.stderr
                    self.assertEqual(res.returncode, 1, out)
                    self.assertIn(f'FAIL arm64 static C: {CROSS} cannot find {header}: '
                                  f'apt-get install libc6-dev-arm64-cross', out)
                    self.assertIn('to fix: apt-get install libc6-dev-arm64-cross', out)
                    self.assertRegex(out, r'check-toolchains: \d+ ok, [1-9]\d* failed')
                    if shutil.which('clang-22') and not os.environ.get('RTH_BENCH_LLVM'):
                        # the arm64 BPF objects' <asm/...> headers, too
                        self.assertRegex(out, r'FAIL BPF: clang-22 cannot find \S+: '
                                         r'apt-get install libc6-dev-arm64-cross')

    def test_passes_here(self):
        missing = [c for c in ('gcc', CROSS, 'clang-22', 'gdb-multiarch')
                   if not shutil.which(c)]
        if missing:
            self.skipTest(f'{", ".join(missing)} not installed (scripts/install-deps main)')
        if not installed('libc6-dev-arm64-cross'):
            self.skipTest('libc6-dev-arm64-cross not installed (scripts/install-deps main)')
        res = run()
        out = res.stdout + res.stderr
        self.assertEqual(res.returncode, 0, out)
        self.assertNotIn('FAIL', out)
        self.assertIn(f'ok   arm64 static C: {CROSS} -static', out)
        self.assertRegex(out, r'check-toolchains: \d+ ok, 0 failed\n$')

    def test_missing_clang_names_the_package(self):
        res = run(env={'RTH_BENCH_LLVM': '99'})
        out = res.stdout + res.stderr
        self.assertEqual(res.returncode, 1, out)
        self.assertIn('FAIL BPF: missing clang-99', out)
        self.assertIn('apt-get install clang-99 llvm-99 lld-99', out)

    def test_bad_input(self):
        res = run('--sysroot', '/nonexistent/sysroot')
        self.assertEqual(res.returncode, 2)
        self.assertIn('--sysroot /nonexistent/sysroot: not a directory', res.stderr)
        res = run('--no-such-option')
        self.assertEqual(res.returncode, 2)

    def test_diagnose(self):
        cases = [
            (CROSS, 'arm64', '/usr/include/stdlib.h:26:10: fatal error: '
             'bits/libc-header-start.h: No such file or directory',
             f'{CROSS} cannot find bits/libc-header-start.h: apt-get install '
             'libc6-dev-arm64-cross', ['libc6-dev-arm64-cross']),
            ('clang-22', 'arm64', "/usr/include/linux/types.h:5:10: fatal error: "
             "'asm/types.h' file not found",
             'clang-22 cannot find asm/types.h: apt-get install libc6-dev-arm64-cross',
             ['libc6-dev-arm64-cross']),
            (CROSS, 'arm64', '/usr/bin/aarch64-linux-gnu-ld: cannot find crt1.o: '
             'No such file or directory', f'{CROSS} cannot find crt1.o: apt-get '
             'install libc6-dev-arm64-cross', ['libc6-dev-arm64-cross']),
            ('gcc', 'x86_64', '/usr/bin/ld: cannot find -lzstd: No such file or '
             'directory', 'gcc cannot find -lzstd: apt-get install libzstd-dev',
             ['libzstd-dev']),
            ('gcc', 'x86_64', 'x.c:3:10: fatal error: libelf.h: No such file or '
             'directory', 'gcc cannot find libelf.h: apt-get install libelf-dev',
             ['libelf-dev']),
            ('gcc', 'x86_64', 'x.c:1:10: fatal error: stdio.h: No such file or '
             'directory', 'gcc cannot find stdio.h: apt-get install libc6-dev',
             ['libc6-dev']),
        ]
        for cc, arch, out, msg, pkgs in cases:
            with self.subTest(msg):
                self.assertEqual(ct.diagnose(cc, arch, out), (msg, pkgs))
        # arm64 libelf/zlib/zstd come from the bench's own sysroot, not apt
        msg, pkgs = ct.diagnose(CROSS, 'arm64', 'fatal error: zstd.h: No such file '
                                'or directory', '/c/bench/sysroot-arm64')
        self.assertIn('/c/bench/sysroot-arm64', msg)
        self.assertIn('--fetch', msg)
        self.assertEqual(pkgs, [])

    def test_arm64_flags_are_the_bench_flags(self):
        cflags, lflags, ldlibs = ct.bench_flags('arm64', '/sr')
        cmd = bench.bench_make_cmd('/wt', 'arm64', '/btf', {}, '/sr')
        self.assertIn('EXTRA_CFLAGS=' + ' '.join(cflags), cmd)
        self.assertIn('LDLIBS=' + ' '.join(ldlibs), cmd)
        self.assertIn('-I/sr/usr/include', cflags)
        self.assertIn('-L/sr/usr/lib/aarch64-linux-gnu', lflags)
        self.assertEqual(lflags[0], '-static')
        self.assertTrue(all(not f.startswith('-l') for f in lflags))


if __name__ == '__main__':
    unittest.main()
