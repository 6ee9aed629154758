# SPDX-License-Identifier: MIT
"""Helpers for Signet's integration tests: run a real signetd on a free loopback port,
query it with dig and kdig, and speak raw DNS over UDP and TCP.

Python 3 standard library only. A test module does

    class T(signet_test.ServerCase):
        COREFILE = '''
        example.test:$port {
            bind 127.0.0.1
            file $fixtures/example.test.zone
        }'''
        def test_x(self):
            r = self.dig('www.example.test', 'A')
            self.assertEqual(r.rcode, 'NOERROR')

    if __name__ == '__main__':
        signet_test.main()

The Corefile is a string.Template: $port is the port picked for this server ($port2 a
second one, for configs that listen on two), $dir the
server's temporary directory (zone files listed in FILES are copied there) and $fixtures
tests/fixtures. The signetd binary comes from $SIGNETD (CTest passes the built target),
else build/daemon/signetd. $SIGNETD_WRAPPER, when set, is a command line put in front of
it (e.g. "valgrind --error-exitcode=99 --leak-check=full"); start and stop waits then
grow by $SIGNETD_SLOWDOWN (default 10), since such a wrapper makes signetd that much slower.
"""

import atexit
import ctypes
import json
import os
import random
import re
import shlex
import shutil
import signal
import socket
import string
import struct
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(REPO, 'tests', 'fixtures')

WRAPPER = shlex.split(os.environ.get('SIGNETD_WRAPPER', ''))
SLOWDOWN = float(os.environ.get('SIGNETD_SLOWDOWN', '10')) if WRAPPER else 1.0
START_TIMEOUT = 20.0 * SLOWDOWN  # seconds for signetd to answer its first query
STOP_TIMEOUT = 10.0 * SLOWDOWN   # seconds for signetd to exit after SIGTERM (leak check)
QUERY_TIMEOUT = 2.0    # per try, for one query

# ---- constants ---------------------------------------------------------------------

TYPES = {
    'A': 1, 'NS': 2, 'CNAME': 5, 'SOA': 6, 'PTR': 12, 'HINFO': 13, 'MX': 15, 'TXT': 16,
    'AAAA': 28, 'SRV': 33, 'OPT': 41, 'DS': 43, 'RRSIG': 46, 'NSEC': 47, 'DNSKEY': 48,
    'NSEC3': 50, 'TSIG': 250, 'IXFR': 251, 'AXFR': 252, 'ANY': 255,
}
TYPE_NAMES = {v: k for k, v in TYPES.items()}
RCODES = {
    'NOERROR': 0, 'FORMERR': 1, 'SERVFAIL': 2, 'NXDOMAIN': 3, 'NOTIMP': 4, 'REFUSED': 5,
    'YXDOMAIN': 6, 'YXRRSET': 7, 'NXRRSET': 8, 'NOTAUTH': 9, 'NOTZONE': 10, 'BADVERS': 16,
    'BADCOOKIE': 23,
}
RCODE_NAMES = {v: k for k, v in RCODES.items()}
FLAG_BITS = {'qr': 0x8000, 'aa': 0x0400, 'tc': 0x0200, 'rd': 0x0100, 'ra': 0x0080,
             'ad': 0x0020, 'cd': 0x0010}


def type_code(t):
    if isinstance(t, int):
        return t
    t = t.upper()
    if t in TYPES:
        return TYPES[t]
    if t.startswith('TYPE'):
        return int(t[4:])
    raise ValueError('unknown type %r' % t)


def type_name(code):
    return TYPE_NAMES.get(code, 'TYPE%d' % code)


def fqdn(name):
    return name if name.endswith('.') else name + '.'


# ---- a reply, whichever client got it ---------------------------------------------

class RR:
    """One record as presented by a client: owner, TTL, type name, rdata text."""

    def __init__(self, name, ttl, rtype, rdata, rclass='IN'):
        self.name = name
        self.ttl = int(ttl)
        self.type = rtype.upper()
        self.rclass = rclass.upper()
        self.rdata = ' '.join(rdata.split())

    def key(self):
        """Case-insensitive (owner, type, rdata) for comparisons."""
        return (self.name.lower(), self.type, self.rdata.lower())

    def __repr__(self):
        return '%s %d %s %s %s' % (self.name, self.ttl, self.rclass, self.type, self.rdata)


