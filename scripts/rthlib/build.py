# SPDX-License-Identifier: GPL-2.0
"""Out-of-tree kernel builds: the build directory, its lock, make."""

import fcntl
import os
import subprocess
import sys
import time

from rthlib.common import HarnessError, cache_dir, log, require
from rthlib.kconfig import configure
from rthlib.targets import make_cmd


def build_root():
    """Where out-of-tree builds live: RTH_BUILD_ROOT or <cache>/build."""
    return os.environ.get('RTH_BUILD_ROOT') or os.path.join(cache_dir(), 'build')


def lock_build_dir(b):
    """Take <b>/.rth-build.lock (flock) or fail naming its holder.

    Two builds in one output directory corrupt each other's objects. The
    returned fd is also handed to make (pass_fds), so a make that outlives
    a killed harness process still holds the lock.
    """
    os.makedirs(b, exist_ok=True)
    fd = os.open(os.path.join(b, '.rth-build.lock'), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 200).decode(errors='replace').strip()
        os.close(fd)
        raise HarnessError(f'another build is running in {b} ({holder or "holder unknown"}); '
                           'wait for it to finish or stop it (two builds in one '
                           'output directory corrupt each other)') from None
    os.ftruncate(fd, 0)
    os.write(fd, f'pid {os.getpid()}: {" ".join(sys.argv)}'.encode())
    return fd


def build(src, target, build_dir=None, allow_undefined=False):
    require('make', 'gcc', 'flex', 'bison', 'bc', 'perl', *target.tools)
    b = build_dir or os.path.join(build_root(), target.name)
    lock = lock_build_dir(b)
    try:
        return _build_locked(src, target, b, allow_undefined, lock)
    finally:
        os.close(lock)


def _build_locked(src, target, b, allow_undefined, lock):
    configure(src, b, target, allow_undefined)
    goal = 'bzImage' if target.arch in ('x86_64', 'i386') else 'Image'
    t0 = time.time()
    logf = os.path.join(b, 'build.log')
    log(f'building {target.name} ({target.arch}) in {b}; log {logf}')
    with open(logf, 'w') as lf:
        res = subprocess.run(make_cmd(src, b, target, goal), stdout=lf,
                             stderr=subprocess.STDOUT, pass_fds=(lock,))
    if res.returncode != 0:
        with open(logf) as lf:
            tail = lf.read().splitlines()[-40:]
        errs = [l for l in tail if 'error' in l.lower() or 'warning' in l.lower()]
        raise HarnessError(f'build of {target.name} failed; see {logf}:\n  ' +
                           '\n  '.join(errs[-20:] or tail[-20:]))
    log(f'built {target.name} in {time.time() - t0:.0f} s')
    write_built_from(src, b)
    return os.path.join(b, target.image)


BUILT_FROM = '.rth-built-from'


def write_built_from(src, b):
    """Record in <b>/.rth-built-from the commit of src just built there
    (nothing if src is no git tree), so that a later step can tell whose
    build the directory holds: rth.py parts --objects trusts the .o.cmd
    files of the series' own build only."""
    res = subprocess.run(['git', '-C', src, 'rev-parse', 'HEAD'],
                         capture_output=True, text=True, check=False)
    path = os.path.join(b, BUILT_FROM)
    if res.returncode == 0:
        with open(path, 'w') as f:
            f.write(res.stdout.strip() + '\n')
    elif os.path.exists(path):
        os.unlink(path)


def built_from(b):
    """The commit write_built_from() recorded for <b>, or None."""
    try:
        with open(os.path.join(b, BUILT_FROM)) as f:
            return f.read().strip() or None
    except OSError:
        return None
