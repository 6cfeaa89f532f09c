#!/usr/bin/env python3
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
which depends on the host and is only indicative).

Results: a table per arch on stdout, JSON in <cache>/bench/results.json
(and results/bench-latest.json in this repository), optionally a PNG
(--plot). cover_tables() renders the cover letter's @BENCH_*@ tables.
"""

import argparse
import dataclasses
import glob
import hashlib
import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rth  # noqa: E402
from rth import HarnessError, log, run  # noqa: E402

REPO = rth.REPO
BENCH_TARGETS_FILE = os.path.join(REPO, 'ci', 'bench-targets')
LATEST = os.path.join(REPO, 'results', 'bench-latest.json')
BENCH_PY = os.path.join(REPO, 'scripts', 'bench.py')   # the command, for plot()

TRIGGERS = ['trig-syscall-count', 'trig-kernel-count', 'trig-kprobe',
            'trig-kretprobe', 'trig-kprobe-multi', 'trig-kretprobe-multi',
            'trig-fentry', 'trig-fexit', 'trig-fmodret', 'trig-rawtp']
# The smoke (CI) runs the patched kernel only: it shows that the bench
# kernel builds and boots and that bench runs a kprobe and a kretprobe
# through the series' trampoline, at the cost of one kernel build.
SMOKE_TRIGGERS = ['trig-kprobe', 'trig-kretprobe']
ARCHES = ['x86_64', 'arm64']
MODES = ['icount', 'wall']
KERNELS = ['base', 'patched']
MODE_LABEL = {'icount': 'instructions/event (-icount shift=0)',
              'wall': 'ns/event (TCG wall-clock)'}

# Pinned CPU models: instruction counts depend on the features the kernel
# finds (alternatives, mitigations), so the model is part of the result.
QEMU = {
    'x86_64': {'qemu': 'qemu-system-x86_64', 'machine': [],
               'cpu': 'qemu64', 'console': 'ttyS0',
               'image': 'arch/x86/boot/bzImage'},
    'arm64': {'qemu': 'qemu-system-aarch64', 'machine': ['-M', 'virt'],
              'cpu': 'cortex-a72', 'console': 'ttyAMA0',
              'image': 'arch/arm64/boot/Image'},
}
DEB_ARCH = {'x86_64': 'amd64', 'arm64': 'arm64'}
GNU_TRIPLET = {'x86_64': 'x86_64-linux-gnu', 'arm64': 'aarch64-linux-gnu'}
MARK = 'RTH-BENCH:'


def bench_cache():
    d = os.path.join(rth.cache_dir(), 'bench')
    os.makedirs(d, exist_ok=True)
    return d


def sha256_text(*parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode() if isinstance(p, str) else p)
        h.update(b'\0')
    return h.hexdigest()


# ------------------------------------------------------------- parsing

SUMMARY_RE = re.compile(
    r'Summary: hits\s+(?P<mean>[0-9.]+)\s*\S*?\s*(?P<sd>[0-9.]+)M/s\s*'
    r'\(\s*(?P<prod>[0-9.]+)M/prod\)')
ITER_RE = re.compile(r'Iter\s+(\d+)\s+\(\s*(-?[0-9.]+)us\):\s+hits\s+([0-9.]+)M/s')


def parse_bench_output(text):
    """Per-trigger results from a console log of the bench initramfs.

    The init script frames each run with 'RTH-BENCH: start T' and
    'RTH-BENCH: end T rc=N'. Returns (ready, done, {trigger: entry}) where
    entry has mops (mean M events/s of bench's Summary), stddev, iters
    (per-iteration M/s) and rc; entry['error'] says what went wrong when
    the summary is missing or the exit code is not 0.
    """
    ready = done = False
    res = {}
    cur = None
    body = []
    for raw in text.splitlines():
        line = rth.strip_console(raw).strip()
        if line.startswith(MARK):
            words = line[len(MARK):].split()
            if not words:
                continue
            if words[0] == 'ready':
                ready = True
            elif words[0] == 'done':
                done = True
            elif words[0] == 'start' and len(words) > 1:
                cur = words[1]
                body = []
                res[cur] = {'rc': None}
            elif words[0] == 'end' and len(words) > 1 and words[1] in res:
                m = re.search(r'rc=(-?\d+)', line)
                e = res[words[1]]
                e['rc'] = int(m.group(1)) if m else None
                e.update(parse_one(body))
                if e['rc'] not in (0, None) and 'error' not in e:
                    e['error'] = f'bench exited {e["rc"]}'
                elif e['rc'] not in (0, None):
                    e['error'] += f' (bench exited {e["rc"]})'
                cur = None
            continue
        if cur is not None:
            body.append(line)
    if cur is not None and cur in res:         # no 'end': bench hung/crashed
        e = res[cur]
        e.update(parse_one(body))
        e['error'] = 'bench did not finish' + (
            f' ({e["error"]})' if 'error' in e else '')
    return ready, done, res


def parse_one(lines):
    out = {}
    iters = []
    for line in lines:
        m = ITER_RE.search(line)
        if m:
            iters.append(float(m.group(3)))
        m = SUMMARY_RE.search(line)
        if m:
            out['mops'] = float(m.group('mean'))
            out['stddev'] = float(m.group('sd'))
    out['iters'] = iters
    if 'mops' not in out:
        tail = [l for l in lines if l][-5:]
        out['error'] = ('no Summary line in bench output' +
                        (': ' + ' | '.join(tail) if tail else
                         ' (bench printed nothing)'))
    elif out['mops'] <= 0:
        out['error'] = 'bench reported 0 events/s'
    return out


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


def format_table(arch, arch_res, triggers=None):
    """Text table (72 columns): trigger, base, patched, delta % under icount
    (instructions/event) and TCG wall-clock (ns/event)."""
    s = summarize(arch_res)
    meta = arch_res.get('meta', {})
    trigs = list(triggers or [t for t in TRIGGERS
                              if any(t in s.get(m, {}) for m in MODES)])
    trigs += [t for m in MODES for t in s.get(m, {}) if t not in trigs]
    reps = any(r.get('n_base', 0) > 1 or r.get('n_patched', 0) > 1
               for m in s.values() for r in m.values())
    lines = [f'{arch}: QEMU -M {meta.get("machine", "?")} -cpu '
             f'{meta.get("cpu", "?")} -smp 1, bench {meta.get("args", "?")} trig-*',
             'per event, lower is better; delta = patched vs base',
             f'{"":<16}{"icount: instructions":^25} |{"TCG wall-clock: ns":^25}',
             f'{"trigger":<16}{"base":>8}{"patched":>9}{"delta":>8} |'
             f'{"base":>8}{"patched":>9}{"delta":>8}'
             + ('  icount spread b/p' if reps else '')]
    for t in trigs:
        ic = s.get('icount', {}).get(t, {})
        wc = s.get('wall', {}).get(t, {})
        line = (f'{t[5:] if t.startswith("trig-") else t:<16}'
                f'{fmt(ic.get("base"), 8)}{fmt(ic.get("patched"), 9)}'
                f'{fmt(ic.get("delta_pct"), 8, 1, True)} |'
                f'{fmt(wc.get("base"), 8)}{fmt(wc.get("patched"), 9)}'
                f'{fmt(wc.get("delta_pct"), 8, 1, True)}')
        if reps:
            line += (f'  {fmt(ic.get("spread_base_pct"), 6, 3)}/'
                     f'{fmt(ic.get("spread_patched_pct"), 5, 3)}%')
        lines.append(line)
    if arch_res.get('series_empty'):
        lines.append('(the series is empty: "patched" is the base kernel)')
    for e in arch_res.get('errors', []):
        lines.append(f'error: {e}')
    return '\n'.join(l.rstrip() for l in lines) + '\n'


def load_results(path=None):
    for p in ([path] if path else [LATEST, os.path.join(bench_cache(), 'results.json')]):
        if p and os.path.exists(p):
            with open(p) as f:
                return json.load(f)
    return None


def cover_tables(path=None):
    """{'BENCH_X86_64': table, 'BENCH_ARM64': table} from the committed
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
            out[key] = (format_table(arch, a) +
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


# ------------------------------------------------------------ initramfs

def cpio_newc(entries):
    """An uncompressed newc cpio archive (bytes), deterministic.

    entries: (name, mode, data_bytes, (rdev_major, rdev_minor)); directories
    and device nodes with data b''. Owner root, mtime 0.
    """
    out = bytearray()
    ino = 1
    for name, mode, data, rdev in list(entries) + [('TRAILER!!!', 0, b'', (0, 0))]:
        nb = name.encode() + b'\0'
        hdr = ('070701' + ''.join(f'{v:08X}' for v in (
            ino, mode, 0, 0, 2 if stat.S_ISDIR(mode) else 1, 0, len(data),
            0, 0, rdev[0], rdev[1], len(nb), 0))).encode()
        out += hdr + nb
        out += b'\0' * (-len(out) % 4)
        out += data
        out += b'\0' * (-len(out) % 4)
        ino += 1
    out += b'\0' * (-len(out) % 512)
    return bytes(out)


INIT_SCRIPT = r'''#!/bin/busybox sh
# scripts/bench.py: run bench for each trigger named on the command line.
bb=/bin/busybox
$bb mount -t proc proc /proc
$bb mount -t sysfs sysfs /sys
$bb mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
$bb mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
trig= args= settle=5
for w in $($bb cat /proc/cmdline); do
	case $w in
	rth_bench.trig=*) trig=${w#*=} ;;
	rth_bench.args=*) args=${w#*=} ;;
	rth_bench.settle=*) settle=${w#*=} ;;
	esac
done
echo "RTH-BENCH: ready $($bb uname -r) $($bb uname -m)"
$bb sleep "$settle"
for t in $(echo "$trig" | $bb tr , ' '); do
	echo "RTH-BENCH: start $t"
	/bench $(echo "$args" | $bb tr , ' ') "$t" 2>&1
	echo "RTH-BENCH: end $t rc=$?"
done
echo "RTH-BENCH: done"
$bb sync
$bb reboot -f
'''


def make_initramfs(bench_bin, busybox, out):
    with open(bench_bin, 'rb') as f:
        bench_data = f.read()
    with open(busybox, 'rb') as f:
        bb_data = f.read()
    d, r, x = stat.S_IFDIR | 0o755, stat.S_IFREG | 0o755, stat.S_IFCHR | 0o600
    entries = [('bin', d, b'', (0, 0)), ('dev', d, b'', (0, 0)),
               ('dev/console', x, b'', (5, 1)), ('dev/null', stat.S_IFCHR | 0o666, b'', (1, 3)),
               ('proc', d, b'', (0, 0)), ('sys', d, b'', (0, 0)),
               ('tmp', d, b'', (0, 0)),
               ('bin/busybox', r, bb_data, (0, 0)),
               ('bin/sh', stat.S_IFLNK | 0o777, b'busybox', (0, 0)),
               ('init', r, INIT_SCRIPT.encode(), (0, 0)),
               ('bench', r, bench_data, (0, 0))]
    tmp = out + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(cpio_newc(entries))
    os.replace(tmp, out)
    return out


# ------------------------------------------------------- foreign packages

def debian_codename():
    try:
        with open('/etc/os-release') as f:
            m = re.search(r'^VERSION_CODENAME=(\w+)', f.read(), re.M)
            if m:
                return m.group(1)
    except OSError:
        pass
    return 'bookworm'


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
    rth.require('apt-get', 'dpkg-deb')
    stampf = os.path.join(dest, '.rth-debs')
    want = ' '.join(sorted(pkgs))
    if os.path.exists(stampf) and open(stampf).read() == want:
        return dest
    uri = rth.apt_archive_uri()
    suite = debian_codename()
    apt = os.path.join(bench_cache(), f'apt-{arch}')
    opts = rth.private_apt(
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


# -dev packages for headers and .a; the runtime ones for the .so symlink
# targets that libbpf's shared-library link (part of the selftests build)
# resolves.
ARM64_DEBS = ['busybox-static', 'libelf-dev', 'libelf1', 'zlib1g-dev',
              'zlib1g', 'libzstd-dev', 'libzstd1']


def busybox_for(arch):
    if arch == 'x86_64':
        for p in ('/bin/busybox', '/usr/bin/busybox'):
            if os.path.exists(p):
                out = run(['file', '-L', p], capture=True, quiet=True,
                          check=False).stdout if shutil.which('file') else 'statically'
                if 'statically' in out or 'static-pie' in out:
                    return p
        raise HarnessError('no static busybox for x86_64: apt-get install '
                           'busybox-static (scripts/install-deps main)')
    root = fetch_debs('arm64', ARM64_DEBS, os.path.join(bench_cache(), 'sysroot-arm64'))
    p = os.path.join(root, 'bin', 'busybox')
    if not os.path.exists(p):
        raise HarnessError(f'busybox-static:arm64 unpacked into {root} holds no bin/busybox')
    return p


# ------------------------------------------------------------- kernels

@dataclasses.dataclass
class Kernel:
    arch: str
    which: str            # base | patched
    key: str
    dir: str

    @property
    def image(self):
        return os.path.join(self.dir, os.path.basename(QEMU[self.arch]['image']))

    @property
    def btf(self):
        return os.path.join(self.dir, 'vmlinux.btf')

    @property
    def system_map(self):
        return os.path.join(self.dir, 'System.map')


def load_bench_targets():
    with open(BENCH_TARGETS_FILE) as f:
        return rth.parse_targets(f.read())


def series_patches(upto=None):
    names = rth.read_series(os.path.join(REPO, 'series'))[:upto]
    return [os.path.join(REPO, 'patches', n) for n in names]


def series_hash(upto=None):
    """sha256 over the series' patch files (the first `upto`), in order;
    'none' when empty."""
    pats = series_patches(upto)
    if not pats:
        return 'none'
    h = hashlib.sha256()
    for p in pats:
        with open(p, 'rb') as f:
            h.update(os.path.basename(p).encode() + b'\0' + f.read())
    return h.hexdigest()


def config_hash(target):
    """Hash of what decides the .config: fragments (content, in order),
    arch and compiler (tinyconfig and olddefconfig depend on both)."""
    parts = [target.arch]
    for fr in target.fragments:
        with open(os.path.join(rth.FRAGMENTS, fr + '.config')) as f:
            parts.append(fr + '\n' + f.read())
    cc = target.cc
    ver = run([cc, '--version'], capture=True, quiet=True, check=False).stdout
    parts.append(ver.splitlines()[0] if ver else cc)
    return sha256_text(*parts)


def bench_src(repo, tag):
    """A worktree of the base repository for the bench kernels: switched
    between base and patched with git, so a switch rebuilds only what the
    series touches (one build directory per arch)."""
    wt = os.path.join(rth.cache_dir(), 'bench-src')
    rth.ensure_worktree(repo, wt, tag)
    return wt


def checkout(wt, tag, which, upto=None):
    if os.path.isdir(os.path.join(rth.git_out(wt, 'rev-parse', '--git-dir'), 'rebase-apply')):
        rth.git(wt, 'am', '--abort', check=False, quiet=True)
    if which == 'base':
        rth.git(wt, 'checkout', '-q', '-f', '--detach', tag, quiet=True)
        rth.git(wt, 'clean', '-q', '-fdx', quiet=True)
        return []
    return rth.apply_series(wt, tag, upto=upto, branch='bench-patched')


def kernel(arch, which, repo, tag, shash, upto=None):
    """Build (or take from the cache) the base or patched kernel."""
    target = load_bench_targets()[arch]
    key = sha256_text(tag, rth.git_out(repo, 'rev-parse', tag),
                      config_hash(target), shash if which == 'patched' else 'none')[:16]
    d = os.path.join(bench_cache(), 'kernels', f'{arch}-{key}')
    k = Kernel(arch, which, key, d)
    if all(os.path.exists(f) for f in (k.image, k.btf, k.system_map)):
        log(f'{arch} {which} kernel: cached {d}')
        return k
    wt = bench_src(repo, tag)
    checkout(wt, tag, which, upto)
    b = os.path.join(bench_cache(), 'build', arch)
    t0 = time.time()
    log(f'{arch} {which} kernel: building (config {key}); log {b}/build.log')
    # The fragments name options the series adds (the trampoline suite):
    # the base tree does not define them, which is expected, not an error.
    img = rth.build(wt, target, b, allow_undefined=(which == 'base' or upto is not None))
    os.makedirs(d + '.tmp', exist_ok=True)
    shutil.copy(img, os.path.join(d + '.tmp', os.path.basename(img)))
    shutil.copy(os.path.join(b, '.config'), os.path.join(d + '.tmp', 'config'))
    # Symbols for scripts/trace-event (the 100+ MB vmlinux is not kept).
    shutil.copy(os.path.join(b, 'System.map'), os.path.join(d + '.tmp', 'System.map'))
    objcopy = (target.cross or '') + 'objcopy'
    run([objcopy, '--dump-section', f'.BTF={d}.tmp/vmlinux.btf',
         os.path.join(b, 'vmlinux'), os.path.join(d + '.tmp', 'vmlinux.o.tmp')],
        capture=True)
    os.unlink(os.path.join(d + '.tmp', 'vmlinux.o.tmp'))
    with open(os.path.join(d + '.tmp', 'meta.json'), 'w') as f:
        json.dump({'arch': arch, 'which': which, 'base': tag,
                   'series_hash': shash if which == 'patched' else 'none',
                   'upto': upto,
                   'head': rth.git_out(wt, 'rev-parse', 'HEAD'),
                   'build_seconds': round(time.time() - t0)}, f, indent=1)
    shutil.rmtree(d, ignore_errors=True)
    os.rename(d + '.tmp', d)
    log(f'{arch} {which} kernel: built in {time.time() - t0:.0f} s -> {d}')
    return k


# --------------------------------------------------------------- bench

def clang_tools():
    """clang/llc/llvm-strip for the BPF objects. Debian's clang 14/16/19
    cannot build the selftests' libarena skeleton that bench links; 22 can."""
    ver = os.environ.get('RTH_BENCH_LLVM', '22')
    tools = {'CLANG': f'clang-{ver}', 'LLC': f'llc-{ver}',
             'LLVM_STRIP': f'llvm-strip-{ver}'}
    missing = [t for t in tools.values() if not shutil.which(t)]
    if missing:
        raise HarnessError(f'missing {", ".join(missing)}: apt-get install '
                           f'clang-{ver} llvm-{ver} lld-{ver} (from Debian '
                           f'bookworm-security; scripts/install-deps main)')
    return tools, ver


def bench_tools_tree(repo, tag, arch):
    """The selftests build writes into its source tree: one worktree per
    arch at the base tag (bench is the same program for base and patched)."""
    wt = os.path.join(rth.cache_dir(), f'bench-tools-{arch}')
    rth.ensure_worktree(repo, wt, tag)
    rth.git(wt, 'checkout', '-q', '--detach', tag, quiet=True)
    return wt


def bench_make_cmd(wt, arch, btf, tools, sysroot=None, jobs=None):
    """make command for a static bench. -static goes into LDLIBS, as the
    selftests Makefile expects of a static build (it filters -static out of
    LDLIBS for its shared helper objects); LDFLAGS would reach libbpf's
    shared-library link through MAKEFLAGS and break it. Setting LDLIBS on
    the command line replaces the Makefile's list, so it is given in full
    (Debian's libelf.a needs zstd and zlib after it; -lm for bench)."""
    sdir = os.path.join(wt, 'tools', 'testing', 'selftests', 'bpf')
    libs = '-lelf -lzstd -lz -lrt -lpthread -lm'
    cmd = ['make', '-C', sdir, f'-j{jobs or os.cpu_count() or 2}',
           *[f'{k}={v}' for k, v in tools.items()], 'BPF_GCC=',
           f'VMLINUX_BTF={btf}']
    if arch == 'x86_64':
        cmd += [f'LDLIBS=-static {libs}']
    else:
        trip = GNU_TRIPLET[arch]
        inc = f'-I{sysroot}/usr/include -I{sysroot}/usr/include/{trip}'
        lib = f'-L{sysroot}/usr/lib/{trip} -L{sysroot}/lib/{trip}'
        # LDFLAGS reaches libbpf's own shared-library link (it reads no
        # EXTRA_LDFLAGS), which needs the arm64 libelf.so and libz.so.
        cmd += [f'ARCH={arch}', f'CROSS_COMPILE={trip}-', f'LDFLAGS={lib}',
                f'LIBELF_CFLAGS={inc}', f'EXTRA_CFLAGS={inc}',
                f'EXTRA_LDFLAGS={lib}', f'LDLIBS=-static {lib} {libs}']
    return cmd + [os.path.join(sdir, 'bench')]


def bench_binary(arch, repo, tag, base_kernel):
    tools, ver = clang_tools()
    cver = run([tools['CLANG'], '--version'], capture=True, quiet=True).stdout.splitlines()[0]
    with open(base_kernel.btf, 'rb') as f:
        btf_hash = hashlib.sha256(f.read()).hexdigest()
    key = sha256_text(tag, arch, cver, btf_hash)[:16]
    out = os.path.join(bench_cache(), 'bench-bin', f'{arch}-{key}', 'bench')
    if os.path.exists(out):
        log(f'{arch} bench: cached {out}')
        return out
    sysroot = None
    if arch != 'x86_64':
        rth.require(GNU_TRIPLET[arch] + '-gcc')
        sysroot = fetch_debs('arm64', ARM64_DEBS, os.path.join(bench_cache(), 'sysroot-arm64'))
    wt = bench_tools_tree(repo, tag, arch)
    cmd = bench_make_cmd(wt, arch, base_kernel.btf, tools, sysroot)
    logf = os.path.join(bench_cache(), f'bench-build-{arch}.log')
    log(f'{arch} bench: building with clang-{ver}; log {logf}')
    log('$ ' + ' '.join(shlex.quote(c) for c in cmd))
    t0 = time.time()
    with open(logf, 'w') as lf:
        res = subprocess.run(cmd, stdout=lf, stderr=subprocess.STDOUT)
    built = cmd[-1]
    if res.returncode != 0 or not os.path.exists(built):
        with open(logf, errors='replace') as f:
            tail = f.read().splitlines()[-25:]
        raise HarnessError(f'{arch} bench build failed (exit {res.returncode}); '
                           f'see {logf}:\n  ' + '\n  '.join(tail))
    finfo = run(['file', built], capture=True, quiet=True, check=False).stdout \
        if shutil.which('file') else ''
    if finfo and 'statically linked' not in finfo and 'static-pie' not in finfo:
        raise HarnessError(f'{built} is not statically linked: {finfo.strip()}')
    os.makedirs(os.path.dirname(out), exist_ok=True)
    shutil.copy(built, out + '.tmp')
    os.replace(out + '.tmp', out)
    log(f'{arch} bench: built in {time.time() - t0:.0f} s -> {out}')
    return out


def known_triggers(wt_or_src):
    """trig-* names that bench of this tree knows (from bench_trigger.c)."""
    p = os.path.join(wt_or_src, 'tools/testing/selftests/bpf/benchs/bench_trigger.c')
    try:
        with open(p) as f:
            text = f.read()
    except OSError:
        return set()
    names = set(re.findall(r'\.name\s*=\s*"(trig-[\w-]+)"', text))
    # BENCH_TRIG_KERNEL(kind, "name") and the like: .name = "trig-" NAME
    names |= {'trig-' + n for n in
              re.findall(r'^BENCH_TRIG_\w+\([^;]*?"([\w-]+)"\)\s*;', text, re.M)}
    return names


def check_triggers(trigs, known):
    bad = [t for t in trigs if not re.fullmatch(r'trig-[\w-]+', t) or
           (known and t not in known)]
    if bad:
        raise HarnessError(f'unknown trigger(s) {", ".join(bad)}; known: '
                           f'{", ".join(sorted(known)) if known else ", ".join(TRIGGERS)}')


# ---------------------------------------------------------------- qemu

def qemu_bench_cmd(arch, image, initrd, trigs, args, settle, icount):
    q = QEMU[arch]
    append = (f'console={q["console"]} panic=-1 kunit.enable=0 '
              f'rth_bench.trig={",".join(trigs)} '
              f'rth_bench.args={",".join(args.split())} rth_bench.settle={settle}')
    cmd = [q['qemu'], *q['machine'], '-cpu', q['cpu'], '-smp', '1', '-m', '1024',
           '-nodefaults', '-display', 'none', '-serial', 'stdio', '-no-reboot']
    if icount:
        cmd += ['-icount', 'shift=0']
    return cmd + ['-kernel', image, '-initrd', initrd, '-append', append]


def boot_bench(arch, kern, initrd, trigs, args, settle, icount, logf, timeout):
    cmd = qemu_bench_cmd(arch, kern.image, initrd, trigs, args, settle, icount)
    rth.require(cmd[0])
    log('$ ' + ' '.join(shlex.quote(c) for c in cmd))
    t0 = time.time()
    seen = 0
    with open(logf, 'w') as lf:
        p = subprocess.Popen(cmd, stdout=lf, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL)
        while True:
            try:
                p.wait(timeout=2)
                break
            except subprocess.TimeoutExpired:
                pass
            with open(logf, errors='replace') as f:
                text = f.read()
            marks = [l.strip() for l in text.splitlines() if MARK in l]
            for m in marks[seen:]:
                log(f'  {arch} {kern.which}: {m[m.index(MARK) + len(MARK):].strip()} '
                    f'({time.time() - t0:.0f} s)')
            seen = len(marks)
            if time.time() - t0 > timeout:
                p.kill()
                p.wait()
                break
    with open(logf, errors='replace') as f:
        text = f.read()
    elapsed = time.time() - t0
    ready, done, trig_res = parse_bench_output(text)
    errors = []
    last = '\n'.join('    ' + l for l in text.splitlines()[-30:])
    if not ready:
        errors.append(f'{arch} {kern.which} kernel did not reach the bench '
                      f'init (no "{MARK} ready" line) in {elapsed:.0f} s; '
                      f'console {logf}; last lines:\n{last}')
    elif not done:
        errors.append(f'{arch} {kern.which}: the run did not finish in '
                      f'{elapsed:.0f} s (timeout {timeout} s, hang or crash?); '
                      f'console {logf}; last lines:\n{last}')
    for t in trigs:
        if ready and t not in trig_res and done:
            errors.append(f'{arch} {kern.which} {t}: no output')
        elif t in trig_res and 'error' in trig_res[t]:
            errors.append(f'{arch} {kern.which} {t}: {trig_res[t]["error"]}')
    splats = [l for l in (rth.strip_console(x) for x in text.splitlines())
              if rth.SPLAT_RE.search(l)]
    for s_ in splats[:5]:
        errors.append(f'{arch} {kern.which} console: {s_}')
    log(f'{arch} {kern.which} ({"icount" if icount else "wall"}): QEMU exited '
        f'{p.returncode} after {elapsed:.0f} s')
    return trig_res, errors, elapsed


# ---------------------------------------------------------------- main

def save(results, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + '.tmp', 'w') as f:
        json.dump(results, f, indent=1, sort_keys=False)
    os.replace(path + '.tmp', path)


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
    ap.add_argument('--smoke', action='store_true',
                    help='CI smoke: x86_64, two triggers, -d1, icount only')
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


def bench_main(args, argv_for_results=None):
    if args.smoke:
        args.arch, args.triggers = 'x86_64', ','.join(SMOKE_TRIGGERS)
        args.bench_args, args.modes = '-w1 -d1', 'icount'
        args.kernels = 'patched'
        args.settle = min(args.settle, 2)
    results_path = args.results or os.path.join(
        bench_cache(), 'results-smoke.json' if args.smoke else
        f'results-upto-{args.upto}.json' if args.upto is not None else 'results.json')
    if args.table:
        res = load_results(args.results)
        if not res:
            raise HarnessError('no results file yet: run scripts/bench.py')
        for arch, a in res.get('arches', {}).items():
            print(format_table(arch, a))
        if args.plot:
            plot(res, args.plot)
        return 0
    arches = split_list(args.arch, ARCHES, 'arch')
    modes = split_list(args.modes, MODES, 'mode')
    kernels = split_list(args.kernels, KERNELS, 'kernel')
    trigs = split_list(args.triggers, None, 'trigger')
    check_triggers(trigs, set())                    # syntax, before anything
    if not re.fullmatch(r'[\w .=-]*', args.bench_args):
        raise HarnessError(f'--bench-args {args.bench_args!r}: only plain '
                           f'options (letters, digits, -, =, .) are passed')
    rth.require('git', 'make', 'gcc', 'dpkg-deb')
    t_start = time.time()
    repo, tag = rth.ensure_base()
    check_triggers(trigs, known_triggers(repo))
    names = rth.read_series(os.path.join(REPO, 'series'))
    if args.upto is not None:
        if not 0 <= args.upto <= len(names):
            raise HarnessError(f'--upto {args.upto}: the series has '
                               f'{len(names)} patches')
        names = names[:args.upto]
    shash = series_hash(args.upto)
    results = {'schema': 1, 'date': time.strftime('%Y-%m-%dT%H:%M:%S%z'),
               'argv': ' '.join(['scripts/bench.py'] + [shlex.quote(a) for a in
                                                        (argv_for_results or [])]),
               'base': tag, 'series': names, 'series_hash': shash,
               'bench_args': args.bench_args, 'settle': args.settle,
               'triggers': trigs, 'arches': {}, 'errors': []}
    ok = True
    per_trig = sum(int(x) for x in re.findall(r'-[wd]\s*(\d+)', args.bench_args)) or 4
    timeout = args.timeout or (240 + len(trigs) * (per_trig + 4) * 25)
    for arch in arches:
        a = {'meta': {'cpu': QEMU[arch]['cpu'],
                      'machine': 'virt' if arch == 'arm64' else 'pc',
                      'args': args.bench_args, 'smp': 1},
             'series_empty': not names, 'kernels': {}, 'runs': [], 'errors': []}
        results['arches'][arch] = a
        try:
            ks = {}
            # the base kernel first: its BTF makes bench's vmlinux.h (the
            # patched one's when only the patched kernel is asked for)
            order = (['base'] if 'base' in kernels else []) + \
                [k for k in kernels if k != 'base']
            for which in order:
                ks[which] = kernel(arch, which, repo, tag, shash, args.upto)
                a['kernels'][which] = {'key': ks[which].key, 'dir': ks[which].dir}
            bench_bin = bench_binary(arch, repo, tag, ks[order[0]])
            initrd = make_initramfs(bench_bin, busybox_for(arch),
                                    os.path.join(bench_cache(), f'initramfs-{arch}.cpio'))
            for mode in modes:
                for rep in range(args.repeat):
                    for which in kernels:
                        k = ks[which]
                        logf = os.path.join(bench_cache(), 'logs',
                                            f'{arch}-{which}-{mode}-{rep}.log')
                        os.makedirs(os.path.dirname(logf), exist_ok=True)
                        log(f'{arch} {which}: booting ({mode}, run {rep + 1}/'
                            f'{args.repeat}), elapsed {time.time() - t_start:.0f} s')
                        tr, errs, secs = boot_bench(arch, k, initrd, trigs,
                                                    args.bench_args, args.settle,
                                                    mode == 'icount', logf, timeout)
                        a['runs'].append({'mode': mode, 'kernel': which, 'rep': rep,
                                          'seconds': round(secs), 'console': logf,
                                          'triggers': {t: e for t, e in tr.items()
                                                       if 'mops' in e}})
                        for e in errs:
                            log(f'ERROR: {e}')
                        a['errors'] += [e.split('\n')[0] for e in errs]
                        ok &= not errs
                        save(results, results_path)
                        if errs and not tr:
                            raise HarnessError(errs[0])
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
    if not args.no_latest and not args.smoke and args.results is None \
            and args.upto is None:
        if ok:
            save(results, LATEST)
            log(f'copied to {LATEST} (commit it to keep the cover letter tables)')
        else:
            log(f'not copied to {LATEST}: the run had errors')
    print()
    for arch in arches:
        print(format_table(arch, results['arches'][arch], trigs))
    if args.plot and have_runs:
        try:
            plot(results, args.plot)
        except HarnessError as e:
            log(f'ERROR: {e}')
            ok = False
    log(f'bench finished in {time.time() - t_start:.0f} s: '
        f'{"ok" if ok else "FAILED"}')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
