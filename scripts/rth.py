#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Harness for the rethook trampoline series.

One job per function: fetch the base tree, apply the series, configure and
build a target, boot it in QEMU and read the KUnit (KTAP) results. Every
default can be overridden by an option or an environment variable; every
error names what was expected and what to do.

Nothing the user owns is modified: a KERNEL_SRC tree is cloned (objects
shared, read-only) into the cache, and all builds are out of tree there.
"""

import argparse
import dataclasses
import fcntl
import glob
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FRAGMENTS = os.path.join(REPO, 'kconfig-fragments')
TARGETS_FILE = os.path.join(REPO, 'ci', 'targets')

EXPECT_VERSION = (7, 3)          # the series is written against v7.3
DEBIAN_PACKAGE = 'linux-source-7.3'
DEBIAN_SUITE = 'trixie-backports'
BASE_TAG_PREFIX = 'base-'


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


def run(cmd, check=True, capture=False, cwd=None, env=None, quiet=False):
    if not quiet:
        log('$ ' + ' '.join(shlex.quote(c) for c in cmd))
    res = subprocess.run(cmd, cwd=cwd, env=env, text=True,
                         stdout=subprocess.PIPE if capture else None,
                         stderr=subprocess.STDOUT if capture else None)
    if check and res.returncode != 0:
        out = ('\n' + res.stdout[-4000:]) if capture and res.stdout else ''
        raise HarnessError(f'command failed ({res.returncode}): '
                           f'{" ".join(cmd)}{out}')
    return res


# ---------------------------------------------------------------- tools

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


def build_root():
    """Where out-of-tree builds live: RTH_BUILD_ROOT or <cache>/build."""
    return os.environ.get('RTH_BUILD_ROOT') or os.path.join(cache_dir(), 'build')


# ------------------------------------------------------------- base tree

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


def apt_archive_uri(sources_dirs=('/etc/apt',)):
    """The Debian archive URI from this machine's apt configuration.

    Looks at sources.list and sources.list.d/ (one-line and deb822 forms)
    for an entry whose suite is a plain Debian release (not -security) and
    returns its URI, so no mirror host is written into this repository.
    """
    entries = []
    for base in sources_dirs:
        files = [os.path.join(base, 'sources.list')]
        files += sorted(glob.glob(os.path.join(base, 'sources.list.d', '*.list')))
        files += sorted(glob.glob(os.path.join(base, 'sources.list.d', '*.sources')))
        for path in files:
            try:
                with open(path, encoding='utf-8', errors='replace') as f:
                    text = f.read()
            except OSError:
                continue
            entries += parse_apt_sources(text, deb822=path.endswith('.sources'))
    for uri, suites in entries:
        if any(re.fullmatch(r'(bookworm|trixie|forky|stable|testing|sid|'
                            r'unstable|oldstable)(-updates|-backports)?', s)
               for s in suites) and 'security' not in uri:
            return uri.rstrip('/')
    raise HarnessError('no Debian archive found in /etc/apt/sources.list{,.d}; '
                       'set KERNEL_TARBALL to a linux-source-7.3 tarball or '
                       'KERNEL_SRC to a v7.3 tree instead')


def parse_apt_sources(text, deb822):
    out = []
    if deb822:
        for stanza in re.split(r'\n\s*\n', text):
            fields = {}
            for line in stanza.splitlines():
                if line.startswith('#') or ':' not in line:
                    continue
                k, v = line.split(':', 1)
                fields[k.strip().lower()] = v.split()
            if 'deb' not in fields.get('types', []):
                continue
            if fields.get('enabled', ['yes'])[0].lower() == 'no':
                continue
            for uri in fields.get('uris', []):
                out.append((uri, fields.get('suites', [])))
    else:
        for line in text.splitlines():
            line = line.split('#', 1)[0].strip()
            if not line.startswith('deb '):
                continue
            words = re.sub(r'\[[^]]*\]', '', line).split()
            if len(words) >= 3:
                out.append((words[1], [words[2]]))
    return out


def private_apt(apt, sources_line, extra_opts=()):
    """Make a private apt state dir with one sources line; its apt-get -o options.

    The system's apt configuration and state are neither read for packages
    nor written.
    """
    for d in ('lists/partial', 'cache/archives/partial', 'etc/sources.list.d',
              'etc/preferences.d', 'etc/apt.conf.d', 'debs'):
        os.makedirs(os.path.join(apt, d), exist_ok=True)
    with open(os.path.join(apt, 'etc', 'sources.list'), 'w') as f:
        f.write(sources_line + '\n')
    open(os.path.join(apt, 'status'), 'a').close()
    return ['-o', f'Dir::State={apt}', '-o', f'Dir::State::Lists={apt}/lists',
            '-o', f'Dir::State::status={apt}/status',
            '-o', f'Dir::Cache={apt}/cache',
            '-o', f'Dir::Etc::SourceList={apt}/etc/sources.list',
            '-o', f'Dir::Etc::SourceParts={apt}/etc/sources.list.d',
            '-o', f'Dir::Etc::Preferences={apt}/etc/preferences',
            '-o', f'Dir::Etc::PreferencesParts={apt}/etc/preferences.d',
            *extra_opts,
            '-o', 'APT::Get::List-Cleanup=0', '-o', 'Debug::NoLocking=1']


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
    os.makedirs(dl, exist_ok=True)
    res = run(['apt-get', *opts, 'download', DEBIAN_PACKAGE], cwd=dl,
              check=False, capture=True)
    if res.returncode != 0:
        raise HarnessError(f'apt-get download {DEBIAN_PACKAGE} failed:\n'
                           f'{res.stdout[-2000:]}')
    debs = sorted(glob.glob(os.path.join(dl, f'{DEBIAN_PACKAGE}_*.deb')))
    if not debs:
        raise HarnessError(f'apt-get download left no {DEBIAN_PACKAGE} .deb in {dl}')
    unpacked = os.path.join(dl, 'unpacked')
    shutil.rmtree(unpacked, ignore_errors=True)
    run(['dpkg-deb', '-x', debs[-1], unpacked])
    tars = glob.glob(os.path.join(unpacked, 'usr/src/linux-source-*.tar.xz'))
    if not tars:
        raise HarnessError(f'{debs[-1]} holds no usr/src/linux-source-*.tar.xz')
    return tars[0], os.path.basename(debs[-1])


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


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


# ----------------------------------------------------------------- series

def read_series(path):
    """Patch names from a quilt series file (comments and options dropped)."""
    names = []
    with open(path) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line:
                names.append(line.split()[0])
    return names


def check_series(repo_dir=REPO):
    """Problems between series and patches/: missing or unlisted files."""
    problems = []
    series = os.path.join(repo_dir, 'series')
    pdir = os.path.join(repo_dir, 'patches')
    names = read_series(series) if os.path.exists(series) else []
    for n in names:
        if not os.path.isfile(os.path.join(pdir, n)):
            problems.append(f'series lists {n} but patches/{n} does not exist')
    if len(set(names)) != len(names):
        problems.append('series lists a patch twice')
    for p in sorted(glob.glob(os.path.join(pdir, '*.patch'))):
        b = os.path.basename(p)
        if b.startswith('0000-'):
            continue
        if b not in names:
            problems.append(f'patches/{b} is not listed in series')
    return problems


def apply_series(repo, base_tag, upto=None, branch='series', repo_dir=REPO):
    """git am the series (first `upto` patches) on a fresh branch."""
    problems = check_series(repo_dir)
    if problems:
        raise HarnessError('series and patches/ disagree:\n  ' +
                           '\n  '.join(problems))
    names = read_series(os.path.join(repo_dir, 'series'))
    if upto is not None:
        names = names[:upto]
    if os.path.isdir(os.path.join(repo, '.git', 'rebase-apply')):
        git(repo, 'am', '--abort', check=False, quiet=True)
    git(repo, 'checkout', '-q', '-f', '-B', branch, base_tag)
    git(repo, 'clean', '-q', '-fdx', quiet=True)
    for i, n in enumerate(names, 1):
        p = os.path.join(repo_dir, 'patches', n)
        res = run(['git', *GIT_ID, '-C', repo, 'am', '-q', '--keep-cr', p],
                  check=False, capture=True, quiet=True)
        if res.returncode != 0:
            why = run(['git', '-C', repo, 'apply', '--check', '-v', p],
                      check=False, capture=True, quiet=True).stdout
            git(repo, 'am', '--abort', check=False, quiet=True)
            errs = [l for l in why.splitlines() if l.startswith('error') or
                    'does not apply' in l or 'patch failed' in l]
            raise HarnessError(f'patch {i}/{len(names)} {n} does not apply on '
                               f'{base_tag}:\n  ' + '\n  '.join(errs or
                                                              why.splitlines()[-10:]))
    log(f'applied {len(names)} patch(es) on {base_tag}: branch {branch} at '
        f'{git_out(repo, "rev-parse", "--short", "HEAD")}')
    return names


def quilt_check(repo, base_tag, branch='series'):
    """quilt push -a of the same series must give the git am result."""
    require('quilt')
    names = read_series(os.path.join(REPO, 'series'))
    wt = os.path.join(cache_dir(), 'quilt-check')
    if not os.path.isdir(os.path.join(wt, '.git')):
        shutil.rmtree(wt, ignore_errors=True)
        run(['git', 'clone', '-q', '--shared', '--no-checkout', repo, wt])
    git(wt, 'fetch', '-q', repo, f'+refs/tags/{base_tag}:refs/tags/{base_tag}',
        quiet=True)
    git(wt, 'checkout', '-q', '-f', '--detach', base_tag, quiet=True)
    git(wt, 'clean', '-q', '-fdx', quiet=True)
    if not names:
        return True
    shutil.rmtree(os.path.join(wt, '.pc'), ignore_errors=True)
    os.symlink(os.path.join(REPO, 'patches'), os.path.join(wt, 'patches'))
    env = dict(os.environ, QUILT_PATCHES='patches',
               QUILT_SERIES=os.path.join(REPO, 'series'), QUILT_PC='.pc')
    res = run(['quilt', 'push', '-a', '-q'], cwd=wt, env=env, check=False,
              capture=True, quiet=True)
    os.unlink(os.path.join(wt, 'patches'))
    shutil.rmtree(os.path.join(wt, '.pc'), ignore_errors=True)
    if res.returncode != 0:
        raise HarnessError('quilt push -a failed:\n' + res.stdout[-3000:])
    git(wt, 'add', '-A', '-f', '.', quiet=True)
    git(wt, 'fetch', '-q', repo, f'+refs/heads/{branch}:refs/rth/{branch}',
        quiet=True)
    diff = run(['git', '-C', wt, 'diff', '--cached', '--stat',
                f'refs/rth/{branch}'], capture=True, quiet=True).stdout
    if diff.strip():
        raise HarnessError('quilt push -a and git am give different trees:\n'
                           + diff[-3000:])
    log(f'quilt push -a applies the same {len(names)} patch(es)')
    return True


COVER_TEMPLATE = os.path.join(REPO, 'ci', 'cover-letter.txt')


def render_cover(template_text, tables):
    """Fill @NAME@ placeholders; an unknown placeholder is an error."""
    def sub(m):
        key = m.group(1)
        if key not in tables:
            raise HarnessError(f'cover letter template: no value for @{key}@')
        return tables[key].rstrip('\n')
    return re.sub(r'@([A-Z][A-Z0-9_]*)@', sub, template_text)


def cover_tables():
    """Values for the cover letter placeholders (bench results, if any)."""
    tables = {}
    try:
        import bench  # noqa: F401  (scripts/bench.py, when present)
        tables.update(bench.cover_tables())
    except ImportError:
        pass
    return tables


def format_series(repo, base, branch, outdir, cover_text):
    """git format-patch the branch into outdir; deterministic output."""
    os.makedirs(outdir, exist_ok=True)
    git(repo, 'config', f'branch.{branch}.description', cover_text, quiet=True)
    n = int(git_out(repo, 'rev-list', '--count', f'{base}..{branch}'))
    if n == 0:
        return []
    # core.abbrev pinned: by default git abbreviates the blob ids of the
    # 'index' lines to a length that grows with the repository's object
    # count, so a fresh base repository would regenerate different patches.
    run(['git', '-C', repo, '-c', 'core.abbrev=12', 'format-patch', '-q', '--zero-commit',
         '--cover-letter', '--cover-from-description=auto', f'--base={base}',
         '--signature=rethook-series', '-o', outdir, f'{base}..{branch}'], quiet=True)
    # The cover letter's Date is "now": pin it to the last commit's date.
    date = git_out(repo, 'log', '-1', '--format=%aD', branch)
    cover = os.path.join(outdir, '0000-cover-letter.patch')
    with open(cover) as f:
        text = f.read()
    text = re.sub(r'^Date: .*$', f'Date: {date}', text, count=1, flags=re.M)
    with open(cover, 'w') as f:
        f.write(text)
    return sorted(f for f in os.listdir(outdir) if not f.startswith('0000-'))


def export_series(repo, base, branch, repo_dir=REPO):
    """Replace patches/ and series with the branch's format-patch output."""
    with open(COVER_TEMPLATE) as f:
        cover = render_cover(f.read(), cover_tables())
    pdir = os.path.join(repo_dir, 'patches')
    with tempfile.TemporaryDirectory() as tmp:
        names = format_series(repo, base, branch, tmp, cover)
        for old in glob.glob(os.path.join(pdir, '*.patch')):
            os.unlink(old)
        os.makedirs(pdir, exist_ok=True)
        for f in os.listdir(tmp):
            shutil.copy(os.path.join(tmp, f), os.path.join(pdir, f))
    with open(os.path.join(repo_dir, 'series'), 'w') as f:
        f.write('# quilt series; generated by scripts/rth.py export\n')
        f.writelines(n + '\n' for n in names)
    log(f'exported {len(names)} patch(es) from {branch} to {pdir}')
    return names


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


