#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""integ.health: the `health` and `ready` plugins (issue 22, CoreDNS's names and
semantics) with real HTTP clients (curl, Python's http.client):

- /health answers 200 "OK" while the process runs; /ready 200 "OK" once every zone is
  loaded and signed with keys that sign and the keystore is there;
- not ready, with what is missing in a 503: a zone whose file broke at a reload (still
  served from the older version), a keystore deleted under the running server; ready
  again once fixed (`monitor continuously`); with the default `until-ready`, a plugin
  that said ready once is not asked again;
- the endpoints share the metrics listener's hardening: silent clients are cut off at the
  read deadline and dribbling ones do not keep a probe waiting;
- lameduck: after SIGTERM the process goes on answering DNS and /health for the lameduck
  time while /ready says 503 "Shutting down", then stops.
"""

import http.client
import os
import shutil
import signal
import socket
import subprocess
import time
import unittest

import signet_test
from signet_test import Signetd, free_port, wait_for

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
    health 127.0.0.1:$port2 {
        lameduck %(lameduck)s
    }
    ready 127.0.0.1:%(ready)d {
        monitor %(monitor)s
    }
}
'''


def get(port, path, timeout=5):
    """(status, body) of GET path with http.client."""
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)
    try:
        c.request('GET', path)
        r = c.getresponse()
        return r.status, r.read().decode()
    finally:
        c.close()


def curl(port, path):
    """(status, body) of GET path with curl."""
    p = subprocess.run(['curl', '-sS', '--max-time', '5', '-w', '\n%{http_code}',
                        'http://127.0.0.1:%d%s' % (port, path)],
                       capture_output=True, text=True, timeout=30)
    body, _, code = p.stdout.rpartition('\n')
    return int(code or 0), body


class HealthReady(unittest.TestCase):
    MONITOR = 'continuously'
    LAMEDUCK = '3s'

    def setUp(self):
        self.ready_port = free_port()
        text = COREFILE % {'ready': self.ready_port, 'monitor': self.MONITOR,
                           'lameduck': self.LAMEDUCK}
        self.srv = Signetd(text, ('example.test.zone', 'example.test.inc'))
        self.srv.start()
        self.health_port = self.srv.port2
        self.stopped = False

    def tearDown(self):
        if self.srv.proc is not None and self.srv.proc.poll() is not None and self.stopped:
            self.srv.stop()   # the test stopped it (and checked how)
            self.srv.cleanup()
            return
        errors = signet_test.stop_servers(self.srv)
        if errors:
            raise AssertionError('\n'.join(errors))

    def ready(self):
        return get(self.ready_port, '/ready')

    def wait_ready(self, want, timeout=10):
        return wait_for(lambda: (lambda r: r if r[0] == want else None)(self.ready()), timeout)

    def reload_zone(self):
        return subprocess.run([SIGNETCTL, '--socket', self.srv.path('signetd.sock'), 'reload',
                               'example.test'], capture_output=True, text=True, timeout=120)

    def test_ok(self):
        self.assertEqual(curl(self.health_port, '/health'), (200, 'OK'))
        self.assertEqual(get(self.health_port, '/health'), (200, 'OK'))
        self.assertEqual(self.wait_ready(200), (200, 'OK'))
        self.assertEqual(curl(self.ready_port, '/ready'), (200, 'OK'))
        # each path on its own address; anything else is 404, other methods 405
        self.assertEqual(get(self.health_port, '/ready')[0], 404)
        self.assertEqual(get(self.ready_port, '/health')[0], 404)
        self.assertEqual(get(self.health_port, '/metrics')[0], 404)
        p = subprocess.run(['curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'POST',
                            'http://127.0.0.1:%d/health' % self.health_port],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.stdout, '405')

    def test_broken_zone_file_is_not_ready(self):
        self.assertEqual(self.wait_ready(200)[0], 200)
        path = self.srv.path('example.test.zone')
        with open(path) as f:
            good = f.read()
        with open(path, 'w') as f:
            f.write(good + '\nbroken IN A not-an-address\n')
        self.reload_zone()
        status, body = self.ready()
        self.assertEqual(status, 503, body)
        self.assertIn('file: zone example.test', body)
        self.assertIn('failed to load', body)
        # the process is healthy all the same, and serves the older version
        self.assertEqual(get(self.health_port, '/health'), (200, 'OK'))
        self.assertEqual(self.srv.dig('web.example.test', 'A').rcode, 'NOERROR')
        with open(path, 'w') as f:
            f.write(good + '\n; fixed\n')
        p = self.reload_zone()
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(self.ready(), (200, 'OK'))

    def test_keystore_gone_is_not_ready(self):
        self.assertEqual(self.wait_ready(200)[0], 200)
        db = self.srv.path('keystore.db')
        aside = self.srv.path('keystore.aside')
        # after the keyman's first step, which opens its own handle (as integ.keystore_gone)
        time.sleep(2)
        os.rename(db, aside)
        try:
            r = self.wait_ready(503, timeout=10)
            self.assertIsNotNone(r, 'still ready with the keystore gone: %r' % (self.ready(),))
            self.assertIn('dnssec: keystore', r[1])
            self.assertIn('not reachable', r[1])
            self.assertEqual(get(self.health_port, '/health'), (200, 'OK'))
        finally:
            os.rename(aside, db)
        self.assertIsNotNone(self.wait_ready(200, timeout=10), self.ready())

    def test_silent_and_dribbling_clients(self):
        """Twenty clients that send half a request, then a byte now and then, and one
        that sends nothing: probes are answered at once, and the silent one is cut off at
        the read deadline (2 s)."""
        silent = socket.create_connection(('127.0.0.1', self.health_port), timeout=5)
        slow = []
        try:
            for _ in range(20):
                c = socket.create_connection(('127.0.0.1', self.health_port), timeout=5)
                c.sendall(b'GET /hea')
                slow.append(c)
            for _ in range(3):
                for c in slow:
                    try:
                        c.sendall(b'l')
                    except OSError:
                        pass
                t0 = time.monotonic()
                self.assertEqual(get(self.health_port, '/health'), (200, 'OK'))
                self.assertLess(time.monotonic() - t0, 1.0, 'a probe waited behind slow clients')
            t0 = time.monotonic()
            silent.settimeout(8)
            self.assertEqual(silent.recv(10), b'')   # closed by the server
            self.assertLess(time.monotonic() - t0, 4.0)
        finally:
            silent.close()
            for c in slow:
                c.close()
        self.assertEqual(self.srv.dig('web.example.test', 'A').rcode, 'NOERROR')

    def test_lameduck(self):
        self.assertEqual(self.wait_ready(200)[0], 200)
        t0 = time.monotonic()
        self.stopped = True
        self.srv.send_signal(signal.SIGTERM)
        self.assertTrue(self.srv.wait_log('lameduck: serving 3000 ms more', timeout=5), self.srv.log())
        # within the lameduck: /ready says so, /health and DNS go on
        status, body = self.ready()
        self.assertEqual((status, body.strip()), (503, 'Shutting down'))
        self.assertEqual(get(self.health_port, '/health'), (200, 'OK'))
        self.assertEqual(self.srv.dig('web.example.test', 'A').rcode, 'NOERROR')
        self.assertTrue(self.srv.alive())
        self.srv.proc.wait(timeout=30)
        took = time.monotonic() - t0
        self.assertEqual(self.srv.proc.returncode, 0)
        self.assertGreaterEqual(took, 2.9)
        self.assertLess(took, 20)
        with self.assertRaises(OSError):
            get(self.health_port, '/health', timeout=2)


class UntilReady(HealthReady):
    """CoreDNS's default: a plugin that said ready once is not asked again."""
    MONITOR = 'until-ready'
    LAMEDUCK = '0s'

    test_broken_zone_file_is_not_ready = None
    test_keystore_gone_is_not_ready = None
    test_silent_and_dribbling_clients = None
    test_lameduck = None

    def test_stays_ready(self):
        self.assertEqual(self.wait_ready(200)[0], 200)
        db = self.srv.path('keystore.db')
        aside = self.srv.path('keystore.aside')
        # after the keyman's first step, which opens its own handle (as integ.keystore_gone)
        time.sleep(2)
        os.rename(db, aside)
        try:
            self.assertTrue(self.srv.wait_log('keystore .* was deleted or replaced', timeout=10))
            self.assertEqual(self.ready(), (200, 'OK'))
        finally:
            os.rename(aside, db)
        # no lameduck: SIGTERM stops at once
        t0 = time.monotonic()
        self.stopped = True
        self.srv.send_signal(signal.SIGTERM)
        self.srv.proc.wait(timeout=30)
        self.assertLess(time.monotonic() - t0, 2.5)


class NotTransferredYet(unittest.TestCase):
    """A secondary zone whose primary does not answer: not ready (the plugin has no
    callback of its own; its zones say it). Two blocks on one ready address: the union,
    the file zone of the other block being ready."""

    def setUp(self):
        self.ready_port = free_port()
        self.srv = Signetd('''
example.test:$port {
    bind 127.0.0.1
    file $dir/example.test.zone
    ready 127.0.0.1:%(ready)d
}
sec.test:$port {
    bind 127.0.0.1
    secondary {
        from 127.0.0.1:%(primary)d
    }
    ready 127.0.0.1:%(ready)d
}
''' % {'ready': self.ready_port, 'primary': free_port()}, ('example.test.zone', 'example.test.inc'))
        self.srv.start()

    def tearDown(self):
        errors = signet_test.stop_servers(self.srv)
        if errors:
            raise AssertionError('\n'.join(errors))

    def test_secondary_not_loaded(self):
        status, body = get(self.ready_port, '/ready')
        self.assertEqual(status, 503, body)
        self.assertEqual(body.strip(), 'secondary: 1 of 1 zones not loaded')
        self.assertEqual(curl(self.ready_port, '/ready')[0], 503)


class ConfigErrors(unittest.TestCase):
    def check(self, directive, says):
        d = signet_test.tempfile.mkdtemp(prefix='signet-health-')
        try:
            shutil.copy(os.path.join(signet_test.FIXTURES, 'example.test.zone'), d)
            shutil.copy(os.path.join(signet_test.FIXTURES, 'example.test.inc'), d)
            path = os.path.join(d, 'Corefile')
            with open(path, 'w') as f:
                f.write('example.test:5353 {\n    file %s/example.test.zone\n    %s\n}\n' % (d, directive))
            rc, out, err = signet_test.run_signetd(['-t', '-c', path])
            self.assertNotEqual(rc, 0, out + err)
            self.assertIn(says, err)
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_errors(self):
        self.check('health 127.0.0.1', 'Corefile:3: health: \'127.0.0.1\' is not HOST:PORT')
        self.check('health :8080 {\n lameduck soon\n }', 'Corefile:4: health: lameduck takes one DURATION')
        self.check('health :8080 {\n lameduck 5s 6s\n }', 'Corefile:4: health: lameduck takes one')
        self.check('health :8080 {\n graceful 5s\n }', "Corefile:4: health: unknown option 'graceful'")
        self.check('ready 1.2.3.4:99999', 'Corefile:3: ready: \'1.2.3.4:99999\' is not HOST:PORT')
        self.check('ready {\n monitor sometimes\n }', 'Corefile:4: ready: monitor takes until-ready or continuously')
        self.check('ready a:1 b:2', 'Corefile:3: ready: expected at most one ADDRESS')


if __name__ == '__main__':
    signet_test.main()
