# SPDX-License-Identifier: GPL-2.0
"""The peer suites, base vs patched, x86_64 and arm64, in QEMU (TCG).

For each arch: build the base and the patched peer-suites kernel (the bench
config plus kconfig-fragments/peer-suites.config, ci/peer-targets) with the
selftests' test modules built against each, build the base tree's BPF
test_progs statically with only the tests in rthlib.peer.PEER_TESTS, pack
it with busybox, Debian's bash-static and the ftrace selftests into an
initramfs, and boot each kernel once per suite: test_progs -a TESTS, and
ftracetest on test.d/kprobe, test.d/dynevent and the function-graph tests
of test.d/ftrace. A test that fails on the patched kernel and passed on
the base is a new failure: it is printed and the exit status is 1.

Results: results/peer-suites.json (schema 1) when every arch, suite and
both kernels ran; <cache>/bench/peer-results.json always.
--config distro: the same kernels with the preemption model of Debian's
own 7.3 kernel merged last (rthlib/distro.py, as bench.py --config
distro), own cache and build directories, results in
<cache>/bench/peer-results-distro.json only.
"""

import argparse
import json
import os
import shlex
import sys
import time

from rthlib import distro
from rthlib.base import ensure_base
from rthlib.bench import kernel, save, series_files_hash, series_hash
from rthlib.common import HarnessError, REPO, bench_cache, log, require
from rthlib.peer import (BENCH_KERNEL_EXPECTED, FTRACE_DIRS, PEER_TESTS, SUITES,
                         bench_kernel_unexpected, boot_suite, check_test_files,
                         ftrace_cases,
                         ftrace_tree, make_peer_initramfs, new_failures, new_skips,
                         peer_kernel, test_progs_binary)
from rthlib.targets import QEMU_CPU_RE

ARCHES = ['x86_64', 'arm64']
KERNELS = ['base', 'patched']
LATEST = os.path.join(REPO, 'results', 'peer-suites.json')


def split_list(s, allowed, what):
    vals = [v for v in s.split(',') if v]
    bad = [v for v in vals if v not in allowed]
    if bad or not vals:
        raise HarnessError(f'unknown {what} {", ".join(bad) or "(none)"}; '
                           f'known: {", ".join(allowed)}')
    return vals


def main(argv=None):
    ap = argparse.ArgumentParser(prog='peer-suites',
                                 description=__doc__.split('\n')[0])
    ap.add_argument('--arch', default=','.join(ARCHES),
                    help='comma-separated arches (default: %(default)s)')
    ap.add_argument('--suites', default=','.join(SUITES),
                    help='comma-separated suites (default: %(default)s)')
    ap.add_argument('--kernels', default=','.join(KERNELS),
                    help='base and/or patched (default: %(default)s)')
    ap.add_argument('--tests', default=','.join(PEER_TESTS),
                    help='test_progs test files (prog_tests/NAME.c) to build '
                         'and run (default: the list in rthlib/peer.py)')
    ap.add_argument('--timeout', type=int, default=2400,
                    help='seconds per boot (one suite) (default: %(default)s)')
    ap.add_argument('--cpu', metavar='MODEL',
                    help='QEMU CPU model (default: the bench\'s pinned one)')
    ap.add_argument('--config', choices=['bench', 'distro'], default='bench',
                    help='distro: the peer kernels with the preemption model '
                    'of Debian\'s linux-config-7.3 merged last (own cache; '
                    'never results/peer-suites.json) (default: %(default)s)')
    ap.add_argument('--bench-kernel', action='store_true',
                    help='CI: ftracetest ' + ' '.join(FTRACE_DIRS) + ' only, '
                         'on the x86_64 patched bench kernel (ci/bench-targets; '
                         'the one the bench smoke builds) instead of the '
                         'peer-suites kernels')
    ap.add_argument('--results', help='results JSON (default '
                    '<cache>/bench/peer-results.json; also '
                    'results/peer-suites.json after a full run)')
    ap.add_argument('--table', action='store_true',
                    help='only print the table of the results file (default '
                         'results/peer-suites.json); no run')
    args = ap.parse_args(argv)
    if args.table:
        path = args.results or LATEST
        try:
            with open(path) as f:
                print(format_table(json.load(f)))
        except (OSError, ValueError) as e:
            print(f'peer-suites: error: cannot read {path}: {e}', file=sys.stderr)
            return 2
        return 0
    try:
        return peer_main(args, argv if argv is not None else sys.argv[1:])
    except HarnessError as e:
        print(f'peer-suites: error: {e}', file=sys.stderr)
        return 2
    except Exception as e:          # exit 1 means a new failure, not this
        import traceback
        traceback.print_exc()
        print(f'peer-suites: error: {type(e).__name__}: {e}', file=sys.stderr)
        return 2


