# SPDX-License-Identifier: GPL-2.0
"""BPF trigger benchmarks, base vs patched, in QEMU (TCG).

For each arch: build the base and the patched kernel (tinyconfig plus the
fragments in ci/bench-targets), build the upstream selftests 'bench' of the
same tree statically, pack it with busybox into an initramfs, boot each
kernel with '-smp 1' and a pinned CPU model, and run 'bench' for each
trig-* benchmark. Under '-icount shift=0' the guest retires exactly 1e9
instructions per virtual second, so a rate of R M events/s is 1000 / R
instructions per event, independent of the host's load. The same set is
then run without icount ("TCG wall-clock", ns/event of emulated time,
which depends on the host and is only indicative). Then, icount only, the
same kernels on a second CPU model per arch (bench.SECOND_CPU: a model
under which the kernel runs its return thunks on x86_64, and PAN, DIT and
SSBS on arm64); each run records the guest's
/sys/devices/system/cpu/vulnerabilities/* and CPU flags.

Results: a table per arch on stdout, JSON in <cache>/bench/results.json
(and results/bench-latest.json in this repository), optionally a PNG
(--plot). cover_tables() renders the cover letter's @BENCH_*@ tables.
"""

import argparse
import os
import re
import shlex
import sys
import time

from rthlib import distro
from rthlib.base import ensure_base
from rthlib.bench import (CPU_MODELS, KERNELS, QEMU, SECOND_CPU,
                          SMOKE_TRIGGERS, bench_binary,
                          boot_bench, busybox_for, check_triggers, kernel,
                          known_triggers, make_initramfs, save, series_files_hash,
                          series_hash)
from rthlib.benchtables import (ARCHES, LATEST, MODES, TRIGGERS, format_table,
                                load_results, plot)
from rthlib.common import HarnessError, REPO, bench_cache, log, require
from rthlib.series import read_series
from rthlib.targets import QEMU_CPU_RE


def main(argv=None):
    ap = argparse.ArgumentParser(prog='bench.py', description=__doc__.split('\n')[0])
    ap.add_argument('--arch', default=','.join(ARCHES),
                    help='comma-separated arches (default: %(default)s)')
    ap.add_argument('--triggers', default=','.join(TRIGGERS),
                    help='comma-separated trig-* benchmarks')
    ap.add_argument('--bench-args', default=os.environ.get('RTH_BENCH_ARGS', '-w1 -d3'),
                    help='bench options before the trigger (default: %(default)s)')
    ap.add_argument('--modes', default='icount,wall',
                    help='icount (deterministic) and/or wall (TCG wall-clock)')
    ap.add_argument('--kernels', default='base,patched')
    ap.add_argument('--upto', type=int, metavar='K',
                    help='"patched" = the first K patches only (to measure '
                    'one patch against the previous one); never copied to '
                    'results/bench-latest.json')
    ap.add_argument('--repeat', type=int, default=1,
                    help='boots per kernel and mode (spread is reported)')
    ap.add_argument('--settle', type=int, default=5,
                    help='seconds to wait after boot (clocksource recalibration)')
    ap.add_argument('--timeout', type=int, default=0,
                    help='seconds per boot (default: from the trigger count)')
    ap.add_argument('--cpu', metavar='MODEL',
                    help='QEMU CPU model instead of the pinned one (e.g. "max,'
                         'pauth-impdef=on" with --arch arm64: a CPU that has '
                         'PAN, DIT, SSBS); never copied to results/bench-latest.json')
    ap.add_argument('--cpu-models', default=','.join(CPU_MODELS),
                    help='pinned (qemu64, cortex-a72: all modes) and/or second '
                         '(EPYC-Rome, max: icount only); default %(default)s')
    ap.add_argument('--smoke', action='store_true',
                    help='CI smoke: x86_64, two triggers, -d1, icount only')
    ap.add_argument('--config', choices=['bench', 'distro'], default='bench',
                    help='distro: the bench kernels with the preemption '
                    'model of Debian\'s own 7.3 kernel (linux-config-7.3, '
                    'rthlib/distro.py) merged last; own cache and build '
                    'directories, never copied to results/bench-latest.json')
    ap.add_argument('--results', help='results JSON (default <cache>/bench/results.json)')
    ap.add_argument('--no-latest', action='store_true',
                    help='do not copy the results to results/bench-latest.json')
    ap.add_argument('--plot', metavar='FILE.png')
    ap.add_argument('--table', action='store_true',
                    help='only print the tables of the results file (no run)')
    args = ap.parse_args(argv)
    try:
        return bench_main(args, argv if argv is not None else sys.argv[1:])
    except HarnessError as e:
        print(f'bench: error: {e}', file=sys.stderr)
        return 2


