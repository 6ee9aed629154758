#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""integ.zone_diff: `signetctl zone diff ZONE [FILE]` (issue 21) against a running signetd:
the version it serves (over the control socket, before online signing: no RRSIG, NSEC or
NSEC3 of its own) compared with the zone file as it is now on disk. Exit statuses as
diff(1): 0 the same, 1 different (records added and removed, both serials), 2 trouble (the
file does not load, the zone is not served; the error as JSON on stderr under --json),
75 signetd not there. After a reload the diff is empty again."""

import json
import os
import re
import subprocess
import unittest

import signet_test

SIGNETCTL = os.environ.get('SIGNETCTL', os.path.join(signet_test.REPO, 'build', 'ctl', 'signetctl'))

COREFILE = '''
{
    control $dir/signetd.sock
}
example.test:$port {
    bind 127.0.0.1
    file $dir/example.test.zone
    dnssec {
        keystore $dir/keystore.db
    }
}
'''


class ZoneDiff(signet_test.ServerPerTest):
    COREFILE = COREFILE

    def ctl(self, *args, sock=None):
        cmd = [SIGNETCTL, '--socket', sock or self.srv.path('signetd.sock'),
               '--db', self.srv.path('keystore.db')] + list(args)
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120)

    def edit(self, serial=None, extra='', drop=None):
        path = self.srv.path('example.test.zone')
        with open(path) as f:
            text = f.read()
        if serial is not None:
            text = re.sub(r'\d+( ; serial)', lambda m: str(serial) + m.group(1), text, count=1)
        if drop:
            text = '\n'.join(l for l in text.splitlines() if not l.startswith(drop)) + '\n'
        with open(path + '.new', 'w') as f:
            f.write(text + extra)
        os.rename(path + '.new', path)

    def test_same(self):
        p = self.ctl('zone', 'diff', 'example.test')
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn('no differences', p.stdout)
        p = self.ctl('--json', 'zone', 'diff', 'example.test.')
        self.assertEqual((p.returncode, p.stderr), (0, ''))
        d = json.loads(p.stdout)
        self.assertEqual(d['zone'], 'example.test.')
        self.assertEqual(d['file'], self.srv.path('example.test.zone'))
        self.assertEqual(d['served_serial'], 2026112501)
        self.assertEqual(d['file_serial'], 2026112501)
        self.assertIs(d['different'], False)
        self.assertEqual((d['added'], d['removed']), ([], []))
        # the zone is signed online: what signetd made is not a difference
        r = self.srv.dig('example.test', 'SOA', '+dnssec')
        self.assertTrue(r.rrs('answer', 'RRSIG'))

    def test_edited_then_reloaded(self):
        self.edit(serial=2026112502, drop='mail ',
                  extra='new     IN A    192.0.2.77\nweb     IN TXT  "edited"\n')
        p = self.ctl('zone', 'diff', 'example.test')
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertEqual(p.stderr, '')
        out = p.stdout.splitlines()
        self.assertIn('--- example.test. served by signetd, serial 2026112501', out[0])
        self.assertIn('serial 2026112502', out[1])
        self.assertIn('+new.example.test.\t3600\tIN\tA\t192.0.2.77', out)
        self.assertIn('+web.example.test.\t3600\tIN\tTXT\t"edited"', out)
        self.assertIn('-mail.example.test.\t3600\tIN\tA\t127.0.0.13', out)
        self.assertTrue(any(l.startswith('-example.test.\t3600\tIN\tSOA') and '2026112501' in l for l in out))
        self.assertTrue(any(l.startswith('+example.test.\t3600\tIN\tSOA') and '2026112502' in l for l in out))
        self.assertEqual(out[-1], '3 records added, 2 removed')

        d = json.loads(self.ctl('--json', 'zone', 'diff', 'example.test').stdout)
        self.assertIs(d['different'], True)
        self.assertEqual((d['served_serial'], d['file_serial']), (2026112501, 2026112502))
        self.assertEqual(len(d['added']), 3)
        self.assertEqual(len(d['removed']), 2)
        self.assertIn('mail.example.test.\t3600\tIN\tA\t127.0.0.13', d['removed'])
        for line in d['added'] + d['removed']:
            self.assertNotRegex(line, r'\t(RRSIG|NSEC|NSEC3|NSEC3PARAM)\t')

        p = self.ctl('reload', 'example.test')
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        p = self.ctl('zone', 'diff', 'example.test')
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn('serial 2026112502', p.stdout)

    def test_same_serial_warns(self):
        self.edit(extra='new     IN A    192.0.2.77\n')
        p = self.ctl('zone', 'diff', 'example.test')
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn('the serial is the same', p.stdout)

    def test_other_file(self):
        other = self.srv.path('other.zone')
        with open(self.srv.path('example.test.zone')) as f:
            text = f.read()
        with open(other, 'w') as f:
            f.write(text.replace('127.0.0.14', '127.0.0.99'))
        d = json.loads(self.ctl('--json', 'zone', 'diff', 'example.test', other).stdout)
        self.assertEqual(d['file'], other)
        self.assertEqual(d['added'], ['web.example.test.\t3600\tIN\tA\t127.0.0.99'])
        self.assertEqual(d['removed'], ['web.example.test.\t3600\tIN\tA\t127.0.0.14'])

    def test_trouble(self):
        # a file that does not load: 2, with file:line
        self.edit(extra='broken  IN A    not-an-address\n')
        p = self.ctl('zone', 'diff', 'example.test')
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertRegex(p.stderr, r'example\.test\.zone:\d+')
        self.assertIn('does not load', p.stderr)
        p = self.ctl('--json', 'zone', 'diff', 'example.test')
        self.assertEqual(p.returncode, 2)
        e = json.loads(p.stderr.strip().splitlines()[-1])
        self.assertEqual((e['error'], e['exit']), ('failed', 2))
        # a zone signetd does not serve
        p = self.ctl('--json', 'zone', 'diff', 'nothere.test')
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertEqual(json.loads(p.stderr)['error'], 'not_found')
        # usage
        self.assertEqual(self.ctl('zone', 'diff').returncode, 2)
        # no signetd: temporary
        p = self.ctl('--json', 'zone', 'diff', 'example.test', sock=self.srv.path('none.sock'))
        self.assertEqual(p.returncode, 75, p.stdout + p.stderr)
        self.assertEqual(json.loads(p.stderr)['exit'], 75)


if __name__ == '__main__':
    signet_test.main()
