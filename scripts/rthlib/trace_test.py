# SPDX-License-Identifier: GPL-2.0
"""Tests of rthlib/trace.py and trace_cli.py (no kernel, no QEMU)."""

import json
import os
import tempfile
import unittest
from unittest import mock

from rthlib import common, trace, trace_cli


class TraceEventTest(unittest.TestCase):
    def test_summarize_keeps_first_seen_order(self):
        res = {'funcs': ['tramp', 'tramp', 'handler', 'recycle', 'handler', 'tramp']}
        self.assertEqual(trace.summarize(res),
                         [('tramp', 3), ('handler', 2), ('recycle', 1)])

    def test_every_half_defined_for_both_arches(self):
        for arch in ('arm64', 'x86_64'):
            for half in ('entry', 'return', 'ftrace-entry', 'fgraph-return', 'call'):
                pre, start, stop = trace.HALVES[(arch, half)]
                self.assertIn(stop, ('ret', 'eret', 'resume', 'retaddr'))
                # a 'retaddr' half reads the return address at its first
                # stop, which must be the probed function's first instruction
                if stop == 'retaddr':
                    self.assertEqual(pre or start, trace.PROBED)
            self.assertIn(arch, trace.RETADDR)

    def test_fmodret_is_attached_to_its_own_function(self):
        # trigger_bench.c: fmod_ret/bpf_modify_return_test_tp; a trace
        # waiting for bpf_get_numa_node_id would wait until its timeout
        self.assertEqual(trace.probed('trig-fmodret'), 'bpf_modify_return_test_tp')
        self.assertEqual(trace.probed('trig-fexit'), trace.PROBED)

    def test_no_cached_kernel_says_what_to_run(self):
        with tempfile.TemporaryDirectory() as d, \
                mock.patch.dict(os.environ, {'RTH_CACHE': d}):
            with self.assertRaisesRegex(common.HarnessError,
                                        'scripts/bench.py --arch arm64 --kernels base'):
                trace.find_kernel('arm64', 'base')

    def test_finds_kernel_by_series_hash(self):
        with tempfile.TemporaryDirectory() as d, \
                mock.patch.dict(os.environ, {'RTH_CACHE': d}):
            k = os.path.join(d, 'bench', 'kernels', 'arm64-0123')
            os.makedirs(k)
            with open(os.path.join(k, 'meta.json'), 'w') as f:
                json.dump({'which': 'base', 'series_hash': 'none'}, f)
            with open(os.path.join(k, 'System.map'), 'w') as f:
                f.write('ffff800080000000 T _text\n')
            kdir, smap, meta = trace.find_kernel('arm64', 'base')
            self.assertEqual((kdir, smap), (k, os.path.join(k, 'System.map')))
            with self.assertRaises(common.HarnessError):
                trace.find_kernel('arm64', 'patched')   # other series hash

    def test_arm64_base_has_no_return_trampoline(self):
        with tempfile.TemporaryDirectory() as d, \
                mock.patch.dict(os.environ, {'RTH_CACHE': d}), \
                mock.patch('sys.stderr') as err:
            self.assertEqual(trace_cli.main(['--arch', 'arm64', '--which', 'base',
                                      '--half', 'return']), 2)
        self.assertIn('no arch_rethook_trampoline',
                      ''.join(c.args[0] for c in err.write.call_args_list))
