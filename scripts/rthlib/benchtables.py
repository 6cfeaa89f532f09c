# SPDX-License-Identifier: GPL-2.0
"""Bench results: figures per event, the text tables, the cover letter's
tables (cover_tables(), from the committed results/bench-latest.json) and
the plot. Used by the bench command and by the cover letter (mails.py).
"""

import json
import os
import subprocess
import sys
import textwrap

from rthlib.common import HarnessError, REPO, bench_cache, log


LATEST = os.path.join(REPO, 'results', 'bench-latest.json')
BENCH_PY = os.path.join(REPO, 'scripts', 'bench.py')   # the command, for plot()


TRIGGERS = ['trig-syscall-count', 'trig-kernel-count', 'trig-kprobe',
            'trig-kretprobe', 'trig-kprobe-multi', 'trig-kretprobe-multi',
            'trig-fentry', 'trig-fexit', 'trig-fmodret', 'trig-rawtp']


ARCHES = ['x86_64', 'arm64']
MODES = ['icount', 'wall']


MODE_LABEL = {'icount': 'instructions/event (-icount shift=0)',
              'wall': 'ns/event (TCG wall-clock)'}


def per_event(mops):
    """1000 / (M events/s): instructions per event under -icount shift=0
    (1e9 instructions per virtual second), ns per event otherwise."""
    if not mops or mops <= 0:
        return None
    return 1000.0 / mops


def delta_pct(base, patched):
    if base is None or patched is None or base == 0:
        return None
    return (patched - base) / base * 100.0


def spread_pct(values):
    vals = [v for v in values if v is not None]
    if len(vals) < 2:
        return None
    mean = sum(vals) / len(vals)
    return (max(vals) - min(vals)) / mean * 100.0 if mean else None


def summarize(arch_res):
    """{mode: {trigger: {base, patched, delta, spread_base, ...}}}."""
    out = {}
    for mode in MODES:
        rows = {}
        for run_ in arch_res.get('runs', []):
            if run_['mode'] != mode:
                continue
            for trig, e in run_['triggers'].items():
                r = rows.setdefault(trig, {'base': [], 'patched': []})
                r.setdefault(run_['kernel'], []).append(per_event(e.get('mops')))
        if not rows:
            continue
        table = {}
        for trig, r in rows.items():
            b = [v for v in r['base'] if v is not None]
            p = [v for v in r['patched'] if v is not None]
            bm = sum(b) / len(b) if b else None
            pm = sum(p) / len(p) if p else None
            table[trig] = {'base': bm, 'patched': pm,
                           'delta_pct': delta_pct(bm, pm),
                           'spread_base_pct': spread_pct(r['base']),
                           'spread_patched_pct': spread_pct(r['patched']),
                           'n_base': len(b), 'n_patched': len(p)}
        out[mode] = table
    return out


def fmt(v, width, prec=1, pct=False):
    if v is None:
        return f'{"-":>{width}}'
    if pct:
        return f'{v:>+{width - 1}.{prec}f}%'
    return f'{v:>{width}.{prec}f}'