def check_export(repo, base, repo_dir=REPO):
    """Differences between patches/ and a regeneration from git am.

    The series is applied in a worktree of its own, so that a check never
    changes the checkout a build or a boot of another job is using."""
    wt = ensure_worktree(repo, os.path.normpath(repo) + '-export-check', base,
                         replace_foreign=True)
    try:
        return _check_export(wt, base, repo_dir)
    finally:
        git(wt, 'checkout', '-q', '-f', '--detach', base, quiet=True)
        git(wt, 'branch', '-q', '-D', 'series-check', quiet=True, check=False)


def _check_export(repo, base, repo_dir):
    apply_series(repo, base, repo_dir=repo_dir, branch='series-check')
    with open(COVER_TEMPLATE) as f:
        cover = render_cover(f.read(), cover_tables())
    diffs = []
    with tempfile.TemporaryDirectory() as tmp:
        names = format_series(repo, base, 'series-check', tmp, cover)
        have = sorted(os.path.basename(p) for p in
                      glob.glob(os.path.join(repo_dir, 'patches', '*.patch')))
        want = sorted(os.listdir(tmp))
        for n in sorted(set(have) | set(want)):
            a = os.path.join(repo_dir, 'patches', n)
            b = os.path.join(tmp, n)
            if n not in want:
                diffs.append(f'patches/{n} would not be generated')
            elif n not in have:
                diffs.append(f'patches/{n} is missing (regeneration makes it)')
            else:
                with open(a) as fa, open(b) as fb:
                    if fa.read() != fb.read():
                        r = run(['diff', '-u', a, b], check=False,
                                capture=True, quiet=True).stdout
                        diffs.append(f'patches/{n} differs from regeneration:'
                                     f'\n{r[:1500]}')
    return diffs


