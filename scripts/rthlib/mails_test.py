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
    """cli.prepare_mail_dir: a directory of an earlier run is replaced (no
    stale mail of an older series stays), a directory the user owns is
    refused and left as it was."""

    def test_replace_refuse_create(self):
        import os
        import tempfile
        from rthlib import cli
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, 'mails')
            cli.prepare_mail_dir(out)
            self.assertEqual(os.listdir(out), [cli.MAILS_MARK])
            os.makedirs(os.path.join(out, 'parts', '1-old'))
            for p in ('0037-stale.patch', 'parts/1-old/0001-x.patch'):
                with open(os.path.join(out, p), 'w') as f:
                    f.write('old')
            cli.prepare_mail_dir(out)
            self.assertEqual(os.listdir(out), [cli.MAILS_MARK])
            mine = os.path.join(d, 'mine')
            os.makedirs(mine)
            with open(os.path.join(mine, 'notes.txt'), 'w') as f:
                f.write('keep')
            with self.assertRaisesRegex(common.HarnessError, 'not written by rth.py mails'):
                cli.prepare_mail_dir(mine)
            self.assertEqual(os.listdir(mine), ['notes.txt'])
            empty = os.path.join(d, 'empty')
            os.makedirs(empty)
            cli.prepare_mail_dir(empty)
            self.assertEqual(os.listdir(empty), [cli.MAILS_MARK])