def format_table(arch, arch_res, triggers=None, modes=None):
    """Text table (72 columns): trigger, base, patched, delta % under icount
    (instructions/event) and TCG wall-clock (ns/event); modes=['icount']
    leaves the wall-clock columns out. Then what the guest said about its
    CPU (guest_summary())."""
    s = summarize(arch_res)
    meta = arch_res.get('meta', {})
    modes = [m for m in (modes or MODES) if m in MODES]
    trigs = list(triggers or [t for t in TRIGGERS
                              if any(t in s.get(m, {}) for m in modes)])
    trigs += [t for m in modes for t in s.get(m, {}) if t not in trigs]
    reps = any(r.get('n_base', 0) > 1 or r.get('n_patched', 0) > 1
               for m in s.values() for r in m.values())
    head = {'icount': 'icount: instructions', 'wall': 'TCG wall-clock: ns'}
    lines = [f'{arch}: QEMU -M {meta.get("machine", "?")} -cpu '
             f'{meta.get("cpu", "?")} -smp 1, bench {meta.get("args", "?")} trig-*',
             'per event, lower is better; delta = patched vs base',
             f'{"":<16}' + ' |'.join(f'{head[m]:^25}' for m in modes),
             f'{"trigger":<16}' + ' |'.join(f'{"base":>8}{"patched":>9}{"delta":>8}'
                                           for m in modes)
             + ('  icount spread b/p' if reps and 'icount' in modes else '')]
    for t in trigs:
        cols = []
        for m in modes:
            e = s.get(m, {}).get(t, {})
            cols.append(f'{fmt(e.get("base"), 8)}{fmt(e.get("patched"), 9)}'
                        f'{fmt(e.get("delta_pct"), 8, 1, True)}')
        line = f'{t[5:] if t.startswith("trig-") else t:<16}' + ' |'.join(cols)
        if reps and 'icount' in modes:
            ic = s.get('icount', {}).get(t, {})
            line += (f'  {fmt(ic.get("spread_base_pct"), 6, 3)}/'
                     f'{fmt(ic.get("spread_patched_pct"), 5, 3)}%')
        lines.append(line)
    if arch_res.get('series_empty'):
        lines.append('(the series is empty: "patched" is the base kernel)')
    lines += guest_summary(arch, arch_res)
    for e in arch_res.get('errors', []):
        lines.append(f'error: {e}')
    return '\n'.join(l.rstrip() for l in lines) + '\n'


# What decides which feature-dependent code the measured paths run.
X86_VULNS = ('retbleed', 'spectre_v2', 'spec_rstack_overflow',
             'indirect_target_selection', 'meltdown')
ARM64_FLAGS = ('dit', 'ssbs', 'mte', 'paca', 'bti', 'sb')


def guest_summary(arch, arch_res):
    """Lines of at most 72 columns: the guest's mitigations that change a
    RET or an indirect call (x86_64; 'Not affected' left out), or its
    PSTATE-related CPU features (arm64), as the bench runs recorded them;
    base and patched apart when they disagree."""
    seen = {}
    for r in arch_res.get('runs', []):
        g = r.get('guest')
        if not g:
            continue
        if arch == 'arm64':
            fl = set(g.get('flags', []))
            text = ('features: ' + (' '.join(f for f in ARM64_FLAGS if f in fl)
                                    or 'none of ' + ' '.join(ARM64_FLAGS)))
        else:
            v = g.get('vulnerabilities', {})
            text = '; '.join(f'{k}: {v[k]}' for k in X86_VULNS
                             if k in v and v[k] != 'Not affected') or \
                'no return or indirect-branch mitigation'
        seen.setdefault(text, set()).add(r['kernel'])
    out = []
    for text, kernels in seen.items():
        head = 'guest' if len(seen) == 1 else f'guest ({"/".join(sorted(kernels))})'
        out += textwrap.wrap(f'{head} {text}', 72, subsequent_indent='  ',
                             break_long_words=False, break_on_hyphens=False)
    return out


def load_results(path=None):
    for p in ([path] if path else [LATEST, os.path.join(bench_cache(), 'results.json')]):
        if p and os.path.exists(p):
            with open(p) as f:
                return json.load(f)
    return None


def cover_tables(path=None):
    """{'BENCH_X86_64': tables, 'BENCH_ARM64': tables}, icount only, the
    pinned CPU model and the second one, from the committed
    results/bench-latest.json (not the cache: 'rth.py export --check' must
    regenerate the same cover letter on every machine)."""
    path = path or LATEST
    res = load_results(path) if os.path.exists(path) else None
    out = {}
    for arch in ARCHES:
        key = 'BENCH_' + arch.upper()
        a = (res or {}).get('arches', {}).get(arch)
        if not a or not a.get('runs'):
            out[key] = f'({arch}: no benchmark results yet; run scripts/bench.py)\n'
        else:
            runs = a['runs']
            reps = max(r.get('rep', 0) for r in runs) + 1
            modes = ','.join(m for m in MODES if any(r['mode'] == m for r in runs))
            cmd = res.get('argv') or (f'scripts/bench.py --repeat {reps}'
                                      + (f' --modes {modes}' if modes != 'icount,wall'
                                         else ''))
            tables = format_table(arch, a, modes=['icount'])
            a2 = res.get('second_cpu', {}).get(arch)
            if a2 and a2.get('runs'):
                tables += '\n' + format_table(arch, a2, modes=['icount'])
            out[key] = (tables +
                        f'({cmd}, {res.get("date", "?")[:10]};\n'
                        f' results/bench-latest.json)\n')
    out['BENCH_WALL_NOISE'] = wall_noise(res)
    return out