# ---------------------------------------------------------------- targets

@dataclasses.dataclass
class Target:
    name: str
    arch: str
    fragments: list
    suites: list
    smp: int = 1
    llvm: str = ''        # LLVM= version suffix ('-19'): build with clang

    @property
    def cc(self):
        return f'clang{self.llvm}' if self.llvm else f'{self.cross}gcc'

    @property
    def tools(self):
        """Compiler and linker the build needs (for require())."""
        if self.llvm:
            return [f'clang{self.llvm}', f'ld.lld{self.llvm}', f'llvm-ar{self.llvm}']
        return [f'{self.cross}gcc', f'{self.cross}ld']

    @property
    def cross(self):
        return 'aarch64-linux-gnu-' if self.arch == 'arm64' else ''

    @property
    def image(self):
        return {'x86_64': 'arch/x86/boot/bzImage',
                'i386': 'arch/x86/boot/bzImage',
                'arm64': 'arch/arm64/boot/Image'}[self.arch]


def parse_targets(text):
    """ci/targets: 'name arch suites=a,b [smp=N] fragment...' per line."""
    targets = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.split('#', 1)[0].strip()
        if not line:
            continue
        words = line.split()
        if len(words) < 3 or not words[2].startswith('suites='):
            raise HarnessError(f'ci/targets:{lineno}: expected "name arch '
                               f'suites=a,b fragment..."')
        name, arch = words[0], words[1]
        if arch not in ('x86_64', 'i386', 'arm64'):
            raise HarnessError(f'ci/targets:{lineno}: unknown arch {arch}')
        suites = [s for s in words[2][len('suites='):].split(',') if s]
        smp = 1
        llvm = ''
        rest = words[3:]
        while rest and rest[0].startswith(('smp=', 'llvm=')):
            key, val = rest[0].split('=', 1)
            if key == 'smp':
                if not val.isdigit() or int(val) < 1:
                    raise HarnessError(f'ci/targets:{lineno}: bad {rest[0]}')
                smp = int(val)
            else:
                if not re.fullmatch(r'-\d+', val):
                    raise HarnessError(f'ci/targets:{lineno}: bad {rest[0]} '
                                       f'(want llvm=-N, e.g. llvm=-19)')
                llvm = val
            rest = rest[1:]
        targets[name] = Target(name, arch, rest, suites, smp, llvm)
    return targets


