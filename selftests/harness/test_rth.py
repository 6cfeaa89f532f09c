# SPDX-License-Identifier: GPL-2.0
"""Fast tests of the harness's own logic: no kernel build, no QEMU."""

import email
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, 'scripts'))

from rthlib import (apt, base, build, common, kconfig, ktap, mails,  # noqa: E402
                    patchcheck, qemu, series, targets)

CONSOLE = textwrap.dedent("""\
    [    0.000000] Linux version 7.3.4 (gcc 12.2.0)
    [    1.100000] KTAP version 1
    [    1.100001] 1..3
    [    1.100002]     KTAP version 1
    [    1.100003]     # Subtest: kprobes_test
    [    1.100004]     # module: test_kprobes
    [    1.100005]     1..3
    [    1.200000]     ok 1 test_kprobe
    [    1.200001]     ok 2 test_kretprobe
    [    1.200002]     ok 3 test_stacktrace_on_kretprobe # SKIP not supported
    [    1.200003] # kprobes_test: pass:2 fail:0 skip:1 total:3
    [    1.200004] ok 1 kprobes_test
    [    1.300000]     KTAP version 1
    [    1.300001]     # Subtest: fprobe_test
    [    1.300002]     1..2
    [    1.300003]     # test_fprobe: EXPECTATION FAILED at lib/tests/test_fprobe.c:99
    [    1.300004]     Expected 2 == entry_val, but
    [    1.300005]     not ok 1 test_fprobe
    [    1.300006]         KTAP version 1
    [    1.300007]         # Subtest: test_param
    [    1.300008]         ok 1 param-0
    [    1.300009]         not ok 2 param-1
    [    1.300010]     not ok 2 test_param
    [    1.300011] not ok 2 fprobe_test
    [    1.400000]     KTAP version 1
    [    1.400001]     # Subtest: other_suite
    [    1.400002]     1..1
    [    1.400003]     ok 1 other_case
    [    1.400004] ok 3 other_suite
    """)


class KtapTest(unittest.TestCase):
    def test_cases_and_suites(self):
        suites, splats = ktap.parse_ktap(CONSOLE)
        self.assertEqual(sorted(suites), ['fprobe_test', 'kprobes_test',
                                          'other_suite'])
        kp = suites['kprobes_test']
        self.assertEqual(kp.status, 'pass')
        self.assertEqual([c.status for c in kp.cases], ['pass', 'pass', 'skip'])
        fp = suites['fprobe_test']
        self.assertEqual(fp.status, 'fail')
        # the parameterised subtests fold into their case
        self.assertEqual([(c.name, c.status) for c in fp.cases],
                         [('test_fprobe', 'fail'), ('test_param', 'fail')])
        self.assertEqual(splats, [])

    def test_judge_names_failures_and_missing(self):
        t = targets.Target('x', 'x86_64', [], ['kprobes_test', 'fprobe_test',
                                            'rethook_test'])
        _, failures = ktap.judge(t, CONSOLE)
        self.assertIn('fprobe_test.test_fprobe failed', failures)
        self.assertIn('fprobe_test.test_param failed', failures)
        self.assertIn('suite rethook_test missing from the console output',
                      failures)
        self.assertFalse(any('kprobes_test' in f for f in failures))

    def test_failing_case_log_shows_expectation(self):
        suites, _ = ktap.parse_ktap(CONSOLE)
        lines = ktap.failing_case_log(suites['fprobe_test'], 'test_fprobe')
        self.assertTrue(any('EXPECTATION FAILED' in l for l in lines))

    def test_unfinished_suite(self):
        text = CONSOLE.split('[    1.300011]')[0]
        t = targets.Target('x', 'x86_64', [], ['fprobe_test'])
        _, failures = ktap.judge(t, text)
        self.assertIn('suite fprobe_test did not finish', failures)

    def test_splats_fail_the_run(self):
        for splat in ('WARNING: CPU: 0 PID: 1 at kernel/kprobes.c:10 foo+0x1/0x2',
                      'BUG: kernel NULL pointer dereference, address: 0',
                      'Unable to handle kernel paging request at virtual address 0',
                      'WARNING: possible circular locking dependency detected',
                      'Kernel panic - not syncing: Fatal exception'):
            text = CONSOLE + f'[    2.000000] {splat}\n'
            t = targets.Target('x', 'x86_64', [], ['kprobes_test'])
            _, failures = ktap.judge(t, text)
            self.assertEqual(failures, [f'console: {splat}'], splat)

    def test_suite_with_no_case(self):
        text = ('KTAP version 1\n1..1\n    # Subtest: kprobes_test\n    1..0\n'
                'ok 1 kprobes_test\n')
        t = targets.Target('x', 'x86_64', [], ['kprobes_test'])
        _, failures = ktap.judge(t, text)
        self.assertEqual(failures, ['suite kprobes_test ran no case'])

    def test_smp_target_needs_all_cpus(self):
        # x86 without ACPI only finds the CPUs of SeaBIOS's MP table (one)
        t = targets.Target('x', 'x86_64', [], ['kprobes_test'], smp=2)
        one = CONSOLE + '[    0.5] smp: Brought up 1 node, 1 CPU\n'
        two = CONSOLE + '[    0.5] smp: Brought up 1 node, 2 CPUs\n'
        self.assertEqual(ktap.judge(t, one)[1],
                         ['2 CPUs wanted (-smp 2); the kernel brought up 1'])
        self.assertEqual(ktap.judge(t, two)[1], [])
        self.assertEqual(ktap.judge(t, CONSOLE)[1],
                         ['2 CPUs wanted (-smp 2); no "smp: Brought up" line on the console'])
        t1 = targets.Target('x', 'x86_64', [], ['kprobes_test'])
        self.assertEqual(ktap.judge(t1, one)[1], [])


