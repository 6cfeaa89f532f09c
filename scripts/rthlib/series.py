# SPDX-License-Identifier: GPL-2.0
"""The series: series/patches/ consistency, git am, the quilt check, and
export (git format-patch) with its regeneration check.
"""

import glob
import os
import re
import shutil
import tempfile

from rthlib.common import (GIT_ID, HarnessError, REPO, cache_dir,
                           ensure_worktree, git, git_out, log, require, run)
from rthlib.mails import COVER_TEMPLATE, cover_tables, render_cover

FIXES = 'fixes'     # the fixes part's directory in the repository
PARTS = 'parts'     # the per-tree parts' directory in the repository
PARTS_FILE = os.path.join('ci', 'parts')          # relative to the repository
PART_COVERS = os.path.join('ci', 'part-covers')


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


def fix_names(repo_dir=REPO):
    """The fixes part (fixes/series, fixes/*.patch): patches for bugs of
    the base that the series does not need, posted on their own with
    Fixes: tags. Empty when there is none."""
    fdir = os.path.join(repo_dir, FIXES)
    if not os.path.exists(os.path.join(fdir, 'series')):
        return []
    names = read_series(os.path.join(fdir, 'series'))
    missing = [n for n in names if not os.path.isfile(os.path.join(fdir, n))]
    have = {os.path.basename(p) for p in glob.glob(os.path.join(fdir, '*.patch'))}
    unlisted = sorted(have - set(names))
    if missing or unlisted:
        raise HarnessError(f'{FIXES}/series and {FIXES}/ disagree: ' + '; '.join(
            [f'listed but missing: {n}' for n in missing] +
            [f'not listed: {n}' for n in unlisted]))
    return names


def patch_subject(path):
    """The Subject of a git format-patch file without its [PATCH ...] tag,
    unfolded."""
    subject = None
    with open(path, encoding='utf-8', errors='replace') as f:
        for line in f:
            line = line.rstrip('\n')
            if subject is not None:
                if line.startswith((' ', '\t')):
                    subject += line
                    continue
                break
            if line.startswith('Subject:'):
                subject = line[len('Subject:'):].strip()
            elif not line:
                break
    if subject is None:
        raise HarnessError(f'{path}: no Subject: line in the patch header')
    return re.sub(r'^\[[^]]*\]\s*', '', ' '.join(subject.split()))


def apply_series(repo, base_tag, upto=None, branch='series', repo_dir=REPO,
                 only=None, fixes=False, series=True):
    """git am the series (first `upto` patches, or the patches numbered in
    `only`, in series order) on a fresh branch; with `fixes`, the fixes
    part first (series=False: the fixes alone)."""
    problems = check_series(repo_dir)
    if problems:
        raise HarnessError('series and patches/ disagree:\n  ' +
                           '\n  '.join(problems))
    names = read_series(os.path.join(repo_dir, 'series')) if series else []
    if upto is not None:
        names = names[:upto]
    if only is not None:
        bad = [k for k in only if not 1 <= k <= len(names)]
        if bad:
            raise HarnessError(f'patch number(s) {", ".join(map(str, bad))}: '
                               f'the series has {len(names)} patches')
        names = [n for k, n in enumerate(names, 1) if k in only]
    paths = [os.path.join(repo_dir, 'patches', n) for n in names]
    if fixes:
        fx = fix_names(repo_dir)
        if not fx:
            raise HarnessError(f'no fixes part: {FIXES}/series is missing or empty')
        # A fix that the series carries too (because a later patch of the
        # series needs it) is applied where the series has it, not twice.
        carried = {patch_subject(p) for p in paths}
        fx = [n for n in fx
              if patch_subject(os.path.join(repo_dir, FIXES, n)) not in carried]
        names = [f'{FIXES}/{n}' for n in fx] + names
        paths = [os.path.join(repo_dir, FIXES, n) for n in fx] + paths
    if os.path.isdir(os.path.join(repo, '.git', 'rebase-apply')):
        git(repo, 'am', '--abort', check=False, quiet=True)
    git(repo, 'checkout', '-q', '-f', '-B', branch, base_tag)
    git(repo, 'clean', '-q', '-fdx', quiet=True)
    for i, (n, p) in enumerate(zip(names, paths), 1):
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