def load_targets():
    with open(TARGETS_FILE) as f:
        return parse_targets(f.read())


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


def make_cmd(src, build, target, *goals):
    cc = target.cc
    cmd = ['make', '-C', src, f'O={build}', f'ARCH={target.arch}',
           f'-j{os.cpu_count() or 2}']
    if target.cross:
        cmd.append(f'CROSS_COMPILE={target.cross}')
    if target.llvm:
        cmd.append(f'LLVM={target.llvm}')
    if shutil.which('ccache') and not os.environ.get('RTH_NO_CCACHE'):
        cmd += [f'CC=ccache {cc}', 'HOSTCC=ccache gcc']
    extra = os.environ.get('RTH_MAKE_FLAGS')
    if extra:
        cmd += shlex.split(extra)
    return cmd + list(goals)


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
    return os.path.join(b, target.image)


# ------------------------------------------------------------------ qemu

def qemu_cmd(target, image, append=''):
    cmdline = 'panic=-1 kunit_shutdown=reboot ' + append
    if target.arch == 'arm64':
        cpu = os.environ.get('RTH_QEMU_CPU', 'max,pauth-impdef=on')
        return ['qemu-system-aarch64', '-M', 'virt', '-cpu', cpu, '-m', '1024',
                '-smp', str(target.smp),
                '-nodefaults', '-display', 'none', '-serial', 'stdio',
                '-no-reboot', '-kernel', image,
                '-append', 'console=ttyAMA0 ' + cmdline]
    q = 'qemu-system-x86_64' if target.arch == 'x86_64' else 'qemu-system-i386'
    cpu = os.environ.get('RTH_QEMU_CPU',
                         'qemu64' if target.arch == 'x86_64' else 'qemu32')
    return [q, '-cpu', cpu, '-m', '1024', '-smp', str(target.smp),
            '-nodefaults', '-display', 'none',
            '-serial', 'stdio', '-no-reboot', '-kernel', image,
            '-append', 'console=ttyS0 ' + cmdline]


def boot(target, image, logf, timeout=300, extra_append=''):
    """Boot once; return the console text. Raises on timeout."""
    cmd = qemu_cmd(target, image, extra_append)
    require(cmd[0])
    log('$ ' + ' '.join(shlex.quote(c) for c in cmd))
    t0 = time.time()
    with open(logf, 'w') as lf:
        p = subprocess.Popen(cmd, stdout=lf, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL)
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            with open(logf, errors='replace') as f:
                last = f.read().splitlines()[-50:]
            raise HarnessError(f'{target.name}: QEMU did not finish in '
                               f'{timeout} s (hang?); last console lines '
                               f'({logf}):\n' + '\n'.join(last))
    with open(logf, errors='replace') as f:
        text = f.read()
    log(f'{target.name}: QEMU exited {p.returncode} after '
        f'{time.time() - t0:.1f} s')
    return text


