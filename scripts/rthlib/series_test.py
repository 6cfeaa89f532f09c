# SPDX-License-Identifier: GPL-2.0
"""Tests of rthlib/series.py: series/patches consistency, git am, export and
its check.
"""

import contextlib
import os
import subprocess
import tempfile
import unittest
from unittest import mock

from rthlib import common, mails, series


# A one-line change of file {f} as git format-patch writes it
PATCH = ('From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\n'
         'From: T <t@localhost>\nDate: Thu, 1 Jan 2026 00:00:00 +0000\n'
         'Subject: [PATCH{n}] {s}\n\n{s}\n---\n'
         ' {f} | 2 +-\n\ndiff --git a/{f} b/{f}\n--- a/{f}\n+++ b/{f}\n'
         '@@ -1 +1 @@\n-{old}\n+{new}\n-- \n2.39.5\n\n')


def kernel_repo(d, files):
    """A git repository d/k holding `files`, committed and tagged 'b'."""
    kern = os.path.join(d, 'k')
    os.makedirs(kern)
    for name, text in files.items():
        with open(os.path.join(kern, name), 'w') as f:
            f.write(text)
    g = ['git', '-C', kern] + common.GIT_ID
    subprocess.run(['git', 'init', '-q', kern], check=True)
    subprocess.run(g + ['add', '.'], check=True)
    subprocess.run(g + ['commit', '-qm', 'base'], check=True)
    subprocess.run(g + ['tag', 'b'], check=True)
    return kern


class SeriesTest(unittest.TestCase):
    def test_repo_series_consistent(self):
        self.assertEqual(series.check_series(), [])

    def test_series_mismatch(self):
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, 'patches'))
            for n in ('0000-cover-letter.patch', '0001-a.patch', '0003-c.patch'):
                open(os.path.join(d, 'patches', n), 'w').close()
            with open(os.path.join(d, 'series'), 'w') as f:
                f.write('# comment\n0001-a.patch -p1\n0002-b.patch\n')
            self.assertEqual(series.check_series(d), [
                'series lists 0002-b.patch but patches/0002-b.patch does not exist',
                'patches/0003-c.patch is not listed in series'])

    def test_patch_that_does_not_apply_is_named(self):
        with tempfile.TemporaryDirectory() as d:
            kern = kernel_repo(d, {'f.c': 'int a;\n'})
            repo = os.path.join(d, 'r')
            os.makedirs(os.path.join(repo, 'patches'))
            with open(os.path.join(repo, 'patches', '0001-one.patch'), 'w') as f:
                f.write(PATCH.format(n='', s='one', f='f.c', old='int a;', new='int b;'))
            with open(os.path.join(repo, 'patches', '0002-two.patch'), 'w') as f:
                f.write(PATCH.format(n='', s='two', f='f.c', old='int zzz;', new='int c;'))
            with open(os.path.join(repo, 'series'), 'w') as f:
                f.write('0001-one.patch\n0002-two.patch\n')
            self.assertEqual(series.apply_series(kern, 'b', upto=1, repo_dir=repo),
                             ['0001-one.patch'])
            with self.assertRaises(common.HarnessError) as cm:
                series.apply_series(kern, 'b', repo_dir=repo)
            self.assertIn('patch 2/2 0002-two.patch does not apply', str(cm.exception))
            self.assertIn('f.c', str(cm.exception))
            # git am was aborted: the tree is usable again
            self.assertFalse(os.path.isdir(os.path.join(kern, '.git', 'rebase-apply')))
            # a chosen subset (rth.py boots --only)
            self.assertEqual(series.apply_series(kern, 'b', repo_dir=repo, only=[1]),
                             ['0001-one.patch'])
            with self.assertRaises(common.HarnessError) as cm:
                series.apply_series(kern, 'b', repo_dir=repo, only=[3])
            self.assertIn('the series has 2 patches', str(cm.exception))

    def test_a_fix_the_series_carries_is_applied_once(self):
        # fixes/ and the series both hold "fgraph: Stop marking ...": with
        # --fixes it is applied where the series has it, and from the
        # fixes part only when the series is cut before it (--upto).
        with tempfile.TemporaryDirectory() as d:
            kern = kernel_repo(d, {'f.c': 'int a;\n', 'g.c': 'int x;\n'})
            repo = os.path.join(d, 'r')
            for sub in ('patches', 'fixes'):
                os.makedirs(os.path.join(repo, sub))
            # the subject folded differently in the two copies
            fix = dict(s='fix: Stop the\n bug', f='f.c', old='int a;', new='int b;')
            files = {'fixes/0001-other.patch': dict(n='', s='other: Fix', f='g.c',
                                                    old='int x;', new='int y;'),
                     'fixes/0002-fix.patch': dict(fix, n=' 2/2'),
                     'patches/0001-fix.patch': dict(fix, s='fix: Stop the bug', n=' 1/2'),
                     'patches/0002-two.patch': dict(n=' 2/2', s='two', f='f.c',
                                                  old='int b;', new='int c;')}
            for name, kw in files.items():
                with open(os.path.join(repo, name), 'w') as f:
                    f.write(PATCH.format(**kw))
            with open(os.path.join(repo, 'fixes', 'series'), 'w') as f:
                f.write('0001-other.patch\n0002-fix.patch\n')
            with open(os.path.join(repo, 'series'), 'w') as f:
                f.write('0001-fix.patch\n0002-two.patch\n')
            self.assertEqual(series.patch_subject(os.path.join(repo, 'fixes', '0002-fix.patch')),
                             'fix: Stop the bug')
            self.assertEqual(series.apply_series(kern, 'b', repo_dir=repo, fixes=True),
                             ['fixes/0001-other.patch', '0001-fix.patch', '0002-two.patch'])
            self.assertEqual(series.apply_series(kern, 'b', repo_dir=repo, fixes=True, upto=0),
                             ['fixes/0001-other.patch', 'fixes/0002-fix.patch'])
            self.assertEqual(series.apply_series(kern, 'b', repo_dir=repo, fixes=True,
                                                 series=False),
                             ['fixes/0001-other.patch', 'fixes/0002-fix.patch'])


