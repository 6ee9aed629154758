# SPDX-License-Identifier: MIT
"""integ.registrar: the registrar component (registrar/) against emulated registrar APIs
over real TLS and a parent zone served by signetd.

    reg_driver   runs sg_reg_tick for one child zone, as signetd's keystore watcher will
    emulator     one local HTTPS server (a CA and a server certificate made here with
                 openssl) speaking Porkbun, DNSimple, OVHcloud (signatures verified) and a
                 generic REST API, each with its auth checks, field names, status codes and
                 duplicate/delete behaviour; the first two calls to each provider fail
                 (429 with Retry-After: 1, then 500)
    parents      two signetd serving the parent zone test.; the emulator writes every DS
                 change into the zone file and SIGHUPs them (the second one 2 s later,
                 so that confirmation must wait for every parent server)

Python 3 standard library only. $SIGNETD, $SIGNETCTL and $REG_DRIVER come from CTest.
"""

import base64
import hashlib
import hmac
import http.server
import json
import os
import re
import shutil
import signal
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import secondaries
import signet_test

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SIGNETCTL = os.environ.get('SIGNETCTL', os.path.join(REPO, 'build', 'ctl', 'signetctl'))
REG_DRIVER = os.environ.get('REG_DRIVER', os.path.join(REPO, 'build', 'registrar', 'reg_driver'))

