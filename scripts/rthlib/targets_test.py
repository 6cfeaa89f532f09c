# SPDX-License-Identifier: GPL-2.0
"""Tests of rthlib/targets.py: target options and tool packages."""

import os
import unittest
from unittest import mock

from rthlib import common, targets


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

    def test_machine_and_append(self):
        from rthlib import qemu
        t = targets.parse_targets('m arm64 suites=s machine=gic-version=3,mte=on '
                                  'append=a=1 append=b common arm64\n')['m']
        self.assertEqual((t.machine, t.append, t.fragments),
                         ('gic-version=3,mte=on', ['a=1', 'b'], ['common', 'arm64']))
        cmd = qemu.qemu_cmd(t, 'img', 'extra')
        self.assertEqual(cmd[cmd.index('-M') + 1], 'virt,gic-version=3,mte=on')
        self.assertTrue(cmd[cmd.index('-append') + 1].endswith(
            'kunit_shutdown=reboot a=1 b extra'))
        c = targets.parse_targets('c arm64 suites=s cpu=cortex-a72 c\n')['c']
        with mock.patch.dict(os.environ, {'RTH_QEMU_CPU': 'max'}):
            cmd = qemu.qemu_cmd(c, 'img')
        self.assertEqual(cmd[cmd.index('-cpu') + 1], 'cortex-a72')
        plain = qemu.qemu_cmd(targets.parse_targets('p arm64 suites=s c\n')['p'], 'img')
        self.assertEqual(plain[plain.index('-M') + 1], 'virt')
        t = targets.parse_targets('d x86_64 suites=s smp=2 qemu=trixie common')['d']
        self.assertEqual((t.smp, t.qemu, t.fragments), (2, 'trixie', ['common']))
        with self.assertRaises(common.HarnessError):
            targets.parse_targets('d x86_64 suites=s qemu=9.2 common')
        # accel=single reaches the QEMU command line; accel=mttcg is QEMU's default
        s = targets.parse_targets('s x86_64 suites=s smp=2 accel=single common')['s']
        self.assertEqual((s.accel, s.fragments), ('single', ['common']))
        cmd = qemu.qemu_cmd(s, 'img')
        self.assertEqual(cmd[1:3], ['-accel', 'tcg,thread=single'])
        m = targets.parse_targets('m x86_64 suites=s accel=mttcg common')['m']
        self.assertNotIn('-accel', qemu.qemu_cmd(m, 'img'))
        with self.assertRaises(common.HarnessError):
            targets.parse_targets('d x86_64 suites=s accel=kvm common')
        for bad in ('x x86_64 suites=s machine=mte=on c', 'y arm64 suites=s machine=on c',
                    'z arm64 suites=s append= c', 'w arm64 suites=s cpu=a;b c'):
            with self.assertRaises(common.HarnessError, msg=bad):
                targets.parse_targets(bad + '\n')

    def test_tool_package(self):
        self.assertEqual([common.tool_package(c) for c in
                          ('clang-19', 'ld.lld-19', 'llvm-ar-19', 'aarch64-linux-gnu-gcc')],
                         ['clang-19', 'lld-19', 'llvm-19', 'gcc-aarch64-linux-gnu'])
