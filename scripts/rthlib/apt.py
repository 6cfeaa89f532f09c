# SPDX-License-Identifier: GPL-2.0
"""Debian packages fetched with a private apt state: the base tree's
linux-source package and the foreign-arch packages the bench links.

The archive comes from this machine's own apt sources; the system's apt
configuration and state are neither read for packages nor written.
"""

import glob
import os
import re
import shutil

from rthlib.common import HarnessError, bench_cache, log, require, run


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


def debian_codename():
    try:
        with open('/etc/os-release') as f:
            m = re.search(r'^VERSION_CODENAME=(\w+)', f.read(), re.M)
            if m:
                return m.group(1)
    except OSError:
        pass
    return 'bookworm'


def read_text(path):
    with open(path) as f:
        return f.read()


def sysroot_symlinks(root):
    """Point absolute symlinks of an unpacked sysroot into it: Debian's
    libz.so -> /lib/<triplet>/libz.so.1... would name the host's file."""
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            if os.path.islink(p) and os.readlink(p).startswith('/'):
                target = os.path.join(root, os.readlink(p).lstrip('/'))
                os.unlink(p)
                os.symlink(os.path.relpath(target, d), p)


def fetch_debs(arch, pkgs, dest):
    """apt-get download Debian packages of a foreign arch with a private apt
    state (the system's apt configuration is not touched) and unpack them
    into dest with dpkg-deb -x. Returns dest."""
    require('apt-get', 'dpkg-deb')
    stampf = os.path.join(dest, '.rth-debs')
    want = ' '.join(sorted(pkgs))
    if os.path.exists(stampf) and read_text(stampf) == want:
        return dest
    uri = apt_archive_uri()
    suite = debian_codename()
    apt = os.path.join(bench_cache(), f'apt-{arch}')
    opts = private_apt(
        apt, f'deb [arch={arch} signed-by=/usr/share/keyrings/'
             f'debian-archive-keyring.gpg] {uri} {suite} main',
        ['-o', f'APT::Architecture={arch}',
         '-o', f'APT::Architectures::={arch}'])
    log(f'fetching {arch} packages {want} from {uri} {suite} (private apt '
        f'state in {apt})')
    res = run(['apt-get', *opts, 'update'], check=False, capture=True)
    if res.returncode != 0:
        raise HarnessError(f'apt-get update ({arch}) failed:\n{res.stdout[-2000:]}')
    dl = os.path.join(apt, 'debs')
    for old in glob.glob(os.path.join(dl, '*.deb')):
        os.unlink(old)
    res = run(['apt-get', *opts, 'download', *[f'{p}:{arch}' for p in pkgs]],
              cwd=dl, check=False, capture=True)
    if res.returncode != 0:
        raise HarnessError(f'apt-get download of {want} ({arch}) failed:\n'
                           f'{res.stdout[-2000:]}')
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(dest)
    for deb in sorted(glob.glob(os.path.join(dl, '*.deb'))):
        run(['dpkg-deb', '-x', deb, dest], quiet=True)
    sysroot_symlinks(dest)
    with open(stampf, 'w') as f:
        f.write(want)
    return dest


def download_unpack(opts, pkg, dl, unpacked, name=None):
    """apt-get download pkg (with a private apt's opts) into dl, unless a
    .deb of it is there already, and unpack the newest into unpacked
    (emptied first). name is the package name in the .deb file name
    (default: pkg without an :arch). Returns the .deb's path."""
    name = name or pkg.split(':')[0]
    debs = sorted(glob.glob(os.path.join(dl, f'{name}_*.deb')))
    if not debs:
        os.makedirs(dl, exist_ok=True)
        res = run(['apt-get', *opts, 'download', pkg], cwd=dl, check=False,
                  capture=True)
        if res.returncode != 0:
            raise HarnessError(f'apt-get download {pkg} failed:\n'
                               f'{res.stdout[-2000:]}')
        debs = sorted(glob.glob(os.path.join(dl, f'{name}_*.deb')))
        if not debs:
            raise HarnessError(f'apt-get download left no {name} .deb in {dl}')
    shutil.rmtree(unpacked, ignore_errors=True)
    run(['dpkg-deb', '-x', debs[-1], unpacked], quiet=True)
    return debs[-1]
