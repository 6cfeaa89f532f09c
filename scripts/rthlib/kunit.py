# SPDX-License-Identifier: GPL-2.0
"""The KUnit run of rth.py kunit and rth.py tree: build, boot and judge each
target, print the results table, write the JSON.
"""

import dataclasses
import json
import os
import re
import time

from rthlib.build import build, build_root
from rthlib.common import HarnessError, log
from rthlib.ktap import failing_case_log, judge
from rthlib.qemu import boot


def test_target(src, target, results, timeout):
    """Build, boot and judge one target; record into results."""
    t0 = time.time()
    image = build(src, target)
    logf = os.path.join(build_root(), target.name, 'console.log')
    text = boot(target, image, logf, timeout=timeout)
    suites, failures = judge(target, text)
    entry = {'target': target.name, 'arch': target.arch,
             'seconds': round(time.time() - t0), 'console': logf,
             'suites': {}, 'failures': failures}
    for name in target.suites:
        s = suites.get(name)
        entry['suites'][name] = {
            'status': s.status if s else 'missing',
            'passed': s.count('pass') if s else 0,
            'failed': s.count('fail') if s else 0,
            'skipped': s.count('skip') if s else 0,
            'cases': [dataclasses.asdict(c) for c in s.cases] if s else []}
    results.append(entry)
    if failures:
        lines = text.splitlines()
        log(f'{target.name}: FAILED')
        for f in failures:
            print(f'  - {f}')
            m = re.match(r'(\S+)\.(\S+) failed', f)
            if m and m.group(1) in suites:
                for l in failing_case_log(suites[m.group(1)], m.group(2))[-15:]:
                    print(f'      {l}')
        print('  last console lines:')
        for l in lines[-50:]:
            print('    ' + l)
    else:
        log(f'{target.name}: ' + ', '.join(
            f'{n} {v["passed"]} passed/{v["failed"]} failed/{v["skipped"]} skipped'
            for n, v in entry['suites'].items()))
    return not failures


def print_table(results):
    print()
    print(f'{"target":<16} {"suite":<14} {"passed":>6} {"failed":>6} '
          f'{"skipped":>7}  status')
    for e in results:
        for name, s in e['suites'].items():
            st = 'ok' if not s['failed'] and s['status'] == 'pass' else 'FAIL'
            print(f'{e["target"]:<16} {name:<14} {s["passed"]:>6} '
                  f'{s["failed"]:>6} {s["skipped"]:>7}  {st}')
        extra = [f for f in e['failures'] if f.startswith('console:') or
                 'missing' in f or 'did not' in f]
        for f in extra:
            print(f'{e["target"]:<16} {"":<14} {f}')
    print()


def run_targets(src, targets, timeout, results_file, meta):
    results = []
    ok = True
    for t in targets:
        try:
            ok &= test_target(src, t, results, timeout)
        except HarnessError as e:
            ok = False
            log(f'{t.name}: ERROR: {e}')
            results.append({'target': t.name, 'arch': t.arch, 'suites': {},
                            'failures': [f'error: {str(e).splitlines()[0]}']})
    print_table(results)
    with open(results_file, 'w') as f:
        json.dump(dict(meta, results=results), f, indent=1)
    log(f'results written to {results_file}')
    passed = sum(s['passed'] for e in results for s in e['suites'].values())
    failed = sum(s['failed'] for e in results for s in e['suites'].values())
    failed += sum(1 for e in results for f in e['failures']
                  if not re.match(r'\S+\.\S+ failed', f))
    print(f'kunit: {passed} passed, {failed} failed')
    return 0 if ok else 1
