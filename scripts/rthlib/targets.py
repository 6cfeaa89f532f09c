# SPDX-License-Identifier: GPL-2.0
"""Build-and-boot targets (ci/targets) and the make command line of a target."""

import dataclasses
import os
import re
import shlex
import shutil

from rthlib.common import HarnessError, REPO


TARGETS_FILE = os.path.join(REPO, 'ci', 'targets')


@dataclasses.dataclass
class Target:
    name: str
    arch: str
    fragments: list
    suites: list
    smp: int = 1
    llvm: str = ''        # LLVM= version suffix ('-19'): build with clang
    machine: str = ''     # QEMU machine options (arm64: appended to -M virt)
    cpu: str = ''         # QEMU -cpu model (default: per arch, RTH_QEMU_CPU)
    qemu: str = ''        # 'trixie': Debian trixie's QEMU (newqemu.py); RTH_QEMU wins
    accel: str = ''       # 'single': single-threaded TCG (default: QEMU's, MTTCG)
    append: list = dataclasses.field(default_factory=list)  # kernel cmdline

    @property
    def cc(self):
        return f'clang{self.llvm}' if self.llvm else f'{self.cross}gcc'

    @property
    def tools(self):
        """Compiler and linker the build needs (for require())."""
        if self.llvm:
            return [f'clang{self.llvm}', f'ld.lld{self.llvm}', f'llvm-ar{self.llvm}']
        return [f'{self.cross}gcc', f'{self.cross}ld']

    @property
    def cross(self):
        return 'aarch64-linux-gnu-' if self.arch == 'arm64' else ''

    @property
    def image(self):
        return {'x86_64': 'arch/x86/boot/bzImage',
                'i386': 'arch/x86/boot/bzImage',
                'arm64': 'arch/arm64/boot/Image'}[self.arch]


# A QEMU -cpu value: a model, optionally with property=value pairs.
QEMU_CPU_RE = re.compile(r'[\w.-]+(,[\w.-]+=[\w.-]+)*')


def parse_targets(text):
    """ci/targets: 'name arch suites=a,b [option=value...] fragment...'.

    Options: smp=N (CPUs), llvm=-N (build with clang-N), machine=opts (QEMU
    machine options, e.g. machine=mte=on for -M virt,mte=on; arm64 only),
    append=word (one kernel command line word; repeat for more), cpu=model
    (QEMU -cpu, e.g. cpu=cortex-a72 for a CPU without PAN; wins over
    RTH_QEMU_CPU, as the target needs it), qemu=trixie (Debian trixie's
    QEMU from a private sysroot, rthlib/newqemu.py; RTH_QEMU wins),
    accel=single (-accel tcg,thread=single: every vCPU on one host thread;
    accel=mttcg, QEMU's default for these guests, is the same as leaving
    it out).
    """
    targets = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.split('#', 1)[0].strip()
        if not line:
            continue
        words = line.split()
        if len(words) < 3 or not words[2].startswith('suites='):
            raise HarnessError(f'ci/targets:{lineno}: expected "name arch '
                               f'suites=a,b fragment..."')
        name, arch = words[0], words[1]
        if arch not in ('x86_64', 'i386', 'arm64'):
            raise HarnessError(f'ci/targets:{lineno}: unknown arch {arch}')
        suites = [s for s in words[2][len('suites='):].split(',') if s]
        smp = 1
        llvm = ''
        machine = ''
        cpu = ''
        qemu = ''
        accel = ''
        append = []
        rest = words[3:]
        while rest and rest[0].startswith(('smp=', 'llvm=', 'machine=', 'append=', 'cpu=',
                                           'qemu=', 'accel=')):
            key, val = rest[0].split('=', 1)
            if key == 'smp':
                if not val.isdigit() or int(val) < 1:
                    raise HarnessError(f'ci/targets:{lineno}: bad {rest[0]}')
                smp = int(val)
            elif key == 'llvm':
                if not re.fullmatch(r'-\d+', val):
                    raise HarnessError(f'ci/targets:{lineno}: bad {rest[0]} '
                                       f'(want llvm=-N, e.g. llvm=-19)')
                llvm = val
            elif key == 'machine':
                if arch != 'arm64' or not re.fullmatch(r'[\w.-]+=[\w.-]+(,[\w.-]+=[\w.-]+)*', val):
                    raise HarnessError(f'ci/targets:{lineno}: bad {rest[0]} '
                                       f'(arm64 only, want machine=key=value[,key=value])')
                machine = val
            elif key == 'cpu':
                if not QEMU_CPU_RE.fullmatch(val):
                    raise HarnessError(f'ci/targets:{lineno}: bad {rest[0]} '
                                       f'(want cpu=model[,prop=value])')
                cpu = val
            elif key == 'qemu':
                if val not in ('system', 'trixie'):
                    raise HarnessError(f'ci/targets:{lineno}: bad {rest[0]} '
                                       f'(want qemu=system or qemu=trixie)')
                qemu = val
            elif key == 'accel':
                if val not in ('mttcg', 'single'):
                    raise HarnessError(f'ci/targets:{lineno}: bad {rest[0]} '
                                       f'(want accel=mttcg or accel=single)')
                accel = '' if val == 'mttcg' else val
            else:
                if not val:
                    raise HarnessError(f'ci/targets:{lineno}: empty append=')
                append.append(val)
            rest = rest[1:]
        targets[name] = Target(name, arch, rest, suites, smp, llvm,
                               machine, cpu, qemu, accel, append)
    return targets


def load_targets():
    with open(TARGETS_FILE) as f:
        return parse_targets(f.read())


def make_cmd(src, build, target, *goals):
    cc = target.cc
    cmd = ['make', '-C', src, f'O={build}', f'ARCH={target.arch}',
           f'-j{os.cpu_count() or 2}']
    if target.cross:
        cmd.append(f'CROSS_COMPILE={target.cross}')
    if target.llvm:
        cmd.append(f'LLVM={target.llvm}')
    if shutil.which('ccache') and not os.environ.get('RTH_NO_CCACHE'):
        cmd += [f'CC=ccache {cc}', 'HOSTCC=ccache gcc']
    extra = os.environ.get('RTH_MAKE_FLAGS')
    if extra:
        cmd += shlex.split(extra)
    return cmd + list(goals)


def select_targets(names):
    targets = load_targets()
    unknown = [n for n in names if n not in targets]
    if unknown:
        raise HarnessError(f'unknown target(s) {", ".join(unknown)}; known: '
                           f'{", ".join(targets)}')
    return [targets[n] for n in names]
