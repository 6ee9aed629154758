# SPDX-License-Identifier: MIT
"""NSD and Knot DNS as secondaries of signetd, for the transfer tests.

    s = Nsd(workdir, primary_port=srv.port, zones=['example.test'], key=('xfr.key',
            'hmac-sha256', SECRET))
    s.start()
    s.serial('example.test')     # the SOA serial it serves, or None
    s.stop()

Each runs as a plain process of the current user on a free loopback port, with its
config, state, zone files and log in its own directory (no system service, no chroot, no
user switch). Python 3 standard library only.
"""

import os
import shutil
import subprocess
import time

import signet_test

START_TIMEOUT = 20.0


def _binary(name, env):
    p = os.environ.get(env) or shutil.which(name) or '/usr/sbin/' + name
    if not os.access(p, os.X_OK):
        raise RuntimeError('%s not found (Debian package %s; scripts/deps.sh installs it)'
                           % (name, 'knot' if name == 'knotd' else name))
    return p


# The start of a config for a knotd that a test runs as a primary or an UPDATE target
# (not a Secondary): one worker of each kind on 127.0.0.1@port, state in dir, log on
# stderr. The test appends its key, acl and zone sections and fills in dir and port.
KNOT_SERVER_CONF = """server:
    rundir: "%(dir)s"
    listen: 127.0.0.1@%(port)d
    background-workers: 1
    tcp-workers: 1
    udp-workers: 1
log:
  - target: stderr
    any: info
database:
    storage: "%(dir)s"
"""


