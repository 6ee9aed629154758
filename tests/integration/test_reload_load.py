#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""integ.reload_load: a stream of UDP and TCP queries runs while the zone is changed and
reloaded 50 times (signetctl reload ZONE, signetctl reload and SIGHUP in turn). Every query
is answered; every answer comes from a version of the zone that was loaded (its TXT
marker matches its serial), each client sees versions only move forward, and none older
than the last reload finished before it asked; signetd's RSS comes back to its level."""

import os
import signal
import subprocess
import threading
import time
import unittest

import signet_test
from signet_test import Signetd, make_query, parse_message

SIGNETCTL = os.environ.get('SIGNETCTL', os.path.join(signet_test.REPO, 'build', 'ctl', 'signetctl'))
RELOADS = 50
CLIENTS = 4
NAMES = 3000   # a zone big enough that a leak per reload would show in the RSS

COREFILE = '''
{
    control $dir/signetd.sock
    workers 2
}
load.test:$port {
    bind 127.0.0.1
    file $dir/load.test.zone
    errors
}
'''


def zone_text(version):
    lines = ['$ORIGIN load.test.', '$TTL 300',
             '@ IN SOA ns1 hostmaster %d 7200 3600 1209600 300' % version,
             '@ IN NS ns1', 'ns1 IN A 127.0.0.1',
             'marker IN TXT "v=%d"' % version]
    # names that come and go with the version, so that each reload really changes data
    lines += ['h%d-%d IN A 10.%d.%d.%d' % (i, version % 7, i >> 16 & 255, i >> 8 & 255, i & 255)
              for i in range(NAMES)]
    return '\n'.join(lines) + '\n'


def rss_kb(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


class ReloadUnderLoad(unittest.TestCase):
    def setUp(self):
        self.srv = Signetd(COREFILE, ready_name='load.test')
        self.addCleanup(self.srv.cleanup)
        self.zone = self.srv.path('load.test.zone')
        self.write(1)
        self.srv.start()

    def write(self, version):
        with open(self.zone + '.new', 'w') as f:
            f.write(zone_text(version))
        os.rename(self.zone + '.new', self.zone)

    def test_reload_under_load(self):
        srv = self.srv
        done_version = [1]         # the newest version a reload has finished loading
        written = [1]              # the newest version in the file
        stop = threading.Event()
        problems, counts = [], [0] * CLIENTS
        lock = threading.Lock()

        def client(n):
            try:
                run_client(n)
            except Exception as e:  # noqa: BLE001 - any failure in a client fails the test
                with lock:
                    problems.append('client %d: %r' % (n, e))

        def run_client(n):
            seen = 0
            use_tcp = n % 2 == 1
            sock = signet_test.tcp_connect(srv.host, srv.port) if use_tcp else None
            while not stop.is_set():
                floor = done_version[0]
                qid, q = make_query('marker.load.test', 'TXT')
                try:
                    if use_tcp:
                        sock.sendall(signet_test.tcp_frame(q))
                        data = signet_test.tcp_read_message(sock)
                    else:
                        data = srv.udp(q, qid, timeout=3, tries=1)
                except OSError:
                    data = None
                if not data:
                    with lock:
                        problems.append('client %d: no answer (%s)' % (n, 'tcp' if use_tcp else 'udp'))
                    if use_tcp:  # the idle timeout may close a connection; that is not a drop
                        sock.close()
                        sock = signet_test.tcp_connect(srv.host, srv.port)
                    continue
                m = parse_message(data)
                txt = [rr.rdata for rr in m.answer if rr.type == 'TXT']
                if m.rcode != 'NOERROR' or len(txt) != 1:
                    with lock:
                        problems.append('client %d: %s %r' % (n, m.rcode, txt))
                    continue
                v = int(txt[0].strip('"').split('=')[1])
                if v < seen or v < floor or v > written[0]:
                    with lock:
                        problems.append('client %d: version %d after %d (floor %d)' % (n, v, seen, floor))
                seen = v
                counts[n] += 1
            if sock:
                sock.close()

        threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
        for t in threads:
            t.start()
        baseline = None
        try:
            for version in range(2, RELOADS + 2):
                written[0] = version
                self.write(version)
                how = version % 3
                if how == 0:
                    p = subprocess.run([SIGNETCTL, '--socket', srv.path('signetd.sock'), 'reload',
                                        'load.test'], capture_output=True, text=True, timeout=120)
                    self.assertEqual(p.returncode, 0, p.stderr)
                elif how == 1:
                    p = subprocess.run([SIGNETCTL, '--socket', srv.path('signetd.sock'), 'reload'],
                                       capture_output=True, text=True, timeout=120)
                    self.assertEqual(p.returncode, 0, p.stderr)
                else:
                    since = srv.log_size()
                    srv.send_signal(signal.SIGHUP)
                    self.assertTrue(srv.wait_log(r'reload done', since, timeout=60), srv.log()[-2000:])
                done_version[0] = version
                r = srv.dig('load.test', 'SOA')
                self.assertEqual(int(r.answer[0].rdata.split()[2]), version)
                if version == 11:
                    baseline = rss_kb(srv.proc.pid)  # after the allocator has warmed up
        finally:
            time.sleep(0.5)
            stop.set()
            for t in threads:
                t.join(30)
        final = rss_kb(srv.proc.pid)
        self.assertEqual(problems, [], '%d problems, first: %s' % (len(problems), problems[:5]))
        self.assertTrue(all(c > 50 for c in counts), 'queries per client: %r' % counts)
        print('queries per client: %r; RSS after 10 reloads %d kB, after %d: %d kB'
              % (counts, baseline, RELOADS, final))
        # 40 reloads more must not have grown the process by more than a quarter
        self.assertLess(final, baseline * 1.25 + 4096, 'RSS %d kB -> %d kB' % (baseline, final))
        rc = srv.stop()
        self.assertEqual(rc, 0, srv.log()[-3000:])


if __name__ == '__main__':
    signet_test.main()
