# SPDX-License-Identifier: GPL-2.0
"""Tests of rthlib/cli.py: the per-tree parts' object compile (rth.py parts
--objects, the test command's parts check).
"""

import os
import tempfile
import unittest
from types import SimpleNamespace
from unittest import mock

from rthlib import cli
from rthlib.common import HarnessError

PATCH = '''Subject: [PATCH 1/1] x

diff --git a/kernel/trace/fgraph.c b/kernel/trace/fgraph.c
--- a/kernel/trace/fgraph.c
+++ b/kernel/trace/fgraph.c
diff --git a/include/linux/ftrace.h b/include/linux/ftrace.h
diff --git a/arch/arm64/kernel/rethook.c b/arch/arm64/kernel/rethook.c
'''


class PartObjectsTest(unittest.TestCase):
    def setUp(self):
        self.d = tempfile.TemporaryDirectory()
        self.addCleanup(self.d.cleanup)
        self.patch = os.path.join(self.d.name, '0001-x.patch')
        with open(self.patch, 'w') as f:
            f.write(PATCH)
        self.t = SimpleNamespace(name='x86_64', arch='x86_64', cross='',
                                 llvm='', cc='gcc')
        self.b = os.path.join(self.d.name, 'x86_64')
        os.makedirs(os.path.join(self.b, 'kernel/trace'))

    def compile(self, rc, out='', builds=('kernel/trace/fgraph.o',),
                series_head=None):
        made = []

        def fake_run(cmd, **kw):
            made.append(cmd)
            for o in builds:      # what make DIR/ compiles in this config:
                p = os.path.join(self.b, o)    # what is missing or stale
                if not os.path.exists(p):
                    open(p, 'w').close()
            return SimpleNamespace(returncode=rc, stdout=out, stderr='')
        with mock.patch.object(cli, 'build_root', return_value=self.d.name), \
                mock.patch.object(cli, 'configure') as conf, \
                mock.patch.object(cli, 'run', side_effect=fake_run):
            res = cli.compile_part_objects('/src', self.t, [self.patch], 'p',
                                           series_head)
        return res, made, conf

    def series_build(self, head='abc123'):
        with open(os.path.join(self.b, '.rth-built-from'), 'w') as f:
            f.write(head + '\n')

    def test_compiles_the_directories_of_this_arch_files(self):
        res, made, conf = self.compile(0)
        self.assertEqual(res, 'ok (1 objects)')
        self.assertTrue(conf.called)
        # make DIR/ of the x86_64 files only: no arm64 directory, and the
        # header is no directory to build
        self.assertEqual(made[0][-1], 'kernel/trace/')
        self.assertNotIn('arch/arm64/kernel/', made[0])

    def test_compile_error_fails_with_the_error_lines(self):
        with self.assertRaises(HarnessError) as cm:
            self.compile(2, 'kernel/trace/fgraph.c:10:1: error: expected ;\n'
                         'make: *** [fgraph.o] Error 1\n')
        self.assertIn('fgraph.c:10:1: error', str(cm.exception))

    def test_an_object_the_config_does_not_build_is_not_counted(self):
        # an fgraph.o left by the series' build, which make DIR/ did not
        # compile for the part's configuration
        old = os.path.join(self.b, 'kernel/trace/fgraph.o')
        open(old, 'w').close()
        os.utime(old, (1, 1))
        res, made, conf = self.compile(0, builds=())
        self.assertEqual(res, 'none in config')
        self.assertEqual(len(made), 1)

    def test_no_file_of_this_arch(self):
        self.t = SimpleNamespace(name='arm64', arch='arm64', cross='',
                                 llvm='', cc='gcc')
        with open(self.patch, 'w') as f:
            f.write('diff --git a/arch/x86/kernel/rethook.c b/arch/x86/kernel/rethook.c\n')
        res, made, conf = self.compile(0)
        self.assertEqual(res, 'none in config')
        self.assertEqual(made, [])
        self.assertFalse(conf.called)

    def test_an_up_to_date_object_of_the_config_is_counted(self):
        # make would not rebuild an fgraph.o that is up to date: it is
        # deleted first, so the one there afterwards is this config's
        old = os.path.join(self.b, 'kernel/trace/fgraph.o')
        open(old, 'w').close()
        os.utime(old, (1, 1))
        res, made, conf = self.compile(0)
        self.assertEqual(res, 'ok (1 objects)')

    def test_a_file_the_series_build_never_compiled_needs_no_configure(self):
        # the directory holds the series' build (its commit recorded) and
        # that build left no .fgraph.o.cmd: the part builds none either
        self.series_build()
        res, made, conf = self.compile(0, series_head='abc123')
        self.assertEqual(res, 'none in config')
        self.assertEqual(made, [])
        self.assertFalse(conf.called)

    def test_a_file_the_series_build_compiled_is_compiled_for_the_part(self):
        self.series_build()
        open(os.path.join(self.b, 'kernel/trace/.fgraph.o.cmd'), 'w').close()
        res, made, conf = self.compile(0, series_head='abc123')
        self.assertEqual(res, 'ok (1 objects)')
        self.assertTrue(conf.called)
        self.assertEqual(made[0][-1], 'kernel/trace/')

    def test_another_build_in_the_directory_is_not_trusted(self):
        # a build of something else (a part, an older series): no skip
        self.series_build('def456')
        res, made, conf = self.compile(0, series_head='abc123')
        self.assertEqual(res, 'ok (1 objects)')
        self.assertTrue(conf.called)

    def test_non_kbuild_files_and_object_names(self):
        with open(self.patch, 'w') as f:
            f.write('diff --git a/tools/testing/selftests/bpf/progs/x.c b/tools/testing/selftests/bpf/progs/x.c\n'
                    'diff --git a/arch/x86/kernel/vmlinux.lds.S b/arch/x86/kernel/vmlinux.lds.S\n'
                    'diff --git a/arch/x86/kernel/asm-offsets.c b/arch/x86/kernel/asm-offsets.c\n')
        os.makedirs(os.path.join(self.b, 'arch/x86/kernel'))
        res, made, conf = self.compile(0, builds=('arch/x86/kernel/vmlinux.lds',
                                                  'arch/x86/kernel/asm-offsets.s'))
        self.assertEqual(res, 'ok (2 objects)')
        self.assertEqual(made[0][-1], 'arch/x86/kernel/')
        self.assertNotIn('tools/testing/selftests/bpf/progs/', made[0])


