# SPDX-License-Identifier: GPL-2.0
"""Tests of rthlib/benchtables.py: per-event figures, tables, the cover
letter's tables.
"""

import json
import os
import tempfile
import unittest

from rthlib import benchtables, mails


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

    def test_icount_only_and_second_model(self):
        res = fake_results()
        a = res['arches']['x86_64']
        text = benchtables.format_table('x86_64', a, modes=['icount'])
        self.assertNotIn('wall-clock', text)
        self.assertNotIn('2000.0', text)            # the wall base of kretprobe
        self.assertIn('644.0', text)
        a2 = {'meta': {'cpu': 'EPYC-Rome', 'machine': 'pc', 'args': '-w1 -d3'},
              'runs': [dict(r, guest={'vulnerabilities': {
                  'retbleed': 'Mitigation: untrained return thunk; SMT disabled',
                  'mds': 'Not affected'}, 'flags': ['fpu']})
                  for r in a['runs'] if r['mode'] == 'icount']}
        res['second_cpu'] = {'x86_64': a2}
        t2 = benchtables.format_table('x86_64', a2, modes=['icount'])
        self.assertIn('-cpu EPYC-Rome', t2)
        self.assertIn('guest retbleed: Mitigation: untrained return thunk', t2)
        self.assertNotIn('mds', t2)                 # only what changes a RET
        self.assertTrue(all(len(l) <= 72 for l in t2.splitlines()), t2)
        # base and patched guests that disagree are both shown
        a2['runs'][-1]['guest'] = {'vulnerabilities': {'retbleed': 'Vulnerable'}}
        t3 = benchtables.format_table('x86_64', a2, modes=['icount'])
        self.assertIn('guest (patched) retbleed: Vulnerable', t3)
        self.assertIn('guest (base) retbleed: Mitigation', t3)
        arm = {'meta': {'cpu': 'max'}, 'runs': [
            {'mode': 'icount', 'kernel': 'base', 'rep': 0, 'triggers': {},
             'guest': {'flags': ['fp', 'asimd', 'dit', 'ssbs', 'paca']}}]}
        self.assertIn('guest features: dit ssbs paca',
                      benchtables.format_table('arm64', arm, modes=['icount']))
        arm['runs'][0]['guest']['flags'] = ['fp']
        self.assertIn('guest features: none of dit',
                      benchtables.format_table('arm64', arm, modes=['icount']))
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, 'r.json')
            with open(p, 'w') as f:
                json.dump(res, f)
            cover = benchtables.cover_tables(p)['BENCH_X86_64']
        # the cover letter: icount tables of both models, no wall-clock
        self.assertIn('-cpu qemu64', cover)
        self.assertIn('-cpu EPYC-Rome', cover)
        self.assertNotIn('wall-clock', cover)

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
