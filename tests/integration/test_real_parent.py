# SPDX-License-Identifier: MIT
"""integ.real_parent: KSK and CSK rollovers driven by signetd's own rollover engine and its
own registrar pushes stay valid for a validating resolver against a real parent server
(issue 13, "Rollovers that stay valid against a real parent").

On 127.0.0.1, each on a free port:

    knotd      the parent zone test., signed by Knot itself (one CSK that never rolls),
               accepting DS changes only as TSIG-signed UPDATEs (key ds-push.); the only
               trust anchor of unbound is its DNSKEY
    emulator   an HTTPS registry (a CA made at test time) that signetd's `registrar rest`
               talks to; on every add and remove it applies the change to Knot with
               knsupdate, with ITS OWN DS TTL, whatever the child's policy says
    signetd    one zone per scenario, each in its own server block with a `dnssec` block,
               a policy (DNSKEY TTL 5s, parent DS TTL 5s, propagation 1s, KSK lifetime 60s,
               the ZSK never rolls) and a registrar block
    control    a second signetd with SIGNET_ROLL_IGNORE_OBSERVED=1 (the engine trusts only
               the configured TTLs): the negative control
    killed     a third signetd, for scenario 8 alone, SIGKILLed and restarted on its port
    unbound    validating, cache on, real TTLs, stub zones for test. (Knot) and for each
               child (signetd); asked every second, per zone, for the SOA, the DNSKEY RRset,
               www A and a random NXDOMAIN name

Scenarios, all at once (the wall time is that of the slowest):

    1  ksk-update.test.  double-KSK, registrar update (the parent keeps the TTL signetd
                         writes: the policy's parent-ds-ttl once the update provider uses it)
    2  ksk-long.test.    double-KSK, registry with a LONGER DS TTL (25s) than the policy's
    3  ksk-short.test.   double-KSK, registry with a SHORTER DS TTL (2s)
    4  dds-long.test.    double-DS, registry with the longer TTL
    5  csk-update.test.  CSK, registrar update
    6  control.test.     double-KSK, longer TTL, in the control signetd: must go bogus
    7  alg-long.test.    CSK on ECDSAP256SHA256, registry with the longer TTL: once the zone
                         is secure, `policy set --algorithm ed25519` starts an algorithm
                         rollover (RFC 6781 4.1.4); then one ordinary CSK rollover of the
                         new key (its lifetime, 90s, runs out after the algorithm rollover)
    8  ksk-kill.test.    double-KSK, registry with the longer TTL, in a signetd of its own:
                         during the SECOND rollover, every time a timing point of a key is
                         written (successor published, DS submitted, DS seen, switch,
                         removal) signetd is SIGKILLed at once and restarted on the same
                         port with the same Corefile and keystore

The worst-case resolver: just before a successor's DS reaches the parent (the registry's
add, or, for the update provider, the moment the successor key appears) the test flushes
the child's DS from unbound's cache (unbound-control flush_type) and asks unbound for it
again, so unbound holds the OLD DS set, freshly fetched with the parent's full TTL, when
the change lands. Without that, whether a too-short wait shows up depends on where the
DS happened to be in its cache lifetime (it did not, once in three rollovers).

Scenarios 1-5 must each complete two consecutive KSK (CSK) rollovers with no bogus answer
(SERVFAIL, or an EDE 1..12), no insecure one (no AD, once that kind of answer has been
validated secure) and no wrong one; from the keystore's timing points, every successor
must start signing no sooner than the parent DS TTL observed at Knot plus the parent
propagation delay after its DS was seen. Scenario 6 must give at least one bogus answer.

Scenario 7 must end with the ECDSA key retired and out of the DNSKEY RRset and only the
current ED25519 key's DS at Knot; from the timing points: the ED25519 key signs before it
is published (by the zone's max TTL + propagation), its DS is submitted Ipub after it is
published, the ECDSA DS is withdrawn no sooner than the observed DS TTL + propagation
after the ED25519 DS was seen (a resolver holding the ECDSA-only DS set needs the ECDSA
DNSKEY until then) and the ECDSA key leaves the DNSKEY RRset no sooner than that after the
withdrawal; the old signatures stop Ipub after that. Its second rollover is judged like
scenarios 1-5.

Scenario 8 is judged like 1-5, and must have killed signetd at each kind of step of the
second rollover; while signetd is down (from the kill to 6s after it answers again) a
SERVFAIL without a DNSSEC EDE (1..12), or no reply, is tolerated and reported; a written
timing point must never change across a restart, no key may appear or vanish with one,
and the journal must not hold an engine event twice.

All of them take about 4 minutes; $REAL_PARENT_ONLY=1,3,6 runs only those scenarios.
Python 3 standard library only, plus knotd, knsupdate, unbound, openssl. signetd and
signetctl come from $SIGNETD / $SIGNETCTL (CTest passes the built targets), else
build/daemon/signetd and build/ctl/signetctl.
"""

import base64
import http.server
import json
import os
import queue
import random
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import unittest

import rollover_resolver as rr
import secondaries
import signet_test as st
from test_registrar import make_ca, make_server_cert

SIGNETCTL = os.environ.get('SIGNETCTL') or os.path.join(st.REPO, 'build', 'ctl', 'signetctl')

PARENT = 'test.'
TSIG_NAME = 'ds-push.'
TSIG_SECRET = base64.b64encode(b'signet-real-parent-ds-push-key!!').decode()
REST_TOKEN = 'realparent_token_7c1e0d9a'

DNSKEY_TTL = 5
ZONE_PROP = 1
ZONE_MAX_TTL = 5
PARENT_DS_TTL = 5
PARENT_PROP = 1
KSK_LIFETIME = 60
TIMING = ['--dnskey-ttl', '%ds' % DNSKEY_TTL, '--zone-propagation-delay', '%ds' % ZONE_PROP,
          '--zone-max-ttl', '%ds' % ZONE_MAX_TTL, '--parent-ds-ttl', '%ds' % PARENT_DS_TTL,
          '--parent-propagation-delay', '%ds' % PARENT_PROP, '--signature-validity', '1h',
          '--signature-refresh', '10m', '--signature-jitter', '0']
KSK_ZSK = ['--ksk-zsk', '--ksk-lifetime', '%ds' % KSK_LIFETIME, '--zsk-lifetime', '0']
CSK = ['--csk', '--ksk-lifetime', '%ds' % KSK_LIFETIME, '--zsk-lifetime', '0']
# scenario 7: the algorithm rollover (start + max TTL + Ipub + DS seen + 2 x DS wait + Ipub,
# about 80s with the 25s DS TTL) is over before the new key's lifetime runs out
ALG_OLD, ALG_NEW = 13, 15
ALG_LIFETIME = 90
CSK_ALG = ['--csk', '--algorithm', 'ecdsap256sha256', '--ksk-lifetime', '%ds' % ALG_LIFETIME,
           '--zsk-lifetime', '0']

