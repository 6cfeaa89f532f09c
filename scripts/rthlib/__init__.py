# SPDX-License-Identifier: GPL-2.0
"""The harness of the rethook trampoline series, one module per job.

The commands (scripts/rth.py, ...) are thin entry points over the command
line modules (cli.py, ...), which import the job modules (base, series,
kconfig, build, qemu, ktap, ...), which import the shared helpers
(common.py). Imports run that way only; README.md, "Layout", lists the
modules. This file imports nothing.
"""
