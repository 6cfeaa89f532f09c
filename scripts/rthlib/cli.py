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
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile

from rthlib.base import DEBIAN_SUITE, check_version, ensure_base, read_kernel_version
from rthlib.boots import format_table as boots_table, run_boots, variant_target
from rthlib.qemu import qemu_flavour
from rthlib.build import build, build_root, built_from, lock_build_dir
from rthlib.common import HarnessError, REPO, cache_dir, git, git_out, log, run
from rthlib.kunit import run_targets
from rthlib.origin import report_origin, series_paths
from rthlib.mails import (COVER_TEMPLATE, SERIES_WIDE_FILES, add_headers,
                          cover_tables, get_maintainer, merge_recipients,
                          render_cover, split_recipients)
from rthlib.kconfig import configure
from rthlib.patchcheck import checkpatch, sees_change, w1_warnings
from rthlib.series import (FIXES, PARTS, PARTS_FILE, am_part, apply_series, check_export,
                           export_fixes, export_parts, export_series,
                           part_patches, quilt_check, read_parts, read_series)
from rthlib.targets import load_targets, make_cmd, select_targets


def cmd_tree(args):
    """Build, boot and judge targets from any kernel tree, as it is."""
    src = os.path.abspath(args.src)
    check_version(src)
    out = args.results or os.path.join(build_root(), 'tree-results.json')
    return run_targets(src, select_targets(args.targets), args.timeout, out,
                       {'src': src, 'qemu': {t.name: qemu_flavour(t) for t in select_targets(args.targets)},
                        'accel': {t.name: t.accel or 'mttcg' for t in select_targets(args.targets)}})


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
                       {'base': tag, 'patches': names_applied,
                        'qemu': {n: qemu_flavour(targets[n]) for n in names},
                        'accel': {n: targets[n].accel or 'mttcg' for n in names}})


def cmd_each(args):
    """Build every prefix of the series on each arch; checkpatch each patch."""
    targets = select_targets(args.targets)
    repo, tag = ensure_base()
    if args.fixes:
        # the fixes part alone on the base, as its own posting applies
        names = apply_series(repo, tag, fixes=True, series=False)
    else:
        names = apply_series(repo, tag)
    commits = git_out(repo, 'rev-list', '--reverse', f'{tag}..series').split()
    if len(commits) != len(names):
        raise HarnessError('series branch and series file disagree')
    table = []
    ok = True
    for k, (name, commit) in enumerate(zip(names, commits), 1):
        if args.first and k < args.first:
            continue
        if args.last and k > args.last:
            break
        git(repo, 'checkout', '-q', '-f', commit, quiet=True)
        row = {'patch': name}
        cp_ok, summary = checkpatch(repo, os.path.join(
            REPO, name if args.fixes else os.path.join('patches', name)))
        noted = 'explained' in summary or 'no mainline history' in summary
        row['checkpatch'] = ('ok*' if noted else 'ok') if cp_ok else 'FAIL'
        if cp_ok and noted:
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
    out = os.path.join(cache_dir(), 'each-fix.json' if args.fixes else 'each-patch.json')
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
    if not args.origin:
        return 0
    upstream = '.'.join(map(str, read_kernel_version(repo)))
    texts = []
    for n in read_series(os.path.join(REPO, 'series')):
        with open(os.path.join(REPO, 'patches', n)) as f:
            texts.append(f.read())
    lines, compared = report_origin(repo, tag, upstream, series_paths(texts),
                                    os.path.join(cache_dir(), 'state'),
                                    DEBIAN_SUITE)
    text = '\n'.join(lines) + '\n'
    print(text, end='')
    if args.out:
        with open(args.out, 'w') as f:
            f.write(text)
    return 0 if compared else 1


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


