# SPDX-License-Identifier: GPL-2.0
"""The BPF trigger bench: the base and patched bench kernels, the static
bench binary, the initramfs, the QEMU runs and their console output.
"""

import dataclasses
import hashlib
import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import time

from rthlib.apt import fetch_debs
from rthlib.benchtables import TRIGGERS
from rthlib.build import build
from rthlib.common import (HarnessError, REPO, bench_cache, cache_dir,
                           ensure_worktree, git, git_out, log, require, run)
from rthlib.kconfig import FRAGMENTS
from rthlib.ktap import SPLAT_RE, strip_console
from rthlib.series import apply_series, read_series
from rthlib.targets import parse_targets


BENCH_TARGETS_FILE = os.path.join(REPO, 'ci', 'bench-targets')


# The smoke (CI) runs the patched kernel only: it shows that the bench
# kernel builds and boots and that bench runs a kprobe and a kretprobe
# through the series' trampoline, at the cost of one kernel build.
SMOKE_TRIGGERS = ['trig-kprobe', 'trig-kretprobe']


KERNELS = ['base', 'patched']


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
# The second model per arch: one that runs the feature-dependent code a
# current machine runs. qemu64 enables no return thunk; under EPYC-Rome
# (Zen 2, -smp 1) the kernel picks the untrained return thunk for
# Retbleed, so every RET is a JMP to the thunk, as on such a host. On
# arm64 'max' has PAN, DIT and SSBS, which the kernel's PSTATE handling
# and uaccess alternatives use (MTE and pointer authentication are not in
# the bench config; the KUnit targets arm64-mte and arm64-pac-bti cover
# them); pauth-impdef=on because QARMA under TCG is slow. The guest's
# vulnerabilities files and CPU flags are recorded with every run
# (guest_info()).
SECOND_CPU = {'x86_64': 'EPYC-Rome', 'arm64': 'max,pauth-impdef=on'}
CPU_MODELS = ['pinned', 'second']
DEB_ARCH = {'x86_64': 'amd64', 'arm64': 'arm64'}
GNU_TRIPLET = {'x86_64': 'x86_64-linux-gnu', 'arm64': 'aarch64-linux-gnu'}
MARK = 'RTH-BENCH:'
INFO = 'RTH-INFO:'


def sha256_text(*parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode() if isinstance(p, str) else p)
        h.update(b'\0')
    return h.hexdigest()


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
        line = strip_console(raw).strip()
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


def guest_info(text):
    """What the guest said about its CPU after the runs: {'vulnerabilities':
    {name: state}, 'flags': [cpuinfo flags or arm64 Features]}."""
    vulns, flags = {}, []
    for raw in text.splitlines():
        line = strip_console(raw).strip()
        if not line.startswith(INFO):
            continue
        kind, _, rest = line[len(INFO):].strip().partition(' ')
        if kind == 'vuln' and ':' in rest:
            name, _, state = rest.partition(':')
            vulns[name.strip()] = state.strip()
        elif kind == 'flags':
            flags = rest.split()
    return {'vulnerabilities': vulns, 'flags': flags}


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
# After the runs, in a subshell: every process started before a bench
# raises its PID, and trig-syscall-count's getpgid() (called with its pid
# argument unset) costs 17 instructions more on x86_64 with 25 more PIDs
# before it. The figures stay comparable with runs made before this.
(
	cd /sys/devices/system/cpu/vulnerabilities 2>/dev/null && for f in *; do
		[ -f "$f" ] && echo "RTH-INFO: vuln $f: $($bb cat "$f")"
	done
	echo "RTH-INFO: flags $($bb grep -m1 -E '^(flags|Features)' /proc/cpuinfo | $bb cut -d: -f2-)"
)
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


def load_bench_targets(path=BENCH_TARGETS_FILE):
    with open(path) as f:
        return parse_targets(f.read())


def series_patches(upto=None):
    names = read_series(os.path.join(REPO, 'series'))[:upto]
    return [os.path.join(REPO, 'patches', n) for n in names]


def patch_code(text):
    """The part of a format-patch file that changes the tree: from its
    first 'diff --git' line up to the signature separator."""
    i = text.find('\ndiff --git ')
    code = text[i + 1:] if i >= 0 else ''
    j = code.rfind('\n-- \n')
    return code[:j + 1] if j >= 0 else code


def series_hash(upto=None):
    """sha256 over the code of the series' patches (the first `upto`), in
    order; 'none' when empty. Commit logs and file names are left out, so
    that filling measured figures into a log does not make the kernels it
    measured stale."""
    pats = series_patches(upto)
    if not pats:
        return 'none'
    h = hashlib.sha256()
    for p in pats:
        with open(p, errors='surrogateescape') as f:
            h.update(patch_code(f.read()).encode(errors='surrogateescape') + b'\0')
    return h.hexdigest()


def series_files_hash(upto=None):
    """sha256 over the series' patch files as they are (name, NUL, bytes,
    for the first `upto`), 'none' when empty. This is what a results file
    records as its series_hash: the repository's before-stop check computes
    the same over series and patches/ and calls a results file measured on
    other patch files stale, commit logs included. (series_hash() above,
    code only, names the kernels.)"""
    names = read_series(os.path.join(REPO, 'series'))[:upto]
    if not names:
        return 'none'
    h = hashlib.sha256()
    for n in names:
        with open(os.path.join(REPO, 'patches', n), 'rb') as f:
            h.update(n.encode() + b'\0' + f.read())
    return h.hexdigest()


