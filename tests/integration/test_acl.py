#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""integ.acl: the `acl` plugin (issue 22, CoreDNS's) with dig and kdig sending from
different loopback addresses (127.0.0.1, .2, .3: the loopback is a /8):

- allow / block (REFUSED) / filter (NOERROR, empty, no AA) / drop (no reply), the first
  matching rule deciding, queries no rule matches allowed, over UDP and TCP;
- evaluated before the cache: an answer the cache holds for an allowed client is not
  given to a blocked one;
- `acl ZONES` limits the rules to names below those zones;
- counted by action in signet_acl_*_requests_total{block};
- blocked and filtered replies say why with an Extended DNS Error (RFC 8914: 18 Prohibited,
  17 Filtered) when the query had EDNS, checked with kdig and dig, cookie included;
- config errors named with file:line by `signetd -t`.
"""

import os
import re
import subprocess
import unittest
import urllib.request

import signet_test
from signet_test import NoReply, ServerCase


def scrape(port):
    with urllib.request.urlopen('http://127.0.0.1:%d/metrics' % port, timeout=10) as r:
        return r.read().decode()


def counter(text, name, block):
    m = re.search(r'^%s\{block="%s"\} (\d+)$' % (re.escape(name), re.escape(block)), text, re.M)
    return int(m.group(1)) if m else None


class Acl(ServerCase):
    COREFILE = '''
example.test:$port {
    bind 127.0.0.1
    file $dir/example.test.zone
    prometheus 127.0.0.1:$port2
    acl {
        allow net 127.0.0.1
        block type AAAA net 127.0.0.2
        filter type MX net 127.0.0.2/32
        drop type TXT net 127.0.0.2
        block net 127.0.0.3 ::1
    }
    acl sub.example.test {
        block net 127.0.0.4
    }
    cache 4M
}
'''

    def q(self, src, name, rtype, tcp=False):
        return self.srv.dig(name, rtype, '-b', src, tcp=tcp, timeout=2)

    def counts(self):
        text = scrape(self.srv.port2)
        return {a: counter(text, 'signet_acl_%s_requests_total' % a, 'example.test.')
                for a in ('allowed', 'blocked', 'filtered', 'dropped')}

    def test_actions(self):
        before = self.counts()
        # allowed by the first rule, whatever the type
        r = self.q('127.0.0.1', 'web.example.test', 'AAAA')
        self.assertEqual(r.rcode, 'NOERROR')
        self.assertEqual(len(r.rrs('answer', 'AAAA')), 1)
        self.assertIn('aa', r.flags)
        # the same question from .2: refused, though the cache holds the answer now
        r = self.q('127.0.0.2', 'web.example.test', 'AAAA')
        self.assertEqual(r.rcode, 'REFUSED')
        self.assertEqual(r.answer, [])
        r = self.q('127.0.0.2', 'web.example.test', 'AAAA', tcp=True)
        self.assertEqual(r.rcode, 'REFUSED')
        # filter: NOERROR with nothing in it, not authoritative
        r = self.q('127.0.0.2', 'example.test', 'MX')
        self.assertEqual(r.rcode, 'NOERROR')
        self.assertEqual((r.answer, r.authority), ([], []))
        self.assertNotIn('aa', r.flags)
        # drop: no reply at all, over UDP or TCP
        with self.assertRaises(NoReply):
            self.q('127.0.0.2', 'example.test', 'TXT')
        # no rule for A from .2: allowed
        r = self.q('127.0.0.2', 'web.example.test', 'A')
        self.assertEqual(r.rcode, 'NOERROR')
        self.assertEqual(len(r.rrs('answer', 'A')), 1)
        # .3: every type refused; kdig agrees
        r = self.srv.kdig('web.example.test', 'A', '-b', '127.0.0.3')
        self.assertEqual(r.rcode, 'REFUSED')
        after = self.counts()
        # dig tries a dropped query three times
        self.assertEqual(after['allowed'] - (before['allowed'] or 0), 2)
        self.assertEqual(after['blocked'] - (before['blocked'] or 0), 3)
        self.assertEqual(after['filtered'] - (before['filtered'] or 0), 1)
        self.assertEqual(after['dropped'] - (before['dropped'] or 0), 3)
        # drop over TCP: nothing comes back on the connection either
        with self.assertRaises(NoReply):
            self.srv.dig('example.test', 'TXT', '-b', '127.0.0.2', '+tries=1', tcp=True, timeout=1)
        # and the server goes on answering the others
        self.assertEqual(self.q('127.0.0.1', 'example.test', 'TXT').rcode, 'NOERROR')

    def kdig_text(self, src, name, rtype, *opts):
        cmd = ['kdig', '@127.0.0.1', '-p', str(self.srv.port), '-b', src, '+norec', '+timeout=2',
               '+retry=2'] + list(opts) + [name, rtype]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout

    def test_ede(self):
        for tcp in ('+notcp', '+tcp'):
            out = self.kdig_text('127.0.0.2', 'web.example.test', 'AAAA', '+edns', tcp)
            self.assertIn('status: REFUSED', out, out)
            self.assertRegex(out, r'(?m)^;; EDE: 18 \(Prohibited\)', out)
            out = self.kdig_text('127.0.0.2', 'example.test', 'MX', '+edns', tcp)
            self.assertIn('status: NOERROR', out, out)
            self.assertRegex(out, r'(?m)^;; EDE: 17 \(Filtered\)', out)
            # no EDNS, no OPT to put it in
            out = self.kdig_text('127.0.0.2', 'web.example.test', 'AAAA', '+noedns', tcp)
            self.assertIn('status: REFUSED', out, out)
            self.assertIn('ADDITIONAL: 0', out)
            self.assertNotIn('EDE', out)
            # an allowed answer has none
            out = self.kdig_text('127.0.0.1', 'web.example.test', 'AAAA', '+edns', tcp)
            self.assertIn('status: NOERROR', out, out)
            self.assertNotIn('EDE', out)
        # dig sends a cookie: it comes back beside the EDE, and dig finds both well formed
        p = subprocess.run(['dig', '@127.0.0.1', '-p', str(self.srv.port), '-b', '127.0.0.3', '+norec',
                            '+time=2', 'web.example.test', 'A'], capture_output=True, text=True, timeout=60)
        self.assertIn('status: REFUSED', p.stdout, p.stdout)
        self.assertRegex(p.stdout, r'(?m)^; EDE: 18 \(Prohibited\)', p.stdout)
        self.assertRegex(p.stdout, r'(?m)^; COOKIE: [0-9a-f]{48} \(good\)', p.stdout)

    def test_zones(self):
        # .4 is blocked below sub.example.test only (the second acl line)
        r = self.q('127.0.0.4', 'web.example.test', 'A')
        self.assertEqual(r.rcode, 'NOERROR')
        r = self.q('127.0.0.4', 'www.sub.example.test', 'A')
        self.assertEqual(r.rcode, 'REFUSED')


class AclConfigErrors(unittest.TestCase):
    def check(self, directive, says):
        rc, err = signet_test.config_error(directive)
        self.assertNotEqual(rc, 0, err)
        self.assertIn(says, err)

    def test_errors(self):
        self.check('acl {\n  refuse net 10.0.0.0/8\n    }', "Corefile:4: acl: unknown action 'refuse'")
        self.check('acl {\n  block net 10.0.0.0/40\n    }', "Corefile:4: acl: '10.0.0.0/40' is not")
        self.check('acl {\n  block type NOPE\n    }', "Corefile:4: acl: 'NOPE' is not a query type")
        self.check('acl', 'Corefile:3: acl: expected a block of rules')
        self.check('acl example.org {\n  block\n    }', "Corefile:3: acl: zone 'example.org' is not inside")


if __name__ == '__main__':
    signet_test.main()