LONG_TTL = 25
SHORT_TTL = 2
ROLLS = 2              # rollovers each scenario must complete
DEADLINE = 420         # seconds from the start for every scenario's rollovers
GRACE_MAX = 35         # after the last rollover, watch this long at most (TTL + 8s)
STATUS_EVERY = 2.0
KILL_POLL = 0.25       # scenario 8: how often the killer reads the keys' timing points
KILL_GRACE = 6         # after a restart, how long a SERVFAIL without DNSSEC EDE is tolerated
# the kinds of step of a double-KSK rollover scenario 8 must have killed signetd at
KILL_STEPS = ('publish', 'ds_submitted', 'ds_seen', 'active', 'remove')
KEY_POINTS = ('publish', 'active', 'retire', 'remove', 'ds_submitted', 'ds_seen', 'ds_withdrawn')


class Scenario:
    def __init__(self, num, zone, what, policy, registrar, ttl=None, control=False,
                 alg=False, kill=False):
        self.num = num
        self.zone = zone
        self.what = what
        self.policy = policy
        self.registrar = registrar      # 'update' or 'rest'
        self.ttl = ttl                  # the emulator's DS TTL (rest only)
        self.control = control
        self.alg = alg                  # scenario 7: algorithm rollover once secure
        self.kill = kill                # scenario 8: SIGKILL at every step, own signetd
        self.group = 'control' if control else 'killed' if kill else 'main'
        self.alg_set_at = None          # when the policy was switched to ED25519
        self.kills = []                 # (time killed, seconds until it answered, what)
        self.kill_steps = set()         # KEY_POINTS that were written just before a kill
        self.downtimes = []             # (killed, answering again)
        self.down_since = None
        self.tolerated = []             # SERVFAIL without DNSSEC EDE / no reply while down
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.queries = 0
        self.noreply = 0
        self.bogus = []                 # (time, name, type, rcode, EDE)
        self.insecure = []
        self.wrong = []
        self.first_ad = {}              # kind of question -> time of its first AD answer
        self.ds_ttls = set()            # TTLs of the child's DS RRset seen at Knot
        self.keys = []
        self.rolls = 0
        self.roll_times = []            # when each completed rollover completed
        self.done_at = None
        self.errors = []                # status polling, crashes
        self.primed = set()             # key ids the resolver's DS cache was primed for
        self.primes = 0
        self.srv = None

    @property
    def label(self):
        return self.zone[:-len(PARENT) - 1]

    def observed_ttl(self):
        return max(self.ds_ttls) if self.ds_ttls else None

    def while_down(self, start, end):
        """Whether [start, end] overlaps a time signetd was down after a SIGKILL (to
        KILL_GRACE seconds after it answered again); call with the lock held."""
        wins = [(a, b + KILL_GRACE) for a, b in self.downtimes]
        if self.down_since:
            wins.append((self.down_since, end + 1))
        return any(start <= b and end >= a for a, b in wins)


SCENARIOS = [
    Scenario(1, 'ksk-update.test.', 'double-KSK, update provider (parent TTL as written)',
             KSK_ZSK, 'update'),
    Scenario(2, 'ksk-long.test.', 'double-KSK, registry TTL %ds > policy %ds' % (LONG_TTL, PARENT_DS_TTL),
             KSK_ZSK, 'rest', LONG_TTL),
    Scenario(3, 'ksk-short.test.', 'double-KSK, registry TTL %ds < policy %ds' % (SHORT_TTL, PARENT_DS_TTL),
             KSK_ZSK, 'rest', SHORT_TTL),
    Scenario(4, 'dds-long.test.', 'double-DS, registry TTL %ds > policy %ds' % (LONG_TTL, PARENT_DS_TTL),
             KSK_ZSK + ['--double-ds'], 'rest', LONG_TTL),
    Scenario(5, 'csk-update.test.', 'CSK, update provider (parent TTL as written)', CSK, 'update'),
    Scenario(6, 'control.test.', 'NEGATIVE CONTROL: double-KSK, registry TTL %ds, '
             'SIGNET_ROLL_IGNORE_OBSERVED=1' % LONG_TTL, KSK_ZSK, 'rest', LONG_TTL, control=True),
    Scenario(7, 'alg-long.test.', 'algorithm rollover ECDSAP256SHA256 -> ED25519 (CSK), registry '
             'TTL %ds, then a CSK rollover' % LONG_TTL, CSK_ALG, 'rest', LONG_TTL, alg=True),
    Scenario(8, 'ksk-kill.test.', 'double-KSK, registry TTL %ds, SIGKILL + restart at every step '
             'of the second rollover' % LONG_TTL, KSK_ZSK, 'rest', LONG_TTL, kill=True),
]


def selected():
    only = os.environ.get('REAL_PARENT_ONLY', '').strip()
    if not only:
        return list(SCENARIOS)
    want = {int(x) for x in re.split(r'[,\s]+', only) if x}
    return [s for s in SCENARIOS if s.num in want]


# ---- the parent: Knot DNS -------------------------------------------------------------

KNOT_CONF = secondaries.KNOT_SERVER_CONF + """key:
  - id: %(tsig)s
    algorithm: hmac-sha256
    secret: %(secret)s
acl:
  - id: ds-push
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
    acl: ds-push
    zonefile-sync: -1
    journal-content: changes
    dnssec-signing: on
    dnssec-policy: parent
"""

# the negative TTL (SOA minimum) is short: a resolver learns of the first DS quickly
KNOT_ZONE = """$ORIGIN test.
$TTL 5
@       IN SOA ns1 hostmaster 1 60 60 600 2
        IN NS  ns1
ns1     IN A   127.0.0.1
"""

CHILD_ZONE = """$TTL 5
@    IN SOA ns1 hostmaster 1 60 60 600 5
     IN NS  ns1
ns1  IN A   127.0.0.1
www  IN A   192.0.2.1
"""


def knsupdate(port, lines):
    """Send one TSIG-signed UPDATE of test. to Knot; returns (ok, output)."""
    script = ('server 127.0.0.1 %d\nzone %s\norigin %s\nkey hmac-sha256:%s %s\n%s\nsend\nquit\n'
              % (port, PARENT, PARENT, TSIG_NAME, TSIG_SECRET, '\n'.join(lines)))
    try:
        p = subprocess.run(['knsupdate', '-t', '3', '-r', '1'], input=script, capture_output=True,
                           text=True, timeout=20)
    except subprocess.TimeoutExpired:
        return False, 'knsupdate timed out'
    out = (p.stdout + p.stderr).replace(TSIG_SECRET, '<secret>')
    return p.returncode == 0 and 'error' not in out.lower(), out


