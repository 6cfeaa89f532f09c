# SPDX-License-Identifier: GPL-2.0
"""QEMU: the command line per arch, one boot with a timeout, the console log."""

import os
import shlex
import subprocess
import time

from rthlib.common import HarnessError, log, require


def qemu_cmd(target, image, append=''):
    cmd = _qemu_cmd(target, image, append)
    if target.accel == 'single':
        cmd[1:1] = ['-accel', 'tcg,thread=single']
    return cmd


def _qemu_cmd(target, image, append):
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


QEMU_FLAVOURS = ('system', 'trixie')


def qemu_flavour(target=None):
    """The QEMU a boot uses: RTH_QEMU if set ('system' for the machine's,
    'trixie' for Debian trixie's from a private sysroot, rthlib/newqemu.py),
    else the target's qemu= option, else the machine's."""
    v = os.environ.get('RTH_QEMU') or (target.qemu if target else '') or 'system'
    if v not in QEMU_FLAVOURS:
        raise HarnessError(f'RTH_QEMU={v}: want system or trixie')
    return v


def resolve(cmd, arch, target=None):
    """(argv, env) that runs cmd with the QEMU qemu_flavour() names."""
    if qemu_flavour(target) == 'system':
        require(cmd[0])
        return cmd, None
    from rthlib import newqemu
    prefix, env = newqemu.command(arch)
    return prefix + cmd[1:], dict(os.environ, **env)


def run_console(cmd, logf, timeout, env=None, header=False):
    """Run a QEMU command with its console in logf, killed after timeout
    seconds: (console text, timed out, seconds, exit code). header: the
    command line as the log's first line."""
    t0 = time.time()
    timed_out = False
    with open(logf, 'w') as lf:
        if header:
            lf.write('# ' + ' '.join(shlex.quote(c) for c in cmd) + '\n')
            lf.flush()
        p = subprocess.Popen(cmd, stdout=lf, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, env=env)
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            timed_out = True
    with open(logf, errors='replace') as f:
        text = f.read()
    return text, timed_out, time.time() - t0, p.returncode


def boot(target, image, logf, timeout=300, extra_append=''):
    """Boot once; return the console text. Raises on timeout."""
    cmd, env = resolve(qemu_cmd(target, image, extra_append), target.arch, target)
    log('$ ' + ' '.join(shlex.quote(c) for c in cmd))
    text, timed_out, secs, rc = run_console(cmd, logf, timeout, env)
    if timed_out:
        raise HarnessError(f'{target.name}: QEMU did not finish in '
                           f'{timeout} s (hang?); last console lines '
                           f'({logf}):\n' + '\n'.join(text.splitlines()[-50:]))
    log(f'{target.name}: QEMU exited {rc} after {secs:.1f} s')
    return text
