# SPDX-License-Identifier: GPL-2.0
"""Tests of rthlib/bench.py and bench_cli.py: bench output, inputs, QEMU
command, initramfs (no kernel).
"""

import hashlib
import os
import stat
import tempfile
import textwrap
import unittest
from unittest import mock

from rthlib import bench, bench_cli, benchtables, common


CONSOLE = textwrap.dedent("""\
    [    0.000000] Linux version 7.3.4 (gcc 12.2.0)
    RTH-BENCH: ready 7.3.4 x86_64
    RTH-BENCH: start trig-kprobe
    Setting up benchmark 'trig-kprobe'...
    Benchmark 'trig-kprobe' started.
    Iter   0 ( 84.306us): hits    2.739M/s (  2.739M/prod), drops    0.000M/s, total operations    2.739M/s
    Iter   1 (-12.210us): hits    2.740M/s (  2.740M/prod), drops    0.000M/s, total operations    2.740M/s
    Summary: hits    2.740 \u00b1 0.001M/s (  2.740M/prod), drops    0.000 \u00b1 0.000M/s, total operations    2.740 \u00b1 0.001M/s
    RTH-BENCH: end trig-kprobe rc=0
    RTH-BENCH: start trig-bogus
    Setting up benchmark 'trig-bogus'...
    Benchmark 'trig-bogus' not found.
    RTH-BENCH: end trig-bogus rc=1
    RTH-BENCH: start trig-fentry
    RTH-BENCH: end trig-fentry rc=0
    RTH-BENCH: start trig-kernel-count
    [    9.000000] Summary: hits   33.784 \u00b1 0.002M/s ( 33.784M/prod), drops    0.000 \u00b1 0.000M/s, total operations   33.784 \u00b1 0.002M/s
    RTH-BENCH: end trig-kernel-count rc=0
    RTH-BENCH: done
    """)


class TestParse(unittest.TestCase):
    def test_markers_and_summary(self):
        ready, done, res = bench.parse_bench_output(CONSOLE)
        self.assertTrue(ready)
        self.assertTrue(done)
        self.assertAlmostEqual(res['trig-kprobe']['mops'], 2.740)
        self.assertAlmostEqual(res['trig-kprobe']['stddev'], 0.001)
        self.assertEqual(res['trig-kprobe']['iters'], [2.739, 2.740])
        self.assertNotIn('error', res['trig-kprobe'])
        # console timestamps are stripped
        self.assertAlmostEqual(res['trig-kernel-count']['mops'], 33.784)

    def test_errors(self):
        _, _, res = bench.parse_bench_output(CONSOLE)
        self.assertIn('not found', res['trig-bogus']['error'])
        self.assertIn('exited 1', res['trig-bogus']['error'])
        self.assertIn('printed nothing', res['trig-fentry']['error'])
        self.assertNotIn('mops', res['trig-fentry'])

    def test_not_booted_and_unfinished(self):
        ready, done, res = bench.parse_bench_output('Kernel panic - not syncing\n')
        self.assertFalse(ready)
        self.assertEqual(res, {})
        text = 'RTH-BENCH: ready\nRTH-BENCH: start trig-kprobe\nIter 0\n'
        ready, done, res = bench.parse_bench_output(text)
        self.assertTrue(ready)
        self.assertFalse(done)
        self.assertIn('did not finish', res['trig-kprobe']['error'])

    def test_ascii_plus_minus(self):
        # a console that mangles the UTF-8 '±' must still parse
        e = bench.parse_one(['Summary: hits    1.754 +- 0.000M/s (  1.754M/prod), drops'])
        self.assertAlmostEqual(e['mops'], 1.754)
        e = bench.parse_one(['Summary: hits    0.000 \u00b1 0.000M/s (  0.000M/prod), drops'])
        self.assertIn('0 events', e['error'])