# ---- the registry emulator --------------------------------------------------------------

class Registry:
    """A registry that keeps DS records per domain and publishes each change at Knot with
    its own TTL for that domain."""

    def __init__(self, knot_port, ttls, before_add):
        self.lock = threading.Lock()
        self.before_add = before_add     # called with the domain before a DS is added
        self.knot_port = knot_port
        self.ttls = ttls                 # domain (no dot) -> TTL it publishes
        self.records = {}                # domain -> [dict(tag, alg, dt, digest, id)]
        self.next_id = 100
        self.log = []                    # (time, text)

    def note(self, text):
        self.log.append((time.time(), text))

    def publish(self, domain, op, r):
        ttl = self.ttls.get(domain, 3600)
        rdata = '%d %d %d %s' % (r['tag'], r['alg'], r['dt'], r['digest'])
        if op == 'add':
            self.before_add(domain)
            line = 'update add %s. %d IN DS %s' % (domain, ttl, rdata)
        else:
            line = 'update delete %s. IN DS %s' % (domain, rdata)
        ok, out = knsupdate(self.knot_port, [line])
        self.note('%s %s DS %d (TTL %d): %s' % (op, domain, r['tag'], ttl,
                                                'ok' if ok else 'FAILED ' + out.strip()))
        return ok


def make_handler(reg):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def log_message(self, *a):
            pass

        def reply(self, status, body=None):
            data = b'' if body is None else json.dumps(body).encode()
            self.send_response(status)
            if body is not None:
                self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def route(self):
            n = int(self.headers.get('Content-Length') or 0)
            raw = self.rfile.read(n) if n else b''
            if self.headers.get('X-Api-Key') != REST_TOKEN:
                return self.reply(401, {'error': 'unauthorized'})
            m = re.match(r'^/rest/v1/zones/([^/]+?)\.?/ds(?:/([\w-]+))?$', self.path)
            if not m:
                return self.reply(404, {'error': 'not found'})
            domain, uid = m.group(1).lower(), m.group(2)
            with reg.lock:
                recs = reg.records.setdefault(domain, [])
                if self.command == 'GET' and not uid:
                    return self.reply(200, {'result': {'ds': [
                        {'keyTag': r['tag'], 'alg': r['alg'], 'digestType': r['dt'],
                         'digest': r['digest'], 'uuid': r['id']} for r in recs]}})
                if self.command == 'POST' and not uid:
                    try:
                        body = json.loads(raw)
                        r = {'tag': int(body['keyTag']), 'alg': int(body['alg']),
                             'dt': int(body['digestType']), 'digest': str(body['digest']).upper()}
                    except (ValueError, KeyError, TypeError):
                        return self.reply(422, {'error': 'bad DS'})
                    if any(x['tag'] == r['tag'] and x['digest'] == r['digest'] for x in recs):
                        return self.reply(409, {'error': 'duplicate'})
                    if not reg.publish(domain, 'add', r):
                        return self.reply(503, {'error': 'the registry could not publish'})
                    reg.next_id += 1
                    r['id'] = 'ds-%d' % reg.next_id
                    recs.append(r)
                    return self.reply(201, {'uuid': r['id']})
                if self.command == 'DELETE' and uid:
                    gone = [r for r in recs if r['id'] == uid]
                    if not gone:
                        return self.reply(404, {'error': 'no such DS'})
                    if not reg.publish(domain, 'delete', gone[0]):
                        return self.reply(503, {'error': 'the registry could not publish'})
                    recs[:] = [r for r in recs if r['id'] != uid]
                    return self.reply(204)
            return self.reply(405, {'error': 'method'})

        do_GET = do_POST = do_DELETE = route

    return Handler


class TLSServer(http.server.ThreadingHTTPServer):
    daemon_threads = True


# ---- the test ---------------------------------------------------------------------------

def roll_chain(keys):
    """The KSKs or CSKs of a zone, oldest first."""
    return sorted((k for k in keys if k['role'] in ('ksk', 'csk')), key=lambda k: k['id'])


def completed_rolls(keys, now):
    """Rollovers whose old key has both retired and left the DNSKEY RRset."""
    return sorted(max(k['retire'], k['remove']) for k in roll_chain(keys)
                  if k['retire'] and k['remove'] and max(k['retire'], k['remove']) <= now)


def key_changes(before, after):
    """The timing points written between two readings of a zone's keys: ([text], {point}),
    a new key counting with every point it has."""
    old = {k['id']: k for k in before}
    texts, points = [], set()
    for k in after:
        o = old.get(k['id'], {})
        new = [p for p in KEY_POINTS if k[p] and k[p] != o.get(p)]
        if new:
            texts.append('%s%s %d %s' % ('' if o else 'new ', k['role'], k['tag'], '+'.join(new)))
            points.update(new)
    return texts, points


def rewritten(before, after):
    """Keys that vanished and timing points, once written, that changed between two
    readings (neither may happen: a crash must leave the stored points as they were)."""
    now = {k['id']: k for k in after}
    out = []
    for k in before:
        n = now.get(k['id'])
        if n is None:
            out.append('%s %d vanished' % (k['role'], k['tag']))
            continue
        out += ['%s %d %s %s -> %s' % (k['role'], k['tag'], p, k[p], n[p])
                for p in KEY_POINTS if k[p] and n[p] != k[p]]
    return out


def roll_starts(keys):
    """When each successor appeared (published, or its DS submitted first: double-DS)."""
    out = []
    for k in roll_chain(keys)[1:]:
        ts = [t for t in (k['publish'], k['ds_submitted'], k['created']) if t]
        if ts:
            out.append(min(ts))
    return sorted(out)


class Spawner:
    """Runs calls in one thread that lives as long as the test process. A server started
    by signet_test.spawn() gets PR_SET_PDEATHSIG, which the kernel sends when the THREAD
    that forked it exits, not the process: a signetd restarted from the killer thread would
    be SIGKILLed as soon as that thread ends, before the teardown stops it."""

    def __init__(self):
        self.jobs = queue.Queue()
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while True:
            fn, box, done = self.jobs.get()
            try:
                box['value'] = fn()
            except BaseException as e:
                box['error'] = e
            done.set()

    def call(self, fn):
        box, done = {}, threading.Event()
        self.jobs.put((fn, box, done))
        done.wait()
        if 'error' in box:
            raise box['error']
        return box['value']