class ExportTest(unittest.TestCase):
    def test_index_lines_do_not_depend_on_the_repository(self):
        # A fresh base repository abbreviates blob ids to 7 digits, a big
        # long-lived one to 9 or more: the export pins 12.
        with tempfile.TemporaryDirectory() as d:
            repo = os.path.join(d, 'r')
            env = dict(os.environ, GIT_AUTHOR_NAME='t', GIT_AUTHOR_EMAIL='t@example.org',
                       GIT_COMMITTER_NAME='t', GIT_COMMITTER_EMAIL='t@example.org')
            def g(*a):
                subprocess.run(['git', '-C', repo, *a], check=True, env=env,
                               capture_output=True)
            os.makedirs(repo)
            g('init', '-q', '-b', 'base')
            g('config', 'core.abbrev', '7')
            with open(os.path.join(repo, 'f.c'), 'w') as f:
                f.write('int a;\n')
            g('add', 'f.c')
            g('commit', '-q', '-m', 'base')
            g('tag', 'b')
            g('checkout', '-q', '-b', 'topic')
            with open(os.path.join(repo, 'f.c'), 'w') as f:
                f.write('int a, b;\n')
            g('commit', '-q', '-a', '-m', 'f: add b')
            out = os.path.join(d, 'out')
            with mock.patch.dict(os.environ, env):
                names = series.format_series(repo, 'b', 'topic', out, 'cover\n\ntext\n')
            self.assertEqual(len(names), 1)
            with open(os.path.join(out, names[0])) as f:
                text = f.read()
            self.assertRegex(text, r'\nindex [0-9a-f]{12}\.\.[0-9a-f]{12} 100644\n')

    def test_render_cover(self):
        self.assertEqual(mails.render_cover('a\n@T@\nb\n', {'T': 'x | y\n'}),
                         'a\nx | y\nb\n')
        with self.assertRaisesRegex(common.HarnessError, '@MISSING@'):
            mails.render_cover('@MISSING@', {})

    @staticmethod
    def base_repo(d, files):
        """A git repository in d/k with files committed and tagged b;
        (its path, the git command prefix)."""
        kern = os.path.join(d, 'k')
        os.makedirs(kern)
        g = ['git', '-C', kern] + common.GIT_ID
        subprocess.run(['git', 'init', '-q', '-b', 'main', kern], check=True)
        for name, text in files.items():
            with open(os.path.join(kern, name), 'w') as f:
                f.write(text)
        subprocess.run(g + ['add', '.'], check=True)
        subprocess.run(g + ['commit', '-qm', 'base'], check=True)
        subprocess.run(g + ['tag', 'b'], check=True)
        return kern, g

    @staticmethod
    @contextlib.contextmanager
    def tool_repo(d, cover):
        """This repository's shape in d/r, with a cover letter template
        holding cover (and COVER_TEMPLATE pointing at it)."""
        repo = os.path.join(d, 'r')
        os.makedirs(os.path.join(repo, 'ci'))
        template = os.path.join(repo, 'ci', 'c.txt')
        with open(template, 'w') as f:
            f.write(cover)
        with mock.patch('rthlib.series.COVER_TEMPLATE', template):
            yield repo

    def test_export_then_check_is_exact(self):
        with tempfile.TemporaryDirectory() as d:
            kern, g = self.base_repo(d, {'f.c': 'int a;\n'})
            for i in range(2):
                with open(os.path.join(kern, 'f.c'), 'a') as f:
                    f.write(f'int x{i};\n')
                subprocess.run(g + ['commit', '-qam', f'lib: add x{i}\n\nWhy.'],
                               check=True)
            with self.tool_repo(d, 'lib: two ints\n\nBody.\n') as repo:
                names = series.export_series(kern, 'b', 'main', repo_dir=repo)
                self.assertEqual(names, ['0001-lib-add-x0.patch',
                                         '0002-lib-add-x1.patch'])
                self.assertEqual(series.read_series(os.path.join(repo, 'series')),
                                 names)
                self.assertEqual(series.check_export(kern, 'b', repo_dir=repo), [])
                # a hand edit of a patch is caught
                p = os.path.join(repo, 'patches', names[0])
                with open(p, 'a') as f:
                    f.write('\n')
                diffs = series.check_export(kern, 'b', repo_dir=repo)
                self.assertEqual(len(diffs), 1)
                self.assertIn(names[0], diffs[0])

    def test_fixes_part_export_check_and_apply(self):
        """fixes/: exported from its own branch, checked like patches/,
        applied first (or alone) by apply_series()."""
        with tempfile.TemporaryDirectory() as d:
            kern, g = self.base_repo(d, {'f.c': 'int a;\n', 'g.c': 'int g;\n'})
            with open(os.path.join(kern, 'f.c'), 'a') as f:
                f.write('int x;\n')
            subprocess.run(g + ['commit', '-qam', 'lib: add x\n\nWhy.'], check=True)
            subprocess.run(g + ['checkout', '-q', '-b', 'fx', 'b'], check=True)
            with open(os.path.join(kern, 'g.c'), 'w') as f:
                f.write('int g = 1;\n')
            subprocess.run(g + ['commit', '-qam', 'lib: fix g\n\nWhy.'], check=True)
            subprocess.run(g + ['checkout', '-q', 'main'], check=True)
            with self.tool_repo(d, 'lib: one int\n\nBody.\n') as repo:
                self.assertEqual(series.fix_names(repo), [])
                series.export_series(kern, 'b', 'main', repo_dir=repo)
                self.assertEqual(series.export_fixes(kern, 'b', 'fx', repo_dir=repo),
                                 ['0001-lib-fix-g.patch'])
                self.assertEqual(series.fix_names(repo), ['0001-lib-fix-g.patch'])
                self.assertFalse(os.path.exists(
                    os.path.join(repo, 'fixes', '0000-cover-letter.patch')))
                self.assertEqual(series.check_export(kern, 'b', repo_dir=repo), [])
                # the fixes first, then the series
                self.assertEqual(
                    series.apply_series(kern, 'b', repo_dir=repo, fixes=True),
                    ['fixes/0001-lib-fix-g.patch', '0001-lib-add-x.patch'])
                with open(os.path.join(kern, 'g.c')) as f:
                    self.assertEqual(f.read(), 'int g = 1;\n')
                # alone
                self.assertEqual(
                    series.apply_series(kern, 'b', repo_dir=repo, fixes=True,
                                        series=False),
                    ['fixes/0001-lib-fix-g.patch'])
                with open(os.path.join(kern, 'f.c')) as f:
                    self.assertEqual(f.read(), 'int a;\n')
                # a hand edit of a fix is caught
                p = os.path.join(repo, 'fixes', '0001-lib-fix-g.patch')
                with open(p, 'a') as f:
                    f.write('\n')
                diffs = series.check_export(kern, 'b', repo_dir=repo)
                self.assertEqual(len(diffs), 1)
                self.assertIn('fixes/0001-lib-fix-g.patch differs', diffs[0])
                # a fix not listed in fixes/series is named
                open(os.path.join(repo, 'fixes', '0002-x.patch'), 'w').close()
                with self.assertRaisesRegex(common.HarnessError, 'not listed: 0002-x.patch'):
                    series.fix_names(repo)


