# SPDX-License-Identifier: GPL-2.0
"""Tests of rthlib/qemu.py: the QEMU command line, a hang."""

import os
import sys
import tempfile
import unittest
from unittest import mock

from rthlib import common, qemu, targets


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
