# SPDX-License-Identifier: GPL-2.0
"""Per-patch checks of rth.py each: checkpatch --strict, W=1 on the objects
a patch touches, and which arches a patch changes.
"""

import os
import re

from rthlib.build import build_root
from rthlib.common import run
from rthlib.targets import make_cmd


# checkpatch types a commit log may explain instead of fixing: the new-file
# "does MAINTAINERS need updating?" question, answered there, leading
# spaces where the file being changed indents that way (arm64's
# asm-offsets.c indents every DEFINE() with two spaces), and mainline
# commit ids that the base here cannot resolve (it is imported from a
# tarball, without mainline's history).
EXPLAINABLE = {'FILE_PATH_CHANGES', 'LEADING_SPACE', 'UNKNOWN_COMMIT_ID'}


def checkpatch(src, patch):
    """(ok, summary) of scripts/checkpatch.pl --strict on one patch."""
    res = run(['perl', os.path.join(src, 'scripts/checkpatch.pl'), '--strict',
               '--show-types', patch], check=False, capture=True, quiet=True,
              cwd=src,  # from the kernel tree: elsewhere it misreads patches
              # Debian's python3 first: its spdxcheck.py needs python3-ply
              env=dict(os.environ, PATH='/usr/bin:' + os.environ.get('PATH', '')))
    total = [l for l in res.stdout.splitlines() if l.startswith('total:')]
    summary = total[-1] if total else res.stdout[-300:]
    if res.returncode == 0:
        return True, summary
    # An exception the commit log explains (it names the checkpatch type or
    # message) is accepted: 'ok*' in the table.
    types = set(re.findall(r'^(?:WARNING|CHECK|ERROR):([A-Z_]+):', res.stdout, re.M))
    # A commit id that a tree without mainline's history cannot look up
    # is the tree's limit, not the patch's (a Fixes: tag of a fix names a
    # mainline commit): accepted without a word in the log, and said so.
    if types == {'UNKNOWN_COMMIT_ID'} and not has_mainline_history(src):
        return True, (f'{summary} (UNKNOWN_COMMIT_ID: this tree has no mainline '
                      f'history to look the id up in)')
    with open(patch) as f:
        log_text = f.read().split('\n---\n', 1)[0]
    if types and types <= EXPLAINABLE and 'checkpatch' in log_text:
        return True, f'{summary} ({", ".join(sorted(types))}: explained in the commit log)'
    return False, summary


def has_mainline_history(src):
    """False for the base imported from a tarball (one commit and the
    series on it); mainline has a million."""
    res = run(['git', '-C', src, 'rev-list', '--count', 'HEAD'], check=False,
              capture=True, quiet=True)
    try:
        return int(res.stdout.strip()) > 10000
    except ValueError:
        return False


def linked_objects(build_dir):
    """The objects the last build of build_dir linked (the members of the
    thin archive vmlinux.a, which kbuild rewrites whenever the set of
    built-in objects changes, and the modules of modules.order), or None
    where there is no vmlinux.a to tell."""
    archive = os.path.join(build_dir, 'vmlinux.a')
    if not os.path.exists(archive):
        return None
    res = run(['ar', 't', archive], check=False, capture=True, quiet=True)
    if res.returncode != 0:
        return None
    objs = {os.path.relpath(m, build_dir) if os.path.isabs(m) else m
            for m in res.stdout.split()}
    order = os.path.join(build_dir, 'modules.order')
    if os.path.exists(order):
        with open(order) as f:
            objs.update(ln.strip() for ln in f if ln.strip())
    return objs


def touched_objects(files, arch, build_dir):
    """Objects of the touched .c/.S files that this build compiles. An
    object file left in the build directory by another configuration (an
    earlier prefix of the series selected the option) does not count:
    where the build tells which objects it linked, only those do."""
    srcarch = 'x86' if arch in ('x86_64', 'i386') else arch
    linked = linked_objects(build_dir)
    objs = []
    for f in files:
        if not f.endswith(('.c', '.S')):
            continue
        if f.startswith('arch/') and not f.startswith(f'arch/{srcarch}/'):
            continue
        o = f[:-2] + '.o'
        if not os.path.exists(os.path.join(build_dir, o)):
            continue
        if linked is not None and o not in linked:
            continue
        objs.append(o)
    return objs


def w1_warnings(src, target, files):
    """Recompile the touched objects with W=1; the warning lines."""
    b = os.path.join(build_root(), target.name)
    objs = touched_objects(files, target.arch, b)
    if not objs:
        return []
    res = run(make_cmd(src, b, target, 'W=1', *objs), check=False,
              capture=True, quiet=True)
    out = (res.stdout or '') + (res.stderr or '')
    warns = [l for l in out.splitlines() if 'warning:' in l or 'error:' in l]
    if res.returncode != 0 and not warns:
        warns = out.splitlines()[-10:]
    return warns


def sees_change(files, arch):
    """Does a patch touching these files change the tree an arch builds?
    Files under another arch's directory do not."""
    srcarch = 'x86' if arch in ('x86_64', 'i386') else arch
    return any(not f.startswith('arch/') or f.startswith(f'arch/{srcarch}/')
               for f in files)
