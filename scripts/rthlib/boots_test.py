# SPDX-License-Identifier: GPL-2.0
"""Tests of rthlib/boots.py (rth.py boots): outcome of a boot, variants,
the count and its JSON (no kernel, no QEMU)."""

import json
import dataclasses
import os
import tempfile
import unittest
from unittest import mock

from rthlib import boots, common
from rthlib.targets import Target

T = Target('x86_64-debug', 'x86_64', ['common', 'fprobe', 'x86_64', 'debug', 'kasan'],
           ['kprobes_test'], 2)

CLEAN = ('smp: Brought up 1 node, 2 CPUs\nKTAP version 1\n1..1\n'
         '    KTAP version 1\n    # Subtest: kprobes_test\n    1..1\n'
         '    ok 1 test_kprobe\nok 1 kprobes_test\n')
OOPS = ('smp: Brought up 1 node, 2 CPUs\nKTAP version 1\n1..1\n'
        '    # Subtest: kprobes_test\n'
        '[   50.1] BUG: kernel NULL pointer dereference, address: 0000000000000000\n'
        '[   50.1] Oops: Oops: 0010 [#1] SMP KASAN\n'
        '[   50.1] RIP: 0010:0x0\n')


class TestClassify(unittest.TestCase):
    def test_outcomes(self):
        self.assertEqual(boots.classify(T, CLEAN, False), ('clean', []))
        out, det = boots.classify(T, OOPS, False)
        self.assertEqual(out, 'oops')
        self.assertIn('BUG: kernel NULL pointer dereference, address: 0000000000000000', det)
        self.assertIn('RIP: 0010:0x0', det)
        out, det = boots.classify(T, CLEAN.replace('ok 1 test_kprobe', 'not ok 1 test_kprobe'),
                                  False)
        self.assertEqual(out, 'fail')
        self.assertIn('kprobes_test.test_kprobe failed', det)
        # one CPU came up where two were wanted: not a clean boot
        out, _ = boots.classify(T, CLEAN.replace('2 CPUs', '1 CPU'), False)
        self.assertEqual(out, 'fail')
        out, det = boots.classify(T, 'line1\nlast line', True)
        self.assertEqual((out, det[-1]), ('hang', 'last line'))


class TestVariant(unittest.TestCase):
    def test_variant_target(self):
        v = boots.variant_target(T, smp=4, cpu='EPYC-Rome', drop=['kasan'])
        self.assertEqual((v.name, v.smp, v.cpu), ('x86_64-debug-nokasan', 4, 'EPYC-Rome'))
        self.assertNotIn('kasan', v.fragments)
        self.assertEqual(boots.variant_target(T).name, 'x86_64-debug')
        with self.assertRaises(common.HarnessError):
            boots.variant_target(T, drop=['kcsan'])
        v = boots.variant_target(T, add=['opt-size'])
        self.assertEqual((v.name, v.fragments[-1]), ('x86_64-debug-opt-size', 'opt-size'))
        for bad in (['kasan'], ['no-such-fragment']):
            with self.assertRaises(common.HarnessError):
                boots.variant_target(T, add=bad)
        with self.assertRaises(common.HarnessError):
            boots.variant_target(T, cpu='max;reboot')
        v = boots.variant_target(T, add=['opt-size'], llvm='-19')
        self.assertEqual((v.name, v.llvm), ('x86_64-debug-opt-size-clang-19', '-19'))
        with self.assertRaises(common.HarnessError):
            boots.variant_target(T, llvm='19; rm')

    def test_accel(self):
        with mock.patch.dict(os.environ, {'RTH_QEMU': ''}), \
                mock.patch.object(boots, 'resolve', side_effect=lambda c, a, t=None: (c, None)):
            cmd, _ = boots.qemu_argv(T, 'bzImage', 'single')
            self.assertEqual(cmd[1:3], ['-accel', 'tcg,thread=single'])
            cmd, _ = boots.qemu_argv(T, 'bzImage', 'mttcg')
            self.assertNotIn('-accel', cmd)
            with self.assertRaises(common.HarnessError):
                boots.qemu_argv(T, 'bzImage', 'kvm')
            # --accel mttcg overrides a target's accel=single
            S = dataclasses.replace(T, accel='single')
            cmd, _ = boots.qemu_argv(S, 'bzImage', 'mttcg')
            self.assertNotIn('-accel', cmd)
            cmd, _ = boots.qemu_argv(S, 'bzImage', 'single')
            self.assertEqual(cmd.count('-accel'), 1)

    def test_target_reaches_resolve(self):
        # the target's qemu= option must get to the QEMU choice
        seen = []
        with mock.patch.object(boots, 'resolve',
                               side_effect=lambda c, a, t=None: seen.append(t) or (c, None)):
            boots.qemu_argv(T, 'bzImage', 'mttcg')
        self.assertIs(seen[0], T)


class TestRun(unittest.TestCase):
    def test_counts_and_json(self):
        consoles = iter([(CLEAN, False, 10.0), (OOPS, False, 9.0), ('x', True, 900.0)])
        with tempfile.TemporaryDirectory() as d, \
                mock.patch.dict(os.environ, {'RTH_QEMU': ''}), \
                mock.patch.object(boots, 'build', return_value='bzImage'), \
                mock.patch.object(boots, 'build_root', return_value=d), \
                mock.patch.object(boots, 'resolve', side_effect=lambda c, a, t=None: (c, None)), \
                mock.patch.object(boots, 'boot_once', side_effect=lambda *a: next(consoles)):
            out = os.path.join(d, 'boots.json')
            with open(out, 'w') as f:
                json.dump([{'label': 'other'}, {'label': 'v'}], f)
            e = boots.run_boots('/src', T, 3, 900, 'mttcg', 'v', out, {'base': 'b'})
            self.assertEqual((e['clean'], e['oops'], e['hang'], e['fail']), (1, 1, 1, 0))
            with open(out) as f:
                saved = json.load(f)
            # the earlier run of the same label is replaced, others kept
            self.assertEqual([v['label'] for v in saved], ['other', 'v'])
            self.assertEqual(len(saved[1]['boots']), 3)
            self.assertIn('v ', boots.format_table([e]))
            self.assertEqual(e['qemu'], 'system')
            with self.assertRaises(common.HarnessError):
                boots.run_boots('/src', T, 0, 900, 'mttcg', 'v', out, {})
            with self.assertRaises(common.HarnessError):
                boots.format_table({'base': 'x'})

    def test_cpu_count_mismatch_is_an_error(self):
        # -smp 4 on a kernel built with NR_CPUS=2: stop, count nothing
        t4 = boots.variant_target(T, smp=4)
        with tempfile.TemporaryDirectory() as d, \
                mock.patch.dict(os.environ, {'RTH_QEMU': ''}), \
                mock.patch.object(boots, 'build', return_value='bzImage'), \
                mock.patch.object(boots, 'build_root', return_value=d), \
                mock.patch.object(boots, 'resolve', side_effect=lambda c, a, t=None: (c, None)), \
                mock.patch.object(boots, 'boot_once', return_value=(CLEAN, False, 8.0)):
            with self.assertRaisesRegex(common.HarnessError, 'brought up 2 CPUs where -smp 4'):
                boots.run_boots('/src', t4, 3, 900, 'mttcg', 'v4', os.path.join(d, 'b.json'), {})


if __name__ == '__main__':
    unittest.main()
