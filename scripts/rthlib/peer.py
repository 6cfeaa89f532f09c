# SPDX-License-Identifier: GPL-2.0
"""The peer suites: BPF test_progs and ftracetest, the tests that the BPF
and tracing maintainers run, on the base and the patched kernel.

The kernels are the bench kernels plus kconfig-fragments/peer-suites.config
(ci/peer-targets). test_progs is built from the base tree's
tools/testing/selftests/bpf once per arch (the series does not touch it),
statically like bench, and only with the tests in PEER_TESTS (the full
build compiles about 900 BPF objects: see prune_selftests()). The test
modules (bpf_testmod.ko and its siblings) are built against each kernel,
because module BTF is split BTF on top of that kernel's vmlinux BTF.
Everything runs from an initramfs: busybox, Debian's bash-static (for
ftracetest) and the suites' files.
"""

import glob
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
from rthlib.bench import (ARM64_DEBS, DEB_ARCH, GNU_TRIPLET, QEMU, busybox_for,
                          clang_tools, cpio_newc, kernel, sha256_text)
from rthlib.common import (HarnessError, REPO, bench_cache, cache_dir,
                           ensure_worktree, git, git_out, log, require, run)
from rthlib.ktap import SPLAT_RE, strip_console
from rthlib.qemu import run_console
from rthlib.targets import make_cmd

PEER_TARGETS_FILE = os.path.join(REPO, 'ci', 'peer-targets')
SUITES = ['test_progs', 'ftracetest']
MARK = 'RTH-PEER:'

# test_progs tests (prog_tests/NAME.c, run as -t NAME): the BPF trampoline
# (fentry/fexit/fmod_ret), kprobe.multi on fprobe, kprobes, and the
# tracing helpers that read the probed function's ip and arguments.
PEER_TESTS = [
    'fentry_test', 'fexit_test', 'fentry_fexit', 'fexit_stress',
    'modify_return', 'trampoline_count', 'recursion', 'kprobe_multi_test',
    'kprobe_multi_testmod_test', 'attach_probe', 'get_func_ip_test',
    'bpf_cookie',
    # cheap and on the same paths
    'get_func_args_test', 'fexit_sleep', 'missed',
    'test_overhead', 'tracing_failure',
    # added by the series (it passes on the base too): run statistics
    # and a sleepable fentry program through the BPF trampoline
    'tramp_run_stats',
]

SELFTESTS_BPF = 'tools/testing/selftests/bpf/'
NEW_TEST_RE = re.compile(r'^\+\+\+ b/tools/testing/selftests/bpf/prog_tests/(\w+)\.c$', re.M)

# ftracetest: these directories and, of test.d/ftrace, the function-graph
# tests (fgraph-*.tc).
FTRACE_DIRS = ['test.d/kprobe', 'test.d/dynevent']
FTRACE_GLOBS = ['test.d/ftrace/fgraph-*.tc']

# ftracetest cases that cannot pass on the bench kernel's smaller config
# (ci/bench-targets: no modules, no TCP/IP, no uprobes...): name -> (text,
# or tuple of texts, its one line of why must contain, the reason). `peer-suites
# --bench-kernel` (CI) fails on any other failure, and on one of these
# that fails for another reason. Filled from a run of the base config; the
# peer-suites kernels run all of them.
MODS = ('loads a sample module: the bench config has no modules (the '
        'peer-suites kernels pass it)')
NO_MODDIR = "modprobe: can't change directory to '/lib/modules'"
BENCH_KERNEL_EXPECTED = {
    'Kprobe dynamic event - probing module': (NO_MODDIR, MODS),
    'Generic dynamic event - add/remove fprobe events on module': (NO_MODDIR, MODS),
    'Generic dynamic event - add/remove tracepoint probe events on module':
        (NO_MODDIR, MODS),
    'BTF event with typecast and percpu access': (NO_MODDIR, MODS),
    'BTF typecast and percpu access syntax validation': (NO_MODDIR, MODS),
    'Generic dynamic event - add/remove/test uprobe events':
        ('No readelf found',
         'needs readelf in the guest, which has none (fails on every kernel here)'),
    'Kprobe event symbol argument':
        ('please enable CONFIG_KALLSYMS_ALL',
         'probes the data symbol linux_proc_banner: the bench config has no '
         'KALLSYMS_ALL (the peer-suites kernels pass it)'),
    'Kretprobe dynamic event with maxactive':
        ('kretprobe_maxactive.tc: line 16: echo: write error: Invalid argument',
         'probes inet_csk_accept: the bench config has no TCP/IP (the '
         'peer-suites kernels pass it)'),
    'Register/unregister optimized probe':
        ('/sys/kernel/debug/kprobes/list: No such file or directory',
         'reads /sys/kernel/debug/kprobes/list: the bench config has no '
         'debugfs (the peer-suites kernels pass it)'),
    'Kprobe event user-memory access':
        (("last command: grep -q 'path=(fault) path2=(fault)'",
          'last command: grep myevent trace'),
         'records no event, or not the faulting one, for the open of '
         '/dev/null on the bench config (both seen); '
         'passes on the peer-suites kernels, base and patched (not '
         'investigated further)'),
}