class FragmentTest(unittest.TestCase):
    def test_parse_and_dropped(self):
        frag = kconfig.parse_fragment('# comment\nCONFIG_A=y\n# CONFIG_B is not set\n'
                                  'CONFIG_C="x"\nCONFIG_D=y\n')
        self.assertEqual(frag, {'CONFIG_A': 'y', 'CONFIG_B': 'n',
                                'CONFIG_C': '"x"', 'CONFIG_D': 'y'})
        config = 'CONFIG_A=y\nCONFIG_B=y\nCONFIG_C="x"\n# CONFIG_D is not set\n'
        self.assertEqual(kconfig.dropped_options(frag, config),
                         [('CONFIG_B', 'n', 'y'), ('CONFIG_D', 'y', 'n')])

    def test_absent_symbol_counts_as_dropped(self):
        self.assertEqual(kconfig.dropped_options({'CONFIG_X': 'y'}, ''),
                         [('CONFIG_X', 'y', 'n')])
        self.assertEqual(kconfig.dropped_options({'CONFIG_X': 'n'}, ''), [])

    def test_repo_targets_and_fragments_exist(self):
        known = targets.load_targets()
        for name in ('x86_64', 'x86_64-fp', 'i386', 'arm64'):
            self.assertIn(name, known)
        for t in known.values():
            self.assertIn('kprobes_test', t.suites)
            for fr in t.fragments:
                self.assertTrue(os.path.exists(os.path.join(
                    kconfig.FRAGMENTS, fr + '.config')), fr)
        # i386 has no fprobe (no DYNAMIC_FTRACE_WITH_ARGS on 32-bit)
        self.assertNotIn('fprobe', known['i386'].fragments)
        self.assertNotIn('fprobe_test', known['i386'].suites)

    def test_targets_smp(self):
        t = targets.parse_targets('d x86_64 suites=a smp=2 common debug\n')['d']
        self.assertEqual((t.smp, t.fragments), (2, ['common', 'debug']))
        cmd = qemu.qemu_cmd(t, 'img')
        self.assertEqual(cmd[cmd.index('-smp') + 1], '2')
        with self.assertRaisesRegex(common.HarnessError, 'bad smp=0'):
            targets.parse_targets('d x86_64 suites=a smp=0 common\n')

    def test_targets_errors(self):
        with self.assertRaisesRegex(common.HarnessError, 'unknown arch'):
            targets.parse_targets('t sparc suites=a common\n')
        with self.assertRaisesRegex(common.HarnessError, 'expected'):
            targets.parse_targets('t x86_64 common\n')


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


