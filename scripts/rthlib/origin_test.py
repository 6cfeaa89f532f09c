# SPDX-License-Identifier: GPL-2.0
"""Tests of rthlib/origin.py: the Sources index, the upload picked, and
the tree comparison on a toy repository."""

import os
import subprocess
import tempfile
import unittest

from rthlib import common, origin

SOURCES = """Package: linux
Version: 7.2.12-1~bpo13+1
Directory: pool/main/l/linux
Checksums-Sha256:
 aa 10 linux_7.2.12-1~bpo13+1.dsc

Package: linux-signed-amd64
Version: 7.3.4+1~bpo13+1

Package: linux
Version: 7.3.4-1~bpo13+1
Directory: pool/main/l/linux
Checksums-Sha256:
 bb 147041 linux_7.3.4-1~bpo13+1.dsc
 cc 165838432 linux_7.3.4.orig.tar.xz
Homepage: https://www.kernel.org/
"""


class OriginTest(unittest.TestCase):
    def test_pick_upload(self):
        up = origin.pick_upload(origin.parse_sources(SOURCES, 'linux'), '7.3.4')
        self.assertEqual(up['version'], '7.3.4-1~bpo13+1')
        self.assertEqual(up['files'][1], ('cc', 165838432, 'linux_7.3.4.orig.tar.xz'))

    def test_highest_upload_wins(self):
        # apt-cache lists uploads in no promised order: the highest
        # version in dpkg's order is picked, neither the first nor the last
        # listed, nor the highest string (7.3.4-9 > 7.3.4-10 as strings;
        # 7.3.4-1~bpo13+1 > 7.3.4-1 as strings)
        text = ''.join(f'Package: linux\nVersion: {v}\n\n' for v in
                       ('7.3.4-9', '7.3.4-1~bpo13+1', '7.3.4-10', '7.3.4-1', '7.3.4-9~bpo13+1'))
        up = origin.pick_upload(origin.parse_sources(text, 'linux'), '7.3.4')
        self.assertEqual(up['version'], '7.3.4-10')
        # an epoch, and an upstream version holding a colon
        self.assertEqual(origin.compare_versions('1:2:3-1', '1:2:4-1'), -1)
        self.assertEqual(origin.compare_versions('1:7.3-1', '7.4-1'), 1)
        up = origin.pick_upload(origin.parse_sources(
            'Package: linux\nVersion: 1:7.3.4-1\n', 'linux'), '7.3.4')
        self.assertEqual(up['version'], '1:7.3.4-1')

    def test_compare_versions_as_dpkg(self):
        order = ['7.3.4-1~bpo13+1', '7.3.4-1~bpo13+2', '7.3.4-1', '7.3.4-1+b1',
                 '7.3.4-2~bpo13+1', '7.3.4-10', '7.3.5~rc1-1', '7.3.5-1', '1:7.2-1']
        self.assertEqual(sorted(reversed(order), key=origin.debian_version_key), order)
        self.assertEqual(origin.compare_versions('7.3.4-1', '7.3.4-1'), 0)

    def test_point_zero_release(self):
        # Makefile SUBLEVEL 0 -> "7.3.0"; Debian calls that upload 7.3-1
        text = 'Package: linux\nVersion: 7.3-1\nDirectory: pool/main/l/linux\n'
        up = origin.pick_upload(origin.parse_sources(text, 'linux'), '7.3.0')
        self.assertEqual(up['version'], '7.3-1')
        # but 7.3.1 is not 7.3
        with self.assertRaisesRegex(common.HarnessError, 'no source upload of linux 7.3.1'):
            origin.pick_upload(origin.parse_sources(text, 'linux'), '7.3.1')

    def test_no_upload_names_what_is_there(self):
        with self.assertRaisesRegex(common.HarnessError,
                                    r'no source upload of linux 7\.3\.5.*7\.2\.12-1~bpo13\+1'):
            origin.pick_upload(origin.parse_sources(SOURCES, 'linux'), '7.3.5')
        with self.assertRaisesRegex(common.HarnessError, 'found: none'):
            origin.pick_upload([], '7.3.4')

    def test_series_paths(self):
        p = ('diff --git a/arch/x86/kernel/rethook.c b/arch/x86/kernel/rethook.c\n'
             'diff --git a/x b/y\n')
        self.assertEqual(origin.series_paths([p]),
                         {'arch/x86/kernel/rethook.c', 'x', 'y'})

    def test_import_tree_and_diff(self):
        with tempfile.TemporaryDirectory() as d:
            repo, other = os.path.join(d, 'repo'), os.path.join(d, 'orig')
            for p in (repo, other):
                os.makedirs(os.path.join(p, 'kernel'))
                for name, text in (('Makefile', 'VERSION = 7\n'),
                                   ('kernel/fork.c', 'a\n')):
                    with open(os.path.join(p, name), 'w') as f:
                        f.write(text)
            with open(os.path.join(repo, 'kernel/fork.c'), 'w') as f:
                f.write('a\nunprivileged_userns_clone\n')
            env = dict(os.environ, GIT_AUTHOR_NAME='t', GIT_AUTHOR_EMAIL='t@x',
                       GIT_COMMITTER_NAME='t', GIT_COMMITTER_EMAIL='t@x')
            for c in (['init', '-q'], ['add', '-A'], ['commit', '-qm', 'b'],
                      ['tag', 'base']):
                subprocess.run(['git', '-C', repo, *c], check=True, env=env)
            tree = origin.import_tree(repo, other)
            diff = common.git_out(repo, 'diff', '--name-status', tree, 'base')
            self.assertEqual(origin.changed_paths(diff), ['kernel/fork.c'])
            # the repository's own index is untouched
            self.assertEqual(common.git_out(repo, 'status', '--porcelain'), '')