class Reply:
    """A DNS reply: header, question, sections (OPT kept apart as .edns)."""

    def __init__(self):
        self.id = None
        self.opcode = None
        self.rcode = None
        self.flags = set()
        self.counts = {}
        self.edns = None          # dict(version=, flags=set(), udp=) or None
        self.question = []        # [(name, class, type)]
        self.answer = []
        self.authority = []
        self.additional = []
        self.size = None
        self.text = ''

    def section(self, name):
        return getattr(self, name)

    def rrs(self, section, rtype=None, name=None):
        out = []
        for rr in self.section(section):
            if rtype and rr.type != rtype.upper():
                continue
            if name and rr.name.lower() != fqdn(name).lower():
                continue
            out.append(rr)
        return out

    def __repr__(self):
        return self.text or ('<Reply id=%s rcode=%s flags=%s an=%r ns=%r ar=%r edns=%r>' % (
            self.id, self.rcode, sorted(self.flags), self.answer, self.authority,
            self.additional, self.edns))


class NoReply(Exception):
    pass


_HEADER_RE = re.compile(r';; ->>HEADER<<- opcode: (\S+), status: (\S+), id: (\d+)')
_FLAGS_RE = re.compile(r';; flags:([^;]*); QUERY: (\d+), ANSWER: (\d+), AUTHORITY: (\d+), '
                       r'ADDITIONAL: (\d+)')
_EDNS_RE = re.compile(r'; EDNS: version: (\d+), flags:([^;]*);.*udp: (\d+)')
_SECTIONS = {'QUESTION': 'question', 'ANSWER': 'answer', 'AUTHORITY': 'authority',
             'ADDITIONAL': 'additional'}


def parse_dig(text):
    """Parse dig's default output (the last message in it) into a Reply."""
    r = None
    section = None
    for line in text.splitlines():
        m = _HEADER_RE.match(line)
        if m:
            r = Reply()
            r.text = text
            r.opcode, r.rcode, r.id = m.group(1), m.group(2), int(m.group(3))
            section = None
            continue
        if r is None:
            continue
        m = _FLAGS_RE.match(line)
        if m:
            r.flags = set(m.group(1).split())
            r.counts = dict(zip(('question', 'answer', 'authority', 'additional'),
                                map(int, m.groups()[1:])))
            continue
        m = _EDNS_RE.match(line)
        if m:
            r.edns = {'version': int(m.group(1)), 'flags': set(m.group(2).split()),
                      'udp': int(m.group(3))}
            continue
        m = re.match(r';; (QUESTION|ANSWER|AUTHORITY|ADDITIONAL) SECTION:', line)
        if m:
            section = _SECTIONS[m.group(1)]
            continue
        m = re.match(r';; MSG SIZE\s+rcvd: (\d+)', line)
        if m:
            r.size = int(m.group(1))
            continue
        if not line.strip():
            continue
        if section == 'question' and line.startswith(';'):
            f = line[1:].split()
            if len(f) >= 3:
                r.question.append((f[0], f[1], f[2]))
            continue
        if line.startswith(';') or section in (None, 'question'):
            continue
        f = line.split(None, 4)
        if len(f) < 4:
            continue
        r.section(section).append(RR(f[0], f[1], f[3], f[4] if len(f) > 4 else '', f[2]))
    if r is None:
        raise NoReply(text)
    return r


