# SPDX-License-Identifier: GPL-2.0
"""The base tree: Debian's linux-source tarball, a tarball on disk
(KERNEL_TARBALL) or the user's own tree (KERNEL_SRC), made into a git
repository in the cache with a base tag.
"""

import glob
import hashlib
import os
import re
import shutil

from rthlib.apt import apt_archive_uri, download_unpack, private_apt
from rthlib.common import (GIT_ID, HarnessError, cache_dir, git, git_out, log,
                           require, run, sha256_file)


EXPECT_VERSION = (7, 3)          # the series is written against v7.3
DEBIAN_PACKAGE = 'linux-source-7.3'
DEBIAN_SUITE = 'trixie-backports'
BASE_TAG_PREFIX = 'base-'


def read_kernel_version(src):
    """(VERSION, PATCHLEVEL, SUBLEVEL) from a tree's top Makefile."""
    mk = os.path.join(src, 'Makefile')
    try:
        with open(mk, encoding='utf-8', errors='replace') as f:
            head = f.read(4096)
    except OSError as e:
        raise HarnessError(f'{src} is not a kernel tree (no Makefile: {e})')
    vals = {}
    for key in ('VERSION', 'PATCHLEVEL', 'SUBLEVEL'):
        m = re.search(rf'^{key}\s*=\s*(\d+)\s*$', head, re.M)
        if not m:
            raise HarnessError(f'{mk}: no {key} line; not a kernel tree?')
        vals[key] = int(m.group(1))
    return vals['VERSION'], vals['PATCHLEVEL'], vals['SUBLEVEL']


def check_version(src, expect=EXPECT_VERSION):
    v = read_kernel_version(src)
    if v[:2] != tuple(expect):
        raise HarnessError(
            f'{src} is Linux {v[0]}.{v[1]}.{v[2]}, but the series is '
            f'written against {expect[0]}.{expect[1]}: use a v{expect[0]}.'
            f'{expect[1]} tree (KERNEL_SRC) or unset KERNEL_SRC to fetch '
            f'Debian\'s {DEBIAN_PACKAGE}')
    return v


def strip_debian_gitignore(text):
    """Drop the Debian packaging block that ends the tarball's .gitignore.

    Debian's linux-source tarball ends its top-level .gitignore with '/*'
    and '!/debian/', which ignores every top-level path: in a git base made
    from it 'git status' is empty and 'git add -A' silently leaves new
    files out. Everything from the block's comment header on is removed.
    """
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.strip() == '/*':
            start = i
            while start > 0 and lines[start - 1].startswith('#'):
                start -= 1
            while start > 0 and lines[start - 1].strip() == '':
                start -= 1
            return ''.join(lines[:start]).rstrip('\n') + '\n'
    return text


def fetch_debian_tarball(state):
    """Download linux-source-7.3 with apt into a private state dir."""
    require('apt-get', 'dpkg-deb')
    uri = apt_archive_uri()
    apt = os.path.join(state, 'apt')
    opts = private_apt(apt, f'deb [signed-by=/usr/share/keyrings/'
                            f'debian-archive-keyring.gpg] {uri} '
                            f'{DEBIAN_SUITE} main')
    log(f'fetching {DEBIAN_PACKAGE} from {uri} {DEBIAN_SUITE} (private apt '
        f'state in {apt})')
    res = run(['apt-get', *opts, 'update'], check=False, capture=True)
    if res.returncode != 0:
        raise HarnessError(f'apt-get update of {uri} {DEBIAN_SUITE} failed; '
                           f'is the archive reachable? Or set KERNEL_TARBALL.'
                           f'\n{res.stdout[-2000:]}')
    dl = os.path.join(state, 'deb')
    # a fresh download each time: the archive may hold a newer upload
    for old in glob.glob(os.path.join(dl, f'{DEBIAN_PACKAGE}_*.deb')):
        os.unlink(old)
    unpacked = os.path.join(dl, 'unpacked')
    deb = download_unpack(opts, DEBIAN_PACKAGE, dl, unpacked)
    tars = glob.glob(os.path.join(unpacked, 'usr/src/linux-source-*.tar.xz'))
    if not tars:
        raise HarnessError(f'{deb} holds no usr/src/linux-source-*.tar.xz')
    return tars[0], os.path.basename(deb)


def verify_sha256(tarball):
    side = tarball + '.sha256'
    if not os.path.exists(side):
        return None
    with open(side) as f:
        want = f.read().split()[0]
    got = sha256_file(tarball)
    if got != want:
        raise HarnessError(f'{tarball}: sha256 {got} does not match {side} '
                           f'({want}); the file is damaged or not the one '
                           f'expected')
    return got


# The base commit is made with a fixed identity and date, so the same tarball
# gives the same commit id everywhere (the cover letter's base-commit line).
BASE_ENV = {'GIT_AUTHOR_NAME': 'rethook-series harness',
            'GIT_AUTHOR_EMAIL': 'harness@localhost',
            'GIT_COMMITTER_NAME': 'rethook-series harness',
            'GIT_COMMITTER_EMAIL': 'harness@localhost',
            'GIT_AUTHOR_DATE': '2026-01-01T00:00:00+0000',
            'GIT_COMMITTER_DATE': '2026-01-01T00:00:00+0000'}


