#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""integ.dashboard: the Grafana dashboard (dist/grafana/signet.json) and the alert rules
(dist/prometheus/signet.rules.yml) cannot drift from what signetd exports. Every metric
name in their expressions must be a sample name of a running signetd's /metrics, with
every source there (prometheus, cache, rrl, dnssec with a registrar, transfer, zones, the
process); the dashboard's own shape is checked too (ids, data source, grid)."""

import json
import os
import re
import time
import urllib.request

import signet_test
from signet_test import ServerCase, make_query

DIST = os.path.join(signet_test.REPO, 'dist')
DASHBOARD = os.path.join(DIST, 'grafana', 'signet.json')
RULES = os.path.join(DIST, 'prometheus', 'signet.rules.yml')
# ours: a name that is neither signet_* nor process_* is Prometheus's own (up, time())
OURS = re.compile(r'\b((?:signet|process)_[a-zA-Z0-9_:]*)')


def dashboard_exprs(dash):
    """Every PromQL expression of the dashboard: panel targets (also inside rows) and
    query variables."""
    out = []

    def walk(panels):
        for p in panels:
            for t in p.get('targets', []):
                out.append(('panel %r' % p.get('title'), t['expr']))
            walk(p.get('panels', []))
    walk(dash['panels'])
    for v in dash.get('templating', {}).get('list', []):
        q = v.get('query')
        if isinstance(q, dict):
            q = q.get('query')
        if v.get('type') == 'query' and q:
            out.append(('variable %s' % v['name'], q))
    return out


def rule_exprs(text):
    """The `expr:` of each rule (one line, or a `|` block), without a YAML parser."""
    out, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        m = re.match(r'^(\s*)expr:\s*(.*)$', lines[i])
        i += 1
        if not m:
            continue
        if m.group(2).strip() != '|':
            out.append(m.group(2))
            continue
        block = []
        while i < len(lines) and (not lines[i].strip() or
                                  len(lines[i]) - len(lines[i].lstrip()) > len(m.group(1))):
            block.append(lines[i].strip())
            i += 1
        out.append(' '.join(block))
    return out


class Dashboard(ServerCase):
    COREFILE = '''
example.test:$port {
    bind 127.0.0.1
    file $dir/example.test.zone
    prometheus 127.0.0.1:$port2
    cache 4M
    rrl {
        responses-per-second 1000
    }
    dnssec {
        keystore $dir/keystore.db
        policy ops
        registrar manual {
            check-interval 1s
            query-timeout 1s
            parent-ns 127.0.0.1:$port
        }
    }
    transfer {
        to 127.0.0.1
    }
}
'''
    FILES = ('example.test.zone', 'example.test.inc')

    @classmethod
    def prepare(cls, srv):
        # a key with a lifetime, so that there is a next key event to show
        signet_test.ctl(srv.path('keystore.db'), 'policy', 'add', 'ops', '--csk', '--ksk-lifetime', '30d')

    def scrape_names(self, want, timeout=30):
        """The sample names of /metrics once every name in want is there (or the timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            with urllib.request.urlopen('http://127.0.0.1:%d/metrics' % self.srv.port2, timeout=10) as r:
                text = r.read().decode()
            names = {l.split('{')[0].split(' ')[0] for l in text.splitlines()
                     if l and not l.startswith('#')}
            if want <= names or time.monotonic() > deadline:
                return names, text
            time.sleep(0.5)

    def traffic(self):
        for name, qtype, tcp in (('web.example.test', 'A', False), ('web.example.test', 'A', True),
                                 ('nothere.example.test', 'A', False), ('www.nowhere.org', 'A', False)):
            for _ in range(3):
                qid, q = make_query(name, qtype, edns=True, do=True)
                self.assertIsNotNone(self.srv.tcp(q) if tcp else self.srv.udp(q, qid))

    def test_dashboard_shape(self):
        with open(DASHBOARD) as f:
            dash = json.load(f)
        self.assertEqual(dash['uid'], 'signet-overview')
        ids = []

        def walk(panels):
            for p in panels:
                ids.append(p['id'])
                g = p['gridPos']
                self.assertLessEqual(g['x'] + g['w'], 24, p['title'])
                if p['type'] != 'row':
                    self.assertEqual(p['datasource']['uid'], '${datasource}', p['title'])
                    self.assertTrue(p['targets'], p['title'])
                    refs = [t['refId'] for t in p['targets']]
                    self.assertEqual(len(refs), len(set(refs)), p['title'])
                walk(p.get('panels', []))
        walk(dash['panels'])
        self.assertEqual(len(ids), len(set(ids)), 'panel ids repeat')
        titles = ' '.join(p['title'] for p in dash['panels']).lower()
        for topic in ('queries', 'rcode', 'latency', 'cache hit', 'signature cache', 'signatures per second',
                      'rrl', 'keys', 'next key event', 'parent ds'):
            self.assertIn(topic, titles)

    def test_every_metric_exists(self):
        with open(DASHBOARD) as f:
            exprs = dashboard_exprs(json.load(f))
        with open(RULES) as f:
            exprs += [('rule', e) for e in rule_exprs(f.read())]
        self.assertGreater(len(exprs), 30)
        used = {}
        for where, e in exprs:
            for n in OURS.findall(e):
                used.setdefault(n, where)
        self.assertIn('signet_dnssec_rrsig_expiry_earliest_timestamp_seconds', used)
        db = self.srv.path('keystore.db')
        # a DS waiting for the parent, so that its gauge is there
        for k in signet_test.ctl(db, 'key', 'list', 'example.test', as_json=True):
            if k['role'] in ('ksk', 'csk'):
                signet_test.ctl(db, 'key', 'set', str(k['id']), '--ds-submitted', 'now')
        self.traffic()
        names, text = self.scrape_names(set(used))
        missing = sorted('%s (%s)' % (n, w) for n, w in used.items() if n not in names)
        self.assertEqual(missing, [], 'used by the dashboard or rules, not in /metrics:\n' + text)
        # every source at once still makes a valid exposition
        from test_metrics import promtool_check
        promtool_check(self, text)


if __name__ == '__main__':
    signet_test.main()
