# SPDX-License-Identifier: MIT
"""integ.multisigner: Signet and Knot DNS sign one zone side by side (RFC 8901, model 2:
each signer has its own KSK and ZSK; each one's DNSKEY RRset holds the other's ZSK) and a
validating resolver that gets the DNSKEY RRset from one signer and the answers from the
other sees no bogus answer through a ZSK rollover on each side (issue 19, multi-signer).

On 127.0.0.1, each on a free port:

    parent   signetd serving parent.test. (a CSK that never rolls): the delegation of
             ms.parent.test. and a DS for EACH signer's KSK; its DNSKEY is unbound's only
             trust anchor
    signet   signetd signing ms.parent.test. (KSK + ZSK, DNSKEY TTL 2s, Ipub 3s)
    knot     knotd signing the same zone from the same file with its own KSK + ZSK
             (manual key management: the test runs its rollover with keymgr timers)
    mixer    a UDP/TCP forwarder in this process, the ONE address unbound has for the
             child zone: DNSKEY queries go to one signer, every other query to the other,
             and the two swap every second. Every answer unbound validates is therefore
             signed by one signer and checked against the other's DNSKEY RRset: the case
             RFC 8901 section 2.1.2 is about, made certain instead of left to unbound's
             server selection (whose retry on a bogus answer would hide it)
    unbound  validating, no cache (cache-max-ttl 0), asked every 0.2s for www A, the SOA
             and a name that does not exist

Steps:

    0  negative control: neither signer has the other's ZSK: answers must go bogus
    1  `signetctl key sync-foreign --from KNOT` (Knot's KSK and ZSK published here, public
       only, its KSK in our CDS/CDNSKEY beside ours), our ZSK into Knot (keymgr
       import-pub); from then on, zero bogus
    2  Signet's ZSK rollover (`signetctl zone roll --zsk`): the successor is published but
       must NOT sign while Knot does not serve it (checked for twice Ipub); then the test
       imports it into Knot, sync-foreign sees it there, and only then it signs
    3  Knot's ZSK rollover (keymgr generate with publish now, active in 12s; the old one
       retired then, removed 8s later); sync-foreign follows it: the new key in, the old
       one out of our DNSKEY RRset
    throughout 1-3: zero bogus (SERVFAIL or a DNSSEC EDE), every answer secure (AD)

Python 3 standard library plus knotd, keymgr, knotc, unbound, dig. signetd and signetctl
come from $SIGNETD / $SIGNETCTL (CTest passes the built targets).
"""

import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import rollover_resolver as rr
import secondaries
import signet_test as st

PARENT = 'parent.test.'
ZONE = 'ms.parent.test.'
TTL = 2
IPUB = 3          # DNSKEY TTL 2s + zone propagation 1s
SWAP = 1.0        # the mixer swaps the signers' roles this often
ASK_EVERY = 0.2
KNOT_ACTIVE_AFTER = 12

ZONE_TEXT = ('$TTL 2\n@ SOA ns1 hostmaster %d 60 60 600 2\n@ NS ns1\nns1 A 127.0.0.1\n'
             'www A 192.0.2.1\nwww TXT "multi-signer"\n')

TIMING = ['--dnskey-ttl', '2s', '--zone-propagation-delay', '1s', '--zone-max-ttl', '2s',
          '--parent-ds-ttl', '2s', '--parent-propagation-delay', '1s',
          '--signature-validity', '1h', '--signature-refresh', '10m', '--signature-jitter', '0']

KNOT_CONF = secondaries.KNOT_SERVER_CONF + """policy:
  - id: ms
    algorithm: ecdsap256sha256
    manual: on
    dnskey-ttl: 2
    zone-max-ttl: 2
    rrsig-lifetime: 14d
    rrsig-refresh: 7d
    nsec3: off
zone:
  - domain: %(zone)s
    storage: "%(dir)s"
    file: ms.zone
    zonefile-sync: -1
    zonefile-load: difference-no-serial
    journal-content: all
    dnssec-signing: on
    dnssec-policy: ms
"""


def which(name):
    p = shutil.which(name) or '/usr/sbin/' + name
    return p if os.access(p, os.X_OK) else None


def qinfo(msg):
    """(qtype) of a DNS query message, or None."""
    try:
        off = 12
        while msg[off]:
            off += 1 + msg[off]
        return struct.unpack('!H', msg[off + 1:off + 3])[0]
    except (IndexError, struct.error):
        return None


