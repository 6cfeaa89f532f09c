# SPDX-License-Identifier: GPL-2.0
"""Tests of rthlib/kconfig.py: fragments, their survival into .config, Kconfig
symbols.
"""

import os
import tempfile
import unittest

from rthlib import common, kconfig, qemu, targets


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


class KconfigDefinesTest(unittest.TestCase):
    def test_defined_and_not(self):
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, 'lib'))
            with open(os.path.join(d, 'lib', 'Kconfig.debug'), 'w') as f:
                f.write('config FOO_TEST\n\tbool "x"\nmenuconfig BAR\n\tbool "y"\n')
            self.assertTrue(kconfig.kconfig_defines(d, 'CONFIG_FOO_TEST'))
            self.assertTrue(kconfig.kconfig_defines(d, 'CONFIG_BAR'))
            self.assertFalse(kconfig.kconfig_defines(d, 'CONFIG_FOO'))
