#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""integ.dnsviz: DNSViz's analysis of signetd's online signing, with nothing else to talk to.

The test makes a network namespace of its own (`signet-dnsviz-PID`: only `lo`, up, no
route anywhere else) and runs signetd and DNSViz inside it. signetd serves one zone per
denial mode and algorithm: NSEC, NSEC3 and compact denial, each with ECDSAP256SHA256 (a
CSK) and ED25519 (a KSK and a ZSK). `dnsviz probe -A` is given the delegation of every zone
(`-N zone:ns1.zone=127.0.0.1`) and its DS (`-D`, from `signetctl ds`): DNSViz then serves a
stand-in parent itself (a private `named`) and asks signetd directly. `dnsviz grok` gets
each zone's DNSKEY as the trust anchor (`-t`), so it analyses the chain from the zone's own
key: DS -> DNSKEY -> every RRSIG, NSEC/NSEC3 proofs of its NXDOMAIN and NODATA probes,
wildcards, CNAMEs, TTLs, EDNS behaviour. Any "errors" or "warnings" entry anywhere in
grok's JSON output for a zone's names fails that zone's test, with each one printed;
EXPECTED_FINDINGS lists the ones that are signetd defects not yet fixed.

Skipped (exit 77 for the whole module) unless run as root with `ip netns` working. DNSViz
and named come from the Debian packages dnsviz and bind9 (scripts/deps.sh). Debian 12's
dnsviz 0.9.4 checks for `pygraphviz.release`, which python3-pygraphviz 1.7 no longer has:
grok is run through a two-line shim that supplies it (it is only a version check).
signetd and signetctl from $SIGNETD / $SIGNETCTL. Python 3 standard library only.
"""

import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import signet_test
from test_dnssec import ctl, record_lines

NETNS = 'signet-dnsviz-%d' % os.getpid()
PYTHON3 = '/usr/bin/python3' if os.access('/usr/bin/python3', os.X_OK) else sys.executable

# zone -> (denial, algorithm, keys)
ZONES = {
    'nsec-13.test': ('nsec', 'ecdsap256sha256', 'csk'),
    'nsec3-13.test': ('nsec3', 'ecdsap256sha256', 'csk'),
    'compact-13.test': ('compact', 'ecdsap256sha256', 'csk'),
    'nsec-15.test': ('nsec', 'ed25519', 'ksk-zsk'),
    'nsec3-15.test': ('nsec3', 'ed25519', 'ksk-zsk'),
    'compact-15.test': ('compact', 'ed25519', 'ksk-zsk'),
    # the negative control: its parent (-D) holds the DS of another zone
    'wrong-ds.test': ('nsec', 'ecdsap256sha256', 'csk', 'nsec-13.test'),
}
BAD_DS = 'wrong-ds.test'

# names probed in each zone (DNSViz adds its own NXDOMAIN and NODATA probes)
NAMES = ('', 'www.', 'alias.', 'x.wild.', 'ent.', 'mail.', '_sip._udp.')

ZONE_TEXT = '''$TTL 3600
@       IN SOA ns1 hostmaster 2026120701 7200 3600 1209600 300
        IN NS  ns1
        IN MX  10 mail
        IN TXT "v=spf1 -all"
        IN A   127.0.0.1
        IN CAA 0 issue "letsencrypt.org"
ns1     IN A   127.0.0.1
mail    IN A   127.0.0.2
www     IN A   127.0.0.3
        IN AAAA ::3
        IN TXT "web"
alias   IN CNAME www
*.wild  IN A   127.0.0.4
        IN TXT "wildcard"
a.b.ent IN A   127.0.0.5
_sip._udp IN SRV 0 5 5060 www
'''

# (zone, where in grok's output, description fragment) -> the signetd defect it shows.
# Each is a real finding against signetd's answers, listed here until it is fixed so that
# the test is green and the list explicit; the zone's test is then an expected failure.
EXPECTED_FINDINGS = {}


def dnsviz_argv():
    p = shutil.which('dnsviz') or '/usr/bin/dnsviz'
    if not os.access(p, os.X_OK):
        raise RuntimeError('dnsviz not found (Debian package dnsviz; scripts/deps.sh '
                           'installs it)')
    return p


# grok through this shim: Debian 12's pygraphviz 1.7 has no `release` module, which
# dnsviz 0.9.4 imports only to check the version
GROK_SHIM = '''
import runpy, sys, types
try:
    import pygraphviz.release
except ImportError:
    import pygraphviz
    m = types.ModuleType('pygraphviz.release')
    m.version = pygraphviz.__version__
    sys.modules['pygraphviz.release'] = m
    pygraphviz.release = m
sys.argv = ['dnsviz'] + sys.argv[1:]
runpy.run_path(%r, run_name='__main__')
'''


def netns_usable():
    """Why this module cannot run here, or None."""
    if os.geteuid() != 0:
        return 'not root'
    if not shutil.which('ip'):
        return 'no ip(8)'
    probe = 'signet-dnsviz-probe-%d' % os.getpid()
    p = subprocess.run(['ip', 'netns', 'add', probe], capture_output=True, text=True)
    if p.returncode != 0:
        return 'ip netns add failed: ' + p.stderr.strip()
    subprocess.run(['ip', 'netns', 'delete', probe], capture_output=True)
    return None


def in_ns(*argv):
    return ['ip', 'netns', 'exec', NETNS] + list(argv)


def run_ns(*argv, timeout=120, check=True):
    p = subprocess.run(in_ns(*argv), capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError('%s: exit %d\n%s%s' % (' '.join(argv), p.returncode, p.stdout,
                                                     p.stderr))
    return p


def delete_netns():
    """Kill whatever still runs in the namespace (all of it ours: signetd, DNSViz's named)
    and delete it."""
    p = subprocess.run(['ip', 'netns', 'pids', NETNS], capture_output=True, text=True)
    for pid in p.stdout.split():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass
    subprocess.run(['ip', 'netns', 'delete', NETNS], capture_output=True)


def findings(node, path=''):
    """Every (path, entry) under an "errors" or "warnings" key of grok's JSON."""
    out = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k in ('errors', 'warnings') and v:
                for e in v:
                    out.append(('%s/%s' % (path, k), e))
            else:
                out += findings(v, '%s/%s' % (path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += findings(v, '%s[%d]' % (path, i))
    return out


class DNSViz(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        why = netns_usable()
        if why:
            raise unittest.SkipTest('needs root and ip netns: ' + why)
        cls.dnsviz = dnsviz_argv()
        if not shutil.which('named') and not os.access('/usr/sbin/named', os.X_OK):
            raise RuntimeError('named not found: dnsviz probe -N/-D runs one (Debian package '
                               'bind9; scripts/deps.sh installs it)')
        cls.dir = tempfile.mkdtemp(prefix='signet-dnsviz-')
        cls.proc = None
        cls.log = None
        atexit.register(delete_netns)
        try:
            cls._setup()
        except Exception:
            cls._teardown()
            raise

    @classmethod
    def _setup(cls):
        subprocess.run(['ip', 'netns', 'add', NETNS], check=True, capture_output=True)
        run_ns('ip', 'link', 'set', 'lo', 'up')
        # nothing but the loopback: no route out of the namespace
        routes = run_ns('ip', '-4', 'route', 'show').stdout + \
            run_ns('ip', '-6', 'route', 'show').stdout
        if 'default' in routes or [l for l in routes.splitlines() if 'dev lo' not in l]:
            raise AssertionError('the namespace has routes besides lo:\n' + routes)
        db = os.path.join(cls.dir, 'keystore.db')
        corefile = ''
        for i, (zone, (denial, alg, keys, *_)) in enumerate(ZONES.items()):
            ctl(db, 'policy', 'add', 'p%d' % i, '--denial', denial, '--algorithm', alg,
                '--' + keys)
            path = os.path.join(cls.dir, zone + '.zone')
            with open(path, 'w') as f:
                f.write(ZONE_TEXT)
            corefile += ('%s:53 {\n    bind 127.0.0.1\n    file %s %s\n    dnssec {\n'
                         '        keystore %s\n        policy p%d\n    }\n    errors\n}\n'
                         % (zone, path, zone, db, i))
        conf = os.path.join(cls.dir, 'Corefile')
        with open(conf, 'w') as f:
            f.write(corefile)
        cls.log_path = os.path.join(cls.dir, 'signetd.log')
        cls.log = open(cls.log_path, 'ab')
        cls.proc = signet_test.spawn(in_ns(*signet_test.signetd_cmd(), '-c', conf), cls.log,
                                     cls.dir)
        deadline = time.monotonic() + signet_test.START_TIMEOUT
        for zone in ZONES:
            while True:
                p = run_ns('dig', '@127.0.0.1', '+norec', '+time=1', '+tries=1', '+dnssec',
                           zone, 'DNSKEY', check=False)
                if 'status: NOERROR' in p.stdout and 'RRSIG' in p.stdout:
                    break
                if cls.proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError('signetd does not serve %s DNSKEY; log:\n%s'
                                         % (zone, signet_test.read_logs(cls.log_path)))
                time.sleep(0.1)
        # per zone: the parent's view (delegation and DS) to probe; its DNSKEY to grok
        shim = os.path.join(cls.dir, 'dnsviz-grok-shim.py')
        with open(shim, 'w') as f:
            f.write(GROK_SHIM % cls.dnsviz)
        cls.grok, cls.probe_out = {}, {}
        t0 = time.monotonic()
        for zone in ZONES:
            probe_json = os.path.join(cls.dir, zone + '.probe.json')
            probe = [PYTHON3, cls.dnsviz, 'probe', '-A', '-p', '-t', '1', '-a', zone,
                     '-N', '%s:ns1.%s=127.0.0.1' % (zone, zone), '-o', probe_json]
            for ds in record_lines(ctl(db, 'ds', ZONES[zone][3] if zone == BAD_DS else zone)):
                probe += ['-D', '%s:%s' % (zone, ' '.join(ds.split()[4:]))]
            probe += ['%s%s' % (n, zone) for n in NAMES]
            p = run_ns(*probe, timeout=240)
            cls.probe_out[zone] = ' '.join(probe) + '\n' + p.stdout + p.stderr
            anchors = os.path.join(cls.dir, zone + '.trusted-keys')
            with open(anchors, 'w') as f:
                f.write('\n'.join(record_lines(ctl(db, 'dnskey', zone))) + '\n')
            grok_json = os.path.join(cls.dir, zone + '.grok.json')
            run_ns(PYTHON3, shim, 'grok', '-r', probe_json, '-t', anchors, '-P', '-l', 'info',
                   '-o', grok_json, timeout=240)
            with open(grok_json) as f:
                cls.grok[zone] = json.load(f)
        cls.seconds = time.monotonic() - t0

    @classmethod
    def _teardown(cls):
        errors = []
        if cls.proc is not None:
            alive = cls.proc.poll() is None
            rc = signet_test.terminate(cls.proc, signet_test.STOP_TIMEOUT)
            if not alive or rc != 0:
                errors.append('signetd %s (exit %s); log:\n%s' % (
                    'died' if not alive else 'did not exit 0 after SIGTERM', rc,
                    signet_test.read_logs(cls.log_path)[-4000:]))
        if cls.log is not None:
            cls.log.close()
        delete_netns()
        signet_test.remove_workdir(cls.dir)
        if errors:
            raise AssertionError('\n'.join(errors))

    @classmethod
    def tearDownClass(cls):
        cls._teardown()

    def test_0_negative_control(self):
        """A parent DS that matches no key: DNSViz must see it, and check_zone must fail."""
        apex = self.grok[BAD_DS][BAD_DS + '.']
        self.assertNotEqual(apex.get('delegation', {}).get('status'), 'SECURE',
                            json.dumps(apex.get('delegation'))[:3000])
        with self.assertRaises(AssertionError) as cm:
            self.check_zone(BAD_DS, positive=False)
        self.assertIn('DNSViz reports', str(cm.exception))

    def check_zone(self, zone, positive=True):
        names = ['%s%s.' % (n, zone) for n in NAMES]
        grok = self.grok[zone]
        missing = [n for n in names if n not in grok]
        self.assertEqual(missing, [], 'names DNSViz did not analyse; probe:\n%s'
                         % self.probe_out[zone])
        apex = grok[zone + '.']
        if positive:
            # the chain from the parent's DS and from our own key holds
            self.assertEqual(apex.get('zone', {}).get('status'), 'SECURE',
                             json.dumps(apex)[:3000])
            self.assertEqual(apex.get('delegation', {}).get('status'), 'SECURE',
                             json.dumps(apex.get('delegation'))[:3000])
        found = []
        for n in names:
            for where, entry in findings(grok[n], n):
                found.append('%s: %s' % (where, json.dumps(entry, sort_keys=True)))
        statuses = json.dumps(apex['queries'])
        if positive:
            self.assertNotIn('"BOGUS"', statuses)
        self.assertEqual(found, [], '%s: DNSViz reports %d errors/warnings:\n%s'
                         % (zone, len(found), '\n'.join(found)))


def _case(zone):
    def test(self):
        self.check_zone(zone)
    test.__name__ = 'test_' + zone.split('.')[0].replace('-', '_')
    test.__doc__ = '%s: %s, %s, %s' % ((zone,) + ZONES[zone][:3])
    if zone in EXPECTED_FINDINGS:
        test = unittest.expectedFailure(test)
    return test


for _z in ZONES:
    if _z == BAD_DS:
        continue
    _t = _case(_z)
    setattr(DNSViz, _t.__name__, _t)


if __name__ == '__main__':
    why = netns_usable()
    if why:
        print('integ.dnsviz skipped: needs root and ip netns (%s)' % why)
        sys.exit(77)
    signet_test.main()
