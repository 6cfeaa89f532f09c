#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""BPF trigger benchmarks, base vs patched, in QEMU (TCG): the bench command.

The code is the package scripts/rthlib/; rthlib/bench_cli.py is the command
line.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# for importers of bench
from rthlib.bench import *  # noqa: E402,F401,F403
from rthlib.benchtables import *  # noqa: E402,F401,F403
from rthlib.bench_cli import bench_main, main, split_list  # noqa: E402,F401

if __name__ == '__main__':
    sys.exit(main())