def parse_kdig_json(text):
    """Parse kdig +json output (RFC 8427) into a Reply."""
    try:
        d = json.loads(text)
    except ValueError:
        raise NoReply(text)
    if 'ID' not in d:
        raise NoReply(text)
    r = Reply()
    r.text = text
    r.id = d['ID']
    r.opcode = {0: 'QUERY', 1: 'IQUERY', 2: 'STATUS', 4: 'NOTIFY', 5: 'UPDATE'}.get(
        d['Opcode'], 'RESERVED%d' % d['Opcode'])
    r.flags = {f.lower() for f in ('QR', 'AA', 'TC', 'RD', 'RA', 'AD', 'CD') if d.get(f)}
    r.counts = {'question': d['QDCOUNT'], 'answer': d['ANCOUNT'],
                'authority': d['NSCOUNT'], 'additional': d['ARCOUNT']}
    r.size = d.get('msgLength')
    rcode = d['RCODE']
    if 'QNAME' in d:
        r.question.append((d['QNAME'], d.get('QCLASSname', 'IN'), d.get('QTYPEname')))
    for key, sec in (('answerRRs', 'answer'), ('authorityRRs', 'authority'),
                     ('additionalRRs', 'additional')):
        for rr in d.get(key, []):
            if rr['TYPE'] == 41:
                ttl = rr['TTL']
                rcode |= ((ttl >> 24) & 0xff) << 4
                r.edns = {'version': (ttl >> 16) & 0xff,
                          'flags': {'do'} if ttl & 0x8000 else set(), 'udp': rr['CLASS']}
                continue
            rtype = rr.get('TYPEname', 'TYPE%d' % rr['TYPE'])
            rdata = rr.get('rdata' + rtype)
            if rdata is None:
                rdata = '\\# %d %s' % (rr['RDLENGTH'], rr.get('RDATAHEX', ''))
            r.section(sec).append(RR(rr['NAME'], rr['TTL'], rtype, rdata,
                                     rr.get('CLASSname', 'IN')))
    r.rcode = RCODE_NAMES.get(rcode, 'RCODE%d' % rcode)
    return r


# ---- raw DNS messages --------------------------------------------------------------

def encode_name(name):
    """Presentation name -> uncompressed wire (no escapes; '.' is the root)."""
    if name in ('.', ''):
        return b'\x00'
    out = b''
    for label in name.rstrip('.').split('.'):
        b = label.encode('ascii')
        out += bytes([len(b)]) + b
    return out + b'\x00'


def opt_rr(payload=1232, version=0, do=False, options=b'', ext_rcode=0):
    ttl = (ext_rcode << 24) | (version << 16) | (0x8000 if do else 0)
    return b'\x00' + struct.pack('!HHIH', 41, payload, ttl, len(options)) + options


def make_query(name, qtype='A', qid=None, rd=False, opcode=0, edns=False, payload=1232,
               version=0, do=False, qclass=1):
    """A well-formed query; returns (id, bytes)."""
    if qid is None:
        qid = random.randrange(0x10000)
    flags = (opcode << 11) | (0x0100 if rd else 0)
    ar = 1 if edns else 0
    msg = struct.pack('!HHHHHH', qid, flags, 1, 0, 0, ar)
    msg += encode_name(name) + struct.pack('!HH', type_code(qtype), qclass)
    if edns:
        msg += opt_rr(payload, version, do)
    return qid, msg


def _read_name(msg, off):
    """Decompress a name; returns (text, offset after it). Raises ValueError."""
    labels = []
    end = None
    jumps = 0
    while True:
        if off >= len(msg):
            raise ValueError('name runs past the message')
        ln = msg[off]
        if ln & 0xc0 == 0xc0:
            if off + 1 >= len(msg):
                raise ValueError('truncated pointer')
            if end is None:
                end = off + 2
            off = ((ln & 0x3f) << 8) | msg[off + 1]
            jumps += 1
            if jumps > 64:
                raise ValueError('pointer loop')
            continue
        if ln & 0xc0:
            raise ValueError('bad label type')
        off += 1
        if ln == 0:
            break
        labels.append(msg[off:off + ln].decode('latin-1'))
        off += ln
    return ('.'.join(labels) + '.') if labels else '.', (end if end is not None else off)


def _txt_strings(rd):
    out, i = [], 0
    while i < len(rd):
        ln = rd[i]
        out.append('"%s"' % rd[i + 1:i + 1 + ln].decode('latin-1'))
        i += 1 + ln
    return ' '.join(out)


def _rdata_text(msg, off, rtype, rdlen):
    rd = msg[off:off + rdlen]
    if rtype == 1 and rdlen == 4:
        return socket.inet_ntop(socket.AF_INET, rd)
    if rtype == 28 and rdlen == 16:
        return socket.inet_ntop(socket.AF_INET6, rd)
    if rtype in (2, 5, 12):
        return _read_name(msg, off)[0]
    if rtype == 15:
        return '%d %s' % (struct.unpack('!H', rd[:2])[0], _read_name(msg, off + 2)[0])
    if rtype == 16:
        return _txt_strings(rd)
    if rtype == 33:
        p, w, port = struct.unpack('!HHH', rd[:6])
        return '%d %d %d %s' % (p, w, port, _read_name(msg, off + 6)[0])
    if rtype == 6:
        mname, o = _read_name(msg, off)
        rname, o = _read_name(msg, o)
        return '%s %s %d %d %d %d %d' % ((mname, rname) + struct.unpack('!IIIII', msg[o:o + 20]))
    if rtype == 43:
        kt, alg, dt = struct.unpack('!HBB', rd[:4])
        return '%d %d %d %s' % (kt, alg, dt, rd[4:].hex().upper())
    return '\\# %d %s' % (rdlen, rd.hex().upper())