def start_knotd(conf, port, zone, log_path, timeout=15.0):
    """Run knotd -c conf (a config that listens on 127.0.0.1@port) with its output appended
    to log_path; returns (process, open log file) once it answers zone's SOA with NOERROR,
    raises with the log otherwise. End it with signet_test.terminate, then close the file."""
    log = open(log_path, 'ab')
    proc = signet_test.spawn([_binary('knotd', 'KNOTD'), '-c', conf], log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        p = subprocess.run(['dig', '@127.0.0.1', '-p', str(port), '+norec', '+time=1',
                            '+tries=1', zone, 'SOA'], capture_output=True, text=True)
        if 'status: NOERROR' in p.stdout:
            return proc, log
        time.sleep(0.2)
    signet_test.terminate(proc, 10)
    log.close()
    raise RuntimeError('knotd did not start:\n' + signet_test.read_logs(log_path))


class Secondary:
    """A secondary name server process; subclasses write its config."""

    NAME = None

    def __init__(self, workdir, primary_port, zones, key, name=None):
        """zones: names it transfers from 127.0.0.1@primary_port; key: (name, algorithm,
        base64 secret) for TSIG, or None."""
        self.name = name or self.NAME
        self.dir = os.path.join(workdir, self.name)
        os.makedirs(self.dir, exist_ok=True)
        self.primary_port = primary_port
        self.zones = list(zones)
        self.key = key
        self.port = signet_test.free_port()
        self.proc = None
        self.log_path = os.path.join(self.dir, self.name + '.log')

    def start(self):
        conf = os.path.join(self.dir, self.name + '.conf')
        with open(conf, 'w') as f:
            f.write(self.config())
        self._out = open(os.path.join(self.dir, 'stderr.log'), 'ab')
        self.proc = signet_test.spawn(self.command(conf), self._out, self.dir)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError('%s exited with %s at start; log:\n%s'
                                   % (self.name, self.proc.returncode, self.log()))
            qid, q = signet_test.make_query(self.zones[0], 'SOA')
            if signet_test.udp_exchange('127.0.0.1', self.port, q, qid, timeout=0.3, tries=1):
                return self
            time.sleep(0.1)
        raise RuntimeError('%s did not answer within %ss; log:\n%s'
                           % (self.name, START_TIMEOUT, self.log()))

    def stop(self):
        if self.proc is not None:
            signet_test.terminate(self.proc, 10)

    def log(self):
        return signet_test.read_logs(os.path.join(self.dir, 'stderr.log'), self.log_path)

    def dig(self, name, rtype='A', *opts):
        cmd = ['dig', '@127.0.0.1', '-p', str(self.port), '+norec', '+nosplit', '+time=2',
               '+tries=2'] + list(opts) + [name, rtype]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        return signet_test.parse_dig(p.stdout)

    def serial(self, zone):
        """The SOA serial it serves for zone, or None (not loaded, refused, no reply)."""
        try:
            r = self.dig(zone, 'SOA')
        except signet_test.NoReply:
            return None
        soas = r.rrs('answer', 'SOA')
        if r.rcode != 'NOERROR' or not soas:
            return None
        return int(soas[0].rdata.split()[2])

    def wait_serial(self, zone, serial, timeout=20.0):
        deadline = time.monotonic() + timeout
        while True:
            got = self.serial(zone)
            if got == serial or time.monotonic() > deadline:
                return got
            time.sleep(0.1)


class Nsd(Secondary):
    NAME = 'nsd'

    def command(self, conf):
        return [_binary('nsd', 'NSD'), '-d', '-c', conf]

    def config(self):
        d = self.dir
        lines = ['server:',
                 '    ip-address: 127.0.0.1',
                 '    port: %d' % self.port,
                 '    do-ip6: no',
                 '    username: ""',
                 '    chroot: ""',
                 '    zonesdir: "%s"' % d,
                 '    database: ""',
                 '    pidfile: "%s/nsd.pid"' % d,
                 '    xfrdfile: "%s/xfrd.state"' % d,
                 '    zonelistfile: "%s/zone.list"' % d,
                 '    xfrdir: "%s"' % d,
                 '    logfile: "%s"' % self.log_path,
                 '    verbosity: 2',
                 '    server-count: 1',
                 'remote-control:',
                 '    control-enable: no']
        keyname = 'NOKEY'
        if self.key:
            keyname = self.key[0]
            lines += ['key:', '    name: "%s"' % self.key[0], '    algorithm: %s' % self.key[1],
                      '    secret: "%s"' % self.key[2]]
        for z in self.zones:
            lines += ['zone:', '    name: "%s"' % z, '    zonefile: "%s.zone"' % z,
                      '    request-xfr: 127.0.0.1@%d %s' % (self.primary_port, keyname),
                      '    allow-notify: 127.0.0.1 %s' % keyname]
        return '\n'.join(lines) + '\n'


class Knot(Secondary):
    NAME = 'knot'

    def command(self, conf):
        return [_binary('knotd', 'KNOTD'), '-c', conf]

    def config(self):
        d = self.dir
        lines = ['server:',
                 '    listen: 127.0.0.1@%d' % self.port,
                 '    rundir: "%s"' % d,
                 '    pidfile: "%s/knot.pid"' % d,
                 'control:',
                 '    listen: "%s/knot.sock"' % d,
                 'database:',
                 '    storage: "%s"' % d,
                 'log:',
                 '  - target: "%s"' % self.log_path,
                 '    any: info']
        if self.key:
            lines += ['key:', '  - id: %s' % self.key[0], '    algorithm: %s' % self.key[1],
                      '    secret: %s' % self.key[2]]
        lines += ['remote:', '  - id: primary', '    address: 127.0.0.1@%d' % self.primary_port]
        if self.key:
            lines.append('    key: %s' % self.key[0])
        lines += ['acl:', '  - id: notify_from_primary', '    address: 127.0.0.1',
                  '    action: notify']
        if self.key:
            lines.append('    key: %s' % self.key[0])
        lines += ['template:', '  - id: default', '    storage: "%s"' % d,
                  '    zonefile-sync: -1', 'zone:']
        for z in self.zones:
            lines += ['  - domain: %s' % z, '    master: primary', '    acl: notify_from_primary']
        return '\n'.join(lines) + '\n'
