# SPDX-License-Identifier: MIT
"""integ.rollover: the rollover engine against a real parent and a validating resolver
(issue 5, "The proof"), for what the engine does today.

Three signetd processes and one unbound on loopback:

    parent   parent.test.        CSK that never rolls; its DS is unbound's trust anchor
    child1   child.parent.test.  scenario A: KSK+ZSK, ZSK lifetime 20s, KSK lifetime 40s
             csk.parent.test.    scenario B: CSK, lifetime 30s
             stuck.parent.test.  scenario C: KSK+ZSK, KSK lifetime 20s; the parent never
                                 shows the new DS (until the end, when it catches up)
    child2   kill.parent.test.   scenario D: KSK+ZSK without lifetimes, rolled by hand,
                                 SIGKILLed and restarted at four points of the rollovers
    unbound  validating, cache on, real TTLs, stub zones for every zone above

The test is the registrar: when a child's CDS set changes it rewrites the parent zone's DS
RRset for that child, SIGHUPs the parent, waits until the parent serves it, and runs
`signetctl ds seen ZONE`. A monitor thread asks unbound, every second for the whole test,
a positive name, an NXDOMAIN name and the DNSKEY RRset of every zone: one SERVFAIL or
answer without AD fails the test (while child2 is down after a SIGKILL, a SERVFAIL that is
not a DNSSEC error is tolerated and reported). `zone plan`, taken when scenario A starts,
must list the events the engine then performs.

Not covered because the engine does not do them yet: algorithm rollovers, `key compromise`
and `zone unsign`.

Python 3 standard library only. signetd and signetctl come from $SIGNETD / $SIGNETCTL
(CTest passes the built targets), else build/daemon/signetd and build/ctl/signetctl.
"""

import json
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
CHILD1_ZONES = (ZA, ZB, ZC)
ALL_CHILDREN = (ZA, ZB, ZC, ZD)

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
}
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


def ds_from_cds_wire(rdata_text):
    """signet_test renders CDS (type 59) as '\\# LEN HEX'."""
    f = rdata_text.split()
    b = bytes.fromhex(''.join(f[2:]))
    return (int.from_bytes(b[0:2], 'big'), b[2], b[3], b[4:].hex().upper())


