# SPDX-License-Identifier: GPL-2.0
"""The mails: the cover letter (template and its placeholders) and the
recipients of each patch from get_maintainer.pl.
"""

import os
import re

from rthlib import benchtables
from rthlib.common import HarnessError, REPO, run


COVER_TEMPLATE = os.path.join(REPO, 'ci', 'cover-letter.txt')


def render_cover(template_text, tables):
    """Fill @NAME@ placeholders; an unknown placeholder is an error."""
    def sub(m):
        key = m.group(1)
        if key not in tables:
            raise HarnessError(f'cover letter template: no value for @{key}@')
        return tables[key].rstrip('\n')
    return re.sub(r'@([A-Z][A-Z0-9_]*)@', sub, template_text)


def cover_tables():
    """Values for the cover letter placeholders: the bench tables, from
    the committed results/bench-latest.json."""
    return dict(benchtables.cover_tables())


# Every patch changes what the generic rethook and kretprobe code gets
# from an arch trampoline, or tests it: their maintainers get all of them.
SERIES_WIDE_FILES = ['kernel/trace/rethook.c', 'include/linux/rethook.h',
                     'kernel/kprobes.c']
ADDR_RE = re.compile(r'^(.*?<[^>]+>|[^\s<>()]+@[^\s<>()]+)\s*(?:\((.*)\))?$')


def split_recipients(get_maintainer_output):
    """get_maintainer.pl lines -> (to, cc): maintainers To, the rest Cc."""
    to, cc = [], []
    for line in get_maintainer_output.splitlines():
        m = ADDR_RE.match(line.strip())
        if not m:
            continue
        addr, role = m.group(1).strip(), (m.group(2) or '')
        (to if role.startswith('maintainer:') else cc).append(addr)
    return to, cc


def merge_recipients(*pairs):
    to, cc = [], []
    for t, c in pairs:
        to += [a for a in t if a not in to]
        cc += [a for a in c if a not in cc]
    return to, [a for a in cc if a not in to]


def add_headers(mail, to, cc):
    """Insert To:/Cc: into a format-patch mail's header block."""
    head, sep, body = mail.partition('\n\n')
    if not sep:
        raise HarnessError('not a format-patch mail (no header block)')
    for name, addrs in (('To', to), ('Cc', cc)):
        if addrs:
            head += f'\n{name}: ' + ',\n '.join(addrs)
    return head + sep + body


def get_maintainer(src, *args):
    res = run(['perl', os.path.join(src, 'scripts/get_maintainer.pl'),
               '--no-git', '--no-git-fallback', *args],
              capture=True, quiet=True, cwd=src, check=False)
    if res.returncode != 0:
        raise HarnessError(f'get_maintainer.pl {" ".join(args)} failed:\n'
                           f'{res.stderr[-800:]}')
    return res.stdout
