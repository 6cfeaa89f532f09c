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
