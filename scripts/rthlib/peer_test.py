# SPDX-License-Identifier: GPL-2.0
"""Tests of the peer suites' parsers, selection and comparison."""

import os
import tempfile
import unittest

from rthlib import peer

TP_OUT = '''\
RTH-PEER: ready 7.3.4 x86_64 cpus=2
RTH-PEER: start test_progs
#101     fentry_test:OK
test_fexit_many_args:FAIL:fexit_many_args unexpected error: -524 (errno 524)
#102/1   fexit_test/fexit:OK
#102/2   fexit_test/fexit_many_args:FAIL
#102     fexit_test:FAIL
[   12.345678] some kernel line
#103     attach_probe:SKIP
#104/1   recursion/x:OK
Summary: 1/1 PASSED, 1 SKIPPED, 1 FAILED
RTH-PEER: end test_progs rc=1
RTH-PEER: done
'''

FT_OUT = '''\
RTH-PEER: start ftracetest
=== Ftrace unit tests ===
[1] Kprobe dynamic event - adding and removing\t[\x1b[32mPASS\x1b[0m]
[2] Kprobe event argument syntax\t[FAIL]
+ echo p:myevent foo > kprobe_events
sh: write error: Invalid argument
[3] Fprobe event with BTF arguments\t[UNSUPPORTED]
[4] Generic dynamic event - check if duplicate events are caught\t[UNRESOLVED]
[5] ftrace - function graph filters\t[XFAIL]
[6] ftrace - function graph filters\t[PASS]
[7] Kretprobe dynamic event with maxactive\t[FAIL]
execute: /peer/ftrace/test.d/kprobe/kretprobe_maxactive.tc
+ echo -10:kprobes/myevent2
/peer/ftrace/test.d/functions: line 100: echo: write error: Invalid argument
++ echo 'r:myprobeaccept inet_csk_accept'
kretprobe_maxactive.tc: line 16: echo: write error: No such file or directory
[8] Kprobe event user-memory access\t[FAIL]
++ echo 1
++ grep -q 'path=(fault) path2=(fault)'
[9] Generic dynamic event - add/remove/test uprobe events\t[UNRESOLVED]
execute: /peer/ftrace/test.d/dynevent/add_remove_uprobe.tc
+ echo 0
No readelf found. skipped.
++ exit 0
RTH-PEER: end ftracetest rc=1
'''