def bench_kernel_unexpected(summary):
    """The CI run's failures that BENCH_KERNEL_EXPECTED does not explain
    (by name and by the text of its why), and the expected names that are
    not cases of the run at all (a renamed case must not hide a failure):
    ([(name, why)], [missing names])."""
    bad = []
    for n in summary['failed']:
        why = summary['why'].get(n, '')
        exp = BENCH_KERNEL_EXPECTED.get(n)
        texts = () if not exp else exp[0] if isinstance(exp[0], tuple) else (exp[0],)
        if not any(t in why for t in texts):
            bad.append((n, why or '?'))
    missing = sorted(set(BENCH_KERNEL_EXPECTED) - set(summary['results']))
    return bad, missing


KMODS = ['bpf_testmod.ko', 'bpf_test_no_cfi.ko', 'bpf_test_modorder_x.ko',
         'bpf_test_modorder_y.ko', 'bpf_test_rqspinlock.ko']


def load_peer_target(arch):
    from rthlib.bench import load_bench_targets
    return load_bench_targets(PEER_TARGETS_FILE)[arch]


def kmods_hook(arch):
    """kernel() extra: Module.symvers (make modules) and the selftests' test
    modules built against this build directory, copied into out."""
    target = load_peer_target(arch)

    def extra(src, b, out):
        res = subprocess.run(make_cmd(src, b, target, 'modules'),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
        if res.returncode != 0:
            raise HarnessError(f'make modules in {b} failed:\n{res.stdout[-3000:]}')
        kd = os.path.join(b, 'rth-test-kmods')
        shutil.rmtree(kd, ignore_errors=True)
        sdir = os.path.join(src, 'tools', 'testing', 'selftests', 'bpf', 'test_kmods')
        shutil.copytree(sdir, kd)
        # make_cmd's O= is the kernel build; M= the copy (Kbuild reads its
        # Makefile: obj-m and CFLAGS only).
        cmd = make_cmd(src, b, target, f'M={kd}', 'modules')
        res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
        if res.returncode != 0:
            raise HarnessError(f'building the BPF selftests\' test modules '
                               f'against {b} failed:\n{res.stdout[-3000:]}')
        for m in KMODS:
            shutil.copy(os.path.join(kd, m), os.path.join(out, m))
        # the kernel's own modules (ftracetest's sample modules) with
        # modules.dep, for the guest's /lib/modules
        res = subprocess.run(make_cmd(src, b, target, 'INSTALL_MOD_STRIP=1',
                                      f'INSTALL_MOD_PATH={out}/modroot',
                                      'modules_install'),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
        if res.returncode != 0:
            raise HarnessError(f'make modules_install in {b} failed:\n'
                               f'{res.stdout[-3000:]}')
        log(f'test modules built against {b}: {", ".join(KMODS)}; '
            f'modules installed in {out}/modroot')
    return extra


def peer_kernel(arch, which, repo, tag, shash, kind='peer', extra_fragments=()):
    return kernel(arch, which, repo, tag, shash, kind=kind,
                  extra_fragments=extra_fragments,
                  targets_file=PEER_TARGETS_FILE, extra=kmods_hook(arch),
                  extra_files=KMODS + ['modroot/lib/modules'])


# -- test_progs ---------------------------------------------------------------

SKEL_RE = re.compile(r'"(?:\./)?([\w-]+)\.(?:skel\.h|lskel\.h|subskel\.h|bpf\.o)"')
TESTFN_RE = re.compile(r'^void\s+(?:serial_)?test_(\w+)\s*\((?:void)?\)', re.M)
INCLUDE_C_RE = re.compile(r'^#include\s+"([\w-]+\.c)"', re.M)


def linked_deps(makefile_text):
    """{skel: [dep prog .c]} of the Makefile's linked skeletons
    ('X.skel.h-deps := a.bpf.o b.bpf.o')."""
    deps = {}
    for m in re.finditer(r'^([\w-]+)\.skel\.h-deps\s*:=\s*(.*)$', makefile_text, re.M):
        deps[m.group(1)] = [o[:-len('.bpf.o')] for o in m.group(2).split()
                            if o.endswith('.bpf.o')]
    return deps


def makefile_progs(makefile_text):
    """progs/*.c that the Makefile names explicitly (light skeletons and the
    parts of linked skeletons): their rules exist whatever is pruned, so
    their sources stay."""
    text = makefile_text.replace('\\\n', ' ')
    keep = set()
    for m in re.finditer(r'^(LSKELS|LSKELS_SIGNED|LSKELS_EXTRA)\s*:=(.*)$', text, re.M):
        keep |= {w[:-2] for w in m.group(2).split() if w.endswith('.c')}
    for deps in linked_deps(text).values():
        keep |= set(deps)
    return keep


def selftest_patches(repo_dir=REPO):
    """The series' patches that touch tools/testing/selftests/bpf, in
    series order. test_progs is built from the base tree with their
    selftests part applied (and nothing else of them), so that the base
    and the patched kernel run the same binary: a test the series adds
    shows that it passes on the base too."""
    from rthlib.series import read_series
    out = []
    for n in read_series(os.path.join(repo_dir, 'series')):
        p = os.path.join(repo_dir, 'patches', n)
        with open(p, errors='replace') as f:
            if f'+++ b/{SELFTESTS_BPF}' in f.read():
                out.append(p)
    return out


def series_tests(repo_dir=REPO):
    """prog_tests/NAME.c files that the series' patches add or change."""
    names = set()
    for p in selftest_patches(repo_dir):
        with open(p, errors='replace') as f:
            names.update(NEW_TEST_RE.findall(f.read()))
    return names


def check_test_files(repo, tag, tests, repo_dir=REPO):
    """Before anything is built: every name in tests is a test file
    (tools/testing/selftests/bpf/prog_tests/NAME.c) of the base tree or
    one that the series adds."""
    if not tests:
        raise HarnessError('--tests: no test named')
    out = git_out(repo, 'ls-tree', '--name-only', f'{tag}:tools/testing/selftests/bpf/prog_tests')
    have = {n[:-2] for n in out.split() if n.endswith('.c')} | series_tests(repo_dir)
    bad = [t for t in tests if t not in have]
    if bad:
        near = sorted(h for h in have if any(b.split('_')[0] in h for b in bad))[:8]
        raise HarnessError(f'unknown test_progs test(s) {", ".join(bad)}: no '
                           f'prog_tests/<name>.c in {tag}' +
                           (f' (similar: {", ".join(near)})' if near else ''))


def selection(sdir, tests):
    """What test_progs needs for the test files `tests` (prog_tests/T.c):
    (test names to run, BPF program sources to keep (progs/*.c names),
    runtime objects the tests open by file name). Raises if a test file
    is missing."""
    with open(os.path.join(sdir, 'Makefile')) as f:
        mk = f.read()
    ldeps = linked_deps(mk)
    names, runtime = [], set()
    progs = makefile_progs(mk)
    for t in tests:
        p = os.path.join(sdir, 'prog_tests', t + '.c')
        if not os.path.exists(p):
            raise HarnessError(f'test_progs test {t}: no {p} in this tree')
        with open(p) as f:
            text = f.read()
        names += TESTFN_RE.findall(text)
        for m in SKEL_RE.finditer(text):
            stem = m.group(1)
            if m.group(0).endswith('.bpf.o"'):
                runtime.add(stem + '.bpf.o')
            progs.update(ldeps.get(stem, [stem]))
    # programs that include other programs' sources
    todo = list(progs)
    while todo:
        p = os.path.join(sdir, 'progs', todo.pop() + '.c')
        if os.path.exists(p):
            with open(p) as f:
                for inc in INCLUDE_C_RE.findall(f.read()):
                    stem = inc[:-2]
                    if stem not in progs:
                        progs.add(stem)
                        todo.append(stem)
    progs = {p for p in progs if os.path.exists(os.path.join(sdir, 'progs', p + '.c'))}
    return names, progs, runtime


def prune_selftests(sdir, tests):
    """Delete from a scratch worktree's selftests/bpf every prog_tests/*.c
    and progs/*.c that the tests do not need: the Makefile builds what is
    there (wildcards), so test_progs then holds exactly these tests and
    the build compiles a few dozen BPF objects instead of about 900.
    Returns selection()."""
    names, progs, runtime = selection(sdir, tests)
    for p in glob.glob(os.path.join(sdir, 'prog_tests', '*.c')):
        if os.path.basename(p)[:-2] not in tests:
            os.unlink(p)
    for p in glob.glob(os.path.join(sdir, 'progs', '*.c')):
        if os.path.basename(p)[:-2] not in progs:
            os.unlink(p)
    return names, progs, runtime


def peer_tools_tree(repo, tag, arch, patches=()):
    wt = os.path.join(cache_dir(), f'peer-tools-{arch}')
    ensure_worktree(repo, wt, tag)
    # restore what an earlier prune deleted (build outputs stay), and
    # remove files an earlier run's selftest patches added
    git(wt, 'checkout', '-q', '-f', '--detach', tag, quiet=True)
    git(wt, 'clean', '-q', '-f', '--', SELFTESTS_BPF + 'prog_tests',
        SELFTESTS_BPF + 'progs', quiet=True)
    for p in patches:
        r = run(['git', '-C', wt, 'apply', f'--include={SELFTESTS_BPF}*', p],
                check=False, capture=True, quiet=True)
        if r.returncode != 0:
            raise HarnessError(f'test_progs: the selftests part of '
                               f'{os.path.basename(p)} does not apply to '
                               f'{tag}:\n  {r.stderr.strip()}')
    return wt


# The arm64 sysroot of test_progs: the bench's, plus OpenSSL for the arm64
# bpftool that test_progs' build makes (its sign.c includes the arch's
# opensslconf.h). Its own directory, so the bench's stays as it is.
ARM64_PEER_DEBS = ARM64_DEBS + ['libssl-dev', 'libssl3']


def test_progs_binary(arch, repo, tag, base_kernel, tests=PEER_TESTS):
    """Build test_progs (static) for arch; returns (dir holding test_progs
    and the runtime .bpf.o files, [test names])."""
    from rthlib.bench import bench_make_cmd
    tools, ver = clang_tools()
    cver = run([tools['CLANG'], '--version'], capture=True, quiet=True).stdout.splitlines()[0]
    with open(base_kernel.btf, 'rb') as f:
        btf_hash = hashlib.sha256(f.read()).hexdigest()
    with open(__file__, 'rb') as f:
        me = hashlib.sha256(f.read()).hexdigest()
    patches = selftest_patches()
    texts = []
    for p in patches:
        with open(p, 'rb') as f:
            # the diff, not the mail headers (numbering changes them)
            texts.append(hashlib.sha256(f.read().split(b'\n---\n', 1)[-1]).hexdigest())
    key = sha256_text(tag, arch, cver, btf_hash, ' '.join(tests), me, *texts)[:16]
    out = os.path.join(bench_cache(), 'peer-bin', f'{arch}-{key}')
    if os.path.exists(os.path.join(out, 'names.json')):
        log(f'{arch} test_progs: cached {out}')
        with open(os.path.join(out, 'names.json')) as f:
            return out, json.load(f)
    sysroot = None
    if arch != 'x86_64':
        require(GNU_TRIPLET[arch] + '-gcc')
        sysroot = fetch_debs(DEB_ARCH[arch], ARM64_PEER_DEBS,
                             os.path.join(bench_cache(), 'sysroot-arm64-peer'))
    wt = peer_tools_tree(repo, tag, arch, patches)
    sdir = os.path.join(wt, 'tools', 'testing', 'selftests', 'bpf')
    names, progs, runtime = prune_selftests(sdir, tests)
    if arch != 'x86_64':
        # sign-file (for the verify_pkcs7_sig test, not run here) links the
        # target's libcrypto; its rule takes no sysroot flags. A placeholder
        # newer than its source keeps make from building it.
        ph = os.path.join(sdir, 'sign-file')
        with open(ph, 'w') as f:
            f.write('#!/bin/sh\necho "sign-file: not built (scripts/peer-suites)" >&2\nexit 1\n')
        os.chmod(ph, 0o755)
    cmd = bench_make_cmd(wt, arch, base_kernel.btf, tools, sysroot)[:-1]
    cmd += ['BPF_STRICT_BUILD=0', 'SKIP_LLVM=1', 'SKIP_LIBBFD=1',
            os.path.join(sdir, 'test_progs')]
    logf = os.path.join(bench_cache(), f'test_progs-build-{arch}.log')
    log(f'{arch} test_progs: building {len(names)} tests, {len(progs)} BPF '
        f'programs with clang-{ver}; log {logf}')
    log('$ ' + ' '.join(shlex.quote(c) for c in cmd))
    t0 = time.time()
    with open(logf, 'w') as lf:
        res = subprocess.run(cmd, stdout=lf, stderr=subprocess.STDOUT)
    built = cmd[-1]
    with open(logf, errors='replace') as f:
        btext = f.read()
    tail = '\n  '.join(btext.splitlines()[-25:])
    if res.returncode != 0 or not os.path.exists(built):
        raise HarnessError(f'{arch} test_progs build failed (exit '
                           f'{res.returncode}); see {logf}:\n  {tail}')
    # BPF_STRICT_BUILD=0 skips what fails to build: a test of ours that was
    # skipped is an error, not a silently smaller run.
    missing = [t for t in tests if not os.path.exists(
        os.path.join(sdir, f'{t}.test.o'))]
    skipped = re.findall(r'SKIP-\w+\s+(\S+)', btext)
    if missing:
        raise HarnessError(f'{arch} test_progs: test(s) {", ".join(missing)} '
                           f'did not build (skipped by the build: '
                           f'{", ".join(skipped) or "none named"}); see {logf}')
    os.makedirs(out + '.tmp', exist_ok=True)
    shutil.copy(built, os.path.join(out + '.tmp', 'test_progs'))
    for r in sorted(runtime):
        src = os.path.join(sdir, r)
        if not os.path.exists(src):
            raise HarnessError(f'{arch} test_progs: {r}, which a test opens '
                               f'at run time, was not built; see {logf}')
        shutil.copy(src, os.path.join(out + '.tmp', r))
    with open(os.path.join(out + '.tmp', 'names.json'), 'w') as f:
        json.dump(sorted(set(names)), f)
    shutil.rmtree(out, ignore_errors=True)
    os.rename(out + '.tmp', out)
    log(f'{arch} test_progs: built in {time.time() - t0:.0f} s -> {out} '
        f'({len(set(names))} tests)')
    return out, sorted(set(names))


# -- initramfs and the guest --------------------------------------------------

INIT_SCRIPT = r'''#!/bin/busybox sh
# scripts/peer-suites: run one peer suite (rth_peer.suite=) and power off.
bb=/bin/busybox
$bb --install -s /bin
export PATH=/bin:/sbin:/usr/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
suite= tests= ftrace=
for w in $(cat /proc/cmdline); do
	case $w in
	rth_peer.suite=*) suite=${w#*=} ;;
	rth_peer.tests=*) tests=${w#*=} ;;
	rth_peer.ftrace=*) ftrace=${w#*=} ;;
	esac
done
echo "RTH-PEER: ready $(uname -r) $(uname -m) cpus=$(grep -c ^processor /proc/cpuinfo)"
# Kernel messages below KERN_ERR off the console while the suite prints:
# they split its result lines (with -n 5, trace_kprobe's pr_warn()s glued
# themselves to two ftracetest results, which were lost). All of them
# follow from dmesg at the end; oopses and panics (KERN_ALERT, KERN_EMERG)
# still reach the console. A WARN() followed by a hang is only in the
# dmesg dump, which a killed guest does not print.
dmesg -n 4
echo "RTH-PEER: start $suite"
case $suite in
test_progs)
	cd /peer/bpf && ./test_progs -a "$tests" 2>&1
	rc=$? ;;
ftracetest)
	cd /peer/ftrace && /bin/bash ./ftracetest -v --fail-unresolved $(echo "$ftrace" | tr , ' ') 2>&1
	rc=$? ;;
*)
	echo "unknown suite '$suite'"; rc=2 ;;
esac
echo "RTH-PEER: end $suite rc=$rc"
echo "RTH-PEER: dmesg"
dmesg
echo "RTH-PEER: done"
sync
reboot -f
'''


def tree_entries(host_dir, prefix):
    """cpio entries for a host directory tree (regular files, dirs,
    symlinks), under prefix."""
    d = stat.S_IFDIR | 0o755
    out = []
    for root, dirs, files in os.walk(host_dir):
        dirs.sort()
        rel = os.path.relpath(root, host_dir)
        base = prefix if rel == '.' else f'{prefix}/{rel}'
        out.append((base, d, b'', (0, 0)))
        for fn in sorted(files):
            p = os.path.join(root, fn)
            if os.path.islink(p):
                out.append((f'{base}/{fn}', stat.S_IFLNK | 0o777,
                            os.readlink(p).encode(), (0, 0)))
                continue
            mode = os.stat(p).st_mode & 0o777
            with open(p, 'rb') as f:
                out.append((f'{base}/{fn}', stat.S_IFREG | mode, f.read(), (0, 0)))
    return out


def bash_static(arch):
    root = fetch_debs(DEB_ARCH[arch], ['bash-static'],
                      os.path.join(bench_cache(), f'sysroot-bash-{arch}'))
    p = os.path.join(root, 'bin', 'bash-static')
    if not os.path.exists(p):
        raise HarnessError(f'bash-static:{DEB_ARCH[arch]} unpacked into {root} '
                           f'holds no bin/bash-static')
    return p


def make_peer_initramfs(arch, kern_dir, tp_dir, ftrace_dir, out, with_kmods=True):
    """busybox, bash, test_progs with its .bpf.o files and the test modules
    of this kernel in /peer/bpf, the ftrace selftests in /peer/ftrace."""
    d, r = stat.S_IFDIR | 0o755, stat.S_IFREG | 0o755
    with open(busybox_for(arch), 'rb') as f:
        bb = f.read()
    with open(bash_static(arch), 'rb') as f:
        bash = f.read()
    entries = [('bin', d, b'', (0, 0)), ('sbin', d, b'', (0, 0)),
               ('usr', d, b'', (0, 0)), ('usr/bin', d, b'', (0, 0)),
               ('root', d, b'', (0, 0)), ('dev', d, b'', (0, 0)),
               ('dev/console', stat.S_IFCHR | 0o600, b'', (5, 1)),
               ('dev/null', stat.S_IFCHR | 0o666, b'', (1, 3)),
               ('proc', d, b'', (0, 0)), ('sys', d, b'', (0, 0)),
               ('tmp', d, b'', (0, 0)),
               ('bin/busybox', r, bb, (0, 0)),
               ('bin/sh', stat.S_IFLNK | 0o777, b'busybox', (0, 0)),
               ('bin/bash', r, bash, (0, 0)),
               ('init', r, INIT_SCRIPT.encode(), (0, 0)),
               ('peer', d, b'', (0, 0))]
    if tp_dir:
        entries += tree_entries(tp_dir, 'peer/bpf')
    for m in (KMODS if with_kmods else []):
        with open(os.path.join(kern_dir, m), 'rb') as f:
            entries.append((f'peer/bpf/{m}', stat.S_IFREG | 0o644, f.read(), (0, 0)))
    modroot = os.path.join(kern_dir, 'modroot', 'lib')
    if with_kmods and os.path.isdir(modroot):
        entries += [('lib', d, b'', (0, 0))] + tree_entries(
            os.path.join(modroot, 'modules'), 'lib/modules')
    entries += tree_entries(ftrace_dir, 'peer/ftrace')
    with open(out + '.tmp', 'wb') as f:
        f.write(cpio_newc(entries))
    os.replace(out + '.tmp', out)
    return out


def ftrace_tree(repo, tag):
    """tools/testing/selftests/ftrace of the base tag, unpacked with git
    archive (the series does not change it)."""
    d = os.path.join(bench_cache(), f'ftrace-selftests-{tag}')
    top = os.path.join(d, 'tools', 'testing', 'selftests', 'ftrace')
    if os.path.exists(os.path.join(top, 'ftracetest')):
        return top
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    arch = subprocess.run(['git', '-C', repo, 'archive', tag,
                           'tools/testing/selftests/ftrace'],
                          stdout=subprocess.PIPE, check=False)
    if arch.returncode != 0:
        raise HarnessError(f'git archive of the ftrace selftests at {tag} failed')
    subprocess.run(['tar', '-x', '-C', d], input=arch.stdout, check=True)
    if not os.path.exists(os.path.join(top, 'ftracetest')):
        raise HarnessError(f'{tag} has no tools/testing/selftests/ftrace/ftracetest')
    return top


def ftrace_cases(ftrace_dir):
    """The ftracetest arguments: FTRACE_DIRS and the files of FTRACE_GLOBS
    (relative to the ftrace selftests directory)."""
    cases = [c for c in FTRACE_DIRS if os.path.isdir(os.path.join(ftrace_dir, c))]
    for g in FTRACE_GLOBS:
        cases += sorted(os.path.relpath(p, ftrace_dir)
                        for p in glob.glob(os.path.join(ftrace_dir, g)))
    if not cases:
        raise HarnessError(f'no ftracetest cases under {ftrace_dir}')
    return cases


def qemu_peer_cmd(arch, image, initrd, suite, tests, cases, cpu=None, smp=2):
    """One boot runs one suite. Two CPUs under single-threaded TCG: the
    suites' SMP paths run, and multi-threaded TCG's cross-CPU code
    patching, which the x86_64 two-CPU stress oopsed under
    (results/x86_64-debug-smp-oops/), is kept out of these results."""
    q = QEMU[arch]
    append = (f'console={q["console"]} panic=-1 kunit.enable=0 '
              f'rth_peer.suite={suite} rth_peer.tests={",".join(tests)} '
              f'rth_peer.ftrace={",".join(cases)}')
    # the kernel keeps COMMAND_LINE_SIZE (2048) bytes and drops the rest
    # without a word: a test list cut off would fail on both kernels
    if len(append) > 2000:
        raise HarnessError(f'the {suite} test list makes a kernel command line '
                           f'of {len(append)} bytes; at most 2000 fit (run '
                           f'fewer tests per call with --tests)')
    return [q['qemu'], *q['machine'], '-cpu', cpu or q['cpu'],
            '-accel', 'tcg,thread=single', '-smp', str(smp), '-m', '2048',
            '-nodefaults', '-display', 'none', '-serial', 'stdio',
            '-no-reboot', '-kernel', image, '-initrd', initrd,
            '-append', append]


ANSI_RE = re.compile(r'\x1b\[[0-9;]*[A-Za-z]')
TP_RESULT_RE = re.compile(r'^#(\d+)\s+([\w-]+):(OK|FAIL|SKIP)\b')
TP_SUBTEST_RE = re.compile(r'^#(\d+)/(\d+)\s+([\w-]+/\S+):(OK|FAIL|SKIP)\b')
NO_RESULT = 'no result (not run, or the run ended before it)'
FT_RESULT_RE = re.compile(r'^\[(\d+)\](.*?)\s*\[(PASS|FAIL|UNRESOLVED|UNTESTED|'
                          r'UNSUPPORTED|XFAIL|UNDEFINED)\]\s*$')
FT_PASS = {'PASS'}
FT_SKIP = {'UNSUPPORTED', 'UNTESTED', 'XFAIL'}    # FAIL, UNRESOLVED, UNDEFINED fail


def suite_lines(text):
    """The lines between 'RTH-PEER: start' and 'RTH-PEER: end', console
    prefixes and colours removed; (lines, rc or None, started)."""
    lines, rc, started = [], None, False
    for raw in text.splitlines():
        line = ANSI_RE.sub('', strip_console(raw)).rstrip()
        if MARK in line:
            w = line[line.index(MARK) + len(MARK):].split()
            if w and w[0] == 'start':
                started = True
            elif w and w[0] == 'end':
                m = re.search(r'rc=(-?\d+)', line)
                rc = int(m.group(1)) if m else None
            continue
        if started and rc is None:
            lines.append(line)
    return lines, rc, started


XTRACE_RE = re.compile(r'^\++ ')
ERROR_RE = re.compile(r'\b(error|Error|ERROR|failed|FAIL|[Nn]o such|[Ii]nvalid|'
                      r'[Nn]o \w+ found|not found|skipped|please enable)\b')


def why_line(log_lines, last=False):
    """One line of why from a failing test's log: its first (test_progs:
    the first CHECK that failed) or, with last=True, its last (ftracetest:
    the cleanup at a test's start can print harmless errors) error line;
    else the last command the shell traced."""
    plain = [l.strip() for l in log_lines if l.strip() and not XTRACE_RE.match(l)]
    for pat in ([re.compile(r':FAIL:')] if not last else []) + [ERROR_RE]:
        hits = [l for l in plain if pat.search(l)]
        if hits:
            return (hits[-1] if last else hits[0])[:200]
    traced = [l for l in log_lines if XTRACE_RE.match(l)]
    if traced:
        return ('last command: ' + XTRACE_RE.sub('', traced[-1]).strip())[:200]
    return (plain[-1] if plain else 'no log')[:200]


def parse_test_progs(lines, expected):
    """{'pass','fail','skip','failed','why','results','subtests'} from
    test_progs' result lines: the counts are of top-level tests; subtests
    ('attach_probe/kprobe') are kept apart so that a new failure in one is
    seen while another subtest of the same test fails on both kernels. An
    expected test with no result is failed with why NO_RESULT."""
    results, why, seg, subseg, subtests = {}, {}, [], [], {}
    for l in lines:
        m = TP_RESULT_RE.match(l.strip())
        ms = TP_SUBTEST_RE.match(l.strip())
        if ms:
            subtests[ms.group(3)] = ms.group(4)
            if ms.group(4) == 'FAIL' and ms.group(3) not in why:
                # its own log if it has a failed CHECK, else the test's
                why[ms.group(3)] = why_line(
                    subseg if any(':FAIL:' in x for x in subseg) else seg)
            subseg = []
        elif m:
            name, res = m.group(2), m.group(3)
            if name not in results or res == 'FAIL':
                results[name] = res
            if res == 'FAIL' and name not in why:
                why[name] = why_line(seg)
            seg, subseg = [], []
        else:
            seg.append(l)
            subseg.append(l)
    for t in expected:
        if t not in results:
            results[t] = 'FAIL'
            why[t] = NO_RESULT
    out = summarize(results, {'OK'}, {'SKIP'}, why)
    out['subtests'] = subtests
    out['why'].update({k: why[k] for k, v in subtests.items() if v == 'FAIL' and k in why})
    return out


def parse_ftracetest(lines):
    """Results by description; a description that repeats (three
    'function graph filters' tests) gets ' (2)', ' (3)' in run order. The
    log printed after a failing result (ftracetest -v) gives its why."""
    results, logs, seen = {}, {}, {}
    last = None
    for l in lines:
        m = FT_RESULT_RE.match(l.strip())
        if m:
            name, res = m.group(2).strip(), m.group(3)
            seen[name] = seen.get(name, 0) + 1
            if seen[name] > 1:
                name = f'{name} ({seen[name]})'
            results[name] = res
            last = name
            continue
        if last is not None and results[last] not in FT_PASS | FT_SKIP:
            logs.setdefault(last, []).append(l)
    why = {}
    for k, v in results.items():
        if v not in FT_PASS | FT_SKIP:
            why[k] = f'{v}: ' + (why_line(logs[k], last=True) if k in logs
                                 else 'no log')
    return summarize(results, FT_PASS, FT_SKIP, why)


def summarize(results, ok, skip, why):
    failed = sorted(k for k, v in results.items() if v not in ok | skip)
    return {'pass': sum(v in ok for v in results.values()),
            'fail': len(failed),
            'skip': sum(v in skip for v in results.values()),
            'failed': failed,
            'why': {k: why[k] for k in failed if k in why},
            'results': results}


def new_failures(base, patched):
    """Tests (and test_progs subtests) that failed on patched and passed or
    were skipped on base. A test the base did not run at all is not new:
    it is named in the patched run's failed list. Nor is one without a
    result on patched because the run ended early: that run is an error
    (the boot's own message says why), not a list of every test after it."""
    def ran(r):
        return {n: v for n, v in list(r['results'].items()) +
                list(r.get('subtests', {}).items())}
    b, p = ran(base), ran(patched)
    base_ok = {n for n, v in b.items() if n not in base['failed'] and v != 'FAIL'}
    bad = set(patched['failed']) | {n for n, v in patched.get('subtests', {}).items()
                                    if v == 'FAIL'}
    return sorted(n for n in bad if n in base_ok and
                  patched.get('why', {}).get(n) != NO_RESULT)


def new_skips(base, patched):
    """Tests (and subtests) that passed on base and were skipped on
    patched: how a feature that went away shows up. Reported, not failed."""
    def ok(r, vals):
        return {n for n, v in list(r['results'].items()) +
                list(r.get('subtests', {}).items()) if v in vals}
    passed = {'OK', 'PASS'}
    skipped = {'SKIP'} | FT_SKIP
    return sorted(ok(base, passed) & ok(patched, skipped))


def boot_suite(arch, which, kern, initrd, suite, tests, cases, logf, timeout,
               cpu=None):
    """Boot once, run one suite; (summary dict, errors)."""
    cmd = qemu_peer_cmd(arch, kern.image, initrd, suite, tests, cases, cpu)
    require(cmd[0])
    log('$ ' + ' '.join(shlex.quote(c) for c in cmd))
    text, timed_out, elapsed, rc_qemu = run_console(cmd, logf, timeout)
    lines, rc, started = suite_lines(text)
    errors = []
    last = '\n'.join('    ' + l for l in text.splitlines()[-30:])
    if not started:
        errors.append(f'{arch} {which} {suite}: the kernel did not reach the '
                      f'suite (no "{MARK} start" line) in {elapsed:.0f} s; '
                      f'console {logf}; last lines:\n{last}')
    elif rc is None:
        errors.append(f'{arch} {which} {suite}: did not finish in '
                      f'{elapsed:.0f} s ({"timeout " + str(timeout) + " s" if timed_out else "QEMU exited " + str(rc_qemu)}; '
                      f'hang or crash?); console {logf}; last lines:\n{last}')
    res = (parse_test_progs(lines, tests) if suite == 'test_progs'
           else parse_ftracetest(lines))
    if suite == 'ftracetest' and started and not res['results']:
        res['fail'] += 1
        res['failed'].append('(no results)')
        res['why']['(no results)'] = 'ftracetest printed no result line'
    splats = [l for l in (strip_console(x) for x in text.splitlines())
              if SPLAT_RE.search(l)]
    for s_ in splats[:5]:
        errors.append(f'{arch} {which} {suite} console: {s_}')
    res['rc'] = rc
    res['seconds'] = round(elapsed)
    res['console'] = os.path.relpath(logf, bench_cache())
    return res, errors