def parse_message(msg):
    """Wire -> Reply (raises ValueError on a malformed message)."""
    if len(msg) < 12:
        raise ValueError('short message')
    r = Reply()
    qid, flags, qd, an, ns, ar = struct.unpack('!HHHHHH', msg[:12])
    r.id = qid
    r.opcode = {0: 'QUERY'}.get((flags >> 11) & 0xf, 'OPCODE%d' % ((flags >> 11) & 0xf))
    r.flags = {f for f, bit in FLAG_BITS.items() if flags & bit}
    r.counts = {'question': qd, 'answer': an, 'authority': ns, 'additional': ar}
    r.size = len(msg)
    rcode = flags & 0xf
    off = 12
    for _ in range(qd):
        name, off = _read_name(msg, off)
        if off + 4 > len(msg):
            raise ValueError('truncated question')
        t, c = struct.unpack('!HH', msg[off:off + 4])
        off += 4
        r.question.append((name, 'IN' if c == 1 else 'CLASS%d' % c, type_name(t)))
    for sec, n in (('answer', an), ('authority', ns), ('additional', ar)):
        for _ in range(n):
            name, off = _read_name(msg, off)
            if off + 10 > len(msg):
                raise ValueError('truncated record')
            t, c, ttl, rdlen = struct.unpack('!HHIH', msg[off:off + 10])
            off += 10
            if off + rdlen > len(msg):
                raise ValueError('truncated rdata')
            if t == 41:
                rcode |= ((ttl >> 24) & 0xff) << 4
                r.edns = {'version': (ttl >> 16) & 0xff,
                          'flags': {'do'} if ttl & 0x8000 else set(), 'udp': c,
                          'options': msg[off:off + rdlen]}
            else:
                r.section(sec).append(RR(name, ttl, type_name(t), _rdata_text(msg, off, t, rdlen),
                                         'IN' if c == 1 else 'CLASS%d' % c))
            off += rdlen
    if off != len(msg):
        raise ValueError('trailing bytes')
    r.rcode = RCODE_NAMES.get(rcode, 'RCODE%d' % rcode)
    return r


def udp_exchange(host, port, packet, qid=None, timeout=QUERY_TIMEOUT, tries=3):
    """Send a datagram and wait for a reply with the given ID (any reply if qid is None).
    Returns the reply bytes, or None when nothing came back."""
    family = socket.AF_INET6 if ':' in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        for _ in range(tries):
            s.sendto(packet, (host, port))
            deadline = time.monotonic() + timeout
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                s.settimeout(left)
                try:
                    data = s.recv(65535)
                except socket.timeout:
                    break
                if qid is None or (len(data) >= 2 and struct.unpack('!H', data[:2])[0] == qid):
                    return data
    return None


def recv_exact(sock, n):
    """Read exactly n bytes; returns fewer only when the peer closed."""
    buf = b''
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            break
        buf += chunk
    return buf


def tcp_frame(packet):
    return struct.pack('!H', len(packet)) + packet


def tcp_read_message(sock):
    """One length-prefixed message, or None when the peer closed first."""
    hdr = recv_exact(sock, 2)
    if len(hdr) < 2:
        return None
    (ln,) = struct.unpack('!H', hdr)
    body = recv_exact(sock, ln)
    if len(body) < ln:
        return None
    return body


def tcp_connect(host, port, timeout=QUERY_TIMEOUT * 2):
    family = socket.AF_INET6 if ':' in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect((host, port))
    return s


def tcp_exchange(host, port, packet, timeout=QUERY_TIMEOUT * 2):
    with tcp_connect(host, port, timeout) as s:
        s.sendall(tcp_frame(packet))
        return tcp_read_message(s)


