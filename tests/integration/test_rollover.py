# SPDX-License-Identifier: MIT
"""integ.rollover: the rollover engine against a real parent and a validating resolver
(issue 5, "The proof").

Four signetd processes and one unbound on loopback:

    parent   parent.test.        CSK that never rolls; its DS is unbound's trust anchor
    child1   child.parent.test.  scenario A: KSK+ZSK, ZSK lifetime 20s, KSK lifetime 40s
             csk.parent.test.    scenario B: CSK, lifetime 30s
             stuck.parent.test.  scenario C: KSK+ZSK, KSK lifetime 20s; the parent never
                                 shows the new DS (until the end, when it catches up)
    child2   kill.parent.test.   scenario D: KSK+ZSK without lifetimes, rolled by hand,
                                 SIGKILLed and restarted at four points of the rollovers
    child3   alg.parent.test.      scenario E: CSK, algorithm rollover 13 -> 15 (RFC 6781
             algkz.parent.test.    4.1.4) started by `policy set --algorithm ed25519`; KSK+ZSK
             comp.parent.test.     scenario F: KSK+ZSK, `key compromise` of the ZSK, then KSK
             compcsk.parent.test.  scenario F: CSK, `key compromise`
             unsign.parent.test.   scenario G: KSK+ZSK, `zone unsign` back to insecure
             dds.parent.test.      scenario H: KSK+ZSK, KSK lifetime 25s, double-DS KSK
                                   rollover (RFC 7583 3.3.2): new DS first, then the swap
    unbound  validating, cache on, real TTLs, stub zones for every zone above

The test is the registrar: when a child's CDS set changes it rewrites the parent zone's DS
RRset for that child, SIGHUPs the parent, waits until the parent serves it, and runs
`signetctl ds seen ZONE`. A monitor thread asks unbound, every second for the whole test,
a positive name, an NXDOMAIN name and the DNSKEY RRset of every zone: one SERVFAIL or
answer without AD fails the test (while child2 is down after a SIGKILL, a SERVFAIL that is
not a DNSSEC error is tolerated and reported; once the registrar starts removing the DS of a
zone being unsigned, answers without AD are right for it, SERVFAIL still is not). `zone
plan`, taken when scenario A starts, must list the events the engine then performs.

The registrar reads the RFC 8078 delete form (CDS 0 0 0 00) as "no DS": it empties the
child's DS RRset at the parent and runs `signetctl ds gone ZONE` instead of `ds seen`.

For child3's zones a sampler asks the child every 0.3s what it serves (DNSKEY, the keys
whose RRSIGs cover the DNSKEY RRset and www A, CDS, CDNSKEY); each sample away from a
transition must match what the keys' stored timing points say (see expected()). E, F and
G also assert the order and spacing of those timing points (Ipub, max TTL + propagation,
DS TTL + propagation) and run in threads beside A..D, so they add no time.

Python 3 standard library only. signetd and signetctl come from $SIGNETD / $SIGNETCTL
(CTest passes the built targets), else build/daemon/signetd and build/ctl/signetctl.
"""

import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import unittest

import signet_test as st
import rollover_resolver as rr

SIGNETCTL = os.environ.get('SIGNETCTL') or os.path.join(st.REPO, 'build', 'ctl', 'signetctl')

PARENT = 'parent.test.'
ZA = 'child.parent.test.'
ZB = 'csk.parent.test.'
ZC = 'stuck.parent.test.'
ZD = 'kill.parent.test.'
ZE = 'alg.parent.test.'
ZE2 = 'algkz.parent.test.'
ZF = 'comp.parent.test.'
ZF2 = 'compcsk.parent.test.'
ZG = 'unsign.parent.test.'
ZH = 'dds.parent.test.'
CHILD1_ZONES = (ZA, ZB, ZC)
CHILD3_ZONES = (ZE, ZE2, ZF, ZF2, ZG, ZH)
ALL_CHILDREN = (ZA, ZB, ZC, ZD) + CHILD3_ZONES

# every child policy: Ipub = 2 + 1 = 3s, ZSK gone = 2 + 1 = 3s, DS wait = 2 + 1 = 3s
TIMING = ['--dnskey-ttl', '2s', '--zone-propagation-delay', '1s', '--zone-max-ttl', '2s',
          '--parent-ds-ttl', '2s', '--parent-propagation-delay', '1s',
          '--signature-validity', '1h', '--signature-refresh', '10m', '--signature-jitter', '0']
IPUB = 3
ZSK_GONE = 3
DS_WAIT = 3
POLICIES = {
    ZA: ['--ksk-zsk', '--zsk-lifetime', '20s', '--ksk-lifetime', '40s'],
    ZB: ['--csk', '--ksk-lifetime', '30s', '--zsk-lifetime', '0'],
    ZC: ['--ksk-zsk', '--zsk-lifetime', '15s', '--ksk-lifetime', '20s'],
    ZD: ['--ksk-zsk', '--zsk-lifetime', '0', '--ksk-lifetime', '0'],
    # E: ECDSAP256SHA256 (the default) until the test sets the policy to ED25519
    ZE: ['--csk', '--ksk-lifetime', '0', '--zsk-lifetime', '0'],
    ZE2: ['--ksk-zsk', '--zsk-lifetime', '0', '--ksk-lifetime', '0'],
    # F: lifetimes far beyond the test: only `key compromise` replaces these keys
    ZF: ['--ksk-zsk', '--zsk-lifetime', '10m', '--ksk-lifetime', '20m'],
    ZF2: ['--csk', '--ksk-lifetime', '10m', '--zsk-lifetime', '0'],
    ZG: ['--ksk-zsk', '--zsk-lifetime', '0', '--ksk-lifetime', '0'],
    ZH: ['--ksk-zsk', '--double-ds', '--zsk-lifetime', '0', '--ksk-lifetime', '25s'],
}
H_KSK_LIFETIME = 25
F_LIFETIME = {'zsk': 600, 'ksk': 1200, 'csk': 600}
ALG_OLD, ALG_NEW = 13, 15
C_KSK_LIFETIME = 20
PLAN_SPAN = 60       # the plan of scenario A covers this many seconds
PLAN_CUT = 48        # events up to plan start + this are compared
LATE = 4             # an event may come this much later than planned (1s watcher tick, load)
LATE_AFTER_DS = 12   # ... events that follow a DS the test only confirms a moment later

TEMPLATE_SOA = '@ SOA ns1 hostmaster %d 60 60 600 2\n'


def zone_text(serial, extra=''):
    return ('$TTL 2\n' + TEMPLATE_SOA % serial +
            '@ NS ns1\n'
            'ns1 A 127.0.0.1\n'
            'www A 192.0.2.1\n'
            'www TXT "rollover"\n' + extra)


def label(zone):
    return zone[:-len(PARENT) - 1]


def ds_key(rdata):
    """'tag alg digesttype HEX [HEX]' -> a comparable tuple."""
    f = rdata.split()
    return (int(f[0]), int(f[1]), int(f[2]), ''.join(f[3:]).upper())


def wire_rdata(rdata_text):
    """signet_test renders the types it does not know as '\\# LEN HEX'."""
    f = rdata_text.split()
    return bytes.fromhex(''.join(f[2:]))


def ds_from_cds_wire(rdata_text):
    """signet_test renders CDS (type 59) as '\\# LEN HEX'."""
    b = wire_rdata(rdata_text)
    return (int.from_bytes(b[0:2], 'big'), b[2], b[3], b[4:].hex().upper())


# RFC 8078 section 4: the delete form of CDS and CDNSKEY
CDS_DELETE = (0, 0, 0, '00')            # CDS 0 0 0 00
CDNSKEY_DELETE = (0, 3, 0, '00')        # CDNSKEY 0 3 0 AA==  (flags, protocol, alg, key)


def key_tag(rd):
    """RFC 4034 appendix B, from DNSKEY RDATA."""
    ac = 0
    for i, b in enumerate(rd):
        ac += b if i & 1 else b << 8
    ac += (ac >> 16) & 0xFFFF
    return ac & 0xFFFF


def rrsig_keys(reply, covered):
    """{(key tag, algorithm)} of the RRSIGs over type `covered` in the answer."""
    out = set()
    for x in reply.answer:
        if x.type != 'RRSIG':
            continue
        b = wire_rdata(x.rdata)
        if int.from_bytes(b[0:2], 'big') == covered:
            out.add((int.from_bytes(b[16:18], 'big'), b[2]))
    return frozenset(out)


