#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""integ.dot: DNS over TLS (RFC 7858). kdig +tls with a CA made at test time verifies the
server's certificate and gets the answers, signed ones with +dnssec; a wrong hostname
fails the handshake; queries pipelined in one TLS stream are all answered (RFC 7766
framing); TLS 1.2 works and 1.1 is refused; a client stuck before its handshake blocks
no one and is dropped at the idle timeout; the certificate is replaced on reload; a key
file readable by others is refused."""

import json
import os
import signal
import socket
import ssl
import subprocess
import time
import unittest
import warnings

import signet_test
from signet_test import Signetd, make_query, parse_kdig_json, parse_message, run_signetd

SIGNETCTL = os.environ.get('SIGNETCTL', os.path.join(signet_test.REPO, 'build', 'ctl', 'signetctl'))

COREFILE = '''
{
    workers 1
    tcp-idle-timeout 2s
    tcp-io-timeout 1s
    control $dir/signetd.sock
}
example.test:$port {
    bind 127.0.0.1
    file $dir/example.test.zone
}
tls://example.test:$port2 {
    bind 127.0.0.1
    tls $dir/server.pem $dir/server.key
    dnssec {
        keystore $dir/keystore.db
    }
    file $dir/example.test.zone
}
'''


def openssl(*args, cwd):
    subprocess.run(['openssl'] + list(args), cwd=cwd, check=True, capture_output=True)


def make_ca(d):
    openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
            '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Signet test CA', cwd=d)


def make_cert(d, hostname):
    """A server certificate for hostname signed by the test CA, as server.pem/server.key."""
    openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
            '-keyout', 'new.key', '-out', 'new.csr', '-subj', '/CN=' + hostname, cwd=d)
    with open(os.path.join(d, 'ext'), 'w') as f:
        f.write('subjectAltName=DNS:%s,IP:127.0.0.1\n' % hostname)
    openssl('x509', '-req', '-in', 'new.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key',
            '-CAcreateserial', '-out', 'new.pem', '-days', '2', '-extfile', 'ext', cwd=d)
    os.chmod(os.path.join(d, 'new.key'), 0o600)
    os.rename(os.path.join(d, 'new.key'), os.path.join(d, 'server.key'))
    os.rename(os.path.join(d, 'new.pem'), os.path.join(d, 'server.pem'))


class DotCase(signet_test.ServerCase):
    COREFILE = COREFILE

    @classmethod
    def prepare(cls, srv):
        make_ca(srv.dir)
        make_cert(srv.dir, 'dns.example.test')

    def kdig_tls(self, name, rtype, *opts, hostname='dns.example.test'):
        cmd = ['kdig', '@127.0.0.1', '-p', str(self.srv.port2), '+tls',
               '+tls-ca=' + self.srv.path('ca.pem'), '+tls-hostname=' + hostname, '+norec',
               '+json', '+timeout=3', '+retry=0'] + list(opts) + [name, rtype]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        return p, (parse_kdig_json(p.stdout) if p.returncode == 0 and p.stdout.strip() else None)

    def tls_socket(self, **ctxopts):
        ctx = ssl.create_default_context(cafile=self.srv.path('ca.pem'))
        for k, v in ctxopts.items():
            setattr(ctx, k, v)
        raw = socket.create_connection(('127.0.0.1', self.srv.port2), timeout=5)
        return ctx.wrap_socket(raw, server_hostname='dns.example.test')

    # ---------------------------------------------------------------------------------

    def test_kdig_answer(self):
        p, r = self.kdig_tls('www.example.test', 'A')
        self.assertIsNotNone(r, p.stdout + p.stderr)
        self.assertEqual(r.rcode, 'NOERROR')
        self.assertIn('aa', r.flags)
        self.assertIn(('web.example.test.', 'A', '127.0.0.14'),
                      [(rr.name, rr.type, rr.rdata) for rr in r.answer])
        # the query reached the chain as a TLS one: plain DNS is not on that port
        with self.assertRaises(OSError):
            signet_test.tcp_exchange('127.0.0.1', self.srv.port2, make_query('example.test', 'SOA')[1],
                                     timeout=2)

    def test_kdig_dnssec(self):
        p, r = self.kdig_tls('example.test', 'SOA', '+dnssec')
        self.assertIsNotNone(r, p.stdout + p.stderr)
        self.assertEqual(r.rcode, 'NOERROR')
        self.assertTrue(r.rrs('answer', 'SOA'))
        sigs = r.rrs('answer', 'RRSIG')
        self.assertTrue(sigs, r.text)
        self.assertTrue(sigs[0].rdata.startswith('SOA '), sigs[0].rdata)
        p, r = self.kdig_tls('nothere.example.test', 'A', '+dnssec')
        self.assertEqual(r.rcode, 'NXDOMAIN')
        self.assertTrue(r.rrs('authority', 'NSEC') or r.rrs('authority', 'NSEC3'), r.text)

    def test_wrong_hostname_fails(self):
        p, r = self.kdig_tls('example.test', 'SOA', hostname='other.example.org')
        self.assertIsNone(r, p.stdout)
        self.assertIn('certificate', (p.stdout + p.stderr).lower())

    def test_pipelined(self):
        names = ['www.example.test', 'example.test', 'mail.example.test', 'nothere.example.test']
        with self.tls_socket() as s:
            self.assertIn(s.version(), ('TLSv1.3', 'TLSv1.2'))
            self.assertEqual(s.version(), 'TLSv1.3')  # preferred when both sides have it
            out, ids = b'', {}
            for n in names:
                qid, q = make_query(n, 'A')
                ids[qid] = n
                out += signet_test.tcp_frame(q)
            s.sendall(out)  # all in one TLS record
            got = {}
            for _ in names:
                m = parse_message(signet_test.tcp_read_message(s))
                got[m.id] = m.rcode
        self.assertEqual(set(got), set(ids))
        self.assertEqual(got[[i for i, n in ids.items() if n.startswith('nothere')][0]], 'NXDOMAIN')

    def test_tls12_and_not_older(self):
        with self.tls_socket(maximum_version=ssl.TLSVersion.TLSv1_2) as s:
            self.assertEqual(s.version(), 'TLSv1.2')
            qid, q = make_query('example.test', 'SOA')
            s.sendall(signet_test.tcp_frame(q))
            self.assertEqual(parse_message(signet_test.tcp_read_message(s)).rcode, 'NOERROR')
        ctxopts = dict(minimum_version=ssl.TLSVersion.TLSv1_1, maximum_version=ssl.TLSVersion.TLSv1_1)
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', DeprecationWarning)
            with self.assertRaises((ssl.SSLError, OSError)):
                with self.tls_socket(**ctxopts):
                    pass

    def test_stuck_client_and_idle_timeout(self):
        # a client that never starts its handshake holds no worker (there is only one)
        raw = socket.create_connection(('127.0.0.1', self.srv.port2), timeout=10)
        try:
            t0 = time.monotonic()
            p, r = self.kdig_tls('example.test', 'SOA')
            self.assertIsNotNone(r, p.stderr)
            self.assertLess(time.monotonic() - t0, 2)
            # and it is dropped once idle for tcp-idle-timeout (2s)
            self.assertTrue(signet_test.wait_closed(raw, 6), 'idle TLS connection not closed')
        finally:
            raw.close()

    def test_dribbled_handshake_closed(self):
        """A ClientHello sent a byte every 0.3 s restarts the idle timer at every byte and
        begins no DNS message; the connection must still go once tcp-idle-timeout (2 s)
        has passed since it opened (issue 15: the same attack as TCP slowloris)."""
        ctx = ssl.create_default_context(cafile=self.srv.path('ca.pem'))
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = ctx.wrap_bio(inc, out, server_hostname='dns.example.test')
        try:
            obj.do_handshake()
        except ssl.SSLWantReadError:
            pass
        hello = out.read()
        self.assertGreater(len(hello), 100)
        raw = socket.create_connection(('127.0.0.1', self.srv.port2), timeout=5)
        try:
            t0, closed = time.monotonic(), False
            for b in hello[:-1]:           # never the last byte: the handshake never ends
                try:
                    raw.sendall(bytes([b]))
                except OSError:
                    closed = True
                    break
                if signet_test.wait_closed(raw, 0.3):
                    closed = True
                    break
                if time.monotonic() - t0 > 10:
                    break
            self.assertTrue(closed, 'a dribbled handshake held its connection for %.1fs'
                            % (time.monotonic() - t0))
            self.assertLess(time.monotonic() - t0, 6)
        finally:
            raw.close()

    def test_dribbled_message_after_handshake_closed(self):
        """After the handshake, a DNS message announced and then sent a byte every 0.3 s
        inside TLS is cut off by tcp-io-timeout (here 1 s), though each byte keeps the
        connection from idling."""
        tls = self.tls_socket()
        try:
            tls.sendall(b'\x00\x40')
            t0, closed = time.monotonic(), False
            while time.monotonic() - t0 < 10:
                try:
                    tls.sendall(b'\x01')
                except OSError:
                    closed = True
                    break
                if signet_test.wait_closed(tls, 0.3):
                    closed = True
                    break
            self.assertTrue(closed, 'a dribbled message held its TLS connection for 10 s')
            self.assertLess(time.monotonic() - t0, 6)
        finally:
            tls.close()

    def test_status_lists_tls_listener(self):
        p = subprocess.run([SIGNETCTL, '--socket', self.srv.path('signetd.sock'), '--json', 'status'],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        listeners = {l['address']: l['transport'] for l in json.loads(p.stdout)['listeners']}
        self.assertEqual(listeners, {'127.0.0.1:%d' % self.srv.port: 'udp+tcp',
                                     '127.0.0.1:%d' % self.srv.port2: 'tls'})

    def test_zz_certificate_reloaded(self):
        # a connection open across the reload keeps its session and goes on answering
        s = self.tls_socket()
        self.addCleanup(s.close)
        qid, q = make_query('example.test', 'SOA')
        s.sendall(signet_test.tcp_frame(q))
        self.assertEqual(parse_message(signet_test.tcp_read_message(s)).rcode, 'NOERROR')
        make_cert(self.srv.dir, 'dns2.example.test')
        since = self.srv.log_size()
        self.srv.send_signal(signal.SIGHUP)
        self.assertTrue(self.srv.wait_log(r'reload done', since, timeout=20), self.srv.log()[-2000:])
        time.sleep(0.2)
        for _ in range(3):
            qid, q = make_query('www.example.test', 'A')
            s.sendall(signet_test.tcp_frame(q))
            self.assertEqual(parse_message(signet_test.tcp_read_message(s)).rcode, 'NOERROR')
        p, r = self.kdig_tls('example.test', 'SOA', hostname='dns2.example.test')
        self.assertIsNotNone(r, p.stdout + p.stderr)
        p, r = self.kdig_tls('example.test', 'SOA', hostname='dns.example.test')
        self.assertIsNone(r, 'the old certificate is still served')


class DotConfig(unittest.TestCase):
    def setUp(self):
        self.srv = Signetd('', ('example.test.zone', 'example.test.inc'))
        self.addCleanup(self.srv.cleanup)
        make_ca(self.srv.dir)
        make_cert(self.srv.dir, 'dns.example.test')

    def check(self, corefile):
        self.srv.write_corefile(corefile.replace('$dir', self.srv.dir))
        return run_signetd(['-t', '-c', self.srv.corefile_path])

    def test_key_readable_by_others_refused(self):
        os.chmod(self.srv.path('server.key'), 0o644)
        rc, out, err = self.check('tls://example.test:8853 {\n    tls $dir/server.pem $dir/server.key\n'
                                  '    file $dir/example.test.zone\n}\n')
        self.assertEqual(rc, 1, out + err)
        self.assertIn('Corefile:2', err)
        self.assertIn('readable by group or others', err)

    def test_config_errors(self):
        cases = [
            ('tls://example.test {\n    file $dir/example.test.zone\n}\n', 'needs a \'tls CERT KEY\' line'),
            ('tls://example.test example.test:5300 {\n    tls $dir/server.pem $dir/server.key\n'
             '    file $dir/example.test.zone\n}\n', 'either tls:// or plain DNS'),
            ('example.test {\n    tls $dir/server.pem\n    file $dir/example.test.zone\n}\n',
             'expected a certificate'),
            ('example.test {\n    tls $dir/ca.pem $dir/server.key\n    file $dir/example.test.zone\n}\n',
             'does not belong to certificate'),
            ('example.test:9953 {\n    bind 127.0.0.1\n    file $dir/example.test.zone\n}\n'
             'tls://example.test:9953 {\n    bind 127.0.0.1\n    tls $dir/server.pem $dir/server.key\n'
             '    file $dir/example.test.zone\n}\n', 'port of its own'),
        ]
        for text, want in cases:
            rc, out, err = self.check(text)
            self.assertEqual(rc, 1, text + out + err)
            self.assertIn(want, err, text)
        # a tls line alone makes the block DNS over TLS on port 853
        rc, out, err = self.check('example.test {\n    bind 127.0.0.1\n    tls $dir/server.pem $dir/server.key\n'
                                  '    file $dir/example.test.zone\n}\n')
        self.assertEqual(rc, 0, err)


if __name__ == '__main__':
    signet_test.main()