class TestGuestInfo(unittest.TestCase):
    def test_vulnerabilities_and_flags(self):
        text = ('[    1.0] RTH-INFO: vuln retbleed: Mitigation: untrained return thunk; SMT disabled\n'
                'RTH-INFO: vuln meltdown: Not affected\n'
                'RTH-INFO: flags  fpu vme de pse\n'
                'RTH-BENCH: ready 7.3.4 x86_64\n')
        g = bench.guest_info(text)
        self.assertEqual(g['vulnerabilities']['retbleed'],
                         'Mitigation: untrained return thunk; SMT disabled')
        self.assertEqual(g['vulnerabilities']['meltdown'], 'Not affected')
        self.assertEqual(g['flags'], ['fpu', 'vme', 'de', 'pse'])
        self.assertEqual(bench.guest_info('nothing'), {'vulnerabilities': {}, 'flags': []})

    def test_init_script_reports_them(self):
        self.assertIn('/sys/devices/system/cpu/vulnerabilities', bench.INIT_SCRIPT)
        self.assertIn('RTH-INFO: flags', bench.INIT_SCRIPT)
        # after the runs: no process started before a bench (its PID
        # changes trig-syscall-count's figure), before 'done'
        self.assertGreater(bench.INIT_SCRIPT.index('RTH-INFO: flags'),
                           bench.INIT_SCRIPT.index('RTH-BENCH: end'))
        self.assertLess(bench.INIT_SCRIPT.index('RTH-INFO: flags'),
                        bench.INIT_SCRIPT.index('RTH-BENCH: done'))


class TestSecondModel(unittest.TestCase):
    """bench_main() with the kernels, the binary and QEMU replaced."""

    def run_main(self, argv, fail_second=False):
        boots = []

        def boot(arch, k, initrd, trigs, args, settle, icount, logf, timeout, cpu=None):
            boots.append((arch, k.which, icount, cpu))
            if fail_second and cpu:
                return {}, [f'{arch} {k.which} kernel did not reach the bench init'], 1.0, {}
            info = {'vulnerabilities': {'retbleed': 'Mitigation: untrained return thunk'}
                    if cpu else {}, 'flags': []}
            return ({t: {'mops': 2.0 if cpu else 4.0} for t in trigs}, [], 1.0, info)

        def kern(arch, which, *a):
            return bench.Kernel(arch, which, 'k-' + which, '/nonexistent/' + which)

        with tempfile.TemporaryDirectory() as d, \
                mock.patch.object(bench_cli, 'ensure_base', return_value=('/r', 'base-7.3.4')), \
                mock.patch.object(bench_cli, 'known_triggers', return_value=set()), \
                mock.patch.object(bench_cli, 'read_series', return_value=['a.patch']), \
                mock.patch.object(bench_cli, 'series_hash', return_value='h'), \
                mock.patch.object(bench_cli, 'require'), \
                mock.patch.object(bench_cli, 'kernel', side_effect=kern), \
                mock.patch.object(bench_cli, 'bench_binary', return_value='/bin/true'), \
                mock.patch.object(bench_cli, 'busybox_for', return_value='/bin/true'), \
                mock.patch.object(bench_cli, 'make_initramfs', return_value='/i.cpio'), \
                mock.patch.object(bench_cli, 'boot_bench', side_effect=boot), \
                mock.patch.object(bench_cli, 'bench_cache', return_value=d), \
                mock.patch('sys.stdout'):
            res_path = os.path.join(d, 'r.json')
            rc = bench_cli.main(argv + ['--results', res_path])
            with open(res_path) as f:
                import json
                return rc, boots, json.load(f)

    def test_default_runs_both_models(self):
        rc, boots, res = self.run_main(['--arch', 'x86_64', '--triggers', 'trig-kprobe'])
        self.assertEqual(rc, 0)
        # pinned: icount and wall, base and patched; second: icount only
        self.assertEqual(boots, [('x86_64', 'base', True, None), ('x86_64', 'patched', True, None),
                                 ('x86_64', 'base', False, None), ('x86_64', 'patched', False, None),
                                 ('x86_64', 'base', True, 'EPYC-Rome'),
                                 ('x86_64', 'patched', True, 'EPYC-Rome')])
        a2 = res['second_cpu']['x86_64']
        self.assertEqual(a2['meta']['cpu'], 'EPYC-Rome')
        self.assertEqual(len(a2['runs']), 2)
        self.assertIn('untrained return thunk',
                      a2['runs'][0]['guest']['vulnerabilities']['retbleed'])
        self.assertEqual(len(res['arches']['x86_64']['runs']), 4)

    def test_pinned_only_and_cpu_override(self):
        _, boots, res = self.run_main(['--arch', 'arm64', '--triggers', 'trig-kprobe',
                                       '--modes', 'icount', '--cpu-models', 'pinned'])
        self.assertEqual([b[3] for b in boots], [None, None])
        self.assertNotIn('second_cpu', res)
        _, boots, res = self.run_main(['--arch', 'arm64', '--triggers', 'trig-kprobe',
                                       '--modes', 'icount', '--cpu', 'max'])
        self.assertEqual([b[3] for b in boots], ['max', 'max'])
        self.assertNotIn('second_cpu', res)
        self.assertEqual(bench_cli.main(['--cpu-models', 'third']), 2)

    def test_second_model_failure_keeps_the_pinned_results(self):
        rc, boots, res = self.run_main(['--arch', 'x86_64', '--triggers', 'trig-kprobe',
                                        '--modes', 'icount'], fail_second=True)
        self.assertEqual(rc, 1)
        self.assertEqual(len(res['arches']['x86_64']['runs']), 2)
        self.assertTrue(res['arches']['x86_64']['runs'][0]['triggers'])
        # the error is the second model's, not the pinned one's
        self.assertEqual(res['arches']['x86_64']['errors'], [])
        self.assertTrue(any('did not reach' in e
                            for e in res['second_cpu']['x86_64']['errors']))