class Mixer:
    """DNSKEY queries to one backend, everything else to the other; roles swap every SWAP
    seconds. UDP and TCP on one free loopback port."""

    def __init__(self, ports):
        self.ports = list(ports)    # [signet, knot]
        self.stop_ev = threading.Event()
        self.count = {}

    def backend(self, qtype):
        phase = int(time.monotonic() / SWAP) % 2
        i = phase if qtype == 48 else 1 - phase
        self.count[(qtype == 48, i)] = self.count.get((qtype == 48, i), 0) + 1
        return self.ports[i]

    def start(self):
        for _ in range(10):
            self.port = st.free_port()
            try:
                self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                self.udp.bind(('127.0.0.1', self.port))
                self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                self.tcp.bind(('127.0.0.1', self.port))
                self.tcp.listen(16)
                break
            except OSError:
                self.udp.close()
                self.tcp.close()
        else:
            raise RuntimeError('mixer: no free port')
        self.udp.settimeout(0.2)
        self.tcp.settimeout(0.2)
        for fn in (self.udp_loop, self.tcp_loop):
            threading.Thread(target=fn, daemon=True).start()
        return self

    def udp_loop(self):
        while not self.stop_ev.is_set():
            try:
                q, peer = self.udp.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self.udp_one, args=(q, peer), daemon=True).start()

    def udp_one(self, q, peer):
        port = self.backend(qinfo(q))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(1.0)
            try:
                s.sendto(q, ('127.0.0.1', port))
                r, _ = s.recvfrom(65535)
                self.udp.sendto(r, peer)
            except OSError:
                pass

    def tcp_loop(self):
        while not self.stop_ev.is_set():
            try:
                c, _ = self.tcp.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self.tcp_one, args=(c,), daemon=True).start()

    def tcp_one(self, c):
        with c:
            c.settimeout(2.0)
            try:
                while True:
                    q = st.tcp_read_message(c)
                    if not q:
                        return
                    r = st.tcp_exchange('127.0.0.1', self.backend(qinfo(q)), q)
                    if r is None:
                        return
                    c.sendall(st.tcp_frame(r))
            except (OSError, ValueError):
                return

    def stop(self):
        self.stop_ev.set()
        for s in (self.udp, self.tcp):
            s.close()


def dnskeys(port, zone):
    """[(flags, tag, rdata text)] of zone's DNSKEY RRset at 127.0.0.1@port (dig +multi)."""
    p = subprocess.run(['dig', '@127.0.0.1', '-p', str(port), '+norec', '+time=1', '+tries=2',
                        '+nocmd', '+noall', '+answer', '+multi', zone, 'DNSKEY'],
                       capture_output=True, text=True)
    out = []
    rec = ''
    for line in p.stdout.splitlines():
        rec += ' ' + line
        if 'key id =' in line:
            f = rec.split()
            i = f.index('DNSKEY')
            tag = int(rec.split('key id =')[1].split()[0])
            body = rec.split('(')[1].split(')')[0].split()
            out.append((int(f[i + 1]), tag, '%s %s %s %s' % (f[i + 1], f[i + 2], f[i + 3],
                                                             ''.join(body))))
            rec = ''
    return out