class Parse(unittest.TestCase):
    def test_test_progs(self):
        lines, rc, started = peer.suite_lines(TP_OUT)
        self.assertTrue(started)
        self.assertEqual(rc, 1)
        r = peer.parse_test_progs(lines, ['fentry_test', 'fexit_test',
                                          'attach_probe', 'recursion'])
        self.assertEqual((r['pass'], r['fail'], r['skip']), (1, 2, 1))
        self.assertEqual(r['failed'], ['fexit_test', 'recursion'])
        self.assertIn(':FAIL:fexit_many_args', r['why']['fexit_test'])
        self.assertIn('no result', r['why']['recursion'])
        # subtests are kept apart, with their own why
        self.assertEqual(r['subtests'], {'fexit_test/fexit': 'OK',
                                         'fexit_test/fexit_many_args': 'FAIL',
                                         'recursion/x': 'OK'})
        self.assertIn(':FAIL:fexit_many_args', r['why']['fexit_test/fexit_many_args'])

    def test_ftracetest(self):
        lines, rc, _ = peer.suite_lines(FT_OUT)
        r = peer.parse_ftracetest(lines)
        self.assertEqual((r['pass'], r['fail'], r['skip']), (2, 5, 2))
        self.assertEqual(r['why']['Generic dynamic event - add/remove/test uprobe events'],
                         'UNRESOLVED: No readelf found. skipped.')
        self.assertEqual(r['failed'], [
            'Generic dynamic event - add/remove/test uprobe events',
            'Generic dynamic event - check if duplicate events are caught',
            'Kprobe event argument syntax', 'Kprobe event user-memory access',
            'Kretprobe dynamic event with maxactive'])
        self.assertEqual(r['results']['ftrace - function graph filters (2)'], 'PASS')
        self.assertEqual(r['why']['Kprobe event argument syntax'],
                         'FAIL: sh: write error: Invalid argument')
        # the last error, not the cleanup's at the test's start
        self.assertIn('No such file', r['why']['Kretprobe dynamic event with maxactive'])
        self.assertEqual(r['why']['Kprobe event user-memory access'],
                         "FAIL: last command: grep -q 'path=(fault) path2=(fault)'")

    def test_no_end_is_no_rc(self):
        lines, rc, started = peer.suite_lines(TP_OUT.split('Summary')[0])
        self.assertTrue(started)
        self.assertIsNone(rc)

    def test_new_failures(self):
        base = {'results': {'a': 'OK', 'b': 'FAIL', 'c': 'SKIP', 'd': 'OK'},
                'failed': ['b']}
        patched = {'results': {'a': 'FAIL', 'b': 'FAIL', 'c': 'FAIL', 'd': 'OK',
                               'e': 'FAIL'},
                   'failed': ['a', 'b', 'c', 'e']}
        # a passed and c was skipped on base: new; b failed on base too;
        # e did not run on base
        self.assertEqual(peer.new_failures(base, patched), ['a', 'c'])

    def test_subtest_of_a_test_that_fails_on_base(self):
        # attach_probe fails on both (its uprobe-lib subtest); its kprobe
        # subtest failing on patched only is new
        base = {'results': {'attach_probe': 'FAIL'}, 'failed': ['attach_probe'],
                'why': {}, 'subtests': {'attach_probe/kprobe': 'OK',
                                        'attach_probe/uprobe-lib': 'FAIL'}}
        patched = {'results': {'attach_probe': 'FAIL'}, 'failed': ['attach_probe'],
                   'why': {}, 'subtests': {'attach_probe/kprobe': 'FAIL',
                                           'attach_probe/uprobe-lib': 'FAIL'}}
        self.assertEqual(peer.new_failures(base, patched), ['attach_probe/kprobe'])

    def test_no_result_is_not_a_new_failure(self):
        # a patched kernel that crashed part way: its tests without a
        # result are the boot error's business, not new failures
        lines, _, _ = peer.suite_lines(TP_OUT)
        base = peer.parse_test_progs(lines, ['fentry_test', 'attach_probe', 'late_test'])
        base['results']['late_test'] = 'OK'
        base['failed'].remove('late_test')
        patched = peer.parse_test_progs(lines, ['fentry_test', 'attach_probe', 'late_test'])
        self.assertIn('late_test', patched['failed'])
        self.assertEqual(peer.new_failures(base, patched), [])

    def test_new_skips(self):
        base = {'results': {'a': 'OK', 'b': 'PASS', 'c': 'SKIP'}, 'subtests': {'a/x': 'OK'}}
        patched = {'results': {'a': 'OK', 'b': 'UNSUPPORTED', 'c': 'SKIP'},
                   'subtests': {'a/x': 'SKIP'}}
        self.assertEqual(peer.new_skips(base, patched), ['a/x', 'b'])


