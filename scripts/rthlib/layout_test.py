# SPDX-License-Identifier: GPL-2.0
"""The package's imports run one way: command lines -> jobs -> shared
helpers. No cycle, nothing imports a command line, the helpers import no
job, and no module imports a command (scripts/rth.py, scripts/bench.py).

The graph is read from the source with ast (imports inside functions
count too), so a new module or import is checked without being run. The
README's Layout section must list the same modules and the same imports.
"""

import ast
import glob
import os
import re
import tempfile
import unittest

PKG_DIR = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.dirname(PKG_DIR)
README = os.path.join(os.path.dirname(SCRIPTS), 'README.md')
PKG = os.path.basename(PKG_DIR)
# Nothing in the package may import these: the command lines, and api
# (the old `rth` namespace, for scripts outside the package).
TOP = {'cli', 'bench_cli', 'trace_cli', 'peer_cli', 'api'}
# Shared helpers: they import no other module of the package.
HELPERS = {'common'}
# The commands: no module imports them (scripts/bench.py, not rthlib.bench).
COMMANDS = {'rth', 'bench'}
COMMAND = 'command '


def module_imports(path, pkg=PKG):
    """Modules of the package, and commands, that the file imports."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    deps = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                top, _, sub = a.name.partition('.')
                if top == pkg and sub:
                    deps.add(sub.split('.')[0])
                elif top in COMMANDS:
                    deps.add(COMMAND + top)
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ''
            if node.level:                        # from . import x, from .x import y
                deps |= ({mod.split('.')[0]} if mod else
                         {a.name for a in node.names})
            elif mod == pkg:                      # from rthlib import x
                deps |= {a.name for a in node.names}
            elif mod.startswith(pkg + '.'):       # from rthlib.x import y
                deps.add(mod.split('.')[1])
            elif mod.split('.')[0] in COMMANDS:
                deps.add(COMMAND + mod.split('.')[0])
    return deps


def package_graph(pkg_dir=PKG_DIR, pkg=PKG):
    """{module: modules it imports} for the package's modules (not tests)."""
    graph = {}
    for p in sorted(glob.glob(os.path.join(pkg_dir, '*.py'))):
        mod = os.path.basename(p)[:-3]
        if mod == '__init__' or mod.endswith('_test'):
            continue
        graph[mod] = module_imports(p, pkg)
    return graph


def find_cycle(graph):
    """One import cycle as a list [a, b, ..., a], or None."""
    state = {}                                    # 1: on the path, 2: done

    def visit(m, path):
        state[m] = 1
        for d in sorted(graph.get(m, ())):
            if state.get(d) == 1:
                return path[path.index(d):] + [d]
            if d in graph and d not in state:
                c = visit(d, path + [d])
                if c:
                    return c
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state:
            c = visit(m, [m])
            if c:
                return c
    return None


def layering_problems(graph, top=TOP, helpers=HELPERS):
    """What breaks the one-way rule, one line each."""
    out = []
    for m, deps in sorted(graph.items()):
        for d in sorted(deps):
            if d.startswith(COMMAND):
                out.append(f'{m} imports the {d}')
            elif d not in graph:
                out.append(f'{m} imports {d}, which is not a module of the package')
            elif d in top:
                out.append(f'{m} imports {d}, which nothing in the package may import')
            elif m in helpers:
                out.append(f'{m} is a shared helper but imports {d}')
    return out


def readme_layout(text):
    """(modules in the Layout table, {module: imports} of its diagram)."""
    sec = text.split('\n## Layout\n', 1)[1].split('\n## ', 1)[0]
    table = set(re.findall(r'^\| `(\w+)\.py` \|', sec, re.M))
    diagram = {}
    block = sec.split('```', 2)[1]
    for line in block.splitlines():
        m = re.fullmatch(r'([\w, ]+?)\s+->\s+(.*)', line.strip())
        if not m or line.startswith('scripts/'):
            continue
        deps = set() if m.group(2) == 'nothing' else set(m.group(2).split())
        for mod in m.group(1).split(','):
            diagram[mod.strip()] = deps
    return table, diagram


class LayoutTest(unittest.TestCase):
    def test_no_cycle(self):
        self.assertIsNone(find_cycle(package_graph()))

    def test_one_way(self):
        graph = package_graph()
        self.assertEqual(layering_problems(graph), [])
        # the names above are the package's: a rename must update them
        self.assertLessEqual(TOP | HELPERS, set(graph))

    def test_commands_only_start_their_command_line(self):
        for script, cli in (('rth.py', 'cli'), ('bench.py', 'bench_cli'),
                            ('trace-event', 'trace_cli'),
                            ('peer-suites', 'peer_cli')):
            self.assertEqual(module_imports(os.path.join(SCRIPTS, script)),
                             {cli}, script)

    def test_readme_layout_is_the_package(self):
        with open(README) as f:
            table, diagram = readme_layout(f.read())
        graph = package_graph()
        self.assertEqual(table, set(graph))
        self.assertEqual(diagram, graph)

    def test_checker_finds_cycles_and_upward_imports(self):
        # a fake package: the checks above must be able to fail
        files = {'common': 'from pkg.a import x\n',
                 'a': 'from pkg import b\n',
                 'b': 'def f():\n    import pkg.a\n',
                 'c': 'from pkg.cli import main\nimport rth\n',
                 'cli': 'from pkg import c\n',
                 'c_test': 'from pkg import cli\n'}
        with tempfile.TemporaryDirectory() as d:
            for name, text in files.items():
                with open(os.path.join(d, name + '.py'), 'w') as f:
                    f.write(text)
            graph = package_graph(d, 'pkg')
        self.assertNotIn('c_test', graph)
        self.assertEqual(find_cycle(graph), ['a', 'b', 'a'])
        self.assertEqual(layering_problems(graph, top={'cli'}, helpers={'common'}), [
            'c imports cli, which nothing in the package may import',
            'c imports the command rth',
            'common is a shared helper but imports a'])
        self.assertIsNone(find_cycle({'a': {'b'}, 'b': {'c'}, 'c': set()}))