class MultiSigner(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        for tool in ('knotd', 'keymgr', 'knotc', 'dig'):
            if not which(tool):
                raise unittest.SkipTest('%s not installed (Debian package knot, dnsutils)' % tool)
        if not rr.unbound_available():
            raise unittest.SkipTest('unbound not installed')
        cls.dir = tempfile.mkdtemp(prefix='signet-multisigner-')
        cls.t0 = time.time()
        cls.procs = []
        cls.parent = cls.signet = cls.knot = cls.mixer = cls.ub = None
        try:
            cls.start_all()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for s in (cls.ub, cls.mixer):
            if s is not None:
                try:
                    s.stop()
                except Exception:
                    pass
        if cls.knot is not None:
            st.terminate(cls.knot, 10)
            cls.knot_log.close()
        failed = []
        for s in (cls.signet, cls.parent):
            if s is not None:
                rc = s.stop()
                if rc != 0 and s.proc is not None:
                    # a sanitizer report, or a crash: the log says which
                    failed.append('signetd exited %s; log:\n%s' % (rc, s.log()[-3000:]))
                s.cleanup()
        if os.environ.get('SIGNET_KEEP_TMP'):
            print('kept %s' % cls.dir)
        else:
            shutil.rmtree(cls.dir, ignore_errors=True)
        if failed:
            raise AssertionError('\n'.join(failed))

    @classmethod
    def note(cls, fmt, *a):
        print('[%6.1fs] %s' % (time.time() - cls.t0, fmt % a), flush=True)

    @classmethod
    def ctl(cls, db, *args):
        return st.ctl(db, *args)

    # ---- Knot -------------------------------------------------------------------------

    @classmethod
    def keymgr(cls, *args):
        p = subprocess.run([which('keymgr'), '-c', cls.knot_conf, ZONE] + list(args),
                           capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise AssertionError('keymgr %s: %s%s' % (' '.join(args), p.stdout, p.stderr))
        return p.stdout

    @classmethod
    def knotc(cls, *args):
        p = subprocess.run([which('knotc'), '-c', cls.knot_conf] + list(args),
                           capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise AssertionError('knotc %s: %s%s' % (' '.join(args), p.stdout, p.stderr))
        return p.stdout

    @classmethod
    def knot_import_pub(cls, dnskey_text):
        """Put one of our DNSKEYs into Knot's DNSKEY RRset (keymgr import-pub of a BIND
        .key file), and have knotd load it."""
        path = os.path.join(cls.knot_dir, 'signet-%d.key' % int(time.time() * 1000))
        with open(path, 'w') as f:
            f.write('%s 2 IN DNSKEY %s\n' % (ZONE, dnskey_text))
        cls.keymgr('import-pub', path)
        cls.knotc('zone-keys-load', ZONE)

    @classmethod
    def start_knot(cls):
        cls.knot_dir = d = os.path.join(cls.dir, 'knot')
        os.makedirs(d)
        with open(os.path.join(d, 'ms.zone'), 'w') as f:
            f.write('$ORIGIN %s\n' % ZONE + ZONE_TEXT % 1)
        last = None
        for _ in range(3):
            cls.knot_port = st.free_port()
            cls.knot_conf = os.path.join(d, 'knot.conf')
            with open(cls.knot_conf, 'w') as f:
                f.write(KNOT_CONF % {'dir': d, 'port': cls.knot_port, 'zone': ZONE})
            if not os.path.exists(os.path.join(d, 'keys')):
                # manual key management: Knot's own KSK and ZSK, made before it starts
                cls.keymgr('generate', 'algorithm=ecdsap256sha256', 'ksk=yes', 'zsk=no')
                cls.keymgr('generate', 'algorithm=ecdsap256sha256', 'ksk=no', 'zsk=yes')
            try:
                cls.knot, cls.knot_log = secondaries.start_knotd(
                    cls.knot_conf, cls.knot_port, ZONE, os.path.join(d, 'knotd.log'))
                break
            except RuntimeError as e:
                last = e
        else:
            raise last
        cls.note('knotd signs %s on port %d', ZONE, cls.knot_port)

    # ---- Signet -----------------------------------------------------------------------

    @classmethod
    def start_all(cls):
        cls.db = os.path.join(cls.dir, 'child.db')
        cls.pdb = os.path.join(cls.dir, 'parent.db')
        cls.ctl(cls.db, 'policy', 'add', 'ms', '--ksk-zsk', '--zsk-lifetime', '0',
                '--ksk-lifetime', '0', *TIMING)
        cls.signet = st.Signetd('{\n    workers 1\n}\n%s:$port {\n    bind 127.0.0.1\n'
                                '    dnssec {\n        keystore %s\n        policy ms\n    }\n'
                                '    file $dir/ms.zone %s\n    errors\n}\n'
                                % (ZONE, cls.db, ZONE), ready_name=ZONE,
                                workdir=os.path.join(cls.dir, 'signet'))
        os.makedirs(cls.signet.dir)
        with open(cls.signet.path('ms.zone'), 'w') as f:
            f.write(ZONE_TEXT % 1)
        cls.signet.start()
        cls.note('signetd signs %s on port %d', ZONE, cls.signet.port)
        cls.start_knot()
        # the parent: DS of both signers' KSKs (RFC 8901 section 2.1.2: the union)
        dss = []
        for port in (cls.signet.port, cls.knot_port):
            keys = st.wait_for(lambda: [k for k in dnskeys(port, ZONE) if k[0] == 257], 15, 0.2)
            if not keys:
                raise RuntimeError('no KSK served at port %d' % port)
            dss += [ds_of(ZONE, k[2]) for k in keys]
        cls.ctl(cls.pdb, 'policy', 'add', 'roll', '--csk', '--ksk-lifetime', '0',
                '--zsk-lifetime', '0', '--dnskey-ttl', '10s', *TIMING[2:])
        cls.parent = st.Signetd('{\n    workers 1\n}\n%s:$port {\n    bind 127.0.0.1\n'
                                '    dnssec {\n        keystore %s\n        policy roll\n    }\n'
                                '    file $dir/parent.zone %s\n    errors\n}\n'
                                % (PARENT, cls.pdb, PARENT), ready_name=PARENT,
                                workdir=os.path.join(cls.dir, 'parent'))
        os.makedirs(cls.parent.dir)
        extra = 'ms NS ns1.ms\nns1.ms A 127.0.0.1\n' + ''.join('ms DS %s\n' % d for d in dss)
        with open(cls.parent.path('parent.zone'), 'w') as f:
            f.write(ZONE_TEXT % 1 + extra)
        cls.parent.start()
        anchor = st.wait_for(lambda: [k for k in dnskeys(cls.parent.port, PARENT)
                                      if k[0] == 257], 15, 0.2)
        if not anchor:
            raise RuntimeError('the parent serves no DNSKEY')
        # our KSK's DS is at the parent: say so (the engine then leaves it be)
        cls.ctl(cls.db, 'ds', 'seen', ZONE)
        cls.mixer = Mixer([cls.signet.port, cls.knot_port]).start()
        cls.ub = rr.Unbound('%s 10 IN DNSKEY %s' % (PARENT, anchor[0][2]),
                            {PARENT: cls.parent.port, ZONE: cls.mixer.port},
                            workdir=os.path.join(cls.dir, 'unbound'),
                            extra=['cache-max-ttl: 0', 'cache-max-negative-ttl: 0',
                                   'infra-host-ttl: 1', 'val-bogus-ttl: 1', 'prefetch: no', 'prefetch-key: no',
                                   'aggressive-nsec: no', 'edns-buffer-size: 1232'])
        os.makedirs(cls.ub.dir)
        cls.ub.start(ready_name=PARENT)
        cls.note('parent on %d, mixer on %d, unbound on %d', cls.parent.port, cls.mixer.port,
                 cls.ub.port)

    # ---- the resolver's view ----------------------------------------------------------

    def ask_once(self):
        """One round: www A, SOA, an NXDOMAIN. [(name, verdict)] verdict in
        ('secure', 'bogus', 'insecure', 'wrong', 'noreply')."""
        out = []
        for name, rtype in (('www.' + ZONE, 'A'), (ZONE, 'SOA'),
                            ('nx%d.%s' % (int(time.time() * 10), ZONE), 'A')):
            try:
                r = self.ub.query(name, rtype, timeout=2.0, tries=1)
            except st.NoReply:
                out.append((name, 'noreply', ''))
                continue
            bogus = r.rcode == 'SERVFAIL' or any(c in rr.EDE_BOGUS for c, _ in r.ede)
            if bogus:
                out.append((name, 'bogus', '%s %s' % (r.rcode, r.ede)))
            elif 'ad' not in r.flags:
                out.append((name, 'insecure', r.rcode))
            elif name.startswith('nx') != (r.rcode == 'NXDOMAIN'):
                out.append((name, 'wrong', r.rcode))
            else:
                out.append((name, 'secure', ''))
        return out

    def watch(self, seconds=None, until=None, what=''):
        """Ask every ASK_EVERY s for seconds (or until until() is true, at most 120 s);
        run sync-foreign about every second like an operator's timer. Returns a dict
        verdict -> count, and keeps the bad ones in self.bad."""
        counts = {}
        end = time.monotonic() + (seconds if seconds is not None else 120)
        next_sync = 0
        while time.monotonic() < end:
            if self.syncing and time.monotonic() >= next_sync:
                self.sync()
                next_sync = time.monotonic() + 1.0
            for name, v, why in self.ask_once():
                counts[v] = counts.get(v, 0) + 1
                if v != 'secure':
                    self.bad.append('%s %s %s %s' % (what, name, v, why))
            if until is not None and until():
                break
            time.sleep(ASK_EVERY)
        return counts

    syncing = False
    bad = []

    def sync(self):
        p = st.ctl_run(self.db, 'key', 'sync-foreign', ZONE, '--from',
                       '127.0.0.1:%d' % self.knot_port)
        if p.returncode != 0:
            raise AssertionError('sync-foreign: %s%s' % (p.stdout, p.stderr))
        return p.stdout

    def keys(self):
        return st.ctl(self.db, 'key', 'list', ZONE, as_json=True)

    def our_zsks(self):
        return [k for k in self.keys()
                if k['role'] == 'zsk' and not k['public_only']]

    # ---- the test -----------------------------------------------------------------------

    def test_multisigner(self):
        # 0: negative control: neither DNSKEY RRset holds the other signer's ZSK
        c = self.watch(seconds=4, what='control')
        self.note('control (no ZSK exchanged): %s', c)
        self.assertGreater(c.get('bogus', 0), 0,
                           'without the other signer\'s ZSK, answers signed by one and checked '
                           'against the other\'s DNSKEY RRset must go bogus: %s' % c)
        self.bad = []

        # 1: exchange the ZSKs
        out = self.sync()
        self.note('sync-foreign:\n%s', out)
        zsk = self.our_zsks()
        self.assertEqual(len(zsk), 1, zsk)
        ours = [k for k in dnskeys(self.signet.port, ZONE) if k[1] == zsk[0]['tag']]
        self.knot_import_pub(ours[0][2])
        knot_tags = {k[1] for k in dnskeys(self.knot_port, ZONE)}
        self.assertTrue(st.wait_for(lambda: zsk[0]['tag'] in {k[1] for k in dnskeys(
            self.knot_port, ZONE)}, 10, 0.2), 'Knot does not serve our ZSK')
        # signetd sees the keystore change within a second
        self.assertTrue(st.wait_for(lambda: knot_tags <= {k[1] for k in dnskeys(
            self.signet.port, ZONE)}, 10, 0.2), 'Signet serves %s, Knot %s'
            % (dnskeys(self.signet.port, ZONE), knot_tags))
        # CDS: the union of both KSKs (each signer's DS belongs at the parent)
        ksk_tags = sorted(k[1] for k in dnskeys(self.signet.port, ZONE) if k[0] == 257)
        self.assertEqual(len(ksk_tags), 2)
        cds = subprocess.run(['dig', '@127.0.0.1', '-p', str(self.signet.port), '+short',
                              ZONE, 'CDS'], capture_output=True, text=True).stdout
        self.assertEqual(sorted(int(l.split()[0]) for l in cds.splitlines() if l.strip()),
                         ksk_tags, cds)
        time.sleep(TTL + 1)
        self.syncing = True
        c = self.watch(seconds=5, what='exchanged')
        self.note('ZSKs exchanged: %s', c)

        # 2: Signet's ZSK rollover, held until Knot serves the successor
        old = zsk[0]
        self.ctl(self.db, 'zone', 'roll', ZONE, '--zsk')
        new = st.wait_for(lambda: [k for k in self.our_zsks() if k['id'] != old['id']], 10, 0.2)
        self.assertTrue(new)
        new = new[0]
        self.note('signet: ZSK %d published; Knot does not have it yet', new['tag'])
        c2 = self.watch(seconds=2 * IPUB + 2, what='signet-held')
        k = [k for k in self.our_zsks() if k['id'] == new['id']][0]
        self.assertFalse(k.get('active'), 'our new ZSK signs before Knot serves it: %s' % k)
        status = self.ctl(self.db, 'zone', 'status', ZONE)
        self.assertIn('multi-signer peer', status)
        new_text = [x for x in dnskeys(self.signet.port, ZONE) if x[1] == new['tag']][0][2]
        self.knot_import_pub(new_text)
        t_import = time.time()
        self.note('signet: ZSK %d imported into Knot', new['tag'])

        def switched():
            ks = {k['id']: k for k in self.our_zsks()}
            return ks[new['id']].get('active') and ks[old['id']].get('retire')
        c3 = self.watch(until=switched, what='signet-roll')
        self.assertTrue(switched(), self.our_zsks())
        k = [k for k in self.our_zsks() if k['id'] == new['id']][0]
        self.note('signet: ZSK %d signs from %s (imported into Knot %+.1fs before)',
                  new['tag'], k['active'], time.time() - t_import)
        # old ZSK out of our set: take it out of Knot's too
        gone = lambda: old['tag'] not in {x[1] for x in dnskeys(self.signet.port, ZONE)}
        c4 = self.watch(until=gone, what='signet-old-out')
        self.assertTrue(gone())
        c4b = self.watch(seconds=3, what='signet-after')

        # 3: Knot's ZSK rollover
        kzsk_old = [x for x in dnskeys(self.knot_port, ZONE)
                    if x[0] == 256 and x[1] not in (old['tag'], new['tag'])]
        self.assertEqual(len(kzsk_old), 1, kzsk_old)
        now = int(time.time())
        self.keymgr('generate', 'algorithm=ecdsap256sha256', 'ksk=no', 'zsk=yes',
                    'publish=%d' % now, 'active=%d' % (now + KNOT_ACTIVE_AFTER))
        self.keymgr('set', str(kzsk_old[0][1]), 'retire=%d' % (now + KNOT_ACTIVE_AFTER),
                    'remove=%d' % (now + KNOT_ACTIVE_AFTER + 8))
        self.knotc('zone-keys-load', ZONE)
        self.note('knot: ZSK rollover started (active in %ds)', KNOT_ACTIVE_AFTER)
        knot_old_gone = lambda: kzsk_old[0][1] not in {x[1] for x in dnskeys(self.signet.port, ZONE)} \
            and kzsk_old[0][1] not in {x[1] for x in dnskeys(self.knot_port, ZONE)}
        c5 = self.watch(until=knot_old_gone, what='knot-roll')
        self.assertTrue(knot_old_gone(), 'Knot\'s old ZSK still served: signet %s, knot %s'
                        % (dnskeys(self.signet.port, ZONE), dnskeys(self.knot_port, ZONE)))
        c6 = self.watch(seconds=3, what='knot-after')
        total = {}
        for cc in (c, c2, c3, c4, c4b, c5, c6):
            for v, n in cc.items():
                total[v] = total.get(v, 0) + n
        self.note('through both rollovers: %s; mixer %s', total, self.mixer.count)
        self.assertEqual(self.bad, [], 'answers not secure:\n%s\nunbound:\n%s' % (
            '\n'.join(self.bad[:30]), '\n'.join(self.ub.validation_failures()[-10:])))
        self.assertGreater(total.get('secure', 0), 100)

    def test_sync_foreign_refusals(self):
        """A bad address, a zone not in the keystore and a server that is not
        authoritative for the zone (the parent: a referral) change nothing; --json says
        what a run did."""
        before = self.keys()
        p = st.ctl_run(self.db, 'key', 'sync-foreign', ZONE, '--from', '1.2.3.4:99999x')
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('bad server address', p.stderr)
        p = st.ctl_run(self.db, 'key', 'sync-foreign', 'nope.test.', '--from',
                       '127.0.0.1:%d' % self.knot_port)
        self.assertNotEqual(p.returncode, 0)
        p = st.ctl_run(self.db, 'key', 'sync-foreign', ZONE, '--from',
                       '127.0.0.1:%d' % self.parent.port)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('not authoritative', p.stderr)
        self.assertEqual(self.keys(), before)
        j = st.ctl(self.db, 'key', 'sync-foreign', ZONE, '--from',
                   '127.0.0.1:%d' % self.knot_port, as_json=True)
        self.assertEqual(j['imported'] + j['removed'] + j['republished'], 0, j)
        self.assertTrue(j['wait'])
        self.assertGreaterEqual(j['ours_served'], 1)


def ds_of(owner, dnskey_text):
    """'TAG 13 2 HEX' (SHA-256) from a DNSKEY's presentation form 'FLAGS 3 ALG BASE64'."""
    import base64
    import hashlib
    f = dnskey_text.split()
    rdata = struct.pack('!HBB', int(f[0]), int(f[1]), int(f[2])) + base64.b64decode(''.join(f[3:]))
    wire = b''.join(bytes([len(l)]) + l.encode().lower() for l in owner.rstrip('.').split('.')) + b'\0'
    ac = 0
    for i, b in enumerate(rdata):
        ac += b if i & 1 else b << 8
    ac += (ac >> 16) & 0xFFFF
    tag = ac & 0xFFFF
    return '%d %d 2 %s' % (tag, int(f[2]), hashlib.sha256(wire + rdata).hexdigest().upper())


if __name__ == '__main__':
    unittest.main(verbosity=2)