# ------------------------------------------------------------------ KTAP

TS_RE = re.compile(r'^\[\s*\d+\.\d+\]\s?')
RESULT_RE = re.compile(r'^(ok|not ok) (\d+)(?: (?:- )?([^#]*?))?\s*(?:#\s*(.*))?$')
SUBTEST_RE = re.compile(r'^# Subtest: (\S+)')
SPLAT_RE = re.compile(
    r'(BUG: |WARNING: |Oops|Kernel panic|general protection fault|'
    r'Unable to handle kernel|Internal error: |UBSAN: |KASAN: |'
    r'possible circular locking|possible recursive locking|'
    r'inconsistent lock state|suspicious RCU usage|INFO: task .* blocked|'
    r'rcu: INFO: rcu_.* stall|stack-protector|'
    r'unwind: |WARNING: stack recursion|objtool)')


def strip_console(line):
    return TS_RE.sub('', line.rstrip('\r\n'))


@dataclasses.dataclass
class Case:
    name: str
    status: str          # pass, fail, skip
    detail: str = ''


@dataclasses.dataclass
class Suite:
    name: str
    status: str = 'missing'
    cases: list = dataclasses.field(default_factory=list)
    log: list = dataclasses.field(default_factory=list)

    def count(self, status):
        return sum(1 for c in self.cases if c.status == status)


def parse_ktap(text):
    """Suites and their cases from a console log holding KTAP.

    Returns ({suite: Suite}, [splat lines]). Results are read by indentation:
    a line 'ok N name' at the suite's case level is a case; nested results
    (parameterised subtests) fold into their case; the unindented result
    closes the suite.
    """
    suites = {}
    splats = []
    cur = None
    case_indent = None
    for raw in text.splitlines():
        line = strip_console(raw)
        if SPLAT_RE.search(line):
            splats.append(line)
        body = line.lstrip(' ')
        indent = len(line) - len(body)
        m = SUBTEST_RE.match(body)
        if m and (cur is None or indent == 4 and case_indent is None
                  or cur is not None and indent < (case_indent or 0)):
            if indent <= 4:
                cur = Suite(m.group(1))
                suites[cur.name] = cur
                case_indent = indent
                continue
        if cur is None:
            continue
        cur.log.append(line)
        m = RESULT_RE.match(body)
        if not m:
            continue
        ok, _, name, directive = m.groups()
        name = (name or '').strip()
        status = 'pass' if ok == 'ok' else 'fail'
        if directive and directive.upper().startswith('SKIP'):
            status = 'skip'
        if indent == case_indent:
            cur.cases.append(Case(name, status, directive or ''))
        elif indent < case_indent and name == cur.name:
            cur.status = status
            cur = None
            case_indent = None
    return suites, splats


def judge(target, text):
    """Per suite results; a list of failures (empty when all is well)."""
    suites, splats = parse_ktap(text)
    failures = []
    for s in target.suites:
        if s not in suites:
            failures.append(f'suite {s} missing from the console output')
            continue
        st = suites[s]
        if st.status == 'missing':
            failures.append(f'suite {s} did not finish')
        for c in st.cases:
            if c.status == 'fail':
                failures.append(f'{s}.{c.name} failed')
        if not st.cases:
            failures.append(f'suite {s} ran no case')
    for line in splats:
        failures.append(f'console: {line}')
    if target.smp > 1:
        cpus = online_cpus(text)
        if cpus != target.smp:
            got = ('no "smp: Brought up" line on the console' if cpus is None
                   else f'the kernel brought up {cpus}')
            failures.append(f'{target.smp} CPUs wanted (-smp {target.smp}); {got}')
    return suites, failures


SMP_UP_RE = re.compile(r'smp: Brought up \d+ nodes?, (\d+) CPUs?')


def online_cpus(text):
    """CPUs the kernel says it brought up at boot, or None."""
    m = SMP_UP_RE.search(text)
    return int(m.group(1)) if m else None


def failing_case_log(suite, case):
    """The diagnostic lines KUnit printed before a case's result."""
    out = []
    for line in suite.log:
        out.append(line)
        if RESULT_RE.match(line.strip()) and case in line:
            break
        if RESULT_RE.match(line.strip()):
            out = []
    return out


# ----------------------------------------------------------------- jobs

def test_target(src, target, results, timeout):
    """Build, boot and judge one target; record into results."""
    t0 = time.time()
    image = build(src, target)
    logf = os.path.join(build_root(), target.name, 'console.log')
    text = boot(target, image, logf, timeout=timeout)
    suites, failures = judge(target, text)
    entry = {'target': target.name, 'arch': target.arch,
             'seconds': round(time.time() - t0), 'console': logf,
             'suites': {}, 'failures': failures}
    for name in target.suites:
        s = suites.get(name)
        entry['suites'][name] = {
            'status': s.status if s else 'missing',
            'passed': s.count('pass') if s else 0,
            'failed': s.count('fail') if s else 0,
            'skipped': s.count('skip') if s else 0,
            'cases': [dataclasses.asdict(c) for c in s.cases] if s else []}
    results.append(entry)
    if failures:
        lines = text.splitlines()
        log(f'{target.name}: FAILED')
        for f in failures:
            print(f'  - {f}')
            m = re.match(r'(\S+)\.(\S+) failed', f)
            if m and m.group(1) in suites:
                for l in failing_case_log(suites[m.group(1)], m.group(2))[-15:]:
                    print(f'      {l}')
        print('  last console lines:')
        for l in lines[-50:]:
            print('    ' + l)
    else:
        log(f'{target.name}: ' + ', '.join(
            f'{n} {v["passed"]} passed/{v["failed"]} failed/{v["skipped"]} skipped'
            for n, v in entry['suites'].items()))
    return not failures


