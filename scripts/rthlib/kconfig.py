# SPDX-License-Identifier: GPL-2.0
"""Kernel configuration: tinyconfig plus the target's fragments, and the
check that every fragment option survived into .config.
"""

import os
import re

from rthlib.common import HarnessError, REPO, log, run
from rthlib.targets import make_cmd


FRAGMENTS = os.path.join(REPO, 'kconfig-fragments')


def parse_fragment(text):
    """{CONFIG_X: value} for each 'CONFIG_X=v' or '# CONFIG_X is not set'."""
    want = {}
    for line in text.splitlines():
        line = line.strip()
        m = re.fullmatch(r'(CONFIG_\w+)=(.*)', line)
        if m:
            want[m.group(1)] = m.group(2)
            continue
        m = re.fullmatch(r'# (CONFIG_\w+) is not set', line)
        if m:
            want[m.group(1)] = 'n'
    return want


def dropped_options(fragment_values, config_text):
    """Options a fragment set that did not survive into .config."""
    have = parse_fragment(config_text)
    out = []
    for sym, val in fragment_values.items():
        got = have.get(sym, 'n')
        if got != val:
            out.append((sym, val, got))
    return out


def kconfig_defines(src, sym):
    """Does any Kconfig file of the tree define CONFIG_<sym>?"""
    name = sym[len('CONFIG_'):]
    res = run(['grep', '-rqE', '--include=Kconfig*', rf'^\s*(menu)?config {name}\s*$',
               src], check=False, quiet=True)
    return res.returncode == 0


def configure(src, build, target, allow_undefined=False):
    """tinyconfig + fragments; fail if any fragment option was dropped.

    allow_undefined (for prefixes of the series): an option whose symbol the
    tree does not define yet, because a later patch adds it, is skipped.
    """
    os.makedirs(build, exist_ok=True)
    cfg = os.path.join(build, '.config')
    old = None
    if os.path.exists(cfg):
        with open(cfg) as f:
            old = f.read()
        old_times = os.stat(cfg)
    frags = []
    for fr in target.fragments:
        p = os.path.join(FRAGMENTS, fr + '.config')
        if not os.path.exists(p):
            raise HarnessError(f'target {target.name}: no fragment {p}')
        frags.append(p)
    run(make_cmd(src, build, target, 'tinyconfig'), capture=True)
    env = dict(os.environ, ARCH=target.arch, CROSS_COMPILE=target.cross)
    run([os.path.join(src, 'scripts/kconfig/merge_config.sh'), '-m', '-O',
         build, cfg, *frags], env=env, capture=True, cwd=src)
    run(make_cmd(src, build, target, 'olddefconfig'), capture=True)
    want = {}
    for p in frags:
        with open(p) as f:
            want.update(parse_fragment(f.read()))
    with open(cfg) as f:
        new = f.read()
    lost = dropped_options(want, new)
    if allow_undefined:
        later = [l for l in lost if not kconfig_defines(src, l[0])]
        for sym, _, _ in later:
            log(f'{target.name}: {sym} is not defined in this tree (added by a '
                f'later patch?); not required here')
        lost = [l for l in lost if l not in later]
    if lost:
        raise HarnessError(
            f'target {target.name}: fragment option(s) did not survive into '
            f'{cfg} (a dependency is missing or the option does not exist on '
            f'{target.arch}):\n  ' +
            '\n  '.join(f'{s}={v} wanted, .config has {g}' for s, v, g in lost))
    if old == new:
        os.utime(cfg, ns=(old_times.st_atime_ns, old_times.st_mtime_ns))
    return cfg
