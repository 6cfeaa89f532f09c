# SPDX-License-Identifier: GPL-2.0
"""KTAP: suites and cases from a console log, kernel splats, the verdict.

Why not the tree's own tools/testing/kunit/kunit_parser.py, what kunit.py
users trust? On KTAP alone the two agree: the same suites, cases and
statuses on the consoles of ktap_test.py (a passing suite with a SKIP, a
failing one with parameterised cases, a suite cut off mid-way, a WARNING
inside a suite) and on a real 27-case x86_64 console of the series.
ktap_test.py checks that agreement whenever a base tree with the parser is
in the cache. It is still not used, because:

- it lives in the kernel tree: importing it needs the tree's
  tools/testing/kunit on sys.path (it imports kunit_printer). The
  harness's own tests run before any tree is fetched (scripts/test, step
  1), and judge(target, text) is given no tree (selftests/breakage);
- it reads only the lines from the first "KTAP version" to its end marker
  and reports none of what the harness also fails a boot on: a kernel
  splat anywhere on the console (SPLAT_RE: BUG, WARNING, Oops, lockdep,
  RCU stalls...; a WARNING inside a suite leaves that suite "ok"), and
  the CPUs an smp=N target brought up ("smp: Brought up", printed before
  KTAP). Those scans of the whole console would stay here anyway;
- the console prefix: it cuts the width of whatever precedes "KTAP
  version" off every later line; strip_console() removes the printk time
  stamp per line, which the bench's console parser (not KTAP) uses too.

So switching would remove only parse_ktap(), about 45 lines, and add a
dependency on the kernel tree at import time.
"""

import dataclasses
import re


TS_RE = re.compile(r'^\[\s*\d+\.\d+\]\s?')
RESULT_RE = re.compile(r'^(ok|not ok) (\d+)(?: (?:- )?([^#]*?))?\s*(?:#\s*(.*))?$')
SUBTEST_RE = re.compile(r'^# Subtest: (\S+)')
SPLAT_RE = re.compile(
    r'(BUG: |WARNING: |Oops|Kernel panic|general protection fault|'
    r'Unable to handle kernel|Internal error: |UBSAN: |KASAN: |'
    r'possible circular locking|possible recursive locking|'
    r'inconsistent lock state|suspicious RCU usage|INFO: task .* blocked|'
    r'rcu: INFO: rcu_.* stall|stack-protector|'
    r'unwind: |WARNING: stack recursion|objtool)')


def strip_console(line):
    return TS_RE.sub('', line.rstrip('\r\n'))


@dataclasses.dataclass
class Case:
    name: str
    status: str          # pass, fail, skip
    detail: str = ''


@dataclasses.dataclass
class Suite:
    name: str
    status: str = 'missing'
    cases: list = dataclasses.field(default_factory=list)
    log: list = dataclasses.field(default_factory=list)

    def count(self, status):
        return sum(1 for c in self.cases if c.status == status)


def parse_ktap(text):
    """Suites and their cases from a console log holding KTAP.

    Returns ({suite: Suite}, [splat lines]). Results are read by indentation:
    a line 'ok N name' at the suite's case level is a case; nested results
    (parameterised subtests) fold into their case; the unindented result
    closes the suite.
    """
    suites = {}
    splats = []
    cur = None
    case_indent = None
    for raw in text.splitlines():
        line = strip_console(raw)
        if SPLAT_RE.search(line):
            splats.append(line)
        body = line.lstrip(' ')
        indent = len(line) - len(body)
        m = SUBTEST_RE.match(body)
        if m and (cur is None or indent == 4 and case_indent is None
                  or cur is not None and indent < (case_indent or 0)):
            if indent <= 4:
                cur = Suite(m.group(1))
                suites[cur.name] = cur
                case_indent = indent
                continue
        if cur is None:
            continue
        cur.log.append(line)
        m = RESULT_RE.match(body)
        if not m:
            continue
        ok, _, name, directive = m.groups()
        name = (name or '').strip()
        status = 'pass' if ok == 'ok' else 'fail'
        if directive and directive.upper().startswith('SKIP'):
            status = 'skip'
        if indent == case_indent:
            cur.cases.append(Case(name, status, directive or ''))
        elif indent < case_indent and name == cur.name:
            cur.status = status
            cur = None
            case_indent = None
    return suites, splats


def judge(target, text):
    """Per suite results; a list of failures (empty when all is well)."""
    suites, splats = parse_ktap(text)
    failures = []
    for s in target.suites:
        if s not in suites:
            failures.append(f'suite {s} missing from the console output')
            continue
        st = suites[s]
        if st.status == 'missing':
            failures.append(f'suite {s} did not finish')
        for c in st.cases:
            if c.status == 'fail':
                failures.append(f'{s}.{c.name} failed')
        if not st.cases:
            failures.append(f'suite {s} ran no case')
    for line in splats:
        failures.append(f'console: {line}')
    if target.smp > 1:
        cpus = online_cpus(text)
        if cpus != target.smp:
            got = ('no "smp: Brought up" line on the console' if cpus is None
                   else f'the kernel brought up {cpus}')
            failures.append(f'{target.smp} CPUs wanted (-smp {target.smp}); {got}')
    return suites, failures


SMP_UP_RE = re.compile(r'smp: Brought up \d+ nodes?, (\d+) CPUs?')


def online_cpus(text):
    """CPUs the kernel says it brought up at boot, or None."""
    m = SMP_UP_RE.search(text)
    return int(m.group(1)) if m else None


def failing_case_log(suite, case):
    """The diagnostic lines KUnit printed before a case's result."""
    out = []
    for line in suite.log:
        out.append(line)
        if RESULT_RE.match(line.strip()) and case in line:
            break
        if RESULT_RE.match(line.strip()):
            out = []
    return out