def format_series(repo, base, branch, outdir, cover_text, prefix=None, since=None):
    """git format-patch the branch into outdir; deterministic output
    (prefix: the subject prefix, git's "PATCH" if None). With since (a
    descendant of base), only since..branch is formatted and the commits
    base..since are named as prerequisite-patch-id lines under
    base-commit, as for a series that depends on unmerged patches."""
    os.makedirs(outdir, exist_ok=True)
    git(repo, 'config', f'branch.{branch}.description', cover_text, quiet=True)
    start = since or base
    n = int(git_out(repo, 'rev-list', '--count', f'{start}..{branch}'))
    if n == 0:
        return []
    # core.abbrev pinned: by default git abbreviates the blob ids of the
    # 'index' lines to a length that grows with the repository's object
    # count, so a fresh base repository would regenerate different patches.
    run(['git', '-C', repo, '-c', 'core.abbrev=12', 'format-patch', '-q', '--zero-commit',
         '--cover-letter', '--cover-from-description=auto', f'--base={base}',
         '--signature=rethook-series', '-o', outdir,
         *([f'--subject-prefix={prefix}'] if prefix else []),
         f'{start}..{branch}'], quiet=True)
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


def format_fixes(repo, base, branch, outdir):
    """git format-patch the fixes branch into outdir: no cover letter
    (each fix stands alone), otherwise as format_series()."""
    os.makedirs(outdir, exist_ok=True)
    if int(git_out(repo, 'rev-list', '--count', f'{base}..{branch}')) == 0:
        return []
    run(['git', '-C', repo, '-c', 'core.abbrev=12', 'format-patch', '-q',
         '--no-numbered', '--zero-commit', f'--base={base}',
         '--signature=rethook-series',
         '-o', outdir, f'{base}..{branch}'], quiet=True)
    return sorted(os.listdir(outdir))


def export_fixes(repo, base, branch, repo_dir=REPO):
    """Replace fixes/ (patches and series) with the branch's patches."""
    fdir = os.path.join(repo_dir, FIXES)
    with tempfile.TemporaryDirectory() as tmp:
        names = format_fixes(repo, base, branch, tmp)
        if not names:
            raise HarnessError(f'{branch} has no commits on {base}: no fixes to export')
        for old in glob.glob(os.path.join(fdir, '*.patch')):
            os.unlink(old)
        os.makedirs(fdir, exist_ok=True)
        for f in names:
            shutil.copy(os.path.join(tmp, f), os.path.join(fdir, f))
    with open(os.path.join(fdir, 'series'), 'w') as f:
        f.write('# quilt series of the fixes part; generated by '
                'scripts/rth.py export --fixes\n')
        f.writelines(n + '\n' for n in names)
    log(f'exported {len(names)} fix(es) from {branch} to {fdir}')
    return names


def parse_range(text, where):
    """'19-28' or '19-22,24' -> [19, 20, ...]."""
    out = []
    for piece in text.split(','):
        a, _, b = piece.partition('-')
        try:
            lo, hi = int(a), int(b or a)
        except ValueError:
            raise HarnessError(f'{where}: "{text}" is not a patch range like 19-28')
        if lo > hi:
            raise HarnessError(f'{where}: range {piece} runs backwards')
        out += range(lo, hi + 1)
    return out


def read_parts(repo_dir=REPO):
    """The per-tree parts, in posting order: dicts with name, patches (series
    numbers), arches (the KUnit targets the part is built for), prefix
    (the subject prefix) and after (the parts it applies on, [] for the
    base alone). Format: 'name range arch,arch prefix words', and for a
    part that needs others: 'after name part,part' (parts listed earlier)."""
    parts, after = [], []
    path = os.path.join(repo_dir, PARTS_FILE)
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.split('#', 1)[0].strip()
            if not line:
                continue
            fields = line.split(None, 3)
            where = f'{PARTS_FILE}:{n}'
            if fields[0] == 'after':
                if len(fields) != 3:
                    raise HarnessError(f'{where}: want "after name part,part", '
                                       f'got "{line}"')
                after.append((where, fields[1], fields[2].split(',')))
                continue
            if len(fields) != 4:
                raise HarnessError(f'{where}: want "name range arches prefix", '
                                   f'got "{line}"')
            name, rng, arches, prefix = fields
            if not re.fullmatch(r'[a-z0-9-]+', name):
                raise HarnessError(f'{where}: part name "{name}": use a-z, 0-9, -')
            parts.append({'name': name, 'patches': parse_range(rng, where),
                          'arches': arches.split(','), 'prefix': prefix,
                          'after': []})
    order = [p['name'] for p in parts]
    for where, name, deps in after:
        if name not in order:
            raise HarnessError(f'{where}: no part named "{name}"')
        for dep in deps:
            if dep not in order[:order.index(name)]:
                raise HarnessError(f'{where}: part {name} can only come after a '
                                   f'part listed before it; "{dep}" is not')
        parts[order.index(name)]['after'] = deps
    return parts