def print_table(results):
    print()
    print(f'{"target":<16} {"suite":<14} {"passed":>6} {"failed":>6} '
          f'{"skipped":>7}  status')
    for e in results:
        for name, s in e['suites'].items():
            st = 'ok' if not s['failed'] and s['status'] == 'pass' else 'FAIL'
            print(f'{e["target"]:<16} {name:<14} {s["passed"]:>6} '
                  f'{s["failed"]:>6} {s["skipped"]:>7}  {st}')
        extra = [f for f in e['failures'] if f.startswith('console:') or
                 'missing' in f or 'did not' in f]
        for f in extra:
            print(f'{e["target"]:<16} {"":<14} {f}')
    print()


def select_targets(names):
    targets = load_targets()
    unknown = [n for n in names if n not in targets]
    if unknown:
        raise HarnessError(f'unknown target(s) {", ".join(unknown)}; known: '
                           f'{", ".join(targets)}')
    return [targets[n] for n in names]


def run_targets(src, targets, timeout, results_file, meta):
    results = []
    ok = True
    for t in targets:
        try:
            ok &= test_target(src, t, results, timeout)
        except HarnessError as e:
            ok = False
            log(f'{t.name}: ERROR: {e}')
            results.append({'target': t.name, 'arch': t.arch, 'suites': {},
                            'failures': [f'error: {str(e).splitlines()[0]}']})
    print_table(results)
    with open(results_file, 'w') as f:
        json.dump(dict(meta, results=results), f, indent=1)
    log(f'results written to {results_file}')
    passed = sum(s['passed'] for e in results for s in e['suites'].values())
    failed = sum(s['failed'] for e in results for s in e['suites'].values())
    failed += sum(1 for e in results for f in e['failures']
                  if not re.match(r'\S+\.\S+ failed', f))
    print(f'kunit: {passed} passed, {failed} failed')
    return 0 if ok else 1


def cmd_tree(args):
    """Build, boot and judge targets from any kernel tree, as it is."""
    src = os.path.abspath(args.src)
    check_version(src)
    out = args.results or os.path.join(build_root(), 'tree-results.json')
    return run_targets(src, select_targets(args.targets), args.timeout, out,
                       {'src': src})


def cmd_kunit(args):
    targets = load_targets()
    names = args.targets or ['x86_64', 'x86_64-fp', 'i386', 'arm64']
    unknown = [n for n in names if n not in targets]
    if unknown:
        raise HarnessError(f'unknown target(s) {", ".join(unknown)}; known: '
                           f'{", ".join(targets)}')
    repo, tag = ensure_base()
    if args.base_only:
        git(repo, 'checkout', '-q', '-f', '-B', 'series', tag)
        names_applied = []
    else:
        if read_series(os.path.join(REPO, 'series')):
            diffs = check_export(repo, tag)
            if diffs:
                raise HarnessError('patches/ is not what regeneration from git '
                                   'produces:\n' + '\n'.join(diffs))
            log('patches/ equals its regeneration from git')
        names_applied = apply_series(repo, tag)
        if not args.no_quilt:
            quilt_check(repo, tag)
    out = args.results or os.path.join(cache_dir(), 'kunit-results.json')
    return run_targets(repo, [targets[n] for n in names], args.timeout, out,
                       {'base': tag, 'patches': names_applied})


# checkpatch types a commit log may explain instead of fixing: the new-file
# "does MAINTAINERS need updating?" question, answered there, and leading
# spaces where the file being changed indents that way (arm64's
# asm-offsets.c indents every DEFINE() with two spaces).
EXPLAINABLE = {'FILE_PATH_CHANGES', 'LEADING_SPACE'}


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
    with open(patch) as f:
        log_text = f.read().split('\n---\n', 1)[0]
    if types and types <= EXPLAINABLE and 'checkpatch' in log_text:
        return True, f'{summary} ({", ".join(sorted(types))}: explained in the commit log)'
    return False, summary


def touched_objects(files, arch, build_dir):
    """Objects of the touched .c/.S files that this build compiles."""
    srcarch = 'x86' if arch in ('x86_64', 'i386') else arch
    objs = []
    for f in files:
        if not f.endswith(('.c', '.S')):
            continue
        if f.startswith('arch/') and not f.startswith(f'arch/{srcarch}/'):
            continue
        o = f[:-2] + '.o'
        if os.path.exists(os.path.join(build_dir, o)):
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