class RolloverTest(unittest.TestCase):

    # ---- tools ------------------------------------------------------------------------

    def ctl(self, zone_or_db, *args, json_out=False, check=True):
        db = self.db[zone_or_db] if zone_or_db in self.db else zone_or_db
        cmd = [SIGNETCTL, '--db', db] + (['--json'] if json_out else []) + list(args)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if check and p.returncode != 0:
            raise AssertionError('%s: exit %d\n%s%s' % (' '.join(cmd), p.returncode, p.stdout,
                                                          p.stderr))
        if json_out and p.returncode == 0:
            return json.loads(p.stdout)
        return p

    def status(self, zone):
        return self.ctl(zone, 'zone', 'status', zone, json_out=True)

    def status_text(self, zone):
        return self.ctl(zone, 'zone', 'status', zone).stdout

    def keys(self, zone, role=None):
        return [k for k in self.status(zone)['keys'] if role is None or k['role'] == role]

    def rel(self, t):
        return '%+ds' % round(t - self.t0) if t else '-'

    def note(self, fmt, *a):
        line = '[%7.1fs] %s' % (time.time() - self.t0, fmt % a)
        with self.lock:
            self.timeline.append(line)
        print(line, flush=True)

    def soft(self, scenario, fmt, *a):
        msg = fmt % a
        with self.lock:
            self.failures.append((scenario, msg))
        self.note('FAIL %s: %s', scenario, msg)

    def server_of(self, zone):
        if zone in CHILD3_ZONES:
            return self.child3
        return self.parent if zone == PARENT else self.child2 if zone == ZD else self.child1

    def raw(self, zone, name, qtype):
        srv = self.server_of(zone)
        qid, q = st.make_query(name, qtype, edns=True, do=True, payload=4096)
        data = srv.udp(q, qid, timeout=1.0, tries=2)
        if data is None:
            return None
        r = st.parse_message(data)
        if 'tc' in r.flags:
            data = srv.tcp(q)
            r = st.parse_message(data) if data else None
        return r

    def cds_set(self, zone):
        r = self.raw(zone, zone, 59)
        if r is None or r.rcode != 'NOERROR':
            return None
        return frozenset(ds_from_cds_wire(x.rdata) for x in r.answer if x.type == 'TYPE59')

    def cdnskey_set(self, zone):
        r = self.raw(zone, zone, 60)
        if r is None or r.rcode != 'NOERROR':
            return None
        out = set()
        for x in r.answer:
            if x.type == 'TYPE60':
                b = wire_rdata(x.rdata)
                f = (int.from_bytes(b[0:2], 'big'), b[2], b[3], b[4:].hex().upper())
                # (tag, algorithm) like CDS, or the delete form
                out.add(CDNSKEY_DELETE if f == CDNSKEY_DELETE else (key_tag(b), b[3]))
        return frozenset(out)

    def served(self, zone):
        """What the child serves now: DNSKEY (tag, alg), the keys whose RRSIGs cover the
        DNSKEY RRset and www A, CDS (tag, alg) and CDNSKEY; None for a failed query."""
        out = {}
        r = self.raw(zone, zone, 'DNSKEY')
        if r is None or r.rcode != 'NOERROR':
            return None
        out['dnskey'] = frozenset((key_tag(wire_rdata(x.rdata)), wire_rdata(x.rdata)[3])
                                  for x in r.answer if x.type == 'DNSKEY')
        out['ksig'] = rrsig_keys(r, 48)
        r = self.raw(zone, 'www.' + zone, 'A')
        if r is None or r.rcode != 'NOERROR':
            return None
        out['zsig'] = rrsig_keys(r, 1)
        cds = self.cds_set(zone)
        cdnskey = self.cdnskey_set(zone)
        if cds is None or cdnskey is None:
            return None
        out['cds'] = frozenset(CDS_DELETE if d == CDS_DELETE else d[:2] for d in cds)
        out['cds_digest'] = cds
        out['cdnskey'] = cdnskey
        return out

    def parent_ds(self, zone):
        r = self.raw(PARENT, zone, 'DS')
        if r is None:
            return None
        return frozenset(ds_key(x.rdata) for x in r.answer if x.type == 'DS')

    def wait_until(self, cond, timeout, step=0.3):
        return st.wait_for(cond, timeout, step)

    def sleep_until(self, t):
        while time.time() < t:
            time.sleep(min(0.2, max(0.0, t - time.time())))

    # ---- the parent and the registrar -------------------------------------------------

    def write_parent(self):
        self.parent_serial += 1
        extra = ''
        for z in ALL_CHILDREN:
            lb = label(z)
            extra += '%s NS ns1.%s\nns1.%s A 127.0.0.1\n' % (lb, lb, lb)
            for tag, alg, dt, dig in sorted(self.parent_set[z]):
                extra += '%s DS %d %d %d %s\n' % (lb, tag, alg, dt, dig)
        path = self.parent.path('parent.zone')
        with open(path + '.new', 'w') as f:
            f.write(zone_text(self.parent_serial, extra))
        os.replace(path + '.new', path)

    def publish_ds(self, zone, dsset, delete=False):
        """Put dsset at the parent for zone, wait until the parent serves it, confirm
        (`ds seen`; `ds gone` when the child asked for deletion, RFC 8078)."""
        old = self.parent_set[zone]
        if not dsset:
            with self.lock:
                self.insecure_from.setdefault(zone, time.time())
        self.parent_set[zone] = dsset
        self.write_parent()
        self.parent.send_signal(signal.SIGHUP)
        served = self.wait_until(lambda: self.parent_ds(zone) == dsset, 15)
        if not served:
            self.soft('registrar', 'the parent does not serve the new DS set of %s: %s',
                      zone, self.parent_ds(zone))
            return
        with self.lock:
            self.parent_hist[zone].append((time.time(), dsset))
        self.note('registrar: parent serves DS of %s: tags %s (was %s)', zone,
                  sorted(d[0] for d in dsset), sorted(d[0] for d in old))
        if delete:
            p = self.ctl(zone, 'ds', 'gone', zone, check=False)
            if p.returncode == 0:
                with self.lock:
                    self.ds_gone_at[zone] = time.time()
                self.note('registrar: signetctl ds gone %s: %s', zone, p.stdout.strip())
            else:
                with self.lock:
                    self.ds_gone_at[zone] = None   # not retried
                self.soft('registrar', 'signetctl ds gone %s failed: %s', zone,
                          p.stderr.strip())
            return
        p = self.ctl(zone, 'ds', 'seen', zone, check=False)
        if p.returncode == 0:
            self.note('registrar: signetctl ds seen %s: %s', zone, p.stdout.strip())
        elif 'no submitted DS' not in p.stderr:
            self.soft('registrar', 'signetctl ds seen %s failed: %s', zone, p.stderr.strip())

    def registrar(self):
        while not self.stop_registrar.is_set():
            for z in ALL_CHILDREN:
                if not self.follow[z].is_set():
                    continue
                try:
                    cds = self.cds_set(z)
                except Exception:
                    cds = None
                if not cds:
                    continue
                # RFC 8078: the delete form asks for no DS at all
                delete = CDS_DELETE in cds
                if delete and len(cds) != 1:
                    self.soft('registrar', 'CDS of %s mixes the delete form with DS records: %s',
                              z, sorted(cds))
                    continue
                want = frozenset() if delete else cds
                if want != self.parent_set[z] or (delete and z not in self.ds_gone_at):
                    self.note('registrar: CDS of %s is now %s', z, 'the delete form (0 0 0 00)'
                              if delete else 'tags %s' % sorted(d[0] for d in cds))
                    try:
                        self.publish_ds(z, want, delete=delete)
                    except Exception as e:
                        self.soft('registrar', 'publishing DS of %s: %s', z, e)
            self.stop_registrar.wait(0.5)

    # ---- the monitor ------------------------------------------------------------------

    def snapshot(self, zone):
        """What the child and the parent served at this moment."""
        out = []
        try:
            for qt in ('DNSKEY', 'CDS'):
                r = self.server_of(zone).dig(zone, qt, '+dnssec')
                out += ['  child %s: %s' % (qt, x) for x in r.answer]
            out.append('  parent DS: %s' % sorted(self.parent_ds(zone) or []))
            out.append('  zone status:\n' + self.status_text(zone))
        except Exception as e:
            out.append('  (snapshot failed: %s)' % e)
        return '\n'.join(out)

    def check_reply(self, zone, name, qtype, want_rcode, insecure_ok=False):
        """insecure_ok: the zone is going insecure (its DS is leaving the parent): an
        answer without AD is right, and an unsigned zone has no DNSKEY; SERVFAIL never is."""
        try:
            r = self.unbound.query(name, qtype)
        except Exception as e:
            return 'no reply (%s)' % e, None
        problems = []
        if r.rcode != want_rcode:
            problems.append('rcode %s' % r.rcode)
        if 'ad' not in r.flags and not insecure_ok:
            problems.append('no AD')
        if (want_rcode == 'NOERROR' and not any(x.type == qtype for x in r.answer) and
                not (insecure_ok and qtype == 'DNSKEY')):
            problems.append('no %s in the answer' % qtype)
        if problems:
            return '%s (flags %s, EDE %s)' % (', '.join(problems), ' '.join(sorted(r.flags)),
                                              r.ede), r
        return None, r

    def monitor(self):
        zones = (PARENT,) + ALL_CHILDREN
        snaps = {}
        while not self.stop_monitor.is_set():
            t_round = time.time()
            for z in zones:
                for name, qt, rc in (('www.' + z, 'A', 'NOERROR'), ('nope.' + z, 'A', 'NXDOMAIN'),
                                     (z, 'DNSKEY', 'NOERROR')):
                    with self.lock:
                        insecure_ok = z in self.insecure_from
                    problem, r = self.check_reply(z, name, qt, rc, insecure_ok=insecure_ok)
                    with self.lock:
                        self.queries += 1
                        if insecure_ok and r is not None and not problem:
                            secure = 'ad' in r.flags
                            self.insecure_obs.setdefault(z, []).append((time.time(), name, qt,
                                                                        secure))
                    if not problem:
                        continue
                    now = time.time()
                    in_window = z == ZD and any(a <= now <= b for a, b in self.kill_windows())
                    bogus = r is not None and (any(c in rr.EDE_BOGUS for c, _ in r.ede) or
                                               (r.rcode == 'NOERROR' and 'ad' not in r.flags))
                    if in_window and not bogus:
                        self.note('tolerated while signetd restarts: %s %s: %s', name, qt, problem)
                        with self.lock:
                            self.tolerated.append((now, name, qt, problem))
                        continue
                    msg = '%s %s: %s' % (name, qt, problem)
                    if snaps.get(z, 0) < 3:
                        snaps[z] = snaps.get(z, 0) + 1
                        msg += '\n' + self.snapshot(z)
                    self.soft('resolver', '%s', msg)
            with self.lock:
                self.rounds += 1
            self.stop_monitor.wait(max(0.0, 1.0 - (time.time() - t_round)))

    def kill_windows(self):
        with self.lock:
            return [(a, b + 6) for a, b in self.downtimes] + (
                [(self.down_since, time.time() + 1)] if self.down_since else [])

    # ---- history ------------------------------------------------------------------------

    def events(self, zone):
        """The engine's events from the journal: sorted [(time, action, role)]."""
        roles = {k['id']: k['role'] for k in self.status(zone)['keys']}
        out = set()
        for h in self.ctl(zone, 'zone', 'history', zone, json_out=True):
            if h['actor'] != 'daemon' or h['key'] is None:
                continue
            r = h['reason']
            if 'publish its successor' in r:
                a = 'publish successor'
            elif 'submit its DS' in r:
                a = 'submit DS'
            elif 'it signs,' in r:
                a = 'switch to successor'
            elif 'removed when' in r:
                a = 'remove'
            elif 'generate one' in r:
                a = 'initial key'
            else:
                continue
            out.add((h['time'], a, roles.get(h['key'], '?')))
        return sorted(out)

    def repeated(self, zone):
        """(key, state change, reason) rows that the journal holds more than once."""
        seen = {}
        for h in self.ctl(zone, 'zone', 'history', zone, json_out=True):
            if h['key'] is None:
                continue
            k = (h['key'], h['old_state'], h['new_state'], h['reason'])
            seen[k] = seen.get(k, 0) + 1
        return [k for k, n in seen.items() if n > 1]

    def ds_vs_cds(self, zone, when):
        """Note which keys `signetctl ds` prints against the child's CDS (the DS set the
        parent should have); they may differ by design (`ds` lists every KSK/CSK not yet
        removed), so this is reported, not asserted."""
        out = self.ctl(zone, 'ds', zone).stdout
        tags = sorted(int(l.split()[4]) for l in out.splitlines() if ' DS ' in l)
        cds = sorted(d[0] for d in (self.cds_set(zone) or ()))
        self.note('%s %s: signetctl ds prints tags %s, CDS holds %s%s', zone, when, tags, cds,
                  '' if tags == cds else ' (they differ)')

    def fmt_events(self, evs):
        return '\n'.join('    %s %-20s %s' % (self.rel(t), a, r) for t, a, r in evs)

    # ---- setup and teardown -----------------------------------------------------------

    def setUp(self):
        if not rr.unbound_available():
            self.skipTest('unbound is not installed')
        if not os.access(SIGNETCTL, os.X_OK):
            raise RuntimeError('signetctl not found at %s (set SIGNETCTL)' % SIGNETCTL)
        self.lock = threading.Lock()
        self.timeline = []
        self.failures = []
        self.tolerated = []
        self.downtimes = []
        self.down_since = None
        self.queries = 0
        self.rounds = 0
        self.t0 = time.time()
        self.dir = tempfile.mkdtemp(prefix='signet-rollover-')
        self.parent = self.child1 = self.child2 = self.child3 = self.unbound = None
        self.threads = []
        self.stop_registrar = threading.Event()
        self.stop_monitor = threading.Event()
        self.follow = {z: threading.Event() for z in ALL_CHILDREN}
        self.parent_set = {z: frozenset() for z in ALL_CHILDREN}
        self.parent_serial = 0
        self.db = {PARENT: os.path.join(self.dir, 'parent.db')}
        self.insecure_from = {}     # zone -> when the registrar began removing its DS
        self.insecure_obs = {}      # zone -> [(time, name, type, AD?)] from then on
        self.parent_hist = {z: [] for z in ALL_CHILDREN}   # [(time, DS set served)]
        self.ds_gone_at = {}        # zone -> when `signetctl ds gone` ran
        self.samples = {z: [] for z in CHILD3_ZONES}       # [(time, served(zone))]
        self.unsign_at = {}         # zone -> when `signetctl zone unsign` ran
        for i, z in enumerate(ALL_CHILDREN):
            self.db[z] = os.path.join(self.dir, 'child-%s.db' % label(z))

    def tearDown(self):
        self.stop_monitor.set()
        self.stop_registrar.set()
        for t in self.threads:
            t.join(30)
        for s in (self.unbound, self.child1, self.child2, self.child3, self.parent):
            if s is not None:
                try:
                    s.cleanup() if isinstance(s, rr.Unbound) else s.stop()
                except Exception:
                    pass
        keep = os.environ.get('SIGNET_KEEP_TMP')
        for s in (self.child1, self.child2, self.child3, self.parent):
            if s is not None and not keep:
                s.cleanup()
        if not keep:
            import shutil
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            print('kept %s' % self.dir)

    def corefile(self, zones):
        text = '{\n    workers 1\n}\n'
        for z in zones:
            text += ('%s:$port {\n    bind 127.0.0.1\n'
                     '    dnssec {\n        keystore %s\n        policy %s\n    }\n'
                     '    file $dir/%szone %s\n    errors\n}\n'
                     % (z, self.db[z], 'roll', z, z))
        return text

    def start_servers(self):
        # the parent: a CSK that never rolls
        self.ctl(PARENT, 'policy', 'add', 'roll', '--csk', '--ksk-lifetime', '0',
                 '--zsk-lifetime', '0', '--dnskey-ttl', '10s', *TIMING[2:])
        self.parent = st.Signetd('{\n    workers 1\n}\n%s:$port {\n    bind 127.0.0.1\n'
                           '    dnssec {\n        keystore %s\n        policy roll\n    }\n'
                           '    file $dir/parent.zone %s\n    errors\n}\n'
                           % (PARENT, self.db[PARENT], PARENT),
                           ready_name=PARENT, workdir=os.path.join(self.dir, 'parent'))
        os.makedirs(self.parent.dir)
        self.write_parent()
        self.parent.start()
        for z in ALL_CHILDREN:
            self.ctl(z, 'policy', 'add', 'roll', *(POLICIES[z] + TIMING))
        self.child1 = st.Signetd(self.corefile(CHILD1_ZONES), ready_name=ZA,
                           workdir=os.path.join(self.dir, 'child1'))
        self.child2 = st.Signetd(self.corefile((ZD,)), ready_name=ZD,
                           workdir=os.path.join(self.dir, 'child2'))
        self.child3 = st.Signetd(self.corefile(CHILD3_ZONES), ready_name=ZE,
                           workdir=os.path.join(self.dir, 'child3'))
        for srv, zones in ((self.child1, CHILD1_ZONES), (self.child2, (ZD,)),
                           (self.child3, CHILD3_ZONES)):
            os.makedirs(srv.dir)
            for z in zones:
                with open(srv.path(z + 'zone'), 'w') as f:
                    f.write(zone_text(1))
        self.t0 = time.time()
        self.child1.start()
        self.note('child1 (A, B, C) listening on port %d', self.child1.port)
        # scenario A's plan, taken as it starts
        self.plan_t = int(time.time())
        self.plan = self.ctl(ZA, 'zone', 'plan', ZA, '--until', '@%d' % (self.plan_t + PLAN_SPAN),
                             json_out=True)
        self.plan_text = self.ctl(ZA, 'zone', 'plan', ZA, '--until',
                                  '@%d' % (self.plan_t + PLAN_SPAN)).stdout
        self.child2.start()
        self.note('child2 (D) on port %d, parent on port %d', self.child2.port, self.parent.port)
        self.child3.start()
        self.note('child3 (E, F, G, H) on port %d', self.child3.port)

    def start_resolver(self):
        anchor = self.ctl(PARENT, 'ds', PARENT).stdout.strip().splitlines()
        self.assertEqual(len(anchor), 1, 'one DS for the parent: %s' % anchor)
        stubs = {PARENT: self.parent.port}
        for z in ALL_CHILDREN:
            stubs[z] = self.server_of(z).port
        self.unbound = rr.Unbound(anchor[0], stubs, workdir=os.path.join(self.dir, 'unbound'))
        os.makedirs(self.unbound.dir)
        self.unbound.start()
        self.note('unbound on port %d, trust anchor %s', self.unbound.port, anchor[0])

    def spawn(self, fn):
        t = threading.Thread(target=self.guard(fn), daemon=True)
        t.start()
        self.threads.append(t)

    def guard(self, fn):
        def run():
            try:
                fn()
            except Exception:
                self.soft(fn.__name__, 'crashed:\n%s', traceback.format_exc())
        return run

    # ---- the test ---------------------------------------------------------------------

    def test_rollovers(self):
        self.start_servers()
        for z in ALL_CHILDREN:
            self.follow[z].set()
        self.spawn(self.registrar)

        # initial signing: every child's first KSK/CSK gets its DS to the parent
        def initial_done():
            return all(any(k['ds_seen'] for k in self.keys(z) if k['role'] != 'zsk')
                       for z in ALL_CHILDREN)
        self.assertTrue(self.wait_until(initial_done, 20),
                        'initial DS not at the parent in time:\n%s' %
                        '\n'.join(self.status_text(z) for z in ALL_CHILDREN))
        self.follow[ZC].clear()   # from now on the parent ignores stuck.parent.test.
        self.note('initial DS of every child at the parent; the registrar ignores %s from now', ZC)

        self.start_resolver()
        ok = self.wait_until(lambda: all(self.check_reply(z, z, 'DNSKEY', 'NOERROR')[0] is None
                                         for z in (PARENT,) + ALL_CHILDREN), 15, step=0.5)
        self.assertTrue(ok, 'unbound does not validate every zone at start:\n%s\nunbound log:\n%s'
                        % ('\n'.join('%s: %s' % (z, self.check_reply(z, z, 'DNSKEY', 'NOERROR')[0])
                                     for z in (PARENT,) + ALL_CHILDREN), self.unbound.log()[-3000:]))
        self.spawn(self.monitor)
        self.t_monitor = time.time()
        self.note('monitor started')
        self.spawn(self.sampler)
        # E, F and G run beside the others, in child3
        scen = []
        for fn in (self.scenario_e, self.scenario_f, self.scenario_g, self.scenario_h):
            t = threading.Thread(target=self.guard(fn), daemon=True)
            t.start()
            scen.append(t)

        self.scenario_d()
        self.scenario_c_stalled()
        self.scenario_a()
        self.scenario_b()
        self.scenario_c_catch_up()
        for t in scen:
            t.join(180)
            if t.is_alive():
                self.soft('servers', 'a scenario thread of E, F, G did not finish')

        # let the monitor see the zones settle after the last changes
        time.sleep(5)
        self.stop_monitor.set()
        self.stop_registrar.set()
        for t in self.threads:
            t.join(30)
        fails = self.unbound.validation_failures()
        if fails:
            self.soft('resolver', 'unbound logged %d validation failures:\n%s', len(fails),
                      '\n'.join(fails[:20]))
        for name, srv in (('parent', self.parent), ('child1', self.child1), ('child2', self.child2),
                          ('child3', self.child3)):
            if not srv.alive():
                self.soft('servers', '%s signetd died; log:\n%s', name, srv.log()[-3000:])
        self.report()

    def report(self):
        by = {}
        for s, m in self.failures:
            by.setdefault(s, []).append(m)
        print('\n==== integ.rollover summary (%.0fs, %d monitor rounds, %d resolver queries, '
              '%d tolerated during restarts) ====' % (time.time() - self.t0, self.rounds,
                                                      self.queries, len(self.tolerated)))
        names = ('A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'plan', 'resolver', 'registrar', 'servers')
        for s in names:
            print('  %-9s %s' % (s, 'FAIL (%d)' % len(by[s]) if s in by else 'pass'))
        for s in by:
            if s not in names:
                print('  %-9s FAIL (%d)' % (s, len(by[s])))
        if self.failures:
            self.fail('%d failures:\n\n%s' % (len(self.failures), '\n\n'.join(
                '[%s] %s' % f for f in self.failures)))

    # ---- scenario A: two ZSK rollovers and a KSK rollover, and the plan ---------------

    def scenario_a(self):
        # KSK successor at +37, its DS at +40, seen ~+41, switch ~+44, removal ~+47
        def done():
            ks = self.keys(ZA, 'ksk')
            return len(ks) >= 2 and any(k['remove'] for k in ks)
        if not self.wait_until(done, self.plan_t + 75 - time.time(), step=1):
            self.soft('A', 'the KSK rollover did not complete by +75s:\n%s\nevents:\n%s',
                      self.status_text(ZA), self.fmt_events(self.events(ZA)))
        self.sleep_until(self.plan_t + PLAN_CUT + LATE_AFTER_DS)
        evs = self.events(ZA)
        self.note('A: events of %s:\n%s', ZA, self.fmt_events(evs))
        zsk_switches = [e for e in evs if e[1:] == ('switch to successor', 'zsk')]
        ksk_switches = [e for e in evs if e[1:] == ('switch to successor', 'ksk')]
        if len(zsk_switches) < 2:
            self.soft('A', 'want 2 ZSK rollovers, got %d', len(zsk_switches))
        if len(ksk_switches) < 1:
            self.soft('A', 'want a KSK rollover, got none')
        ks = self.keys(ZA)
        zsks = [k for k in ks if k['role'] == 'zsk']
        ksks = [k for k in ks if k['role'] == 'ksk']
        removed_z = [k for k in zsks if k['remove']]
        active_k = [k for k in ksks if k['state'] == 'active']
        if len(removed_z) < 2:
            self.soft('A', 'want 2 removed ZSKs, got %d:\n%s', len(removed_z), self.status_text(ZA))
        if len(active_k) != 1 or not active_k[0]['ds_seen']:
            self.soft('A', 'want one active KSK whose DS is seen:\n%s', self.status_text(ZA))
        else:
            self.check_key_timing('A', ZA)
            want = self.cds_set(ZA)
            got = self.wait_until(lambda: self.parent_ds(ZA) == want and want, 10)
            if not got or len(want) != 1:
                self.soft('A', 'the parent should serve exactly the new KSK\'s DS: CDS %s, '
                          'parent %s', want, self.parent_ds(ZA))
        self.compare_plan(evs)

    def check_key_timing(self, scen, zone):
        """Every successor's waits, from its stored timing points."""
        ks = sorted(self.keys(zone), key=lambda k: k['id'])
        for role in ('ksk', 'zsk', 'csk'):
            chain = [k for k in ks if k['role'] == role]
            for old, new in zip(chain, chain[1:]):
                if not new['active'] or not old['retire']:
                    continue
                if new['active'] != old['retire']:
                    self.soft(scen, '%s %d active at %s but %d retired at %s', role, new['tag'],
                              self.rel(new['active']), old['tag'], self.rel(old['retire']))
                if new['active'] < new['publish'] + IPUB:
                    self.soft(scen, '%s %d signs %ds after publication (< Ipub %d)', role,
                              new['tag'], new['active'] - new['publish'], IPUB)
                if role != 'zsk':
                    if not new['ds_submitted'] or new['ds_submitted'] < new['publish'] + IPUB:
                        self.soft(scen, '%s %d: DS submitted before its DNSKEY propagated', role,
                                  new['tag'])
                    if not new['ds_seen'] or new['active'] < new['ds_seen'] + DS_WAIT:
                        self.soft(scen, '%s %d signs before the parent DS TTL passed (seen %s, '
                                  'active %s)', role, new['tag'], self.rel(new['ds_seen']),
                                  self.rel(new['active']))
                if old['remove']:
                    gone = ZSK_GONE if role == 'zsk' else max(DS_WAIT, IPUB)
                    if old['remove'] < old['retire'] + gone:
                        self.soft(scen, '%s %d removed %ds after retiring (< %d)', role,
                                  old['tag'], old['remove'] - old['retire'], gone)

    def compare_plan(self, actual):
        plan = [(e['when'], e['action'], e['role']) for e in self.plan]
        self.note('plan of %s taken at +%ds:\n%s', ZA, self.plan_t - self.t0, self.plan_text)
        cut = self.plan_t + PLAN_CUT
        actual = [e for e in actual if e[0] >= self.plan_t and e[1] != 'initial key']
        problems = []
        used = set()
        ksk_ds_at = min([t for t, a, r in plan if a == 'submit DS' and r == 'ksk' and
                         t > self.plan_t + IPUB + 1] or [cut + 1])
        for t, a, r in plan:
            if t > cut:
                continue
            late = LATE_AFTER_DS if r != 'zsk' and t > ksk_ds_at else LATE
            m = [i for i, e in enumerate(actual) if i not in used and e[1:] == (a, r) and
                 t - 1 <= e[0] <= t + late]
            if m:
                used.add(m[0])
            else:
                problems.append('planned %s %s at %s: not performed then' % (a, r, self.rel(t)))
        for i, (t, a, r) in enumerate(actual):
            if i not in used and t <= cut:
                problems.append('the engine performed %s %s at %s: not in the plan'
                                % (a, r, self.rel(t)))
        if problems:
            self.soft('plan', 'zone plan of %s (taken at %s, until %s) does not match what the '
                      'engine did up to %s:\n  %s\nplan:\n%s\nperformed:\n%s', ZA,
                      self.rel(self.plan_t), self.rel(self.plan_t + PLAN_SPAN), self.rel(cut),
                      '\n  '.join(problems),
                      self.fmt_events([(e['when'], e['action'], e['role']) for e in self.plan]),
                      self.fmt_events(actual))

    # ---- scenario B: a CSK rollover ------------------------------------------------------

    def scenario_b(self):
        def done():
            ks = self.keys(ZB, 'csk')
            return len(ks) >= 2 and any(k['remove'] for k in ks)
        if not self.wait_until(done, max(1, self.t0 + 60 - time.time()), step=1):
            self.soft('B', 'the CSK rollover did not complete by +60s:\n%s\nevents:\n%s',
                      self.status_text(ZB), self.fmt_events(self.events(ZB)))
            return
        evs = self.events(ZB)
        self.note('B: events of %s:\n%s', ZB, self.fmt_events(evs))
        self.check_key_timing('B', ZB)
        active = [k for k in self.keys(ZB) if k['state'] == 'active']
        if len(active) != 1 or not active[0]['ds_seen']:
            self.soft('B', 'want one active CSK whose DS is seen:\n%s', self.status_text(ZB))

    # ---- scenario C: the parent never shows the new DS --------------------------------

    def scenario_c_stalled(self):
        # the old KSK reaches its lifetime at +20; look a good while after
        self.sleep_until(self.t0 + C_KSK_LIFETIME + 10)
        ks = sorted(self.keys(ZC, 'ksk'), key=lambda k: k['id'])
        text = self.status_text(ZC)
        self.note('C: status of %s at +%ds:\n%s', ZC, time.time() - self.t0, text)
        if len(ks) != 2:
            self.soft('C', 'want the old KSK and one successor, got %d KSKs:\n%s', len(ks), text)
            return
        old, new = ks
        if old['state'] != 'active' or old['retire']:
            self.soft('C', 'the old KSK %d should still be active:\n%s', old['tag'], text)
        if new['active'] or not new['ds_submitted'] or new['ds_seen']:
            self.soft('C', 'the successor KSK %d should wait with its DS submitted, not seen:\n%s',
                      new['tag'], text)
        if 'waiting for the parent' not in text:
            st_json = self.status(ZC)
            self.soft('C', 'zone status does not say that the KSK rollover waits for the parent '
                      '(next event: %s)', json.dumps(st_json['next']))
        if not self.ctl(ZC, 'zone', 'history', ZC).stdout.count('submit its DS') >= 2:
            self.soft('C', 'the successor\'s DS was never submitted')
        self.ds_vs_cds(ZC, 'while waiting for the parent')
        cds = self.cds_set(ZC)
        if not cds or len(cds) != 2:
            self.soft('C', 'CDS should show both KSKs\' DS while the rollover waits: %s', cds)

    def scenario_c_catch_up(self):
        # still stalled well past the lifetime; then the parent catches up
        self.sleep_until(self.t0 + 55)
        ks = sorted(self.keys(ZC, 'ksk'), key=lambda k: k['id'])
        if len(ks) != 2 or ks[0]['state'] != 'active' or ks[1]['active']:
            self.soft('C', 'at +55s the old KSK should still be the only active KSK:\n%s',
                      self.status_text(ZC))
        self.note('C: the parent catches up with %s', ZC)
        self.follow[ZC].set()

        def done():
            k = self.keys(ZC, 'ksk')
            return any(x['remove'] for x in k)
        if not self.wait_until(done, 25, step=0.5):
            self.soft('C', 'after the parent showed the DS the KSK rollover did not complete:\n%s',
                      self.status_text(ZC))
            return
        self.note('C: events of %s:\n%s', ZC, self.fmt_events(self.events(ZC)))
        self.check_key_timing('C', ZC)

    # ---- what the children serve, against the keys' timing points (E, F, G) -----------

    def sampler(self):
        """Every 0.3s, what child3 serves for each of its zones (see served())."""
        while not self.stop_monitor.is_set():
            t_round = time.time()
            for z in CHILD3_ZONES:
                t = time.time()
                try:
                    v = self.served(z)
                except Exception:
                    v = None
                with self.lock:
                    self.samples[z].append((t, v))
            self.stop_monitor.wait(max(0.0, 0.3 - (time.time() - t_round)))

    def expected(self, zone, keys, t):
        """What the child should serve at time t by the keys' stored timing points: DNSKEY
        = published and not removed; RRSIGs = active and not retired (DNSKEY RRset: KSK and
        CSK, other RRsets: ZSK and CSK); CDS and CDNSKEY = the DS set the parent should have
        (KSK/CSK, DS submitted, not withdrawn, not retired: with double-DS the DS goes
        before the key is published and stays after it left DNSKEY), or the RFC 8078 delete
        form while the zone is being unsigned and that set is empty."""
        def at(x):
            return x is not None and x <= t

        def pub(k):
            return at(k['publish']) and not at(k['remove'])

        def sig(k):
            return at(k['active']) and not at(k['retire'])

        def ka(k):
            return (k['tag'], k['algorithm'])
        e = {'dnskey': frozenset(ka(k) for k in keys if pub(k)),
             'ksig': frozenset(ka(k) for k in keys if sig(k) and k['role'] != 'zsk'),
             'zsig': frozenset(ka(k) for k in keys if sig(k) and k['role'] != 'ksk'),
             'cds': frozenset(ka(k) for k in keys if k['role'] != 'zsk' and
                              at(k['ds_submitted']) and not at(k['ds_withdrawn']) and
                              not at(k['retire']))}
        e['cdnskey'] = e['cds']
        u = self.unsign_at.get(zone)
        if u is not None and t >= u:
            ends = [k['remove'] for k in keys if k['remove'] and k['remove'] >= int(u)]
            finished = ends and all(k['remove'] for k in keys) and t >= max(ends)
            if not finished and not e['cds']:
                e['cds'] = frozenset([CDS_DELETE])
                e['cdnskey'] = frozenset([CDNSKEY_DELETE])
        return e

    def check_samples(self, scen, zone, since=None):
        """Compare every sample of what the child served with expected(), except within
        -0.2s..+2.2s of a timing point (the engine ticks once a second, signetctl writes
        take effect at the next tick). Returns the number of samples compared."""
        keys = self.keys(zone)
        tps = [k[f] for k in keys for f in ('publish', 'active', 'retire', 'remove',
                                              'ds_submitted', 'ds_withdrawn') if k[f]]
        if zone in self.unsign_at:
            tps.append(self.unsign_at[zone])
        with self.lock:
            samples = list(self.samples[zone])
        checked, skipped, bad = 0, 0, []
        for t, v in samples:
            if since is not None and t < since:
                continue
            if any(tp - 0.2 <= t <= tp + 2.2 for tp in tps):
                skipped += 1
                continue
            checked += 1
            if v is None:
                bad.append('%s: a query to the child failed' % self.rel_f(t))
                continue
            e = self.expected(zone, keys, t)
            diff = ['%s served %s, want %s' % (f, sorted(v[f]), sorted(e[f]))
                    for f in ('dnskey', 'ksig', 'zsig', 'cds', 'cdnskey') if v[f] != e[f]]
            if diff:
                bad.append('%s: %s' % (self.rel_f(t), '; '.join(diff)))
        self.note('%s: %s: what the child served (DNSKEY, RRSIG over DNSKEY, over www A, CDS, as '
                  'tag/algorithm):\n%s', scen, zone, self.fmt_phases(samples, since))
        self.note('%s: %s: %d samples of what the child served match the keys\' timing points '
                  '(%d near a transition not compared, %d differ)', scen, zone, checked - len(bad),
                  skipped, len(bad))
        if bad:
            self.soft(scen, '%s: %d of %d samples differ from what the keys\' timing points say '
                      'should be served (first ones):\n  %s\nkeys:\n%s', zone, len(bad), checked,
                      '\n  '.join(bad[:8]), self.fmt_keys(keys))
        if checked < 5:
            self.soft(scen, '%s: only %d samples compared', zone, checked)
        return checked

    def fmt_phases(self, samples, since=None):
        """The samples as a list of phases: from when the child served what."""
        def fmt(v):
            if v is None:
                return 'query failed'

            def keys(x):
                return ' '.join('%d/%d' % k for k in sorted(x)) or '-'
            cds = ('delete' if v['cds'] == {CDS_DELETE} else keys(v['cds']))
            return 'DNSKEY %-23s sig(DNSKEY) %-12s sig(A) %-12s CDS %s' % (
                keys(v['dnskey']), keys(v['ksig']), keys(v['zsig']), cds)
        out, last = [], None
        for t, v in samples:
            if since is not None and t < since:
                continue
            line = fmt(v)
            if line != last:
                out.append('    %8s  %s' % (self.rel_f(t), line))
                last = line
        return '\n'.join(out)

    def rel_f(self, t):
        return '%+.1fs' % (t - self.t0)

    def fmt_keys(self, keys):
        cols = ('publish', 'active', 'retire', 'remove', 'ds_submitted', 'ds_seen', 'ds_withdrawn')
        out = ['    %-6s %-4s %-4s %s' % ('tag', 'role', 'alg', ' '.join('%-12s' % c for c in cols))]
        for k in sorted(keys, key=lambda k: k['id']):
            out.append('    %-6d %-4s %-4d %s' % (k['tag'], k['role'], k['algorithm'],
                                                  ' '.join('%-12s' % self.rel(k[c]) for c in cols)))
        return '\n'.join(out)

    def seen_in_samples(self, zone, field, value, since=0.0):
        """The first sample time (after since) at which the child served value in field."""
        with self.lock:
            samples = list(self.samples[zone])
        for t, v in samples:
            if t >= since and v is not None and v[field] == value:
                return t
        return None

    def within(self, scen, what, t, lo, hi):
        """Soft-assert lo <= t <= hi for a timing point; returns t is inside."""
        if t is None or t < lo or t > hi:
            self.soft(scen, '%s at %s, want between %s and %s', what, self.rel(t), self.rel(lo),
                      self.rel(hi))
            return False
        return True

    # ---- scenario E: algorithm rollover 13 -> 15 (RFC 6781 4.1.4) ----------------------

    def scenario_e(self):
        zones = (ZE, ZE2)
        self.sleep_until(self.t_monitor + 4)
        for z in zones:
            ks = self.keys(z)
            if not ks or any(k['algorithm'] != ALG_OLD for k in ks):
                self.soft('E', '%s should start with algorithm %d keys only:\n%s', z, ALG_OLD,
                          self.fmt_keys(ks))
                return
        t_set = int(time.time())
        for z in zones:
            self.ctl(z, 'policy', 'set', 'roll', '--algorithm', 'ed25519')
        self.note('E: signetctl policy set roll --algorithm ed25519 for %s and %s', ZE, ZE2)
        plans = {}
        for z in zones:
            plan = self.ctl(z, 'zone', 'plan', z, '--until', '@%d' % (t_set + 60), json_out=True)
            # a step signetd took before the plan was computed is not in it: the plan is
            # computed somewhere before signetctl returns (a second or more under ASan),
            # so its time is taken after, rounded up
            plans[z] = (math.ceil(time.time()), plan)
            self.note('E: plan of %s:\n%s', z, self.fmt_events(
                [(e['when'], e['action'], e['role']) for e in plans[z][1]]))

        def done(z):
            old = [k for k in self.keys(z) if k['algorithm'] == ALG_OLD]
            return all(k['retire'] and k['remove'] for k in old)
        if not self.wait_until(lambda: all(done(z) for z in zones), 60, step=1):
            for z in zones:
                self.soft('E', '%s: the algorithm rollover did not complete in 60s:\n%s', z,
                          self.status_text(z))
            return
        time.sleep(3)   # the final state, sampled
        for z in zones:
            self.check_alg_rollover(z, t_set, plans[z])

    def check_alg_rollover(self, z, t_set, plan):
        ks = self.keys(z)
        self.note('E: keys of %s after the algorithm rollover:\n%s', z, self.fmt_keys(ks))
        old = [k for k in ks if k['algorithm'] == ALG_OLD]
        new = [k for k in ks if k['algorithm'] == ALG_NEW]
        roles = ['csk'] if POLICIES[z][0] == '--csk' else ['ksk', 'zsk']
        if sorted(k['role'] for k in new) != roles or sorted(k['role'] for k in old) != roles:
            self.soft('E', '%s: want one %s key per role %s, got old %s new %s', z, ALG_NEW, roles,
                      [k['role'] for k in old], [k['role'] for k in new])
            return
        nk = [k for k in new if k['role'] != 'zsk'][0]
        ok = [k for k in old if k['role'] != 'zsk'][0]
        # 1. the new keys sign first, unpublished
        a = min(k['active'] for k in new)
        self.within('E', '%s: the %d keys start signing' % (z, ALG_NEW), a, t_set, t_set + LATE)
        if any(k['active'] != a for k in new):
            self.soft('E', '%s: the new keys did not start signing together', z)
        # 2. published once their signatures are in every cache: max TTL + propagation
        p = min(k['publish'] or 0 for k in new)
        self.within('E', '%s: the %d keys published' % (z, ALG_NEW), p, a + ZSK_GONE,
                    a + ZSK_GONE + LATE)
        # 3. the new DS is submitted once the DNSKEYs have propagated (Ipub)
        s_ = nk['ds_submitted']
        self.within('E', '%s: new DS submitted' % z, s_, p + IPUB, p + IPUB + LATE)
        n = nk['ds_seen']
        if not n or n < s_:
            self.soft('E', '%s: the new DS was never seen at the parent', z)
            return
        # 4. the old DS is withdrawn once the parent serves the new one + DS TTL
        w = ok['ds_withdrawn']
        self.within('E', '%s: old DS withdrawn' % z, w, n + DS_WAIT, n + DS_WAIT + LATE)
        if w is None:
            return
        # 5. the old keys leave the DNSKEY RRset once the old DS has left caches
        r = min(k['remove'] for k in old)
        self.within('E', '%s: the %d keys leave the DNSKEY RRset' % (z, ALG_OLD), r,
                    w + DS_WAIT, w + DS_WAIT + LATE)
        # 6. the old signatures stop once the old DNSKEYs have left caches (Ipub)
        x = min(k['retire'] for k in old)
        self.within('E', '%s: the %d signatures stop' % (z, ALG_OLD), x, r + IPUB,
                    r + IPUB + LATE)
        if any(k['remove'] != r or k['retire'] != x for k in old):
            self.soft('E', '%s: the old keys did not leave together', z)
        self.note('E: %s: policy set %s, %d signs %s, published %s, DS submitted %s, seen %s, '
                  'old DS withdrawn %s, old keys out of DNSKEY %s, old signatures stop %s', z,
                  self.rel(t_set), ALG_NEW, self.rel(a), self.rel(p), self.rel(s_), self.rel(n),
                  self.rel(w), self.rel(r), self.rel(x))
        # what CDS showed: old, then old + new from the submission, then new from withdrawal
        both = frozenset([(ok['tag'], ALG_OLD), (nk['tag'], ALG_NEW)])
        only_new = frozenset([(nk['tag'], ALG_NEW)])
        t_both = self.seen_in_samples(z, 'cds', both)
        t_new = self.seen_in_samples(z, 'cds', only_new, since=t_both or 0)
        self.note('E: %s: CDS showed both DS from %s, only the %d DS from %s', z,
                  self.rel_f(t_both) if t_both else 'never', ALG_NEW,
                  self.rel_f(t_new) if t_new else 'never')
        if not t_both or not t_new:
            self.soft('E', '%s: CDS should show the old and new DS, then the new one only', z)
        # the parent's DS RRset went old -> old + new -> new
        with self.lock:
            hist = [frozenset(d[:2] for d in ds) for _, ds in self.parent_hist[z]]
        want = [frozenset([(ok['tag'], ALG_OLD)]), both, only_new]
        if [h for h in hist if h in want] != want:
            self.soft('E', '%s: the parent\'s DS sets were %s, want %s', z,
                      [sorted(h) for h in hist], [sorted(h) for h in want])
        # the end: only algorithm 15 is published and signs, at the child and the parent
        now = time.time()
        live = [k for k in ks if (k['publish'] and k['publish'] <= now and not k['remove']) or
                (k['active'] and k['active'] <= now and not k['retire'])]
        if any(k['algorithm'] != ALG_NEW for k in live):
            self.soft('E', '%s: keys of algorithm %d still published or signing', z, ALG_OLD)
        v = self.served(z)
        want_served = {'dnskey': frozenset((k['tag'], ALG_NEW) for k in new),
                       'ksig': only_new,
                       'zsig': frozenset((k['tag'], ALG_NEW) for k in new if k['role'] != 'ksk'),
                       'cds': only_new}
        if v is None or any(v[f] != want_served[f] for f in want_served):
            self.soft('E', '%s: at the end the child serves %s, want %s', z,
                      v and {f: sorted(v[f]) for f in want_served},
                      {f: sorted(x) for f, x in want_served.items()})
        pds = self.parent_ds(z)
        if not pds or {d[:2] for d in pds} != set(only_new):
            self.soft('E', '%s: at the end the parent serves DS %s, want only %s', z,
                      sorted(pds or []), sorted(only_new))
        r_ub = self.unbound.query(z, 'DNSKEY')
        if 'ad' not in r_ub.flags or r_ub.rcode != 'NOERROR':
            self.soft('E', '%s: unbound does not validate the DNSKEY RRset at the end: %s', z, r_ub)
        self.check_samples('E', z)
        self.compare_alg_plan(z, plan, {'algorithm: sign': a, 'algorithm: publish': p,
                                        'submit DS': s_, 'algorithm: old DS out': w,
                                        'algorithm: old keys out': r,
                                        'algorithm: old sigs out': x})

    def compare_alg_plan(self, z, plan, performed):
        """The plan taken just after the policy changed: the same steps, in the same order,
        each when performed (later by the parent's delay after the DS). signetd may have
        taken the first step before the plan was made: such a step is not in the plan."""
        t_plan, plan = plan
        steps = [e for e in plan if e['action'] in performed and
                 (e['action'] != 'submit DS' or e['role'] != 'zsk')]
        got = [e['action'] for e in steps]
        want = [a for a, t in performed.items() if a in got or t > t_plan]
        problems = []
        if got != want:
            problems.append('planned steps %s, performed %s' % (got, want))
        else:
            for e in steps:
                late = LATE_AFTER_DS if e['action'] in ('algorithm: old DS out', 'algorithm: old keys out',
                                                          'algorithm: old sigs out') else LATE
                t = performed[e['action']]
                if not e['when'] - 1 <= t <= e['when'] + late:
                    problems.append('%s planned at %s, performed at %s' % (
                        e['action'], self.rel(e['when']), self.rel(t)))
        if problems:
            self.soft('E', '%s: zone plan vs the algorithm rollover performed:\n  %s', z,
                      '\n  '.join(problems))

    # ---- scenario F: signetctl key compromise ------------------------------------------

    def compromise(self, z, role):
        ks = [k for k in self.keys(z, role) if k['state'] == 'active']
        if len(ks) != 1:
            self.soft('F', '%s: want one active %s to compromise:\n%s', z, role,
                      self.status_text(z))
            return None
        old = ks[0]
        t_c = int(time.time())
        out = self.ctl(z, 'key', 'compromise', str(old['id'])).stdout
        self.note('F: signetctl key compromise %d (%s %d of %s):\n%s', old['id'], role, old['tag'],
                  z, out.strip())
        waits = ['(%ds)' % IPUB] + (['(%ds)' % ZSK_GONE] if role == 'zsk' else ['(%ds)' % DS_WAIT])
        if 'cannot be skipped' not in out or not all(w in out for w in waits):
            self.soft('F', '%s: the compromise report should say which waits cannot be '
                      'skipped, with %s: %r', z, ' and '.join(waits), out)
        return old, t_c

    def compromise_done(self, z, role, old, t_c, timeout):
        def done():
            k = [x for x in self.keys(z, role) if x['id'] == old['id']]
            return k and k[0]['remove']
        if not self.wait_until(done, timeout, step=0.5):
            self.soft('F', '%s: the replacement of compromised %s %d did not complete in %ds:\n%s',
                      z, role, old['tag'], timeout, self.status_text(z))
            return False
        return True

    def check_compromise(self, z, role, old, t_c):
        ks = self.keys(z, role)
        o = [k for k in ks if k['id'] == old['id']][0]
        succ = [k for k in ks if k['id'] > o['id']]
        if len(succ) != 1:
            self.soft('F', '%s: want exactly one successor of %s %d, got %d:\n%s', z, role,
                      o['tag'], len(succ), self.fmt_keys(ks))
            return
        n = succ[0]
        self.within('F', '%s: successor %s %d published' % (z, role, n['tag']), n['publish'],
                    t_c, t_c + 1)
        if n['active'] != o['retire']:
            self.soft('F', '%s: %s %d signs at %s, compromised %d retires at %s', z, role,
                      n['tag'], self.rel(n['active']), o['tag'], self.rel(o['retire']))
        if role == 'zsk':
            self.within('F', '%s: successor ZSK %d signs' % (z, n['tag']), n['active'],
                        n['publish'] + IPUB, n['publish'] + IPUB + LATE)
            gone = ZSK_GONE
        else:
            self.within('F', '%s: successor DS submitted' % z, n['ds_submitted'],
                        n['publish'] + IPUB, n['publish'] + IPUB + LATE)
            if not n['ds_seen']:
                self.soft('F', '%s: the successor\'s DS was never seen', z)
                return
            self.within('F', '%s: successor %s %d signs' % (z, role, n['tag']), n['active'],
                        n['ds_seen'] + DS_WAIT, n['ds_seen'] + DS_WAIT + LATE)
            gone = max(DS_WAIT, IPUB if role == 'ksk' else ZSK_GONE)
        self.within('F', '%s: compromised %s %d removed' % (z, role, o['tag']), o['remove'],
                    o['retire'] + gone, o['retire'] + gone + LATE)
        if o['state'] != 'removed' or n['state'] != 'active':
            self.soft('F', '%s: states after the replacement: compromised %s, successor %s', z,
                      o['state'], n['state'])
        lifetime_end = o['active'] + F_LIFETIME[role]
        if not o['retire'] < lifetime_end:
            self.soft('F', '%s: compromised %s %d retired at %s, not before its lifetime end %s',
                      z, role, o['tag'], self.rel(o['retire']), self.rel(lifetime_end))
        self.note('F: %s: %s %d compromised at %s: successor %d published %s, %s'
                  'signs %s (compromised one retires), removed %s; %ds from report to removal, '
                  'the lifetime would have rolled it at %s', z, role, o['tag'], self.rel(t_c),
                  n['tag'], self.rel(n['publish']),
                  '' if role == 'zsk' else 'DS submitted %s, seen %s, ' % (
                      self.rel(n['ds_submitted']), self.rel(n['ds_seen'])),
                  self.rel(n['active']), self.rel(o['remove']), o['remove'] - t_c,
                  self.rel(lifetime_end))

    def scenario_f(self):
        self.sleep_until(self.t_monitor + 4)
        zsk = self.compromise(ZF, 'zsk')
        csk = self.compromise(ZF2, 'csk')
        if zsk and self.compromise_done(ZF, 'zsk', zsk[0], zsk[1], 30):
            self.check_compromise(ZF, 'zsk', *zsk)
        # then the KSK of the same zone
        ksk = self.compromise(ZF, 'ksk')
        if csk and self.compromise_done(ZF2, 'csk', csk[0], csk[1], 40):
            self.check_compromise(ZF2, 'csk', *csk)
        if ksk and self.compromise_done(ZF, 'ksk', ksk[0], ksk[1], 40):
            self.check_compromise(ZF, 'ksk', *ksk)
        time.sleep(3)
        for z in (ZF, ZF2):
            self.note('F: keys of %s:\n%s', z, self.fmt_keys(self.keys(z)))
            self.check_samples('F', z)

    # ---- scenario G: signetctl zone unsign ---------------------------------------------

    # ---- scenario H: double-DS KSK rollover (RFC 7583 3.3.2) ------------------------------

    def scenario_h(self):
        """The successor's DS reaches the parent before its DNSKEY is published; after the DS
        is seen + DS TTL the DNSKEY RRset swaps old KSK for new in one step (never both); the
        old DS is withdrawn and the old KSK retires Ipub later. The monitor proves unbound
        validates throughout; the sampler, that the child serves what the timing points say."""
        z = ZH

        def done():
            ks = sorted(self.keys(z, 'ksk'), key=lambda k: k['id'])
            return len(ks) >= 2 and ks[0]['retire'] and ks
        ks = self.wait_until(done, 60, step=0.5)
        if not ks:
            self.soft('H', '%s: the double-DS rollover did not complete in 60s:\n%s\nevents:\n%s',
                      z, self.status_text(z), self.fmt_events(self.events(z)))
            return
        ks = sorted(ks, key=lambda k: k['id'])
        old, new = ks[0], ks[1]
        self.note('H: %s: keys\n%s', z, self.fmt_keys(ks))
        if not (new['ds_submitted'] and new['publish'] and new['ds_seen']):
            self.soft('H', '%s: successor timing points missing:\n%s', z, self.fmt_keys(ks))
            return
        # the successor's DS went first, at the old key's lifetime minus Ipub (the engine's
        # Ipub has its one-second margin)
        self.within('H', '%s: new DS submitted' % z, new['ds_submitted'],
                    old['active'] + H_KSK_LIFETIME - IPUB - 1,
                    old['active'] + H_KSK_LIFETIME - IPUB + LATE)
        if not new['ds_submitted'] < new['publish']:
            self.soft('H', '%s: new KSK published %s before its DS was submitted %s', z,
                      self.rel(new['publish']), self.rel(new['ds_submitted']))
        # the swap: after DS seen + DS TTL, one step
        self.within('H', '%s: swap' % z, new['publish'], new['ds_seen'] + DS_WAIT,
                    new['ds_seen'] + DS_WAIT + LATE)
        if not (new['publish'] == new['active'] == old['remove']):
            self.soft('H', '%s: the swap is not one step: new published %s active %s, old '
                      'removed %s', z, self.rel(new['publish']), self.rel(new['active']),
                      self.rel(old['remove']))
        # the old DS stays until the old DNSKEY RRset has left caches
        self.within('H', '%s: old DS withdrawn' % z, old['ds_withdrawn'],
                    old['remove'] + IPUB, old['remove'] + IPUB + LATE)
        if old['retire'] != old['ds_withdrawn']:
            self.soft('H', '%s: old KSK retired %s, its DS withdrawn %s: want one moment', z,
                      self.rel(old['retire']), self.rel(old['ds_withdrawn']))
        # what the parent served (registrar history) vs what the child served (samples)
        with self.lock:
            hist = list(self.parent_hist[z])
        t_parent = next((t for t, ds in hist if any(d[0] == new['tag'] for d in ds)), None)
        with self.lock:
            samples = list(self.samples[z])
        t_child = next((t for t, v in samples
                        if v is not None and any(tag == new['tag'] for tag, _ in v['dnskey'])), None)
        if t_parent is None or t_child is None or not t_parent < t_child:
            self.soft('H', '%s: the parent should serve the new DS (%s) before the child serves '
                      'the new DNSKEY (%s)', z, self.rel_f(t_parent) if t_parent else '-',
                      self.rel_f(t_child) if t_child else '-')
        ksk_tags = {old['tag'], new['tag']}
        both = [t for t, v in samples
                if v is not None and len({tag for tag, _ in v['dnskey']} & ksk_tags) > 1]
        if both:
            self.soft('H', '%s: the DNSKEY RRset held both KSKs at %d samples (first %s): '
                      'double-DS never publishes two', z, len(both), self.rel_f(both[0]))
        # the parent ends with exactly the new DS once the old one is withdrawn
        want = frozenset([(new['tag'], new['algorithm'])])
        got = self.wait_until(lambda: frozenset(d[:2] for d in (self.parent_ds(z) or ())) == want,
                              10)
        if not got:
            self.soft('H', '%s: the parent serves %s, want only the new DS', z, self.parent_ds(z))
        self.sleep_until(old['retire'] + 3)
        self.check_samples('H', z, since=self.t_monitor)
        self.note('H: %s: new DS submitted %s, at the parent %s, seen %s, swap %s, old DS '
                  'withdrawn %s', z, self.rel(new['ds_submitted']), self.rel_f(t_parent),
                  self.rel(new['ds_seen']), self.rel(new['publish']), self.rel(old['ds_withdrawn']))

    def scenario_g(self):
        z = ZG
        self.sleep_until(self.t_monitor + 4)
        before = self.parent_ds(z)
        self.unsign_at[z] = time.time()
        out = self.ctl(z, 'zone', 'unsign', z).stdout
        self.note('G: signetctl zone unsign %s:\n%s', z, out.strip())
        t_cds = self.wait_until(lambda: self.cds_set(z) == {CDS_DELETE} and time.time(), 10,
                                step=0.2)
        t_cdk = self.wait_until(lambda: self.cdnskey_set(z) == {CDNSKEY_DELETE} and time.time(),
                                5, step=0.2)
        if not t_cds or not t_cdk:
            self.soft('G', '%s: CDS/CDNSKEY do not show the RFC 8078 delete form: CDS %s, '
                      'CDNSKEY %s', z, self.cds_set(z), self.cdnskey_set(z))
            return
        self.note('G: %s serves CDS 0 0 0 00 and CDNSKEY 0 3 0 AA== (the parent had DS %s)',
                  z, sorted(d[0] for d in before or ()))
        if not self.wait_until(lambda: self.ds_gone_at.get(z), 20):
            self.soft('G', '%s: the registrar did not remove the DS and run ds gone', z)
            return
        t_gone = self.ds_gone_at[z]

        def finished():
            ks = self.keys(z)
            return all(k['remove'] and k['retire'] for k in ks) and ks
        if not self.wait_until(finished, 20, step=0.5):
            self.soft('G', '%s: signing did not stop after the DS was gone:\n%s', z,
                      self.status_text(z))
            return
        ks = self.keys(z)
        fin = max(k['retire'] for k in ks)
        t_ins = self.insecure_from.get(z)
        for k in ks:
            if k['role'] != 'zsk':
                self.within('G', '%s: DS of %s %d withdrawn' % (z, k['role'], k['tag']),
                            k['ds_withdrawn'], int(self.unsign_at[z]), self.unsign_at[z] + 2)
            if k['retire'] != fin or k['remove'] != fin:
                self.soft('G', '%s: %s %d retired %s removed %s, want both at %s', z, k['role'],
                          k['tag'], self.rel(k['retire']), self.rel(k['remove']), self.rel(fin))
        # signing stops only after the parent dropped the DS and its DS TTL passed
        self.within('G', '%s: signing stops' % z, fin, int(t_gone) - 1 + DS_WAIT,
                    t_gone + DS_WAIT + LATE)
        state = self.ctl(z, 'zone', 'show', z, json_out=True)['state']
        if state != 'unsigned':
            self.soft('G', '%s: zone state %r, want unsigned', z, state)
        self.note('G: %s: unsign %s, delete CDS served %s, parent DS removal started %s, '
                  'ds gone %s, signing stopped %s', z, self.rel_f(self.unsign_at[z]),
                  self.rel_f(t_cds), self.rel_f(t_ins) if t_ins else '-', self.rel_f(t_gone),
                  self.rel(fin))
        # the child serves an unsigned zone, and unbound answers insecure (no AD)
        self.sleep_until(fin + 2)
        v = self.served(z)
        empty = frozenset()
        if v is None or any(v[f] != empty for f in ('dnskey', 'ksig', 'zsig', 'cds', 'cdnskey')):
            self.soft('G', '%s: the unsigned zone still serves DNSSEC records: %s', z, v)

        def insecure():
            for name, qt, rc in (('www.' + z, 'A', 'NOERROR'), ('nope.' + z, 'A', 'NXDOMAIN'),
                                 (z, 'DNSKEY', 'NOERROR')):
                r = self.unbound.query(name, qt)
                if r.rcode != rc or 'ad' in r.flags:
                    return None
                if qt == 'A' and rc == 'NOERROR' and not r.rrs('answer', 'A'):
                    return None
            return time.time()
        t_i = self.wait_until(insecure, 10, step=1)
        if not t_i:
            r = self.unbound.query('www.' + z, 'A')
            self.soft('G', '%s: unbound does not answer insecure after signing stopped: %s', z, r)
        else:
            self.note('G: unbound answers %s insecure (NOERROR/NXDOMAIN without AD) at %s', z,
                      self.rel_f(t_i))
        with self.lock:
            obs = list(self.insecure_obs.get(z, []))
        first_no_ad = min([t for t, _, _, secure in obs if not secure] or [0])
        self.note('G: monitor after the DS removal began: %d answers with AD, %d without '
                  '(first without AD at %s); a SERVFAIL would be a resolver failure',
                  sum(1 for o in obs if o[3]), sum(1 for o in obs if not o[3]),
                  self.rel_f(first_no_ad) if first_no_ad else '-')
        self.check_samples('G', z)

    # ---- scenario D: SIGKILL mid-rollover --------------------------------------------

    def kill(self, why):
        with self.lock:
            self.down_since = time.time()
        before = {k['id']: k for k in self.keys(ZD)}
        t_kill, t_up = self.child2.kill_restart()
        with self.lock:
            self.downtimes.append((t_kill, t_up))
            self.down_since = None
        self.note('D: SIGKILL %s; restarted, answering after %.2fs', why, t_up - t_kill)
        after = {k['id']: k for k in self.keys(ZD)}
        if set(after) != set(before):
            self.soft('D', 'keys changed across the restart (%s): %s -> %s', why,
                      sorted(before), sorted(after))

    def scenario_d(self):
        self.follow[ZD].clear()   # the parent is slow this time
        r = self.ctl(ZD, 'zone', 'roll', ZD, '--ksk')
        self.ctl(ZD, 'zone', 'roll', ZD, '--zsk')
        self.note('D: %s', r.stdout.strip())
        self.ds_vs_cds(ZD, 'just after zone roll --ksk')
        time.sleep(0.5)
        self.kill('right after both successors were published')

        def new_ksk():
            ks = sorted(self.keys(ZD, 'ksk'), key=lambda k: k['id'])
            return ks[-1] if len(ks) == 2 else None
        k = self.wait_until(lambda: (new_ksk() or {}).get('ds_submitted') and new_ksk(), 15)
        if not k:
            self.soft('D', 'the new KSK\'s DS was never submitted:\n%s', self.status_text(ZD))
            self.follow[ZD].set()
            return
        time.sleep(1)
        self.kill('while waiting for the parent to show the new DS')
        # the ZSK rollover goes on; the KSK waits
        text = self.wait_until(lambda: (lambda t: t if 'waiting for the parent' in t else None)(
            self.status_text(ZD)), 12)
        if not text:
            self.soft('D', 'zone status does not say it waits for the parent:\n%s',
                      self.status_text(ZD))
        ks = sorted(self.keys(ZD, 'ksk'), key=lambda k: k['id'])
        if ks[0]['state'] != 'active' or ks[1]['active']:
            self.soft('D', 'without the DS at the parent the old KSK must stay active:\n%s',
                      self.status_text(ZD))
        self.follow[ZD].set()
        seen = self.wait_until(lambda: new_ksk()['ds_seen'], 15)
        if not seen:
            self.soft('D', 'the registrar did not confirm the new DS')
            return
        self.sleep_until(seen + 1.2)
        self.kill('between DS seen and the switch')
        sw = self.wait_until(lambda: new_ksk()['active'], 15, step=0.2)
        if not sw:
            self.soft('D', 'the new KSK never started signing:\n%s', self.status_text(ZD))
            return
        self.ds_vs_cds(ZD, 'just after the switch')
        self.kill('right after the switch (old KSK retired, not removed)')
        rm = self.wait_until(lambda: all(x['remove'] for x in self.keys(ZD)
                                         if x['retire']), 15)
        if not rm:
            self.soft('D', 'the retired keys were never removed:\n%s', self.status_text(ZD))
        evs = self.events(ZD)
        self.note('D: events of %s:\n%s', ZD, self.fmt_events(evs))
        self.note('D: status:\n%s', self.status_text(ZD))
        dup = self.repeated(ZD)
        if dup:
            self.soft('D', 'events repeated after restarts: %s', dup)
        ks = self.keys(ZD)
        if len(ks) != 4:
            self.soft('D', 'want 4 keys (2 KSK, 2 ZSK), got %d:\n%s', len(ks), self.status_text(ZD))
        self.check_key_timing('D', ZD)
        if len([e for e in evs if e[1] == 'switch to successor']) != 2:
            self.soft('D', 'want one KSK and one ZSK switch:\n%s', self.fmt_events(evs))


if __name__ == '__main__':
    if not rr.unbound_available():
        print('unbound is not installed: skipped')
        sys.exit(77)
    st.main()
