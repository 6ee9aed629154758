# SPDX-License-Identifier: MIT
"""A validating unbound on a free loopback port for the rollover test: its only trust
anchor is the one the test gives (the parent zone's DS), it reaches the test's zones only
through stub zones on loopback, and it never queries anything else.

Python 3 standard library only.

    u = Unbound(trust_anchor='parent.test. 2 IN DS 1234 13 2 ABCD...',
                stubs={'parent.test.': 20001, 'child.parent.test.': 20002})
    u.start()
    r = u.query('www.child.parent.test', 'A')   # signet_test.Reply, r.ede = [(code, text)]
    u.validation_failures()                      # 'validation failure' lines of its log
    u.stop(); u.cleanup()

The cache stays on with the zones' real TTLs: what a real resolver would have cached is
what the test checks against.
"""

import os
import shutil
import struct
import subprocess
import tempfile
import time

import signet_test as st
from unbound_resolver import loopback_server_lines

UNBOUND = os.environ.get('UNBOUND') or shutil.which('unbound') or '/usr/sbin/unbound'

EDE_BOGUS = set(range(1, 13))   # RFC 8914: 1..12 are DNSSEC problems (6 = DNSSEC Bogus)


def unbound_available():
    return os.access(UNBOUND, os.X_OK)


def parse_ede(options):
    """EDNS option bytes -> [(info code, extra text)] of the Extended DNS Error options."""
    out = []
    i = 0
    while options and i + 4 <= len(options):
        code, ln = struct.unpack('!HH', options[i:i + 4])
        body = options[i + 4:i + 4 + ln]
        if code == 15 and len(body) >= 2:
            out.append((struct.unpack('!H', body[:2])[0], body[2:].decode('utf-8', 'replace')))
        i += 4 + ln
    return out


class Unbound:
    def __init__(self, trust_anchor, stubs, workdir=None, extra=()):
        self.trust_anchor = trust_anchor
        self.stubs = dict(stubs)
        self.extra = list(extra)
        self.owns_dir = workdir is None
        self.dir = workdir or tempfile.mkdtemp(prefix='signet-unbound-')
        self.conf_path = os.path.join(self.dir, 'unbound.conf')
        self.log_path = os.path.join(self.dir, 'unbound.log')
        self.port = None
        self.proc = None
        self._log = None

    def config(self):
        # logfile "": the log goes to stderr, which start() sends to log_path
        lines = loopback_server_lines(self.port, self.dir, '') + [
            '    ede: yes',
            # keep probing a server that timed out (signetd restarted after SIGKILL)
            '    infra-keep-probing: yes',
            '    trust-anchor: "%s"' % ' '.join(self.trust_anchor.split()),
        ]
        lines += ['    %s' % e for e in self.extra]
        for zone, port in self.stubs.items():
            lines += ['stub-zone:', '    name: "%s"' % st.fqdn(zone),
                      '    stub-addr: 127.0.0.1@%d' % port]
        return '\n'.join(lines) + '\n'

    def start(self, ready_name=None, timeout=20.0):
        for _ in range(5):
            self.port = st.free_port()
            with open(self.conf_path, 'w') as f:
                f.write(self.config())
            chk = subprocess.run([UNBOUND + '-checkconf', self.conf_path], capture_output=True,
                                 text=True) if os.access(UNBOUND + '-checkconf', os.X_OK) else None
            if chk is not None and chk.returncode != 0:
                raise RuntimeError('unbound-checkconf: %s%s' % (chk.stdout, chk.stderr))
            self._log = open(self.log_path, 'ab')
            self.proc = st.spawn([UNBOUND, '-d', '-c', self.conf_path], self._log, self.dir)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.proc.poll() is None:
                qid, q = st.make_query(ready_name or 'localhost', 'A', rd=True)
                if st.udp_exchange('127.0.0.1', self.port, q, qid, timeout=0.3, tries=1):
                    return self
                time.sleep(0.05)
            if self.proc.poll() is None:
                self.stop()
                raise RuntimeError('unbound did not answer; log:\n%s' % self.log())
            st._LIVE.discard(self.proc)
            self._log.close()
            if 'in use' not in self.log():
                raise RuntimeError('unbound exited at start; log:\n%s' % self.log())
        raise RuntimeError('unbound could not bind a port; log:\n%s' % self.log())

    def query(self, name, rtype='A', timeout=2.0, tries=2):
        """A recursive query with DO: signet_test.Reply plus .ede; raises NoReply."""
        qid, q = st.make_query(name, rtype, rd=True, edns=True, do=True, payload=1232)
        data = st.udp_exchange('127.0.0.1', self.port, q, qid, timeout=timeout, tries=tries)
        if data is None:
            raise st.NoReply('unbound gave no reply to %s %s' % (name, rtype))
        r = st.parse_message(data)
        if 'tc' in r.flags:
            data = st.tcp_exchange('127.0.0.1', self.port, q, timeout=timeout * 2)
            if data is None:
                raise st.NoReply('unbound gave no TCP reply to %s %s' % (name, rtype))
            r = st.parse_message(data)
        r.ede = parse_ede((r.edns or {}).get('options') or b'')
        return r

    def log(self):
        return st.read_logs(self.log_path)

    def validation_failures(self):
        return [l for l in self.log().splitlines() if 'validation failure' in l]

    def stop(self):
        if self.proc is None:
            return None
        st.terminate(self.proc, 10)
        if self._log:
            self._log.close()
        return self.proc.returncode

    def cleanup(self):
        self.stop()
        if self.owns_dir:
            shutil.rmtree(self.dir, ignore_errors=True)