def part_base_patches(part, parts):
    """Series numbers of the patches a part applies on (its 'after' parts',
    in series order); [] for a part that applies on the base alone."""
    by = {p['name']: p for p in parts}
    return sorted(k for dep in part['after'] for k in by[dep]['patches'])


def check_parts(parts, n_patches):
    """Every patch of the series in exactly one part, in series order
    within each part."""
    seen = {}
    for p in parts:
        if p['patches'] != sorted(p['patches']):
            raise HarnessError(f'part {p["name"]}: patches out of series order')
        for k in p['patches']:
            if k in seen:
                raise HarnessError(f'patch {k} is in parts {seen[k]} and {p["name"]}')
            if not 1 <= k <= n_patches:
                raise HarnessError(f'part {p["name"]}: patch {k}, but the series '
                                   f'has {n_patches}')
            seen[k] = p['name']
    missing = [k for k in range(1, n_patches + 1) if k not in seen]
    if missing:
        raise HarnessError('patches in no part (ci/parts): ' +
                           ', '.join(map(str, missing)))


def part_dir(i, part):
    return f'{i}-{part["name"]}'


def part_cover(part, repo_dir=REPO):
    path = os.path.join(repo_dir, PART_COVERS, part['name'] + '.txt')
    if not os.path.exists(path):
        raise HarnessError(f'part {part["name"]}: no cover letter template {path}')
    with open(path) as f:
        return render_cover(f.read(), cover_tables())


def _cherry_pick(wt, commit):
    """Cherry-pick commit in wt; None if it applied, else the failed run
    (the cherry-pick aborted)."""
    res = run(['git', *GIT_ID, '-C', wt, 'cherry-pick', '--allow-empty', commit],
              check=False, capture=True, quiet=True)
    if res.returncode == 0:
        return None
    git(wt, 'cherry-pick', '--abort', check=False, quiet=True)
    return res


def format_parts(repo, base, branch, outroot, repo_dir=REPO):
    """Each part as its own series: its patches cherry-picked onto the base
    (nothing else), then git format-patch with its own cover letter and
    subject prefix, into outroot/<i>-<name>/. A patch that does not apply
    without the other parts' patches is named."""
    parts = read_parts(repo_dir)
    commits = git_out(repo, 'rev-list', '--reverse', f'{base}..{branch}').split()
    check_parts(parts, len(commits))
    wt = ensure_worktree(repo, os.path.normpath(repo) + '-parts', base,
                         replace_foreign=True)
    out = {}
    try:
        for i, p in enumerate(parts, 1):
            pb = f'part-{p["name"]}'
            git(wt, 'checkout', '-q', '-f', '-B', pb, base, quiet=True)
            for k in part_base_patches(p, parts):
                res = _cherry_pick(wt, commits[k - 1])
                if res is not None:
                    raise HarnessError(f'part {p["name"]}: patch {k} of the parts '
                                       f'it comes after ({", ".join(p["after"])}) '
                                       f'does not apply:\n' + res.stdout[-1500:])
            since = git_out(wt, 'rev-parse', 'HEAD') if p['after'] else None
            for k in p['patches']:
                res = _cherry_pick(wt, commits[k - 1])
                if res is not None:
                    subj = git_out(repo, 'log', '-1', '--format=%s', commits[k - 1])
                    raise HarnessError(
                        f'part {p["name"]}: patch {k} ("{subj}") does not apply '
                        f'on the base with only the part\'s earlier patches'
                        + (f' and the parts it comes after' if p['after'] else '')
                        + ':\n' + res.stdout[-1500:])
            d = os.path.join(outroot, part_dir(i, p))
            out[part_dir(i, p)] = format_series(wt, base, pb, d, part_cover(p, repo_dir),
                                                prefix=p['prefix'], since=since)
    finally:
        git(wt, 'checkout', '-q', '-f', '--detach', base, quiet=True)
    return out


