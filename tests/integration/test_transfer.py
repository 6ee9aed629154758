#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""integ.transfer: signetd as a hidden primary for NSD and Knot DNS secondaries.

signetd serves three signed zones (NSEC3, NSEC, compact denial) and an unsigned one with
the `transfer` plugin. NSD and Knot transfer the signed zones with TSIG and serve our
signatures; a validating unbound pointed at each secondary gets AD on positive and negative
answers. After an edit of the zone file and SIGHUP, the secondaries get NOTIFY and catch up
by IXFR. A secondary with a wrong key, a client without a key, an address outside `to`,
AXFR over UDP and a compact-denial zone are refused; every AXFR passes ldns-verify-zone,
fetched with kdig and with dig (two TSIG implementations).

signetd and signetctl come from $SIGNETD / $SIGNETCTL; nsd, knotd, unbound, dig, kdig and
ldns-verify-zone from the PATH. Python 3 standard library only.
"""

import os
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import unittest

import signet_test
from secondaries import Knot, Nsd
from signet_test import Signetd
from test_dnssec import ctl, record_lines
from unbound_resolver import Unbound

BIG_NAMES = 30000   # an AXFR of several MB: more than the socket buffers hold

FILES = ('example.test.zone', 'example.test.inc', 'other.test.zone', 'sub.example.test.zone',
         'dnssec-child.zone')

COREFILE = '''
{
    %(tsig)s
}
example.test:$port {
    bind 127.0.0.1
    cache 8M
    file $dir/example.test.zone example.test
    dnssec {
        keystore $dir/keystore.db
        policy p3
    }
    transfer {
        to 127.0.0.1
        key xfr.key
        notify 127.0.0.1:%(nsd)d 127.0.0.1:%(knot)d
    }
}
other.test:$port {
    bind 127.0.0.1
    file $dir/other.test.zone other.test
    dnssec {
        keystore $dir/keystore.db
        policy pn
    }
    transfer {
        to 127.0.0.0/8
        key xfr.key
        notify 127.0.0.1:%(knot)d
        serial unixtime
    }
}
sub.example.test:$port {
    bind 127.0.0.1
    file $dir/sub.example.test.zone sub.example.test
    dnssec {
        keystore $dir/keystore.db
        policy pc
    }
    transfer {
        to 127.0.0.1
    }
}
big.test:$port {
    bind 127.0.0.1
    file $dir/big.test.zone big.test
    dnssec {
        keystore $dir/keystore.db
        policy pn
    }
    transfer {
        to 127.0.0.1
    }
}
nods.example.test:$port {
    bind 127.0.0.1
    file $dir/dnssec-child.zone nods.example.test
    transfer {
        to 10.0.0.0/8 192.0.2.1
        notify 127.0.0.1:%(listener)d
        serial keep
    }
}
bad.example.test:$port {
    bind 127.0.0.1
    file $dir/bad.example.test.zone bad.example.test
    dnssec {
        keystore $dir/keystore.db
        policy pc
    }
    transfer {
        to 127.0.0.1
        compact-as-nsec
    }
}
'''


def soa_serial(reply):
    soas = reply.rrs('answer', 'SOA')
    return int(soas[0].rdata.split()[2]) if soas else None


class Transfer(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix='signet-transfer-')
        cls.srv = None
        cls.secondaries = []
        cls.resolvers = []
        try:
            cls._setup()
        except Exception:
            cls._teardown()
            raise

    @classmethod
    def _setup(cls):
        cls.db = os.path.join(cls.dir, 'keystore.db')
        for name, denial in (('p3', 'nsec3'), ('pn', 'nsec'), ('pc', 'compact')):
            ctl(cls.db, 'policy', 'add', name, '--denial', denial, '--algorithm',
                'ecdsap256sha256', '--csk')
        line = ctl(cls.db, 'tsig', 'generate', 'xfr.key').strip()
        f = line.split()
        assert f[:3] == ['tsig-key', 'xfr.key.', 'hmac-sha256'] and len(f) == 4, line
        cls.key = ('xfr.key', 'hmac-sha256', f[3])
        cls.ykey = 'hmac-sha256:xfr.key:' + f[3]
        wrong = ctl(cls.db, 'tsig', 'generate', 'xfr.key').split()[3]
        cls.nsd = Nsd(cls.dir, None, ['example.test'], cls.key)
        cls.knot = Knot(cls.dir, None, ['example.test', 'other.test'], cls.key)
        cls.badnsd = Nsd(cls.dir, None, ['example.test'], ('xfr.key', 'hmac-sha256', wrong),
                         name='nsd-wrong-key')
        with open(os.path.join(cls.dir, 'big.test.zone'), 'w') as f:
            f.write('$ORIGIN big.test.\n$TTL 3600\n@ SOA ns hostmaster 1 7200 3600 1209600 300\n'
                    '@ NS ns\nns A 192.0.2.1\n')
            for i in range(BIG_NAMES):
                f.write('h%d A 10.%d.%d.%d\n' % (i, i >> 16 & 255, i >> 8 & 255, i & 255))
        shutil.copy(os.path.join(signet_test.FIXTURES, 'dnssec-child.zone'),
                    os.path.join(cls.dir, 'bad.example.test.zone'))
        # a NOTIFY receiver that ignores the first NOTIFY: the retry must come
        cls.listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        cls.listener.bind(('127.0.0.1', 0))
        cls.srv = Signetd(COREFILE % {'tsig': line, 'nsd': cls.nsd.port, 'knot': cls.knot.port,
                                      'listener': cls.listener.getsockname()[1]},
                          FILES, workdir=cls.dir)
        cls.srv.start()
        for z in ('example.test', 'other.test', 'sub.example.test', 'nods.example.test',
                  'big.test', 'bad.example.test'):
            if not cls.srv.wait_log(r'transfer: %s\.: serial \d+ \(first version\)' % re.escape(z),
                                    timeout=30):
                raise AssertionError('no first version of %s; log:\n%s' % (z, cls.srv.log()))
        for s in (cls.nsd, cls.knot, cls.badnsd):
            s.primary_port = cls.srv.port
            cls.secondaries.append(s)
            s.start()
        for s, zones in ((cls.nsd, ['example.test']), (cls.knot, ['example.test', 'other.test'])):
            for z in zones:
                want = cls.served_serial(z)
                got = s.wait_serial(z, want)
                if got != want:
                    raise AssertionError('%s serves %s serial %s, not %s; its log:\n%s\nsignetd:\n%s'
                                         % (s.name, z, got, want, s.log()[-3000:],
                                            cls.srv.log()[-3000:]))
        cls.ds = {z: record_lines(ctl(cls.db, 'ds', z)) for z in ('example.test', 'other.test')}
        cls.ub_nsd = Unbound(cls.dir, [('example.test', cls.nsd.port)], cls.ds['example.test'],
                             name='unbound-nsd')
        cls.ub_knot = Unbound(cls.dir, [('example.test', cls.knot.port),
                                        ('other.test', cls.knot.port)],
                              cls.ds['example.test'] + cls.ds['other.test'], name='unbound-knot')
        for ub in (cls.ub_nsd, cls.ub_knot):
            cls.resolvers.append(ub)
            ub.start()

    @classmethod
    def served_serial(cls, zone, tcp=False):
        return soa_serial(cls.srv.dig(zone, 'SOA', tcp=tcp))

    @classmethod
    def _teardown(cls):
        if getattr(cls, 'listener', None):
            cls.listener.close()
        for ub in cls.resolvers:
            ub.stop()
        for s in cls.secondaries:
            s.stop()
        signet_test.stop_and_remove(cls.dir, cls.srv)

    @classmethod
    def tearDownClass(cls):
        cls._teardown()

    # -- helpers ------------------------------------------------------------------------

    def axfr(self, zone, tool='kdig', key=True, qtype='AXFR'):
        """Records of a zone transfer (TSIG with the right key unless key=False), as
        normalised lines without the TSIG record; (returncode, lines, raw output)."""
        if tool == 'kdig':
            cmd = ['kdig', '@127.0.0.1', '-p', str(self.srv.port), '+nocomments', '+nostats',
                   '+timeout=10', '+retry=0']
        else:
            cmd = ['dig', '@127.0.0.1', '-p', str(self.srv.port), '+nocomments', '+nostats',
                   '+nocmd', '+nosplit', '+time=10', '+tries=1']
        if key:
            cmd += ['-y', self.ykey if key is True else key]
        cmd += [qtype, zone] if qtype == 'AXFR' else ['-t', qtype, zone]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        lines = [' '.join(l.split()) for l in p.stdout.splitlines()
                 if l.strip() and not l.startswith(';')]
        lines = [l for l in lines if l.split()[3:4] != ['TSIG']]
        return p.returncode, lines, p.stdout + p.stderr

    def resolve(self, ub, name, rtype, rcode='NOERROR'):
        r = ub.dig(name, rtype)
        why = '%s %s via %s\n%r\nlog tail:\n%s' % (name, rtype, ub.name, r, ub.log()[-2500:])
        self.assertEqual(r.rcode, rcode, why)
        self.assertIn('ad', r.flags, 'AD missing: ' + why)
        return r

    def validate_all(self, ub, zones):
        if 'example.test' in zones:
            r = self.resolve(ub, 'web.example.test', 'A')
            self.assertEqual([rr.rdata for rr in r.rrs('answer', 'A')], ['127.0.0.14'])
            self.resolve(ub, 'nothere.example.test', 'A', 'NXDOMAIN')
            r = self.resolve(ub, 'web.example.test', 'TXT')
            self.assertEqual(r.rrs('answer', 'TXT'), [])
            r = self.resolve(ub, 'x.wild.example.test', 'A')
            self.assertEqual([rr.rdata for rr in r.rrs('answer', 'A')], ['127.0.0.20'])
            self.resolve(ub, 'a.b.nothere.wild.example.test', 'TXT')  # wildcard, deeper
        if 'other.test' in zones:
            r = self.resolve(ub, 'www.other.test', 'A')
            self.assertEqual([rr.rdata for rr in r.rrs('answer', 'A')], ['127.0.0.51'])
            self.resolve(ub, 'nothere.other.test', 'A', 'NXDOMAIN')
            self.resolve(ub, 'www.other.test', 'MX')

    # -- tests (numbered: the change comes last) ------------------------------------------

    def test_1_secondaries_serve_our_signatures(self):
        rc, ours, out = self.axfr('example.test')
        self.assertEqual(rc, 0, out)
        our_sigs = {l.split(None, 4)[4] for l in ours if l.split()[3] == 'RRSIG'}
        for s in (self.nsd, self.knot):
            r = s.dig('web.example.test', 'A', '+dnssec')
            sigs = [rr.rdata for rr in r.rrs('answer', 'RRSIG')]
            self.assertTrue(sigs, '%s sent no RRSIG\n%r' % (s.name, r))
            for sig in sigs:
                self.assertIn(' '.join(sig.split()), our_sigs,
                              '%s serves a signature we did not transfer' % s.name)
        self.assertIn('TSIG verified with key xfr.key', self.nsd.log())

    def test_2_validation_through_nsd(self):
        self.validate_all(self.ub_nsd, ['example.test'])

    def test_2_validation_through_knot(self):
        self.validate_all(self.ub_knot, ['example.test', 'other.test'])

    def test_3_axfr_verifies_with_both_tsig_implementations(self):
        for zone in ('example.test', 'other.test'):
            got = {}
            for tool in ('kdig', 'dig'):
                rc, lines, out = self.axfr(zone, tool)
                self.assertEqual(rc, 0, out)
                self.assertNotIn('failed', out.lower(), out)
                self.assertGreater(len(lines), 20, out)
                self.assertEqual(lines[0].split()[3], 'SOA')
                self.assertEqual(lines[-1], lines[0])
                path = os.path.join(self.dir, '%s.%s.axfr' % (zone, tool))
                with open(path, 'w') as f:
                    f.write('\n'.join(lines[:-1]) + '\n')
                p = subprocess.run(['ldns-verify-zone', path], capture_output=True, text=True,
                                   timeout=120)
                self.assertEqual(p.returncode, 0, '%s %s\n%s%s' % (zone, tool, p.stdout, p.stderr))
                # the same records; the tools only quote SVCB values differently
                # (kdig alpn=h2, dig alpn="h2")
                got[tool] = sorted(l.lower().replace('"', '') if ' svcb ' in l.lower() or
                                   ' https ' in l.lower() else l.lower() for l in lines)
            self.assertEqual(got['kdig'], got['dig'])
            # the SOA served to queries is the transferred one, over UDP and TCP
            axfr_serial = int(lines[0].split()[6])
            self.assertEqual(self.served_serial(zone), axfr_serial)
            self.assertEqual(self.served_serial(zone, tcp=True), axfr_serial)
        rc, lines, out = self.axfr('example.test')
        self.assertIn('NSEC3PARAM', {l.split()[3] for l in lines})
        self.assertIn('NSEC3', {l.split()[3] for l in lines})

    def test_4_refusals(self):
        # no key, a wrong key
        rc, lines, out = self.axfr('example.test', key=False)
        self.assertEqual(lines, [], out)
        self.assertIn('REFUSED', out)
        rc, lines, out = self.axfr('example.test', key='hmac-sha256:xfr.key:' + 'A' * 43 + '=')
        self.assertEqual(lines, [], out)
        self.assertIn('BADSIG', out)
        self.assertTrue(self.srv.wait_log(r'AXFR from 127\.0\.0\.1 refused: TSIG BADSIG'))
        # the secondary with the wrong key never gets the zone, and says why
        self.assertIsNone(self.badnsd.serial('example.test'))
        deadline = time.monotonic() + 10
        while 'bad tsig signature' not in self.badnsd.log() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertIn('bad tsig signature', self.badnsd.log())
        self.assertIsNone(self.badnsd.serial('example.test'))
        # AXFR over UDP
        qid, q = signet_test.make_query('example.test', 'AXFR')
        r = signet_test.parse_message(self.srv.udp(q, qid))
        self.assertEqual(r.rcode, 'REFUSED')
        # an address outside 'to' (the unsigned zone lists only other networks)
        rc, lines, out = self.axfr('nods.example.test', key=False)
        self.assertEqual(lines, [], out)
        self.assertIn('REFUSED', out)
        self.assertTrue(self.srv.wait_log(r"nods\.example\.test\.: AXFR from 127\.0\.0\.1 refused: "
                                          r"not in 'to'"))
        # compact denial has no chain to transfer
        rc, lines, out = self.axfr('sub.example.test', key=False)
        self.assertEqual(lines, [], out)
        self.assertIn('REFUSED', out)
        self.assertTrue(self.srv.wait_log(r'sub\.example\.test\.: AXFR from 127\.0\.0\.1 refused: '
                                          r'the zone uses compact denial'))
        # not a zone apex
        rc, lines, out = self.axfr('web.example.test')
        self.assertEqual(lines, [], out)
        self.assertIn('NOTAUTH', out)

    def test_5_ixfr_from_unknown_serial_falls_back_to_axfr(self):
        rc, full, out = self.axfr('example.test')
        self.assertEqual(rc, 0, out)
        rc, lines, out = self.axfr('example.test', qtype='IXFR=1')
        self.assertEqual(rc, 0, out)
        self.assertEqual(sorted(lines), sorted(full))
        self.assertTrue(self.srv.wait_log(r'IXFR->AXFR to 127\.0\.0\.1'))
        # a current serial: the SOA alone
        rc, lines, out = self.axfr('example.test', qtype='IXFR=%d' % self.served_serial('example.test'))
        self.assertEqual([l.split()[3] for l in lines], ['SOA'], out)

    def test_6_change_reaches_secondaries_by_notify_and_ixfr(self):
        before = self.served_serial('example.test')
        self.assertEqual(self.served_serial('example.test'), before)  # now from the cache
        mark = self.srv.log_size()
        nsd_mark, knot_mark = len(self.nsd.log()), len(self.knot.log())
        with open(self.srv.path('example.test.zone'), 'a') as f:
            f.write('added IN A 127.0.0.99\n')
        self.srv.send_signal(1)  # SIGHUP
        m = self.srv.wait_log(r'transfer: example\.test\.: serial (\d+) \(zone changed\)', mark, 20)
        self.assertTrue(m, self.srv.log()[mark:])
        after = int(m.group(1))
        self.assertEqual(after, before + 1)  # the default policy: increment
        for s in (self.nsd, self.knot):
            got = s.wait_serial('example.test', after)
            self.assertEqual(got, after, '%s log:\n%s' % (s.name, s.log()[-3000:]))
            r = s.dig('added.example.test', 'A')
            self.assertEqual([rr.rdata for rr in r.rrs('answer', 'A')], ['127.0.0.99'])
        # NOTIFY acknowledged by both, and both came by IXFR
        log = self.srv.log()[mark:]
        self.assertEqual(len(re.findall(r'notify: example\.test\.: serial %d: 127\.0\.0\.1:\d+ '
                                        r'acknowledged' % after, log)), 2, log)
        self.assertTrue(self.srv.wait_log(r'IXFR to 127\.0\.0\.1 serial %d(.|\n)*IXFR to 127\.0\.0\.1 '
                                          r'serial %d' % (after, after), mark), log)
        self.assertNotRegex(log, r'(IXFR->)?AXFR to 127\.0\.0\.1 serial %d' % after)
        self.assertIn('notify for example.test. from 127.0.0.1', self.nsd.log()[nsd_mark:])
        self.assertRegex(self.knot.log()[knot_mark:], r'IXFR, incoming.*finished')
        # what they serve now still validates, the new name and the denial around it
        for ub in (self.ub_nsd, self.ub_knot):
            r = self.resolve(ub, 'added.example.test', 'A')
            self.assertEqual([rr.rdata for rr in r.rrs('answer', 'A')], ['127.0.0.99'])
            self.resolve(ub, 'addee.example.test', 'A', 'NXDOMAIN')
        # the answer cache held the old SOA: the transfer plugin's version moved it on
        self.assertEqual(self.served_serial('example.test'), after)
        self.assertEqual(self.served_serial('example.test', tcp=True), after)

    def test_7_new_key_without_reload_is_a_new_version(self):
        before = self.served_serial('example.test')
        self.assertEqual(self.served_serial('example.test'), before)  # cached
        mark = self.srv.log_size()
        k = ctl(self.db, 'key', 'generate', 'example.test', '--role', 'zsk', as_json=True)
        ctl(self.db, 'key', 'set', str(k['id']), '--publish', 'now')
        m = self.srv.wait_log(r'transfer: example\.test\.: serial (\d+) \(keys changed\)', mark, 20)
        self.assertTrue(m, self.srv.log()[mark:])
        after = int(m.group(1))
        self.assertEqual(after, before + 1)
        # the answer cache does not keep the old SOA: the plugin's version moved
        self.assertEqual(self.served_serial('example.test'), after)
        for s in (self.nsd, self.knot):
            self.assertEqual(s.wait_serial('example.test', after), after, s.log()[-2000:])
            r = s.dig('example.test', 'DNSKEY')
            self.assertEqual(len(r.rrs('answer', 'DNSKEY')), 2, r)
        # only DNSKEY and the SOA moved: the other signatures were kept, so the IXFR is
        # small (SOAs, old and new DNSKEY RRset and RRSIG, SOA RRSIGs)
        sizes = [int(x) for x in re.findall(r'IXFR to 127\.0\.0\.1 serial %d: (\d+) records'
                                            % after, self.srv.log()[mark:])]
        self.assertEqual(len(sizes), 2, self.srv.log()[mark:])
        for n in sizes:
            self.assertLessEqual(n, 12, self.srv.log()[mark:])
        self.validate_all(self.ub_nsd, ['example.test'])
        self.validate_all(self.ub_knot, ['example.test'])

    def test_8_transfer_keeps_its_version_through_reload_and_new_version(self):
        """A slow reader: the AXFR started on serial S ends on S with every record of S,
        while signetd reloads and makes S+1 meanwhile."""
        s = signet_test.tcp_connect('127.0.0.1', self.srv.port, timeout=30)
        try:
            qid, q = signet_test.make_query('big.test', 'AXFR')
            s.sendall(signet_test.tcp_frame(q))
            first = signet_test.parse_message(signet_test.tcp_read_message(s))
            self.assertEqual(first.rcode, 'NOERROR')
            start = int(first.rrs('answer', 'SOA')[0].rdata.split()[2])
            mark = self.srv.log_size()
            with open(self.srv.path('big.test.zone'), 'a') as f:
                f.write('late A 192.0.2.99\n')
            self.srv.send_signal(1)  # SIGHUP
            self.assertTrue(self.srv.wait_log(r'big\.test\.: serial %d \(zone changed\)' % (start + 1),
                                              mark, 60), self.srv.log()[mark:])
            records, messages, last = first.counts['answer'], 1, None
            while True:
                raw = signet_test.tcp_read_message(s)
                self.assertIsNotNone(raw, 'connection closed before the final SOA')
                m = signet_test.parse_message(raw)
                self.assertEqual(m.id, qid)
                messages += 1
                records += m.counts['answer']
                soas = m.rrs('answer', 'SOA')
                if soas:
                    last = int(soas[-1].rdata.split()[2])
                    break
        finally:
            s.close()
        self.assertEqual(last, start)
        self.assertGreater(messages, 10)
        # every record of version S: SOA twice, the rest once (S+1 has 'late' more)
        self.assertTrue(self.srv.wait_log(r'big\.test\.: AXFR to 127\.0\.0\.1 serial %d: %d records'
                                          % (start, records), mark, 10), self.srv.log()[mark:])
        rc, lines, out = self.axfr('big.test', key=False)
        self.assertEqual(int(lines[0].split()[6]), start + 1)
        self.assertIn('late.big.test. 3600 IN A 192.0.2.99', lines)
        self.assertEqual(len(lines), records + 4)  # late: A, RRSIG, NSEC, RRSIG

    def test_9_compact_zone_with_compact_as_nsec_transfers_a_real_nsec_chain(self):
        rc, lines, out = self.axfr('bad.example.test', key=False)
        self.assertEqual(rc, 0, out)
        types = {l.split()[3] for l in lines}
        self.assertIn('NSEC', types)
        self.assertIn('RRSIG', types)
        path = os.path.join(self.dir, 'bad.axfr')
        with open(path, 'w') as f:
            f.write('\n'.join(lines[:-1]) + '\n')
        p = subprocess.run(['ldns-verify-zone', path], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        # while signetd itself answers with compact denial (NOERROR, NSEC to a \000 name)
        r = self.srv.dig('nothere.bad.example.test', 'A', '+dnssec')
        self.assertEqual(r.rcode, 'NOERROR', r)

    def test_9_notify_is_retried_until_acknowledged(self):
        before = self.served_serial('nods.example.test')
        mark = self.srv.log_size()
        with open(self.srv.path('dnssec-child.zone'), 'a') as f:
            f.write('notified IN A 192.0.2.7\n')
        self.srv.send_signal(1)  # SIGHUP
        # serial keep: the file's serial did not move, so the new one is last + 1
        want = before + 1
        self.listener.settimeout(15)
        got = []
        qname = signet_test.encode_name('nods.example.test')
        while len(got) < 2:
            data, peer = self.listener.recvfrom(4096)
            m = signet_test.parse_message(data)
            if m.opcode != 'OPCODE4':
                continue
            self.assertEqual(data[12:12 + len(qname) + 4], qname + struct.pack('!HH', 6, 1))
            self.assertIn('aa', m.flags)
            soas = m.rrs('answer', 'SOA')  # RFC 1996 3.7: the new SOA comes along
            if soas and int(soas[0].rdata.split()[2]) == want:
                got.append((time.monotonic(), m.id))   # retries of older versions: skipped
        # the first went unanswered; the retry (a new ID) a second or so later
        self.assertGreaterEqual(got[1][0] - got[0][0], 0.8)
        self.assertNotEqual(got[0][1], got[1][1])
        reply = bytearray(data)
        reply[2] |= 0x80  # QR
        self.listener.sendto(bytes(reply), peer)
        self.assertTrue(self.srv.wait_log(r'notify: nods\.example\.test\.: serial %d: 127\.0\.0\.1:%d '
                                          r'acknowledged' % (want, self.listener.getsockname()[1]),
                                          mark, 10), self.srv.log()[mark:])
        self.assertTrue(self.srv.wait_log(r'zone file serial 1 is not above the served serial %d'
                                          % before, mark, 5))
        self.assertEqual(self.served_serial('nods.example.test'), want)
    def test_9_z_restart_serves_the_same_version_and_journal(self):
        # last: signetd restarts on another port (the secondaries are done with it)
        serial = self.served_serial('example.test')
        rc, before, out = self.axfr('example.test')
        self.assertEqual(rc, 0, out)
        self.assertEqual(self.srv.stop(), 0, self.srv.log()[-3000:])
        mark = self.srv.log_size()
        self.srv.start()
        self.assertTrue(self.srv.wait_log(r'example\.test\.: serial %d \(as before the restart\)'
                                          % serial, mark, 30), self.srv.log()[mark:])
        self.assertEqual(self.served_serial('example.test'), serial)
        rc, after, out = self.axfr('example.test')
        self.assertEqual(sorted(after), sorted(before))  # signatures included
        # the journal came back: an IXFR from two versions ago is incremental
        rc, lines, out = self.axfr('example.test', qtype='IXFR=%d' % (serial - 2))
        self.assertEqual(rc, 0, out)
        self.assertTrue(self.srv.wait_log(r'example\.test\.: IXFR to 127\.0\.0\.1 serial %d: '
                                          % serial, mark, 5), self.srv.log()[mark:])
        self.assertLess(len(lines), len(after) / 2)
        self.assertNotIn('IXFR->AXFR', self.srv.log()[mark:])


if __name__ == '__main__':
    unittest.main(verbosity=2)
