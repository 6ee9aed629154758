# SPDX-License-Identifier: MIT
"""The servers a signed zone moves to Signet from (issue 16), run for real on loopback.

    w = sources.World(workdir)                 # BIND, Knot DNS and PowerDNS, each one zone
    w.start()                                   # + a Knot DNS parent test. with their DS
    w.unbound                                   # validating, anchor = the parent's DNSKEY
    w.check_secure('bind.test.')                # AD, no SERVFAIL, or raises with the logs
    w.sources['knot'].stop()

Each source is a plain process of the current user on a free 127.0.0.1 port, with its
config, keys, zone file and log in its own directory (no system service, no chroot, no
user switch):

    named        bind.test.  BIND 9.18, `dnssec-policy` (KSK + ZSK, ECDSAP256SHA256),
                             inline-signing; keys K*.key/.private/.state in keys/
    knotd        knot.test.  Knot DNS 3.2, automatic signing by a policy (KSK + ZSK); keys
                             in its KASP directory (keys/, keymgr reads it)
    pdns_server  pdns.test.  PowerDNS 4.7, gsqlite3 (the Debian schema loaded with python's
                             sqlite3), `pdnsutil load-zone` + `secure-zone` (one CSK)

The parent test. is another knotd, signed by Knot (one CSK), holding each child's
delegation and its DS as the source exports it (dnssec-dsfromkey, keymgr ds, pdnsutil
export-zone-ds; SHA-256 only) with the parent's own DS TTL (PARENT_DS_TTL), and taking DS
changes as TSIG-signed UPDATEs (parent_update). unbound has the parent's DNSKEY as its only
trust anchor, stub zones for test. and each child, its cache on with the real TTLs, and
unbound-control enabled (stats: num.answer.bogus).

Python 3 standard library only.
"""

import base64
import os
import re
import shutil
import sqlite3
import subprocess
import time

import rollover_resolver
import secondaries
import signet_test as st

PARENT = 'test.'
PARENT_DS_TTL = 10      # the parent's own DS TTL, not the child's
CHILD_TTL = 10          # every record of the child zones
TSIG_NAME = 'parent-update.'
TSIG_SECRET = base64.b64encode(b'signet-adopt-parent-update-key!!').decode()
START_TIMEOUT = 30.0

# the records every child serves (its SOA serial is the source's business)
CHILD_ZONE = """$ORIGIN %(zone)s
$TTL %(ttl)d
@       IN SOA ns1 hostmaster 2024010100 60 60 600 %(ttl)d
        IN NS  ns1
        IN MX  10 mail
        IN TXT "v=spf1 mx -all"
ns1     IN A   127.0.0.1
mail    IN A   192.0.2.25
www     IN A   192.0.2.1
www     IN AAAA 2001:db8::1
ftp     IN CNAME www
"""


def _which(name):
    p = shutil.which(name) or '/usr/sbin/' + name
    if not os.access(p, os.X_OK):
        raise RuntimeError('%s not found (scripts/deps.sh installs it)' % name)
    return p


def run(cmd, cwd=None, check=True, timeout=60):
    """Run a tool; its stdout, or a RuntimeError with everything it said."""
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=timeout)
    if check and p.returncode != 0:
        raise RuntimeError('%s: exit %d\n%s%s' % (' '.join(cmd), p.returncode, p.stdout,
                                                   p.stderr))
    return p.stdout


def dig(port, name, rtype, *opts):
    """Ask 127.0.0.1@port (no recursion, DO); a signet_test.Reply or None."""
    p = subprocess.run(['dig', '@127.0.0.1', '-p', str(port), '+norec', '+dnssec', '+nosplit',
                        '+time=1', '+tries=2'] + list(opts) + [name, rtype],
                       capture_output=True, text=True, timeout=30)
    try:
        return st.parse_dig(p.stdout)
    except st.NoReply:
        return None


def ds_lines(text):
    """The SHA-256 DS records in a tool's output, as 'TAG ALG 2 HEX' (digest upper case)."""
    out = []
    for line in text.splitlines():
        m = re.search(r'\bDS\s+(\d+)\s+(\d+)\s+(\d+)\s+([0-9A-Fa-f ]+)', line)
        if m and m.group(3) == '2':
            out.append('%s %s 2 %s' % (m.group(1), m.group(2),
                                       ''.join(m.group(4).split()).upper()))
    return sorted(set(out))