def wait_closed(sock, timeout):
    """True when the peer closes (EOF or reset) within timeout seconds; data read meanwhile
    is discarded."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        sock.settimeout(left)
        try:
            if not sock.recv(4096):
                return True
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True


# ---- ports and processes -----------------------------------------------------------

def _port_free(host, port):
    family = socket.AF_INET6 if ':' in host else socket.AF_INET
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        s = socket.socket(family, kind)
        try:
            if kind == socket.SOCK_STREAM:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def free_port(hosts=('127.0.0.1',)):
    """A port free for UDP and TCP on every host, below the ephemeral range so that the
    clients' own source ports cannot take it."""
    rng = random.Random(os.getpid() ^ time.monotonic_ns())
    for _ in range(500):
        port = rng.randrange(20000, 32000)
        if all(_port_free(h, port) for h in hosts):
            return port
    raise RuntimeError('no free port found')


def bind_pair(host='127.0.0.1'):
    """A UDP and a listening TCP socket on one port. The port comes from free_port (below
    the ephemeral range) and the pair is retried: another test running in parallel, or a
    client's source port, can take the port between the check and the bind."""
    for _ in range(20):
        port = free_port((host,))
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            udp.bind((host, port))
            tcp.bind((host, port))
            tcp.listen(8)
            return udp, tcp
        except OSError:
            udp.close()
            tcp.close()
    raise RuntimeError('no port free for UDP and TCP')


def ipv6_loopback_available():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(('::1', 0))
        return True
    except OSError:
        return False


def signetd_path():
    p = os.environ.get('SIGNETD') or os.path.join(REPO, 'build', 'daemon', 'signetd')
    if not os.access(p, os.X_OK):
        raise RuntimeError('signetd not found at %s (set SIGNETD)' % p)
    return p


def signetd_cmd():
    """The argv prefix that starts signetd: the wrapper, if any, then the binary."""
    return WRAPPER + [signetd_path()]


_LIVE = set()


def _kill_leftovers():
    for p in list(_LIVE):
        if p.poll() is None:
            p.kill()
            p.wait()


atexit.register(_kill_leftovers)


def _die_with_parent():
    # if the test runner is killed (ctest timeout), take signetd with it
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def spawn(argv, log, cwd=None):
    """Start a server process for a test (signetd, unbound, NSD, Knot): stdin closed,
    stdout and stderr into the open file log. It dies with the test runner and is killed
    at exit if still running; end it with terminate()."""
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=cwd,
                            preexec_fn=_die_with_parent)
    _LIVE.add(proc)
    return proc


def port_retry(proc, what, timeout, log, port_taken):
    """After a spawned server did not become ready: raises when it is still running (it is
    killed: no answer within timeout seconds) or exited for a reason other than a port
    another process took first (port_taken(log text) false); returns quietly when the
    port was taken, for the caller to try another one."""
    rc = proc.poll()
    terminate(proc, 0, signal.SIGKILL)
    if rc is None:
        raise RuntimeError('%s did not answer within %ss; log:\n%s' % (what, timeout, log()))
    if not port_taken(log()):
        raise RuntimeError('%s exited with %s at start; log:\n%s' % (what, rc, log()))


def terminate(proc, timeout, sig=signal.SIGTERM):
    """Send sig to proc unless it has exited, wait up to timeout seconds for it, kill it
    if it is still there; returns its exit code, None if it had to be killed."""
    rc = proc.poll()
    if rc is None:
        proc.send_signal(sig)
        try:
            rc = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            rc = None
    _LIVE.discard(proc)
    return rc