class TestInputs(unittest.TestCase):
    def test_unknown_trigger(self):
        with self.assertRaises(common.HarnessError) as cm:
            bench.check_triggers(['trig-kprobe', 'trig-nope'],
                                 {'trig-kprobe', 'trig-fentry'})
        self.assertIn('trig-nope', str(cm.exception))
        with self.assertRaises(common.HarnessError):
            bench.check_triggers(['kprobe; rm -rf /'], set())
        bench.check_triggers(['trig-kprobe'], {'trig-kprobe'})

    def test_known_triggers_from_tree(self):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, 'tools/testing/selftests/bpf/benchs')
            os.makedirs(p)
            with open(os.path.join(p, 'bench_trigger.c'), 'w') as f:
                f.write('const struct bench b = {\n\t.name = "trig-kprobe",\n};\n'
                        'const struct bench c = { .name = "trig-fexit", };\n'
                        '#define BENCH_TRIG_KERNEL(KIND, NAME) \\\n'
                        '\t.name = "trig-" NAME, \\\n'
                        'BENCH_TRIG_KERNEL(kretprobe_multi, "kretprobe-multi");\n'
                        'BENCH_TRIG_USERMODE(uprobe_nop, nop, "uprobe-nop");\n')
            self.assertEqual(bench.known_triggers(d),
                             {'trig-kprobe', 'trig-fexit', 'trig-kretprobe-multi',
                              'trig-uprobe-nop'})

    def test_bad_lists(self):
        with self.assertRaises(common.HarnessError):
            bench_cli.split_list('x86_64,riscv', benchtables.ARCHES, 'arch')
        self.assertEqual(bench_cli.split_list('icount', benchtables.MODES, 'mode'), ['icount'])

    def test_main_rejects_unknown_trigger_early(self):
        # exits 2 before touching any kernel tree
        self.assertEqual(bench_cli.main(['--triggers', 'bogus', '--arch', 'x86_64']), 2)
        self.assertEqual(bench_cli.main(['--arch', 'sparc']), 2)