class Source:
    """One old server: KIND (bind, knot, pdns) serving ZONE on 127.0.0.1@port."""

    KIND = None

    def __init__(self, workdir, port=None):
        self.zone = '%s.test.' % self.KIND
        self.dir = os.path.join(workdir, self.KIND)
        os.makedirs(self.dir, exist_ok=True)
        self.port = port
        self.proc = None
        self._log = None
        self.log_path = os.path.join(self.dir, self.KIND + '.log')
        self.zonefile = os.path.join(self.dir, self.zone.rstrip('.') + '.zone')
        with open(self.zonefile, 'w') as f:
            f.write(CHILD_ZONE % {'zone': self.zone, 'ttl': CHILD_TTL})

    # subclasses: prepare() before the first start, command(), ds() once it signs
    def prepare(self):
        pass

    def command(self):
        raise NotImplementedError

    def start(self):
        if self.proc is None and self.port is None:
            self.port = st.free_port()
        if not getattr(self, '_prepared', False):
            self.prepare()
            self._prepared = True
        self._log = open(self.log_path, 'ab')
        self.proc = st.spawn(self.command(), self._log, self.dir)
        # up once it serves the zone signed: a DNSKEY RRset and an RRSIG on the SOA
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError('%s exited with %s at start; log:\n%s'
                                   % (self.KIND, self.proc.returncode, self.log()[-4000:]))
            r = dig(self.port, self.zone, 'SOA')
            if r and r.rcode == 'NOERROR' and r.rrs('answer', 'RRSIG'):
                k = dig(self.port, self.zone, 'DNSKEY')
                if k and k.rrs('answer', 'DNSKEY') and k.rrs('answer', 'RRSIG'):
                    return self
            time.sleep(0.2)
        raise RuntimeError('%s does not serve %s signed within %ss; log:\n%s'
                           % (self.KIND, self.zone, START_TIMEOUT, self.log()[-4000:]))

    def stop(self):
        if self.proc is not None:
            st.terminate(self.proc, 15)
            self.proc = None
        if self._log:
            self._log.close()
            self._log = None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        return st.read_logs(self.log_path)

    def serial(self):
        r = dig(self.port, self.zone, 'SOA')
        soa = r.rrs('answer', 'SOA') if r else []
        return int(soa[0].rdata.split()[2]) if soa else None

    def dnskey_tags(self):
        """Key tags of the DNSKEY RRset it serves (from dig +multi's comments)."""
        p = subprocess.run(['dig', '@127.0.0.1', '-p', str(self.port), '+norec', '+multi',
                            self.zone, 'DNSKEY'], capture_output=True, text=True, timeout=30)
        return sorted(int(t) for t in re.findall(r'key id = (\d+)', p.stdout))

    def adopt_args(self):
        """The source options of `signetctl zone adopt` for this server."""
        raise NotImplementedError


class Bind(Source):
    KIND = 'bind'

    def prepare(self):
        self.key_dir = os.path.join(self.dir, 'keys')
        os.makedirs(self.key_dir, exist_ok=True)
        self.conf = os.path.join(self.dir, 'named.conf')
        with open(self.conf, 'w') as f:
            f.write("""options {
    directory "%(dir)s";
    listen-on port %(port)d { 127.0.0.1; };
    listen-on-v6 { none; };
    pid-file none;
    session-keyfile "%(dir)s/session.key";
    managed-keys-directory "%(dir)s";
    recursion no;
    dnssec-validation no;
    notify no;
    allow-transfer { 127.0.0.1; };
};
controls { };
dnssec-policy "old" {
    keys {
        ksk key-directory lifetime unlimited algorithm ecdsap256sha256;
        zsk key-directory lifetime unlimited algorithm ecdsap256sha256;
    };
    dnskey-ttl %(ttl)d;
    max-zone-ttl %(ttl)d;
    zone-propagation-delay 1;
    parent-ds-ttl %(ds_ttl)d;
    parent-propagation-delay 1;
};
zone "%(zone)s" {
    type primary;
    file "%(file)s";
    key-directory "%(keys)s";
    dnssec-policy "old";
    inline-signing yes;
};
""" % {'dir': self.dir, 'port': self.port, 'ttl': CHILD_TTL, 'ds_ttl': PARENT_DS_TTL,
       'zone': self.zone.rstrip('.'), 'file': self.zonefile, 'keys': self.key_dir})
        run([_which('named-checkconf'), self.conf])

    def command(self):
        return [_which('named'), '-g', '-c', self.conf, '-n', '1']

    def ksk_files(self):
        out = []
        for n in sorted(os.listdir(self.key_dir)):
            if n.endswith('.key'):
                with open(os.path.join(self.key_dir, n)) as f:
                    if re.search(r'\sDNSKEY\s+257\s', f.read()):
                        out.append(os.path.join(self.key_dir, n))
        return out

    def ds(self):
        """`dnssec-dsfromkey -2` of each KSK file, as the operator hands it to the parent."""
        out = []
        for k in self.ksk_files():
            out += ds_lines(run([_which('dnssec-dsfromkey'), '-2', k]))
        return out

    def adopt_args(self):
        return ['--from', 'bind', '--key-dir', self.key_dir]


