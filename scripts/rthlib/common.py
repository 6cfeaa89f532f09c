# SPDX-License-Identifier: GPL-2.0
"""Helpers every job uses: errors, logging, commands, the cache, tools, git.

Nothing here knows about kernels, targets or the series; the job modules
import from here; nothing here imports them.
"""

import hashlib
import os
import re
import shlex
import shutil
import subprocess
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


class HarnessError(Exception):
    """An error the user can act on; the message says what to do."""


def log(msg):
    print(f'[rth {time.strftime("%H:%M:%S")}] {msg}', flush=True)


def cache_dir():
    d = os.environ.get('RTH_CACHE')
    if not d:
        xdg = os.environ.get('XDG_CACHE_HOME') or os.path.expanduser('~/.cache')
        d = os.path.join(xdg, 'rethook-series')
    os.makedirs(d, exist_ok=True)
    return d


def bench_cache():
    d = os.path.join(cache_dir(), 'bench')
    os.makedirs(d, exist_ok=True)
    return d


def run(cmd, check=True, capture=False, cwd=None, env=None, quiet=False,
        pass_fds=()):
    if not quiet:
        log('$ ' + ' '.join(shlex.quote(c) for c in cmd))
    res = subprocess.run(cmd, cwd=cwd, env=env, text=True, pass_fds=pass_fds,
                         stdout=subprocess.PIPE if capture else None,
                         stderr=subprocess.STDOUT if capture else None)
    if check and res.returncode != 0:
        out = ('\n' + res.stdout[-4000:]) if capture and res.stdout else ''
        raise HarnessError(f'command failed ({res.returncode}): '
                           f'{" ".join(cmd)}{out}')
    return res


# command -> Debian package that provides it
TOOLS = {
    'git': 'git', 'make': 'make', 'gcc': 'gcc', 'flex': 'flex',
    'bison': 'bison', 'bc': 'bc', 'perl': 'perl', 'xz': 'xz-utils',
    'ccache': 'ccache', 'quilt': 'quilt', 'pahole': 'dwarves',
    'dpkg-deb': 'dpkg', 'apt-get': 'apt',
    'aarch64-linux-gnu-gcc': 'gcc-aarch64-linux-gnu',
    'aarch64-linux-gnu-ld': 'binutils-aarch64-linux-gnu', 'ld': 'binutils',
    'qemu-system-x86_64': 'qemu-system-x86',
    'qemu-system-i386': 'qemu-system-x86',
    'qemu-system-aarch64': 'qemu-system-arm',
}


def tool_package(cmd):
    """The Debian package of a tool: clang-19 -> clang-19, ld.lld-19 ->
    lld-19, llvm-ar-19 -> llvm-19."""
    m = re.fullmatch(r'(clang|ld\.lld|llvm-[a-z]+)(-\d+)', cmd)
    if m:
        return {'clang': 'clang', 'ld.lld': 'lld'}.get(m.group(1), 'llvm') + m.group(2)
    return TOOLS.get(cmd, cmd)


def require(*cmds):
    missing = [c for c in cmds if shutil.which(c) is None]
    if missing:
        pkgs = sorted({tool_package(c) for c in missing})
        raise HarnessError(f'missing tool(s): {", ".join(missing)}; install '
                           f'with: apt-get install {" ".join(pkgs)} (or run '
                           f'scripts/install-deps)')


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def git(repo, *args, **kw):
    return run(['git', '-C', repo, *args], **kw)


def git_common_dir(repo):
    """The repository a checkout belongs to (the same for all worktrees)."""
    return os.path.realpath(git_out(repo, 'rev-parse', '--path-format=absolute',
                                    '--git-common-dir'))


def git_out(repo, *args):
    return run(['git', '-C', repo, *args], capture=True, quiet=True).stdout.strip()


GIT_ID = ['-c', 'user.name=rethook-series harness',
          '-c', 'user.email=harness@localhost']


def ensure_worktree(repo, wt, ref, replace_foreign=False):
    """A detached worktree of repo at wt (added at ref if missing). A
    checkout at wt that belongs to another repository is removed when
    replace_foreign (a cache path of ours), refused otherwise."""
    if os.path.exists(os.path.join(wt, '.git')) and \
            git_common_dir(wt) != git_common_dir(repo):
        if not replace_foreign:
            raise HarnessError(f'{wt} is not a worktree of {repo}; refusing '
                               f'to touch it')
        shutil.rmtree(wt)
    if not os.path.exists(os.path.join(wt, '.git')):
        git(repo, 'worktree', 'prune', quiet=True)
        git(repo, 'worktree', 'add', '-q', '--detach', wt, ref)
    return wt