SECRETS = {
    'porkbun': {'apikey': 'pk1_0123456789abcdef', 'secretapikey': 'sk1_fedcba9876543210'},
    'dnsimple': {'token': 'dnsimpletoken_abcdef123456', 'account': '1010'},
    'ovh': {'application-key': 'ovhappkey123', 'application-secret': 'ovhappsecret456789',
            'consumer-key': 'ovhconsumerkey987654'},
    'rest': {'token': 'resttoken_0a1b2c3d4e5f'},
    'route53': {'access-key-id': 'AKIATESTSIGNET0001', 'secret-access-key': 'r53secret/abcdefGHIJ0123456789'},
    # temporary credentials (STS): an ASIA key id is valid only with its session token
    'route53-temp': {'access-key-id': 'ASIATESTSIGNET0002', 'secret-access-key': 'r53tempsecret/KLMNOP9876543210',
                     'session-token': 'IQoJb3JpZ2luX2VjEXAMPLEsessiontoken+/=0123456789abcdef'},
    'inwx': {'user': 'inwxuser_signet', 'password': 'inwxpass_0123456789'},
    # an account with two-factor authentication (mobile TAN: TOTP of a base32 secret)
    'inwx-2fa': {'user': 'inwx2fa_signet', 'password': 'inwx2fapass_9876543210',
                 'shared-secret': 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP'},
    'namecom': {'username': 'namecomuser', 'token': 'namecomtoken_abcdef0123'},
    'gandi': {'token': 'pat_gandi_0123456789abcdef'},
    'openprovider': {'username': 'opuser', 'password': 'oppass_0123456789xyz'},
}
ALL_SECRET_VALUES = [v for d in SECRETS.values() for k, v in d.items()
                     if k not in ('account', 'user', 'username')]


# ---- DNSSEC helpers (for the emulator's DNSKEY-style API) ---------------------------

def wire_name(name):
    out = b''
    for label in name.rstrip('.').lower().split('.'):
        out += bytes([len(label)]) + label.encode()
    return out + b'\0'


def key_tag(rdata):
    ac = 0
    for i, b in enumerate(rdata):
        ac += b if i & 1 else b << 8
    ac += (ac >> 16) & 0xffff
    return ac & 0xffff


def ds_from_key(zone, flags, alg, pubkey_b64):
    rdata = struct.pack('!HBB', flags, 3, alg) + base64.b64decode(pubkey_b64)
    return key_tag(rdata), hashlib.sha256(wire_name(zone) + rdata).hexdigest().upper()


def totp(secret_b32, t, step=30, digits=6):
    """RFC 6238 TOTP with HMAC-SHA1 (written from the RFC, apart from the C code)."""
    key = base64.b32decode(secret_b32.replace(' ', '').upper())
    mac = hmac.new(key, struct.pack('>Q', int(t) // step), hashlib.sha1).digest()
    off = mac[-1] & 15
    return '%0*d' % (digits, (struct.unpack('>I', mac[off:off + 4])[0] & 0x7fffffff) % 10 ** digits)


def sigv4_expected(method, path, query, headers, signed, body, secret, date, region, service):
    """The SigV4 signature of a request as the server sees it (written from AWS's
    description of the algorithm, independently of the C signer)."""
    canon_headers = ''.join('%s:%s\n' % (h, ' '.join(headers[h].split())) for h in signed)
    q = '&'.join(sorted(query.split('&'))) if query else ''
    creq = '\n'.join([method, path, q, canon_headers, ';'.join(signed),
                      hashlib.sha256(body).hexdigest()])
    scope = '%s/%s/%s/aws4_request' % (date[:8], region, service)
    sts = '\n'.join(['AWS4-HMAC-SHA256', date, scope, hashlib.sha256(creq.encode()).hexdigest()])
    k = ('AWS4' + secret).encode()
    for part in (date[:8], region, service, 'aws4_request'):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()


# ---- TLS material -----------------------------------------------------------------

def make_ca(d, name):
    ca_key, ca_crt = os.path.join(d, name + '-ca.key'), os.path.join(d, name + '-ca.pem')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
                    'ec_paramgen_curve:P-256', '-nodes', '-keyout', ca_key, '-out', ca_crt,
                    '-days', '2', '-subj', '/CN=Signet test CA ' + name],
                   check=True, capture_output=True)
    return ca_key, ca_crt


def make_server_cert(d, ca_key, ca_crt):
    key, csr, crt = (os.path.join(d, 'server.' + x) for x in ('key', 'csr', 'pem'))
    ext = os.path.join(d, 'ext.cnf')
    with open(ext, 'w') as f:
        f.write('subjectAltName=IP:127.0.0.1,DNS:localhost\n')
    subprocess.run(['openssl', 'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
                    '-nodes', '-keyout', key, '-out', csr, '-subj', '/CN=127.0.0.1'],
                   check=True, capture_output=True)
    subprocess.run(['openssl', 'x509', '-req', '-in', csr, '-CA', ca_crt, '-CAkey', ca_key,
                    '-CAcreateserial', '-out', crt, '-days', '2', '-extfile', ext],
                   check=True, capture_output=True)
    return key, crt


# ---- The emulator -------------------------------------------------------------------

class Registry:
    """What every emulated registrar holds: DS records per provider and domain."""

    def __init__(self, on_change):
        self.lock = threading.Lock()
        self.records = {}          # (provider, domain) -> list of dicts
        self.next_id = 100
        self.faults = {}           # provider -> list of pending faults ('429', '500')
        self.calls = []            # (provider, method, path, status)
        self.on_change = on_change
        self.port = None
        self.tasks = {}            # OVHcloud task id -> [domain, pending records, polls left, end]
        self.operations = {}       # Route 53 operation id -> [domain, change, polls left]
        self.ovh_task_end = 'done' # how OVHcloud tasks end ('error' to refuse)
        self.requests = []         # (provider, method, path, headers dict, raw body)
        self.sessions = set()      # INWX session cookies handed out (and not logged out)
        self.opened = []           # every INWX session ever opened
        self.locked = set()        # INWX sessions of a 2FA account before account.unlock
        self.tans_used = set()     # INWX TANs already used (a TAN is good once)
        self.tokens = set()        # Openprovider bearer tokens handed out
        self.op_ids = {}           # Openprovider domain name -> id

    def recs(self, provider, domain):
        return self.records.setdefault((provider, domain), [])

    def new_id(self):
        self.next_id += 1
        return self.next_id

    def ds_lines(self):
        """DS records for the parent zone, from every provider."""
        out = []
        for (prov, domain), recs in sorted(self.records.items()):
            for r in recs:
                out.append('%s. 60 IN DS %d %d %d %s' % (domain, r['tag'], r['alg'], r['dt'],
                                                          r['digest']))
        return out

    def writes(self, provider):
        return [c for c in self.calls if c[0] == provider and c[1] in ('POST', 'DELETE', 'PUT')
                and not c[2].endswith('getDnssecRecords/' + c[2].rsplit('/', 1)[-1])
                and not re.search(r'#(.*\.Get(DomainDetail|OperationDetail)|account\.(login|unlock|logout)|'
                                  r'dnssec\.listkeys)$', c[2])
                and not c[2].endswith('/auth/login')]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    reg = None   # set on the class

    def log_message(self, *a):
        pass

    def reply(self, status, body=None, headers=()):
        data = b'' if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if body is not None:
            self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        path = self.path
        if self.provider == 'route53':
            path += '#' + self.headers.get('X-Amz-Target', '')   # every call is POST /
        elif self.provider == 'inwx':
            try:
                path += '#' + json.loads(self.raw_body).get('method', '')
            except (ValueError, AttributeError):
                pass
        self.reg.calls.append((self.provider, self.command, path, status))

    def body_json(self):
        n = int(self.headers.get('Content-Length') or 0)
        raw = self.rfile.read(n) if n else b''
        self.raw_body = raw
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return 'malformed'

    def fault(self):
        """The first calls of each provider fail once with 429 and once with 500."""
        pending = self.reg.faults.get(self.provider)
        if pending:
            f = pending.pop(0)
            if f == '429':
                self.reply(429, {'message': 'Too many requests'}, [('Retry-After', '1')])
            elif f == 'slow':
                time.sleep(3.5)   # longer than the client's 2 s timeout
                try:
                    self.reply(200, {'result': {'ds': []}})
                except OSError:
                    pass          # the client gave up, as it should
            elif f == 'malformed':
                self.reply(200, b'{"result": {"ds": [{"keyTag": 1,')
            else:
                self.reply(500, {'message': 'Internal error'})
            return True
        return False

    def route(self):
        self.provider = self.path.split('/')[1] if self.path.count('/') > 1 else '?'
        body = self.body_json()
        with self.reg.lock:
            self.reg.requests.append((self.provider, self.command, self.path,
                                      dict((k.lower(), v) for k, v in self.headers.items()),
                                      self.raw_body))
            h = {'porkbun': self.porkbun, 'dnsimple': self.dnsimple, 'ovh': self.ovh,
                 'rest': self.rest, 'route53': self.route53, 'inwx': self.inwx,
                 'namecom': self.namecom, 'gandi': self.gandi,
                 'openprovider': self.openprovider}.get(self.provider)
            if not h:
                return self.reply(404, {'message': 'no such API'})
            changed = h(body)
        if changed:
            self.reg.on_change()

    do_GET = do_POST = do_DELETE = do_PUT = route

    # Porkbun: POST everywhere, keys in the body, status SUCCESS/ERROR, delete by tag.
    def porkbun(self, body):
        m = re.match(r'^/porkbun/api/json/v3/dns/(getDnssecRecords|createDnssecRecord|'
                     r'deleteDnssecRecord)/([^/]+)(?:/(\d+))?$', self.path)
        if self.command != 'POST' or not m:
            return self.reply(404, {'status': 'ERROR', 'message': 'Unknown endpoint'})
        if not isinstance(body, dict) or body.get('apikey') != SECRETS['porkbun']['apikey'] or \
                body.get('secretapikey') != SECRETS['porkbun']['secretapikey']:
            return self.reply(403, {'status': 'ERROR', 'message': 'Invalid API key. (002)'})
        if self.fault():
            return
        op, domain, tag = m.groups()
        recs = self.reg.recs('porkbun', domain)
        if op == 'getDnssecRecords':
            if not recs:
                return self.reply(200, {'status': 'SUCCESS', 'records': []})
            return self.reply(200, {'status': 'SUCCESS', 'records': {
                str(r['tag']): {'keyTag': str(r['tag']), 'alg': str(r['alg']),
                                'digestType': str(r['dt']), 'digest': r['digest']} for r in recs}})
        if op == 'createDnssecRecord':
            try:
                assert all(isinstance(body[k], str) for k in ('keyTag', 'alg', 'digestType', 'digest'))
                r = {'tag': int(body['keyTag']), 'alg': int(body['alg']),
                     'dt': int(body['digestType']), 'digest': body['digest'].upper()}
            except (KeyError, ValueError, AssertionError):
                return self.reply(400, {'status': 'ERROR', 'message': 'Invalid DS data.'})
            if any(x == r for x in recs):
                return self.reply(400, {'status': 'ERROR', 'message': 'DS record already exists.'})
            recs.append(r)
            self.reply(200, {'status': 'SUCCESS'})
            return True
        gone = [r for r in recs if r['tag'] == int(tag or -1)]
        if not gone:
            return self.reply(400, {'status': 'ERROR', 'message': 'No such DS record.'})
        recs[:] = [r for r in recs if r['tag'] != int(tag)]
        self.reply(200, {'status': 'SUCCESS'})
        return True

    # DNSimple v2: Bearer token, account in the path, paged list, 201 / 204.
    def dnsimple(self, body):
        m = re.match(r'^/dnsimple/v2/(\d+)/domains/([^/]+)/ds_records(?:/(\d+))?(?:\?page=(\d+))?$',
                     self.path)
        if self.headers.get('Authorization') != 'Bearer ' + SECRETS['dnsimple']['token']:
            return self.reply(401, {'message': 'Authentication failed'})
        if not m or m.group(1) != SECRETS['dnsimple']['account']:
            return self.reply(404, {'message': 'Account not found'})
        if self.fault():
            return
        domain, rid, page = m.group(2), m.group(3), int(m.group(4) or 1)
        recs = self.reg.recs('dnsimple', domain)
        if self.command == 'GET' and not rid:
            per = 1   # one per page, so that paging is exercised
            pages = max(1, len(recs))
            data = [{'id': r['id'], 'domain_id': 1, 'algorithm': str(r['alg']),
                     'digest': r['digest'], 'digest_type': str(r['dt']), 'keytag': str(r['tag']),
                     'public_key': None, 'created_at': '2026-01-01T00:00:00Z',
                     'updated_at': '2026-01-01T00:00:00Z'} for r in recs[(page - 1) * per:page * per]]
            return self.reply(200, {'data': data, 'pagination': {
                'current_page': page, 'per_page': per, 'total_entries': len(recs),
                'total_pages': pages}})
        if self.command == 'POST' and not rid:
            try:
                assert all(isinstance(body[k], str) for k in ('algorithm', 'digest', 'digest_type', 'keytag'))
                r = {'tag': int(body['keytag']), 'alg': int(body['algorithm']),
                     'dt': int(body['digest_type']), 'digest': body['digest'].upper()}
            except (KeyError, ValueError, AssertionError, TypeError):
                return self.reply(400, {'message': 'Validation failed'})
            if any(x['tag'] == r['tag'] and x['digest'] == r['digest'] for x in recs):
                return self.reply(400, {'message': 'Validation failed',
                                        'errors': {'digest': ['has already been taken']}})
            r['id'] = self.reg.new_id()
            recs.append(r)
            self.reply(201, {'data': {'id': r['id'], 'keytag': str(r['tag'])}})
            return True
        if self.command == 'DELETE' and rid:
            if not any(r['id'] == int(rid) for r in recs):
                return self.reply(404, {'message': 'Delegation signer record not found'})
            recs[:] = [r for r in recs if r['id'] != int(rid)]
            self.reply(204)
            return True
        return self.reply(405, {'message': 'Method not allowed'})

    # OVHcloud: signed requests, DNSKEY-style keys, the whole set replaced by a POST.
    def ovh(self, body):
        if self.path == '/ovh/1.0/auth/time' and self.command == 'GET':
            return self.reply(200, int(time.time()))
        s = SECRETS['ovh']
        if self.headers.get('X-Ovh-Application') != s['application-key']:
            return self.reply(403, {'errorCode': 'INVALID_KEY', 'message': 'Invalid application key'})
        if self.headers.get('X-Ovh-Consumer') != s['consumer-key']:
            return self.reply(403, {'errorCode': 'INVALID_CREDENTIAL', 'message': 'Invalid credentials'})
        ts = self.headers.get('X-Ovh-Timestamp', '')
        if not ts.isdigit() or abs(int(ts) - time.time()) > 180:
            return self.reply(400, {'errorCode': 'QUERY_TIME_OUT', 'message': 'Query out of time'})
        url = 'https://127.0.0.1:%d%s' % (self.reg.port, self.path)
        want = '$1$' + hashlib.sha1('+'.join([s['application-secret'], s['consumer-key'],
                                               self.command, url, self.raw_body.decode(), ts])
                                              .encode()).hexdigest()
        if self.headers.get('X-Ovh-Signature') != want:
            return self.reply(400, {'errorCode': 'INVALID_SIGNATURE', 'message': 'Invalid signature'})
        if self.fault():
            return
        t = re.match(r'^/ovh/1.0/domain/([^/]+)/task/(\d+)$', self.path)
        if t and self.command == 'GET':
            # the POST only queued the change: each look at the task moves it on (todo,
            # doing, then done), and the new set is the domain's only once it is done
            task = self.reg.tasks.get(int(t.group(2)))
            if not task or task[0] != t.group(1):
                return self.reply(404, {'message': 'The requested object (id = %s) does not exist' % t.group(2)})
            task[2] -= 1
            status = 'doing' if task[2] > 0 else task[3]
            changed = False
            if task[2] == 0 and task[3] == 'done':
                self.reg.recs('ovh', task[0])[:] = task[1]
                changed = True
            self.reply(200, {'id': int(t.group(2)), 'function': 'DomainDnssecUpdate', 'status': status,
                             'comment': 'DS refused by the registry' if status == 'error' else None,
                             'domain': task[0]})
            return changed
        m = re.match(r'^/ovh/1.0/domain/([^/]+)/dsRecord(?:/(\d+))?$', self.path)
        if not m:
            return self.reply(404, {'message': 'Got an invalid (or empty) URL'})
        domain, rid = m.groups()
        recs = self.reg.recs('ovh', domain)
        if self.command == 'GET' and not rid:
            return self.reply(200, [r['id'] for r in recs])
        if self.command == 'GET':
            for r in recs:
                if r['id'] == int(rid):
                    return self.reply(200, {'id': r['id'], 'algorithm': r['alg'], 'flags': r['flags'],
                                            'publicKey': r['pubkey'], 'tag': r['tag'],
                                            'status': 'enabled'})
            return self.reply(404, {'message': 'The requested object (id = %s) does not exist' % rid})
        if self.command == 'POST' and not rid:
            keys = body.get('keys') if isinstance(body, dict) else None
            if not isinstance(keys, list) or len(keys) > 4:
                return self.reply(400, {'message': 'Invalid keys'})
            new = []
            for k in keys:
                try:
                    tag, digest = ds_from_key(domain, k['flags'], k['algorithm'], k['publicKey'])
                except (KeyError, ValueError, TypeError):
                    return self.reply(400, {'message': 'Invalid key'})
                if tag != k.get('tag') or k['flags'] not in (256, 257):
                    return self.reply(400, {'message': 'Invalid key tag or flags'})
                new.append({'id': self.reg.new_id(), 'tag': tag, 'alg': k['algorithm'], 'dt': 2,
                            'digest': digest, 'flags': k['flags'], 'pubkey': k['publicKey']})
            tid = self.reg.new_id()
            self.reg.tasks[tid] = [domain, new, 2, self.reg.ovh_task_end]
            self.reply(200, {'id': tid, 'function': 'DomainDnssecUpdate', 'status': 'todo',
                             'domain': domain})
            return False
        return self.reply(405, {'message': 'Method not allowed'})

    # Amazon Route 53 Domains: JSON 1.1 protocol, POST / with X-Amz-Target, SigV4;
    # DNSKEYs in, DS computed by the registrar, every change an operation that is polled.
    def route53(self, body):
        s = SECRETS['route53']
        temp = SECRETS['route53-temp']
        if self.path != '/route53/' or self.command != 'POST':
            return self.reply(404, {'__type': 'UnknownOperationException'})
        if self.headers.get('Content-Type') != 'application/x-amz-json-1.1':
            return self.reply(400, {'__type': 'SerializationException', 'message': 'bad content type'})
        target = self.headers.get('X-Amz-Target', '')
        date = self.headers.get('X-Amz-Date', '')
        auth = self.headers.get('Authorization', '')
        m = re.match(r'^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/us-east-1/route53domains/'
                     r'aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$', auth)
        if m and m.group(1) == temp['access-key-id']:
            s = temp
        if not m or m.group(1) != s['access-key-id']:
            return self.reply(403, {'__type': 'UnrecognizedClientException',
                                    'message': 'The security token included in the request is invalid.'})
        signed = m.group(3).split(';')
        want_signed = ['content-type', 'host', 'x-amz-date', 'x-amz-target']
        if s is temp:
            # a temporary key's session token must come, and be signed (AWS SigV4)
            if self.headers.get('X-Amz-Security-Token') != temp['session-token']:
                return self.reply(403, {'__type': 'UnrecognizedClientException',
                                        'message': 'The security token included in the request is invalid.'})
            want_signed = ['content-type', 'host', 'x-amz-date', 'x-amz-security-token', 'x-amz-target']
        elif 'X-Amz-Security-Token' in self.headers:
            return self.reply(403, {'__type': 'UnrecognizedClientException',
                                    'message': 'The security token included in the request is invalid.'})
        if signed != want_signed or \
                m.group(2) != date[:8] or not re.match(r'^\d{8}T\d{6}Z$', date):
            return self.reply(403, {'__type': 'IncompleteSignatureException', 'message': 'bad scope'})
        t = time.mktime(time.strptime(date, '%Y%m%dT%H%M%SZ')) - time.timezone
        if abs(t - time.time()) > 300:
            return self.reply(403, {'__type': 'InvalidSignatureException', 'message': 'Signature expired'})
        hdrs = {k.lower(): v for k, v in self.headers.items()}
        if hdrs.get('host') != '127.0.0.1:%d' % self.reg.port:
            return self.reply(400, {'message': 'bad host'})
        want = sigv4_expected('POST', '/route53/', '', hdrs, signed, self.raw_body,
                              s['secret-access-key'], date, 'us-east-1', 'route53domains')
        if m.group(4) != want:
            return self.reply(403, {'__type': 'InvalidSignatureException',
                                    'message': 'The request signature we calculated does not match '
                                               'the signature you provided.'})
        if not target.startswith('Route53Domains_v20140515.') or not isinstance(body, dict):
            return self.reply(400, {'__type': 'UnknownOperationException'})
        if self.fault():
            return
        op = target.split('.', 1)[1]
        if op == 'GetOperationDetail':
            o = self.reg.operations.get(body.get('OperationId'))
            if not o:
                return self.reply(400, {'__type': 'InvalidInput', 'message': 'No such operation'})
            o[2] -= 1
            changed = False
            if o[2] == 0:
                o[1]()
                changed = True
            self.reply(200, {'OperationId': body['OperationId'],
                             'Status': 'IN_PROGRESS' if o[2] > 0 else 'SUCCESSFUL',
                             'DomainName': o[0], 'Type': o[3]})
            return changed
        domain = body.get('DomainName')
        recs = self.reg.recs('route53', domain or '')
        if op == 'GetDomainDetail':
            out = {'DomainName': domain, 'Nameservers': []}
            if recs:
                out['DnssecKeys'] = [{'Algorithm': r['alg'], 'Flags': r['flags'],
                                      'PublicKey': r['pubkey'], 'DigestType': r['dt'],
                                      'Digest': r['digest'], 'KeyTag': r['tag'], 'Id': r['id']}
                                     for r in recs]
            return self.reply(200, out)
        if op == 'AssociateDelegationSignerToDomain':
            a = body.get('SigningAttributes')
            if not isinstance(a, dict) or set(a) != {'Algorithm', 'Flags', 'PublicKey'}:
                return self.reply(400, {'__type': 'InvalidInput', 'message': 'SigningAttributes'})
            try:
                tag, digest = ds_from_key(domain, a['Flags'], a['Algorithm'], a['PublicKey'])
            except (ValueError, TypeError):
                return self.reply(400, {'__type': 'InvalidInput', 'message': 'bad public key'})
            if any(r['pubkey'] == a['PublicKey'] for r in recs):
                return self.reply(400, {'__type': 'DuplicateRequest', 'message': 'key exists'})
            r = {'id': 'ds-%d' % self.reg.new_id(), 'tag': tag, 'alg': a['Algorithm'], 'dt': 2,
                 'digest': digest, 'flags': a['Flags'], 'pubkey': a['PublicKey']}
            opid = 'op-%d' % self.reg.new_id()
            self.reg.operations[opid] = [domain, lambda: recs.append(r), 2, 'ADD_DNSSEC']
            return self.reply(200, {'OperationId': opid})
        if op == 'DisassociateDelegationSignerFromDomain':
            rid = body.get('Id')
            if not any(r['id'] == rid for r in recs):
                return self.reply(400, {'__type': 'InvalidInput', 'message': 'no such DS'})
            opid = 'op-%d' % self.reg.new_id()
            self.reg.operations[opid] = [domain, lambda: recs.__setitem__(
                slice(None), [r for r in recs if r['id'] != rid]), 2, 'REMOVE_DNSSEC']
            return self.reply(200, {'OperationId': opid})
        return self.reply(400, {'__type': 'UnknownOperationException'})

    # INWX DomRobot JSON-RPC: POST /jsonrpc/, {"method", "params"}; account.login sets the
    # session cookie the other methods need; every reply is 200 with a code.
    def inwx(self, body):
        if self.path != '/inwx/jsonrpc/' or self.command != 'POST' or not isinstance(body, dict) \
                or self.headers.get('Content-Type') != 'application/json':
            return self.reply(404, {'message': 'not found'})
        method, params = body.get('method'), body.get('params')
        if set(body) != {'method', 'params'} or not isinstance(params, dict):
            return self.reply(200, {'code': 2003, 'msg': 'Required parameter missing'})
        if method == 'account.login':
            s, s2 = SECRETS['inwx'], SECRETS['inwx-2fa']
            two = params == {'user': s2['user'], 'pass': s2['password']}
            if params != {'user': s['user'], 'pass': s['password']} and not two:
                return self.reply(200, {'code': 2200, 'msg': 'Authentication error'})
            sid = 'sess%d' % self.reg.new_id()
            self.reg.sessions.add(sid)
            self.reg.opened.append(sid)
            if two:
                self.reg.locked.add(sid)
            return self.reply(200, {'code': 1000, 'msg': 'Command completed successfully',
                                    'resData': {'customerId': 1, 'accountId': 1,
                                                'tfa': 'GOOGLE-AUTH' if two else '0'}},
                              [('Set-Cookie', 'domrobot=%s; path=/; secure; HttpOnly' % sid)])
        cookie = self.headers.get('Cookie', '')
        if not cookie.startswith('domrobot=') or cookie[9:] not in self.reg.sessions:
            return self.reply(200, {'code': 2002, 'msg': 'Command use error', 'reason': 'not logged in'})
        sid = cookie[9:]
        if method == 'account.logout':
            if params != {}:
                return self.reply(200, {'code': 2005, 'msg': 'Parameter value syntax error'})
            self.reg.sessions.discard(sid)
            self.reg.locked.discard(sid)
            return self.reply(200, {'code': 1500, 'msg': 'Command completed successfully; ending session'})
        if method == 'account.unlock':
            # the TAN of this 30 s step or the one before (clock skew), each used once
            sec = SECRETS['inwx-2fa']['shared-secret']
            now = time.time()
            tan = params.get('tan') if set(params) == {'tan'} else None
            if sid not in self.reg.locked or tan not in (totp(sec, now), totp(sec, now - 30)) \
                    or tan in self.reg.tans_used:
                return self.reply(200, {'code': 2200, 'msg': 'Authentication error', 'reason': 'invalid tan'})
            self.reg.tans_used.add(tan)
            self.reg.locked.discard(sid)
            return self.reply(200, {'code': 1000, 'msg': 'Command completed successfully'})
        if sid in self.reg.locked:
            return self.reply(200, {'code': 2200, 'msg': 'Authentication error', 'reason': 'account locked: tan needed'})
        if self.fault():
            return
        if method == 'dnssec.listkeys':
            if set(params) != {'domainName'}:
                return self.reply(200, {'code': 2005, 'msg': 'Parameter value syntax error'})
            recs = self.reg.recs('inwx', params['domainName'])
            return self.reply(200, {'code': 1000, 'msg': 'Command completed successfully', 'resData': {
                'dnskey': [{'ownerName': params['domainName'] + '.', 'id': r['id'], 'domainId': 7,
                            'keyTag': r['tag'], 'flagId': r['flags'], 'algorithmId': r['alg'],
                            'publicKey': r['pubkey'], 'digestTypeId': r['dt'], 'digest': r['digest'],
                            'created': '2026-01-01 00:00:00', 'status': 'OK', 'active': 1}
                           for r in recs]}})
        if method == 'dnssec.adddnskey':
            try:
                assert set(params) == {'domainName', 'dnskey', 'calculateDigest', 'digestType'}
                assert params['calculateDigest'] is True
                owner, cls, typ, flags, proto, alg, key = params['dnskey'].split()
                assert (owner, cls, typ, proto) == (params['domainName'] + '.', 'IN', 'DNSKEY', '3')
                assert flags == '257'   # INWX takes ZONE+SEP keys only
                tag, digest = ds_from_key(params['domainName'], 257, int(alg), key)
            except (AssertionError, ValueError, KeyError):
                return self.reply(200, {'code': 2005, 'msg': 'Parameter value syntax error'})
            recs = self.reg.recs('inwx', params['domainName'])
            recs.append({'id': self.reg.new_id(), 'tag': tag, 'alg': int(alg), 'dt': 2,
                         'digest': digest, 'flags': 257, 'pubkey': key})
            self.reply(200, {'code': 1000, 'msg': 'Command completed successfully', 'resData': {
                'dnskey': params['dnskey'], 'ds': '%s. IN DS %d %s 2 %s' % (params['domainName'], tag, alg, digest)}})
            return True
        if method == 'dnssec.deletednskey':
            if set(params) != {'key'} or not isinstance(params['key'], int):
                return self.reply(200, {'code': 2005, 'msg': 'Parameter value syntax error'})
            for (prov, dom), recs in self.reg.records.items():
                if prov == 'inwx' and any(r['id'] == params['key'] for r in recs):
                    recs[:] = [r for r in recs if r['id'] != params['key']]
                    self.reply(200, {'code': 1000, 'msg': 'Command completed successfully'})
                    return True
            return self.reply(200, {'code': 2303, 'msg': 'Object does not exist'})
        return self.reply(200, {'code': 2000, 'msg': 'Unknown command'})

    # Name.com API v4: HTTP Basic (user name, token), DS records, deleted by digest.
    def namecom(self, body):
        s = SECRETS['namecom']
        want = 'Basic ' + base64.b64encode(('%s:%s' % (s['username'], s['token'])).encode()).decode()
        if self.headers.get('Authorization') != want:
            return self.reply(401, {'message': 'Unauthenticated'})
        if self.fault():
            return
        m = re.match(r'^/namecom/v4/domains/([^/]+)/dnssec(?:/([0-9A-Fa-f]+))?$', self.path)
        if not m:
            return self.reply(404, {'message': 'Not Found'})
        domain, digest = m.groups()
        recs = self.reg.recs('namecom', domain)
        if self.command == 'GET' and not digest:
            if not recs:
                return self.reply(200, {})
            return self.reply(200, {'dnssec': [{'domainName': domain, 'keyTag': r['tag'], 'algorithm': r['alg'],
                                                'digestType': r['dt'], 'digest': r['digest']} for r in recs]})
        if self.command == 'POST' and not digest:
            if not isinstance(body, dict) or set(body) != {'keyTag', 'algorithm', 'digestType', 'digest'} \
                    or not all(isinstance(body[k], int) for k in ('keyTag', 'algorithm', 'digestType')):
                return self.reply(400, {'message': 'Invalid Argument'})
            r = {'tag': body['keyTag'], 'alg': body['algorithm'], 'dt': body['digestType'],
                 'digest': body['digest'].upper()}
            if any(x['digest'] == r['digest'] for x in recs):
                return self.reply(500, {'message': 'Internal Error', 'details': 'exists'})  # as documented
            recs.append(r)
            self.reply(200, dict(body, domainName=domain))
            return True
        if self.command == 'DELETE' and digest:
            if not any(r['digest'] == digest.upper() for r in recs):
                return self.reply(404, {'message': 'Not Found'})
            recs[:] = [r for r in recs if r['digest'] != digest.upper()]
            self.reply(200, {})
            return True
        return self.reply(405, {'message': 'Method Not Allowed'})

    # Gandi v5 domain API: Bearer personal access token; DNSKEYs in, the DS computed.
    def gandi(self, body):
        if self.headers.get('Authorization') != 'Bearer ' + SECRETS['gandi']['token']:
            return self.reply(401, {'code': 401, 'message': 'Unauthorized', 'object': 'HTTPUnauthorized',
                                    'cause': 'Unauthorized'})
        if self.fault():
            return
        m = re.match(r'^/gandi/v5/domain/domains/([^/]+)/dnskeys(?:/([\w-]+))?$', self.path)
        if not m:
            return self.reply(404, {'code': 404, 'message': 'Not Found'})
        domain, kid = m.groups()
        recs = self.reg.recs('gandi', domain)
        if self.command == 'GET' and not kid:
            # the members Gandi's clients read (go-gandi DNSSECKey): type, not flags
            return self.reply(200, [{'id': r['id'], 'algorithm': r['alg'],
                                     'type': 'ksk' if r['flags'] == 257 else 'zsk',
                                     'public_key': r['pubkey'], 'keytag': r['tag'], 'digest_type': r['dt'],
                                     'digest': r['digest'], 'status': 'ok', 'deleted': False,
                                     'fqdn': domain} for r in recs])
        if self.command == 'POST' and not kid:
            # {"algorithm", "type": "ksk"|"zsk", "public_key"}, as go-gandi's
            # DNSSECKeyCreateRequest and the Terraform provider's gandi_dnssec_key send it
            try:
                assert isinstance(body, dict) and set(body) == {'algorithm', 'type', 'public_key'}
                assert body['type'] in ('ksk', 'zsk')
                flags = 257 if body['type'] == 'ksk' else 256
                tag, digest = ds_from_key(domain, flags, body['algorithm'], body['public_key'])
            except (AssertionError, ValueError, TypeError):
                return self.reply(400, {'code': 400, 'message': 'Bad Request', 'cause': 'invalid key'})
            recs.append({'id': 'k%d-uuid' % self.reg.new_id(), 'tag': tag, 'alg': body['algorithm'],
                         'dt': 2, 'digest': digest, 'flags': flags, 'pubkey': body['public_key']})
            self.reply(201, {'message': 'DNSSEC key created'})
            return True
        if self.command == 'DELETE' and kid:
            if not any(r['id'] == kid for r in recs):
                return self.reply(404, {'code': 404, 'message': 'Not Found'})
            recs[:] = [r for r in recs if r['id'] != kid]
            self.reply(204)
            return True
        return self.reply(405, {'code': 405, 'message': 'Method Not Allowed'})

    # Openprovider REST v1beta: a token from /auth/login as Bearer; the domain by id; its
    # dnssec_keys replaced as a whole by PUT; every reply {"code": 0, "data": ...}.
    def openprovider(self, body):
        base = '/openprovider/v1beta'
        if self.path == base + '/auth/login' and self.command == 'POST':
            s = SECRETS['openprovider']
            if body != {'username': s['username'], 'password': s['password'], 'ip': '0.0.0.0'}:
                return self.reply(401, {'code': 196, 'desc': 'Authentication/Authorization Failed'})
            tok = 'optoken%d' % self.reg.new_id()
            self.reg.tokens.add(tok)
            return self.reply(200, {'code': 0, 'data': {'token': tok, 'reseller_id': 42}})
        auth = self.headers.get('Authorization', '')
        if not auth.startswith('Bearer ') or auth[7:] not in self.reg.tokens:
            return self.reply(401, {'code': 196, 'desc': 'Authentication/Authorization Failed'})
        if self.fault():
            return
        m = re.match(r'^%s/domains\?full_name=([^&]+)&limit=1$' % base, self.path)
        if m and self.command == 'GET':
            name = m.group(1)
            did = self.reg.op_ids.setdefault(name, self.reg.new_id())
            return self.reply(200, {'code': 0, 'data': {'results': [{
                'id': did, 'domain': {'name': name.split('.')[0], 'extension': name.split('.', 1)[1]}}],
                'total': 1}})
        m = re.match(r'^%s/domains/(\d+)$' % base, self.path)
        names = {v: k for k, v in self.reg.op_ids.items()}
        if not m or int(m.group(1)) not in names:
            return self.reply(404, {'code': 320, 'desc': 'Domain not found'})
        domain = names[int(m.group(1))]
        recs = self.reg.recs('openprovider', domain)
        if self.command == 'GET':
            return self.reply(200, {'code': 0, 'data': {
                'id': int(m.group(1)), 'is_dnssec_enabled': bool(recs),
                'dnssec_keys': [{'alg': r['alg'], 'flags': r['flags'], 'protocol': 3,
                                 'pub_key': r['pubkey'], 'readonly': 0} for r in recs]}})
        if self.command == 'PUT':
            try:
                assert isinstance(body, dict) and set(body) == {'dnssec_keys', 'is_dnssec_enabled'}
                assert body['is_dnssec_enabled'] is bool(body['dnssec_keys'])
                new = []
                for k in body['dnssec_keys']:
                    assert set(k) == {'alg', 'flags', 'protocol', 'pub_key'} and k['protocol'] == 3
                    tag, digest = ds_from_key(domain, k['flags'], k['alg'], k['pub_key'])
                    new.append({'tag': tag, 'alg': k['alg'], 'dt': 2, 'digest': digest,
                                'flags': k['flags'], 'pubkey': k['pub_key']})
            except (AssertionError, KeyError, ValueError, TypeError):
                return self.reply(400, {'code': 399, 'desc': 'Invalid request'})
            recs[:] = new
            self.reply(200, {'code': 0, 'data': {'status': 'ACT'}})
            return True
        return self.reply(405, {'code': 1, 'desc': 'method'})

    # A generic REST API, configured in the Corefile of the rest provider.
    def rest(self, body):
        if self.headers.get('X-Api-Key') != SECRETS['rest']['token']:
            return self.reply(401, {'error': 'unauthorized'})
        if self.fault():
            return
        m = re.match(r'^/rest/v1/zones/([^/]+)/ds(?:/([\w-]+))?$', self.path)
        if not m:
            return self.reply(404, {'error': 'not found'})
        domain, uid = m.groups()
        recs = self.reg.recs('rest', domain)
        if self.command == 'GET' and not uid:
            return self.reply(200, {'result': {'ds': [
                {'keyTag': r['tag'], 'alg': r['alg'], 'digestType': r['dt'], 'digest': r['digest'],
                 'uuid': r['id']} for r in recs]}})
        if self.command == 'POST' and not uid:
            try:
                r = {'tag': int(body['keyTag']), 'alg': int(body['alg']), 'dt': int(body['digestType']),
                     'digest': str(body['digest']).upper(), 'id': 'u-%d' % self.reg.new_id()}
            except (KeyError, ValueError, TypeError):
                return self.reply(422, {'error': 'bad DS'})
            if any(x['tag'] == r['tag'] and x['digest'] == r['digest'] for x in recs):
                return self.reply(409, {'error': 'duplicate'})
            recs.append(r)
            self.reply(201, {'uuid': r['id']})
            return True
        if self.command == 'DELETE' and uid:
            if not any(r['id'] == uid for r in recs):
                return self.reply(404, {'error': 'no such DS'})
            recs[:] = [r for r in recs if r['id'] != uid]
            self.reply(204)
            return True
        return self.reply(405, {'error': 'method'})


class TLSServer(http.server.ThreadingHTTPServer):
    daemon_threads = True


def serve_emulator(d, ca_name, on_change):
    """The emulator over HTTPS on a free loopback port, its certificate from a CA made in
    d: (Registry, TLSServer, CA certificate path). Stop it with server.shutdown()."""
    ca_key, ca = make_ca(d, ca_name)
    key, crt = make_server_cert(d, ca_key, ca)
    reg = Registry(on_change)
    Handler.reg = reg
    httpd = TLSServer(('127.0.0.1', 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    reg.port = httpd.server_address[1]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return reg, httpd, ca


PARENT_ZONE = '''$ORIGIN test.
$TTL 60
@       IN SOA ns1 hostmaster %(serial)d 60 60 600 30
        IN NS  ns1
ns1     IN A   127.0.0.1
%(delegations)s
%(ds)s
'''
CHILDREN = ['pb', 'dnsimple', 'ovh', 'rest', 'bad', 'manual', 'gone', 'lag', 'r53', 'ovhpush',
            'cds', 'inwx', 'namecom', 'gandi', 'op']
E2E = 'e2e.test'   # delegated by the parent too, but signed by signetd in its own keystore
E2E_TIMING = ['--csk', '--ksk-lifetime', '0', '--zsk-lifetime', '0', '--dnskey-ttl', '1s',
              '--zone-propagation-delay', '1s', '--zone-max-ttl', '1s', '--parent-ds-ttl', '1s',
              '--parent-propagation-delay', '1s', '--signature-validity', '1h',
              '--signature-refresh', '10m', '--signature-jitter', '0']
E2E_ZONE = '''$ORIGIN e2e.test.
$TTL 60
@ IN SOA ns1 hostmaster 1 60 60 600 30
  IN NS ns1
ns1 IN A 127.0.0.1
www IN A 192.0.2.1
'''



class RegistrarTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        for tool in ('openssl', 'dig'):
            if not shutil.which(tool):
                raise unittest.SkipTest(tool + ' is not installed')
        cls.dir = tempfile.mkdtemp(prefix='signet-reg-')
        cls.serial = 1
        cls.zone_lock = threading.Lock()
        # the parents: two signetd serving test.
        cls.parents = []
        cls.write_parent_zone([])
        for i in range(2):
            s = signet_test.Signetd('test:$port {\n bind 127.0.0.1\n file %s test\n}\n'
                                   % os.path.join(cls.dir, 'parent%d.zone' % i), ready_name='test')
            s.start()
            cls.parents.append(s)
        # the emulator
        cls.reg, cls.httpd, cls.ca = serve_emulator(cls.dir, 'good', cls.on_change)
        _, cls.other_ca = make_ca(cls.dir, 'other')
        # the child keystore
        cls.db = os.path.join(cls.dir, 'keystore.db')
        for c in CHILDREN:
            cls.ctl('zone', 'add', c + '.test')
            cls.new_ksk(c + '.test')
        for prov, sec in SECRETS.items():
            path = os.path.join(cls.dir, prov + '.cred')
            with open(path, 'w') as f:
                f.write('# test credentials\n' + ''.join('%s = %s\n' % kv for kv in sec.items()))
            os.chmod(path, 0o600)

    @classmethod
    def tearDownClass(cls):
        cls.httpd.shutdown()
        for s in cls.parents:
            s.stop()
            s.cleanup()
        shutil.rmtree(cls.dir, ignore_errors=True)

    # -- helpers ----------------------------------------------------------------------

    @classmethod
    def ctl(cls, *args, check=True):
        p = subprocess.run([SIGNETCTL, '--db', cls.db] + list(args), capture_output=True, text=True)
        if check and p.returncode != 0:
            raise AssertionError('signetctl %s: %s%s' % (' '.join(args), p.stdout, p.stderr))
        return p.stdout

    @classmethod
    def new_ksk(cls, zone):
        out = cls.ctl('--json', 'key', 'generate', zone, '--role', 'csk')
        kid = json.loads(out)['id']
        cls.ctl('key', 'set', str(kid), '--publish', 'now-1h', '--activate', 'now-1h',
                '--ds-submitted', 'now')
        return kid

    @classmethod
    def write_parent_zone(cls, ds_lines, which=(0, 1)):
        with cls.zone_lock:
            cls.serial += 1
            deleg = '\n'.join('%s IN NS ns1.%s\nns1.%s IN A 127.0.0.%d' % (c, c, c, 20 + i)
                              for i, c in enumerate(CHILDREN + ['e2e', 'cdsun']))
            text = PARENT_ZONE % {'serial': cls.serial, 'delegations': deleg,
                                  'ds': '\n'.join(ds_lines)}
            for i in which:
                path = os.path.join(cls.dir, 'parent%d.zone' % i)
                with open(path + '.tmp', 'w') as f:
                    f.write(text)
                os.replace(path + '.tmp', path)
                t = time.time() + cls.serial
                os.utime(path, (t, t))
                if getattr(cls, 'parents', None) and len(cls.parents) > i:
                    cls.parents[i].send_signal(signal.SIGHUP)

    @classmethod
    def on_change(cls):
        """The registry publishes at once on one parent server, 2 s later on the other."""
        lines = cls.reg.ds_lines()
        cls.write_parent_zone(lines, which=(0,))
        threading.Timer(2.0, lambda: cls.write_parent_zone(cls.reg.ds_lines(), which=(1,))).start()

    def corefile(self, zone, provider, body):
        path = os.path.join(self.dir, zone + '.Corefile')
        with open(path, 'w') as f:
            f.write('%s:5399 {\n dnssec {\n  keystore %s\n  registrar %s {\n%s'
                    '   check-interval 1s\n   backoff 1s 4s\n   query-timeout 1s\n'
                    '   parent-ns 127.0.0.1:%d 127.0.0.1:%d\n  }\n }\n}\n'
                    % (zone, self.db, provider, body, self.parents[0].port, self.parents[1].port))
        return path

    def drive(self, zone, corefile, until='seen', secs=60, roll=False):
        args = [REG_DRIVER, self.db, zone, corefile, until, str(secs)] + (['roll'] if roll else [])
        p = subprocess.run(args, capture_output=True, text=True, timeout=secs + 30)
        for s in ALL_SECRET_VALUES:
            self.assertNotIn(s, p.stdout + p.stderr, 'a credential in the log')
        return p

    @classmethod
    def ctl_run(cls, *args, db=None):
        p = subprocess.run([SIGNETCTL, '--db', db or cls.db] + list(args), capture_output=True,
                           text=True)
        for sec in ALL_SECRET_VALUES:
            assert sec not in p.stdout + p.stderr, 'a credential in signetctl output'
        return p

    def events(self, zone):
        out = self.ctl('--json', 'ds', 'status', zone)
        for s in ALL_SECRET_VALUES:
            self.assertNotIn(s, out)
        hist = self.ctl('zone', 'history', zone)
        for s in ALL_SECRET_VALUES:
            self.assertNotIn(s, hist)
        return json.loads(out), hist

    def expected_ds(self, zone):
        """The DS records signetctl says the parent should have (tag alg dt DIGEST)."""
        d = json.loads(self.ctl('--json', 'ds', 'status', zone))
        return sorted(' '.join(r['record'].split()[4:]).upper() for r in d['desired'])

    def served(self, zone, i):
        r = self.parents[i].dig(zone, 'DS')
        return sorted(' '.join(rr.rdata.split()).upper() for rr in r.answer if rr.type == 'DS')

    def registrar_has(self, provider, zone):
        with self.reg.lock:
            return sorted('%d %d %d %s' % (r['tag'], r['alg'], r['dt'], r['digest'])
                          for r in self.reg.recs(provider, zone.rstrip('.')))

    def run_provider(self, provider, zone, body, faults=('429', '500')):
        cf = self.corefile(zone, provider, body)
        self.reg.faults[provider] = list(faults)
        # 1. first push, through a 429 (Retry-After) and a 500, then confirmation at both
        p = self.drive(zone, cf)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr + self.ctl('zone', 'history', zone))
        want = self.expected_ds(zone)
        self.assertEqual(len(want), 1)
        self.assertEqual(self.registrar_has(provider, zone), want)
        self.assertEqual(self.served(zone, 0), want)
        self.assertEqual(self.served(zone, 1), want)
        st, hist = self.events(zone)
        states = [e['state'] for e in st['events']]
        self.assertGreaterEqual(hist.count('->reg-retry'), 2, hist)
        self.assertIn('HTTP 429', hist)
        self.assertIn('HTTP 500', hist)
        self.assertIn('parent-seen', states)
        self.assertIsNotNone(st['desired'][0]['ds_seen'])
        # 2. a restart changes nothing: it lists and finds the set there
        writes = len(self.reg.writes(provider))
        p = self.drive(zone, cf, until='synced', secs=20)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr + self.ctl('zone', 'history', zone))
        self.assertEqual(len(self.reg.writes(provider)), writes, 'a write on an unchanged set')
        self.assertIn('already has the DS set', self.ctl('zone', 'history', zone))
        # 3. a KSK rollover: the new DS is added beside the old one and confirmed ...
        keys = json.loads(self.ctl('--json', 'key', 'list', zone))
        old = keys[0]['id']
        self.new_ksk(zone)
        p = self.drive(zone, cf)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr + self.ctl('zone', 'history', zone))
        want = self.expected_ds(zone)
        self.assertEqual(len(want), 2)
        self.assertEqual(self.registrar_has(provider, zone), want)
        self.assertEqual(self.served(zone, 1), want)
        # ... then the old key retires and its DS goes
        self.ctl('key', 'set', str(old), '--retire', 'now')
        p = self.drive(zone, cf, until='synced', secs=30)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr + self.ctl('zone', 'history', zone))
        want = self.expected_ds(zone)
        self.assertEqual(len(want), 1)
        self.assertEqual(self.registrar_has(provider, zone), want)
        deadline = time.time() + 10
        while self.served(zone, 1) != want and time.time() < deadline:
            time.sleep(0.3)
        self.assertEqual(self.served(zone, 1), want)
        # 4. registrar test says which calls it made and what came back, redacted
        p = self.ctl_run('registrar', 'test', zone, '--config', cf)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r'request: (GET|POST) https://127\.0\.0\.1:%d/%s/' % (self.reg.port, provider))
        self.assertRegex(p.stdout, r'reply: HTTP 20\d, \d+ bytes')
        self.assertIn('it has 1 DS', p.stdout)
        js = json.loads(self.ctl_run('--json', 'registrar', 'test', zone, '--config', cf).stdout)
        self.assertTrue(js['ok'])
        self.assertTrue(any(c.startswith('request: ') for c in js['calls']), js)
        return cf

    # -- the providers ----------------------------------------------------------------

    def test_porkbun(self):
        self.run_provider('porkbun', 'pb.test', '   credentials %s\n   endpoint https://127.0.0.1:%d/porkbun/api/json/v3\n'
                          '   ca-file %s\n' % (os.path.join(self.dir, 'porkbun.cred'), self.reg.port, self.ca))

    def test_dnsimple(self):
        self.run_provider('dnsimple', 'dnsimple.test', '   credentials %s\n   endpoint https://127.0.0.1:%d/dnsimple/v2\n'
                          '   ca-file %s\n' % (os.path.join(self.dir, 'dnsimple.cred'), self.reg.port, self.ca))

    def test_ovh(self):
        self.run_provider('ovh', 'ovh.test', '   credentials %s\n   endpoint https://127.0.0.1:%d/ovh/1.0\n'
                          '   ca-file %s\n' % (os.path.join(self.dir, 'ovh.cred'), self.reg.port, self.ca))

    def test_ovh_push_lists_again(self):
        """ds push to OVHcloud waits for the task its POST queued and reports what the
        registrar holds from a fresh listing (it printed 'the registrar already had the DS
        set; nothing changed' after a POST, while the registrar held no DS); a task that
        ends in error is a failure, not a success."""
        zone = 'ovhpush.test'
        cf = self.corefile(zone, 'ovh', '   credentials %s\n   endpoint https://127.0.0.1:%d/ovh/1.0\n'
                           '   ca-file %s\n' % (os.path.join(self.dir, 'ovh.cred'), self.reg.port, self.ca))
        self.reg.faults['ovh'] = []
        p = self.ctl_run('ds', 'push', zone, '--config', cf)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        want = self.expected_ds(zone)
        self.assertEqual(self.registrar_has('ovh', zone), want)
        self.assertNotIn('nothing changed', p.stdout)
        self.assertIn('was changed', p.stdout)
        self.assertRegex(p.stdout, r'OVHcloud task \d+: todo')
        self.assertRegex(p.stdout, r'OVHcloud task \d+: done')
        self.assertIn('the registrar now has 1 DS: %s/' % want[0].split()[0], p.stdout)
        # pushed again: nothing to change, and said so
        p = self.ctl_run('ds', 'push', zone, '--config', cf)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn('nothing changed', p.stdout)
        # a task the registry refuses: ds push fails and says why
        with self.reg.lock:
            self.reg.recs('ovh', zone)[:] = []
            self.reg.ovh_task_end = 'error'
        try:
            p = self.ctl_run('ds', 'push', zone, '--config', cf)
        finally:
            self.reg.ovh_task_end = 'done'
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn('ended error: DS refused by the registry', p.stdout + p.stderr)
        self.assertEqual(self.registrar_has('ovh', zone), [])

    def test_ovh_endpoint_names(self):
        """ovh-ca and ovh-us name OVHcloud's non-EU APIs; other providers refuse them."""
        for name, url in (('ovh-ca', 'https://ca.api.ovh.com/1.0'), ('ovh-us', 'https://api.us.ovhcloud.com/1.0'),
                          ('ovh-eu', 'https://eu.api.ovh.com/1.0')):
            cf = self.corefile('bad.test', 'ovh', '   credentials %s\n   endpoint %s\n'
                               '   connect-timeout 1s\n   timeout 2s\n'
                               % (os.path.join(self.dir, 'ovh.cred'), name))
            p = self.ctl_run('registrar', 'test', 'bad.test', '--config', cf)
            # no network here: the call fails, but at the named API
            self.assertIn('at %s' % url, p.stdout + p.stderr)
        cf = self.corefile('bad.test', 'porkbun', '   credentials %s\n   endpoint ovh-ca\n'
                           % os.path.join(self.dir, 'porkbun.cred'))
        p = self.ctl_run('registrar', 'test', 'bad.test', '--config', cf)
        self.assertEqual(p.returncode, 1)
        self.assertIn('names an OVHcloud API', p.stderr)

    def test_route53(self):
        with self.reg.lock:
            before = len(self.reg.requests)   # this test's requests only, whatever ran first
        cf = self.run_provider('route53', 'r53.test', '   credentials %s\n   endpoint https://127.0.0.1:%d/route53\n'
                               '   ca-file %s\n' % (os.path.join(self.dir, 'route53.cred'), self.reg.port, self.ca))
        # the requests exactly as AWS documents them: POST /, JSON 1.1, the target, SigV4
        with self.reg.lock:
            reqs = [r for r in self.reg.requests[before:] if r[0] == 'route53']
        targets = {r[3].get('x-amz-target') for r in reqs}
        for op in ('GetDomainDetail', 'AssociateDelegationSignerToDomain',
                   'DisassociateDelegationSignerFromDomain', 'GetOperationDetail'):
            self.assertIn('Route53Domains_v20140515.' + op, targets)
        for r in reqs:
            self.assertEqual((r[1], r[2]), ('POST', '/route53/'))
            self.assertEqual(r[3]['content-type'], 'application/x-amz-json-1.1')
            self.assertRegex(r[3]['authorization'], r'^AWS4-HMAC-SHA256 Credential=AKIATESTSIGNET0001/'
                             r'\d{8}/us-east-1/route53domains/aws4_request, SignedHeaders='
                             r'content-type;host;x-amz-date;x-amz-target, Signature=[0-9a-f]{64}$')
        assoc = [json.loads(r[4]) for r in reqs if r[3]['x-amz-target'].endswith('.AssociateDelegationSignerToDomain')]
        self.assertEqual(set(assoc[0]), {'DomainName', 'SigningAttributes'})
        self.assertEqual(assoc[0]['DomainName'], 'r53.test')
        self.assertEqual(assoc[0]['SigningAttributes']['Flags'], 257)
        hist = self.ctl('zone', 'history', 'r53.test')
        self.assertRegex(hist, r'to add: DNSKEY of DS \d+ 13')
        self.assertRegex(hist, r'Route 53 Domains operation op-\d+: SUCCESSFUL')
        # a wrong secret: AWS's signature check refuses it, and nothing leaks
        path = os.path.join(self.dir, 'r53-wrong.cred')
        with open(path, 'w') as f:
            f.write('access-key-id = AKIATESTSIGNET0001\nsecret-access-key = not-the-secret-0000\n')
        os.chmod(path, 0o600)
        cf = self.corefile('bad.test', 'route53', '   credentials %s\n   endpoint https://127.0.0.1:%d/route53\n'
                           '   ca-file %s\n' % (path, self.reg.port, self.ca))
        p = self.ctl_run('registrar', 'test', 'bad.test', '--config', cf)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn('HTTP 403', p.stdout + p.stderr)
        self.assertIn('signature we calculated does not match', p.stdout + p.stderr)
        self.assertNotIn('not-the-secret-0000', p.stdout + p.stderr)

    def test_route53_session_token(self):
        """Temporary credentials: X-Amz-Security-Token goes with every request and is
        signed; the emulator refuses an ASIA key without it (as AWS does), and the token
        never shows in the output. From a file and from AWS_* variables."""
        url = '   endpoint https://127.0.0.1:%d/route53\n   ca-file %s\n' % (self.reg.port, self.ca)
        temp = SECRETS['route53-temp']
        cf = self.corefile('r53tmp.test', 'route53', '   credentials %s\n%s'
                           % (os.path.join(self.dir, 'route53-temp.cred'), url))
        with self.reg.lock:
            before = len(self.reg.requests)
        p = self.ctl_run('registrar', 'test', 'r53tmp.test', '--config', cf)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn('GetDomainDetail', p.stdout)
        with self.reg.lock:
            reqs = [r for r in self.reg.requests[before:] if r[0] == 'route53']
        self.assertTrue(reqs)
        for r in reqs:
            self.assertEqual(r[3]['x-amz-security-token'], temp['session-token'])
            self.assertIn('SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;'
                          'x-amz-target,', r[3]['authorization'])
        # the same key without its token: refused
        path = os.path.join(self.dir, 'r53-notoken.cred')
        with open(path, 'w') as f:
            f.write('access-key-id = %s\nsecret-access-key = %s\n'
                    % (temp['access-key-id'], temp['secret-access-key']))
        os.chmod(path, 0o600)
        cf2 = self.corefile('r53tmp.test', 'route53', '   credentials %s\n%s' % (path, url))
        p = self.ctl_run('registrar', 'test', 'r53tmp.test', '--config', cf2)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn('security token included in the request is invalid', p.stdout + p.stderr)
        # AWS's own variable names: credentials env AWS_
        cf3 = self.corefile('r53tmp.test', 'route53', '   credentials env AWS_\n%s' % url)
        env = dict(os.environ, AWS_ACCESS_KEY_ID=temp['access-key-id'],
                   AWS_SECRET_ACCESS_KEY=temp['secret-access-key'],
                   AWS_SESSION_TOKEN=temp['session-token'])
        p = subprocess.run([SIGNETCTL, '--db', self.db, 'registrar', 'test', 'r53tmp.test',
                            '--config', cf3], capture_output=True, text=True, env=env)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        for sec in ALL_SECRET_VALUES:
            self.assertNotIn(sec, p.stdout + p.stderr)

    def test_inwx(self):
        self.run_provider('inwx', 'inwx.test', '   credentials %s\n   endpoint https://127.0.0.1:%d/inwx/jsonrpc/\n'
                          '   ca-file %s\n' % (os.path.join(self.dir, 'inwx.cred'), self.reg.port, self.ca))
        with self.reg.lock:
            methods = [json.loads(r[4])['method'] for r in self.reg.requests if r[0] == 'inwx']
        for m in ('account.login', 'dnssec.listkeys', 'dnssec.adddnskey', 'dnssec.deletednskey',
                  'account.logout'):
            self.assertIn(m, methods)
        self.assertIn('INWX dnssec.adddnskey', self.ctl('zone', 'history', 'inwx.test'))
        # every session opened was logged out again, failed pushes' too
        with self.reg.lock:
            self.assertTrue(self.reg.opened)
            self.assertEqual(self.reg.sessions & set(self.reg.opened), set())

    def test_inwx_2fa(self):
        """An INWX account with two-factor authentication: account.login answers tfa
        GOOGLE-AUTH, account.unlock takes the TOTP code of the shared secret, then the
        calls, then account.logout. Without the secret, or with a wrong one, a clear
        refusal; the secret never shows."""
        url = '   endpoint https://127.0.0.1:%d/inwx/jsonrpc/\n   ca-file %s\n' % (self.reg.port, self.ca)
        cf = self.corefile('inwx2fa.test', 'inwx', '   credentials %s\n%s'
                           % (os.path.join(self.dir, 'inwx-2fa.cred'), url))
        with self.reg.lock:
            before = len(self.reg.requests)
        p = self.ctl_run('registrar', 'test', 'inwx2fa.test', '--config', cf)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        with self.reg.lock:
            methods = [json.loads(r[4])['method'] for r in self.reg.requests[before:] if r[0] == 'inwx']
            self.assertEqual(self.reg.sessions & set(self.reg.opened), set())
        self.assertEqual(methods, ['account.login', 'account.unlock', 'dnssec.listkeys', 'account.logout'])
        self.assertIn('account.unlock', p.stdout)
        s2 = SECRETS['inwx-2fa']
        for name, extra, why in (('inwx-notan', '', 'asks for a second factor'),
                                 ('inwx-wrongtan', 'shared-secret = GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n',
                                  'invalid tan')):
            path = os.path.join(self.dir, name + '.cred')
            with open(path, 'w') as f:
                f.write('user = %s\npassword = %s\n%s' % (s2['user'], s2['password'], extra))
            os.chmod(path, 0o600)
            cf2 = self.corefile('inwx2fa.test', 'inwx', '   credentials %s\n%s' % (path, url))
            p = self.ctl_run('registrar', 'test', 'inwx2fa.test', '--config', cf2)
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
            self.assertIn(why, p.stdout + p.stderr)
            self.assertNotIn('GEZDGNBVGY3TQOJQ', p.stdout + p.stderr)
            # the session opened by account.login was ended all the same
            with self.reg.lock:
                self.assertEqual(self.reg.sessions & set(self.reg.opened), set())

    def test_namecom(self):
        self.run_provider('namecom', 'namecom.test', '   credentials %s\n   endpoint https://127.0.0.1:%d/namecom/v4\n'
                          '   ca-file %s\n' % (os.path.join(self.dir, 'namecom.cred'), self.reg.port, self.ca))

    def test_gandi(self):
        self.run_provider('gandi', 'gandi.test', '   credentials %s\n   endpoint https://127.0.0.1:%d/gandi/v5/domain\n'
                          '   ca-file %s\n' % (os.path.join(self.dir, 'gandi.cred'), self.reg.port, self.ca))
        self.assertRegex(self.ctl('zone', 'history', 'gandi.test'), r'to add: DNSKEY of DS \d+ 13')

    def test_openprovider(self):
        self.run_provider('openprovider', 'op.test', '   credentials %s\n   endpoint https://127.0.0.1:%d/openprovider/v1beta\n'
                          '   ca-file %s\n' % (os.path.join(self.dir, 'openprovider.cred'), self.reg.port, self.ca))

    def test_cds(self):
        """The cds provider pushes nothing: the zone waits for the registry's CDS scan
        (zone status says so), and the parent check records ds-seen once the parent
        serves the DS."""
        zone = 'cds.test'
        cf = self.corefile(zone, 'cds', '')
        calls = len(self.reg.calls)
        p = self.drive(zone, cf, until='seen', secs=4)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        hist = self.ctl('zone', 'history', zone)
        self.assertRegex(hist, r"reg-scan.*waiting for the registry's CDS scan")
        self.assertRegex(hist, r"parent-wait.*waiting for the registry's CDS scan: 0 of 2")
        st = self.ctl('zone', 'status', zone)
        self.assertIn("waiting for the registry's CDS scan", st)
        p = self.ctl_run('registrar', 'test', zone, '--config', cf)
        self.assertEqual(p.returncode, 1)
        self.assertIn('registry scans', p.stderr)
        p = self.ctl_run('ds', 'push', zone, '--config', cf)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("waiting for the registry's CDS scan", p.stdout)
        # the registry scans the CDS and publishes the DS
        want = self.expected_ds(zone)
        with self.reg.lock:
            self.reg.recs('cds-scan', zone)[:] = [
                {'tag': int(w.split()[0]), 'alg': int(w.split()[1]), 'dt': int(w.split()[2]),
                 'digest': w.split()[3]} for w in want]
        self.on_change()
        p = self.drive(zone, cf, until='seen', secs=30)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr + self.ctl('zone', 'history', zone))
        self.assertIn('parent-seen', self.ctl('zone', 'history', zone))
        self.assertEqual(len(self.reg.calls), calls, 'the cds provider made an HTTP call')

    def test_rest(self):
        base = 'https://127.0.0.1:%d/rest/v1/zones/{domain}/ds' % self.reg.port
        self.run_provider('rest', 'rest.test',
                          '   credentials %s\n   ca-file %s\n'
                          '   list GET %s\n   list-path result.ds\n'
                          '   add POST %s "{\\"keyTag\\":{tag},\\"alg\\":{alg},\\"digestType\\":{digest_type},\\"digest\\":\\"{digest}\\"}"\n'
                          '   remove DELETE %s/{id}\n'
                          '   header "X-Api-Key: {cred:token}"\n'
                          '   fields keyTag alg digestType digest uuid\n   timeout 2s\n'
                          % (os.path.join(self.dir, 'rest.cred'), self.ca, base, base, base),
                          faults=('429', '500', 'slow', 'malformed'))
        hist = self.ctl('zone', 'history', 'rest.test')
        self.assertRegex(hist, r'reg-retry.*(timed out|Timeout)')
        self.assertRegex(hist, r'reg-retry.*malformed JSON')

    def rest_body(self, cred):
        base = 'https://127.0.0.1:%d/rest/v1/zones/{domain}/ds' % self.reg.port
        return ('   credentials %s\n   ca-file %s\n'
                '   list GET %s\n   list-path result.ds\n'
                '   add POST %s "{\\"keyTag\\":{tag},\\"alg\\":{alg},\\"digestType\\":{digest_type},\\"digest\\":\\"{digest}\\"}"\n'
                '   remove DELETE %s/{id}\n'
                '   header "X-Api-Key: {cred:token}"\n'
                '   fields keyTag alg digestType digest uuid\n' % (cred, self.ca, base, base, base))

    def test_unsign(self):
        """zone unsign: the DS set goes from the registrar, and once no parent server
        serves it, sg_roll_ds_gone is recorded."""
        zone = 'gone.test'
        cf = self.corefile(zone, 'rest', self.rest_body(os.path.join(self.dir, 'rest.cred')))
        p = self.drive(zone, cf)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr + self.ctl('zone', 'history', zone))
        self.assertEqual(len(self.registrar_has('rest', zone)), 1)
        self.ctl('zone', 'unsign', zone)
        p = self.drive(zone, cf, until='gone', roll=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr + self.ctl('zone', 'history', zone))
        self.assertEqual(self.registrar_has('rest', zone), [])
        self.assertEqual(self.served(zone, 0), [])
        self.assertEqual(self.served(zone, 1), [])
        self.assertIn('parent-gone', self.ctl('zone', 'history', zone))

    # -- signetd itself ---------------------------------------------------------------

    def test_signetd_end_to_end(self):
        """signetd runs e2e.test with a rest registrar: the first CSK's DS is submitted by
        the engine, pushed to the emulator, written into the parent zone, confirmed at
        both parent servers (ds-seen); then a CSK rollover completes through the
        registrar. signetctl registrar test and ds push against the same emulator."""
        zone = E2E + '.'
        db = os.path.join(self.dir, 'e2e.db')
        ctl = lambda *a: self.ctl_run(*a, db=db)
        def ok(p):
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            return p.stdout
        ok(ctl('policy', 'add', 'fast', *E2E_TIMING))
        ok(ctl('zone', 'add', E2E, '--policy', 'fast'))
        self.reg.faults['rest'] = []
        body = self.rest_body(os.path.join(self.dir, 'rest.cred'))
        corefile = ('{\n workers 1\n}\n%s:$port {\n bind 127.0.0.1\n dnssec {\n  keystore %s\n'
                    '  policy fast\n  registrar rest {\n%s   check-interval 1s\n   backoff 1s 4s\n'
                    '   query-timeout 1s\n   parent-ns 127.0.0.1:%d 127.0.0.1:%d\n  }\n }\n'
                    ' file $dir/e2e.zone %s\n errors\n}\n'
                    % (E2E, db, body, self.parents[0].port, self.parents[1].port, E2E))
        child = signet_test.Signetd(corefile, ready_name=E2E)
        with open(child.path('e2e.zone'), 'w') as f:
            f.write(E2E_ZONE)
        cf = child.corefile_path

        def keys():
            return json.loads(ok(ctl('--json', 'zone', 'status', E2E)))['keys']

        def wait(cond, secs, what):
            deadline = time.time() + secs
            while time.time() < deadline:
                if cond():
                    return
                time.sleep(0.3)
            self.fail('%s not reached in %ds\n%s\n%s\nsignetd log:\n%s' % (
                what, secs, ctl('zone', 'status', E2E).stdout, ctl('zone', 'history', E2E).stdout,
                child.log()[-4000:]))

        def desired():
            d = json.loads(ok(ctl('--json', 'ds', 'status', E2E)))
            return sorted(' '.join(r['record'].split()[4:]).upper() for r in d['desired'])

        try:
            # registrar test before anything is there: an empty set, exit 0
            child.port = signet_test.free_port()
            child.write_corefile()
            p = ctl('registrar', 'test', E2E, '--config', cf)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertIn('it has 0 DS', p.stdout)
            # ds push before a DS was submitted: nothing to push, and nothing is wiped
            p = ctl('ds', 'push', E2E, '--config', cf)
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
            self.assertIn('nothing to push', p.stderr)

            child.start()
            # 1. the first CSK: DS submitted by the engine, pushed, served, seen
            wait(lambda: any(k['ds_seen'] for k in keys() if k['role'] != 'zsk'), 60,
                 'ds-seen of the first CSK')
            want = desired()
            self.assertEqual(len(want), 1)
            self.assertEqual(self.registrar_has('rest', E2E), want)
            self.assertEqual(self.served(E2E, 0), want)
            self.assertEqual(self.served(E2E, 1), want)
            st = json.loads(ok(ctl('--json', 'ds', 'status', E2E)))
            self.assertIsNotNone(st['desired'][0]['ds_seen'])
            self.assertEqual(st['registrar']['state'], 'reg-ok')
            self.assertEqual(st['parent']['state'], 'parent-seen')
            text = ok(ctl('zone', 'status', E2E))
            self.assertRegex(text, r'registrar:.*reg-ok')
            self.assertRegex(text, r'parent:.*parent-seen')
            # registrar test lists it; ds push finds it there and changes nothing
            p = ctl('registrar', 'test', E2E, '--config', cf)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertIn('it has 1 DS', p.stdout)
            self.assertIn(want[0].split()[0], p.stdout)
            js = json.loads(ok(ctl('--json', 'registrar', 'test', E2E, '--config', cf)))
            self.assertTrue(js['ok'])
            self.assertEqual(len(js['records']), 1)
            writes = len(self.reg.writes('rest'))
            p = ctl('ds', 'push', E2E, '--config', cf)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertIn('nothing changed', p.stdout)
            self.assertEqual(len(self.reg.writes('rest')), writes)

            # 2. a CSK rollover through the registrar: new DS added, old one removed
            old = [k for k in keys() if k['role'] == 'csk']
            self.assertEqual(len(old), 1)
            ok(ctl('zone', 'roll', E2E, '--csk'))
            new = [k for k in keys() if k['role'] == 'csk' and k['id'] != old[0]['id']]
            self.assertEqual(len(new), 1)
            new_tag = str(new[0]['tag'])
            saw_both = []

            def both():
                have = self.registrar_has('rest', E2E)
                if len(have) == 2:
                    saw_both.append(have)
                return len(have) == 2 or saw_both
            wait(both, 60, 'the new DS beside the old one at the registrar')

            def done():
                ks = {k['id']: k for k in keys()}
                d = desired()
                return (ks[new[0]['id']]['ds_seen'] and len(d) == 1 and d[0].split()[0] == new_tag
                        and self.registrar_has('rest', E2E) == d and self.served(E2E, 0) == d
                        and self.served(E2E, 1) == d)
            wait(done, 90, 'the rollover completed (old DS gone, new DS seen)')
            hist = ok(ctl('zone', 'history', E2E))
            self.assertIn('to add: DS ' + new_tag, hist)
            self.assertIn('to remove: DS ' + str(old[0]['tag']), hist)
            self.assertIn('parent-seen', hist)

            # 3. drift at the registrar (someone deleted the DS): ds push puts it back
            with self.reg.lock:
                self.reg.recs('rest', E2E)[:] = []
            p = ctl('ds', 'push', E2E, '--config', cf)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertIn('to add: DS ' + new_tag, p.stdout)
            self.assertIn('was changed', p.stdout)
            self.assertEqual(self.registrar_has('rest', E2E), desired())
            js = json.loads(ok(ctl('--json', 'ds', 'push', E2E, '--config', cf)))
            self.assertTrue(js['ok'])
            self.assertFalse(js['changed'])
            self.assertIn('reg-ok', [e['state'] for e in js['events']])
            self.assertIn('already has the DS set', ok(ctl('zone', 'history', E2E)))
            for sec in ALL_SECRET_VALUES:
                self.assertNotIn(sec, child.log())
            self.assertTrue(child.alive(), child.log()[-3000:])
        finally:
            child.stop()
            child.cleanup()

    def test_signetd_cds_unsign(self):
        """signetd with the cds provider, end to end, into and out of DNSSEC: the registry
        (this test) scans the child's CDS and puts the DS at both parent servers; the
        parent check records ds-seen. Then zone unsign: the child publishes the RFC 8078
        delete form (CDS 0 0 0 00, CDNSKEY 0 3 0 AA==) and keeps signing while any parent
        server still serves the DS (negative control: the registry waits 6 s first); once
        the registry removes the DS, the check records ds-gone and the child stops
        signing after the DS TTL. A monitor asks every 0.2 s: never an unsigned answer
        from the child while a parent serves its DS."""
        zone = 'cdsun.test'
        db = os.path.join(self.dir, 'cdsun.db')
        ctl = lambda *a: self.ctl_run(*a, db=db)

        def ok(p):
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            return p.stdout
        ok(ctl('policy', 'add', 'fast', *E2E_TIMING))
        ok(ctl('zone', 'add', zone, '--policy', 'fast'))
        corefile = ('{\n workers 1\n}\n%s:$port {\n bind 127.0.0.1\n dnssec {\n  keystore %s\n'
                    '  policy fast\n  registrar cds {\n   check-interval 1s\n   query-timeout 1s\n'
                    '   parent-ns 127.0.0.1:%d 127.0.0.1:%d\n  }\n }\n'
                    ' file $dir/cdsun.zone %s\n errors\n}\n'
                    % (zone, db, self.parents[0].port, self.parents[1].port, zone))
        child = signet_test.Signetd(corefile, ready_name=zone)
        with open(child.path('cdsun.zone'), 'w') as f:
            f.write(E2E_ZONE.replace('e2e.test.', zone + '.'))

        def rrs(server, name, rtype):
            r = server.dig(name, rtype, '+dnssec')
            return r

        def served_ds(i):
            return self.served(zone, i)

        def child_signed():
            r = rrs(child, 'www.' + zone, 'A')
            return any(x.type == 'RRSIG' for x in r.answer)

        def child_cds():
            r = rrs(child, zone, 'CDS')
            return sorted(' '.join(x.rdata.split()).upper() for x in r.answer if x.type == 'CDS')

        def child_cdnskey():
            r = rrs(child, zone, 'CDNSKEY')
            return sorted(' '.join(x.rdata.split()) for x in r.answer if x.type == 'CDNSKEY')

        def history():
            return ok(ctl('zone', 'history', zone))

        def wait(cond, secs, what):
            deadline = time.time() + secs
            while time.time() < deadline:
                if cond():
                    return
                time.sleep(0.2)
            self.fail('timed out waiting for %s\n%s\n%s' % (what, history(), child.log()[-3000:]))

        bad, samples, stop = [], [], threading.Event()

        def monitor():
            while not stop.is_set():
                try:
                    ds = served_ds(0) or served_ds(1)
                    signed = child_signed()
                    samples.append((ds, signed))
                    if ds and not signed:
                        bad.append('%.1f: a parent serves %s but the child answers unsigned'
                                   % (time.time(), ds))
                except Exception as e:  # a query that fails is reported, not hidden
                    bad.append('monitor: %r' % e)
                stop.wait(0.2)

        mon = threading.Thread(target=monitor, daemon=True)
        try:
            child.start()
            mon.start()
            # 1. the registry scans the child's CDS and publishes the DS
            wait(lambda: child_cds(), 30, 'the child to publish CDS')
            cds = child_cds()
            with self.reg.lock:
                self.reg.recs('cds-scan', zone)[:] = [
                    {'tag': int(c.split()[0]), 'alg': int(c.split()[1]), 'dt': int(c.split()[2]),
                     'digest': c.split()[3]} for c in cds]
            self.on_change()
            wait(lambda: 'parent-seen' in history(), 60, 'ds-seen through the parent check')
            self.assertIn("waiting for the registry's CDS scan", history())
            self.assertEqual(served_ds(0), cds)

            # 2. unsign: the delete form appears, signing goes on while the DS is served
            ok(ctl('zone', 'unsign', zone))
            wait(lambda: child_cds() == ['0 0 0 00'], 30, 'CDS 0 0 0 00')
            self.assertEqual(child_cdnskey(), ['0 3 0 AA=='])
            time.sleep(6)   # the registry is slow: the child must keep signing meanwhile
            self.assertTrue(child_signed(), 'stopped signing while the parent serves the DS')
            self.assertEqual(served_ds(0), cds)
            self.assertNotIn('parent-gone', history())
            self.assertRegex(ok(ctl('zone', 'status', zone)), r'remove the DS|parent')

            # 3. the registry reads the delete form and removes the DS
            with self.reg.lock:
                self.reg.recs('cds-scan', zone)[:] = []
            self.on_change()
            wait(lambda: 'parent-gone' in history(), 60, 'ds-gone through the parent check')
            # the parent serves the DS with TTL 60: the engine waits that long after ds-gone
            wait(lambda: not child_signed(), 150, 'the child to stop signing')
            r = rrs(child, zone, 'DNSKEY')
            self.assertFalse([x for x in r.answer if x.type in ('DNSKEY', 'RRSIG')])
            self.assertEqual(served_ds(0), [])
            self.assertEqual(served_ds(1), [])
            # the monitor samples every 0.2 s: let it see the unsigned phase before it stops
            # (it missed it once when signing stopped just after its last sample)
            wait(lambda: any(not d and not s for d, s in samples), 10,
                 'the monitor to sample the unsigned child')
            stop.set()
            mon.join(5)
            self.assertFalse(bad, '\n'.join(bad[:10]))
            # the monitor saw all three phases: signed with DS, signed without, unsigned
            self.assertTrue(any(d and s for d, s in samples))
            self.assertTrue(any(not d and not s for d, s in samples))
            self.assertTrue(child.alive(), child.log()[-3000:])
        finally:
            stop.set()
            child.stop()
            child.cleanup()

    # -- failures -----------------------------------------------------------------------

    def test_unknown_ca_refused(self):
        cf = self.corefile('bad.test', 'porkbun', '   credentials %s\n   endpoint https://127.0.0.1:%d/porkbun/api/json/v3\n'
                           '   ca-file %s\n' % (os.path.join(self.dir, 'porkbun.cred'), self.reg.port,
                                                self.other_ca))
        calls = len(self.reg.calls)
        p = self.drive('bad.test', cf, until='synced', secs=4)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertEqual(len(self.reg.calls), calls, 'a request got through an unverified TLS session')
        _, hist = self.events('bad.test')
        self.assertRegex(hist, r'reg-retry.*(certificate|SSL)')
        # every attempt is in the journal; the log says the failure once, not per retry
        self.assertGreaterEqual(hist.count('->reg-retry'), 2, hist)
        said = [l for l in p.stderr.splitlines() if 'registrar' in l and 'retrying' in l]
        self.assertEqual(len(said), 1, p.stderr)
        # signetctl registrar test says so, and exits 1
        p = self.ctl_run('registrar', 'test', 'bad.test', '--config', cf)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertRegex(p.stderr, r'(certificate|SSL)')
        self.assertIn('transient', p.stderr)
        self.assertEqual(len(self.reg.calls), calls, 'a request got through an unverified TLS session')

    def test_wrong_credentials(self):
        path = os.path.join(self.dir, 'wrong.cred')
        with open(path, 'w') as f:
            f.write('token = not-the-token-1234\naccount = 1010\n')
        os.chmod(path, 0o600)
        cf = self.corefile('bad.test', 'dnsimple', '   credentials %s\n   endpoint https://127.0.0.1:%d/dnsimple/v2\n'
                           '   ca-file %s\n' % (path, self.reg.port, self.ca))
        p = self.drive('bad.test', cf, until='synced', secs=4)
        self.assertEqual(p.returncode, 1)
        _, hist = self.events('bad.test')
        self.assertIn('reg-error', hist)
        self.assertIn('HTTP 401', hist)
        self.assertNotIn('not-the-token-1234', hist + p.stderr)
        # zone status shows the registrar's error; registrar test reports the 401
        st = self.ctl('zone', 'status', 'bad.test')
        self.assertRegex(st, r'registrar:.*reg-error.*HTTP 401', st)
        js = json.loads(self.ctl('--json', 'zone', 'status', 'bad.test'))
        self.assertEqual(js['registrar']['state'], 'reg-error')
        p = self.ctl_run('registrar', 'test', 'bad.test', '--config', cf)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn('HTTP 401', p.stderr)
        self.assertIn('Authentication failed', p.stderr)
        self.assertIn('refused by the registrar', p.stderr)
        self.assertNotIn('not-the-token-1234', p.stdout + p.stderr)
        p = self.ctl_run('ds', 'push', 'bad.test', '--config', cf)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn('HTTP 401', p.stdout + p.stderr)
        self.assertNotIn('not-the-token-1234', p.stdout + p.stderr)

    def test_credentials_readable_by_others(self):
        path = os.path.join(self.dir, 'open.cred')
        with open(path, 'w') as f:
            f.write('apikey = pk1_open_secret\nsecretapikey = sk1_open_secret\n')
        os.chmod(path, 0o644)
        cf = self.corefile('bad.test', 'porkbun', '   credentials %s\n' % path)
        p = self.drive('bad.test', cf, secs=2)
        self.assertEqual(p.returncode, 3)
        self.assertIn('group or others', p.stderr)
        self.assertNotIn('open_secret', p.stderr)

    def test_parent_lagging_alert(self):
        """A parent server that never serves the new DS: ds-seen is not recorded, and a
        parent-alert event comes after alert-timeout."""
        zone = 'lag.test'
        dead = signet_test.free_port()   # nothing answers there
        path = os.path.join(self.dir, zone + '.Corefile')
        with open(path, 'w') as f:
            f.write('%s {\n dnssec {\n  keystore %s\n  registrar rest {\n%s'
                    '   check-interval 1s\n   backoff 1s 4s\n   query-timeout 1s\n'
                    '   alert-timeout 3s\n   parent-ns 127.0.0.1:%d 127.0.0.1:%d\n  }\n }\n}\n'
                    % (zone, self.db, self.rest_body(os.path.join(self.dir, 'rest.cred')),
                       self.parents[0].port, dead))
        p = self.drive(zone, path, secs=10)
        self.assertEqual(p.returncode, 1)
        st, hist = self.events(zone)
        self.assertIsNone(st['desired'][0]['ds_seen'])
        self.assertIn('parent-alert', hist)
        self.assertIn('ALERT', p.stderr)
        self.assertRegex(hist, r'parent-wait.*1 of 2 parent servers')

    def test_manual(self):
        cf = self.corefile('manual.test', 'manual', '')
        p = self.drive('manual.test', cf, until='synced', secs=5)
        self.assertIn('signetctl ds seen manual.test.', p.stderr)
        st, hist = self.events('manual.test')
        self.assertIn('reg-manual', [e['state'] for e in st['events']])
        self.assertIsNone(st['desired'][0]['ds_seen'])
        self.ctl('ds', 'seen', 'manual.test')


