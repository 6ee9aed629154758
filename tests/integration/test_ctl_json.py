#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""integ.ctl_json: signetctl's machine interface (issue 21). Every command run with --json
prints exactly one JSON value on stdout; a failure prints one JSON object on stderr with
a stable `error` code and the exit status; unset values are null, never ""; a zone is
`zone` and a policy `policy` in every shape. Exit codes: 0, 1 (permanent), 2 (usage), 75
(temporary: the keystore busy, signetd unreachable). And signetd's `log-format json`:
one object per line with stable keys."""

import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
import unittest

import signet_test
from signet_test import ServerCase

ERROR_CODES = {'usage', 'not_found', 'exists', 'invalid', 'in_use', 'busy', 'timeout',
               'unreachable', 'denied', 'io', 'corrupt', 'credentials', 'rejected', 'failed'}


def run(db, *args, socket=None, busy=None):
    cmd = [signet_test.signetctl_path(), '--db', db, '--json']
    if socket:
        cmd += ['--socket', socket]
    if busy is not None:
        cmd += ['--busy-timeout', str(busy)]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=120)


def no_empty_strings(test, value, where):
    """Unset is null: no "" anywhere, and no `name` standing for a zone or a policy."""
    if isinstance(value, dict):
        test.assertNotIn('name', value, '%s: "name" (use "zone" or "policy")' % where)
        for k, v in value.items():
            no_empty_strings(test, v, '%s.%s' % (where, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            no_empty_strings(test, v, '%s[%d]' % (where, i))
    else:
        test.assertNotEqual(value, '', '%s is "" (unset must be null)' % where)


class CtlJson(ServerCase):
    COREFILE = '''
{
    control $dir/signetd.sock
    log-format json
}
example.test:$port {
    bind 127.0.0.1
    file $dir/example.test.zone
    dnssec {
        keystore $dir/keystore.db
    }
}
'''

    def check(self, p, args, want_rc=0):
        """p (a --json run) keeps the contract; returns its stdout value."""
        what = 'signetctl --json %s -> %d\nstdout: %s\nstderr: %s' % (' '.join(args), p.returncode,
                                                                    p.stdout, p.stderr)
        self.assertEqual(p.returncode, want_rc, what)
        out = p.stdout.strip()
        value = None
        if p.returncode == 0 or out:
            value = json.loads(out)  # one value: a second one would fail to parse
            no_empty_strings(self, value, ' '.join(args))
        err = p.stderr.strip()
        if p.returncode == 0:
            if err:
                self.assertEqual(list(json.loads(err)), ['warning'], what)
        else:
            e = json.loads(err)
            self.assertEqual(set(e) - {'output'}, {'error', 'message', 'exit'}, what)
            self.assertIn(e['error'], ERROR_CODES, what)
            self.assertEqual(e['exit'], p.returncode, what)
            self.assertTrue(e['message'], what)
            self.assertNotIn('signetctl: ', e['message'], what)
        return value

    def test_every_command(self):
        db = self.srv.path('keystore.db')
        sock = self.srv.path('signetd.sock')
        signet_test.ctl(db, 'zone', 'list')  # signetd made the zone and its key
        keys = signet_test.ctl(db, 'key', 'list', 'example.test', as_json=True)
        kid = str(keys[0]['id'])
        out = self.srv.path('backup.sgb')
        cases = [
            # listings and status
            (['policy', 'list'], 0), (['policy', 'show', 'default'], 0),
            (['zone', 'list'], 0), (['zone', 'show', 'example.test'], 0),
            (['zone', 'history', 'example.test'], 0), (['zone', 'status', 'example.test'], 0),
            (['zone', 'plan', 'example.test'], 0),
            (['key', 'list'], 0), (['key', 'list', 'example.test'], 0), (['key', 'show', kid], 0),
            (['key', 'export', kid], 0), (['ds', 'example.test'], 0), (['dnskey', 'example.test'], 0),
            (['ds', 'status', 'example.test'], 0),
            (['status'], 0), (['stats'], 0), (['zone', 'diff', 'example.test'], 0),
            # actions
            (['policy', 'add', 'other', '--csk'], 0), (['policy', 'set', 'other', '--dnskey-ttl', '2h'], 0),
            (['zone', 'add', 'b.test', '--policy', 'other'], 0),
            (['key', 'generate', 'b.test', '--role', 'csk'], 0),
            (['key', 'set', kid, '--ds-submitted', 'now'], 0),
            (['ds', 'seen', 'example.test'], 0),
            (['zone', 'roll', 'example.test', '--csk'], 0),
            (['zone', 'remove', 'b.test', '--force'], 0),
            (['reload'], 0), (['reload', 'example.test'], 0),
            (['backup', out], 0),
            # failures: permanent (1) and usage (2)
            (['zone', 'show', 'nothere.test'], 1), (['key', 'show', '999999'], 1),
            (['policy', 'add', 'other'], 1), (['reload', 'nothere.test'], 1),
            (['zone', 'frobnicate'], 2), (['key', 'set'], 2), (['nonsense'], 2),
        ]
        for args, rc in cases:
            with self.subTest(args=args):
                p = run(db, *args, socket=sock)
                v = self.check(p, args, rc)
                if rc:
                    pass
                elif args[:2] in (['zone', 'list'], ['zone', 'show']):
                    for z in v if isinstance(v, list) else [v]:
                        self.assertIn('zone', z)
                if args[:2] == ['policy', 'list']:
                    self.assertEqual({p['policy'] for p in v} >= {'default'}, True)
                if args == ['zone', 'show', 'nothere.test']:
                    self.assertEqual(json.loads(p.stderr)['error'], 'not_found')
                if rc == 2:
                    self.assertEqual(json.loads(p.stderr)['error'], 'usage')

    def test_plan_svg(self):
        """zone plan --svg draws the same events the JSON plan lists, one lane per key."""
        import xml.etree.ElementTree as ET
        db = self.srv.path('keystore.db')
        signet_test.ctl(db, 'policy', 'add', 'drawn', '--ksk-zsk', '--zsk-lifetime', '30d',
                        '--ksk-lifetime', '90d')
        signet_test.ctl(db, 'zone', 'add', 'drawn.test', '--policy', 'drawn')
        svg = self.srv.path('plan.svg')
        p = run(db, 'zone', 'plan', 'drawn.test', '--until', 'now+200d', '--svg', svg)
        plan = self.check(p, ['zone', 'plan', '--svg'], 0)
        timed = [e for e in plan if e['when'] is not None]
        self.assertGreater(len(timed), 5)
        root = ET.parse(svg).getroot()
        ns = '{http://www.w3.org/2000/svg}'
        self.assertEqual(root.tag, ns + 'svg')
        events = root.findall('.//%sg[@class="event"]' % ns)
        self.assertEqual(len(events), len(timed))
        lanes = root.findall('.//%sg[@class="lane"]' % ns)
        self.assertGreaterEqual(len(lanes), 2)  # a KSK and a ZSK at least
        self.assertEqual(sorted(e.find(ns + 'text').text for e in events),
                         sorted(e['action'] for e in timed))
        # a file that cannot be written is an error, and says which
        p = run(db, 'zone', 'plan', 'drawn.test', '--svg', self.srv.path('no/such/dir/plan.svg'))
        self.check(p, ['zone', 'plan', '--svg'], 1)
        self.assertIn('no/such/dir/plan.svg', json.loads(p.stderr)['message'])

    def test_temporary_failures_exit_75(self):
        db = self.srv.path('keystore.db')
        # signetd not there (another socket): try again later
        p = run(db, 'status', socket=self.srv.path('nobody.sock'))
        self.check(p, ['status'], 75)
        self.assertEqual(json.loads(p.stderr)['error'], 'unreachable')
        # the keystore held by another writer for longer than --busy-timeout
        hold = sqlite3.connect(db, timeout=30, isolation_level=None)
        try:
            hold.execute('BEGIN EXCLUSIVE')
            p = run(db, 'zone', 'add', 'c.test', busy=200)
            self.check(p, ['zone', 'add', 'c.test'], 75)
            self.assertEqual(json.loads(p.stderr)['error'], 'busy')
        finally:
            hold.execute('ROLLBACK')
            hold.close()
        # and once the writer is gone the same command succeeds
        self.check(run(db, 'zone', 'add', 'c.test', busy=5000), ['zone', 'add', 'c.test'], 0)

    def test_text_without_json(self):
        """Without --json the output stays prose and the exit codes are the same."""
        db = self.srv.path('keystore.db')
        p = subprocess.run([signet_test.signetctl_path(), '--db', db, 'zone', 'show', 'nothere.test'],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1)
        self.assertTrue(p.stderr.startswith('signetctl: '), p.stderr)
        p = subprocess.run([signet_test.signetctl_path(), '--socket', self.srv.path('nobody.sock'), 'status'],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 75, p.stderr)

    def test_json_log_lines(self):
        # a zone with a quote in a message (a bad record) logs through the JSON escaping
        since = self.srv.log_size()
        p = run(self.srv.path('keystore.db'), 'reload', 'example.test', socket=self.srv.path('signetd.sock'))
        self.assertEqual(p.returncode, 0, p.stderr)
        time.sleep(0.2)
        lines = [l for l in self.srv.log().splitlines() if l.strip()]
        self.assertGreater(len(lines), 3)
        seen_zone = False
        for l in lines:
            o = json.loads(l)
            self.assertEqual(list(o), ['time', 'level', 'component', 'zone', 'message'], l)
            self.assertIn(o['level'], ('error', 'warning', 'info', 'debug'))
            self.assertRegex(o['time'], r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$')
            self.assertTrue(o['zone'] is None or o['zone'].endswith('.'), l)
            seen_zone |= o['zone'] == 'example.test.'
        self.assertTrue(seen_zone, 'no line about the zone')
        self.assertTrue(any('started' in json.loads(l)['message'] for l in lines))


if __name__ == '__main__':
    signet_test.main()