def cmd_boots(args):
    """Boot one target many times under one emulator setup (rthlib/boots.py)."""
    out = args.results or os.path.join(build_root(), 'boots.json')
    if args.table:
        if args.target:
            raise HarnessError('boots --table takes no target (it runs nothing)')
        try:
            with open(out) as f:
                print(boots_table(json.load(f)), end='')
        except (OSError, ValueError) as e:
            raise HarnessError(f'cannot read {out}: {e}')
        return 0
    if not args.target:
        raise HarnessError('boots: name a target (or --table)')
    (target,) = select_targets([args.target])
    target = variant_target(target, args.smp, args.cpu,
                                  [f for f in (args.drop or '').split(',') if f],
                                  [f for f in (args.add or '').split(',') if f],
                                  args.llvm)
    accel = args.accel or target.accel or 'mttcg'
    if args.src and (args.fixes or args.base_only or args.only):
        raise HarnessError('boots --src builds that tree as it is: it takes no '
                           '--fixes, --base-only or --only')
    if args.src:
        src = os.path.abspath(args.src)
        check_version(src)
        meta = {'src': src}
    else:
        repo, tag = ensure_base()
        only = None
        if args.only:
            try:
                only = [int(k) for k in args.only.split(',')]
            except ValueError:
                raise HarnessError(f'--only {args.only}: want patch numbers, e.g. 21,22')
        if args.base_only and not args.fixes:
            git(repo, 'checkout', '-q', '-f', '-B', 'series', tag)
            names = []
        else:
            names = apply_series(repo, tag, only=only, fixes=args.fixes,
                                 series=not args.base_only)
        src = repo
        meta = {'base': tag, 'patches': names}
    # the default label names everything that makes this run differ from
    # another, so that two setups never share (and overwrite) one entry
    tree = ('src-' + os.path.basename(src.rstrip('/')) if args.src else
            ('base' if args.base_only else
             'patches' + args.only.replace(',', '+') if args.only else 'series')
            + ('+fixes' if args.fixes else ''))
    label = args.label or '-'.join(
        [target.name, tree, f'smp{target.smp}'] +
        ([f'cpu-{target.cpu}'] if target.cpu else []) +
        [accel, 'qemu-' + qemu_flavour(target)])
    entry = run_boots(src, target, args.count, args.timeout, accel,
                      label, out, meta,
                      partial=bool(args.base_only or args.only or args.src))
    print(boots_table([entry]))
    log(f'results written to {out}')
    return 0 if entry['clean'] == entry['count'] else 1


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
    if args.fixes:
        export_fixes(args.repo or repo, args.base or tag, args.branch)
    else:
        export_series(args.repo or repo, args.base or tag, args.branch)
        if os.path.exists(os.path.join(REPO, PARTS_FILE)):
            export_parts(args.repo or repo, args.base or tag, args.branch)
    return 0


# Files a part may touch that Kbuild does not build from the kernel's
# Makefiles: the BPF selftests, host tools, documentation
NOT_KBUILD = ('tools/', 'scripts/', 'Documentation/', 'usr/')


def kbuild_object(src):
    """What Kbuild makes of a source file in its directory: foo.lds.S ->
    foo.lds, asm-offsets.c -> asm-offsets.s, anything else foo.o."""
    if src.endswith('.lds.S'):
        return src[:-2]
    if os.path.basename(src) == 'asm-offsets.c':
        return src[:-2] + '.s'
    return src[:-2] + '.o'


def compile_part_objects(repo, target, paths, label, series_head=None):
    """Compile, in target's KUnit build directory, the directories of the
    .c and .S files that a part's own patches touch (make DIR/: what the
    part's configuration builds there, nothing else; a file the series
    enables but the part alone does not, arm64's rethook.c in the tracing
    part, is left out as a build of the part leaves it out): a minute,
    where a full build of each part costs a cold CI run half an hour (its
    headers change most of the kernel's objects). Only a compile: a link
    error, or a header change that breaks a file outside these
    directories, is for the full build (parts --build, the main job).

    'ok (N objects)' with N the touched files' objects make built (each
    is deleted first, so one that is there afterwards was built for this
    configuration), or 'none in config'. When the directory holds the
    series' own build (series_head: the commit rth.py kunit built there,
    .rth-built-from) and that build compiled none of the files (no
    .NAME.o.cmd), 'none in config' without configuring the part."""
    files = []
    for pth in paths:
        with open(pth, errors='replace') as f:
            files += re.findall(r'^diff --git a/(\S+) b/', f.read(), re.M)
    srcarch = 'x86' if target.arch in ('x86_64', 'i386') else target.arch
    srcs = sorted({f for f in files if f.endswith(('.c', '.S')) and
                   not f.startswith(NOT_KBUILD) and
                   (not f.startswith('arch/') or f.startswith(f'arch/{srcarch}/'))})
    if not srcs:
        log(f'part {label} on {target.name}: none of its files is a .c or .S '
            f'file of the kernel\'s build for this arch')
        return 'none in config'
    b = os.path.join(build_root(), target.name)
    lock = lock_build_dir(b)
    try:
        return _compile_part_locked(repo, target, srcs, label, series_head,
                                    b, lock)
    finally:
        os.close(lock)