class ReportOriginTest(unittest.TestCase):
    """report_origin() with apt and git replaced: the branch taken when the
    archive lists the upload but does not serve its files, and a failing
    apt-cache."""

    def fake_run(self, showsrc_rc=0):
        calls = []

        def run(cmd, check=True, capture=False, quiet=False, cwd=None, env=None):
            calls.append(cmd)
            if cmd[0] == 'apt-cache':
                return subprocess.CompletedProcess(cmd, showsrc_rc,
                                                   SOURCES if not showsrc_rc else 'E: broken', '')
            if cmd[0] == 'apt-get' and 'source' in cmd:
                return subprocess.CompletedProcess(
                    cmd, 100, 'Get:1 http://deb.example/debian linux 7.3.4-1~bpo13+1 (dsc)\n'
                    'Err:1 http://deb.example/debian linux 7.3.4-1~bpo13+1 (dsc)\n'
                    '  404  Not Found\nE: Failed to fetch linux_7.3.4-1~bpo13+1.dsc\n', '')
            if cmd[0] == 'git':
                return subprocess.CompletedProcess(cmd, 0, 'base:kernel/fork.c\n', '')
            return subprocess.CompletedProcess(cmd, 0, '', '')
        return run, calls

    def report(self, showsrc_rc=0):
        from unittest import mock
        run, calls = self.fake_run(showsrc_rc)
        with tempfile.TemporaryDirectory() as state, \
                mock.patch.object(origin, 'run', run), \
                mock.patch.object(origin, 'require', lambda *a: None), \
                mock.patch.object(origin, 'apt_archive_uri', lambda: 'http://deb.example/debian'), \
                mock.patch.object(origin, 'private_apt', lambda d, line: ['-o', 'x=y']):
            return origin.report_origin('/repo', 'base', '7.3.4', {'kernel/fork.c', 'a.c'},
                                        state, 'trixie-backports'), calls

    def test_not_compared_when_files_404(self):
        (lines, compared), calls = self.report()
        self.assertFalse(compared)
        text = '\n'.join(lines)
        self.assertIn('source upload: linux 7.3.4-1~bpo13+1 (pool/main/l/linux)', text)
        self.assertIn('NOT COMPARED: the archive lists the upload but did not serve', text)
        self.assertIn('404  Not Found', text)
        self.assertIn('unprivileged_userns_clone is in kernel/fork.c', text)
        self.assertIn('the series touches 2 file(s)', text)
        self.assertIn(['apt-get', '-o', 'x=y', 'source', '--download-only',
                       'linux=7.3.4-1~bpo13+1'], calls)

    def test_apt_cache_failure_is_an_error(self):
        with self.assertRaisesRegex(common.HarnessError,
                                    r'(?s)apt-cache showsrc linux .*exit 100.*E: broken'):
            self.report(showsrc_rc=100)


class CmdBaseExitTest(unittest.TestCase):
    """rth.py base --origin exits 1 when nothing was compared, 0 when it
    was, and writes --out either way."""

    def run_base(self, compared):
        import argparse
        from unittest import mock
        from rthlib import cli
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, 'origin.txt')
            args = argparse.Namespace(origin=True, out=out)
            with mock.patch.object(cli, 'ensure_base', lambda: ('/repo', 'base')), \
                    mock.patch.object(cli, 'read_kernel_version', lambda repo: (7, 3, 4)), \
                    mock.patch.object(cli, 'report_origin',
                                      lambda *a: (['base: x', 'NOT COMPARED: y'], compared)):
                rc = cli.cmd_base(args)
            with open(out) as f:
                return rc, f.read()

    def test_exit_codes(self):
        self.assertEqual(self.run_base(False), (1, 'base: x\nNOT COMPARED: y\n'))
        self.assertEqual(self.run_base(True)[0], 0)


if __name__ == '__main__':
    unittest.main()