def config_hash(target):
    """Hash of what decides the .config: fragments (content, in order),
    arch and compiler (tinyconfig and olddefconfig depend on both)."""
    parts = [target.arch]
    for fr in target.fragments:
        with open(os.path.join(FRAGMENTS, fr + '.config')) as f:
            parts.append(fr + '\n' + f.read())
    cc = target.cc
    ver = run([cc, '--version'], capture=True, quiet=True, check=False).stdout
    parts.append(ver.splitlines()[0] if ver else cc)
    return sha256_text(*parts)


def bench_src(repo, tag):
    """A worktree of the base repository for the bench kernels: switched
    between base and patched with git, so a switch rebuilds only what the
    series touches (one build directory per arch)."""
    wt = os.path.join(cache_dir(), 'bench-src')
    ensure_worktree(repo, wt, tag)
    return wt


def checkout(wt, tag, which, upto=None):
    if os.path.isdir(os.path.join(git_out(wt, 'rev-parse', '--git-dir'), 'rebase-apply')):
        git(wt, 'am', '--abort', check=False, quiet=True)
    if which == 'base':
        git(wt, 'checkout', '-q', '-f', '--detach', tag, quiet=True)
        git(wt, 'clean', '-q', '-fdx', quiet=True)
        return []
    return apply_series(wt, tag, upto=upto, branch='bench-patched')


def kernel(arch, which, repo, tag, shash, upto=None, kind='bench',
           targets_file=BENCH_TARGETS_FILE, extra=None, extra_files=(),
           extra_fragments=()):
    """Build (or take from the cache) the base or patched kernel.

    kind names the cache and build directories ('bench': kernels/ARCH-KEY,
    build/ARCH; anything else: kernels/KIND-ARCH-KEY, build/KIND-ARCH), so
    the peer-suites kernels (scripts/peer-suites) keep their own warm build
    directory. extra(src, build_dir, out_dir) runs after the image is built,
    before the tree is switched (the peer suites build their test modules
    there); extra_files are the names it leaves in out_dir.
    extra_fragments (absolute paths without '.config') are merged last:
    the distro-like preemption model (rthlib/distro.py)."""
    target = load_bench_targets(targets_file)[arch]
    if extra_fragments:
        target = dataclasses.replace(
            target, fragments=list(target.fragments) + list(extra_fragments))
    key = sha256_text(tag, git_out(repo, 'rev-parse', tag),
                      config_hash(target), shash if which == 'patched' else 'none')[:16]
    name = arch if kind == 'bench' else f'{kind}-{arch}'
    d = os.path.join(bench_cache(), 'kernels', f'{name}-{key}')
    k = Kernel(arch, which, key, d)
    if all(os.path.exists(f) for f in (k.image, k.btf, k.system_map)) and \
            all(os.path.exists(os.path.join(d, f)) for f in extra_files):
        log(f'{name} {which} kernel: cached {d}')
        return k
    wt = bench_src(repo, tag)
    checkout(wt, tag, which, upto)
    b = os.path.join(bench_cache(), 'build', name)
    t0 = time.time()
    log(f'{name} {which} kernel: building (config {key}); log {b}/build.log')
    # The fragments name options the series adds (the trampoline suite):
    # the base tree does not define them, which is expected, not an error.
    img = build(wt, target, b, allow_undefined=(which == 'base' or upto is not None))
    shutil.rmtree(d + '.tmp', ignore_errors=True)
    os.makedirs(d + '.tmp')
    if extra:
        extra(wt, b, d + '.tmp')
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
        json.dump({'arch': arch, 'which': which, 'base': tag, 'kind': kind,
                   'series_hash': shash if which == 'patched' else 'none',
                   'upto': upto,
                   'head': git_out(wt, 'rev-parse', 'HEAD'),
                   'build_seconds': round(time.time() - t0)}, f, indent=1)
    shutil.rmtree(d, ignore_errors=True)
    os.rename(d + '.tmp', d)
    log(f'{name} {which} kernel: built in {time.time() - t0:.0f} s -> {d}')
    return k


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
    wt = os.path.join(cache_dir(), f'bench-tools-{arch}')
    ensure_worktree(repo, wt, tag)
    git(wt, 'checkout', '-q', '--detach', tag, quiet=True)
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
        require(GNU_TRIPLET[arch] + '-gcc')
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


def qemu_bench_cmd(arch, image, initrd, trigs, args, settle, icount, cpu=None):
    q = QEMU[arch]
    append = (f'console={q["console"]} panic=-1 kunit.enable=0 '
              f'rth_bench.trig={",".join(trigs)} '
              f'rth_bench.args={",".join(args.split())} rth_bench.settle={settle}')
    cmd = [q['qemu'], *q['machine'], '-cpu', cpu or q['cpu'], '-smp', '1', '-m', '1024',
           '-nodefaults', '-display', 'none', '-serial', 'stdio', '-no-reboot']
    if icount:
        cmd += ['-icount', 'shift=0']
    return cmd + ['-kernel', image, '-initrd', initrd, '-append', append]


def boot_bench(arch, kern, initrd, trigs, args, settle, icount, logf, timeout,
               cpu=None):
    cmd = qemu_bench_cmd(arch, kern.image, initrd, trigs, args, settle, icount, cpu)
    require(cmd[0])
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
    info = guest_info(text)
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
    splats = [l for l in (strip_console(x) for x in text.splitlines())
              if SPLAT_RE.search(l)]
    for s_ in splats[:5]:
        errors.append(f'{arch} {kern.which} console: {s_}')
    log(f'{arch} {kern.which} ({"icount" if icount else "wall"}): QEMU exited '
        f'{p.returncode} after {elapsed:.0f} s')
    return trig_res, errors, elapsed, info


def save(results, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + '.tmp', 'w') as f:
        json.dump(results, f, indent=1, sort_keys=False)
    os.replace(path + '.tmp', path)