def _compile_part_locked(repo, target, srcs, label, series_head, b, lock):
    objs = {f: kbuild_object(f) for f in srcs}
    # A part's configuration is the series' but for what later patches
    # select, so a file the series' build never compiled is, as a rule,
    # not compiled for the part either (the bpf part on the KUnit targets:
    # no BPF). Half a minute per target saved; only on the series' build.
    if series_head and built_from(b) == series_head and not any(
            os.path.exists(os.path.join(b, os.path.dirname(o),
                                        '.' + os.path.basename(o) + '.cmd'))
            for o in objs.values()):
        log(f'part {label} on {target.name}: the series\' build of '
            f'{target.name} ({series_head[:12]}) compiled none of '
            f'{" ".join(srcs)}; the part is not configured')
        return 'none in config'
    configure(repo, b, target, allow_undefined=True)
    for o in objs.values():
        if os.path.exists(os.path.join(b, o)):
            os.unlink(os.path.join(b, o))
    dirs = sorted({os.path.dirname(f) + '/' for f in srcs})
    res = run(make_cmd(repo, b, target, *dirs), check=False, capture=True,
              quiet=True, pass_fds=(lock,))
    if res.returncode != 0:
        out = ((res.stdout or '') + (res.stderr or '')).splitlines()
        errs = [ln for ln in out if 'error' in ln.lower()]
        raise HarnessError(f'part {label}: {" ".join(dirs)} do not compile:\n  '
                           + '\n  '.join((errs or out)[-20:]))
    built = [o for o in objs.values() if os.path.exists(os.path.join(b, o))]
    if not built:
        log(f'part {label} on {target.name}: its configuration builds none '
            f'of {" ".join(srcs)} (make {" ".join(dirs)})')
        return 'none in config'
    bdirs = sorted({os.path.dirname(o) + '/' for o in built})
    log(f'part {label} on {target.name}: {" ".join(bdirs)} compiled, with '
        f'the part\'s {" ".join(built)}')
    return f'ok ({len(built)} objects)'


