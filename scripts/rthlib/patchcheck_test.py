# SPDX-License-Identifier: GPL-2.0
"""Tests of rthlib/patchcheck.py: objects a patch touches, arches it changes,
checkpatch.
"""

import os
import subprocess
import tempfile
import unittest
from unittest import mock

from rthlib import patchcheck


class TouchedObjectsTest(unittest.TestCase):
    def test_only_built_objects_of_this_arch(self):
        with tempfile.TemporaryDirectory() as b:
            for o in ('arch/x86/kernel/rethook.o', 'lib/tests/t.o'):
                os.makedirs(os.path.dirname(os.path.join(b, o)), exist_ok=True)
                open(os.path.join(b, o), 'w').close()
            files = ['arch/x86/kernel/rethook.c', 'arch/arm64/kernel/rethook.c',
                     'lib/tests/t.c', 'lib/tests/Kconfig', 'kernel/absent.c']
            self.assertEqual(patchcheck.touched_objects(files, 'i386', b),
                             ['arch/x86/kernel/rethook.o', 'lib/tests/t.o'])
            self.assertEqual(patchcheck.touched_objects(files, 'arm64', b),
                             ['lib/tests/t.o'])

    def test_stale_object_of_another_config_is_skipped(self):
        # kernel/trace/rethook.o is left from a build where RETHOOK was
        # set; vmlinux.a (what this build linked) does not list it
        with tempfile.TemporaryDirectory() as b:
            objs = ('kernel/trace/rethook.o', 'kernel/trace/fgraph.o', 'lib/tests/m.o')
            for o in objs:
                os.makedirs(os.path.dirname(os.path.join(b, o)), exist_ok=True)
                with open(os.path.join(b, o), 'w') as f:
                    f.write('x')
            subprocess.run(['ar', 'rcT', os.path.join(b, 'vmlinux.a'),
                            'kernel/trace/fgraph.o'], cwd=b, check=True)
            with open(os.path.join(b, 'modules.order'), 'w') as f:
                f.write('lib/tests/m.o\n')
            files = ['kernel/trace/rethook.c', 'kernel/trace/fgraph.c', 'lib/tests/m.c']
            self.assertEqual(patchcheck.touched_objects(files, 'arm64', b),
                             ['kernel/trace/fgraph.o', 'lib/tests/m.o'])
            os.unlink(os.path.join(b, 'vmlinux.a'))   # cannot tell: all present
            self.assertEqual(len(patchcheck.touched_objects(files, 'arm64', b)), 3)


class SeesChangeTest(unittest.TestCase):
    def test_other_arch_only(self):
        x86 = ['arch/x86/kernel/rethook.c', 'arch/x86/Kconfig']
        self.assertFalse(patchcheck.sees_change(x86, 'arm64'))
        self.assertTrue(patchcheck.sees_change(x86, 'i386'))
        self.assertTrue(patchcheck.sees_change(x86 + ['lib/tests/Kconfig'], 'arm64'))


class CheckpatchTest(unittest.TestCase):
    """Which checkpatch complaints a commit log may explain."""

    def verdict(self, out, log):
        with tempfile.NamedTemporaryFile('w', suffix='.patch') as f:
            f.write(f'Subject: [PATCH] x\n\n{log}\n---\n diff\n')
            f.flush()
            res = subprocess.CompletedProcess([], 1, out + '\ntotal: 0 errors, 1 warnings\n', '')
            with mock.patch('rthlib.patchcheck.run', return_value=res):
                return patchcheck.checkpatch('/src', f.name)

    def test_explained_types_only(self):
        said = 'checkpatch warns about the leading spaces; the file indents so.'
        ok, summary = self.verdict('WARNING:LEADING_SPACE: please, no spaces', said)
        self.assertTrue(ok)
        self.assertIn('explained in the commit log', summary)
        self.assertTrue(self.verdict('WARNING:FILE_PATH_CHANGES: added file', said)[0])
        # not explained in the log, or not a type a log may explain
        self.assertFalse(self.verdict('WARNING:LEADING_SPACE: spaces', 'No word.')[0])
        self.assertFalse(self.verdict('WARNING:LEADING_SPACE: x\nERROR:SPACING: y', said)[0])
        self.assertFalse(self.verdict('CHECK:PARENTHESIS_ALIGNMENT: z', said)[0])

    def test_unknown_commit_id_without_mainline_history(self):
        out = 'WARNING:UNKNOWN_COMMIT_ID: Unknown commit id \'25e4e3565d45\''
        with mock.patch('rthlib.patchcheck.has_mainline_history', return_value=False):
            ok, summary = self.verdict(out, 'Fixes: 25e4e3565d45 ("x")')
            self.assertTrue(ok)
            self.assertIn('no mainline history', summary)
            # with another complaint it is not waved through
            self.assertFalse(self.verdict(out + '\nERROR:SPACING: y', 'Fixes: x')[0])
        with mock.patch('rthlib.patchcheck.has_mainline_history', return_value=True):
            self.assertFalse(self.verdict(out, 'Fixes: 25e4e3565d45 ("x")')[0])
