# SPDX-License-Identifier: GPL-2.0
"""Tests of rthlib/mails.py: recipients and mail headers."""

import email
import unittest

from rthlib import common, mails


class MailsTest(unittest.TestCase):
    GM = ('Thomas Gleixner <tglx@kernel.org> (maintainer:X86 ARCHITECTURE)\n'
          '"H. Peter Anvin" <hpa@zytor.com> (reviewer:X86 ARCHITECTURE)\n'
          'x86@kernel.org (maintainer:X86 ARCHITECTURE)\n'
          'linux-kernel@vger.kernel.org (open list)\n')

    def test_split_roles(self):
        to, cc = mails.split_recipients(self.GM)
        self.assertEqual(to, ['Thomas Gleixner <tglx@kernel.org>', 'x86@kernel.org'])
        self.assertEqual(cc, ['"H. Peter Anvin" <hpa@zytor.com>',
                              'linux-kernel@vger.kernel.org'])

    def test_merge_to_wins(self):
        to, cc = mails.merge_recipients((['a@x'], ['l@x', 'b@x']), (['b@x'], ['l@x']))
        self.assertEqual((to, cc), (['a@x', 'b@x'], ['l@x']))

    def test_headers_parse_back(self):
        mail = ('From 0000 Mon Sep 17 00:00:00 2001\nFrom: A <a@x>\n'
                'Subject: [PATCH 1/2] x: y\n\nbody\n\nmore\n')
        out = mails.add_headers(mail, ['a@x', 'T <t@x>'], ['l@x'])
        msg = email.message_from_string(out.split('\n', 1)[1])
        self.assertEqual(msg['To'].replace('\n', ''), 'a@x, T <t@x>')
        self.assertEqual(msg['Cc'], 'l@x')
        self.assertEqual(msg.get_payload(), 'body\n\nmore\n')
        with self.assertRaises(common.HarnessError):
            mails.add_headers('no header block', [], [])


class WriteMailsTest(unittest.TestCase):
    """cli.write_mails: each patch gets its own get_maintainer.pl
    recipients plus the wide ones, the cover letter their union, and the
    count line says how many mails went to how many addresses."""

    def test_per_patch_and_cover(self):
        import os
        import tempfile
        from unittest import mock
        from rthlib import cli
        gm = {'0001-a.patch': 'A <a@x> (maintainer:A)\nl@x (open list)\n',
              '0002-b.patch': 'B <b@x> (maintainer:B)\n'}
        with tempfile.TemporaryDirectory() as d:
            src, out = os.path.join(d, 'p'), os.path.join(d, 'o')
            os.makedirs(src)
            for n in ['0000-cover-letter.patch', *gm]:
                with open(os.path.join(src, n), 'w') as f:
                    f.write(f'From 0 Mon Sep 17 00:00:00 2001\nSubject: {n}\n\nbody\n')
            with mock.patch.object(cli, 'get_maintainer',
                                   lambda repo, p: gm[os.path.basename(p)]):
                report, addrs = cli.write_mails(d, src, list(gm), out,
                                                (['W <w@x>'], []), 'test')
            self.assertEqual(addrs, {'A <a@x>', 'B <b@x>', 'W <w@x>', 'l@x'})
            self.assertIn('would have sent 3 mail(s) (cover letter and 2 '
                          'patch(es)) to 4 distinct address(es)', report)
            with open(os.path.join(out, '0002-b.patch')) as f:
                msg = email.message_from_string(f.read().split('\n', 1)[1])
            self.assertEqual(msg['To'].replace('\n', ''), 'B <b@x>, W <w@x>')
            self.assertIsNone(msg['Cc'])
            with open(os.path.join(out, '0000-cover-letter.patch')) as f:
                msg = email.message_from_string(f.read().split('\n', 1)[1])
            self.assertEqual(msg['To'].replace('\n', ''),
                             'A <a@x>, W <w@x>, B <b@x>')
            self.assertEqual(msg['Cc'], 'l@x')


class MailDirTest(unittest.TestCase):
    """cmd_mails writes beside OUT and then installs: an OUT an earlier run
    wrote and nobody changed is replaced (no stale mail of an older series
    stays); an edited or added file, or a directory rth.py never wrote,
    stops it with OUT untouched and the new mails kept."""

    def run_mails(self, out, names, fail=False):
        import argparse
        import os
        from unittest import mock
        from rthlib import cli

        def write_mails(repo, d, nms, o, wide, title):
            if fail:
                raise common.HarnessError('get_maintainer.pl failed')
            os.makedirs(o, exist_ok=True)
            for n in nms:
                with open(os.path.join(o, n), 'w') as f:
                    f.write(n)
            return [f'## {title}'], set()
        with mock.patch.object(cli, 'ensure_base', lambda: ('/repo', 'b')), \
                mock.patch.object(cli, 'get_maintainer', lambda *a: ''), \
                mock.patch.object(cli, 'read_series', lambda p: list(names)), \
                mock.patch.object(cli, 'write_mails', write_mails):
            return cli.cmd_mails(argparse.Namespace(out=out, parts=False))

    def listing(self, d):
        import os
        return sorted(os.path.relpath(os.path.join(r, f), d)
                      for r, _, fs in os.walk(d) for f in fs)

    def test_replace_refuse_keep(self):
        import os
        import tempfile
        from rthlib import cli
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, 'mails')
            self.assertEqual(self.run_mails(out, ['0001-a.patch', '0037-old.patch']), 0)
            self.assertEqual(self.listing(out), [cli.MAILS_MARK, '0001-a.patch',
                                                 '0037-old.patch', 'recipients.md'])
            # a rerun on a shorter series: the old 0037 does not stay
            self.run_mails(out, ['0001-a.patch'])
            self.assertEqual(self.listing(out), [cli.MAILS_MARK, '0001-a.patch',
                                                 'recipients.md'])
            # the user signs a mail: the next run refuses, changes nothing
            with open(os.path.join(out, '0001-a.patch'), 'a') as f:
                f.write('Signed-off-by: Me <me@x>\n')
            with self.assertRaisesRegex(common.HarnessError,
                                        r'1 file\(s\) changed or added .*0001-a.patch'
                                        r'.*the new mails are in (\S+)$') as cm:
                self.run_mails(out, ['0001-b.patch'])
            with open(os.path.join(out, '0001-a.patch')) as f:
                self.assertIn('Signed-off-by: Me', f.read())
            kept = str(cm.exception).rsplit(' ', 1)[1]
            self.assertEqual(self.listing(kept), ['0001-b.patch', 'recipients.md'])
            # a directory of the user's own
            mine = os.path.join(d, 'mine')
            os.makedirs(mine)
            with open(os.path.join(mine, 'notes.txt'), 'w') as f:
                f.write('keep')
            with self.assertRaisesRegex(common.HarnessError, 'not written by rth.py mails'):
                self.run_mails(mine, ['0001-a.patch'])
            self.assertEqual(self.listing(mine), ['notes.txt'])

    def test_failure_leaves_out_and_no_staging(self):
        import os
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, 'mails')
            self.run_mails(out, ['0001-a.patch'])
            before = self.listing(out)
            with self.assertRaisesRegex(common.HarnessError, 'get_maintainer.pl failed'):
                self.run_mails(out, ['0002-b.patch'], fail=True)
            self.assertEqual(self.listing(out), before)
            self.assertEqual(sorted(os.listdir(d)), ['mails'])
