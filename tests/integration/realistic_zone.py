# SPDX-License-Identifier: MIT
"""A generated zone shaped like real ones, for the validator and differential tests.

    z = realistic_zone.generate('diff.test.', hosts=1800, seed=14)
    open(path, 'w').write(z.text)
    z.names       # every owner name in the zone (presentation form, absolute)
    z.cuts        # delegation points; z.secure_cuts those with a DS
    z.below_cuts  # names at or below a cut that a query should get a referral for
    z.types       # {owner (lower case): set of type names}

What is in it: an apex with MX, TXT, CAA, HTTPS and NS in and out of bailiwick; hosts
with A/AAAA, some under empty non-terminals; secure (DS) and insecure delegations with
in-bailiwick glue, glue deeper below the cut, sibling glue, out-of-bailiwick NS only, and
occluded data below a cut; wildcards (plain, below empty non-terminals, `*.` CNAMEs in and
out of the zone); CNAME chains in the zone, out of it, into a delegation, to a wildcard,
to a name that does not exist; escaped and upper-case owner names; long TXT (many strings,
a big RRset); CAA, SVCB/HTTPS with in-zone targets, TLSA, NAPTR, SSHFP, SRV, PTR and an
unknown type (RFC 3597). Every record is valid for BIND, Knot, ldns and signetd.
Python 3 standard library only; the same seed gives the same zone.
"""

import random


class Zone:
    def __init__(self, origin):
        self.origin = origin
        self.lines = []
        self.names = []
        self.types = {}
        self.cuts = []
        self.secure_cuts = []
        self.below_cuts = []
        self.wildcards = []

    def add(self, owner, rtype, rdata, ttl=None):
        """owner: relative ('@' for the apex) or absolute."""
        if owner == '@':
            absname = self.origin
        elif owner.endswith('.'):
            absname = owner
        else:
            absname = owner + '.' + self.origin
        if absname.lower() not in self.types:
            self.names.append(absname)
            self.types[absname.lower()] = set()
        self.types[absname.lower()].add(rtype)
        self.lines.append('%s %s IN %s %s' % (absname, '' if ttl is None else ttl, rtype, rdata))

    @property
    def text(self):
        return ('$ORIGIN %s\n$TTL 3600\n' % self.origin) + '\n'.join(self.lines) + '\n'


def _hex(rng, n):
    return ''.join('%02X' % rng.randrange(256) for _ in range(n))