def cmd_each(args):
    """Build every prefix of the series on each arch; checkpatch each patch."""
    targets = select_targets(args.targets)
    repo, tag = ensure_base()
    names = apply_series(repo, tag)
    commits = git_out(repo, 'rev-list', '--reverse', f'{tag}..series').split()
    if len(commits) != len(names):
        raise HarnessError('series branch and series file disagree')
    table = []
    ok = True
    for k, (name, commit) in enumerate(zip(names, commits), 1):
        if args.first and k < args.first:
            continue
        git(repo, 'checkout', '-q', '-f', commit, quiet=True)
        row = {'patch': name}
        cp_ok, summary = checkpatch(repo, os.path.join(REPO, 'patches', name))
        row['checkpatch'] = ('ok*' if 'explained' in summary else 'ok') if cp_ok else 'FAIL'
        if cp_ok and 'explained' in summary:
            log(f'checkpatch --strict {name}: {summary}')
        if not cp_ok:
            log(f'checkpatch --strict {name}: {summary}')
        ok &= cp_ok
        touched = git_out(repo, 'diff', '--name-only', f'{commit}~1',
                          commit).split()
        for t in targets:
            if not sees_change(touched, t.arch):
                # the tree this arch builds is the previous prefix's (or the
                # base's): the build would be the same; do not redo it
                row[t.name] = '='
                continue
            try:
                build(repo, t, allow_undefined=True)
                warns = w1_warnings(repo, t, touched)
                row[t.name] = 'ok' if not warns else 'W=1'
                if warns:
                    ok = False
                    log(f'{name} on {t.name}: W=1 warnings:\n  ' +
                        '\n  '.join(warns[:20]))
            except HarnessError as e:
                row[t.name] = 'FAIL'
                ok = False
                log(f'{name} on {t.name}: {str(e)[:2000]}')
        table.append(row)
        print(' '.join(f'{v:<10}' if i else f'{v:<56}'
                       for i, v in enumerate(row.values())), flush=True)
    git(repo, 'checkout', '-q', '-f', 'series', quiet=True)
    print()
    print(f'{"patch":<56} {"checkpatch":<10} ' +
          ' '.join(f'{t.name:<10}' for t in targets))
    for row in table:
        print(f'{row["patch"]:<56} {row["checkpatch"]:<10} ' +
              ' '.join(f'{row[t.name]:<10}' for t in targets))
    out = os.path.join(cache_dir(), 'each-patch.json')
    with open(out, 'w') as f:
        json.dump({'base': tag, 'rows': table}, f, indent=1)
    print('(= : the patch touches only other arches\' files; this arch builds '
          'the same tree as for the patch before, or the base)')
    cells = [v for r in table for k, v in r.items() if k != 'patch']
    n_fail = sum(1 for v in cells if v in ('FAIL', 'W=1'))
    n_same = cells.count('=')
    print(f'each-patch: {len(cells) - n_fail - n_same} passed, {n_same} same '
          f'tree as before (not rebuilt), {n_fail} failed')
    return 0 if ok else 1


def cmd_base(args):
    repo, tag = ensure_base()
    print(f'{repo} {tag}')
    return 0


def cmd_apply(args):
    repo, tag = ensure_base()
    apply_series(repo, tag, upto=args.upto)
    if not args.no_quilt:
        quilt_check(repo, tag)
    print(repo)
    return 0


def cmd_build(args):
    targets = load_targets()
    # An absolute path: a relative one changes every compile command line
    # and so defeats incremental builds and ccache.
    repo = os.path.abspath(args.src) if args.src else ensure_base()[0]
    for n in args.targets:
        if n not in targets:
            raise HarnessError(f'unknown target {n}; known: {", ".join(targets)}')
        print(build(repo, targets[n]))
    return 0


def cmd_export(args):
    repo, tag = ensure_base()
    if args.check:
        diffs = check_export(repo, tag)
        for d in diffs:
            print(d)
        if diffs:
            raise HarnessError('patches/ is not what regeneration produces; '
                               'run scripts/rth.py export BRANCH')
        log('patches/ equals its regeneration from git')
        return 0
    if not args.branch:
        raise HarnessError('export needs a branch (or --check)')
    export_series(args.repo or repo, args.base or tag, args.branch)
    return 0


# ----------------------------------------------------------------- mails

# Every patch changes what the generic rethook and kretprobe code gets
# from an arch trampoline, or tests it: their maintainers get all of them.
SERIES_WIDE_FILES = ['kernel/trace/rethook.c', 'include/linux/rethook.h',
                     'kernel/kprobes.c']
ADDR_RE = re.compile(r'^(.*?<[^>]+>|[^\s<>()]+@[^\s<>()]+)\s*(?:\((.*)\))?$')


def split_recipients(get_maintainer_output):
    """get_maintainer.pl lines -> (to, cc): maintainers To, the rest Cc."""
    to, cc = [], []
    for line in get_maintainer_output.splitlines():
        m = ADDR_RE.match(line.strip())
        if not m:
            continue
        addr, role = m.group(1).strip(), (m.group(2) or '')
        (to if role.startswith('maintainer:') else cc).append(addr)
    return to, cc


def merge_recipients(*pairs):
    to, cc = [], []
    for t, c in pairs:
        to += [a for a in t if a not in to]
        cc += [a for a in c if a not in cc]
    return to, [a for a in cc if a not in to]


