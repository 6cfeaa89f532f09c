# SPDX-License-Identifier: GPL-2.0
"""Where the base tree comes from: Debian's source package of the same
upload, compared with the base tree.

Debian's linux-source-7.3 tarball is the upstream stable release (the
source package's linux_<upstream>.orig.tar.xz, made from the stable tag
minus the files Debian removes for the DFSG) with the upload's
debian/patches applied. `rth.py base --origin` fetches that source
package with a private apt (a deb-src line for the machine's own Debian
archive), imports the orig tarball next to the base commit and reports
which files differ, how many Debian patches the upload carries, and whether
any file the series touches is among them. If the archive does not serve
the source files it says so, with what it could see, and exits non-zero.
"""

import functools
import glob
import os
import re
import shutil
import tempfile

from rthlib.apt import apt_archive_uri, private_apt
from rthlib.common import HarnessError, git_out, log, require, run


def parse_sources(text, package):
    """Stanzas of an apt Sources index (or apt-cache showsrc output) for
    package: list of dicts with version, directory and files
    [(sha256, size, name)]."""
    out = []
    for stanza in re.split(r'\n\s*\n', text):
        m = re.search(r'^Package:\s*(\S+)', stanza, re.M)
        if not m or m.group(1) != package:
            continue
        v = re.search(r'^Version:\s*(\S+)', stanza, re.M)
        d = re.search(r'^Directory:\s*(\S+)', stanza, re.M)
        files = []
        cs = re.search(r'^Checksums-Sha256:\s*\n((?:[ \t].*\n?)+)', stanza, re.M)
        if cs:
            for line in cs.group(1).splitlines():
                w = line.split()
                if len(w) == 3:
                    files.append((w[0], int(w[1]), w[2]))
        out.append({'version': v.group(1) if v else '',
                    'directory': d.group(1) if d else '', 'files': files})
    return out


def _order(c):
    """dpkg's weight of one non-digit character: ~ before the end, the end
    before letters, letters before other characters."""
    if c == '~':
        return -1
    if c.isalpha():
        return ord(c)
    return ord(c) + 256


def _cmp_part(a, b):
    """dpkg's comparison of an upstream version or Debian revision."""
    while a or b:
        na = re.match(r'[^0-9]*', a).group(0)
        nb = re.match(r'[^0-9]*', b).group(0)
        for i in range(max(len(na), len(nb))):
            oa = _order(na[i]) if i < len(na) else 0
            ob = _order(nb[i]) if i < len(nb) else 0
            if oa != ob:
                return -1 if oa < ob else 1
        a, b = a[len(na):], b[len(nb):]
        da = re.match(r'[0-9]*', a).group(0)
        db = re.match(r'[0-9]*', b).group(0)
        if int(da or 0) != int(db or 0):
            return -1 if int(da or 0) < int(db or 0) else 1
        a, b = a[len(da):], b[len(db):]
    return 0


def compare_versions(a, b):
    """-1, 0 or 1 as Debian version a sorts before, with or after b
    (dpkg --compare-versions: epoch, upstream version, Debian revision)."""
    def split(v):
        # the epoch ends at the first colon (the upstream version may hold
        # more), the revision starts after the last hyphen
        epoch, _, rest = v.partition(':') if ':' in v else ('0', '', v)
        up, _, rev = rest.rpartition('-') if '-' in rest else (rest, '', '0')
        return int(epoch or 0), up, rev
    ea, ua, ra = split(a)
    eb, ub, rb = split(b)
    if ea != eb:
        return -1 if ea < eb else 1
    return _cmp_part(ua, ub) or _cmp_part(ra, rb)


debian_version_key = functools.cmp_to_key(compare_versions)


def upstream_names(upstream):
    """How Debian spells a kernel's upstream version: 7.3.4, and for a .0
    release both 7.3.0 (the Makefile's SUBLEVEL) and 7.3 (Debian's)."""
    names = {upstream}
    if upstream.endswith('.0') and upstream.count('.') == 2:
        names.add(upstream[:-2])
    return names


def pick_upload(stanzas, upstream):
    """The stanza whose version is upstream-<debian revision>; with
    several uploads of one upstream version, the highest version (dpkg's
    order), which is what apt-get source fetches by default."""
    names = upstream_names(upstream)
    mine = [s for s in stanzas
            if s['version'].split(':', 1)[-1].rsplit('-', 1)[0] in names]
    if not mine:
        have = ', '.join(sorted({s['version'] for s in stanzas})) or 'none'
        raise HarnessError(f'no source upload of linux {upstream} in the '
                           f'index (found: {have})')
    return max(mine, key=lambda s: debian_version_key(s['version']))


def changed_paths(diff_name_status):
    """git diff --name-status output -> sorted paths (renames: both)."""
    paths = set()
    for line in diff_name_status.splitlines():
        w = line.split('\t')
        paths.update(w[1:])
    return sorted(paths)


def series_paths(patch_texts):
    """Files the series' patches touch (their diff --git lines)."""
    paths = set()
    for text in patch_texts:
        for m in re.finditer(r'^diff --git a/(\S+) b/(\S+)$', text, re.M):
            paths.update(m.groups())
    return paths