def generate(origin='diff.test.', hosts=1800, seed=14, cuts=40):
    """A zone of about hosts + 12 * cuts + 300 owner names under origin."""
    rng = random.Random(seed)
    z = Zone(origin)
    o = origin
    z.add('@', 'SOA', 'ns1.%s hostmaster.%s 2026120701 7200 3600 1209600 300' % (o, o))
    z.add('@', 'NS', 'ns1.%s' % o)
    z.add('@', 'NS', 'ns2.%s' % o)
    z.add('@', 'NS', 'ns3.example.net.')
    z.add('@', 'A', '192.0.2.1')
    z.add('@', 'AAAA', '2001:db8::1')
    z.add('@', 'MX', '10 mx1.%s' % o)
    z.add('@', 'MX', '20 mx2.%s' % o)
    z.add('@', 'MX', '30 mx.example.net.')
    z.add('@', 'TXT', '"v=spf1 ip4:192.0.2.0/24 -all"')
    z.add('@', 'TXT', '"google-site-verification=%s"' % _hex(rng, 20))
    z.add('@', 'CAA', '0 issue "letsencrypt.org"')
    z.add('@', 'CAA', '0 iodef "mailto:security@%s"' % o.rstrip('.'))
    z.add('@', 'HTTPS', '1 . alpn=h2,h3')
    for n in ('ns1', 'ns2', 'mx1', 'mx2'):
        z.add(n, 'A', '192.0.2.%d' % (10 + len(z.names)))
        z.add(n, 'AAAA', '2001:db8::%x' % (10 + len(z.names)))

    # hosts, some in departments (names with empty non-terminals above them)
    depts = ['dept%d.region%d' % (i, i % 3) for i in range(12)]
    for i in range(hosts):
        where = '' if i % 3 else '.' + depts[i % len(depts)]
        n = 'h%04d%s' % (i, where)
        r = rng.random()
        if r < 0.7:
            z.add(n, 'A', '10.%d.%d.%d' % (i >> 16 & 255, i >> 8 & 255, i & 255))
        if r > 0.4:
            z.add(n, 'AAAA', '2001:db8:%x::%x' % (i >> 8, i & 255))
        if i % 17 == 0:
            z.add(n, 'TXT', '"host %d" "owner=ops"' % i, ttl=300)
        if i % 29 == 0:
            z.add(n, 'MX', '10 mx1.%s' % o)
        if i % 41 == 0:
            z.add(n, 'SSHFP', '4 2 %s' % _hex(rng, 32))
            z.add(n, 'SSHFP', '1 1 %s' % _hex(rng, 20))
        if i % 53 == 0:
            z.add('_443._tcp.' + n, 'TLSA', '3 1 1 %s' % _hex(rng, 32))
        if i % 97 == 0:
            z.add(n, 'HINFO', '"PC" "Linux"')
        if r >= 0.4 and r <= 0.7 and 'A' not in z.types.get((n + '.' + o).lower(), ()):
            z.add(n, 'A', '10.200.%d.%d' % (i >> 8 & 255, i & 255))

    # delegations: secure (DS) and insecure, glue in many shapes
    for i in range(cuts):
        c = 'sec%02d' % i if i % 2 == 0 else 'ins%02d' % i
        kind = i % 5
        if kind == 0:     # in-bailiwick glue, two servers, both families
            z.add(c, 'NS', 'ns1.%s.%s' % (c, o))
            z.add(c, 'NS', 'ns2.%s.%s' % (c, o))
            z.add('ns1.' + c, 'A', '198.51.100.%d' % i)
            z.add('ns1.' + c, 'AAAA', '2001:db8:100::%x' % i)
            z.add('ns2.' + c, 'A', '198.51.101.%d' % i)
        elif kind == 1:   # out-of-bailiwick only
            z.add(c, 'NS', 'ns1.example.net.')
            z.add(c, 'NS', 'ns2.example.org.')
        elif kind == 2:   # glue deeper below the cut, and one in the parent
            z.add(c, 'NS', 'a.ns.deep.%s.%s' % (c, o))
            z.add(c, 'NS', 'ns1.%s' % o)
            z.add('a.ns.deep.' + c, 'A', '198.51.102.%d' % i)
        elif kind == 3:   # sibling glue: the server is named in another delegated zone
            sib = 'sec%02d' % (i - 3) if (i - 3) % 2 == 0 else 'ins%02d' % (i - 3)
            z.add(c, 'NS', 'ns1.%s.%s' % (sib, o))
            z.add(c, 'NS', 'ns.%s.%s' % (c, o))
            z.add('ns.' + c, 'A', '198.51.103.%d' % i)
            z.add('ns.' + c, 'AAAA', '2001:db8:103::%x' % i)
        else:             # glue plus occluded data below the cut
            z.add(c, 'NS', 'ns.%s.%s' % (c, o))
            z.add('ns.' + c, 'A', '198.51.104.%d' % i)
            z.add('www.' + c, 'A', '203.0.113.%d' % i)
            z.add('www.' + c, 'TXT', '"occluded"')
        if c.startswith('sec'):
            z.add(c, 'DS', '%d 13 2 %s' % (rng.randrange(65536), _hex(rng, 32)))
            if i % 4 == 0:
                z.add(c, 'DS', '%d 8 2 %s' % (rng.randrange(65536), _hex(rng, 32)))
            z.secure_cuts.append(c + '.' + o)
        z.cuts.append(c + '.' + o)
        z.below_cuts += ['www.%s.%s' % (c, o), 'a.b.%s.%s' % (c, o), 'ns1.%s.%s' % (c, o)]

    # wildcards
    z.add('*.wild', 'A', '192.0.2.100')
    z.add('*.wild', 'TXT', '"wildcard"')
    z.add('*.wild', 'AAAA', '2001:db8::100')
    z.add('exists.wild', 'A', '192.0.2.101')
    z.add('*.l3.l2.ent-wild', 'A', '192.0.2.102')          # below empty non-terminals
    z.add('*.l3.l2.ent-wild', 'MX', '10 mx1.%s' % o)
    z.add('*.cname-wild', 'CNAME', 'h0001.%s' % o)          # `*.` CNAMEs
    z.add('*.cname-out', 'CNAME', 'www.example.com.')
    z.add('*.cname-chain', 'CNAME', 'c1.%s' % o)
    z.add('*.any', 'TXT', '"catch-all"')                     # catches a whole subtree
    z.wildcards = ['any', 'wild', 'l3.l2.ent-wild', 'cname-wild', 'cname-out', 'cname-chain']

    # CNAME chains
    z.add('c1', 'CNAME', 'c2.%s' % o)
    z.add('c2', 'CNAME', 'c3.%s' % o)
    z.add('c3', 'CNAME', 'h0001.%s' % o)
    z.add('cout', 'CNAME', 'www.example.com.')
    z.add('cchain-out', 'CNAME', 'cout.%s' % o)
    z.add('cdeleg', 'CNAME', 'www.ins01.%s' % o)           # into a delegation
    z.add('cdeleg2', 'CNAME', 'host.sec00.%s' % o)
    z.add('cwild', 'CNAME', 'foo.wild.%s' % o)              # to a wildcard
    z.add('cnx', 'CNAME', 'nothere.sub.h0001.%s' % o)       # to a name that does not exist
    z.add('cent', 'CNAME', 'region1.%s' % o)                # to an empty non-terminal
    z.add('www', 'CNAME', 'h0002.%s' % o)
    z.add('cmx', 'CNAME', 'mx1.%s' % o)
    z.add('loop1', 'CNAME', 'loop2.%s' % o)                 # a loop
    z.add('loop2', 'CNAME', 'loop1.%s' % o)
    for k in range(10):                                     # a long chain
        z.add('long%d' % k, 'CNAME', 'long%d.%s' % (k + 1, o))
    z.add('long10', 'A', '192.0.2.130')
    z.add('cexists', 'CNAME', 'exists.wild.%s' % o)

    # a delegation whose only server is named at the cut itself, and an empty one
    z.add('selfns', 'NS', 'selfns.%s' % o)
    z.add('selfns', 'A', '198.51.105.1')
    z.add('selfns', 'DS', '%d 13 2 %s' % (rng.randrange(65536), _hex(rng, 32)))
    z.cuts.append('selfns.' + o)
    z.secure_cuts.append('selfns.' + o)
    z.below_cuts.append('x.selfns.' + o)

    # escaped and upper-case names
    z.add(r'a\.b', 'A', '192.0.2.110')
    z.add(r'sp\032ace', 'TXT', '"space in the owner"')
    z.add(r'\@home', 'A', '192.0.2.111')
    z.add(r'b\200in', 'A', '192.0.2.112')
    z.add(r'semi\;colon', 'A', '192.0.2.113')
    z.add('UPPER', 'A', '192.0.2.114')
    z.add('MiXeD.CaSe', 'A', '192.0.2.115')
    z.add('MiXeD.CaSe', 'TXT', '"MiXeD"')

    # long TXT: one record of many strings, and a big RRset (truncates without EDNS)
    z.add('longtxt', 'TXT', ' '.join('"%s"' % ('%02d' % k * 120)[:200] for k in range(6)))
    for k in range(12):
        z.add('bigset', 'TXT', '"record %02d %s"' % (k, 'x' * 90))
    z.add('_dmarc', 'TXT', '"v=DMARC1; p=reject; rua=mailto:dmarc@%s"' % o.rstrip('.'))
    z.add('sel1._domainkey', 'TXT', '"v=DKIM1; k=rsa; p=" "%s" "%s"'
          % (_hex(rng, 100), _hex(rng, 100)))

    # service records
    z.add('svc', 'SVCB', '1 h0005.%s alpn=h2 port=8443 ipv4hint=192.0.2.120' % o)
    z.add('svc', 'SVCB', '2 . alpn=h3')
    z.add('web', 'HTTPS', '1 h0004.%s alpn=h2,h3' % o)
    z.add('web', 'A', '192.0.2.121')
    z.add('_sip._udp', 'SRV', '0 5 5060 h0007.%s' % o)
    z.add('_sip._tcp', 'SRV', '10 60 5060 ext.example.net.')
    z.add('enum', 'NAPTR', '100 10 "u" "E2U+sip" "!^.*$!sip:info@example.net!" .')
    z.add('enum', 'NAPTR', '102 10 "s" "SIP+D2U" "" _sip._udp.%s' % o)
    z.add('_25._tcp.mx1', 'TLSA', '3 1 1 %s' % _hex(rng, 32))
    z.add('1.2.0.192.in-addr', 'PTR', 'h0001.%s' % o)
    z.add('unknown', 'TYPE65280', r'\# 6 0A0000010203')
    z.add('unknown2', 'TYPE65281', r'\# 0')
    z.add('caa-only', 'CAA', '128 issue ";"')
    return z
