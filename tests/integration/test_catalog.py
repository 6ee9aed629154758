#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""integ.catalog: catalog zones (RFC 9432, issue 17). signetd serves a `.` block with
`dynamic` and a `transfer` block that publishes the catalog `catalog.invalid` (TSIG,
NOTIFY). Real secondaries consume it: Knot DNS 3.2 (`catalog-role: interpret`,
`catalog-template`) and BIND 9.18 (`catalog-zones`); NSD 4.6 has no catalog support
(NSD 4.9 brought it), so it is not one of them here. `signetctl zone add` of 20 zones:
each is served by both secondaries, signed, and unbound validates an answer from each
secondary with the zone's DS; the time from `zone add` to the secondary answering is
printed. `zone remove` of one: it leaves the catalog and both secondaries drop it. The
catalog itself: version "2", one PTR per zone, the group property, unsigned, its serial
moving with every change and kept across a restart."""

import os
import shutil
import statistics
import subprocess
import tempfile
import time
import unittest

import signet_test
from secondaries import Knot, _binary
from signet_test import Signetd, ctl, remove_workdir, stop_servers
from unbound_resolver import Unbound, unbound_path

CATALOG = 'catalog.invalid'
NZONES = 20
PATIENCE = 30.0 * signet_test.SLOWDOWN   # a secondary retries a failed transfer after a while

COREFILE = '''{
    %(tsig)s
}
.:$port {
    bind 127.0.0.1
    dnssec {
        keystore $dir/keystore.db
    }
    dynamic
    transfer {
        to 127.0.0.1
        key xfr.key.
        notify %(notify)s
        catalog %(catalog)s group hosted
    }
}
'''


def zone_text(zone, serial=1):
    return ('$ORIGIN %s.\n$TTL 300\n@ IN SOA ns1 hostmaster %d 3600 600 86400 300\n'
            '@ IN NS ns1\nns1 IN A 192.0.2.1\nwww IN A 192.0.2.80\n' % (zone, serial))


class KnotConsumer(Knot):
    """Knot DNS with the catalog as its only configured zone: members come from it, through
    a template that transfers them from signetd."""

    def config(self):
        d = self.dir
        k = self.key
        return '\n'.join([
            'server:', '    listen: 127.0.0.1@%d' % self.port, '    rundir: "%s"' % d,
            '    pidfile: "%s/knot.pid"' % d,
            'control:', '    listen: "%s/knot.sock"' % d,
            'database:', '    storage: "%s"' % d,
            'log:', '  - target: "%s"' % self.log_path, '    any: info',
            'key:', '  - id: %s' % k[0], '    algorithm: %s' % k[1], '    secret: %s' % k[2],
            'remote:', '  - id: primary', '    address: 127.0.0.1@%d' % self.primary_port,
            '    key: %s' % k[0],
            'acl:', '  - id: notify_from_primary', '    address: 127.0.0.1',
            '    action: notify', '    key: %s' % k[0],
            'template:',
            '  - id: default', '    storage: "%s"' % d, '    zonefile-sync: -1',
            '  - id: member', '    storage: "%s"' % d, '    zonefile-sync: -1',
            '    master: primary', '    acl: notify_from_primary',
            'zone:',
            '  - domain: %s' % CATALOG, '    master: primary', '    acl: notify_from_primary',
            '    catalog-role: interpret', '    catalog-template: member',
        ]) + '\n'


class BindConsumer(Knot):
    """named 9.18 with `catalog-zones`: members come from the catalog, transferred from
    their default primary (signetd, with the key)."""

    NAME = 'named'

    def command(self, conf):
        return [_binary('named', 'NAMED'), '-g', '-c', conf, '-n', '1']

    def config(self):
        d = self.dir
        k = self.key
        return '''key "%(key)s" { algorithm %(alg)s; secret "%(secret)s"; };
options {
    directory "%(dir)s";
    listen-on port %(port)d { 127.0.0.1; };
    listen-on-v6 { none; };
    pid-file none;
    session-keyfile "%(dir)s/session.key";
    managed-keys-directory "%(dir)s";
    recursion no;
    dnssec-validation no;
    notify no;
    allow-new-zones yes;
    allow-notify { 127.0.0.1; };
    catalog-zones {
        zone "%(catalog)s" default-primaries { 127.0.0.1 port %(primary)d key "%(key)s"; };
    };
};
controls { };
logging { channel l { file "%(log)s"; severity info; print-time yes; }; category default { l; }; };
zone "%(catalog)s" {
    type secondary;
    file "%(dir)s/catalog.db";
    primaries { 127.0.0.1 port %(primary)d key "%(key)s"; };
};
''' % {'key': k[0], 'alg': k[1], 'secret': k[2], 'dir': d, 'port': self.port,
       'primary': self.primary_port, 'catalog': CATALOG, 'log': self.log_path}


def signed_from(sec, zone):
    """The secondary answers www.zone A with its RRSIG."""
    try:
        r = sec.dig('www.' + zone, 'A', '+dnssec')
    except signet_test.NoReply:
        return False
    return r.rcode == 'NOERROR' and bool(r.rrs('answer', 'A')) and bool(r.rrs('answer', 'RRSIG'))


class Catalog(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix='signet-catalog-')
        cls.srv = None
        cls.secs = []
        try:
            cls._setup()
        except Exception:
            cls._teardown()
            raise

    @classmethod
    def _setup(cls):
        cls.db = os.path.join(cls.dir, 'keystore.db')
        line = ctl(cls.db, 'tsig', 'generate', 'xfr.key').strip()
        f = line.split()
        assert f[:3] == ['tsig-key', 'xfr.key.', 'hmac-sha256'] and len(f) == 4, line
        cls.key = ('xfr.key', 'hmac-sha256', f[3])
        cls.ykey = 'hmac-sha256:xfr.key:' + f[3]
        cls.knot = KnotConsumer(cls.dir, None, [CATALOG], cls.key)
        cls.secs = [cls.knot]
        if shutil.which('named') or os.access('/usr/sbin/named', os.X_OK):
            cls.bind = BindConsumer(cls.dir, None, [CATALOG], cls.key)
            cls.secs.append(cls.bind)
        notify = ' '.join('127.0.0.1:%d' % s.port for s in cls.secs)
        cls.srv = Signetd(COREFILE % {'tsig': line, 'notify': notify, 'catalog': CATALOG},
                          workdir=cls.dir, ready_name=CATALOG)
        cls.srv.start()
        for s in cls.secs:
            s.primary_port = cls.srv.port
            s.start()

    @classmethod
    def _teardown(cls):
        errors = stop_servers(*([cls.srv] if cls.srv else []))
        for s in cls.secs:
            s.stop()
        remove_workdir(cls.dir)
        if errors:
            raise AssertionError('\n'.join(errors))

    @classmethod
    def tearDownClass(cls):
        cls._teardown()

    def logs(self):
        return '\n'.join('--- %s\n%s' % (s.name, s.log()[-3000:]) for s in self.secs) + \
            '\n--- signetd\n' + self.srv.log()[-4000:]

    def wait(self, pred, what, timeout=PATIENCE):
        start = time.monotonic()
        while not pred():
            if time.monotonic() - start > timeout:
                self.fail('%s not within %.0fs\n%s' % (what, timeout, self.logs()))
            time.sleep(0.05)
        return time.monotonic() - start

    def catalog_axfr(self):
        """The catalog by AXFR with the key: {rtype: [(owner, rdata)]} and the serial."""
        p = subprocess.run(['kdig', '@127.0.0.1', '-p', str(self.srv.port), '-y', self.ykey,
                            '+nocomments', '+nostats', 'AXFR', CATALOG],
                           capture_output=True, text=True, timeout=30)
        out = {}
        for l in p.stdout.splitlines():
            f = l.split(None, 4)
            if len(f) == 5 and not l.startswith(';'):
                out.setdefault(f[3], []).append((f[0].lower(), f[4]))
        soa = out.get('SOA', [])
        return out, int(soa[0][1].split()[2]) if soa else None

    def write(self, zone):
        path = os.path.join(self.dir, zone + '.zone')
        with open(path, 'w') as f:
            f.write(zone_text(zone))
        return path

    def test_catalog_consumers(self):
        cat, serial0 = self.catalog_axfr()
        self.assertIsNotNone(serial0, 'no catalog by AXFR\n' + self.logs())
        self.assertEqual(cat.get('TXT'), [('version.%s.' % CATALOG, '"2"')])
        self.assertEqual(cat.get('NS'), [(CATALOG + '.', 'invalid.')])
        self.assertNotIn('PTR', cat)
        self.assertNotIn('RRSIG', cat, 'the catalog is not signed')
        # (Knot answers no queries for a catalog it interprets: the members tell)

        zones = ['c%02d.test' % i for i in range(NZONES)]
        added = {}
        for z in zones:
            path = self.write(z)
            added[z] = time.monotonic()
            ctl(self.db, 'zone', 'add', z, '--file', path)
        times = {s.name: {} for s in self.secs}
        deadline = time.monotonic() + PATIENCE * 2
        while time.monotonic() < deadline and any(len(t) < NZONES for t in times.values()):
            for s in self.secs:
                for z in zones:
                    if z not in times[s.name] and signed_from(s, z):
                        times[s.name][z] = time.monotonic() - added[z]
            time.sleep(0.05)
        for s in self.secs:
            t = times[s.name]
            missing = [z for z in zones if z not in t]
            self.assertFalse(missing, '%s does not serve %s\n%s' % (s.name, missing, self.logs()))
            v = sorted(t.values())
            print('\n%s: zone add -> signed answer from the secondary, %d zones: min %.2fs, '
                  'median %.2fs, max %.2fs' % (s.name, len(v), v[0], statistics.median(v), v[-1]))

        cat, serial1 = self.catalog_axfr()
        self.assertTrue(signet_test_serial_newer(serial1, serial0))
        self.assertEqual(sorted(r for _, r in cat.get('PTR', [])), sorted(z + '.' for z in zones))
        self.assertEqual(len(cat.get('TXT', [])), 1 + NZONES)   # version + one group each
        self.assertIn(('group.' + [o for o, r in cat['PTR'] if r == 'c00.test.'][0], '"hosted"'),
                      cat['TXT'])

        # unbound validates answers from each secondary with the zones' DS
        if not unbound_path():
            self.skipTest('unbound not installed')
        anchors = []
        for z in zones:
            anchors += [l for l in ctl(self.db, 'ds', z).splitlines() if l.strip()]
        for s in self.secs:
            ub = Unbound(self.dir, [(z, s.port) for z in zones], anchors, name='unbound-' + s.name)
            ub.start()
            try:
                for z in zones:
                    r = ub.dig('www.' + z, 'A')
                    self.assertEqual(r.rcode, 'NOERROR', '%s via %s: %r\n%s' % (z, s.name, r, ub.log()[-2000:]))
                    self.assertIn('ad', r.flags, '%s via %s not validated: %r' % (z, s.name, r))
            finally:
                ub.stop()

        # one removed: out of the catalog, and dropped by every secondary
        gone = zones[7]
        ctl(self.db, 'zone', 'remove', gone)
        t0 = time.monotonic()
        for s in self.secs:
            self.wait(lambda: s.serial(gone) is None, '%s dropping %s' % (s.name, gone))
            print('%s: zone remove -> %s gone from the secondary after %.2fs'
                  % (s.name, gone, time.monotonic() - t0))
        cat, serial2 = self.catalog_axfr()
        self.assertTrue(signet_test_serial_newer(serial2, serial1))
        self.assertNotIn(gone + '.', [r for _, r in cat.get('PTR', [])])
        self.assertEqual(len(cat.get('PTR', [])), NZONES - 1)
        for s in self.secs:
            self.assertTrue(signed_from(s, zones[8]), '%s lost another zone' % s.name)

        # a restart: the same catalog, the same serial (nothing for the consumers to do)
        self.srv.stop()
        self.srv.start()
        self.wait(lambda: self.catalog_axfr()[1] is not None, 'the catalog after a restart')
        time.sleep(2)
        cat, serial3 = self.catalog_axfr()
        self.assertEqual(serial3, serial2, 'the catalog changed across a restart')
        self.assertEqual(len(cat.get('PTR', [])), NZONES - 1)


def signet_test_serial_newer(a, b):
    """RFC 1982: a is after b."""
    return a is not None and b is not None and a != b and ((a - b) & 0xffffffff) < 0x80000000


if __name__ == '__main__':
    unittest.main(verbosity=2)