def export_parts(repo, base, branch, repo_dir=REPO):
    """Replace parts/ with the branch's parts (format_parts())."""
    pdir = os.path.join(repo_dir, PARTS)
    with tempfile.TemporaryDirectory() as tmp:
        made = format_parts(repo, base, branch, tmp, repo_dir)
        if os.path.isdir(pdir):
            shutil.rmtree(pdir)
        os.makedirs(pdir)
        for d, names in made.items():
            shutil.copytree(os.path.join(tmp, d), os.path.join(pdir, d))
            with open(os.path.join(pdir, d, 'series'), 'w') as f:
                f.write('# quilt series of this part; generated by '
                        'scripts/rth.py export\n')
                f.writelines(n + '\n' for n in names)
    log(f'exported {len(made)} part(s) to {pdir}: ' + ', '.join(made))
    return made


def part_patches(repo_dir=REPO):
    """{dir: [patch paths]} of parts/ as exported (cover letters left out)."""
    root = os.path.join(repo_dir, PARTS)
    out = {}
    for d in sorted(os.listdir(root)) if os.path.isdir(root) else []:
        names = read_series(os.path.join(root, d, 'series'))
        out[d] = [os.path.join(root, d, n) for n in names]
    return out


def am_part(repo, base, paths, branch, label):
    """git am a part's patch files on the base, on branch; a patch that does
    not apply is named."""
    if os.path.isdir(os.path.join(repo, '.git', 'rebase-apply')):
        git(repo, 'am', '--abort', check=False, quiet=True)
    git(repo, 'checkout', '-q', '-f', '-B', branch, base, quiet=True)
    for i, p in enumerate(paths, 1):
        res = run(['git', *GIT_ID, '-C', repo, 'am', '-q', '--keep-cr', p],
                  check=False, capture=True, quiet=True)
        if res.returncode != 0:
            git(repo, 'am', '--abort', check=False, quiet=True)
            raise HarnessError(f'part {label}: patch {i}/{len(paths)} '
                               f'{os.path.basename(p)} does not apply with git am '
                               f'on {base}:\n' + res.stdout[-1500:])
    return git_out(repo, 'rev-parse', 'HEAD')


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
    diffs = []
    if fix_names(repo_dir):
        apply_series(repo, base, repo_dir=repo_dir, branch='series-check',
                     fixes=True, series=False)
        with tempfile.TemporaryDirectory() as tmp:
            format_fixes(repo, base, 'series-check', tmp)
            diffs += _compare(os.path.join(repo_dir, FIXES), tmp, FIXES)
    apply_series(repo, base, repo_dir=repo_dir, branch='series-check')
    with open(COVER_TEMPLATE) as f:
        cover = render_cover(f.read(), cover_tables())
    with tempfile.TemporaryDirectory() as tmp:
        format_series(repo, base, 'series-check', tmp, cover)
        diffs += _compare(os.path.join(repo_dir, 'patches'), tmp, 'patches')
    if os.path.exists(os.path.join(repo_dir, PARTS_FILE)):
        with tempfile.TemporaryDirectory() as tmp:
            made = format_parts(repo, base, 'series-check', tmp, repo_dir)
            have = set(os.listdir(os.path.join(repo_dir, PARTS))) \
                if os.path.isdir(os.path.join(repo_dir, PARTS)) else set()
            for d in sorted(have - set(made)):
                diffs.append(f'{PARTS}/{d} would not be generated')
            for d in made:
                diffs += _compare(os.path.join(repo_dir, PARTS, d),
                                  os.path.join(tmp, d), f'{PARTS}/{d}')
    return diffs


def _compare(pdir, tmp, label):
    """Differences between the *.patch files of pdir and of tmp."""
    diffs = []
    have = sorted(os.path.basename(p) for p in glob.glob(os.path.join(pdir, '*.patch')))
    want = sorted(os.listdir(tmp))
    for n in sorted(set(have) | set(want)):
        a = os.path.join(pdir, n)
        b = os.path.join(tmp, n)
        if n not in want:
            diffs.append(f'{label}/{n} would not be generated')
        elif n not in have:
            diffs.append(f'{label}/{n} is missing (regeneration makes it)')
        else:
            with open(a) as fa, open(b) as fb:
                if fa.read() != fb.read():
                    r = run(['diff', '-u', a, b], check=False,
                            capture=True, quiet=True).stdout
                    diffs.append(f'{label}/{n} differs from regeneration:'
                                 f'\n{r[:1500]}')
    return diffs