def run_signetd(args, timeout=30 * SLOWDOWN):
    """Run signetd with arguments to completion: (exit code, stdout, stderr)."""
    p = subprocess.run(signetd_cmd() + list(args), stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


class Signetd:
    """One signetd process with its own temporary directory, Corefile and port."""

    def __init__(self, corefile, files=(), hosts=('127.0.0.1',), ready_name='example.test',
                 workdir=None):
        self.template = string.Template(corefile)
        self.files = files
        self.hosts = hosts
        # where clients send queries: a wildcard bind is reached through the loopback
        self.host = {'0.0.0.0': '127.0.0.1', '::': '::1'}.get(hosts[0], hosts[0])
        self.ready_name = ready_name
        self.owns_dir = workdir is None
        self.dir = workdir or tempfile.mkdtemp(prefix='signet-integ-')
        self.proc = None
        self.port = None
        self.port2 = None   # a second port, for configs that listen on two
        self.log_path = os.path.join(self.dir, 'signetd.log')
        self.corefile_path = os.path.join(self.dir, 'Corefile')
        for f in files:
            shutil.copy(os.path.join(FIXTURES, f), os.path.join(self.dir, os.path.basename(f)))

    def path(self, name):
        return os.path.join(self.dir, name)

    def write_corefile(self, text=None):
        text = self.template.substitute(port=self.port, port2=self.port2, dir=self.dir,
                                        fixtures=FIXTURES) if text is None else text
        with open(self.corefile_path, 'w') as f:
            f.write(text)

    def start(self):
        for attempt in range(5):
            self.port = free_port(self.hosts)
            self.port2 = self.port
            while self.port2 == self.port:
                self.port2 = free_port(self.hosts)
            self.write_corefile()
            self._log = open(self.log_path, 'ab')
            self.proc = spawn(signetd_cmd() + ['-c', self.corefile_path], self._log, self.dir)
            if self._wait_ready():
                return self
            port_retry(self.proc, 'signetd', START_TIMEOUT, self.log, lambda t: 'in use' in t)
            self._log.close()
            # lost a race for the port with another test: try another one
        raise RuntimeError('signetd could not bind a port; log:\n%s' % self.log())

    def _wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            qid, q = make_query(self.ready_name, 'SOA')
            data = udp_exchange(self.host, self.port, q, qid, timeout=0.3, tries=1)
            if data:
                try:
                    with tcp_connect(self.host, self.port, 1):
                        return True
                except OSError:
                    pass
            time.sleep(0.05)
        return False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        return read_logs(self.log_path)

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def kill_restart(self):
        """SIGKILL, then start again at once on the same port (a resolver's stub points at
        it) with the same Corefile and keystore. Returns (time killed, time answering)."""
        terminate(self.proc, STOP_TIMEOUT, signal.SIGKILL)
        self._log.close()
        t_kill = time.time()
        for _ in range(50):
            self._log = open(self.log_path, 'ab')
            self.proc = spawn(signetd_cmd() + ['-c', self.corefile_path], self._log, self.dir)
            if self._wait_ready():
                return t_kill, time.time()
            if self.proc.poll() is None:
                raise RuntimeError('restarted signetd does not answer; log:\n%s' % self.log()[-3000:])
            _LIVE.discard(self.proc)
            self._log.close()
            time.sleep(0.1)   # the port is still held: try again
        raise RuntimeError('signetd could not restart; log:\n%s' % self.log()[-3000:])

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        """Signal signetd and wait for it; returns its exit code (None if it had to be
        killed)."""
        if self.proc is None:
            return None
        rc = terminate(self.proc, timeout, sig)
        self._log.close()
        return rc

    def cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.owns_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def wait_log(self, pattern, since=0, timeout=10.0):
        """Wait for a regex to appear in the log after byte offset `since`; returns the
        match or None."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.log()[since:])
            if m or time.monotonic() > deadline:
                return m
            time.sleep(0.05)

    def log_size(self):
        return len(self.log())

    # -- clients ------------------------------------------------------------------------

    def dig(self, name, rtype='A', *opts, host=None, port=None, tcp=False,
            timeout=QUERY_TIMEOUT):
        """Query with dig (+norec unless opts say otherwise) and parse its output."""
        host = host or self.host
        cmd = ['dig', '@' + host, '-p', str(port or self.port), '+norec', '+nosplit',
               '+time=%d' % max(1, int(timeout)), '+tries=3', '+noednsneg']
        if tcp:
            cmd.append('+tcp')
        cmd += list(opts) + [name, rtype]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        try:
            return parse_dig(p.stdout)
        except NoReply:
            raise NoReply('no reply to: %s\n%s%s' % (' '.join(cmd), p.stdout, p.stderr))

    def kdig(self, name, rtype='A', *opts, host=None, port=None, tcp=False,
             timeout=QUERY_TIMEOUT):
        """Query with kdig +json (+norec unless opts say otherwise) and parse its output.
        kdig shows names in lower case; use dig where case matters."""
        host = host or self.host
        cmd = ['kdig', '@' + host, '-p', str(port or self.port), '+norec', '+json',
               '+timeout=%d' % max(1, int(timeout)), '+retry=2']
        cmd.append('+tcp' if tcp else '+notcp')
        cmd += list(opts) + [name, rtype]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        try:
            return parse_kdig_json(p.stdout)
        except NoReply:
            raise NoReply('no reply to: %s\n%s%s' % (' '.join(cmd), p.stdout, p.stderr))

    def udp(self, packet, qid=None, timeout=QUERY_TIMEOUT, tries=3, host=None, port=None):
        return udp_exchange(host or self.host, port or self.port, packet, qid, timeout, tries)

    def tcp(self, packet, host=None, port=None):
        return tcp_exchange(host or self.host, port or self.port, packet)

    def tcp_connect(self, host=None, port=None, timeout=QUERY_TIMEOUT * 2):
        return tcp_connect(host or self.host, port or self.port, timeout)



def config_error(directive):
    """`signetd -t` on example.test (its fixture zone) with one more directive in the server
    block (line 3): (exit code, stderr)."""
    d = tempfile.mkdtemp(prefix='signet-cfg-')
    try:
        shutil.copy(os.path.join(FIXTURES, 'example.test.zone'), d)
        shutil.copy(os.path.join(FIXTURES, 'example.test.inc'), d)
        path = os.path.join(d, 'Corefile')
        with open(path, 'w') as f:
            f.write('example.test:5353 {\n    file %s/example.test.zone\n    %s\n}\n' % (d, directive))
        rc, out, err = run_signetd(['-t', '-c', path])
        return rc, out + err
    finally:
        shutil.rmtree(d, ignore_errors=True)

def wait_for(pred, timeout, step=0.1):
    """Call pred every step seconds until it returns something true or timeout seconds
    have passed; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(step)


def read_logs(*paths):
    """The text of these files one after the other, a file that cannot be read (not yet
    written) counting as empty."""
    out = ''
    for p in paths:
        try:
            with open(p, 'r', errors='replace') as f:
                out += f.read()
        except OSError:
            pass
    return out


def stop_servers(*servers):
    """Stop each Signetd with SIGTERM and clean up after it (None, or one that never
    started, is passed over); returns a message, with the log's tail, for each that died
    during the tests or did not exit 0 (a leak report or a sanitizer abort makes that)."""
    errors = []
    for srv in servers:
        if srv is None:
            continue
        if srv.proc is not None:
            alive = srv.alive()
            rc = srv.stop()
            if not alive:
                errors.append('signetd (%s) died during the tests (exit %s); log:\n%s'
                              % (srv.dir, srv.proc.returncode, srv.log()[-4000:]))
            elif rc != 0:
                errors.append('signetd (%s) exited with %s after SIGTERM (want 0); log:\n%s'
                              % (srv.dir, rc, srv.log()[-4000:]))
        srv.cleanup()
    return errors


def remove_workdir(path):
    """Remove a test class's temporary directory, or keep it and print where it is when
    $SIGNET_KEEP_TMP is set (to read the logs and keystores of a failed run)."""
    if os.environ.get('SIGNET_KEEP_TMP'):
        print('kept', path, file=sys.stderr)
    else:
        shutil.rmtree(path, ignore_errors=True)


def stop_and_remove(workdir, *servers):
    """A test's end: stop the servers (stop_servers), remove the work directory, and fail
    with what went wrong with any server."""
    errors = stop_servers(*servers)
    remove_workdir(workdir)
    if errors:
        raise AssertionError('\n'.join(errors))


# ---- signetctl ---------------------------------------------------------------------

def signetctl_path():
    p = os.environ.get('SIGNETCTL') or os.path.join(REPO, 'build', 'ctl', 'signetctl')
    if not os.access(p, os.X_OK):
        raise RuntimeError('signetctl not found at %s (set SIGNETCTL)' % p)
    return p


def ctl_run(db, *args, as_json=False, now=None):
    """Run signetctl on keystore db (with SIGNET_NOW=now when given); the finished process."""
    cmd = [signetctl_path(), '--db', db, '--busy-timeout', '20000']
    if as_json:
        cmd.append('--json')
    env = dict(os.environ)
    if now is not None:
        env['SIGNET_NOW'] = str(int(now))
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=300, env=env)