class TestQemuAndInitramfs(unittest.TestCase):
    def test_qemu_cmd(self):
        cmd = bench.qemu_bench_cmd('arm64', 'Image', 'i.cpio',
                                   ['trig-kprobe', 'trig-fexit'], '-w1 -d3', 5, True)
        self.assertEqual(cmd[:5], ['qemu-system-aarch64', '-M', 'virt', '-cpu', 'cortex-a72'])
        self.assertIn('-icount', cmd)
        self.assertEqual(cmd[cmd.index('-icount') + 1], 'shift=0')
        self.assertEqual(cmd[cmd.index('-smp') + 1], '1')
        app = cmd[cmd.index('-append') + 1]
        self.assertIn('rth_bench.trig=trig-kprobe,trig-fexit', app)
        self.assertIn('rth_bench.args=-w1,-d3', app)
        cmd = bench.qemu_bench_cmd('x86_64', 'bzImage', 'i', ['t'], '-d1', 2, False)
        self.assertNotIn('-icount', cmd)
        self.assertEqual(cmd[cmd.index('-cpu') + 1], 'qemu64')
        cmd = bench.qemu_bench_cmd('arm64', 'Image', 'i', ['t'], '-d1', 2, True,
                                   'max,pauth-impdef=on')
        self.assertEqual(cmd[cmd.index('-cpu') + 1], 'max,pauth-impdef=on')

    def test_cpio(self):
        data = bench.cpio_newc([('init', stat.S_IFREG | 0o755, b'#!/bin/sh\n', (0, 0)),
                                ('dev/console', stat.S_IFCHR | 0o600, b'', (5, 1))])
        self.assertTrue(data.startswith(b'070701'))
        self.assertIn(b'TRAILER!!!', data)
        self.assertEqual(len(data) % 512, 0)
        # the console node carries rdev 5:1
        i = data.index(b'dev/console')
        hdr = data[i - 110:i]
        self.assertEqual(int(hdr[78:86], 16), 5)
        self.assertEqual(int(hdr[86:94], 16), 1)


class SeriesHashTest(unittest.TestCase):
    LOG_A = 'From 0 Mon\nSubject: [PATCH] a\n\nLog with 611.2.\n---\n f | 1 +\n\n'
    LOG_B = 'From 0 Mon\nSubject: [PATCH] b\n\nLog with @BENCH@.\n---\n f | 1 +\n\n'
    DIFF = 'diff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1 +1,2 @@\n x\n+y\n-- \nsig\n'

    def test_patch_code_is_the_diff(self):
        code = bench.patch_code(self.LOG_A + self.DIFF)
        self.assertTrue(code.startswith('diff --git a/f b/f\n'))
        self.assertTrue(code.endswith('+y\n'))
        self.assertEqual(bench.patch_code('no diff here\n'), '')

    def test_log_edits_keep_the_hash(self):
        with tempfile.TemporaryDirectory() as d:
            paths = {}
            for name, text in (('a', self.LOG_A + self.DIFF), ('b', self.LOG_B + self.DIFF),
                               ('c', self.LOG_A + self.DIFF.replace('+y', '+z'))):
                paths[name] = os.path.join(d, f'0001-{name}.patch')
                with open(paths[name], 'w') as f:
                    f.write(text)
            hashes = {}
            for name, p in paths.items():
                with mock.patch.object(bench, 'series_patches', return_value=[p]):
                    hashes[name] = bench.series_hash()
            self.assertEqual(hashes['a'], hashes['b'])
            self.assertNotEqual(hashes['a'], hashes['c'])

    def test_files_hash_is_the_before_stop_checks(self):
        """Results files record series_files_hash(); the repository's
        before-stop check recomputes it this way and calls a results file
        with another value stale. A log edit must change it."""
        with tempfile.TemporaryDirectory() as d:
            os.mkdir(os.path.join(d, 'patches'))
            with open(os.path.join(d, 'series'), 'w') as f:
                f.write('# comment\n0001-a.patch\n0002-b.patch -p1\n')
            for n, text in (('0001-a.patch', self.LOG_A + self.DIFF),
                            ('0002-b.patch', self.LOG_B + self.DIFF)):
                with open(os.path.join(d, 'patches', n), 'w') as f:
                    f.write(text)

            def hook_formula():
                names = [ln.split()[0] for ln in open(os.path.join(d, 'series'))
                         if ln.strip() and not ln.startswith('#')]
                h = hashlib.sha256()
                for n in names:
                    h.update(n.encode() + b'\0' +
                             open(os.path.join(d, 'patches', n), 'rb').read())
                return h.hexdigest()

            with mock.patch.object(bench, 'REPO', d):
                before = bench.series_files_hash()
                self.assertEqual(before, hook_formula())
                self.assertNotEqual(bench.series_files_hash(1), before)
                with open(os.path.join(d, 'patches', '0001-a.patch'), 'w') as f:
                    f.write(self.LOG_B + self.DIFF)
                self.assertNotEqual(bench.series_files_hash(), before)
                self.assertEqual(bench.series_files_hash(), hook_formula())
                self.assertEqual(bench.series_files_hash(0), 'none')