class Selection(unittest.TestCase):
    def tree(self):
        d = tempfile.mkdtemp()
        self.addCleanup(lambda: __import__('shutil').rmtree(d))
        os.makedirs(os.path.join(d, 'prog_tests'))
        os.makedirs(os.path.join(d, 'progs'))
        files = {
            'Makefile': 'LSKELS := lsk.c \\\n\tlsk2.c\n'
                        'linked_funcs.skel.h-deps := linked_funcs1.bpf.o linked_funcs2.bpf.o\n',
            'prog_tests/one.c': '#include "one.skel.h"\n#include "linked_funcs.skel.h"\n'
                                'void test_one(void)\n{\n}\nvoid serial_test_one_more(void)\n',
            'prog_tests/two.c': 'obj = "./two_obj.bpf.o";\nvoid test_two(void)\n',
            'prog_tests/other.c': '#include "other.skel.h"\nvoid test_other(void)\n',
            'progs/one.c': '#include "inc_prog.c"\n',
            'progs/inc_prog.c': '', 'progs/linked_funcs1.c': '',
            'progs/linked_funcs2.c': '', 'progs/two_obj.c': '',
            'progs/other.c': '', 'progs/bpf_misc.h': '',
            'progs/lsk.c': '', 'progs/lsk2.c': '',
        }
        for n, t in files.items():
            with open(os.path.join(d, n), 'w') as f:
                f.write(t)
        return d

    def test_prune(self):
        d = self.tree()
        names, progs, runtime = peer.prune_selftests(d, ['one', 'two'])
        self.assertEqual(sorted(names), ['one', 'one_more', 'two'])
        # lsk, lsk2: named by the Makefile's LSKELS, whose rules need them
        self.assertEqual(progs, {'one', 'inc_prog', 'linked_funcs1',
                                 'linked_funcs2', 'two_obj', 'lsk', 'lsk2'})
        self.assertEqual(runtime, {'two_obj.bpf.o'})
        self.assertEqual(sorted(os.listdir(os.path.join(d, 'prog_tests'))),
                         ['one.c', 'two.c'])
        self.assertNotIn('other.c', os.listdir(os.path.join(d, 'progs')))
        self.assertIn('bpf_misc.h', os.listdir(os.path.join(d, 'progs')))

    def test_distro_config_is_not_for_the_bench_kernel(self):
        import contextlib
        import io
        from rthlib import peer_cli
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            rc = peer_cli.main(['--config', 'distro', '--bench-kernel'])
        self.assertEqual(rc, 2)
        self.assertIn('--config distro builds the peer kernels', err.getvalue())

    def test_unknown_test_before_any_build(self):
        import subprocess
        from rthlib import common
        d = tempfile.mkdtemp()
        self.addCleanup(lambda: __import__('shutil').rmtree(d))
        pt = os.path.join(d, 'tools/testing/selftests/bpf/prog_tests')
        os.makedirs(pt)
        for n in ('fentry_test.c', 'fexit_test.c', 'tests.h'):
            open(os.path.join(pt, n), 'w').close()
        g = ['git', '-C', d] + common.GIT_ID
        subprocess.run(['git', 'init', '-q', d], check=True)
        subprocess.run(g + ['add', '.'], check=True)
        subprocess.run(g + ['commit', '-qm', 'b'], check=True)
        subprocess.run(g + ['tag', 'b'], check=True)
        peer.check_test_files(d, 'b', ['fentry_test', 'fexit_test'])
        with self.assertRaisesRegex(peer.HarnessError, 'unknown test_progs test.*fentry_tst'):
            peer.check_test_files(d, 'b', ['fentry_tst'])
        with self.assertRaises(peer.HarnessError):
            peer.check_test_files(d, 'b', ['tests'])      # a header, not a test

    def test_series_selftests_applied_to_the_base(self):
        # a test the series adds counts as known, and only the selftests
        # part of a patch reaches the tools tree
        import subprocess
        from rthlib import common
        d = tempfile.mkdtemp()
        self.addCleanup(lambda: __import__('shutil').rmtree(d))
        base = os.path.join(d, 'base')
        pt = os.path.join(base, 'tools/testing/selftests/bpf/prog_tests')
        os.makedirs(pt)
        os.makedirs(os.path.join(base, 'kernel'))
        open(os.path.join(pt, 'fentry_test.c'), 'w').close()
        with open(os.path.join(base, 'kernel/x.c'), 'w') as f:
            f.write('int x;\n')
        g = ['git', '-C', base] + common.GIT_ID
        subprocess.run(['git', 'init', '-q', base], check=True)
        subprocess.run(g + ['add', '.'], check=True)
        subprocess.run(g + ['commit', '-qm', 'b'], check=True)
        subprocess.run(g + ['tag', 'b'], check=True)
        with open(os.path.join(pt, 'new_test.c'), 'w') as f:
            f.write('void test_new_test(void) {}\n')
        with open(os.path.join(base, 'kernel/x.c'), 'w') as f:
            f.write('int x = 1;\n')
        subprocess.run(g + ['add', '.'], check=True)
        subprocess.run(g + ['commit', '-qm', 'selftests/bpf: new'], check=True)
        rd = os.path.join(d, 'repo')
        os.makedirs(os.path.join(rd, 'patches'))
        subprocess.run(['git', '-C', base, 'format-patch', '-q', '-1', '-o',
                        os.path.join(rd, 'patches')], check=True)
        with open(os.path.join(rd, 'patches', 'other.patch'), 'w') as f:
            f.write('Subject: [PATCH] x\n\n---\n+++ b/kernel/x.c\n')
        names = sorted(os.listdir(os.path.join(rd, 'patches')))
        with open(os.path.join(rd, 'series'), 'w') as f:
            f.write('\n'.join(names) + '\n')
        pats = peer.selftest_patches(rd)
        self.assertEqual([os.path.basename(p) for p in pats],
                         [n for n in names if n != 'other.patch'])
        self.assertEqual(peer.series_tests(rd), {'new_test'})
        peer.check_test_files(base, 'b', ['fentry_test', 'new_test'], repo_dir=rd)
        with self.assertRaisesRegex(peer.HarnessError, 'nosuch'):
            peer.check_test_files(base, 'b', ['nosuch'], repo_dir=rd)
        subprocess.run(g + ['checkout', '-q', 'b'], check=True)
        old = common.cache_dir
        peer.cache_dir = lambda: os.path.join(d, 'cache')
        self.addCleanup(setattr, peer, 'cache_dir', old)
        wt = peer.peer_tools_tree(base, 'b', 'x86_64', pats)
        self.assertTrue(os.path.exists(os.path.join(
            wt, 'tools/testing/selftests/bpf/prog_tests/new_test.c')))
        with open(os.path.join(wt, 'kernel/x.c')) as f:
            self.assertEqual(f.read(), 'int x;\n')     # not the kernel part
        # the next run without the patch has the base's files only
        wt = peer.peer_tools_tree(base, 'b', 'x86_64')
        self.assertFalse(os.path.exists(os.path.join(
            wt, 'tools/testing/selftests/bpf/prog_tests/new_test.c')))

    def test_missing_test_fails(self):
        d = self.tree()
        with self.assertRaisesRegex(peer.HarnessError, 'nosuch'):
            peer.selection(d, ['one', 'nosuch'])