def split_list(s, allowed, what):
    vals = [v for v in s.split(',') if v]
    bad = [v for v in vals if allowed is not None and v not in allowed]
    if bad or not vals:
        raise HarnessError(f'unknown {what} {", ".join(bad) or "(none)"}; '
                           f'known: {", ".join(allowed)}')
    return vals


def run_model(args, arch, ks, kernels, initrd, trigs, ares, mode, pinned,
              timeout, t_start, results, results_path):
    """The boots of one CPU model and mode; False when one had errors."""
    cpu = args.cpu if pinned else ares['meta']['cpu']
    ok = True
    for rep in range(args.repeat):
        for which in kernels:
            k = ks[which]
            tag_ = '' if pinned else '-cpu2'
            logf = os.path.join(bench_cache(), 'logs',
                                f'{arch}-{which}-{mode}{tag_}-{rep}.log')
            os.makedirs(os.path.dirname(logf), exist_ok=True)
            log(f'{arch} {which}: booting ({mode}, -cpu '
                f'{cpu or QEMU[arch]["cpu"]}, run {rep + 1}/'
                f'{args.repeat}), elapsed {time.time() - t_start:.0f} s')
            tr, errs, secs, info = boot_bench(
                arch, k, initrd, trigs, args.bench_args, args.settle,
                mode == 'icount', logf, timeout, cpu)
            ares['runs'].append({'mode': mode, 'kernel': which, 'rep': rep,
                                 'seconds': round(secs), 'console': logf,
                                 'guest': info,
                                 'triggers': {t: e for t, e in tr.items()
                                              if 'mops' in e}})
            for e in errs:
                log(f'ERROR: {e}')
            ares['errors'] += [e.split('\n')[0] for e in errs]
            ok &= not errs
            save(results, results_path)
            if errs and not tr:
                raise HarnessError(errs[0])
    return ok