KNOT_CONF = secondaries.KNOT_SERVER_CONF + """key:
  - id: ds-push.
    algorithm: hmac-sha256
    secret: %(secret)s
acl:
  - id: ds-push
    key: ds-push.
    action: update
zone:
  - domain: test2.
    storage: "%(dir)s"
    file: test2.zone
    acl: ds-push
    zonefile-sync: -1
    journal-content: changes
"""
KNOT_ZONE = """$ORIGIN test2.
$TTL 60
@       IN SOA ns1 hostmaster 1 60 60 600 30
        IN NS  ns1
ns1     IN A   127.0.0.1
child   IN NS  ns1.child
ns1.child IN A 127.0.0.40
"""


class UpdateTest(unittest.TestCase):
    """The update provider: RFC 2136 UPDATE of the DS RRset, TSIG hmac-sha256, at a real
    Knot DNS that accepts only signed updates; a wrong key is refused."""

    SECRET = base64.b64encode(b'signet-ds-push-test-key-32bytes!').decode()

    @classmethod
    def setUpClass(cls):
        if not shutil.which('knotd'):
            raise unittest.SkipTest('knotd is not installed')
        cls.dir = tempfile.mkdtemp(prefix='signet-reg-knot-')
        cls.port = signet_test.free_port()
        with open(os.path.join(cls.dir, 'knot.conf'), 'w') as f:
            f.write(KNOT_CONF % {'dir': cls.dir, 'port': cls.port, 'secret': cls.SECRET})
        with open(os.path.join(cls.dir, 'test2.zone'), 'w') as f:
            f.write(KNOT_ZONE)
        cls.knot, cls.log = secondaries.start_knotd(os.path.join(cls.dir, 'knot.conf'), cls.port,
                                                    'test2', os.path.join(cls.dir, 'knotd.log'))
        cls.db = os.path.join(cls.dir, 'keystore.db')
        RegistrarTest.ctl.__func__(cls, 'zone', 'add', 'child.test2')
        RegistrarTest.new_ksk.__func__(cls, 'child.test2')

    @classmethod
    def tearDownClass(cls):
        signet_test.terminate(cls.knot, 10)
        cls.log.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def ctl(cls, *args, check=True):
        return RegistrarTest.ctl.__func__(cls, *args, check=check)

    def cred(self, secret):
        path = os.path.join(self.dir, 'tsig.cred')
        with open(path, 'w') as f:
            f.write('tsig-name = ds-push.\ntsig-algorithm = hmac-sha256\ntsig-secret = %s\n' % secret)
        os.chmod(path, 0o600)
        cf = os.path.join(self.dir, 'Corefile')
        with open(cf, 'w') as f:
            f.write('child.test2 {\n dnssec {\n  keystore %s\n  registrar update {\n'
                    '   credentials %s\n   primary 127.0.0.1:%d\n   parent test2\n'
                    '   parent-ns 127.0.0.1:%d\n   check-interval 1s\n   backoff 1s 2s\n'
                    '   alert-timeout 2s\n'
                    '  }\n }\n}\n' % (self.db, path, self.port, self.port))
        return cf

    def drive(self, cf, until, secs):
        p = subprocess.run([REG_DRIVER, self.db, 'child.test2', cf, until, str(secs)],
                           capture_output=True, text=True, timeout=secs + 30)
        self.assertNotIn(self.SECRET, p.stdout + p.stderr)
        return p

    def served(self):
        p = subprocess.run(['dig', '@127.0.0.1', '-p', str(self.port), '+norec', '+short', '+nosplit',
                            'child.test2', 'DS'], capture_output=True, text=True)
        return sorted(' '.join(l.split()).upper() for l in p.stdout.splitlines() if l.strip())

    def served_ttls(self):
        p = subprocess.run(['dig', '@127.0.0.1', '-p', str(self.port), '+norec', '+noall',
                            '+answer', 'child.test2', 'DS'], capture_output=True, text=True)
        return sorted({int(l.split()[1]) for l in p.stdout.splitlines() if l.strip()})

    def test_1_wrong_key_refused(self):
        """A refused UPDATE is retried, each push is in the history before its call, and
        a push that never succeeds raises parent-alert after alert-timeout (issue 13: 13
        reg-error events and no alert)."""
        wrong = base64.b64encode(b'not-the-right-key-but-32-bytes!!').decode()
        p = self.drive(self.cred(wrong), 'synced', 7)
        self.assertEqual(p.returncode, 1)
        hist = self.ctl('zone', 'history', 'child.test2')
        self.assertRegex(hist, r'reg-error.*(NOTAUTH|REFUSED|TSIG)')
        self.assertRegex(hist, r'reg-push.*pushing 1 DS \(TTL 86400s\)')
        self.assertRegex(hist, r'parent-alert.*registrar has not taken the DS set for [2-9]s')
        self.assertEqual(self.served(), [])

    def test_2_signed_update(self):
        p = self.drive(self.cred(self.SECRET), 'seen', 30)
        hist = self.ctl('zone', 'history', 'child.test2')
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr + hist)
        d = json.loads(self.ctl('--json', 'ds', 'status', 'child.test2'))
        want = sorted(' '.join(r['record'].split()[4:]).upper() for r in d['desired'])
        self.assertEqual(self.served(), want)
        self.assertIn('UPDATE add DS', hist)
        self.assertNotIn(self.SECRET, hist)
        # the DS goes in with the policy's parent-ds-ttl (the default policy's 1h here;
        # it was a fixed 3600 whatever the policy said), and ds status says so
        pol = json.loads(self.ctl('--json', 'policy', 'show', 'default'))
        ttl = pol['parent_ds_ttl']
        self.assertEqual(self.served_ttls(), [ttl])
        self.assertIn('TTL %d at' % ttl, hist)
        self.assertEqual(d['ttl']['pushed'], ttl)

    def test_3_policy_ttl_pushed(self):
        """A policy with parent-ds-ttl 7s: the next push writes TTL 7 at Knot, the parent
        check records it as the TTL the parent serves, and waits rest on it."""
        self.ctl('policy', 'set', 'default', '--parent-ds-ttl', '7s')
        # a changed TTL is a changed set only at the registrar: start from an empty parent
        cf = self.cred(self.SECRET)
        subprocess.run(['knsupdate'], input='server 127.0.0.1 %d\nkey hmac-sha256:ds-push. %s\n'
                       'zone test2.\nupdate delete child.test2. DS\nsend\n' % (self.port, self.SECRET),
                       capture_output=True, text=True, timeout=20, check=True)
        self.assertEqual(self.served(), [])
        # the key's DS was seen before, so only the check after a changing push looks at
        # the parent again: ticks for 4s ('gone' never comes for a signed zone)
        self.drive(cf, 'gone', 4)
        hist = self.ctl('zone', 'history', 'child.test2')
        self.assertEqual(self.served_ttls(), [7])
        self.assertRegex(hist, r'parent-query .*serves 1 DS: .*, TTL 7 \(as expected\)')
        # test_2 had the parent serve the set with the default policy's 86400s: a cache may
        # hold that for a day, so the waits rest on it until then, not on the new 7s
        d = json.loads(self.ctl('--json', 'ds', 'status', 'child.test2'))
        self.assertEqual(d['ttl'], {'pushed': 7, 'served': 86400,
                                    'source': '127.0.0.1:%d' % self.port, 'used': 86400})
        st_ = json.loads(self.ctl('--json', 'zone', 'status', 'child.test2'))
        ds_wait = [w for w in st_['waits'] if w['wait'] == 'ds-wait'][0]
        self.assertEqual((ds_wait['rests_on'], ds_wait['observed'], ds_wait['policy']),
                         ('observed', 86400, 7))
        # a day later only the 7s the parent serves now counts
        later = subprocess.run([SIGNETCTL, '--db', self.db, '--json', 'ds', 'status', 'child.test2'],
                               capture_output=True, text=True, check=True,
                               env=dict(os.environ, SIGNET_NOW=str(int(time.time()) + 86401)))
        self.assertEqual(json.loads(later.stdout)['ttl']['used'], 7, later.stdout)


if __name__ == '__main__':
    for exe in (SIGNETCTL, REG_DRIVER):
        if not os.path.exists(exe):
            print('missing ' + exe, file=sys.stderr)
            sys.exit(1)
    unittest.main(verbosity=2)