def wall_noise(res):
    """The largest wall-clock delta, over both arches, among triggers whose
    instruction count the patches do not change (|icount delta| < 0.05%):
    how far the wall-clock columns move without any code change."""
    worst = None
    for arch in ARCHES:
        a = (res or {}).get('arches', {}).get(arch)
        if not a or not a.get('runs'):
            continue
        s = summarize(a)
        for trig, ic in s.get('icount', {}).items():
            w = s.get('wall', {}).get(trig, {}).get('delta_pct')
            if ic.get('delta_pct') is None or w is None or abs(ic['delta_pct']) >= 0.05:
                continue
            if worst is None or abs(w) > abs(worst[0]):
                worst = (w, arch, trig)
    if worst is None:
        return 'no wall-clock run to compare'
    w, arch, trig = worst
    return (f'between the base and patched boots below they\n'
            f'differ by up to {w:+.0f}% for a trigger whose instruction count is\n'
            f'the same in both ({arch} {trig})')


def plot(results, png):
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        # Debian's python3-matplotlib is for the system python3; another
        # python3 first on PATH (pyenv, venv) does not see it.
        syspy = '/usr/bin/python3'
        if os.path.realpath(sys.executable) != os.path.realpath(syspy) and \
                os.path.exists(syspy) and not os.environ.get('RTH_BENCH_PLOT_CHILD'):
            import tempfile
            with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as f:
                json.dump(results, f)
            try:
                res = subprocess.run([syspy, BENCH_PY, '--table',
                                      '--results', f.name, '--plot', png],
                                     env=dict(os.environ, RTH_BENCH_PLOT_CHILD='1'),
                                     stdout=subprocess.DEVNULL)
            finally:
                os.unlink(f.name)
            if res.returncode != 0:
                raise HarnessError(f'plotting with {syspy} failed (exit '
                                   f'{res.returncode})')
            return
        raise HarnessError('--plot needs matplotlib: apt-get install '
                           'python3-matplotlib (scripts/install-deps main)')
    arches = [a for a in ARCHES if results['arches'].get(a, {}).get('runs')]
    if not arches:
        raise HarnessError('nothing to plot: no results')
    fig, axes = plt.subplots(len(arches), 1, figsize=(10, 4 * len(arches)),
                             squeeze=False)
    for ax, arch in zip(axes[:, 0], arches):
        s = summarize(results['arches'][arch])
        trigs = [t for t in TRIGGERS if any(t in s.get(m, {}) for m in MODES)]
        trigs += [t for m in MODES for t in s.get(m, {}) if t not in trigs]
        x = range(len(trigs))
        w = 0.4
        for i, (mode, label) in enumerate((('icount', 'instructions/event (icount)'),
                                           ('wall', 'TCG wall-clock ns/event'))):
            vals = [s.get(mode, {}).get(t, {}).get('delta_pct') or 0.0 for t in trigs]
            bars = ax.bar([v + (i - 0.5) * w for v in x], vals, w, label=label)
            for b_, v in zip(bars, vals):
                ax.annotate(f'{v:+.1f}', (b_.get_x() + b_.get_width() / 2, v),
                            ha='center', va='bottom' if v >= 0 else 'top',
                            fontsize=7)
        ax.axhline(0, color='black', linewidth=0.8)
        ax.set_xticks(list(x))
        ax.set_xticklabels([t.replace('trig-', '') for t in trigs], rotation=30,
                           ha='right')
        ax.set_ylabel('patched vs base, %  (lower = cheaper)')
        meta = results['arches'][arch].get('meta', {})
        ax.set_title(f'{arch} (-cpu {meta.get("cpu", "?")}, -smp 1, bench '
                     f'{meta.get("args", "")})')
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    log(f'plot written to {png}')
