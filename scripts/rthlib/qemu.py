# SPDX-License-Identifier: GPL-2.0
"""QEMU: the command line per arch, one boot with a timeout, the console log."""

import os
import shlex
import subprocess
import time

from rthlib.common import HarnessError, log, require


def qemu_cmd(target, image, append=''):
    cmdline = ' '.join(['panic=-1 kunit_shutdown=reboot'] + target.append +
                       ([append] if append else []))
    if target.arch == 'arm64':
        cpu = target.cpu or os.environ.get('RTH_QEMU_CPU', 'max,pauth-impdef=on')
        machine = 'virt' + (',' + target.machine if target.machine else '')
        return ['qemu-system-aarch64', '-M', machine, '-cpu', cpu, '-m', '1024',
                '-smp', str(target.smp),
                '-nodefaults', '-display', 'none', '-serial', 'stdio',
                '-no-reboot', '-kernel', image,
                '-append', 'console=ttyAMA0 ' + cmdline]
    q = 'qemu-system-x86_64' if target.arch == 'x86_64' else 'qemu-system-i386'
    cpu = target.cpu or os.environ.get('RTH_QEMU_CPU',
                                       'qemu64' if target.arch == 'x86_64' else 'qemu32')
    return [q, '-cpu', cpu, '-m', '1024', '-smp', str(target.smp),
            '-nodefaults', '-display', 'none',
            '-serial', 'stdio', '-no-reboot', '-kernel', image,
            '-append', 'console=ttyS0 ' + cmdline]


def qemu_flavour():
    """RTH_QEMU: unset or 'system' for the machine's QEMU, 'trixie' for
    Debian trixie's from a private sysroot (rthlib/newqemu.py)."""
    v = os.environ.get('RTH_QEMU', 'system') or 'system'
    if v not in ('system', 'trixie'):
        raise HarnessError(f'RTH_QEMU={v}: want system or trixie')
    return v


def resolve(cmd, arch):
    """(argv, env) that runs cmd with the QEMU RTH_QEMU names."""
    if qemu_flavour() == 'system':
        require(cmd[0])
        return cmd, None
    from rthlib import newqemu
    prefix, env = newqemu.command(arch)
    return prefix + cmd[1:], dict(os.environ, **env)


def boot(target, image, logf, timeout=300, extra_append=''):
    """Boot once; return the console text. Raises on timeout."""
    cmd, env = resolve(qemu_cmd(target, image, extra_append), target.arch)
    log('$ ' + ' '.join(shlex.quote(c) for c in cmd))
    t0 = time.time()
    with open(logf, 'w') as lf:
        p = subprocess.Popen(cmd, stdout=lf, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, env=env)
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            with open(logf, errors='replace') as f:
                last = f.read().splitlines()[-50:]
            raise HarnessError(f'{target.name}: QEMU did not finish in '
                               f'{timeout} s (hang?); last console lines '
                               f'({logf}):\n' + '\n'.join(last))
    with open(logf, errors='replace') as f:
        text = f.read()
    log(f'{target.name}: QEMU exited {p.returncode} after '
        f'{time.time() - t0:.1f} s')
    return text