class BuiltFromTest(unittest.TestCase):
    def test_records_the_commit_built_and_nothing_for_no_git_tree(self):
        from rthlib import build
        with tempfile.TemporaryDirectory() as d:
            src, b = os.path.join(d, 'src'), os.path.join(d, 'b')
            os.makedirs(src)
            os.makedirs(b)
            build.write_built_from(src, b)
            self.assertIsNone(build.built_from(b))
            env = dict(os.environ, GIT_AUTHOR_NAME='t', GIT_AUTHOR_EMAIL='t@t',
                       GIT_COMMITTER_NAME='t', GIT_COMMITTER_EMAIL='t@t')
            import subprocess
            subprocess.run(['git', 'init', '-q', src], check=True)
            subprocess.run(['git', '-C', src, 'commit', '-q', '--allow-empty',
                            '-m', 'x'], check=True, env=env)
            head = subprocess.run(['git', '-C', src, 'rev-parse', 'HEAD'],
                                  capture_output=True, text=True).stdout.strip()
            build.write_built_from(src, b)
            self.assertEqual(build.built_from(b), head)


class PartsExportCheckTest(unittest.TestCase):
    def run_parts(self, no_check):
        args = SimpleNamespace(build=False, objects=False,
                               no_export_check=no_check)
        with tempfile.TemporaryDirectory() as d, \
                mock.patch.object(cli, 'ensure_base', return_value=('/src', 'b')), \
                mock.patch.object(cli, 'check_export', return_value=[]) as chk, \
                mock.patch.object(cli, 'part_patches', return_value={}), \
                mock.patch.object(cli, 'read_parts', return_value=[]), \
                mock.patch.object(cli, 'git'), \
                mock.patch.object(cli, 'cache_dir', return_value=d), \
                mock.patch('builtins.print'):
            self.assertEqual(cli.cmd_parts(args), 0)
        return chk

    def test_the_export_is_checked_by_default(self):
        self.assertTrue(self.run_parts(False).called)

    def test_no_export_check_skips_it(self):
        self.assertFalse(self.run_parts(True).called)

    def test_a_differing_export_fails(self):
        args = SimpleNamespace(build=False, objects=False, no_export_check=False)
        with mock.patch.object(cli, 'ensure_base', return_value=('/src', 'b')), \
                mock.patch.object(cli, 'check_export',
                                  return_value=['patches/0001-x.patch differs']):
            with self.assertRaises(HarnessError) as cm:
                cli.cmd_parts(args)
        self.assertIn('0001-x.patch differs', str(cm.exception))


if __name__ == '__main__':
    unittest.main()
