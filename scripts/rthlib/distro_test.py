# SPDX-License-Identifier: GPL-2.0
"""Tests of the distro-like preemption fragment (rthlib/distro.py)."""

import unittest

from rthlib import distro
from rthlib.common import HarnessError

DEBIAN_AMD64 = '''\
CONFIG_PREEMPT_BUILD=y
# CONFIG_PREEMPT is not set
CONFIG_PREEMPT_LAZY=y
# CONFIG_PREEMPT_RT is not set
CONFIG_PREEMPT_COUNT=y
CONFIG_PREEMPTION=y
CONFIG_PREEMPT_DYNAMIC=y
CONFIG_TREE_RCU=y
CONFIG_PREEMPT_RCU=y
CONFIG_PREEMPT_NOTIFIERS=y
# CONFIG_DEBUG_PREEMPT is not set
'''


class PreemptLines(unittest.TestCase):
    def test_model_options_only_in_order(self):
        self.assertEqual(distro.preempt_lines(DEBIAN_AMD64), [
            '# CONFIG_PREEMPT is not set', 'CONFIG_PREEMPT_LAZY=y',
            '# CONFIG_PREEMPT_RT is not set', 'CONFIG_PREEMPT_DYNAMIC=y',
            'CONFIG_PREEMPT_RCU=y'])

    def test_not_a_kernel_config(self):
        with self.assertRaisesRegex(HarnessError, 'sets none of'):
            distro.preempt_lines('CONFIG_PREEMPT_COUNT=y\nfoo\n', 'x86_64')

    def test_unknown_arch(self):
        with self.assertRaisesRegex(HarnessError, 'no Debian config for i386'):
            distro.fetch_config('i386')


if __name__ == '__main__':
    unittest.main()