class KconfigDefinesTest(unittest.TestCase):
    def test_defined_and_not(self):
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, 'lib'))
            with open(os.path.join(d, 'lib', 'Kconfig.debug'), 'w') as f:
                f.write('config FOO_TEST\n\tbool "x"\nmenuconfig BAR\n\tbool "y"\n')
            self.assertTrue(kconfig.kconfig_defines(d, 'CONFIG_FOO_TEST'))
            self.assertTrue(kconfig.kconfig_defines(d, 'CONFIG_BAR'))
            self.assertFalse(kconfig.kconfig_defines(d, 'CONFIG_FOO'))


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
            kern = os.path.join(d, 'k')
            os.makedirs(kern)
            with open(os.path.join(kern, 'f.c'), 'w') as f:
                f.write('int a;\n')
            g = ['git', '-C', kern] + common.GIT_ID
            subprocess.run(['git', 'init', '-q', kern], check=True)
            subprocess.run(g + ['add', '.'], check=True)
            subprocess.run(g + ['commit', '-qm', 'base'], check=True)
            subprocess.run(g + ['tag', 'b'], check=True)
            repo = os.path.join(d, 'r')
            os.makedirs(os.path.join(repo, 'patches'))
            good = ('From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\n'
                    'From: T <t@localhost>\nDate: Thu, 1 Jan 2026 00:00:00 +0000\n'
                    'Subject: [PATCH] {s}\n\n{s}\n---\n'
                    ' f.c | 2 +-\n\ndiff --git a/f.c b/f.c\n--- a/f.c\n+++ b/f.c\n'
                    '@@ -1 +1 @@\n-{old}\n+{new}\n-- \n2.39.5\n\n')
            with open(os.path.join(repo, 'patches', '0001-one.patch'), 'w') as f:
                f.write(good.format(s='one', old='int a;', new='int b;'))
            with open(os.path.join(repo, 'patches', '0002-two.patch'), 'w') as f:
                f.write(good.format(s='two', old='int zzz;', new='int c;'))
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


class BootTest(unittest.TestCase):
    def test_hang_reports_timeout_and_last_lines(self):
        t = targets.Target('x86_64', 'x86_64', [], ['kprobes_test'])
        fake = [sys.executable, '-c',
                'import sys,time\nfor i in range(80): print("line", i)\n'
                'sys.stdout.flush(); time.sleep(30)']
        with tempfile.TemporaryDirectory() as d, \
                mock.patch('rthlib.qemu.qemu_cmd', return_value=fake):
            with self.assertRaises(common.HarnessError) as cm:
                qemu.boot(t, 'img', os.path.join(d, 'console.log'), timeout=2)
        msg = str(cm.exception)
        self.assertIn('did not finish in 2 s', msg)
        self.assertIn('line 79', msg)
        self.assertIn('line 30', msg)
        self.assertNotIn('line 29\n', msg)

    def test_qemu_command_per_arch(self):
        for arch, exe, console in (('x86_64', 'qemu-system-x86_64', 'ttyS0'),
                                   ('i386', 'qemu-system-i386', 'ttyS0'),
                                   ('arm64', 'qemu-system-aarch64', 'ttyAMA0')):
            cmd = qemu.qemu_cmd(targets.Target(arch, arch, [], []), 'img')
            self.assertEqual(cmd[0], exe)
            self.assertIn('-no-reboot', cmd)
            app = cmd[cmd.index('-append') + 1]
            self.assertIn(f'console={console}', app)
            self.assertIn('kunit_shutdown=reboot', app)



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

    def test_export_then_check_is_exact(self):
        with tempfile.TemporaryDirectory() as d:
            kern = os.path.join(d, 'k')
            os.makedirs(kern)
            g = ['git', '-C', kern] + common.GIT_ID
            subprocess.run(['git', 'init', '-q', '-b', 'main', kern], check=True)
            with open(os.path.join(kern, 'f.c'), 'w') as f:
                f.write('int a;\n')
            subprocess.run(g + ['add', '.'], check=True)
            subprocess.run(g + ['commit', '-qm', 'base'], check=True)
            subprocess.run(g + ['tag', 'b'], check=True)
            for i in range(2):
                with open(os.path.join(kern, 'f.c'), 'a') as f:
                    f.write(f'int x{i};\n')
                subprocess.run(g + ['commit', '-qam', f'lib: add x{i}\n\nWhy.'],
                               check=True)
            repo = os.path.join(d, 'r')
            os.makedirs(os.path.join(repo, 'ci'))
            with mock.patch('rthlib.series.COVER_TEMPLATE',
                            os.path.join(repo, 'ci', 'c.txt')):
                with open(os.path.join(repo, 'ci', 'c.txt'), 'w') as f:
                    f.write('lib: two ints\n\nBody.\n')
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