class Knot(Source):
    KIND = 'knot'

    def prepare(self):
        self.conf = os.path.join(self.dir, 'knot.conf')
        self.kasp = os.path.join(self.dir, 'keys')
        with open(self.conf, 'w') as f:
            f.write(secondaries.KNOT_SERVER_CONF % {'dir': self.dir, 'port': self.port} + """
acl:
  - id: transfer
    address: 127.0.0.1
    action: transfer
policy:
  - id: old
    algorithm: ecdsap256sha256
    single-type-signing: off
    ksk-lifetime: 0
    zsk-lifetime: 0
    dnskey-ttl: %(ttl)d
    zone-max-ttl: %(ttl)d
    propagation-delay: 1
    rrsig-lifetime: 14d
    rrsig-refresh: 7d
zone:
  - domain: %(zone)s
    storage: "%(dir)s"
    file: "%(file)s"
    zonefile-sync: -1
    zonefile-load: difference-no-serial
    journal-content: all
    acl: transfer
    dnssec-signing: on
    dnssec-policy: old
""" % {'dir': self.dir, 'ttl': CHILD_TTL, 'zone': self.zone, 'file': self.zonefile})
        run([_which('knotc'), '-c', self.conf, 'conf-check'])

    def command(self):
        return [_which('knotd'), '-c', self.conf]

    def keymgr(self, *args):
        return run([_which('keymgr'), '-c', self.conf, self.zone] + list(args))

    def ds(self):
        """`keymgr ZONE ds`: the DS of the zone's KSK, as Knot hands it to the parent."""
        return ds_lines(self.keymgr('ds'))

    def adopt_args(self):
        return ['--from', 'knot', '--kasp', self.kasp]


class Pdns(Source):
    KIND = 'pdns'
    SCHEMA = '/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql'

    def prepare(self):
        self.db = os.path.join(self.dir, 'pdns.sqlite3')
        with open(self.SCHEMA) as f:
            schema = f.read()
        con = sqlite3.connect(self.db)
        con.executescript(schema)
        con.commit()
        con.close()
        with open(os.path.join(self.dir, 'pdns.conf'), 'w') as f:
            f.write('\n'.join([
                'launch=gsqlite3',
                'gsqlite3-database=%s' % self.db,
                'gsqlite3-dnssec=yes',
                'local-address=127.0.0.1',
                'local-port=%d' % self.port,
                'socket-dir=%s' % self.dir,
                'daemon=no',
                'guardian=no',
                'disable-syslog=yes',
                'write-pid=no',
                'loglevel=4',
                'primary=no',
                'secondary=no',
                'cache-ttl=0',
                'negquery-cache-ttl=0',
                'query-cache-ttl=0',
                'zone-cache-refresh-interval=0',
                'disable-axfr=no',
                'allow-axfr-ips=127.0.0.0/8',
            ]) + '\n')
        self.pdnsutil('load-zone', self.zone.rstrip('.'), self.zonefile)
        self.pdnsutil('secure-zone', self.zone.rstrip('.'))
        self.pdnsutil('rectify-zone', self.zone.rstrip('.'))

    def pdnsutil(self, *args):
        return run([_which('pdnsutil'), '--config-dir=%s' % self.dir] + list(args))

    def command(self):
        return [_which('pdns_server'), '--config-dir=%s' % self.dir]

    def ds(self):
        """`pdnsutil export-zone-ds ZONE`, SHA-256 only."""
        return ds_lines(self.pdnsutil('export-zone-ds', self.zone.rstrip('.')))

    def adopt_args(self):
        return ['--from', 'pdns', '--pdns-config-dir', self.dir]


