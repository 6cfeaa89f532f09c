# SPDX-License-Identifier: GPL-2.0
"""Tests of rthlib/targets.py: target options and tool packages."""

import unittest

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

    def test_tool_package(self):
        self.assertEqual([common.tool_package(c) for c in
                          ('clang-19', 'ld.lld-19', 'llvm-ar-19', 'aarch64-linux-gnu-gcc')],
                         ['clang-19', 'lld-19', 'llvm-19', 'gcc-aarch64-linux-gnu'])
