# SPDX-License-Identifier: GPL-2.0
"""Tests of rthlib/ktap.py: KTAP parsing, splats and the verdict (no kernel).
"""

import os
import sys
import textwrap
import unittest

from rthlib import common, ktap, targets


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


def kunit_parser_of_base_tree():
    """(kunit_parser, kunit_printer) of the cached base tree, or None."""
    d = os.path.join(common.cache_dir(), 'linux', 'tools', 'testing', 'kunit')
    if not os.path.exists(os.path.join(d, 'kunit_parser.py')):
        return None
    sys.path.insert(0, d)
    keep = sys.dont_write_bytecode
    sys.dont_write_bytecode = True            # write nothing into the tree
    try:
        import kunit_parser
        import kunit_printer
    finally:
        sys.dont_write_bytecode = keep
        sys.path.remove(d)
    return kunit_parser, kunit_printer


class KunitParserTest(unittest.TestCase):
    """parse_ktap() and the tree's kunit_parser.py agree on KTAP (ktap.py
    says why the harness keeps its own)."""

    STATUS = {'SUCCESS': 'pass', 'FAILURE': 'fail', 'SKIPPED': 'skip',
              'TEST_CRASHED': 'missing'}

    def test_same_suites_cases_and_statuses(self):
        tool = kunit_parser_of_base_tree()
        if tool is None:
            self.skipTest('no base tree with tools/testing/kunit in the cache')
        kp, printer = tool
        warning = '[    1.200000] WARNING: CPU: 0 PID: 1 at kernel/kprobes.c:10\n'
        consoles = {
            'pass, skip, fail, parameterised': CONSOLE,
            'cut off in fprobe_test': CONSOLE.split('[    1.300011]')[0],
            'WARNING inside kprobes_test': CONSOLE.replace(
                '[    1.200001]     ok 2', warning + '[    1.200001]     ok 2'),
        }
        for name, text in consoles.items():
            with self.subTest(name):
                theirs = kp.parse_run_tests(text.splitlines(),
                                            printer.Printer(print=False))
                got = {t.name: (self.STATUS[t.status.name],
                                [(c.name, self.STATUS[c.status.name])
                                 for c in t.subtests])
                       for t in theirs.subtests if t.name}
                suites, _ = ktap.parse_ktap(text)
                want = {n: (s.status, [(c.name, c.status) for c in s.cases])
                        for n, s in suites.items()}
                self.assertEqual(got, want)