KINDS = {'bind': Bind, 'knot': Knot, 'pdns': Pdns}


# ---- the parent ---------------------------------------------------------------------

PARENT_CONF = secondaries.KNOT_SERVER_CONF + """key:
  - id: %(tsig)s
    algorithm: hmac-sha256
    secret: %(secret)s
acl:
  - id: update
    key: %(tsig)s
    action: update
policy:
  - id: parent
    algorithm: ecdsap256sha256
    single-type-signing: on
    ksk-lifetime: 0
    zsk-lifetime: 0
    dnskey-ttl: 60
    rrsig-lifetime: 14d
    rrsig-refresh: 7d
zone:
  - domain: test.
    storage: "%(dir)s"
    file: test.zone
    acl: update
    zonefile-sync: -1
    journal-content: changes
    dnssec-signing: on
    dnssec-policy: parent
"""


class Parent:
    """test. served and signed by knotd, with each child's delegation and DS."""

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, 'parent')
        os.makedirs(self.dir, exist_ok=True)
        self.port = None
        self.proc = None
        self._log = None
        self.log_path = os.path.join(self.dir, 'knotd.log')

    def start(self, children):
        """children: {zone: [DS rdata 'TAG ALG 2 HEX']}."""
        lines = ['$ORIGIN test.', '$TTL 60',
                 '@ IN SOA ns1 hostmaster 1 60 60 600 2', '  IN NS ns1', 'ns1 IN A 127.0.0.1']
        for zone, dss in sorted(children.items()):
            label = zone[:-len(PARENT) - 1]
            lines += ['%s IN NS ns1.%s' % (label, label), 'ns1.%s IN A 127.0.0.1' % label]
            lines += ['%s %d IN DS %s' % (label, PARENT_DS_TTL, d) for d in dss]
        with open(os.path.join(self.dir, 'test.zone'), 'w') as f:
            f.write('\n'.join(lines) + '\n')
        last = None
        for _ in range(3):
            self.port = st.free_port()
            conf = os.path.join(self.dir, 'knot.conf')
            with open(conf, 'w') as f:
                f.write(PARENT_CONF % {'dir': self.dir, 'port': self.port, 'tsig': TSIG_NAME,
                                       'secret': TSIG_SECRET})
            try:
                self.proc, self._log = secondaries.start_knotd(conf, self.port, 'test',
                                                               self.log_path)
                break
            except RuntimeError as e:
                last = e
        else:
            raise last
        if not st.wait_for(self.anchor, 15, 0.2):
            raise RuntimeError('the parent serves no DNSKEY; log:\n%s' % self.log()[-3000:])
        return self

    def anchor(self):
        """The parent's CSK as a DNSKEY line (unbound's trust anchor), or None."""
        r = dig(self.port, PARENT, 'DNSKEY')
        for x in (r.rrs('answer', 'DNSKEY') if r else []):
            if x.rdata.split()[0] == '257':
                return '%s DNSKEY %s' % (PARENT, x.rdata)
        return None

    def ds(self, zone):
        """(TTL, sorted DS rdata 'TAG ALG DT HEX') the parent serves for zone."""
        r = dig(self.port, zone, 'DS')
        rrs = r.rrs('answer', 'DS') if r else []
        return (rrs[0].ttl if rrs else None,
                sorted('%s %s %s %s' % tuple(x.rdata.split()[:3] + [''.join(x.rdata.split()[3:]).upper()])
                       for x in rrs))

    def update(self, lines):
        """One TSIG-signed UPDATE of test. ('update add ...' lines); raises on failure."""
        script = ('server 127.0.0.1 %d\nzone %s\norigin %s\nkey hmac-sha256:%s %s\n%s\nsend\n'
                  'quit\n' % (self.port, PARENT, PARENT, TSIG_NAME, TSIG_SECRET,
                              '\n'.join(lines)))
        p = subprocess.run(['knsupdate', '-t', '3', '-r', '1'], input=script,
                           capture_output=True, text=True, timeout=30)
        out = p.stdout + p.stderr
        if p.returncode != 0 or 'error' in out.lower():
            raise RuntimeError('knsupdate: %s' % out.replace(TSIG_SECRET, '<secret>'))

    def set_ds(self, zone, dss, ttl=PARENT_DS_TTL):
        """Replace zone's DS RRset at the parent by dss ('TAG ALG DT HEX')."""
        self.update(['update delete %s IN DS' % zone] +
                    ['update add %s %d IN DS %s' % (zone, ttl, d) for d in dss])

    def log(self):
        return st.read_logs(self.log_path)

    def stop(self):
        if self.proc is not None:
            st.terminate(self.proc, 10)
            self.proc = None
        if self._log:
            self._log.close()
            self._log = None