def add_headers(mail, to, cc):
    """Insert To:/Cc: into a format-patch mail's header block."""
    head, sep, body = mail.partition('\n\n')
    if not sep:
        raise HarnessError('not a format-patch mail (no header block)')
    for name, addrs in (('To', to), ('Cc', cc)):
        if addrs:
            head += f'\n{name}: ' + ',\n '.join(addrs)
    return head + sep + body


def get_maintainer(src, *args):
    res = run(['perl', os.path.join(src, 'scripts/get_maintainer.pl'),
               '--no-git', '--no-git-fallback', *args],
              capture=True, quiet=True, cwd=src, check=False)
    if res.returncode != 0:
        raise HarnessError(f'get_maintainer.pl {" ".join(args)} failed:\n'
                           f'{res.stderr[-800:]}')
    return res.stdout


def cmd_cover(args):
    with open(COVER_TEMPLATE) as f:
        print(render_cover(f.read(), cover_tables()), end='')
    return 0


def cmd_mails(args):
    """The would-be mails: patches/ with To/Cc from get_maintainer.pl.
    Nothing is sent."""
    repo, _ = ensure_base()
    names = read_series(os.path.join(REPO, 'series'))
    if not names:
        raise HarnessError('series is empty: nothing to mail')
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    wide = split_recipients(get_maintainer(
        repo, *[a for f in SERIES_WIDE_FILES for a in ('-f', f)]))
    per = []
    for n in names:
        to_cc = merge_recipients(split_recipients(get_maintainer(
            repo, os.path.join(REPO, 'patches', n))), wide)
        per.append((n, to_cc))
    cover_to_cc = merge_recipients(*[tc for _, tc in per])
    report = ['# Would-be mails (nothing sent); recipients from '
              'scripts/get_maintainer.pl --no-git', '']
    for n, (to, cc) in [('0000-cover-letter.patch', cover_to_cc)] + per:
        with open(os.path.join(REPO, 'patches', n)) as f:
            mail = add_headers(f.read(), to, cc)
        with open(os.path.join(out, n), 'w') as f:
            f.write(mail)
        report += [f'## {n}', f'To: {", ".join(to)}', f'Cc: {", ".join(cc)}', '']
    with open(os.path.join(out, 'recipients.md'), 'w') as f:
        f.write('\n'.join(report))
    print('\n'.join(report))
    log(f'{len(per) + 1} mail(s) in {out}; read them, then send with '
        f'git send-email {out}/*.patch (after adding your Signed-off-by)')
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(prog='rth', description=__doc__.split('\n')[0])
    sub = ap.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('base', help='fetch/unpack the base tree, print it')
    p.set_defaults(fn=cmd_base)
    p = sub.add_parser('apply', help='git am the series on the base (and quilt check)')
    p.add_argument('--upto', type=int, help='apply only the first N patches')
    p.add_argument('--no-quilt', action='store_true')
    p.set_defaults(fn=cmd_apply)
    p = sub.add_parser('build', help='configure and build targets')
    p.add_argument('targets', nargs='+')
    p.add_argument('--src', help='kernel tree to build (default: the cache\'s)')
    p.set_defaults(fn=cmd_build)
    p = sub.add_parser('kunit', help='apply, build, boot and judge KUnit')
    p.add_argument('targets', nargs='*', help='targets from ci/targets')
    p.add_argument('--base-only', action='store_true',
                   help='test the unpatched base')
    p.add_argument('--no-quilt', action='store_true')
    p.add_argument('--timeout', type=int,
                   default=int(os.environ.get('RTH_BOOT_TIMEOUT', '300')))
    p.add_argument('--results', help='JSON results file')
    p.set_defaults(fn=cmd_kunit)
    p = sub.add_parser('each', help='build every prefix of the series on '
                       'each target and run checkpatch --strict per patch')
    p.add_argument('targets', nargs='*', default=['x86_64', 'i386', 'arm64'])
    p.add_argument('--first', type=int, help='start at patch K')
    p.set_defaults(fn=cmd_each)
    p = sub.add_parser('export', help='regenerate patches/ and series from '
                       'a git branch (--check: compare instead)')
    p.add_argument('branch', nargs='?')
    p.add_argument('--repo', help='git repo holding the branch (default: cache)')
    p.add_argument('--base', help='base commit (default: the base tag)')
    p.add_argument('--check', action='store_true')
    p.set_defaults(fn=cmd_export)
    p = sub.add_parser('tree', help='build, boot and judge targets of a given '
                       'tree (no series applied; for developing patches)')
    p.add_argument('targets', nargs='+')
    p.add_argument('--src', required=True)
    p.add_argument('--timeout', type=int,
                   default=int(os.environ.get('RTH_BOOT_TIMEOUT', '300')))
    p.add_argument('--results', help='JSON results file')
    p.set_defaults(fn=cmd_tree)
    p = sub.add_parser('cover', help='print the cover letter text (with '
                       'the latest bench tables), e.g. for b4 prep --edit-cover')
    p.set_defaults(fn=cmd_cover)
    p = sub.add_parser('mails', help='the would-be mails: patches/ with '
                       'To/Cc from get_maintainer.pl (nothing is sent)')
    p.add_argument('--out', default=os.path.join(cache_dir(), 'mails'))
    p.set_defaults(fn=cmd_mails)
    args = ap.parse_args(argv)
    try:
        return args.fn(args)
    except HarnessError as e:
        print(f'rth: error: {e}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
