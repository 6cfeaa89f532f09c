# SPDX-License-Identifier: GPL-2.0
"""Tests of rthlib/build.py: the build directory lock."""

import os
import subprocess
import tempfile
import unittest

from rthlib import build, common


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
