# SPDX-License-Identifier: GPL-2.0
"""The preemption model of Debian's own 7.3 kernel, for a distro-like
bench kernel (scripts/bench.py --config distro).

The cost of a BPF program's enter/exit depends on the preemption model:
the bench config (tinyconfig based) has PREEMPT_LAZY and non-preemptible
RCU, Debian's kernel PREEMPT_DYNAMIC with preemptible RCU. This module
reads the preemption options from Debian's linux-config-7.3 package
(trixie-backports, downloaded with a private apt state like the base
tarball) and writes them as a kconfig fragment that is merged after the
bench fragments. Only those options: the rest of Debian's config (modules,
drivers, debug options) would make a kernel that takes hours to build
under TCG and changes nothing the bench measures.
"""

import glob
import lzma
import os
import re

from rthlib.apt import apt_archive_uri, download_unpack, private_apt, read_text
from rthlib.common import HarnessError, bench_cache, log, require, run

PACKAGE = 'linux-config-7.3'
SUITE = 'trixie-backports'
DEB_ARCH = {'x86_64': 'amd64', 'arm64': 'arm64'}
# usr/src/linux-config-7.3/config.<arch>_<featureset>_<flavour>.xz
CONFIG_FILE = {'x86_64': 'config.amd64_none_amd64.xz',
               'arm64': 'config.arm64_none_arm64.xz'}
# The options of the preemption model (kernel/Kconfig.preempt and RCU's
# choice of implementation), as Debian sets them.
OPTIONS = ('PREEMPT_NONE', 'PREEMPT_VOLUNTARY', 'PREEMPT', 'PREEMPT_LAZY',
           'PREEMPT_RT', 'PREEMPT_DYNAMIC', 'PREEMPT_RCU')
LINE_RE = re.compile(r'^(?:CONFIG_(\w+)=(\S+)|# CONFIG_(\w+) is not set)$')


def preempt_lines(config_text, arch='?'):
    """The OPTIONS lines of a .config, in OPTIONS order; options the
    config does not mention are left out. Raises if it sets none of the
    model choices (not a kernel config, or Kconfig renamed them)."""
    have = {}
    for line in config_text.splitlines():
        m = LINE_RE.match(line.strip())
        if not m:
            continue
        sym = m.group(1) or m.group(3)
        if sym in OPTIONS:
            have[sym] = line.strip()
    if not any(have.get(s, '').endswith('=y') for s in OPTIONS[:5]):
        raise HarnessError(f'Debian\'s {arch} kernel config sets none of '
                           f'CONFIG_{", CONFIG_".join(OPTIONS[:5])}: not a '
                           f'kernel config, or the options were renamed')
    return [have[s] for s in OPTIONS if s in have]


def fetch_config(arch):
    """Download PACKAGE for arch (private apt state) and return (its .deb
    name, the text of its config for arch)."""
    if arch not in DEB_ARCH:
        raise HarnessError(f'--config distro: no Debian config for {arch}')
    require('apt-get', 'dpkg-deb')
    top = os.path.join(bench_cache(), 'distro-config', arch)
    deb_arch = DEB_ARCH[arch]
    uri = apt_archive_uri()
    apt = os.path.join(top, 'apt')
    opts = private_apt(
        apt, f'deb [arch={deb_arch} signed-by=/usr/share/keyrings/'
             f'debian-archive-keyring.gpg] {uri} {SUITE} main',
        ['-o', f'APT::Architecture={deb_arch}',
         '-o', f'APT::Architectures::={deb_arch}'])
    dl = os.path.join(top, 'deb')
    if not glob.glob(os.path.join(dl, f'{PACKAGE}_*.deb')):
        log(f'fetching {PACKAGE}:{deb_arch} from {uri} {SUITE} (private apt '
            f'state in {apt})')
        res = run(['apt-get', *opts, 'update'], check=False, capture=True)
        if res.returncode != 0:
            raise HarnessError(f'apt-get update of {uri} {SUITE} failed:\n'
                               f'{res.stdout[-2000:]}')
    unpacked = os.path.join(top, 'unpacked')
    deb = download_unpack(opts, f'{PACKAGE}:{deb_arch}', dl, unpacked)
    want = CONFIG_FILE[arch]
    found = glob.glob(os.path.join(unpacked, 'usr/src/linux-config-*', want))
    if not found:
        have = [os.path.basename(p) for p in
                glob.glob(os.path.join(unpacked, 'usr/src/linux-config-*/*'))]
        raise HarnessError(f'{os.path.basename(deb)} has no {want} '
                           f'(it has: {", ".join(sorted(have)) or "nothing"})')
    with lzma.open(found[0], 'rt') as f:
        return os.path.basename(deb), f.read()


def fragment(arch):
    """Write the distro-like fragment for arch; returns (its path without
    '.config', as a target's fragment name, and a description)."""
    deb, text = fetch_config(arch)
    lines = preempt_lines(text, arch)
    d = os.path.join(bench_cache(), 'distro-config', arch)
    path = os.path.join(d, 'distro-preempt')
    body = (f'# The preemption model of Debian\'s {arch} kernel: the '
            f'{CONFIG_FILE[arch]} of\n# {deb} (rthlib/distro.py)\n' +
            '\n'.join(lines) + '\n')
    if not os.path.exists(path + '.config') or read_text(path + '.config') != body:
        with open(path + '.config', 'w') as f:
            f.write(body)
    return path, f'{deb}: ' + ', '.join(lines)