def import_tree(repo, src_dir):
    """A git tree object of src_dir in repo, through a temporary index
    (the repo's own index and work tree are left alone)."""
    with tempfile.TemporaryDirectory() as t:
        env = dict(os.environ, GIT_INDEX_FILE=os.path.join(t, 'index'),
                   GIT_WORK_TREE=src_dir, GIT_DIR=os.path.join(repo, '.git'))
        run(['git', 'add', '-A', '-f', '.'], cwd=src_dir, env=env, quiet=True)
        return run(['git', 'write-tree'], cwd=src_dir, env=env, capture=True,
                   quiet=True).stdout.strip()


def report_origin(repo, tag, upstream, series_files, state, suite):
    """Lines of the origin report, and whether the comparison was made."""
    require('apt-get', 'xz', 'tar')
    uri = apt_archive_uri()
    apt = os.path.join(state, 'apt-src')
    opts = private_apt(apt, f'deb-src [signed-by=/usr/share/keyrings/'
                            f'debian-archive-keyring.gpg] {uri} '
                            f'{suite} main')
    lines = [f'base: {tag} in {repo}, Makefile version {upstream}',
             f'source index: {uri} {suite} main (deb-src, private apt '
             f'state in {apt})']
    log(lines[-1])
    res = run(['apt-get', *opts, 'update'], check=False, capture=True)
    if res.returncode != 0:
        raise HarnessError(f'apt-get update (deb-src) failed:\n'
                           f'{res.stdout[-2000:]}')
    res = run(['apt-cache', *opts, 'showsrc', 'linux'], check=False,
              capture=True)
    if res.returncode != 0:
        raise HarnessError(f'apt-cache showsrc linux (deb-src {uri} {suite}) '
                           f'failed with exit {res.returncode}:\n'
                           f'{(res.stdout or "")[-2000:]}')
    upload = pick_upload(parse_sources(res.stdout, 'linux'), upstream)
    lines.append(f'source upload: linux {upload["version"]} '
                 f'({upload["directory"]})')
    for sha, size, name in upload['files']:
        lines.append(f'  {name}  {size} bytes  sha256 {sha}')
    dl = os.path.join(state, 'deb-src')
    shutil.rmtree(dl, ignore_errors=True)
    os.makedirs(dl)
    res = run(['apt-get', *opts, 'source', '--download-only',
               f'linux={upload["version"]}'], cwd=dl, check=False,
              capture=True)
    if res.returncode != 0:
        # What the base itself shows: a Debian-only change (Debian's
        # debian/add-sysctl-to-disallow-unprivileged-CLONE_NEWUSER-by-default
        # patch; upstream has no such sysctl) says the tarball carries the
        # upload's patches, not only the upstream release.
        marks = run(['git', '-C', repo, 'grep', '-l',
                     'unprivileged_userns_clone', tag, '--', 'kernel/'],
                    check=False, capture=True, quiet=True).stdout.split()
        lines.append(f'the base carries Debian patches: the Debian-only sysctl '
                     f'unprivileged_userns_clone is in '
                     f'{", ".join(m.split(":", 1)[1] for m in marks) or "no file"}')
        lines.append(f'the series touches {len(series_files)} file(s); '
                     f'whether Debian changed any of them cannot be told '
                     f'without the upload\'s debian/patches')
        errs = [ln.strip() for ln in res.stdout.splitlines()
                if re.search(r'^(E:|Err:|W:)|404|Failed', ln)]
        lines += ['NOT COMPARED: the archive lists the upload but did not '
                  'serve its files (apt-get source --download-only):',
                  *[f'  {e}' for e in errs[:8]]]
        return lines, False
    orig = [g for n in sorted(upstream_names(upstream))
            for g in glob.glob(os.path.join(dl, f'linux_{n}.orig.tar.*'))]
    deb = glob.glob(os.path.join(dl, 'linux_*.debian.tar.*'))
    if not orig or not deb:
        lines.append(f'NOT COMPARED: no orig/debian tarball in {dl}')
        return lines, False
    with tempfile.TemporaryDirectory(dir=state) as t:
        run(['tar', '-xf', orig[0], '-C', t], quiet=True)
        tops = os.listdir(t)
        root = os.path.join(t, tops[0]) if len(tops) == 1 else t
        orig_tree = import_tree(repo, root)
        dt = os.path.join(t, 'debian-tar')
        os.makedirs(dt)
        run(['tar', '-xf', deb[0], '-C', dt], quiet=True)
        series = os.path.join(dt, 'debian', 'patches', 'series')
        patches = []
        if os.path.exists(series):
            with open(series) as f:
                patches = [ln.split('#')[0].strip() for ln in f
                           if ln.split('#')[0].strip()]
    diff = git_out(repo, 'diff', '--name-status', orig_tree, tag)
    paths = changed_paths(diff)
    both = sorted(set(paths) & series_files)
    lines += [f'orig tarball (upstream {upstream} as Debian ships it) vs the '
              f'base: {len(paths)} file(s) differ; debian/patches/series has '
              f'{len(patches)} patch(es)',
              f'files the series touches that Debian changed: '
              f'{", ".join(both) if both else "none"}']
    lines += [f'  {p}' for p in paths]
    return lines, True
