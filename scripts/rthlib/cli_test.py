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

    def compile(self, rc, out='', builds=('kernel/trace/fgraph.o',)):
        made = []

        def fake_run(cmd, **kw):
            made.append(cmd)
            for o in builds:      # what make DIR/ compiles in this config
                open(os.path.join(self.b, o), 'w').close()
            return SimpleNamespace(returncode=rc, stdout=out, stderr='')
        with mock.patch.object(cli, 'build_root', return_value=self.d.name), \
                mock.patch.object(cli, 'configure') as conf, \
                mock.patch.object(cli, 'run', side_effect=fake_run):
            res = cli.compile_part_objects('/src', self.t, [self.patch], 'p')
        return res, made, conf

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

    def test_a_file_the_series_build_never_compiled_needs_no_configure(self):
        # the series' build of the target is there (vmlinux) and left no
        # .fgraph.o.cmd: the part's configuration, a subset, builds none
        open(os.path.join(self.b, 'vmlinux'), 'w').close()
        res, made, conf = self.compile(0)
        self.assertEqual(res, 'none in config')
        self.assertEqual(made, [])
        self.assertFalse(conf.called)

    def test_a_file_the_series_build_compiled_is_compiled_for_the_part(self):
        open(os.path.join(self.b, 'vmlinux'), 'w').close()
        open(os.path.join(self.b, 'kernel/trace/.fgraph.o.cmd'), 'w').close()
        res, made, conf = self.compile(0)
        self.assertEqual(res, 'ok (1 objects)')
        self.assertTrue(conf.called)
        self.assertEqual(made[0][-1], 'kernel/trace/')


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
