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


if __name__ == '__main__':
    unittest.main()