def bench_main(args, argv_for_results=None):
    if args.smoke:
        args.arch, args.triggers = 'x86_64', ','.join(SMOKE_TRIGGERS)
        args.bench_args, args.modes = '-w1 -d1', 'icount'
        args.kernels = 'patched'
        args.settle = min(args.settle, 2)
        args.cpu_models = 'pinned'
    results_path = args.results or os.path.join(
        bench_cache(), 'results-smoke.json' if args.smoke else
        f'results-upto-{args.upto}.json' if args.upto is not None else
        'results-cpu.json' if args.cpu else
        'results-distro.json' if args.config == 'distro' else 'results.json')
    if args.table:
        res = load_results(args.results)
        if not res:
            raise HarnessError('no results file yet: run scripts/bench.py')
        for arch, a in res.get('arches', {}).items():
            print(format_table(arch, a))
            if arch in res.get('second_cpu', {}):
                print(format_table(arch, res['second_cpu'][arch], modes=['icount']))
        if args.plot:
            plot(res, args.plot)
        return 0
    arches = split_list(args.arch, ARCHES, 'arch')
    modes = split_list(args.modes, MODES, 'mode')
    kernels = split_list(args.kernels, KERNELS, 'kernel')
    trigs = split_list(args.triggers, None, 'trigger')
    models = split_list(args.cpu_models, CPU_MODELS, 'CPU model')
    if args.cpu is not None:
        models = ['pinned']             # --cpu replaces the pinned model
    if 'second' in models and 'icount' not in modes:
        log('note: the second CPU model runs under icount only; '
            f'--modes {args.modes} skips it')
    check_triggers(trigs, set())                    # syntax, before anything
    if args.cpu is not None and not QEMU_CPU_RE.fullmatch(args.cpu):
        raise HarnessError(f'--cpu {args.cpu!r}: want a QEMU CPU model with '
                           f'optional properties, e.g. max,pauth-impdef=on')
    if not re.fullmatch(r'[\w .=-]*', args.bench_args):
        raise HarnessError(f'--bench-args {args.bench_args!r}: only plain '
                           f'options (letters, digits, -, =, .) are passed')
    require('git', 'make', 'gcc', 'dpkg-deb')
    t_start = time.time()
    repo, tag = ensure_base()
    check_triggers(trigs, known_triggers(repo))
    names = read_series(os.path.join(REPO, 'series'))
    if args.upto is not None:
        if not 0 <= args.upto <= len(names):
            raise HarnessError(f'--upto {args.upto}: the series has '
                               f'{len(names)} patches')
        names = names[:args.upto]
    shash = series_hash(args.upto)
    results = {'schema': 1, 'date': time.strftime('%Y-%m-%dT%H:%M:%S%z'),
               'argv': ' '.join(['scripts/bench.py'] + [shlex.quote(a) for a in
                                                        (argv_for_results or [])]),
               'base': tag, 'series': names,
               'series_hash': series_files_hash(args.upto),
               'series_code_hash': shash,
               'bench_args': args.bench_args, 'settle': args.settle,
               'config': args.config,
               'triggers': trigs, 'arches': {}, 'errors': []}
    ok = True
    per_trig = sum(int(x) for x in re.findall(r'-[wd]\s*(\d+)', args.bench_args)) or 4
    timeout = args.timeout or (240 + len(trigs) * (per_trig + 4) * 25)
    for arch in arches:
        a = {'meta': {'cpu': args.cpu or QEMU[arch]['cpu'],
                      'machine': 'virt' if arch == 'arm64' else 'pc',
                      'args': args.bench_args, 'smp': 1},
             'series_empty': not names, 'kernels': {}, 'runs': [], 'errors': []}
        results['arches'][arch] = a
        try:
            ks = {}
            kw = {}
            if args.config == 'distro':
                frag, desc = distro.fragment(arch)
                a['meta']['config'] = desc
                log(f'{arch}: distro-like preemption model from {desc}')
                kw = {'kind': 'distro', 'extra_fragments': [frag]}
            # the base kernel first: its BTF makes bench's vmlinux.h (the
            # patched one's when only the patched kernel is asked for)
            order = (['base'] if 'base' in kernels else []) + \
                [k for k in kernels if k != 'base']
            for which in order:
                ks[which] = kernel(arch, which, repo, tag, shash, args.upto, **kw)
                a['kernels'][which] = {'key': ks[which].key, 'dir': ks[which].dir}
            bench_bin = bench_binary(arch, repo, tag, ks[order[0]])
            initrd = make_initramfs(bench_bin, busybox_for(arch),
                                    os.path.join(bench_cache(), f'initramfs-{arch}.cpio'))
            plan = [(a, mode) for mode in modes] if 'pinned' in models else []
            if 'second' in models and 'icount' in modes:
                a2 = {'meta': {'cpu': SECOND_CPU[arch],
                               'machine': a['meta']['machine'],
                               'args': args.bench_args, 'smp': 1},
                      'series_empty': not names, 'kernels': a['kernels'],
                      'runs': [], 'errors': []}
                results.setdefault('second_cpu', {})[arch] = a2
                plan.append((a2, 'icount'))
            for ares, mode in plan:
                try:
                    ok &= run_model(args, arch, ks, kernels, initrd, trigs, ares,
                                    mode, ares is a, timeout, t_start, results,
                                    results_path)
                except HarnessError as e:
                    # this model's own errors (a second model that does not
                    # boot leaves the pinned results as they are)
                    ok = False
                    log(f'{arch} -cpu {ares["meta"]["cpu"]}: ERROR: {e}')
                    if str(e).split('\n')[0] not in ares['errors']:
                        ares['errors'].append(str(e).split('\n')[0])
                    save(results, results_path)
        except HarnessError as e:
            ok = False
            msg = str(e)
            log(f'{arch}: ERROR: {msg}')
            a['errors'].append(msg.split('\n')[0])
        save(results, results_path)
    results['seconds'] = round(time.time() - t_start)
    save(results, results_path)
    log(f'results written to {results_path}')
    have_runs = any(r['triggers'] for a in results['arches'].values()
                    for r in a['runs'])
    second = results.get('second_cpu', {})
    if not args.no_latest and not args.smoke and args.results is None \
            and args.upto is None and args.cpu is None \
            and args.config == 'bench' \
            and set(models) == set(CPU_MODELS) and 'icount' in modes:
        if ok:
            save(results, LATEST)
            log(f'copied to {LATEST} (commit it to keep the cover letter tables)')
        else:
            log(f'not copied to {LATEST}: the run had errors')
    print()
    for arch in arches:
        if results['arches'][arch]['runs'] or 'pinned' in models:
            print(format_table(arch, results['arches'][arch], trigs))
        if arch in second:
            print(format_table(arch, second[arch], trigs, modes=['icount']))
    if args.plot and have_runs:
        try:
            plot(results, args.plot)
        except HarnessError as e:
            log(f'ERROR: {e}')
            ok = False
    log(f'bench finished in {time.time() - t_start:.0f} s: '
        f'{"ok" if ok else "FAILED"}')
    return 0 if ok else 1
