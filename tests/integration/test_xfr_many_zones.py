# SPDX-License-Identifier: MIT
"""A transfer block of 2,000 zones (issue 17): a fixed, small number of threads however
many zones there are (one pool of version workers, one NOTIFY sender), every zone's first
version built and transferred, every zone's NOTIFY sent and acknowledged."""

import os
import re
import socket
import struct
import threading
import time
import unittest

import signet_test

ZONES = 2000
THREAD_BOUND = 16   # main, one query worker, control, version workers, notify, ...


def zone_name(i):
    return 'z%d.many.test' % i


class NotifyTarget:
    """A UDP socket that acknowledges every NOTIFY and remembers the zones it was told."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(('127.0.0.1', 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.zones = set()
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            try:
                data, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            if len(data) < 12 or ((data[2] >> 3) & 0xf) != 4:
                continue
            m = signet_test.parse_message(data)
            with self.lock:
                self.zones.add(m.question[0][0].lower())
            reply = bytearray(data)
            reply[2] |= 0x80  # QR: acknowledged
            self.sock.sendto(bytes(reply), peer)

    def count(self):
        with self.lock:
            return len(self.zones)

    def close(self):
        self.running = False
        self.thread.join(2)
        self.sock.close()


def axfr_first_message(host, port, name):
    qid, q = signet_test.make_query(name, 'AXFR')
    with signet_test.tcp_connect(host, port, 5) as s:
        s.sendall(signet_test.tcp_frame(q))
        return signet_test.parse_message(signet_test.tcp_read_message(s))


class ManyZones(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.target = NotifyTarget()
        cls.srv = signet_test.Signetd('', ready_name=zone_name(0))
        lines = []
        for i in range(ZONES):
            z = zone_name(i)
            path = cls.srv.path('%s.zone' % z)
            with open(path, 'w') as f:
                f.write('%s. 3600 IN SOA ns.%s. h.%s. 1 7200 3600 1209600 300\n' % (z, z, z))
                f.write('%s. 3600 IN NS ns.%s.\n' % (z, z))
                f.write('ns.%s. 3600 IN A 192.0.2.1\n' % z)
                f.write('www.%s. 3600 IN A 192.0.2.%d\n' % (z, i % 250 + 1))
            lines.append('    file %s %s' % (path, z))
        cls.srv.template = signet_test.string.Template(
            '{\n    workers 1\n}\n%s {\n    bind 127.0.0.1\n%s\n'
            '    transfer {\n        to 127.0.0.1\n        notify 127.0.0.1:%d\n    }\n}\n'
            % (' '.join('%s:$port' % zone_name(i) for i in range(ZONES)), '\n'.join(lines),
               cls.target.port))
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()
        cls.target.close()

    def threads(self):
        with open('/proc/%d/status' % self.srv.proc.pid) as f:
            return int(re.search(r'^Threads:\s+(\d+)', f.read(), re.M).group(1))

    def test_threads_bounded_and_every_zone_transferred(self):
        # while the first versions are built and the NOTIFYs go out
        most = self.threads()
        deadline = time.monotonic() + 120 * signet_test.SLOWDOWN
        done = set()
        while len(done) < ZONES and time.monotonic() < deadline:
            most = max(most, self.threads())
            for i in range(ZONES):
                if i in done:
                    continue
                try:
                    m = axfr_first_message(self.srv.host, self.srv.port, zone_name(i))
                except OSError:
                    continue
                most = max(most, self.threads()) if i % 50 == 0 else most
                if m.rcode == 'NOERROR' and m.rrs('answer', 'SOA'):
                    done.add(i)
        missing = sorted(set(range(ZONES)) - done)[:10]
        self.assertEqual(len(done), ZONES, 'no AXFR for %s...; log:\n%s'
                         % ([zone_name(i) for i in missing], self.srv.log()[-3000:]))
        # every zone NOTIFYed and acknowledged (retries of unanswered tries included)
        while self.target.count() < ZONES and time.monotonic() < deadline:
            most = max(most, self.threads())
            time.sleep(0.2)
        most = max(most, self.threads())
        self.assertEqual(self.target.count(), ZONES)
        self.assertTrue(self.srv.wait_log(r'notify: %s\.: serial \d+: 127\.0\.0\.1:%d acknowledged'
                                          % (re.escape(zone_name(ZONES - 1)), self.target.port),
                                          0, 30))
        self.assertLessEqual(most, THREAD_BOUND, 'threads: %d for %d zones' % (most, ZONES))
        names = os.listdir('/proc/%d/task' % self.srv.proc.pid)
        comms = set()
        for t in names:
            try:
                with open('/proc/%d/task/%s/comm' % (self.srv.proc.pid, t)) as f:
                    comms.add(f.read().strip())
            except OSError:
                pass
        self.assertIn('sg-xfr-version', comms)


if __name__ == '__main__':
    signet_test.main()
