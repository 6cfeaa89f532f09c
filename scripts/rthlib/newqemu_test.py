# SPDX-License-Identifier: GPL-2.0
"""Tests of rthlib/newqemu.py and the RTH_QEMU switch in qemu.py (no
network, no QEMU)."""

import os
import tempfile
import unittest
from unittest import mock

from rthlib import common, newqemu, qemu
from rthlib.targets import Target


def fake_root(d, arch='x86_64'):
    for rel in (newqemu.LOADER, os.path.join('usr', 'bin', newqemu.BINARY[arch])):
        p = os.path.join(d, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        open(p, 'w').close()
    return d


class TestCommand(unittest.TestCase):
    def test_loader_libraries_firmware(self):
        with tempfile.TemporaryDirectory() as d:
            prefix, env = newqemu.command('arm64', fake_root(d, 'arm64'))
        self.assertEqual(prefix[0], os.path.join(d, 'usr/lib64/ld-linux-x86-64.so.2'))
        self.assertEqual(prefix[1], '--library-path')
        self.assertIn(os.path.join(d, 'usr/lib/x86_64-linux-gnu'), prefix[2].split(':'))
        self.assertEqual(prefix[3], os.path.join(d, 'usr/bin/qemu-system-aarch64'))
        self.assertEqual(prefix[4:], ['-L', os.path.join(d, 'usr/share/qemu')])
        self.assertTrue(env['QEMU_MODULE_DIR'].startswith(d))

    def test_missing_binary_is_an_error(self):
        with tempfile.TemporaryDirectory() as d:
            fake_root(d, 'x86_64')
            with self.assertRaises(common.HarnessError) as cm:
                newqemu.command('arm64', d)
            self.assertIn('qemu-system-aarch64 is missing', str(cm.exception))

    def test_cached_sysroot_fetches_nothing(self):
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, 'root'))
            with open(os.path.join(d, 'root', '.rth-debs'), 'w') as f:
                f.write('qemu-system-x86')
            with mock.patch.object(newqemu, 'run') as run_, \
                    mock.patch.object(newqemu, 'host_is_amd64', return_value=True):
                got = newqemu.sysroot(['qemu-system-x86'], os.path.join(d, 'root'))
            self.assertEqual(got, os.path.join(d, 'root'))
            run_.assert_not_called()

    def test_foreign_host(self):
        with mock.patch.object(newqemu, 'host_is_amd64', return_value=False):
            with self.assertRaises(common.HarnessError):
                newqemu.sysroot(['qemu-system-x86'], '/nonexistent')


class TestSwitch(unittest.TestCase):
    T = Target('x86_64-debug', 'x86_64', [], [], smp=2)

    def test_system_is_the_default(self):
        with mock.patch.dict(os.environ, {'RTH_QEMU': ''}):
            cmd, env = qemu.resolve(['qemu-system-x86_64', '-smp', '2'], 'x86_64')
        self.assertEqual(cmd, ['qemu-system-x86_64', '-smp', '2'])
        self.assertIsNone(env)

    def test_trixie(self):
        with tempfile.TemporaryDirectory() as d, \
                mock.patch.dict(os.environ, {'RTH_QEMU': 'trixie'}), \
                mock.patch.object(newqemu, 'sysroot', return_value=fake_root(d)):
            cmd, env = qemu.resolve(qemu.qemu_cmd(self.T, 'bzImage'), 'x86_64')
        self.assertTrue(cmd[0].endswith('ld-linux-x86-64.so.2'))
        self.assertTrue(cmd[3].endswith('/usr/bin/qemu-system-x86_64'))
        self.assertEqual(cmd[cmd.index('-smp') + 1], '2')
        self.assertIn('QEMU_MODULE_DIR', env)

    def test_target_option_and_env(self):
        import dataclasses
        t = dataclasses.replace(self.T, qemu='trixie')
        with mock.patch.dict(os.environ, {'RTH_QEMU': ''}):
            self.assertEqual(qemu.qemu_flavour(t), 'trixie')
            self.assertEqual(qemu.qemu_flavour(self.T), 'system')
        # RTH_QEMU wins over the target
        with mock.patch.dict(os.environ, {'RTH_QEMU': 'system'}):
            self.assertEqual(qemu.qemu_flavour(t), 'system')

    def test_bad_value(self):
        with mock.patch.dict(os.environ, {'RTH_QEMU': 'qemu9'}):
            with self.assertRaises(common.HarnessError):
                qemu.resolve(['qemu-system-x86_64'], 'x86_64')


if __name__ == '__main__':
    unittest.main()