class MailsTest(unittest.TestCase):
    GM = ('Thomas Gleixner <tglx@kernel.org> (maintainer:X86 ARCHITECTURE)\n'
          '"H. Peter Anvin" <hpa@zytor.com> (reviewer:X86 ARCHITECTURE)\n'
          'x86@kernel.org (maintainer:X86 ARCHITECTURE)\n'
          'linux-kernel@vger.kernel.org (open list)\n')

    def test_split_roles(self):
        to, cc = mails.split_recipients(self.GM)
        self.assertEqual(to, ['Thomas Gleixner <tglx@kernel.org>', 'x86@kernel.org'])
        self.assertEqual(cc, ['"H. Peter Anvin" <hpa@zytor.com>',
                              'linux-kernel@vger.kernel.org'])

    def test_merge_to_wins(self):
        to, cc = mails.merge_recipients((['a@x'], ['l@x', 'b@x']), (['b@x'], ['l@x']))
        self.assertEqual((to, cc), (['a@x', 'b@x'], ['l@x']))

    def test_headers_parse_back(self):
        mail = ('From 0000 Mon Sep 17 00:00:00 2001\nFrom: A <a@x>\n'
                'Subject: [PATCH 1/2] x: y\n\nbody\n\nmore\n')
        out = mails.add_headers(mail, ['a@x', 'T <t@x>'], ['l@x'])
        msg = email.message_from_string(out.split('\n', 1)[1])
        self.assertEqual(msg['To'].replace('\n', ''), 'a@x, T <t@x>')
        self.assertEqual(msg['Cc'], 'l@x')
        self.assertEqual(msg.get_payload(), 'body\n\nmore\n')
        with self.assertRaises(common.HarnessError):
            mails.add_headers('no header block', [], [])


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


class TargetOptionsTest(unittest.TestCase):
    def test_llvm_and_smp(self):
        t = targets.parse_targets('a arm64 suites=s smp=2 llvm=-19 common arm64\n')['a']
        self.assertEqual((t.smp, t.llvm, t.fragments), (2, '-19', ['common', 'arm64']))
        self.assertEqual(t.cc, 'clang-19')
        self.assertIn('LLVM=-19', targets.make_cmd('/s', '/b', t, 'Image'))
        g = targets.parse_targets('g arm64 suites=s common\n')['g']
        self.assertEqual((g.cc, g.llvm), ('aarch64-linux-gnu-gcc', ''))
        with self.assertRaises(common.HarnessError):
            targets.parse_targets('b arm64 suites=s llvm=19 common\n')

    def test_tool_package(self):
        self.assertEqual([common.tool_package(c) for c in
                          ('clang-19', 'ld.lld-19', 'llvm-ar-19', 'aarch64-linux-gnu-gcc')],
                         ['clang-19', 'lld-19', 'llvm-19', 'gcc-aarch64-linux-gnu'])


class SeesChangeTest(unittest.TestCase):
    def test_other_arch_only(self):
        x86 = ['arch/x86/kernel/rethook.c', 'arch/x86/Kconfig']
        self.assertFalse(patchcheck.sees_change(x86, 'arm64'))
        self.assertTrue(patchcheck.sees_change(x86, 'i386'))
        self.assertTrue(patchcheck.sees_change(x86 + ['lib/tests/Kconfig'], 'arm64'))


class BuildLockTest(unittest.TestCase):
    def test_second_build_in_same_dir_fails(self):
        with tempfile.TemporaryDirectory() as d:
            fd = build.lock_build_dir(d)
            try:
                # flock is per open file description: a second open in
                # the same process conflicts like another process would.
                with self.assertRaisesRegex(common.HarnessError,
                                            f'another build is running in {d} \\(pid {os.getpid()}'):
                    build.lock_build_dir(d)
            finally:
                os.close(fd)
            os.close(build.lock_build_dir(d))   # free again once released

    def test_lock_outlives_harness_in_child(self):
        with tempfile.TemporaryDirectory() as d:
            fd = build.lock_build_dir(d)
            child = subprocess.Popen(['sleep', '30'], pass_fds=(fd,))
            os.close(fd)
            try:
                with self.assertRaises(common.HarnessError):
                    build.lock_build_dir(d)
            finally:
                child.kill()
                child.wait()
            os.close(build.lock_build_dir(d))


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


if __name__ == '__main__':
    unittest.main()
