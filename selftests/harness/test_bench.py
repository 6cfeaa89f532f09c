# SPDX-License-Identifier: GPL-2.0
"""Fast tests of scripts/bench.py: parsing, conversion, tables (no kernel)."""

import json
import os
import stat
import sys
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, 'scripts'))

from rthlib import bench, bench_cli, benchtables, common, mails  # noqa: E402

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


class TestConvert(unittest.TestCase):
    def test_per_event(self):
        # 1e9 instructions per virtual second: 1000 / (M events/s)
        self.assertAlmostEqual(benchtables.per_event(1.754), 570.125, places=3)
        self.assertAlmostEqual(benchtables.per_event(1000.0), 1.0)
        self.assertIsNone(benchtables.per_event(0))
        self.assertIsNone(benchtables.per_event(None))

    def test_delta_and_spread(self):
        self.assertAlmostEqual(benchtables.delta_pct(644.0, 483.0), -25.0)
        self.assertIsNone(benchtables.delta_pct(None, 1.0))
        self.assertAlmostEqual(benchtables.spread_pct([100.0, 100.1]), 0.0999, places=3)
        self.assertIsNone(benchtables.spread_pct([1.0]))


def fake_results():
    def run_(mode, kernel, rep, mops):
        return {'mode': mode, 'kernel': kernel, 'rep': rep,
                'triggers': {t: {'mops': m} for t, m in mops.items()}}
    a = {'meta': {'cpu': 'qemu64', 'machine': 'pc', 'args': '-w1 -d3'},
         'series_empty': False, 'errors': [], 'runs': [
             run_('icount', 'base', 0, {'trig-kretprobe': 1000 / 644.0, 'trig-fentry': 1000 / 149.0}),
             run_('icount', 'base', 1, {'trig-kretprobe': 1000 / 644.0, 'trig-fentry': 1000 / 149.0}),
             run_('icount', 'patched', 0, {'trig-kretprobe': 1000 / 483.0, 'trig-fentry': 1000 / 149.0}),
             run_('wall', 'base', 0, {'trig-kretprobe': 0.5}),
             run_('wall', 'patched', 0, {'trig-kretprobe': 0.6})]}
    return {'schema': 1, 'arches': {'x86_64': a}}


class TestTables(unittest.TestCase):
    def test_summarize(self):
        s = benchtables.summarize(fake_results()['arches']['x86_64'])
        k = s['icount']['trig-kretprobe']
        self.assertAlmostEqual(k['base'], 644.0)
        self.assertAlmostEqual(k['patched'], 483.0)
        self.assertAlmostEqual(k['delta_pct'], -25.0)
        self.assertAlmostEqual(k['spread_base_pct'], 0.0)
        self.assertEqual(k['n_base'], 2)
        w = s['wall']['trig-kretprobe']
        self.assertAlmostEqual(w['base'], 2000.0)
        self.assertAlmostEqual(w['delta_pct'], (1000 / 0.6 - 2000) / 20)

    def test_table_and_cover(self):
        res = fake_results()
        text = benchtables.format_table('x86_64', res['arches']['x86_64'])
        row = [l for l in text.splitlines() if l.startswith('kretprobe ')][0]
        self.assertIn('644.0', row)
        self.assertIn('483.0', row)
        self.assertIn('-25.0%', row)
        self.assertIn('icount spread', text)       # two base runs
        self.assertTrue(all(len(l) <= 90 for l in text.splitlines()), text)
        one = dict(res['arches']['x86_64'])
        one['runs'] = [r for r in one['runs'] if r['rep'] == 0]
        text1 = benchtables.format_table('x86_64', one)
        self.assertNotIn('spread', text1)
        self.assertTrue(all(len(l) <= 72 for l in text1.splitlines()), text1)
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, 'r.json')
            with open(p, 'w') as f:
                json.dump(res, f)
            tables = benchtables.cover_tables(p)
        self.assertEqual(set(tables), {'BENCH_X86_64', 'BENCH_ARM64', 'BENCH_WALL_NOISE'})
        self.assertIn('kretprobe', tables['BENCH_X86_64'])
        self.assertIn('no benchmark results', tables['BENCH_ARM64'])
        # the cover template's placeholders are filled from it
        out = mails.render_cover('a\n@BENCH_X86_64@\n@BENCH_ARM64@\n@BENCH_WALL_NOISE@\n', tables)
        self.assertNotIn('@BENCH', out)

    def test_wall_noise(self):
        res = fake_results()
        # kretprobe's icount changes: its wall delta is not noise
        self.assertEqual(benchtables.wall_noise(res), 'no wall-clock run to compare')
        runs = res['arches']['x86_64']['runs']
        runs[3]['triggers']['trig-fentry'] = {'mops': 1000 / 100.0}
        runs[4]['triggers']['trig-fentry'] = {'mops': 1000 / 130.0}
        self.assertIn('up to +30% for', benchtables.wall_noise(res))
        self.assertIn('(x86_64 trig-fentry)', benchtables.wall_noise(res))
        self.assertEqual(benchtables.wall_noise(None), 'no wall-clock run to compare')


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


if __name__ == '__main__':
    unittest.main()