class Guest(unittest.TestCase):
    def test_cmdline_fits(self):
        # the kernel command line holds the test names and ftrace cases
        cmd = peer.qemu_peer_cmd('x86_64', 'bzImage', 'initrd', 'test_progs',
                                 [t + '_some_suffix' for t in peer.PEER_TESTS],
                                 ['test.d/ftrace/fgraph-filter-stack.tc'] * 12)
        self.assertLess(len(cmd[-1]), 2048)
        self.assertIn('tcg,thread=single', cmd)
        # a list that does not fit is an error, not a silently shorter run
        with self.assertRaisesRegex(peer.HarnessError, 'at most 2000 fit'):
            peer.qemu_peer_cmd('x86_64', 'bzImage', 'initrd', 'test_progs',
                               [f'test_number_{i}' for i in range(200)], [])


class BenchKernelExpected(unittest.TestCase):
    def test_names_are_ftracetest_cases(self):
        """Every expected failure of the CI run is a case of the
        directories it runs (description lines of the base tree's .tc
        files), so a renamed case cannot hide a failure."""
        import glob
        from rthlib.common import cache_dir
        trees = glob.glob(os.path.join(cache_dir(), 'bench', 'ftrace-selftests-*',
                                       'tools', 'testing', 'selftests', 'ftrace'))
        if not trees:
            self.skipTest('no ftrace selftests unpacked yet (scripts/peer-suites makes them)')
        descs = set()
        for d in peer.FTRACE_DIRS:
            for tc in glob.glob(os.path.join(trees[0], d, '*.tc')):
                with open(tc) as f:
                    for line in f:
                        if line.startswith('# description:'):
                            descs.add(line.split(':', 1)[1].strip())
        self.assertEqual(set(peer.BENCH_KERNEL_EXPECTED) - descs, set())

    def test_unexpected_by_name_and_why(self):
        name = 'Kprobe event symbol argument'
        why = 'UNRESOLVED: ... please enable CONFIG_KALLSYMS_ALL'
        s = {'failed': [name], 'why': {name: why},
             'results': dict.fromkeys(peer.BENCH_KERNEL_EXPECTED, 'PASS')}
        s['results'][name] = 'UNRESOLVED'
        self.assertEqual(peer.bench_kernel_unexpected(s), ([], []))
        # the same case failing for another reason is not waived
        s['why'][name] = 'FAIL: grep: event not found'
        self.assertEqual(peer.bench_kernel_unexpected(s)[0],
                         [(name, 'FAIL: grep: event not found')])
        # a case with two known ways to fail accepts either
        um = 'Kprobe event user-memory access'
        for why in ('FAIL: last command: grep myevent trace',
                    "FAIL: last command: grep -q 'path=(fault) path2=(fault)'"):
            s = {'failed': [um], 'why': {um: why},
                 'results': dict.fromkeys(peer.BENCH_KERNEL_EXPECTED, 'PASS')}
            self.assertEqual(peer.bench_kernel_unexpected(s), ([], []))
        # an unlisted failure, and a listed case the run does not have
        s = {'failed': ['Kprobe event argument syntax'], 'why': {},
             'results': {'Kprobe event argument syntax': 'FAIL'}}
        bad, missing = peer.bench_kernel_unexpected(s)
        self.assertEqual(bad, [('Kprobe event argument syntax', '?')])
        self.assertEqual(missing, sorted(peer.BENCH_KERNEL_EXPECTED))


if __name__ == '__main__':
    unittest.main()
