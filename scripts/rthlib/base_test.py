# SPDX-License-Identifier: GPL-2.0
"""Tests of rthlib/base.py: the base tree (version, Debian tarball, apt
sources).
"""

import os
import tempfile
import unittest
from unittest import mock

from rthlib import apt, base, common


class BaseTreeTest(unittest.TestCase):
    def write_makefile(self, d, v, p, s):
        with open(os.path.join(d, 'Makefile'), 'w') as f:
            f.write(f'# SPDX\nVERSION = {v}\nPATCHLEVEL = {p}\nSUBLEVEL = {s}\n'
                    'EXTRAVERSION =\n')

    def test_version_ok_and_wrong(self):
        with tempfile.TemporaryDirectory() as d:
            self.write_makefile(d, 7, 3, 4)
            self.assertEqual(base.check_version(d), (7, 3, 4))
            self.write_makefile(d, 6, 12, 0)
            with self.assertRaises(common.HarnessError) as cm:
                base.check_version(d)
            self.assertIn('is Linux 6.12.0', str(cm.exception))
            self.assertIn('against 7.3', str(cm.exception))

    def test_not_a_tree(self):
        with tempfile.TemporaryDirectory() as d:
            with self.assertRaisesRegex(common.HarnessError, 'not a kernel tree'):
                base.check_version(d)

    def test_debian_gitignore_block_dropped(self):
        text = ('*.o\n!kernel/time/timeconst.bc\n\n#\n# Debian packaging: ignore\n'
                '# everything at the top level\n#\n/*\n!/debian/\n')
        out = base.strip_debian_gitignore(text)
        self.assertEqual(out, '*.o\n!kernel/time/timeconst.bc\n')
        self.assertEqual(base.strip_debian_gitignore('*.o\n'), '*.o\n')

    def test_apt_sources(self):
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, 'sources.list.d'))
            with open(os.path.join(d, 'sources.list.d', 'debian.sources'), 'w') as f:
                f.write('Types: deb\nURIs: http://mirror.example/debian-security\n'
                        'Suites: bookworm-security\nComponents: main\n\n'
                        'Types: deb\nURIs: http://mirror.example/debian/\n'
                        'Suites: bookworm bookworm-updates\nComponents: main\n')
            self.assertEqual(apt.apt_archive_uri((d,)),
                             'http://mirror.example/debian')
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, 'sources.list'), 'w') as f:
                f.write('# deb http://old.example/debian bookworm main\n'
                        'deb [arch=amd64] http://one.example/debian trixie main\n')
            self.assertEqual(apt.apt_archive_uri((d,)),
                             'http://one.example/debian')
        with tempfile.TemporaryDirectory() as d:
            with self.assertRaisesRegex(common.HarnessError, 'KERNEL_TARBALL'):
                apt.apt_archive_uri((d,))

    def test_sha256_mismatch(self):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, 't.tar.xz')
            with open(p, 'w') as f:
                f.write('x')
            with open(p + '.sha256', 'w') as f:
                f.write('0' * 64 + '  t.tar.xz\n')
            with self.assertRaisesRegex(common.HarnessError, 'does not match'):
                base.verify_sha256(p)

    def test_missing_tool_names_package(self):
        with mock.patch('shutil.which', return_value=None):
            with self.assertRaisesRegex(common.HarnessError,
                                        'apt-get install gcc-aarch64-linux-gnu'):
                common.require('aarch64-linux-gnu-gcc')