def make_base_from_tarball(tarball, repo, origin):
    """Unpack a linux-source tarball into repo and commit it as the base."""
    require('git', 'xz')
    tmp = repo + '.tmp'
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    log(f'unpacking {tarball}')
    run(['tar', '-xJf', tarball, '-C', tmp, '--strip-components=1'])
    v = check_version(tmp)
    gi = os.path.join(tmp, '.gitignore')
    if os.path.exists(gi):
        with open(gi) as f:
            text = f.read()
        with open(gi, 'w') as f:
            f.write(strip_debian_gitignore(text))
    run(['git', 'init', '-q', '-b', 'base', tmp])
    run(['git', '-C', tmp, 'add', '-A', '-f', '.'], quiet=True)
    tag = f'{BASE_TAG_PREFIX}{v[0]}.{v[1]}.{v[2]}'
    msg = (f'Linux {v[0]}.{v[1]}.{v[2]} from Debian\'s {DEBIAN_PACKAGE}\n\n'
           'Base for the rethook trampoline series. The tarball\'s Debian\n'
           'packaging block (/* and !/debian/) was dropped from .gitignore,\n'
           'because it ignores every top-level path.\n')
    run(['git', '-C', tmp, 'commit', '-q', '-m', msg], quiet=True,
        env=dict(os.environ, **BASE_ENV))
    log(f'base made from {origin}')
    git(tmp, 'tag', tag)
    shutil.rmtree(repo, ignore_errors=True)
    os.rename(tmp, repo)
    return tag


def make_base_from_src(src, repo):
    """Clone or copy the user's tree; the original is only read."""
    v = check_version(src)
    if os.path.isdir(os.path.join(src, '.git')) or os.path.isfile(os.path.join(src, '.git')):
        if run(['git', '-C', src, 'diff', '--quiet', 'HEAD'], check=False,
               quiet=True).returncode != 0:
            log(f'note: {src} has uncommitted changes; only its HEAD is used')
        head = git_out(src, 'rev-parse', 'HEAD')
        shutil.rmtree(repo, ignore_errors=True)
        run(['git', 'clone', '-q', '--shared', '--no-checkout', src, repo])
        git(repo, 'checkout', '-q', '-B', 'base', head)
        tag = f'{BASE_TAG_PREFIX}{v[0]}.{v[1]}.{v[2]}-{head[:12]}'
        git(repo, 'tag', '-f', tag, head, quiet=True)
        return tag
    tmp = repo + '.tmp'
    shutil.rmtree(tmp, ignore_errors=True)
    run(['cp', '-a', src, tmp])
    run(['git', 'init', '-q', '-b', 'base', tmp])
    run(['git', '-C', tmp, 'add', '-A', '-f', '.'], quiet=True)
    run(['git', *GIT_ID, '-C', tmp, 'commit', '-q', '-m',
         f'Linux {v[0]}.{v[1]}.{v[2]} copied from {src}'], quiet=True)
    tag = f'{BASE_TAG_PREFIX}{v[0]}.{v[1]}.{v[2]}'
    git(tmp, 'tag', tag)
    shutil.rmtree(repo, ignore_errors=True)
    os.rename(tmp, repo)
    return tag


def ensure_base():
    """Return (repo, tag) of the base tree, creating it if needed."""
    cache = cache_dir()
    src = os.environ.get('KERNEL_SRC')
    tarball = os.environ.get('KERNEL_TARBALL')
    if src:
        src = os.path.abspath(src)
        key = hashlib.sha256(src.encode()).hexdigest()[:8]
        repo = os.path.join(cache, f'linux-src-{key}')
        head = None
        if os.path.isdir(os.path.join(src, '.git')):
            head = git_out(src, 'rev-parse', 'HEAD')
        stamp = f'src {src} {head}'
    elif tarball:
        tarball = os.path.abspath(tarball)
        if not os.path.exists(tarball):
            raise HarnessError(f'KERNEL_TARBALL={tarball} does not exist')
        repo = os.path.join(cache, 'linux')
        st = os.stat(tarball)
        stamp = f'tarball {os.path.basename(tarball)} {st.st_size}'
    else:
        repo = os.path.join(cache, 'linux')
        stamp = None                      # any Debian-made base will do
    stampf = os.path.join(repo, '.git', 'rth-base')
    if os.path.exists(stampf):
        with open(stampf) as f:
            have = f.read().split('\n')
        if stamp is None or have[0] == stamp:
            check_version(repo)
            return repo, have[1]
    if src:
        tag = make_base_from_src(src, repo)
    else:
        origin = None
        if tarball:
            if verify_sha256(tarball):
                log(f'{tarball}: sha256 matches its .sha256')
            origin = os.path.basename(tarball)
        else:
            tarball, deb = fetch_debian_tarball(os.path.join(cache, 'state'))
            origin = deb
            stamp = f'tarball {deb}'
        tag = make_base_from_tarball(tarball, repo, f'Debian {origin}')
    with open(stampf, 'w') as f:
        f.write(f'{stamp}\n{tag}\n')
    log(f'base tree: {repo} at tag {tag}')
    return repo, tag
