# SPDX-License-Identifier: GPL-2.0
"""A newer QEMU than the machine's, from Debian trixie, in a private sysroot.

bookworm ships QEMU 7.2. trixie's qemu-system-x86 / qemu-system-arm (10.0)
need trixie's glibc and libraries, so the packages and their whole
dependency closure are downloaded with a private apt state (the archive
address from this machine's apt configuration, as for the base tree),
unpacked with dpkg-deb -x into <cache>/qemu-trixie/root, and the binary is
started through that root's own dynamic loader with that root's libraries
(ld-linux-x86-64.so.2 --library-path ...). Nothing is installed into the
system and the system's apt state is not touched.

Use: qemu=trixie on a ci/targets line, or RTH_QEMU=trixie (which wins)
for rth.py's boots (kunit, tree, boots; qemu.boot() and boots.py). The bench and the peer suites keep the machine's QEMU: their
figures and results are compared with runs made under it.
"""

import glob
import os
import shutil

from rthlib.apt import apt_archive_uri, private_apt, read_text, sysroot_symlinks
from rthlib.common import HarnessError, cache_dir, log, require, run


SUITE = 'trixie'
PACKAGES = {'x86_64': 'qemu-system-x86', 'i386': 'qemu-system-x86',
            'arm64': 'qemu-system-arm'}
BINARY = {'x86_64': 'qemu-system-x86_64', 'i386': 'qemu-system-i386',
          'arm64': 'qemu-system-aarch64'}
LOADER = 'usr/lib64/ld-linux-x86-64.so.2'
LIBDIRS = ('usr/lib/x86_64-linux-gnu', 'lib/x86_64-linux-gnu')


def host_is_amd64():
    return os.uname().machine == 'x86_64'


def sysroot(pkgs, dest=None, suite=SUITE):
    """Download pkgs and their dependency closure from suite (amd64) and
    unpack them into dest (default <cache>/qemu-<suite>/root-<pkgs>). Cached: a
    stamp file names what was unpacked. Returns dest."""
    if not host_is_amd64():
        raise HarnessError(f'the {suite} QEMU sysroot is for amd64 hosts; '
                           f'this one is {os.uname().machine}')
    require('apt-get', 'dpkg-deb')
    top = os.path.join(cache_dir(), f'qemu-{suite}')
    want = ' '.join(sorted(set(pkgs)))
    # one root per package set: switching arch does not pull the root from
    # under a QEMU that runs from the other one
    dest = dest or os.path.join(top, 'root-' + '+'.join(sorted(set(pkgs))))
    stampf = os.path.join(dest, '.rth-debs')
    if os.path.exists(stampf) and read_text(stampf) == want:
        return dest
    uri = apt_archive_uri()
    apt = os.path.join(top, 'apt')
    opts = private_apt(
        apt, f'deb [arch=amd64 signed-by=/usr/share/keyrings/'
             f'debian-archive-keyring.gpg] {uri} {suite} main',
        ['-o', 'APT::Architecture=amd64', '-o', 'APT::Architectures::=amd64',
         '-o', f'Dir::Cache::archives={apt}/debs'])
    log(f'fetching {want} and what it depends on from {uri} {suite} '
        f'(private apt state in {apt})')
    # only this download is unpacked: an older version of a package left
    # from an earlier one could sort after the newer and overwrite it
    for old in glob.glob(os.path.join(apt, 'debs', '*.deb')):
        os.unlink(old)
    res = run(['apt-get', *opts, 'update'], check=False, capture=True)
    if res.returncode != 0:
        raise HarnessError(f'apt-get update ({suite}) failed:\n{res.stdout[-2000:]}')
    # An empty dpkg status: apt resolves the whole closure (glibc too) and
    # only downloads it.
    res = run(['apt-get', *opts, 'install', '--download-only', '-y',
               '--no-install-recommends', *sorted(set(pkgs))],
              check=False, capture=True)
    if res.returncode != 0:
        raise HarnessError(f'apt-get install --download-only {want} ({suite}) '
                           f'failed:\n{res.stdout[-2000:]}')
    debs = sorted(glob.glob(os.path.join(apt, 'debs', '*.deb')))
    if not debs:
        raise HarnessError(f'apt-get downloaded nothing for {want} ({suite})')
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(dest)
    for deb in debs:
        run(['dpkg-deb', '-x', deb, dest], quiet=True)
    sysroot_symlinks(dest)
    with open(stampf, 'w') as f:
        f.write(want)
    return dest


def command(arch, root=None):
    """(argv prefix, extra environment) that runs the sysroot's QEMU for
    arch: its loader, its libraries, its firmware (-L) and its modules."""
    root = root or sysroot([PACKAGES[arch]])
    loader = os.path.join(root, LOADER)
    binary = os.path.join(root, 'usr', 'bin', BINARY[arch])
    for p in (loader, binary):
        if not os.path.exists(p):
            raise HarnessError(f'{p} is missing from the {SUITE} QEMU sysroot '
                               f'{root}; remove {root} to fetch it again')
    libpath = ':'.join(os.path.join(root, d) for d in LIBDIRS)
    env = {'QEMU_MODULE_DIR': os.path.join(root, 'usr', 'lib', 'x86_64-linux-gnu', 'qemu')}
    return ([loader, '--library-path', libpath, binary,
             '-L', os.path.join(root, 'usr', 'share', 'qemu')], env)


def version(arch, root=None):
    prefix, env = command(arch, root)
    res = run(prefix[:4] + ['--version'], capture=True, check=False, quiet=True,
              env=dict(os.environ, **env))
    if res.returncode != 0:
        raise HarnessError(f'the {SUITE} QEMU does not run: {res.stdout[-500:]}')
    return res.stdout.splitlines()[0]