class RealParentTest(unittest.TestCase):

    ran = False

    # ---- setup ------------------------------------------------------------------------

    @classmethod
    def setUpClass(cls):
        for tool in ('knotd', 'knsupdate', 'openssl', 'dig'):
            if not shutil.which(tool) and not os.access('/usr/sbin/' + tool, os.X_OK):
                raise unittest.SkipTest(tool + ' is not installed')
        if not rr.unbound_available():
            raise unittest.SkipTest('unbound is not installed')
        if not os.access(SIGNETCTL, os.X_OK):
            raise RuntimeError('signetctl not found at %s (set SIGNETCTL)' % SIGNETCTL)
        cls.scen = selected()
        cls.dir = tempfile.mkdtemp(prefix='signet-real-parent-')
        cls.knot = cls.knot_log = cls.httpd = cls.unbound = None
        cls.main = cls.control = cls.killed = None
        cls.threads = []
        cls.spawner = Spawner()
        cls.t0 = time.time()
        try:
            cls.start_knot()
            cls.start_emulator()
            cls.start_signetd()
            cls.start_unbound()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def note(cls, fmt, *a):
        print('[%6.1fs] %s' % (time.time() - cls.t0, fmt % a), flush=True)

    @classmethod
    def start_knot(cls):
        d = os.path.join(cls.dir, 'knot')
        os.makedirs(d)
        zone = KNOT_ZONE + ''.join('%s IN NS ns1.%s\nns1.%s IN A 127.0.0.1\n'
                                   % (s.label, s.label, s.label) for s in cls.scen)
        last = None
        for _ in range(3):
            cls.knot_port = st.free_port()
            conf = os.path.join(d, 'knot.conf')
            with open(conf, 'w') as f:
                f.write(KNOT_CONF % {'dir': d, 'port': cls.knot_port, 'secret': TSIG_SECRET,
                                     'tsig': TSIG_NAME})
            with open(os.path.join(d, 'test.zone'), 'w') as f:
                f.write(zone)
            cls.knot_log_path = os.path.join(d, 'knotd.log')
            try:
                cls.knot, cls.knot_log = secondaries.start_knotd(conf, cls.knot_port, 'test',
                                                                 cls.knot_log_path)
                break
            except RuntimeError as e:
                last = e
        else:
            raise last
        # its DNSKEY (a CSK, flags 257) is unbound's trust anchor
        keys = st.wait_for(cls.knot_dnskeys, 15, 0.2)
        if not keys:
            raise RuntimeError('Knot serves no DNSKEY for test.; log:\n%s'
                               % st.read_logs(cls.knot_log_path)[-3000:])
        cls.anchor = keys[0]
        cls.note('knotd serves test. on port %d, signed; anchor %s', cls.knot_port, cls.anchor)

    @classmethod
    def knot_query(cls, name, qtype):
        qid, q = st.make_query(name, qtype, edns=True, do=True, payload=4096)
        data = st.udp_exchange('127.0.0.1', cls.knot_port, q, qid, timeout=1.0, tries=2)
        if data is None:
            return None
        r = st.parse_message(data)
        if 'tc' in r.flags:
            data = st.tcp_exchange('127.0.0.1', cls.knot_port, q)
            r = st.parse_message(data) if data else None
        return r

    @classmethod
    def knot_dnskeys(cls):
        r = cls.knot_query(PARENT, 'DNSKEY')
        out = []
        for x in (r.answer if r else []):
            if x.type != 'DNSKEY':
                continue
            b = bytes.fromhex(''.join(x.rdata.split()[2:]))
            flags = int.from_bytes(b[0:2], 'big')
            if flags == 257:
                out.append('%s DNSKEY %d %d %d %s' % (PARENT, flags, b[2], b[3],
                                                      base64.b64encode(b[4:]).decode()))
        return out

    @classmethod
    def knot_ds(cls, zone):
        """(TTL, [DS rdata]) of zone's DS RRset at Knot; TTL None when there is none."""
        r = cls.knot_query(zone, 'DS')
        ds = [x for x in (r.answer if r else []) if x.type == 'DS']
        return (min(x.ttl for x in ds) if ds else None), [x.rdata for x in ds]

    @classmethod
    def start_emulator(cls):
        d = os.path.join(cls.dir, 'emulator')
        os.makedirs(d)
        ca_key, cls.ca = make_ca(d, 'real-parent')
        key, crt = make_server_cert(d, ca_key, cls.ca)
        cls.reg = Registry(cls.knot_port, {s.zone.rstrip('.'): s.ttl for s in cls.scen
                                           if s.registrar == 'rest'}, cls.prime_domain)
        cls.httpd = TLSServer(('127.0.0.1', 0), make_handler(cls.reg))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(crt, key)
        cls.httpd.socket = ctx.wrap_socket(cls.httpd.socket, server_side=True)
        cls.emu_port = cls.httpd.server_address[1]
        threading.Thread(target=cls.httpd.serve_forever, daemon=True).start()
        cls.note('registry emulator on https://127.0.0.1:%d', cls.emu_port)

    @classmethod
    def registrar_block(cls, s):
        common = ('            check-interval 1s\n            backoff 1s 4s\n'
                  '            query-timeout 1s\n            parent test\n'
                  '            parent-ns 127.0.0.1:%d\n' % cls.knot_port)
        if s.registrar == 'update':
            return ('        registrar update {\n            credentials %s\n'
                    '            primary 127.0.0.1:%d\n%s        }\n'
                    % (cls.tsig_cred, cls.knot_port, common))
        base = 'https://127.0.0.1:%d/rest/v1/zones/{domain}/ds' % cls.emu_port
        return ('        registrar rest {\n            credentials %s\n            ca-file %s\n'
                '            list GET %s\n            list-path result.ds\n'
                '            add POST %s "{\\"keyTag\\":{tag},\\"alg\\":{alg},'
                '\\"digestType\\":{digest_type},\\"digest\\":\\"{digest}\\"}"\n'
                '            remove DELETE %s/{id}\n'
                '            header "X-Api-Key: {cred:token}"\n'
                '            fields keyTag alg digestType digest uuid\n'
                '            timeout 5s\n%s        }\n'
                % (cls.rest_cred, cls.ca, base, base, base, common))

    @classmethod
    def ctl(cls, s, *args, json_out=False, check=True):
        cmd = [SIGNETCTL, '--db', s.db] + (['--json'] if json_out else []) + list(args)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if check and p.returncode != 0:
            raise AssertionError('%s: exit %d\n%s%s' % (' '.join(cmd), p.returncode, p.stdout,
                                                          p.stderr))
        if json_out and p.returncode == 0:
            return json.loads(p.stdout)
        return p

    @classmethod
    def start_signetd(cls):
        cls.tsig_cred = os.path.join(cls.dir, 'tsig.cred')
        with open(cls.tsig_cred, 'w') as f:
            f.write('tsig-name = %s\ntsig-algorithm = hmac-sha256\ntsig-secret = %s\n'
                    % (TSIG_NAME, TSIG_SECRET))
        os.chmod(cls.tsig_cred, 0o600)
        cls.rest_cred = os.path.join(cls.dir, 'rest.cred')
        with open(cls.rest_cred, 'w') as f:
            f.write('token = %s\n' % REST_TOKEN)
        os.chmod(cls.rest_cred, 0o600)
        groups = (('main', False), ('control', True), ('killed', False))
        for name, control in groups:
            scen = [s for s in cls.scen if s.group == name]
            if not scen:
                continue
            d = os.path.join(cls.dir, name)
            os.makedirs(d)
            text = '{\n    workers 1\n}\n'
            for s in scen:
                s.db = os.path.join(d, s.label + '.db')
                pol = 'p%d' % s.num
                cls.ctl(s, 'policy', 'add', pol, *(s.policy + TIMING))
                cls.ctl(s, 'zone', 'add', s.zone, '--policy', pol)
                with open(os.path.join(d, s.label + '.zone'), 'w') as f:
                    f.write(CHILD_ZONE)
                text += ('%s:$port {\n    bind 127.0.0.1\n    dnssec {\n        keystore %s\n'
                         '        policy %s\n%s    }\n    file $dir/%s.zone %s\n    errors\n}\n'
                         % (s.zone, s.db, pol, cls.registrar_block(s), s.label, s.zone))
            srv = st.Signetd(text, ready_name=scen[0].zone, workdir=d)
            saved = os.environ.get('SIGNET_ROLL_IGNORE_OBSERVED')
            if control:
                os.environ['SIGNET_ROLL_IGNORE_OBSERVED'] = '1'
            try:
                srv.start()
            finally:
                if saved is None:
                    os.environ.pop('SIGNET_ROLL_IGNORE_OBSERVED', None)
                else:
                    os.environ['SIGNET_ROLL_IGNORE_OBSERVED'] = saved
            for s in scen:
                s.srv = srv
            setattr(cls, name, srv)
            cls.note('signetd (%s) on port %d: %s', name, srv.port,
                     ', '.join('%d %s' % (s.num, s.zone) for s in scen))

    @classmethod
    def start_unbound(cls):
        stubs = {PARENT: cls.knot_port}
        for s in cls.scen:
            stubs[s.zone] = s.srv.port
        d = os.path.join(cls.dir, 'unbound')
        os.makedirs(d)
        # a control socket, for the worst-case priming of the DS cache (prime_ds)
        extra = ['remote-control:', 'control-enable: yes',
                 'control-interface: "%s"' % os.path.join(d, 'ctl.sock'), 'control-use-cert: no']
        cls.unbound = rr.Unbound(cls.anchor, stubs, workdir=d, extra=extra)
        cls.unbound.start()
        cls.note('unbound on port %d', cls.unbound.port)

    @classmethod
    def tearDownClass(cls):
        for s in getattr(cls, 'scen', []):
            s.stop.set()
        for t in getattr(cls, 'threads', []):
            t.join(30)
        if cls.unbound is not None:
            cls.unbound.stop()
        errors = st.stop_servers(cls.main, cls.control, cls.killed)
        if cls.httpd is not None:
            cls.httpd.shutdown()
        if cls.knot is not None:
            st.terminate(cls.knot, 10)
            cls.knot_log.close()
        st.remove_workdir(cls.dir)
        if errors:
            raise AssertionError('\n'.join(errors))

    # ---- watching ---------------------------------------------------------------------

    @classmethod
    def guard(cls, s, fn):
        def run():
            try:
                fn(s)
            except Exception:
                with s.lock:
                    s.errors.append('%s crashed:\n%s' % (fn.__name__, traceback.format_exc()))
                s.stop.set()
        t = threading.Thread(target=run, daemon=True)
        t.start()
        cls.threads.append(t)

    @classmethod
    def ask(cls, s, kind, name, qtype, want):
        now = time.time()
        with s.lock:
            s.queries += 1
        try:
            r = cls.unbound.query(name, qtype)
        except (st.NoReply, OSError, ValueError) as e:
            with s.lock:
                s.noreply += 1
                if s.while_down(now, time.time()):
                    s.tolerated.append((now, name, qtype, 'no reply', '-'))
            return
        end = time.time()
        ede = '; '.join('%d %s' % e for e in r.ede) or '-'
        row = (now, name, qtype, r.rcode, ede)
        dnssec_error = any(c in rr.EDE_BOGUS for c, _ in r.ede)
        with s.lock:
            if r.rcode == 'SERVFAIL' and not dnssec_error and s.while_down(now, end):
                s.tolerated.append(row)     # scenario 8: signetd is (just) down
            elif r.rcode == 'SERVFAIL' or dnssec_error:
                s.bogus.append(row)
            elif r.rcode != want or (want == 'NOERROR' and
                                     not any(x.type == qtype for x in r.answer)):
                s.wrong.append(row)
            elif 'ad' in r.flags:
                s.first_ad.setdefault(kind, now)
            elif kind in s.first_ad:
                s.insecure.append(row)

    @classmethod
    def prime_domain(cls, domain):
        for s in cls.scen:
            if s.zone.rstrip('.') == domain:
                cls.prime_ds(s, 'the registry is about to add a DS')

    @classmethod
    def prime_ds(cls, s, why):
        """The worst case for the coming DS change: unbound drops the child's DS RRset and
        fetches it again, so it holds the current set with the parent's full TTL."""
        if cls.unbound is None or not s.ds_ttls:
            return          # the zone is not secure yet: nothing to cache
        p = subprocess.run(['unbound-control', '-c', cls.unbound.conf_path, 'flush_type',
                            s.zone, 'DS'], capture_output=True, text=True, timeout=20)
        if p.returncode != 0:
            with s.lock:
                s.errors.append('unbound-control flush_type failed: %s%s' % (p.stdout, p.stderr))
            return
        try:
            r = cls.unbound.query(s.zone, 'DS')
            got = ', '.join('%s TTL %d' % (x.rdata.split()[0], x.ttl) for x in r.answer
                            if x.type == 'DS')
        except (st.NoReply, OSError, ValueError) as e:
            got = 'no reply (%s)' % e
        with s.lock:
            s.primes += 1
        cls.note('%d %s: %s: unbound re-fetched the DS: %s', s.num, s.zone, why, got or '-')

    @classmethod
    def monitor(cls, s):
        while not s.stop.is_set():
            t = time.time()
            for kind, name, qtype, want in (
                    ('soa', s.zone, 'SOA', 'NOERROR'), ('dnskey', s.zone, 'DNSKEY', 'NOERROR'),
                    ('www', 'www.' + s.zone, 'A', 'NOERROR'),
                    ('nx', 'nx%08x.%s' % (random.getrandbits(32), s.zone), 'A', 'NXDOMAIN')):
                cls.ask(s, kind, name, qtype, want)
            try:
                ttl, _ = cls.knot_ds(s.zone)
            except (OSError, ValueError):
                ttl = None
            if ttl is not None:
                with s.lock:
                    if ttl not in s.ds_ttls:
                        cls.note('%d %s: Knot serves its DS with TTL %d', s.num, s.zone, ttl)
                    s.ds_ttls.add(ttl)
            s.stop.wait(max(0.0, 1.0 - (time.time() - t)))

    @classmethod
    def poll_status(cls, s):
        while not s.stop.is_set():
            p = cls.ctl(s, 'zone', 'status', s.zone, json_out=True, check=False)
            now = time.time()
            if isinstance(p, dict):
                keys = p['keys']
                if s.registrar == 'update':
                    # signetd pushes to Knot itself: prime as soon as a successor appears
                    # (double-KSK and CSK publish it Ipub before its DS is submitted)
                    for k in roll_chain(keys)[1:]:
                        if k['id'] not in s.primed and not k['ds_seen']:
                            s.primed.add(k['id'])
                            cls.prime_ds(s, 'successor %s %d appeared' % (k['role'], k['tag']))
                rolls = completed_rolls(keys, now)
                with s.lock:
                    s.keys = keys
                    if len(rolls) > s.rolls:
                        cls.note('%d %s: rollover %d complete (%s)', s.num, s.zone, len(rolls),
                                 ', '.join('%s %d %s' % (k['role'], k['tag'], k['state'])
                                           for k in roll_chain(keys)))
                    s.rolls = len(rolls)
                    s.roll_times = rolls
                    if s.rolls >= ROLLS and s.done_at is None:
                        s.done_at = now
                    grace = min(GRACE_MAX, (s.observed_ttl() or PARENT_DS_TTL) + 8)
                    if s.done_at is not None and now > s.done_at + grace:
                        s.stop.set()
            else:
                with s.lock:
                    s.errors.append('zone status failed: %s%s' % (p.stdout, p.stderr))
            if now > cls.t0 + DEADLINE:
                s.stop.set()
            s.stop.wait(STATUS_EVERY)

    @classmethod
    def alg_driver(cls, s):
        """Scenario 7: once the zone is secure (its first DS seen at the parent and every
        kind of question validated), switch its policy to ED25519."""
        while not s.stop.is_set():
            with s.lock:
                keys = list(s.keys)
                secure = len(s.first_ad) == 4
            chain = roll_chain(keys)
            if secure and chain and chain[0]['ds_seen'] and time.time() >= chain[0]['ds_seen'] + 2:
                break
            s.stop.wait(0.5)
        else:
            return
        if {k['algorithm'] for k in keys} != {ALG_OLD}:
            with s.lock:
                s.errors.append('before the policy change the zone should have algorithm %d '
                                'keys only: %s' % (ALG_OLD, [(k['role'], k['tag'], k['algorithm'])
                                                             for k in keys]))
            return
        cls.ctl(s, 'policy', 'set', 'p%d' % s.num, '--algorithm', 'ed25519')
        s.alg_set_at = time.time()
        cls.note('%d %s: secure; signetctl policy set p%d --algorithm ed25519', s.num, s.zone,
                 s.num)
        plan = cls.ctl(s, 'zone', 'plan', s.zone, '--until', '@%d' % (s.alg_set_at + 100),
                       check=False)
        cls.note('%d %s: zone plan:\n%s', s.num, s.zone, (plan.stdout + plan.stderr).rstrip())

    @classmethod
    def killer(cls, s):
        """Scenario 8: once the first rollover is complete, read the keys every KILL_POLL
        seconds; whenever a timing point has been written, SIGKILL signetd at once and
        restart it; the last kill is the one after the second rollover's removal."""
        base = None
        while not s.stop.is_set():
            p = cls.ctl(s, 'zone', 'status', s.zone, json_out=True, check=False)
            now = time.time()
            if isinstance(p, dict):
                keys = p['keys']
                done = len(completed_rolls(keys, now))
                if base is None:
                    if done >= 1:
                        base = keys
                        cls.note('%d %s: first rollover complete: SIGKILL at every step of the '
                                 'second one', s.num, s.zone)
                else:
                    bad = rewritten(base, keys)
                    texts, points = key_changes(base, keys)
                    if bad or texts:
                        cls.kill_restart(s, ', '.join(texts + bad), points)
                        after = cls.ctl(s, 'zone', 'status', s.zone, json_out=True)['keys']
                        bad += rewritten(keys, after)
                        if {k['id'] for k in after} != {k['id'] for k in keys}:
                            bad.append('keys changed across the restart: %s -> %s'
                                       % (sorted(k['id'] for k in keys),
                                          sorted(k['id'] for k in after)))
                        if bad:
                            with s.lock:
                                s.errors.append('around a SIGKILL: ' + '; '.join(bad))
                        base = keys
                        if done >= ROLLS:
                            return
            s.stop.wait(KILL_POLL)

    @classmethod
    def kill_restart(cls, s, what, points):
        with s.lock:
            s.down_since = time.time()
        t_kill, t_up = cls.spawner.call(s.srv.kill_restart)
        with s.lock:
            s.downtimes.append((t_kill, t_up))
            s.down_since = None
            s.kills.append((t_kill, t_up - t_kill, what))
            s.kill_steps.update(points)
        cls.note('%d %s: SIGKILL after %s; answering again after %.2fs', s.num, s.zone, what,
                 t_up - t_kill)

    @classmethod
    def run_once(cls):
        """Watch every selected scenario until it has completed its rollovers (plus a
        grace period) or the deadline passes; then the test methods judge each one."""
        if cls.ran:
            return
        cls.ran = True
        for s in cls.scen:
            cls.guard(s, cls.monitor)
            cls.guard(s, cls.poll_status)
            if s.alg:
                cls.guard(s, cls.alg_driver)
            if s.kill:
                cls.guard(s, cls.killer)
        for t in cls.threads:
            t.join(DEADLINE + 120)
        for s in cls.scen:
            try:
                s.final_status = cls.ctl(s, 'zone', 'status', s.zone).stdout
                s.history = cls.ctl(s, 'zone', 'history', s.zone).stdout
            except Exception as e:
                s.final_status = s.history = '(signetctl failed: %s)' % e
            final = cls.ctl(s, 'zone', 'status', s.zone, json_out=True, check=False)
            s.final_keys = final['keys'] if isinstance(final, dict) else []
            s.final_ds = cls.knot_ds(s.zone)
            if s.kill:
                try:
                    s.journal = cls.ctl(s, 'zone', 'history', s.zone, json_out=True)
                except Exception as e:
                    s.errors.append('zone history --json failed: %s' % e)
                    s.journal = []
        cls.wall = time.time() - cls.t0
        cls.report()

    # ---- judging ----------------------------------------------------------------------

    @classmethod
    def ds_deleted_at(cls, s, tag):
        """When the registry emulator really deleted the zone's DS of this key tag at Knot
        (None: not through the emulator, or not deleted)."""
        gone = [t_ for t_, x in cls.reg.log if x.startswith('delete %s DS %d ' % (s.zone[:-1], tag))]
        return gone[0] if gone else None

    @classmethod
    def timing_violations(cls, s):
        """Successors that started signing sooner after their DS was seen than the parent
        DS TTL observed at Knot + the parent propagation delay; and (double-KSK, CSK) old
        keys that left the DNSKEY RRset sooner after the registry really deleted their DS at
        Knot than that (the engine's own decision to withdraw it is not when caches start
        to forget it: the registry may be late)."""
        obs = s.observed_ttl()
        out = []
        if obs is None:
            return ['no DS was ever seen at Knot']
        chain = roll_chain(s.keys)
        for prev, k in zip(chain, chain[1:]):
            if k['algorithm'] != prev['algorithm']:
                continue    # an algorithm rollover: its key signs first (alg_problems)
            if not k['active'] or not k['ds_seen']:
                continue
            gap = k['active'] - k['ds_seen']
            if gap < obs + PARENT_PROP:
                out.append('%s %d signs %ds after its DS was seen at the parent; the parent '
                           'serves the DS with TTL %ds (+ %ds propagation)'
                           % (k['role'], k['tag'], gap, obs, PARENT_PROP))
        for k in s.keys:
            deleted = cls.ds_deleted_at(s, k['tag'])
            # double-DS takes the key out first and its DS after: nothing to wait for there
            if not deleted or not k['remove'] or not k['ds_withdrawn'] or k['ds_withdrawn'] > k['remove']:
                continue
            if k['remove'] - int(deleted) < obs + PARENT_PROP:
                out.append('%s %d left the DNSKEY RRset %ds after the registry deleted its DS at '
                           'Knot (TTL %ds + %ds propagation needed)'
                           % (k['role'], k['tag'], k['remove'] - int(deleted), obs, PARENT_PROP))
        return out

    @classmethod
    def alg_problems(cls, s):
        """Scenario 7: the algorithm rollover completed, in the order and with the waits of
        RFC 6781 4.1.4, against the DS TTL the parent really served."""
        if s.alg_set_at is None:
            return ['the policy was never switched to ED25519 (the zone never became secure)']
        obs = s.observed_ttl() or LONG_TTL
        chain = roll_chain(s.keys)
        old = [k for k in chain if k['algorithm'] == ALG_OLD]
        new = [k for k in chain if k['algorithm'] == ALG_NEW]
        if len(old) != 1 or not new or len(old) + len(new) != len(chain):
            return ['want one algorithm %d CSK then algorithm %d CSKs, got %s'
                    % (ALG_OLD, ALG_NEW, [(k['tag'], k['algorithm']) for k in chain])]
        o, n = old[0], new[0]
        out = []
        now = time.time()
        live = [k for k in s.keys if (k['publish'] and k['publish'] <= now and not k['remove'])
                or (k['active'] and k['active'] <= now and not k['retire'])]
        if any(k['algorithm'] != ALG_NEW for k in live):
            out.append('keys of algorithm %d still published or signing: %s'
                       % (ALG_OLD, [(k['tag'], k['state']) for k in live]))
        need = {'%s new' % p: n[p] for p in ('active', 'publish', 'ds_submitted', 'ds_seen')}
        need.update({'%s old' % p: o[p] for p in ('ds_withdrawn', 'remove', 'retire')})
        missing = [p for p, v in need.items() if not v]
        if missing:
            return out + ['the algorithm rollover stopped: no %s' % ', '.join(missing)]

        def wait(what, t, base, least):
            if t - base < least:
                out.append('%s %ds after its cause, want >= %ds' % (what, t - base, least))
        wait('ED25519 key published (after it signs)', n['publish'], n['active'],
             ZONE_MAX_TTL + ZONE_PROP)
        wait('ED25519 DS submitted (after publication)', n['ds_submitted'], n['publish'],
             DNSKEY_TTL + ZONE_PROP)
        wait('ECDSA DS withdrawn (after the ED25519 DS was seen)', o['ds_withdrawn'],
             n['ds_seen'], obs + PARENT_PROP)
        wait('ECDSA DNSKEY removed (after the ED25519 DS was seen)', o['remove'], n['ds_seen'],
             obs + PARENT_PROP)
        wait('ECDSA DNSKEY removed (after its DS was withdrawn)', o['remove'], o['ds_withdrawn'],
             obs + PARENT_PROP)
        wait('ECDSA signatures stop (after its DNSKEY left)', o['retire'], o['remove'],
             DNSKEY_TTL + ZONE_PROP)
        # when the ECDSA DS really left Knot (the registrar pushes after the engine's step):
        # the DNSKEY may leave only the DS TTL after that
        deleted = cls.ds_deleted_at(s, o['tag'])
        if deleted is None:
            out.append('the registry never deleted the ECDSA DS at Knot')
        else:
            wait('ECDSA DNSKEY removed (after Knot really dropped its DS)', o['remove'], int(deleted),
                 obs + PARENT_PROP)
        s.alg_steps = ('policy set %+.0fs: ED25519 signs %+ds, published %+ds, DS submitted %+ds, '
                       'seen %+ds; ECDSA DS withdrawn %+ds (deleted at Knot %s), DNSKEY out %+ds, '
                       'signatures stop %+ds'
                       % (s.alg_set_at - cls.t0, n['active'] - s.alg_set_at,
                          n['publish'] - s.alg_set_at, n['ds_submitted'] - s.alg_set_at,
                          n['ds_seen'] - s.alg_set_at, o['ds_withdrawn'] - s.alg_set_at,
                          '%+.1fs' % (deleted - s.alg_set_at) if deleted else 'never',
                          o['remove'] - s.alg_set_at, o['retire'] - s.alg_set_at))
        return out

    @classmethod
    def final_ds_problems(cls, s):
        """At the end (a next rollover may have begun) the parent serves the DS of every
        key the keystore holds as seen and not withdrawn, and no other DS than those of keys
        submitted and not withdrawn (a few seconds ago at most: the push follows the step)."""
        now = time.time()
        chain = roll_chain(s.final_keys)
        got = {(int(x.split()[0]), int(x.split()[1])) for x in s.final_ds[1]}
        must = {(k['tag'], k['algorithm']) for k in chain if k['ds_seen'] and not k['ds_withdrawn']}
        may = {(k['tag'], k['algorithm']) for k in chain if k['ds_submitted'] and
               (not k['ds_withdrawn'] or k['ds_withdrawn'] > now - 10)}
        out = []
        if not chain or not must <= got <= may:
            out.append('at the end Knot serves DS (tag, algorithm) %s; the keystore says %s, '
                       'perhaps also %s' % (sorted(got), sorted(must), sorted(may - must)))
        if s.alg and any(a != ALG_NEW for _, a in got):
            out.append('at the end Knot still serves a DS of another algorithm than %d: %s'
                       % (ALG_NEW, sorted(got)))
        return out

    @classmethod
    def kill_problems(cls, s):
        out = []
        missing = [p for p in KILL_STEPS if p not in s.kill_steps]
        if missing:
            out.append('no SIGKILL right after these steps of the second rollover: %s (kills: %s)'
                       % (', '.join(missing), '; '.join(k[2] for k in s.kills) or 'none'))
        seen = {}
        for h in getattr(s, 'journal', []):
            if h['key'] is not None and h['actor'] == 'daemon':
                k = (h['key'], h['old_state'], h['new_state'], h['reason'])
                seen[k] = seen.get(k, 0) + 1
        dup = [k for k, c in seen.items() if c > 1]
        if dup:
            out.append('engine events in the journal more than once: %s' % dup)
        return out

    @classmethod
    def phase(cls, s, t):
        n = sum(1 for x in roll_starts(s.keys) if x <= t)
        return 'before any rollover' if n == 0 else 'rollover %d' % n

    @classmethod
    def report(cls):
        print('\n==== integ.real_parent (%.0fs) ====' % cls.wall)
        for s in cls.scen:
            phases = {}
            for row in s.bogus:
                p = cls.phase(s, row[0])
                phases[p] = phases.get(p, 0) + 1
            print('  %d %-17s queries %4d  bogus %3d  insecure %3d  wrong %2d  no reply %2d  '
                  'rolls %d  primed %d  parent DS TTL %s%s  [%s]%s'
                  % (s.num, s.zone, s.queries, len(s.bogus), len(s.insecure), len(s.wrong),
                     s.noreply, s.rolls, s.primes, '/'.join(str(x) for x in sorted(s.ds_ttls)) or '-',
                     ('  kills %d (down %.1fs at most)  tolerated while down %d'
                      % (len(s.kills), max([k[1] for k in s.kills] or [0]), len(s.tolerated))
                      if s.kill else ''),
                     s.what, ('  bogus by phase: %s' % phases) if phases else ''))
            if s.kill:
                for t_kill, down, what in s.kills:
                    print('      SIGKILL %+6.1fs after %s; down %.2fs' % (t_kill - cls.t0, what, down))
                for row in s.tolerated:
                    print('      tolerated while down %+6.1fs %s %s: %s, EDE %s'
                          % ((row[0] - cls.t0,) + row[1:]))
        sys.stdout.flush()

    def rows(self, s, rows, n=10):
        return '\n'.join('    %+7.1fs %s (%s) %s %s: %s, EDE %s'
                         % ((r[0] - self.t0, time.strftime('%H:%M:%SZ', time.gmtime(r[0])),
                             self.phase(s, r[0])) + r[1:]) for r in rows[:n])

    def details(self, s):
        zlog = [l for l in s.srv.log().splitlines() if s.zone.rstrip('.') in l]
        ulog = self.unbound.log().splitlines()
        uzone = [l for l in ulog if s.zone.rstrip('.') in l]
        return ('\nkeys at the end:\n%s\nparent (Knot) DS: TTL %s %s\nregistry log:\n%s\n'
                'zone history (tail):\n%s\nsignetd log (lines of %s, tail):\n%s\n'
                'unbound log (lines of %s, tail):\n%s\nknotd log (tail):\n%s'
                % (s.final_status, s.final_ds[0], s.final_ds[1],
                   '\n'.join('    %+7.1fs %s' % (t - self.t0, x) for t, x in self.reg.log
                             if s.zone.rstrip('.') in x)[-3000:],
                   '\n'.join(s.history.splitlines()[-40:]), s.zone, '\n'.join(zlog[-40:]),
                   s.zone, '\n'.join((uzone or ulog)[-25:]),
                   st.read_logs(self.knot_log_path)[-1500:]))

    def judge(self, num):
        s = {x.num: x for x in self.scen}.get(num)
        if s is None:
            self.skipTest('not in $REAL_PARENT_ONLY')
        self.run_once()
        problems = list(s.errors)
        if not s.srv.alive():
            problems.append('signetd died')
        if s.control:
            if not s.bogus:
                problems.append('the negative control gave no bogus answer (%d rollovers '
                                'completed, parent DS TTL %s): either signetd does not honour '
                                'SIGNET_ROLL_IGNORE_OBSERVED=1 yet, or the scenario cannot fail'
                                % (s.rolls, sorted(s.ds_ttls)))
            else:
                self.note('negative control: %d bogus answers, first:\n%s', len(s.bogus),
                          self.rows(s, s.bogus, 3))
        else:
            if s.rolls < ROLLS:
                problems.append('%d of %d rollovers completed within %ds'
                                % (s.rolls, ROLLS, DEADLINE))
            if s.bogus:
                problems.append('%d bogus answers; first:\n%s' % (len(s.bogus),
                                                                 self.rows(s, s.bogus)))
            if s.insecure:
                problems.append('%d insecure answers (no AD after the zone was secure); '
                                'first:\n%s' % (len(s.insecure), self.rows(s, s.insecure)))
            if s.wrong:
                problems.append('%d wrong answers; first:\n%s' % (len(s.wrong),
                                                                 self.rows(s, s.wrong)))
            problems += self.timing_violations(s)
            if s.alg:
                problems += self.alg_problems(s)
                if getattr(s, 'alg_steps', None):
                    self.note('%d %s: %s', s.num, s.zone, s.alg_steps)
            if s.kill:
                problems += self.kill_problems(s)
            if s.alg or s.kill:
                problems += self.final_ds_problems(s)
        if problems:
            self.fail('scenario %d (%s, %s):\n  %s\n%s'
                      % (s.num, s.zone, s.what, '\n  '.join(problems), self.details(s)))

    def test_1_double_ksk_update(self):
        self.judge(1)

    def test_2_double_ksk_longer_parent_ttl(self):
        self.judge(2)

    def test_3_double_ksk_shorter_parent_ttl(self):
        self.judge(3)

    def test_4_double_ds_longer_parent_ttl(self):
        self.judge(4)

    def test_5_csk_update(self):
        self.judge(5)

    def test_6_negative_control(self):
        self.judge(6)

    def test_7_algorithm_rollover_longer_parent_ttl(self):
        self.judge(7)

    def test_8_sigkill_every_step_of_second_ksk_rollover(self):
        self.judge(8)


if __name__ == '__main__':
    unittest.main(verbosity=2)