class PartsTest(unittest.TestCase):
    """parts/: each tree's patches as their own series, exported, checked
    and applied with git am on the base alone."""

    @staticmethod
    def parts_repo(d, parts_text, covers):
        kern, g = ExportTest.base_repo(d, {'f.c': 'int a;\n', 'g.c': 'int g;\n'})
        for name, text, msg in (('f.c', 'int a;\nint x;\n', 'lib: add x'),
                                ('g.c', 'int g = 1;\n', 'arch: set g'),
                                ('f.c', 'int a;\nint x;\nint y;\n', 'lib: add y')):
            with open(os.path.join(kern, name), 'w') as f:
                f.write(text)
            subprocess.run(g + ['commit', '-qam', f'{msg}\n\nWhy.'], check=True)
        return kern, g

    @staticmethod
    def write_parts(repo, text, covers=('lib', 'arch')):
        with open(os.path.join(repo, 'ci', 'parts'), 'w') as f:
            f.write(text)
        os.makedirs(os.path.join(repo, 'ci', 'part-covers'), exist_ok=True)
        for c in covers:
            with open(os.path.join(repo, 'ci', 'part-covers', c + '.txt'), 'w') as f:
                f.write(f'{c}: the {c} part\n\nIt applies alone.\n')

    def test_read_parts_errors(self):
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, 'ci'))
            self.write_parts(d, '# c\nlib 1,3 x86_64 PATCH v2\narch 2 arm64 PATCH arm64 v2\n')
            parts = series.read_parts(d)
            self.assertEqual([(p['name'], p['patches'], p['arches'], p['prefix'])
                              for p in parts],
                             [('lib', [1, 3], ['x86_64'], 'PATCH v2'),
                              ('arch', [2], ['arm64'], 'PATCH arm64 v2')])
            series.check_parts(parts, 3)
            with self.assertRaisesRegex(common.HarnessError, 'in no part.*: 4'):
                series.check_parts(parts, 4)
            with self.assertRaisesRegex(common.HarnessError, 'patch 3 is in parts lib and b'):
                series.check_parts(parts + [{'name': 'b', 'patches': [3]}], 3)
            self.write_parts(d, 'lib 3-1 x86_64 PATCH\n')
            with self.assertRaisesRegex(common.HarnessError, 'ci/parts:1: range 3-1'):
                series.read_parts(d)
            self.write_parts(d, 'lib 1-3\n')
            with self.assertRaisesRegex(common.HarnessError, 'ci/parts:1: want'):
                series.read_parts(d)

    def test_after_parts(self):
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, 'ci'))
            self.write_parts(d, 'lib 1 x86_64 PATCH\narch 2 arm64 PATCH\nliby 3 x86_64 PATCH\n'
                                'after liby lib,arch\n')
            parts = series.read_parts(d)
            self.assertEqual([p['after'] for p in parts], [[], [], ['lib', 'arch']])
            self.assertEqual(series.part_base_patches(parts[2], parts), [1, 2])
            self.write_parts(d, 'lib 1 x86_64 PATCH\nafter lib liby\nliby 3 x86_64 PATCH\n')
            with self.assertRaisesRegex(common.HarnessError,
                                        'ci/parts:2: part lib can only come after a part '
                                        'listed before it; "liby" is not'):
                series.read_parts(d)
            self.write_parts(d, 'lib 1 x86_64 PATCH\nafter nope lib\n')
            with self.assertRaisesRegex(common.HarnessError, 'no part named "nope"'):
                series.read_parts(d)
            self.write_parts(d, 'lib 1 x86_64 PATCH\nafter lib\n')
            with self.assertRaisesRegex(common.HarnessError, 'ci/parts:2: want "after'):
                series.read_parts(d)

    def test_export_and_git_am_of_a_part_that_comes_after_another(self):
        with tempfile.TemporaryDirectory() as d:
            kern, g = self.parts_repo(d, None, None)
            with ExportTest.tool_repo(d, 'all: three\n\nBody.\n') as repo:
                # "lib: add y" does not apply without "lib: add x"
                self.write_parts(repo, 'lib 1 x86_64 PATCH\narch 2 arm64 PATCH\n'
                                       'liby 3 x86_64 PATCH\n', covers=('lib', 'arch', 'liby'))
                series.export_series(kern, 'b', 'main', repo_dir=repo)
                with self.assertRaisesRegex(common.HarnessError,
                                            'part liby: patch 3 .* does not apply on the '
                                            "base with only the part's earlier patches:"):
                    series.export_parts(kern, 'b', 'main', repo_dir=repo)
                with open(os.path.join(repo, 'ci', 'parts'), 'a') as f:
                    f.write('after liby lib\n')
                made = series.export_parts(kern, 'b', 'main', repo_dir=repo)
                self.assertEqual(made['3-liby'], ['0001-lib-add-y.patch'])
                with open(os.path.join(repo, 'parts', '3-liby', '0000-cover-letter.patch')) as f:
                    cover = f.read()
                base = common.git_out(kern, 'rev-parse', 'b')
                self.assertIn(f'base-commit: {base}', cover)
                self.assertEqual(cover.count('prerequisite-patch-id: '), 1)
                self.assertEqual(series.check_export(kern, 'b', repo_dir=repo), [])
                parts = series.part_patches(repo)
                with self.assertRaisesRegex(common.HarnessError, 'does not apply with git am'):
                    series.am_part(kern, 'b', parts['3-liby'], 'am-y', '3-liby')
                series.am_part(kern, 'b', parts['1-lib'] + parts['3-liby'], 'am-y', '3-liby')
                with open(os.path.join(kern, 'f.c')) as f:
                    self.assertEqual(f.read(), 'int a;\nint x;\nint y;\n')

    def test_export_check_and_git_am_alone(self):
        with tempfile.TemporaryDirectory() as d:
            kern, g = self.parts_repo(d, None, None)
            with ExportTest.tool_repo(d, 'all: three\n\nBody.\n') as repo:
                self.write_parts(repo, 'lib 1,3 x86_64 PATCH v2\narch 2 arm64 PATCH arm64 v2\n')
                series.export_series(kern, 'b', 'main', repo_dir=repo)
                made = series.export_parts(kern, 'b', 'main', repo_dir=repo)
                self.assertEqual(made, {'1-lib': ['0001-lib-add-x.patch',
                                                  '0002-lib-add-y.patch'],
                                        '2-arch': ['0001-arch-set-g.patch']})
                cover = os.path.join(repo, 'parts', '2-arch', '0000-cover-letter.patch')
                with open(cover) as f:
                    text = f.read()
                self.assertIn('Subject: [PATCH arm64 v2 0/1] arch: the arch part', text)
                self.assertEqual(series.check_export(kern, 'b', repo_dir=repo), [])
                for dname, paths in series.part_patches(repo).items():
                    series.am_part(kern, 'b', paths, 'am-' + dname, dname)
                with open(os.path.join(kern, 'g.c')) as f:
                    self.assertEqual(f.read(), 'int g = 1;\n')
                with open(os.path.join(kern, 'f.c')) as f:
                    self.assertEqual(f.read(), 'int a;\n')   # the arch part alone
                # a hand edit is caught, naming the part
                p = os.path.join(repo, 'parts', '1-lib', '0002-lib-add-y.patch')
                with open(p, 'a') as f:
                    f.write('\n')
                diffs = series.check_export(kern, 'b', repo_dir=repo)
                self.assertEqual(len(diffs), 1)
                self.assertIn('parts/1-lib/0002-lib-add-y.patch differs', diffs[0])
                # a part whose patch needs another part's is named
                self.write_parts(repo, 'lib 1 x86_64 PATCH\narch 2-3 arm64 PATCH\n')
                with self.assertRaisesRegex(common.HarnessError,
                                            'part arch: patch 3 \\("lib: add y"\\) '
                                            'does not apply'):
                    series.export_parts(kern, 'b', 'main', repo_dir=repo)
                # and a patch file that git am refuses
                with open(p, 'w') as f:
                    f.write(PATCH.format(n='', s='bad', f='f.c', old='int q;', new='int r;'))
                with self.assertRaisesRegex(common.HarnessError,
                                            'part 1-lib: patch 2/2 0002-lib-add-y.patch '
                                            'does not apply with git am'):
                    series.am_part(kern, 'b', series.part_patches(repo)['1-lib'],
                                   'am-x', '1-lib')
