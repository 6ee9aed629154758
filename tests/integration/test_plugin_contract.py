#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""integ.plugin_contract: a plugin written against common/plugin.h alone and added by one
line in a plugin list (tests/plugins/hello, built into signetd-hello) serves in a real
chain: its TXT answer is signed by the dnssec plugin before it and validates in unbound
from our DS, the names the zone file has are still answered by `file`, and the core
knows nothing of it (issue 18)."""

import os
import shutil
import tempfile
import unittest

import signet_test
from signet_test import Signetd, stop_servers, remove_workdir
from test_dnssec import ctl, record_lines
from unbound_resolver import Unbound

HELLO = os.environ.get('SIGNETD_HELLO') or os.path.join(
    signet_test.REPO, 'build', 'tests', 'plugins', 'signetd-hello')

COREFILE = '''
example.test:$port {
    bind 127.0.0.1
    dnssec {
        keystore $dir/keystore.db
        policy p
    }
    hello greeting
    file $dir/example.test.zone
    errors
}
'''


class HelloPlugin(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        if not os.access(HELLO, os.X_OK):
            raise unittest.SkipTest('no signetd-hello at %s' % HELLO)
        cls.saved = os.environ.get('SIGNETD')
        os.environ['SIGNETD'] = HELLO
        cls.dir = tempfile.mkdtemp(prefix='signet-hello-')
        cls.srv = cls.ub = None
        try:
            cls.db = os.path.join(cls.dir, 'keystore.db')
            ctl(cls.db, 'policy', 'add', 'p', '--denial', 'nsec', '--algorithm',
                'ecdsap256sha256', '--csk')
            cls.srv = Signetd(COREFILE, ('example.test.zone', 'example.test.inc'), workdir=cls.dir)
            cls.srv.start()
            ds = record_lines(ctl(cls.db, 'ds', 'example.test'))
            cls.ub = Unbound(cls.dir, [('example.test', cls.srv.port)], ds)
            cls.ub.start()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.saved is None:
            os.environ.pop('SIGNETD', None)
        else:
            os.environ['SIGNETD'] = cls.saved
        if cls.ub is not None:
            cls.ub.stop()
        errors = stop_servers(cls.srv) if cls.srv else []
        remove_workdir(cls.dir)
        if errors:
            raise AssertionError('\n'.join(errors))

    def test_answer_signed(self):
        r = self.srv.dig('greeting.example.test', 'TXT', '+dnssec')
        self.assertEqual(r.rcode, 'NOERROR', repr(r))
        self.assertIn('aa', r.flags)
        txt = r.rrs('answer', 'TXT')
        self.assertEqual([rr.rdata for rr in txt], ['"hello"'], repr(r))
        sigs = r.rrs('answer', 'RRSIG')
        self.assertEqual(len(sigs), 1, repr(r))
        self.assertTrue(sigs[0].rdata.startswith('TXT 13 3 300 '), sigs[0].rdata)

    def test_validates(self):
        r = self.ub.dig('greeting.example.test', 'TXT')
        self.assertEqual(r.rcode, 'NOERROR', '%r\n%s' % (r, self.ub.log()[-2000:]))
        self.assertIn('ad', r.flags)
        self.assertEqual([rr.rdata for rr in r.rrs('answer', 'TXT')], ['"hello"'])

    def test_other_names_from_the_file(self):
        r = self.ub.dig('web.example.test', 'A')
        self.assertEqual(r.rcode, 'NOERROR', repr(r))
        self.assertIn('ad', r.flags)
        self.assertTrue(r.rrs('answer', 'A'), repr(r))
        # another type at the hello name: the file's answer (no such name), proven
        r = self.ub.dig('greeting.example.test', 'A')
        self.assertEqual(r.rcode, 'NXDOMAIN', repr(r))
        self.assertIn('ad', r.flags)

    def test_config_error_names_the_line(self):
        cf = os.path.join(self.dir, 'Bad')
        with open(cf, 'w') as f:
            f.write('example.test:5399 {\n    hello\n    file %s/example.test.zone\n}\n' % self.dir)
        rc, out, err = signet_test.run_signetd(['-t', '-c', cf])
        self.assertEqual(rc, 1)
        self.assertIn('Bad:2', err)
        self.assertIn('hello: expected a name', err)


if __name__ == '__main__':
    unittest.main()