class Proc(st.Signetd):
    """A signetd that can be SIGKILLed and restarted on the same port."""

    def kill_restart(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        st._LIVE.discard(self.proc)
        self._log.close()
        t_kill = time.time()
        for _ in range(50):
            self._log = open(self.log_path, 'ab')
            self.proc = subprocess.Popen([st.signetd_path(), '-c', self.corefile_path],
                                         stdin=subprocess.DEVNULL, stdout=self._log,
                                         stderr=self._log, cwd=self.dir,
                                         preexec_fn=st._die_with_parent)
            st._LIVE.add(self.proc)
            if self._wait_ready():
                return t_kill, time.time()
            if self.proc.poll() is None:
                raise RuntimeError('restarted signetd does not answer; log:\n%s' % self.log()[-3000:])
            st._LIVE.discard(self.proc)
            self._log.close()
            time.sleep(0.1)   # the port is still held: try again
        raise RuntimeError('signetd could not restart; log:\n%s' % self.log()[-3000:])


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

    def parent_ds(self, zone):
        r = self.raw(PARENT, zone, 'DS')
        if r is None:
            return None
        return frozenset(ds_key(x.rdata) for x in r.answer if x.type == 'DS')

    def wait_until(self, cond, timeout, step=0.3):
        deadline = time.time() + timeout
        while True:
            v = cond()
            if v or time.time() > deadline:
                return v
            time.sleep(step)

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

    def publish_ds(self, zone, dsset):
        """Put dsset at the parent for zone, wait until the parent serves it, confirm."""
        old = self.parent_set[zone]
        self.parent_set[zone] = dsset
        self.write_parent()
        self.parent.send_signal(signal.SIGHUP)
        served = self.wait_until(lambda: self.parent_ds(zone) == dsset, 15)
        if not served:
            self.soft('registrar', 'the parent does not serve the new DS set of %s: %s',
                      zone, self.parent_ds(zone))
            return
        self.note('registrar: parent serves DS of %s: tags %s (was %s)', zone,
                  sorted(d[0] for d in dsset), sorted(d[0] for d in old))
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
                if cds and cds != self.parent_set[z]:
                    self.note('registrar: CDS of %s is now tags %s', z, sorted(d[0] for d in cds))
                    try:
                        self.publish_ds(z, cds)
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

    def check_reply(self, zone, name, qtype, want_rcode):
        try:
            r = self.unbound.query(name, qtype)
        except Exception as e:
            return 'no reply (%s)' % e, None
        problems = []
        if r.rcode != want_rcode:
            problems.append('rcode %s' % r.rcode)
        if 'ad' not in r.flags:
            problems.append('no AD')
        if want_rcode == 'NOERROR' and not any(x.type == qtype for x in r.answer):
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
                    problem, r = self.check_reply(z, name, qt, rc)
                    with self.lock:
                        self.queries += 1
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
        self.parent = self.child1 = self.child2 = self.unbound = None
        self.threads = []
        self.stop_registrar = threading.Event()
        self.stop_monitor = threading.Event()
        self.follow = {z: threading.Event() for z in ALL_CHILDREN}
        self.parent_set = {z: frozenset() for z in ALL_CHILDREN}
        self.parent_serial = 0
        self.db = {PARENT: os.path.join(self.dir, 'parent.db')}
        for i, z in enumerate(ALL_CHILDREN):
            self.db[z] = os.path.join(self.dir, 'child-%s.db' % label(z))

    def tearDown(self):
        self.stop_monitor.set()
        self.stop_registrar.set()
        for t in self.threads:
            t.join(30)
        for s in (self.unbound, self.child1, self.child2, self.parent):
            if s is not None:
                try:
                    s.cleanup() if isinstance(s, rr.Unbound) else s.stop()
                except Exception:
                    pass
        keep = os.environ.get('SIGNET_KEEP_TMP')
        for s in (self.child1, self.child2, self.parent):
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
        self.parent = Proc('{\n    workers 1\n}\n%s:$port {\n    bind 127.0.0.1\n'
                           '    dnssec {\n        keystore %s\n        policy roll\n    }\n'
                           '    file $dir/parent.zone %s\n    errors\n}\n'
                           % (PARENT, self.db[PARENT], PARENT),
                           ready_name=PARENT, workdir=os.path.join(self.dir, 'parent'))
        os.makedirs(self.parent.dir)
        self.write_parent()
        self.parent.start()
        for z in ALL_CHILDREN:
            self.ctl(z, 'policy', 'add', 'roll', *(POLICIES[z] + TIMING))
        self.child1 = Proc(self.corefile(CHILD1_ZONES), ready_name=ZA,
                           workdir=os.path.join(self.dir, 'child1'))
        self.child2 = Proc(self.corefile((ZD,)), ready_name=ZD,
                           workdir=os.path.join(self.dir, 'child2'))
        for srv, zones in ((self.child1, CHILD1_ZONES), (self.child2, (ZD,))):
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
        self.note('monitor started')

        self.scenario_d()
        self.scenario_c_stalled()
        self.scenario_a()
        self.scenario_b()
        self.scenario_c_catch_up()

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
        for name, srv in (('parent', self.parent), ('child1', self.child1), ('child2', self.child2)):
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
        for s in ('A', 'B', 'C', 'D', 'plan', 'resolver', 'registrar', 'servers'):
            print('  %-9s %s' % (s, 'FAIL (%d)' % len(by[s]) if s in by else 'pass'))
        for s in by:
            if s not in ('A', 'B', 'C', 'D', 'plan', 'resolver', 'registrar', 'servers'):
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
