#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""BPF trigger benchmarks, base vs patched, in QEMU (TCG): the bench command.

The code is the package scripts/rthlib/; rthlib/bench_cli.py is the command
line.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rthlib.bench_cli import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main())