def ctl(db, *args, as_json=False, check=True, now=None):
    """Run signetctl on keystore db; stdout text (or parsed JSON). Fails loudly."""
    p = ctl_run(db, *args, as_json=as_json, now=now)
    if check and p.returncode != 0:
        raise AssertionError('signetctl %s: exit %d\n%s%s' % (' '.join(args), p.returncode,
                                                             p.stdout, p.stderr))
    if as_json:
        return json.loads(p.stdout)
    return p.stdout


# ---- test cases --------------------------------------------------------------------

class ServerCase(unittest.TestCase):
    """One signetd for the whole class, started in setUpClass from COREFILE and FILES (after
    prepare(srv) has written anything else it needs) and stopped with SIGTERM in
    tearDownClass, which fails unless it exits 0."""

    COREFILE = None
    FILES = ('example.test.zone', 'example.test.inc')
    HOSTS = ('127.0.0.1',)
    READY_NAME = 'example.test'

    @classmethod
    def prepare(cls, srv):
        """Before srv starts: put what its Corefile names (keystore, certificates) into
        srv.dir."""

    @classmethod
    def setUpClass(cls):
        cls.srv = Signetd(cls.COREFILE, cls.FILES, cls.HOSTS, cls.READY_NAME)
        try:
            cls.prepare(cls.srv)
            cls.srv.start()
        except Exception:
            cls.srv.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        errors = stop_servers(cls.srv)
        if errors:
            raise AssertionError('\n'.join(errors))

    def dig(self, *a, **kw):
        return self.srv.dig(*a, **kw)

    def kdig(self, *a, **kw):
        return self.srv.kdig(*a, **kw)

    # -- assertions ---------------------------------------------------------------------

    def assertRcode(self, r, rcode):
        self.assertEqual(r.rcode, rcode, 'rcode\n%r' % r)

    def assertFlag(self, r, flag, present=True):
        if present:
            self.assertIn(flag, r.flags, '%s flag missing\n%r' % (flag, r))
        else:
            self.assertNotIn(flag, r.flags, '%s flag set\n%r' % (flag, r))

    def assertRRs(self, r, section, expected, ttl=None):
        """The section holds exactly these records (a list of 'owner TYPE rdata' strings or
        (owner, type, rdata) tuples), in any order; optionally each with this TTL."""
        want = []
        for e in expected:
            if isinstance(e, str):
                owner, rtype, rdata = e.split(None, 2)
            else:
                owner, rtype, rdata = e
            want.append((fqdn(owner).lower(), rtype.upper(), ' '.join(rdata.split()).lower()))
        got = [rr.key() for rr in r.section(section)]
        self.assertEqual(sorted(got), sorted(want), '%s section\n%r' % (section, r))
        if ttl is not None:
            for rr in r.section(section):
                self.assertEqual(rr.ttl, ttl, 'TTL of %r\n%r' % (rr, r))

    def assertAnswered(self, r, name, rtype, rdatas):
        """An authoritative NOERROR answer holding exactly rdatas for name/type."""
        self.assertRcode(r, 'NOERROR')
        self.assertFlag(r, 'aa')
        self.assertRRs(r, 'answer', [(name, rtype, d) for d in rdatas])

    def assertNegative(self, r, rcode, apex, ttl):
        """NXDOMAIN or NODATA: AA, no answer, the apex SOA (only) in authority with ttl."""
        self.assertRcode(r, rcode)
        self.assertFlag(r, 'aa')
        self.assertEqual(r.answer, [], 'answer should be empty\n%r' % r)
        soas = r.rrs('authority', 'SOA')
        self.assertEqual(len(soas), 1, 'one SOA in authority\n%r' % r)
        self.assertEqual(soas[0].name.lower(), fqdn(apex).lower(), 'SOA owner\n%r' % r)
        self.assertEqual(soas[0].ttl, ttl, 'negative TTL\n%r' % r)


class ServerPerTest(unittest.TestCase):
    """A fresh signetd for each test, from COREFILE and FILES, stopped with SIGTERM after
    it, which fails unless it was alive and exits 0; a test that stops signetd itself sets
    self.stopped."""

    COREFILE = None
    FILES = ('example.test.zone', 'example.test.inc')

    def setUp(self):
        self.srv = Signetd(self.COREFILE, self.FILES)
        self.addCleanup(self.srv.cleanup)
        self.srv.start()
        self.stopped = False

    def tearDown(self):
        if not self.stopped:
            alive = self.srv.alive()
            rc = self.srv.stop()
            self.assertTrue(alive, 'signetd died; log:\n' + self.srv.log()[-4000:])
            self.assertEqual(rc, 0, 'exit code after SIGTERM; log:\n' + self.srv.log()[-4000:])


def main():
    unittest.main(verbosity=2)
