#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""integ.plugins: the generic plugins and options - `log` writes one line per query (and
only in the blocks that have it), `workers` sets the number of worker threads."""

import os
import re
import time

import signet_test
from signet_test import ServerCase, make_query


class LogPlugin(ServerCase):
    COREFILE = '''
example.test:$port {
    bind 127.0.0.1
    file $dir/example.test.zone
    log
}
other.test:$port {
    bind 127.0.0.1
    file $dir/other.test.zone
}
'''
    FILES = ('example.test.zone', 'example.test.inc', 'other.test.zone')

    def log_lines(self, since):
        return [l for l in self.srv.log()[since:].splitlines() if ' log: ' in l]

    def test_one_line_per_query(self):
        since = self.srv.log_size()
        ids = []
        for i, (name, tcp) in enumerate((('web.example.test', False),
                                         ('nothere.example.test', False),
                                         ('web.example.test', True))):
            qid, q = make_query(name, 'A', qid=0x5100 + i)
            data = self.srv.tcp(q) if tcp else self.srv.udp(q, qid)
            self.assertIsNotNone(data)
            ids.append(qid)
        deadline = time.monotonic() + 5
        while len(self.log_lines(since)) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        lines = self.log_lines(since)
        self.assertEqual(len(lines), 3, 'one log line per query:\n' + '\n'.join(lines))
        text = '\n'.join(lines)
        for qid, name, rcode, proto in ((ids[0], 'web.example.test.', 'NOERROR', 'udp'),
                                        (ids[1], 'nothere.example.test.', 'NXDOMAIN', 'udp'),
                                        (ids[2], 'web.example.test.', 'NOERROR', 'tcp')):
            line = [l for l in lines if re.search(r'\b%d\b' % qid, l)]
            self.assertEqual(len(line), 1, 'a line for ID %d:\n%s' % (qid, text))
            self.assertIn(name, line[0])
            self.assertIn(rcode, line[0])
            self.assertIn(proto, line[0])

    def test_no_lines_for_blocks_without_log(self):
        since = self.srv.log_size()
        for _ in range(3):
            r = self.dig('www.other.test', 'A')
            self.assertAnswered(r, 'www.other.test', 'A', ['127.0.0.51'])
        r = self.dig('web.example.test', 'A')   # logged: marks the end
        deadline = time.monotonic() + 5
        while not self.log_lines(since) and time.monotonic() < deadline:
            time.sleep(0.05)
        lines = self.log_lines(since)
        self.assertEqual(len(lines), 1, '\n'.join(lines))
        self.assertIn('web.example.test.', lines[0])


class OneWorker(ServerCase):
    COREFILE = '''
{
    workers 1
}
example.test:$port {
    bind 127.0.0.1
    file $dir/example.test.zone
}
'''

    def threads(self):
        return len(os.listdir('/proc/%d/task' % self.srv.proc.pid))

    def test_serves_udp_and_tcp(self):
        for tcp in (False, True):
            r = self.dig('web.example.test', 'A', tcp=tcp)
            self.assertAnswered(r, 'web.example.test', 'A', ['127.0.0.14'])

    def test_fewer_threads_than_four_workers(self):
        # the same config with workers 4 runs more threads
        four = signet_test.Signetd(self.COREFILE.replace('workers 1', 'workers 4'), self.FILES)
        try:
            four.start()
            n4 = len(os.listdir('/proc/%d/task' % four.proc.pid))
            self.assertEqual(four.stop(), 0)
        finally:
            four.cleanup()
        self.assertEqual(n4 - self.threads(), 3, 'workers 4 runs three threads more than 1')


if __name__ == '__main__':
    signet_test.main()
