#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""integ.control: signetctl talks to the running signetd over its control socket.
reload (all, or one zone: only that zone's file is read again; a broken file is reported
with file:line and the old version keeps serving), status, zone status (the keystore's
view merged with the daemon's: serial served, zone version, signing keys; still works
without the daemon), stats, stop (exit 0, socket removed); the socket is mode 0600 and a
client that is neither root nor the daemon's user is refused (run as nobody)."""

import json
import os
import pwd
import re
import stat
import subprocess
import time
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
other.test:$port {
    bind 127.0.0.1
    file $dir/other.test.zone
}
'''


class ControlCase(signet_test.ServerPerTest):
    COREFILE = COREFILE
    FILES = ('example.test.zone', 'example.test.inc', 'other.test.zone')

    def setUp(self):
        super().setUp()
        self.sock = self.srv.path('signetd.sock')
        self.db = self.srv.path('keystore.db')

    def ctl(self, *args, sock=None, check=True, prefix=()):
        cmd = list(prefix) + [SIGNETCTL, '--socket', sock or self.sock, '--db', self.db] + list(args)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if check and p.returncode != 0:
            self.fail('%s: exit %d\n%s%s\nlog:\n%s' % (' '.join(cmd), p.returncode, p.stdout,
                                                      p.stderr, self.srv.log()[-3000:]))
        return p

    def serial(self, zone):
        r = self.srv.dig(zone, 'SOA')
        return int(r.answer[0].rdata.split()[2])

    def set_serial(self, name, serial, extra=''):
        path = self.srv.path(name)
        with open(path) as f:
            text = f.read()
        text = re.sub(r'(IN SOA \S+ \S+ \(?\s*)\d+', lambda m: m.group(1) + str(serial), text, count=1)
        with open(path + '.new', 'w') as f:
            f.write(text + extra)
        os.rename(path + '.new', path)

    # ---------------------------------------------------------------------------------

    def test_socket_mode(self):
        st = os.stat(self.sock)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        self.assertEqual(st.st_uid, os.geteuid())

    def test_status(self):
        s = json.loads(self.ctl('--json', 'status').stdout)
        self.assertTrue(s['ok'])
        self.assertEqual(s['pid'], self.srv.proc.pid)
        self.assertGreaterEqual(s['workers'], 1)
        self.assertIn('127.0.0.1:%d' % self.srv.port, [l['address'] for l in s['listeners']])
        zones = {z['zone']: z for z in s['zones']}
        self.assertEqual(set(zones), {'example.test.', 'other.test.'})
        self.assertEqual(zones['example.test.']['serial'], 2026112501)
        self.assertTrue(zones['example.test.']['signed'])
        self.assertFalse(zones['other.test.']['signed'])
        self.assertLessEqual(abs(zones['other.test.']['loaded'] - time.time()), 120)
        text = self.ctl('status').stdout
        self.assertRegex(text, r'example\.test\.\s+2026112501\s+\S+\s+yes')
        self.assertIn('signetd ', text)

    def test_reload_all(self):
        self.set_serial('example.test.zone', 2026112502)
        self.set_serial('other.test.zone', 7)
        p = self.ctl('reload')
        self.assertIn('reloaded', p.stdout)
        self.assertEqual(self.serial('example.test'), 2026112502)
        self.assertEqual(self.serial('other.test'), 7)
        s = json.loads(self.ctl('--json', 'status').stdout)
        self.assertEqual(s['reloads'], 1)

    def test_reload_one_zone(self):
        before = {z['zone']: z for z in json.loads(self.ctl('--json', 'status').stdout)['zones']}
        self.set_serial('example.test.zone', 2026112503)
        self.set_serial('other.test.zone', 8)
        self.ctl('reload', 'other.test')
        self.assertEqual(self.serial('other.test'), 8)
        # only other.test's file was read again
        self.assertEqual(self.serial('example.test'), 2026112501)
        after = {z['zone']: z for z in json.loads(self.ctl('--json', 'status').stdout)['zones']}
        self.assertEqual(after['example.test.']['version'], before['example.test.']['version'])
        self.assertNotEqual(after['other.test.']['version'], before['other.test.']['version'])
        self.ctl('reload', 'example.test.')
        self.assertEqual(self.serial('example.test'), 2026112503)

    def test_reload_one_zone_keeps_the_config(self):
        """`reload ZONE` reads that zone's file again and nothing else: edits to the config
        file (a broken one, then one that drops a zone) wait for a full reload."""
        with open(self.srv.corefile_path) as f:
            good = f.read()
        with open(self.srv.corefile_path, 'w') as f:
            f.write(good + 'half.test:%d {\n    file\n' % self.srv.port)  # being edited
        self.set_serial('other.test.zone', 8)
        self.ctl('reload', 'other.test')
        self.assertEqual(self.serial('other.test'), 8)
        p = self.ctl('reload', check=False)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn('Corefile:', p.stderr)
        self.assertEqual(self.serial('other.test'), 8)
        # a valid edit: other.test's block removed
        with open(self.srv.corefile_path, 'w') as f:
            f.write(good[:good.index('other.test:')])
        self.set_serial('other.test.zone', 9)
        self.ctl('reload', 'other.test')
        self.assertEqual(self.serial('other.test'), 9)
        self.ctl('reload')
        self.assertEqual(self.srv.dig('other.test', 'SOA').rcode, 'REFUSED')
        self.assertEqual(self.serial('example.test'), 2026112501)

    def test_reload_broken_zone(self):
        with open(self.srv.path('other.test.zone')) as f:
            nlines = len(f.read().splitlines())
        self.set_serial('other.test.zone', 9, 'broken IN A not-an-address\n')
        p = self.ctl('reload', 'other.test', check=False)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn('other.test.zone:%d' % (nlines + 1), p.stderr)
        self.assertIn('still serving serial 1', p.stderr)
        self.assertEqual(self.serial('other.test'), 1)
        # JSON clients get the same error in the reply
        p = self.ctl('--json', 'reload', 'other.test', check=False)
        self.assertEqual(p.returncode, 1)
        self.assertFalse(json.loads(p.stdout)['ok'])
        p = self.ctl('reload', 'nosuch.test', check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn('not served', p.stderr)
        s = json.loads(self.ctl('--json', 'status').stdout)
        self.assertEqual(s['reload_failures'], 2)  # 'not served' reloads nothing

    def test_zone_status_merged(self):
        z = json.loads(self.ctl('--json', 'zone', 'status', 'example.test').stdout)
        d = z['daemon']
        self.assertIsNotNone(d, z)
        self.assertEqual(d['serial'], 2026112501)
        self.assertEqual(d['zone'], 'example.test.')
        signing = {(k['id'], k['tag']) for k in d['signing_keys']}
        active = {(k['id'], k['tag']) for k in z['keys'] if k['state'] == 'active'}
        self.assertTrue(signing)
        self.assertEqual(signing, active)
        # and the tags are those of the RRSIGs the server makes
        r = self.srv.dig('example.test', 'SOA', '+dnssec')
        tags = {int(rr.rdata.split()[6]) for rr in r.rrs('answer', 'RRSIG')}
        self.assertEqual(tags, {t for _, t in signing})
        text = self.ctl('zone', 'status', 'example.test').stdout
        self.assertIn('serving serial 2026112501', text)
        self.assertRegex(text, r'signing with: \w+ \d+')
        # without the daemon: the keystore's view and why there is no more
        p = self.ctl('zone', 'status', 'example.test', sock=self.srv.path('none.sock'))
        self.assertIn('cannot reach signetd', p.stdout)
        z = json.loads(self.ctl('--json', 'zone', 'status', 'example.test',
                                sock=self.srv.path('none.sock')).stdout)
        self.assertIsNone(z['daemon'])
        self.assertTrue(z['keys'])

    def test_stats(self):
        self.srv.dig('example.test', 'SOA', '+dnssec')
        text = self.ctl('stats').stdout
        self.assertRegex(text, r'(?m)^signet_uptime_seconds \d+$')
        self.assertRegex(text, r'(?m)^signet_zone_serial\{zone="other.test."\} 1$')
        # the DO query probed the signature cache: a hit when presigning was first, else a miss
        probes = 0
        for name in ('signet_sigcache_hits_total', 'signet_sigcache_misses_total'):
            m = re.search(r'(?m)^%s\{block="example.test."\} (\d+)$' % name, text)
            self.assertTrue(m, text)
            probes += int(m.group(1))
        self.assertGreater(probes, 0)

    def test_bad_requests(self):
        import socket
        for payload, want in ((b'not json\n', 'bad request'), (b'{"cmd":"fly"}\n', 'unknown command'),
                              (b'x' * 5000, 'too long')):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(10)
                s.connect(self.sock)
                s.sendall(payload)
                reply = s.makefile().readline()
            self.assertIn(want, json.loads(reply)['error'])
        # a client that says nothing is dropped after the timeout; the socket still works
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(15)
            s.connect(self.sock)
            t0 = time.monotonic()
            self.assertEqual(s.recv(100), b'')
            self.assertLess(time.monotonic() - t0, 10)
        self.ctl('status')

    @unittest.skipUnless(os.geteuid() == 0, 'needs root to run signetctl as nobody')
    def test_refused_for_other_users(self):
        nobody = pwd.getpwnam('nobody')
        os.chmod(self.srv.dir, 0o755)
        for f in os.listdir(self.srv.dir):
            if f.endswith('.db'):
                os.chmod(self.srv.path(f), 0o644)
        as_nobody = ('setpriv', '--reuid=%d' % nobody.pw_uid, '--regid=%d' % nobody.pw_gid,
                     '--clear-groups')
        # the file mode keeps others out
        p = self.ctl('status', check=False, prefix=as_nobody)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn('Permission denied', p.stderr)
        # and with the mode opened up, the daemon itself refuses (SO_PEERCRED)
        os.chmod(self.sock, 0o666)
        p = self.ctl('stop', check=False, prefix=as_nobody)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn('permission denied', p.stderr)
        self.assertTrue(self.srv.wait_log(r'refused a client with uid %d' % nobody.pw_uid))
        self.assertTrue(self.srv.alive())
        self.ctl('status')

    def test_stop(self):
        p = self.ctl('stop')
        self.assertIn('stopping', p.stdout)
        rc = self.srv.proc.wait(10)
        self.stopped = True
        self.srv.stop()
        self.assertEqual(rc, 0, self.srv.log()[-3000:])
        self.assertFalse(os.path.exists(self.sock))
        p = self.ctl('status', check=False)
        self.assertEqual(p.returncode, 75)  # EX_TEMPFAIL: not running now, try again later
        self.assertIn('cannot reach signetd', p.stderr)


if __name__ == '__main__':
    signet_test.main()
