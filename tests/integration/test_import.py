# SPDX-License-Identifier: MIT
"""integ.import: keys taken over from the zone's previous signer keep their real states, and
the DS the parent already serves is found (issue 16).

Real tools only, each on loopback in a temporary directory:

  pdns    pdnsutil (gsqlite3 backend) makes and secures pdns.test; its key is exported with
          export-zone-key / export-zone-dnskey (no timing metadata) and imported with
          `key import ZONE Kzone.private --role csk` (the user's path in docs/migrating.md),
          a second zone with `key import --from pdns`; signetd then serves exactly
          PowerDNS's DNSKEY (same tag, no key of its own) and unbound, with the DS from
          `pdnsutil export-zone-ds` as trust anchor, validates answers (no SERVFAIL)
  bind    named 9.18 runs briefly with a dnssec-policy and writes K*.key/.private/.state;
          `key import --from bind` keeps the .state's times; a .state whose DSState is
          omnipresent (as after `rndc dnssec -checkds published`) gives a seen DS
  knot    keymgr generates a KSK and a ZSK with timers; `key import --from knot` keeps them
  public  a K*.key without .private: served in the DNSKEY RRset, never signing
  parent  NSD serves the parent zone with the child's DS (TTL 777): `ds check` records the
          key's DS as seen with the parent's TTL; signetd with the `manual` registrar and
          a parent-ns notices a DS added to NSD's zone by hand
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from signet_test import Signetd, ctl_run, free_port, remove_workdir, spawn, stop_servers, terminate
from unbound_resolver import Unbound

ZONE_TEXT = '''$TTL 300
@ SOA ns1 hostmaster 1 3600 600 86400 300
@ NS ns1
ns1 A 127.0.0.1
www A 192.0.2.1
'''

COREFILE = '''
pdns.test:$port pub.test:$port {
    bind 127.0.0.1
    dnssec {
        keystore $dir/keystore.db
        policy default
    }
    file $dir/pdns.test.zone pdns.test
    file $dir/pub.test.zone pub.test
}
'''


def need(*tools):
    for t in tools:
        if not shutil.which(t) and not os.path.exists('/usr/sbin/' + t):
            raise unittest.SkipTest('%s is not installed' % t)


def ok(p):
    if p.returncode != 0:
        raise AssertionError('%s\nstdout:\n%s\nstderr:\n%s' % (p.args, p.stdout, p.stderr))
    return p


def run(*args, **kw):
    return ok(subprocess.run(list(args), capture_output=True, text=True, timeout=120, **kw))


def keys(db, zone):
    import json
    return json.loads(ok(ctl_run(db, 'key', 'list', zone, as_json=True)).stdout)


def write(path, text):
    with open(path, 'w') as f:
        f.write(text)


def pdns_setup(d, zones):
    need('pdnsutil')
    write(os.path.join(d, 'pdns.conf'),
          'launch=gsqlite3\ngsqlite3-database=%s/pdns.sqlite3\ngsqlite3-dnssec=yes\n' % d)
    schema = open('/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql').read()
    import sqlite3
    con = sqlite3.connect(os.path.join(d, 'pdns.sqlite3'))
    con.executescript(schema)
    con.close()
    pu = ['pdnsutil', '--config-dir=' + d]
    for z in zones:
        run(*pu, 'create-zone', z, 'ns1.' + z)
        run(*pu, 'secure-zone', z)
    return pu


def pdns_tags(pu, zone):
    out = run(*pu, 'list-keys', zone).stdout
    return [(int(m.group(1)), int(m.group(2)), 'Act' in m.group(0))
            for m in re.finditer(r'^\S+\s+\S+\s.*?(\d+)\s+cryptokeys\s+(\d+)$', out, re.M)]


class Import(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='signet-import-')
        self.db = os.path.join(self.dir, 'keystore.db')
        self.servers = []
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            terminate(p, 10)
        errors = stop_servers(*self.servers)
        remove_workdir(self.dir)
        if errors:
            self.fail('\n'.join(errors))

    def test_pdns_and_public_only(self):
        """PowerDNS's key served as it is, validated with PowerDNS's DS; a public-only key
        served in the DNSKEY RRset and never signing."""
        need('unbound', 'dnssec-keygen')
        pd = os.path.join(self.dir, 'pdns')
        os.mkdir(pd)
        pu = pdns_setup(pd, ['pdns.test', 'pdns2.test'])
        (kid, tag, _), = pdns_tags(pu, 'pdns.test')
        write(os.path.join(self.dir, 'Kpdns.private'), run(*pu, 'export-zone-key', 'pdns.test', str(kid)).stdout)
        write(os.path.join(self.dir, 'Kpdns.key'), run(*pu, 'export-zone-dnskey', 'pdns.test', str(kid)).stdout)
        ds = [l.split(';')[0].strip() for l in run(*pu, 'export-zone-ds', 'pdns.test').stdout.splitlines()
              if ' DS ' in l and ' 13 2 ' in l]
        for z in ('pdns.test', 'pdns2.test', 'pub.test'):
            ok(ctl_run(self.db, 'zone', 'add', z, '--policy', 'default'))
            write(os.path.join(self.dir, z + '.zone'), ZONE_TEXT)
        # the user's path (docs/migrating.md): before the fix the key stayed 'generated'
        p = ok(ctl_run(self.db, 'key', 'import', 'pdns.test', os.path.join(self.dir, 'Kpdns.private'),
                       '--role', 'csk'))
        k, = keys(self.db, 'pdns.test')
        self.assertEqual(k['tag'], tag)
        self.assertEqual(k['state'], 'active', p.stdout)
        # --from pdns: an extra inactive, unpublished key keeps those flags
        run(*pu, 'add-zone-key', 'pdns2.test', 'zsk', 'inactive', 'unpublished', 'ecdsa256')
        env = dict(os.environ, PATH=os.environ.get('PATH', '') + ':/usr/bin')
        p = ok(subprocess.run([os.environ.get('SIGNETCTL'), '--db', self.db, 'key', 'import', 'pdns2.test',
                               '--from', 'pdns', '--pdns-config', pd], capture_output=True, text=True, env=env))
        got = {k['tag']: k for k in keys(self.db, 'pdns2.test')}
        for _, t, act in pdns_tags(pu, 'pdns2.test'):
            self.assertIn(t, got, p.stdout)
            self.assertEqual(got[t]['state'], 'active' if act else 'generated', p.stdout)
        # public-only: another signer's KSK (RFC 8901), a K*.key without .private
        base = run('dnssec-keygen', '-q', '-K', self.dir, '-a', 'ECDSAP256SHA256', '-f', 'KSK', '-n', 'ZONE',
                   'pub.test').stdout.strip()
        os.unlink(os.path.join(self.dir, base + '.private'))
        p = ok(ctl_run(self.db, 'key', 'import', 'pub.test', os.path.join(self.dir, base + '.key')))
        self.assertIn('public-only', p.stdout)
        self.assertIn('public-only', ok(ctl_run(self.db, 'key', 'list', 'pub.test')).stdout)
        pub_tag = int(base.split('+')[-1])

        srv = Signetd(COREFILE, ready_name='pdns.test', workdir=self.dir)
        self.servers.append(srv)
        srv.start()
        # exactly PowerDNS's DNSKEY, no key of our own
        r = srv.dig('pdns.test', 'DNSKEY', '+dnssec')
        dnskeys = [rr for rr in r.answer if rr.type == 'DNSKEY']
        theirs = open(os.path.join(self.dir, 'Kpdns.key')).read().split()[-1]
        self.assertEqual(len(dnskeys), 1, r.answer)
        self.assertEqual(''.join(dnskeys[0].rdata.split()[3:]), theirs)
        self.assertEqual(len(keys(self.db, 'pdns.test')), 1)
        # the public-only key is served beside the zone's own, and signs nothing
        r = srv.dig('pub.test', 'DNSKEY', '+dnssec')
        self.assertEqual(len([rr for rr in r.answer if rr.type == 'DNSKEY']), 2, r.answer)
        sig_tags = {int(rr.rdata.split()[6]) for rr in r.answer if rr.type == 'RRSIG'}
        self.assertTrue(sig_tags and pub_tag not in sig_tags, (pub_tag, sig_tags))
        r = srv.dig('www.pub.test', 'A', '+dnssec')
        self.assertNotIn(pub_tag, {int(rr.rdata.split()[6]) for rr in r.answer if rr.type == 'RRSIG'})
        # validated with PowerDNS's DS
        ub = Unbound(self.dir, [('pdns.test', srv.port)], ds)
        ub.start()
        try:
            r = ub.dig('www.pdns.test', 'A')
            self.assertEqual(r.rcode, 'NOERROR', r.text)
            self.assertIn('ad', r.flags, r.text)
        finally:
            ub.stop()

    def test_bind_state(self):
        """named's dnssec-policy keys keep the times of their .state files."""
        need('named')
        bd = os.path.join(self.dir, 'bind')
        os.mkdir(bd)
        write(os.path.join(bd, 'zone.db'), ZONE_TEXT)
        port = free_port()
        write(os.path.join(bd, 'named.conf'), '''
options { directory "%(d)s"; listen-on port %(p)d { 127.0.0.1; }; listen-on-v6 { none; };
          pid-file "%(d)s/named.pid"; recursion no; };
dnssec-policy "p" { keys { ksk lifetime unlimited algorithm 13; zsk lifetime unlimited algorithm 13; }; };
zone "bind.test" { type primary; file "zone.db"; dnssec-policy "p"; inline-signing yes;
                   key-directory "%(d)s"; };
''' % {'d': bd, 'p': port})
        log = open(os.path.join(bd, 'named.log'), 'ab')
        named = spawn(['named', '-g', '-c', os.path.join(bd, 'named.conf'),
                       '-u', subprocess.run(['id', '-un'], capture_output=True, text=True).stdout.strip()],
                      log, bd)
        self.procs.append(named)
        deadline = time.time() + 30
        while time.time() < deadline and len([f for f in os.listdir(bd) if f.endswith('.state')]) < 2:
            time.sleep(0.2)
        time.sleep(1)
        terminate(named, 10)
        states = {}
        for f in os.listdir(bd):
            if f.endswith('.state'):
                t = open(os.path.join(bd, f)).read()
                states[int(f.split('+')[-1].split('.')[0])] = t
        self.assertEqual(len(states), 2, os.listdir(bd))
        ok(ctl_run(self.db, 'zone', 'add', 'bind.test'))
        p = ok(ctl_run(self.db, 'key', 'import', 'bind.test', '--from', 'bind', '--dir', bd))
        got = {k['tag']: k for k in keys(self.db, 'bind.test')}
        import calendar
        for tag, text in states.items():
            pub = re.search(r'^Published: (\d{14})', text, re.M).group(1)
            t = calendar.timegm(time.strptime(pub, '%Y%m%d%H%M%S'))
            self.assertEqual(got[tag]['publish'], t, p.stdout)
            self.assertEqual(got[tag]['ds_seen'], None)
        # the KSK once checkds said the DS is published: DS seen at DSPublish
        ksk = [tag for tag, t in states.items() if 'KSK: yes' in t][0]
        f = [x for x in os.listdir(bd) if x.endswith('+%05d.state' % ksk)][0]
        t = states[ksk].replace('DSState: hidden', 'DSState: omnipresent') + 'DSPublish: 20200101000000\n'
        write(os.path.join(bd, f), t)
        db2 = os.path.join(self.dir, 'ks2.db')
        ok(ctl_run(db2, 'zone', 'add', 'bind.test'))
        ok(ctl_run(db2, 'key', 'import', 'bind.test', os.path.join(bd, f[:-6] + '.key')))
        k = [k for k in keys(db2, 'bind.test') if k['tag'] == ksk][0]
        self.assertEqual(k['ds_seen'], 1577836800)
        self.assertEqual(k['ds_submitted'], 1577836800)

    def test_knot(self):
        """keymgr's keys keep their timers."""
        need('keymgr')
        kasp = os.path.join(self.dir, 'kasp')
        os.mkdir(kasp)
        now = int(time.time())
        km = ['keymgr', '-D', kasp, 'knot.test']
        run(*km, 'generate', 'algorithm=13', 'ksk=yes', 'zsk=no')
        run(*km, 'generate', 'algorithm=13', 'ksk=no', 'zsk=yes', 'publish=+1h', 'active=+2h')
        lst = run(*km, 'list', '-e').stdout
        ok(ctl_run(self.db, 'zone', 'add', 'knot.test', '--policy', 'default'))
        p = ok(ctl_run(self.db, 'key', 'import', 'knot.test', '--from', 'knot', '--kasp', kasp))
        got = {k['tag']: k for k in keys(self.db, 'knot.test')}
        self.assertEqual(len(got), 2, p.stdout)
        for line in lst.splitlines():
            f = dict(x.split('=', 1) for x in line.split()[1:] if '=' in x)
            k = got[int(f['tag'], 10)]
            self.assertEqual(k['publish'], int(f['publish']))
            self.assertEqual(k['role'], 'ksk' if f['ksk'] == 'yes' else 'zsk')
            if f['zsk'] == 'yes':
                self.assertEqual(k['active'], int(f['active']))
                self.assertGreater(k['active'], now + 3000)
                self.assertEqual(k['state'], 'generated')

    def test_parent(self):
        """ds check at a parent (NSD) that serves the DS; the manual registrar's tick notices
        a DS added to the parent by hand."""
        need('nsd', 'dnssec-keygen')
        zones = os.path.join(self.dir, 'nsd')
        os.mkdir(zones)
        ok(ctl_run(self.db, 'policy', 'add', 'fast', '--dnskey-ttl', '2s', '--zone-propagation-delay', '1s'))
        for z in ('imp.test', 'man.test'):
            ok(ctl_run(self.db, 'zone', 'add', z, '--policy', 'fast'))
            write(os.path.join(self.dir, z + '.zone'), ZONE_TEXT)
        base = run('dnssec-keygen', '-q', '-K', self.dir, '-a', 'ECDSAP256SHA256', '-f', 'KSK', '-n', 'ZONE',
                   'imp.test').stdout.strip()
        ok(ctl_run(self.db, 'key', 'import', 'imp.test', os.path.join(self.dir, base + '.private')))
        ds = run('dnssec-dsfromkey', '-a', 'SHA-256', os.path.join(self.dir, base + '.key')).stdout.split()
        ds_line = 'imp.test. 777 IN DS ' + ' '.join(ds[3:])
        port = free_port()

        def start_nsd(extra):
            write(os.path.join(zones, 'test.zone'), '$TTL 300\n@ SOA ns hm 1 3600 600 86400 300\n@ NS ns\n'
                  'ns A 127.0.0.1\nimp NS ns.imp\nns.imp A 127.0.0.1\nman NS ns.man\nns.man A 127.0.0.1\n'
                  + '\n'.join(extra) + '\n')
            write(os.path.join(zones, 'nsd.conf'), '''server:
    ip-address: 127.0.0.1@%d
    zonesdir: "%s"
    pidfile: "%s/nsd.pid"
    database: ""
    xfrdfile: "%s/xfrd.state"
    zonelistfile: "%s/zone.list"
    username: ""
    chroot: ""
    verbosity: 1
remote-control:
    control-enable: no
zone:
    name: test.
    zonefile: test.zone
''' % (port, zones, zones, zones, zones))
            p = spawn(['nsd', '-d', '-c', os.path.join(zones, 'nsd.conf')],
                      open(os.path.join(zones, 'nsd.log'), 'ab'), zones)
            self.procs.append(p)
            for _ in range(100):
                if subprocess.run(['dig', '@127.0.0.1', '-p', str(port), '+short', 'test.', 'SOA'],
                                  capture_output=True, text=True).stdout.strip():
                    return p
                time.sleep(0.1)
            raise AssertionError('nsd did not start: ' + open(os.path.join(zones, 'nsd.log')).read())

        nsd = start_nsd([ds_line])
        # before: the imported key's DS is not yet known to be at the parent
        k, = keys(self.db, 'imp.test')
        self.assertIsNone(k['ds_seen'])
        p = ok(ctl_run(self.db, 'ds', 'check', 'imp.test', '--parent-ns', '127.0.0.1:%d' % port))
        self.assertIn('recorded as seen', p.stdout)
        k, = keys(self.db, 'imp.test')
        self.assertIsNotNone(k['ds_seen'])
        self.assertIsNotNone(k['ds_submitted'])
        import json
        st = json.loads(ok(ctl_run(self.db, 'zone', 'status', 'imp.test', as_json=True)).stdout)
        dsw = [w for w in st['waits'] if w['observed'] == 777]
        self.assertTrue(dsw, st['waits'])
        hist = ok(ctl_run(self.db, 'zone', 'history', 'imp.test')).stdout
        self.assertIn('parent-check', hist)

        # the manual provider with a parent-ns: signetd checks the parent itself
        srv = Signetd('''
man.test:$port {
    bind 127.0.0.1
    dnssec {
        keystore $dir/keystore.db
        policy fast
        registrar manual {
            parent-ns 127.0.0.1:%d
            check-interval 1s
        }
    }
    file $dir/man.test.zone man.test
}
''' % port, ready_name='man.test', workdir=self.dir)
        self.servers.append(srv)
        srv.start()
        deadline = time.time() + 30
        while time.time() < deadline and not (keys(self.db, 'man.test') and keys(self.db, 'man.test')[0]['ds_submitted']):
            time.sleep(0.5)
        k, = keys(self.db, 'man.test')
        self.assertIsNotNone(k['ds_submitted'], srv.log()[-2000:])
        time.sleep(3)
        self.assertIsNone(keys(self.db, 'man.test')[0]['ds_seen'])
        # the operator adds the DS at the parent by hand
        mds = [l for l in ok(ctl_run(self.db, 'ds', 'man.test')).stdout.splitlines() if ' DS ' in l][0]
        terminate(nsd, 10)
        nsd = start_nsd([ds_line, mds])
        deadline = time.time() + 30
        while time.time() < deadline and not keys(self.db, 'man.test')[0]['ds_seen']:
            time.sleep(0.5)
        self.assertIsNotNone(keys(self.db, 'man.test')[0]['ds_seen'], srv.log()[-3000:])


if __name__ == '__main__':
    os.environ.setdefault('SIGNET_TEST', '1')
    unittest.main(verbosity=2)