def cmd_parts(args):
    """Each per-tree part (parts/) with git am on the base alone; with
    --build, built for the KUnit targets of the arches it names."""
    repo, tag = ensure_base()
    if args.no_export_check:
        log('patches/ and parts/ not compared with their regeneration here '
            '(--no-export-check: the caller has just done it)')
    else:
        diffs = check_export(repo, tag)
        if diffs:
            raise HarnessError('patches/ or parts/ is not what regeneration '
                               'from git produces:\n' + '\n'.join(diffs))
    made = part_patches()
    defs = read_parts()
    if len(made) != len(defs):
        raise HarnessError(f'{PARTS}/ has {len(made)} part(s), ci/parts {len(defs)}: '
                           f'run scripts/rth.py export BRANCH')
    # the commit rth.py kunit built the series at (.rth-built-from of the
    # build directories): compile_part_objects() trusts only its builds
    series_head = run(['git', '-C', repo, 'rev-parse', '-q', '--verify',
                       'series^{commit}'], check=False, capture=True,
                      quiet=True).stdout.strip() or None
    rows, ok = [], True
    try:
        dirs = {p['name']: d for d, p in zip(made, defs)}
        for (d, paths), p in zip(made.items(), defs):
            row = {'part': d, 'patches': len(paths)}
            # a part that comes after others is applied on them, as its
            # cover letter (and base-commit/prerequisite-patch-id) says
            under = [x for dep in p['after'] for x in made[dirs[dep]]]
            try:
                head = am_part(repo, tag, under + paths, f'part-{p["name"]}', d)
                row['git am'] = 'ok'
                log(f'part {d}: {len(paths)} patch(es) applied with git am on '
                    f'{tag} ' + (f'after the parts {", ".join(p["after"])}'
                                 if p['after'] else 'alone') + f' ({head[:12]})')
            except HarnessError as e:
                row['git am'] = 'FAIL'
                ok = False
                log(str(e))
                rows.append(row)
                continue
            if args.build or args.objects:
                for t in select_targets(p['arches']):
                    try:
                        if args.build:
                            build(repo, t, allow_undefined=True)
                            row[t.name] = 'ok'
                        else:
                            row[t.name] = compile_part_objects(
                                repo, t, paths, d, series_head)
                    except HarnessError as e:
                        row[t.name] = 'FAIL'
                        ok = False
                        log(f'part {d} on {t.name}: {str(e)[:2000]}')
            rows.append(row)
    finally:
        git(repo, 'checkout', '-q', '-f', 'series', quiet=True, check=False)
    for r in rows:
        print('  '.join(f'{k}={v}' for k, v in r.items()), flush=True)
    cells = [v for r in rows for k, v in r.items() if k not in ('part', 'patches')]
    n_fail = sum(1 for v in cells if v == 'FAIL')
    out = os.path.join(cache_dir(), 'parts.json')
    with open(out, 'w') as f:
        json.dump({'base': tag, 'build': 'full' if args.build else
                   'objects' if args.objects else False, 'rows': rows}, f, indent=1)
    print(f'parts: {len(cells) - n_fail} passed, {n_fail} failed')
    return 0 if ok else 1


def cmd_cover(args):
    with open(COVER_TEMPLATE) as f:
        print(render_cover(f.read(), cover_tables()), end='')
    return 0


MAILS_MARK = '.rth-mails'