def peer_main(args, argv):
    if args.bench_kernel:
        args.arch, args.suites, args.kernels = 'x86_64', 'ftracetest', 'patched'
    arches = split_list(args.arch, ARCHES, 'arch')
    suites = split_list(args.suites, SUITES, 'suite')
    kernels = split_list(args.kernels, KERNELS, 'kernel')
    tests = [t for t in args.tests.split(',') if t]
    if args.cpu is not None and not QEMU_CPU_RE.fullmatch(args.cpu):
        raise HarnessError(f'--cpu {args.cpu!r}: want a QEMU CPU model with '
                           f'optional properties, e.g. max,pauth-impdef=on')
    require('git', 'make', 'gcc', 'dpkg-deb')
    t_start = time.time()
    repo, tag = ensure_base()
    if 'test_progs' in suites:
        check_test_files(repo, tag, tests)      # before any build
    shash = series_hash()
    if args.config == 'distro' and args.bench_kernel:
        raise HarnessError('--config distro builds the peer kernels; it does '
                           'not apply to --bench-kernel')
    full = (set(arches) == set(ARCHES) and set(suites) == set(SUITES) and
            set(kernels) == set(KERNELS) and not args.bench_kernel and
            tests == PEER_TESTS and not args.cpu and args.config == 'bench')
    results = {'schema': 1, 'date': time.strftime('%Y-%m-%dT%H:%M:%S%z'),
               'argv': ' '.join(['scripts/peer-suites'] + [shlex.quote(a) for a in argv]),
               'base': tag, 'series_hash': series_files_hash(),
               'series_code_hash': shash, 'arches': {}, 'errors': []}
    new_all, skips_all = [], []
    default_path = args.results or os.path.join(
        bench_cache(), 'peer-results-bench-kernel.json' if args.bench_kernel
        else 'peer-results-distro.json' if args.config == 'distro'
        else 'peer-results.json')
    for arch in arches:
        a = results['arches'].setdefault(arch, {})
        try:
            ks = {}
            kw = {}
            if args.config == 'distro':
                frag, desc = distro.fragment(arch)
                results.setdefault('config', {})[arch] = desc
                log(f'{arch}: distro-like preemption model from {desc}')
                kw = {'kind': 'peer-distro', 'extra_fragments': [frag]}
            for which in (['base'] if 'base' in kernels else []) + \
                    [k for k in kernels if k != 'base']:
                if args.bench_kernel:
                    ks[which] = kernel(arch, which, repo, tag, shash)
                else:
                    ks[which] = peer_kernel(arch, which, repo, tag, shash, **kw)
            ftrace_dir = ftrace_tree(repo, tag)
            cases = FTRACE_DIRS if args.bench_kernel else ftrace_cases(ftrace_dir)
            tp_dir, names = None, []
            if 'test_progs' in suites:
                # vmlinux.h from the base kernel's BTF (the patched one's
                # when only the patched kernel runs)
                tp_dir, names = test_progs_binary(arch, repo, tag,
                                                  ks.get('base') or ks['patched'], tests)
            for which, k in ks.items():
                # the CI run (--bench-kernel) has its own file names, so
                # that it does not replace a full run's initramfs and logs
                kind = ('peer-bench' if args.bench_kernel else
                        'peer-distro' if args.config == 'distro' else 'peer')
                initrd = os.path.join(bench_cache(), f'{kind}-initramfs-{arch}-{which}.cpio')
                make_peer_initramfs(arch, k.dir, tp_dir, ftrace_dir, initrd,
                                    with_kmods=not args.bench_kernel)
                for suite in suites:
                    logf = os.path.join(bench_cache(), 'logs',
                                        f'{kind}-{arch}-{which}-{suite}.log')
                    os.makedirs(os.path.dirname(logf), exist_ok=True)
                    log(f'peer-suites: {arch} {which} {suite}: running '
                        f'(console {logf})')
                    res, errs = boot_suite(arch, which, k, initrd, suite, names,
                                           cases, logf, args.timeout, args.cpu)
                    a.setdefault(suite, {})[which] = res
                    results['errors'] += errs
                    for e in errs:
                        log(f'peer-suites: {e}')
                    log(f'peer-suites: {arch} {which} {suite}: {res["pass"]} passed, '
                        f'{res["fail"]} failed, {res["skip"]} skipped in '
                        f'{res["seconds"]} s' + (f'; failed: {", ".join(res["failed"])}'
                                                 if res['failed'] else ''))
                    save(results, default_path)
        except HarnessError as e:
            results['errors'].append(f'{arch}: {e}')
            log(f'peer-suites: {arch}: error: {e}')
        for suite, s in a.items():
            if 'base' in s and 'patched' in s:
                s['new_failures'] = new_failures(s['base'], s['patched'])
                s['new_skips'] = new_skips(s['base'], s['patched'])
                new_all += [f'{arch} {suite} {n}' for n in s['new_failures']]
                skips_all += [f'{arch} {suite} {n}' for n in s['new_skips']]
    results['seconds'] = round(time.time() - t_start)
    path = default_path
    save(results, path)
    print(format_table(results))
    if full and not results['errors']:
        save(results, LATEST)
        log(f'peer-suites: results in {path} and {LATEST}')
    else:
        log(f'peer-suites: results in {path}' + ('' if full else
            ' (not a full run: results/peer-suites.json is left as it is)'))
    if skips_all:
        print('peer-suites: note: passed on base, skipped on patched:\n  ' +
              '\n  '.join(skips_all), file=sys.stderr)
    # errors first: a patched kernel that crashed part way leaves tests
    # without a result, which are not new failures; the crash is the news
    if results['errors']:
        print('peer-suites: errors:\n  ' + '\n  '.join(
            e.splitlines()[0] for e in results['errors']), file=sys.stderr)
    if new_all:
        print('peer-suites: NEW FAILURES (failed on patched, passed on base):\n  ' +
              '\n  '.join(new_all), file=sys.stderr)
        return 1
    if results['errors']:
        return 2
    if args.bench_kernel:
        s = results['arches']['x86_64']['ftracetest']['patched']
        bad, missing = bench_kernel_unexpected(s)
        for n in s['failed']:
            if n not in dict(bad):
                log(f'peer-suites: expected on the bench config: {n}: '
                    f'{BENCH_KERNEL_EXPECTED[n][1]}')
        if bad or missing:
            print('peer-suites: ftracetest on the bench kernel:\n  ' +
                  '\n  '.join([f'{n}: {w}' for n, w in bad] +
                               [f'{n}: listed as an expected failure but not a '
                                f'case of this run (renamed?)' for n in missing]),
                  file=sys.stderr)
            return 1
    return 0


def format_table(results):
    """A Markdown table: arch, suite, base and patched pass/fail/skip, new
    failures; then the tests that fail on base, with one line of why."""
    out = ['| arch | suite | base pass/fail/skip | patched pass/fail/skip | new failures |',
           '| --- | --- | --- | --- | --- |']
    notes = []
    for arch, a in results['arches'].items():
        for suite, s in a.items():
            cell = {w: (f'{s[w]["pass"]}/{s[w]["fail"]}/{s[w]["skip"]}' if w in s else '-')
                    for w in KERNELS}
            nf = s.get('new_failures')
            out.append(f'| {arch} | {suite} | {cell["base"]} | {cell["patched"]} | '
                       f'{", ".join(nf) if nf else ("none" if nf is not None else "-")} |')
            names = sorted({n for w in KERNELS for n in s.get(w, {}).get('failed', [])})
            for n in names:
                on = [w for w in KERNELS if n in s.get(w, {}).get('failed', [])]
                w = on[0]
                notes.append(f'- {arch} {suite} `{n}`: fails on {" and ".join(on)}'
                             f'{" (NEW)" if n in (nf or []) else ""}: '
                             f'{s[w].get("why", {}).get(n, "?")}')
    return '\n'.join(out + ([''] + notes if notes else []))
