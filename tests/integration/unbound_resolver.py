# SPDX-License-Identifier: MIT
"""A validating unbound on loopback for Signet's DNSSEC integration tests.

    ub = Unbound(workdir, stubs=[('example.test', srv.port)], anchors=[ds_line])
    ub.start()
    r = ub.dig('web.example.test', 'A')      # a signet_test.Reply; check 'ad' in r.flags
    ub.stop()

unbound only ever talks to the stub zones it is given (127.0.0.1@PORT): there are no root
hints it could use, IPv6 is off and every IPv4 address outside 127.0.0.0/8 is in
do-not-query-address, so a stray query fails at once instead of leaving the machine. The
cache keeps nothing (cache-max-ttl 0, no aggressive NSEC), so each answer is validated
from what signetd sends for it. Python 3 standard library only.
"""

import os
import shutil
import subprocess
import time

import signet_test

START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0

# IPv4 minus 127.0.0.0/8: unbound may query none of these
_NOT_LOOPBACK = ('0.0.0.0/2', '64.0.0.0/3', '96.0.0.0/4', '112.0.0.0/5', '120.0.0.0/6',
                 '124.0.0.0/7', '126.0.0.0/8', '128.0.0.0/1')

def unbound_path():
    p = os.environ.get('UNBOUND') or shutil.which('unbound') or '/usr/sbin/unbound'
    if not os.access(p, os.X_OK):
        raise RuntimeError('unbound not found (install the Debian package unbound, '
                           'scripts/deps.sh does, or set UNBOUND)')
    return p


def loopback_server_lines(port, directory, logfile):
    """The server: clause both of the tests' unbound configs start with: one thread on
    127.0.0.1@port, IPv4 only, in the foreground without chroot, user switch or pid file,
    validating, allowed to ask loopback servers and nothing else, "test." not a blocked
    local zone. Callers add their cache, logging and anchor lines."""
    lines = [
        'server:',
        '    interface: 127.0.0.1',
        '    port: %d' % port,
        '    do-ip4: yes',
        '    do-ip6: no',
        '    do-udp: yes',
        '    do-tcp: yes',
        '    num-threads: 1',
        '    so-reuseport: no',
        '    username: ""',
        '    chroot: ""',
        '    directory: "%s"' % directory,
        '    pidfile: ""',
        '    do-daemonize: no',
        '    use-syslog: no',
        '    logfile: "%s"' % logfile,
        '    log-time-ascii: yes',
        '    verbosity: 1',
        '    val-log-level: 2',
        '    access-control: 127.0.0.0/8 allow',
        '    module-config: "validator iterator"',
        '    do-not-query-localhost: no',
        '    qname-minimisation: no',
        '    local-zone: "test." nodefault',
    ]
    lines += ['    do-not-query-address: %s' % net for net in _NOT_LOOPBACK]
    return lines


class Unbound:
    """One unbound process, validating, with stub zones pointing at loopback servers."""

    def __init__(self, workdir, stubs, anchors, name='unbound'):
        """stubs: [(zone, port)] served on 127.0.0.1; anchors: trust-anchor lines (DS or
        DNSKEY records in presentation form)."""
        self.dir = workdir
        self.stubs = list(stubs)
        self.anchors = [' '.join(a.split()) for a in anchors]
        self.name = name
        self.conf_path = os.path.join(workdir, name + '.conf')
        self.log_path = os.path.join(workdir, name + '.log')
        self.proc = None
        self.port = None

    def config(self):
        lines = loopback_server_lines(self.port, self.dir, self.log_path) + [
            '    log-servfail: yes',
            '    aggressive-nsec: no',
            '    prefetch: no',
            '    prefetch-key: no',
            '    harden-referral-path: no',
            '    trust-anchor-signaling: no',
            '    root-key-sentinel: no',
            '    cache-max-ttl: 0',
            '    cache-max-negative-ttl: 0',
            '    infra-host-ttl: 1',
            '    edns-buffer-size: 1232',
            '    minimal-responses: no',
        ]
        for a in self.anchors:
            lines.append('    trust-anchor: "%s"' % a)
        for z, port in self.stubs:
            lines += ['stub-zone:',
                      '    name: "%s"' % signet_test.fqdn(z),
                      '    stub-addr: 127.0.0.1@%d' % port,
                      '    stub-prime: no']
        return '\n'.join(lines) + '\n'

    def start(self):
        for _ in range(5):
            self.port = signet_test.free_port()
            with open(self.conf_path, 'w') as f:
                f.write(self.config())
            chk = subprocess.run([unbound_path() + '-checkconf', self.conf_path],
                                 capture_output=True, text=True, timeout=30) \
                if os.access(unbound_path() + '-checkconf', os.X_OK) else None
            if chk is not None and chk.returncode != 0:
                raise RuntimeError('unbound-checkconf rejected %s:\n%s%s\n%s'
                                   % (self.conf_path, chk.stdout, chk.stderr, self.config()))
            self._out = open(self.log_path + '.stderr', 'ab')
            self.proc = signet_test.spawn([unbound_path(), '-d', '-c', self.conf_path],
                                          self._out, self.dir)
            if self._wait_ready():
                return self
            self._out.close()
            signet_test.port_retry(self.proc, 'unbound', START_TIMEOUT, self.log,
                                   lambda t: 'address already in use' in t.lower() or
                                   'could not open ports' in t.lower())
        raise RuntimeError('unbound could not bind a port; log:\n%s' % self.log())

    def _wait_ready(self):
        # "localhost." is one of unbound's built-in local zones: answered without a query out
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            qid, q = signet_test.make_query('localhost.', 'A', rd=True)
            if signet_test.udp_exchange('127.0.0.1', self.port, q, qid, timeout=0.3, tries=1):
                return True
            time.sleep(0.05)
        return False

    def log(self):
        return signet_test.read_logs(self.log_path + '.stderr', self.log_path)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def dig(self, name, rtype='A', *opts, dnssec=True, timeout=5):
        """Ask unbound (recursion desired, DO set unless dnssec=False) and parse dig's
        output; the Reply carries unbound's log tail in .text on failure."""
        cmd = ['dig', '@127.0.0.1', '-p', str(self.port), '+nosplit', '+time=%d' % timeout,
               '+tries=2', '+noednsneg']
        if dnssec:
            cmd.append('+dnssec')
        cmd += list(opts) + [name, rtype]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        try:
            r = signet_test.parse_dig(p.stdout)
        except signet_test.NoReply:
            raise signet_test.NoReply('no reply from unbound to: %s\n%s%s\nunbound log:\n%s'
                                      % (' '.join(cmd), p.stdout, p.stderr, self.log()[-3000:]))
        r.text = '%s\n%s' % (' '.join(cmd), p.stdout)
        return r

    def stop(self):
        if self.proc is None:
            return None
        rc = signet_test.terminate(self.proc, STOP_TIMEOUT)
        self._out.close()
        return rc