# ---- the resolver -------------------------------------------------------------------

class Resolver(rollover_resolver.Unbound):
    """rollover_resolver's unbound (cache on, real TTLs, EDE) with unbound-control on a
    loopback port and extended statistics, so a test can read num.answer.bogus and move a
    stub zone."""

    def __init__(self, anchor, stubs, workdir):
        self.control_port = st.free_port()
        super().__init__(anchor, stubs, workdir=workdir, extra=[
            'extended-statistics: yes',
            'statistics-cumulative: yes',
            'remote-control:',
            'control-enable: yes',
            'control-use-cert: no',
            'control-interface: 127.0.0.1',
            'control-port: %d' % self.control_port,
            'server:',
        ])

    def control(self, *args):
        return run([_which('unbound-control'), '-c', self.conf_path] + list(args))

    def stats(self):
        """unbound-control stats_noreset as {name: number}."""
        out = {}
        for line in self.control('stats_noreset').splitlines():
            k, _, v = line.partition('=')
            try:
                out[k.strip()] = float(v)
            except ValueError:
                pass
        return out

    def bogus(self):
        return int(self.stats().get('num.answer.bogus', 0))


# ---- all of it ----------------------------------------------------------------------

class World:
    """The three sources, the parent with their DS, unbound."""

    def __init__(self, workdir, kinds=('bind', 'knot', 'pdns')):
        self.dir = workdir
        self.sources = {k: KINDS[k](workdir) for k in kinds}
        self.parent = Parent(workdir)
        self.unbound = None
        self.exported = {}          # zone -> the DS the source exported for the parent

    def start(self):
        for s in self.sources.values():
            s.start()
            self.exported[s.zone] = s.ds()
            if not self.exported[s.zone]:
                raise RuntimeError('%s exported no DS for %s' % (s.KIND, s.zone))
        self.parent.start(self.exported)
        stubs = [(PARENT, self.parent.port)] + [(s.zone, s.port) for s in self.sources.values()]
        self.unbound = Resolver(self.parent.anchor(), stubs, os.path.join(self.dir, 'unbound'))
        os.makedirs(self.unbound.dir, exist_ok=True)
        self.unbound.start()
        return self

    def check_secure(self, zone, names=('www', '@')):
        """Each name's A (the apex: SOA) validates through unbound: NOERROR with AD."""
        for n in names:
            q, t = (zone, 'SOA') if n == '@' else ('%s.%s' % (n, zone), 'A')
            r = self.unbound.query(q, t)
            if r.rcode != 'NOERROR' or 'ad' not in r.flags:
                raise AssertionError('%s %s via unbound: %s, flags %s, EDE %s\nunbound log:\n%s'
                                     % (q, t, r.rcode, sorted(r.flags), r.ede,
                                        self.unbound.log()[-3000:]))

    def stop(self):
        for x in [self.unbound, self.parent] + list(self.sources.values()):
            if x is not None:
                try:
                    x.stop()
                except Exception:       # noqa: BLE001 - tear down the rest regardless
                    pass


if __name__ == '__main__':
    # a smoke run: start everything, check each zone validates, stop
    import tempfile
    d = tempfile.mkdtemp(prefix='signet-sources-')
    w = World(d)
    try:
        w.start()
        for s in w.sources.values():
            w.check_secure(s.zone)
            print('%-5s %s port %d serial %s DNSKEY tags %s parent DS %s'
                  % (s.KIND, s.zone, s.port, s.serial(), s.dnskey_tags(),
                     w.parent.ds(s.zone)))
        print('bogus so far: %d' % w.unbound.bogus())
    finally:
        w.stop()
        print('workdir', d)