def _sha(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def _files_under(d):
    out = []
    for root, _, files in os.walk(d):
        out += [os.path.relpath(os.path.join(root, f), d) for f in files]
    return sorted(f for f in out if f != MAILS_MARK)


def install_mail_dir(staging, out):
    """Move the mails written in staging to out. out may be new, empty, or
    what an earlier run installed and nobody changed since (MAILS_MARK
    lists each file with its sha256); its files are then replaced, so no
    mail of an older series stays. Anything else in out -- a file the
    user edited (the sign-off the mails ask for) or added, or a directory
    rth.py never wrote -- stops it: out is left as it was and the new
    mails stay in staging, which the error names."""
    if os.path.lexists(out) and not os.path.isdir(out):
        raise HarnessError(f'{out} exists and is not a directory; the new mails '
                           f'are in {staging}')
    old = _files_under(out) if os.path.isdir(out) else []
    if old:
        mark = os.path.join(out, MAILS_MARK)
        if not os.path.exists(mark):
            raise HarnessError(f'{out} is not empty and was not written by rth.py '
                               f'mails: nothing in it was changed; the new mails '
                               f'are in {staging}')
        with open(mark) as f:
            manifest = json.load(f)
        changed = [f for f in old if manifest.get(f) != _sha(os.path.join(out, f))]
        if changed:
            raise HarnessError(f'{out}: {len(changed)} file(s) changed or added '
                               f'since rth.py mails wrote it ({", ".join(changed[:5])}'
                               f'{", ..." if len(changed) > 5 else ""}): nothing in '
                               f'it was changed; the new mails are in {staging}')
        for f in old:
            os.unlink(os.path.join(out, f))
        for root, dirs, _ in os.walk(out, topdown=False):
            for d in dirs:
                if not os.listdir(os.path.join(root, d)):
                    os.rmdir(os.path.join(root, d))
        log(f'{out}: replaced the {len(old)} mail file(s) of an earlier run')
    os.makedirs(out, exist_ok=True)
    manifest = {}
    for f in _files_under(staging):
        dst = os.path.join(out, f)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.move(os.path.join(staging, f), dst)
        manifest[f] = _sha(dst)
    with open(os.path.join(out, MAILS_MARK), 'w') as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
    shutil.rmtree(staging, ignore_errors=True)


def write_mails(repo, patch_dir, names, out, wide, title):
    """Write patch_dir's cover letter and patches (names) into out with
    To/Cc from get_maintainer.pl plus the wide recipients; return the
    report lines (per patch) and the set of distinct addresses."""
    os.makedirs(out, exist_ok=True)
    per = []
    for n in names:
        to_cc = merge_recipients(split_recipients(get_maintainer(
            repo, os.path.join(patch_dir, n))), wide)
        per.append((n, to_cc))
    cover_to_cc = merge_recipients(*[tc for _, tc in per])
    report = [f'## {title}', '']
    addrs = set()
    for n, (to, cc) in [('0000-cover-letter.patch', cover_to_cc)] + per:
        with open(os.path.join(patch_dir, n)) as f:
            mail = add_headers(f.read(), to, cc)
        with open(os.path.join(out, n), 'w') as f:
            f.write(mail)
        addrs.update(to + cc)
        report += [f'### {n}', f'To: {", ".join(to)}', f'Cc: {", ".join(cc)}', '']
    report.insert(1, f'would have sent {len(per) + 1} mail(s) (cover letter '
                     f'and {len(per)} patch(es)) to {len(addrs)} distinct '
                     f'address(es)')
    return report, addrs


def cmd_mails(args):
    """The would-be mails: patches/ (and with --parts, each part of parts/)
    with To/Cc from get_maintainer.pl. Nothing is sent."""
    repo, _ = ensure_base()
    final = os.path.abspath(args.out)
    os.makedirs(os.path.dirname(final), exist_ok=True)
    # written beside OUT first: a failure half-way leaves OUT as it was
    out = tempfile.mkdtemp(prefix='.rth-mails-', dir=os.path.dirname(final))
    try:
        wide = split_recipients(get_maintainer(
            repo, *[a for f in SERIES_WIDE_FILES for a in ('-f', f)]))
        sets = [('the whole series (patches/)', os.path.join(REPO, 'patches'),
                 read_series(os.path.join(REPO, 'series')), out)]
        if args.parts:
            parts = part_patches()
            if not parts:
                raise HarnessError(f'{os.path.join(REPO, PARTS)}: no exported '
                                   f'parts; run rth.py export first')
            for part, paths in parts.items():
                d = os.path.join(REPO, PARTS, part)
                sets.append((f'part {part} (parts/{part}/)', d,
                             [os.path.basename(x) for x in paths],
                             os.path.join(out, 'parts', part)))
        report = ['# Would-be mails (nothing sent); recipients from '
                  'scripts/get_maintainer.pl --no-git on each patch, plus '
                  'the maintainers of ' + ', '.join(SERIES_WIDE_FILES) +
                  ' on every patch', '']
        total = 0
        for title, d, names, o in sets:
            if not names:
                raise HarnessError(f'{d}: series is empty: nothing to mail')
            lines, _ = write_mails(repo, d, names, o, wide, title)
            report += lines
            total += len(names) + 1
        with open(os.path.join(out, 'recipients.md'), 'w') as f:
            f.write('\n'.join(report) + '\n')
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    install_mail_dir(out, final)
    print('\n'.join(report))
    log(f'{total} mail(s) under {final} ({final}/recipients.md); read them, then '
        f'send with git send-email (after adding your Signed-off-by)')
    return 0


def add_boot_options(p):
    """--timeout (seconds per boot, RTH_BOOT_TIMEOUT) and --results, for
    the subcommands that boot kernels."""
    p.add_argument('--timeout', type=int,
                   default=int(os.environ.get('RTH_BOOT_TIMEOUT', '300')))
    p.add_argument('--results', help='JSON results file')


def main(argv=None):
    ap = argparse.ArgumentParser(prog='rth', description=__doc__.split('\n')[0])
    sub = ap.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('base', help='fetch/unpack the base tree, print it')
    p.add_argument('--origin', action='store_true',
                   help="compare the base with Debian's source package of "
                   'the same upload (orig tarball and debian/patches); '
                   'exits 1 if the archive does not serve it')
    p.add_argument('--out', help='with --origin: also write the report here')
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
    add_boot_options(p)
    p.set_defaults(fn=cmd_kunit)
    p = sub.add_parser('each', help='build every prefix of the series on '
                       'each target and run checkpatch --strict per patch')
    p.add_argument('targets', nargs='*', default=['x86_64', 'i386', 'arm64'])
    p.add_argument('--first', type=int, help='start at patch K')
    p.add_argument('--last', type=int, help='stop after patch K')
    p.add_argument('--fixes', action='store_true',
                   help=f'the fixes part ({FIXES}/) alone on the base instead')
    p.set_defaults(fn=cmd_each)
    p = sub.add_parser('export', help='regenerate patches/ and series from '
                       'a git branch (--check: compare instead)')
    p.add_argument('branch', nargs='?')
    p.add_argument('--repo', help='git repo holding the branch (default: cache)')
    p.add_argument('--base', help='base commit (default: the base tag)')
    p.add_argument('--check', action='store_true')
    p.add_argument('--fixes', action='store_true',
                   help=f'export the branch as the fixes part ({FIXES}/) instead')
    p.set_defaults(fn=cmd_export)
    p = sub.add_parser('parts', help='git am each per-tree part (parts/) on the '
                       'base alone; --build: build it for its arches')
    g = p.add_mutually_exclusive_group()
    g.add_argument('--build', action='store_true',
                   help='also build each part for the targets ci/parts names')
    g.add_argument('--objects', action='store_true',
                   help='also compile, for those targets, the objects of the '
                   'files each part touches that their configurations build '
                   '(the test command; --build is the main job\'s)')
    p.add_argument('--no-export-check', action='store_true',
                   help='do not compare patches/ and parts/ with their '
                   'regeneration from git (a minute; for a caller that has '
                   'just done it, as rth.py kunit does)')
    p.set_defaults(fn=cmd_parts)

    p = sub.add_parser('tree', help='build, boot and judge targets of a given '
                       'tree (no series applied; for developing patches)')
    p.add_argument('targets', nargs='+')
    p.add_argument('--src', required=True)
    add_boot_options(p)
    p.set_defaults(fn=cmd_tree)
    p = sub.add_parser('boots', help='boot one target N times under one '
                       'emulator setup; count clean boots, oopses, failures, hangs')
    p.add_argument('target', nargs='?')
    p.add_argument('--table', action='store_true',
                   help='print the table of the results file; no run')
    p.add_argument('--count', type=int, default=20)
    p.add_argument('--src', help='kernel tree as it is (default: the base with the series)')
    p.add_argument('--base-only', action='store_true', help='the unpatched base')
    p.add_argument('--only', help='apply only these patches of the series, e.g. 21,22')
    p.add_argument('--fixes', action='store_true',
                   help=f'apply the fixes part ({FIXES}/) first (with --base-only: alone)')
    p.add_argument('--accel', choices=('mttcg', 'single'), help='mttcg (QEMU default) or single '
                   '(-accel tcg,thread=single); default: the target\'s '
                   'accel= option, else mttcg')
    p.add_argument('--smp', type=int, help='CPUs instead of the target\'s')
    p.add_argument('--cpu', help='QEMU -cpu model instead of the target\'s')
    p.add_argument('--drop', help='fragments to leave out, e.g. kasan')
    p.add_argument('--add', help='fragments to add after the target\'s, e.g. opt-size')
    p.add_argument('--llvm', help='build with clang of this version suffix, e.g. -19')
    p.add_argument('--label', help='name of this variant in the results')
    add_boot_options(p)
    p.set_defaults(fn=cmd_boots)
    p = sub.add_parser('cover', help='print the cover letter text (with '
                       'the latest bench tables), e.g. for b4 prep --edit-cover')
    p.set_defaults(fn=cmd_cover)
    p = sub.add_parser('mails', help='the would-be mails: patches/ with '
                       'To/Cc from get_maintainer.pl (nothing is sent)')
    p.add_argument('--out', default=os.path.join(cache_dir(), 'mails'))
    p.add_argument('--parts', action='store_true',
                   help='also each per-tree part of parts/, in OUT/parts/')
    p.set_defaults(fn=cmd_mails)
    args = ap.parse_args(argv)
    try:
        return args.fn(args)
    except HarnessError as e:
        print(f'rth: error: {e}', file=sys.stderr)
        return 2
