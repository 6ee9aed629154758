#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""integ.install: `cmake --install` into a temporary prefix puts signetd (sbin), signetctl
(bin), the man pages (signetd.8, signetctl.8, signet.conf.5), the systemd unit
(lib/systemd/system) and the example configuration (share/doc/signet/examples) in their
places; the pages render without a groff warning and with man -l; the unit names the
installed signetd and passes systemd-analyze verify (when there is one); the installed
example configuration passes signetd -t once its paths point at the example zone."""

import os
import pwd
import re
import shutil
import subprocess
import tempfile
import unittest

import signet_test

BUILD = os.environ.get('SIGNET_BUILD') or os.path.dirname(os.path.dirname(signet_test.signetd_path()))
PAGES = ('share/man/man8/signetd.8', 'share/man/man8/signetctl.8', 'share/man/man5/signet.conf.5')


class Install(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.prefix = tempfile.mkdtemp(prefix='signet-install-')
        p = subprocess.run(['cmake', '--install', BUILD, '--prefix', cls.prefix],
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stdout + p.stderr

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.prefix, ignore_errors=True)

    def path(self, rel):
        return os.path.join(self.prefix, rel)

    def test_files(self):
        for rel in ('sbin/signetd', 'bin/signetctl') + PAGES + (
                'lib/systemd/system/signetd.service', 'share/doc/signet/examples/Corefile',
                'share/doc/signet/examples/example.com.zone', 'share/doc/signet/README.md',
                'share/doc/signet/LICENSE', 'lib/sysusers.d/signet.conf', 'lib/tmpfiles.d/signet.conf'):
            self.assertTrue(os.path.isfile(self.path(rel)), rel)
        for exe in ('sbin/signetd', 'bin/signetctl'):
            self.assertTrue(os.access(self.path(exe), os.X_OK), exe)
        p = subprocess.run([self.path('sbin/signetd'), '-V'], capture_output=True, text=True)
        self.assertRegex(p.stdout, r'^signetd \d+\.\d+\.\d+')

    def test_doc_links(self):
        # every relative link of every installed document names an installed file (issue 21:
        # docs/migrating.md and registrar/README.md were linked but not installed)
        docdir = self.path('share/doc/signet')
        link = re.compile(r'\]\(([^)#\s]+)(?:#[^)]*)?\)')
        broken, seen = [], 0
        for top, _, files in os.walk(docdir):
            for name in files:
                if not name.endswith('.md'):
                    continue
                doc = os.path.join(top, name)
                with open(doc) as f:
                    for m in link.finditer(f.read()):
                        target = m.group(1)
                        if re.match(r'[a-z]+:', target):
                            continue  # https:, mailto:
                        seen += 1
                        if not os.path.exists(os.path.join(os.path.dirname(doc), target)):
                            broken.append('%s -> %s' % (os.path.relpath(doc, docdir), target))
        self.assertGreater(seen, 20)
        self.assertEqual(broken, [])
        for rel in ('docs/migrating.md', 'registrar/README.md', 'docs/config.md', 'docs/plugins/file.md'):
            self.assertTrue(os.path.isfile(os.path.join(docdir, rel)), rel)

    def test_sysusers_tmpfiles(self):
        with open(self.path('lib/sysusers.d/signet.conf')) as f:
            users = [l.split() for l in f if l.strip() and not l.startswith('#')]
        self.assertIn(['u', 'signet', '-'], [u[:3] for u in users])
        with open(self.path('lib/tmpfiles.d/signet.conf')) as f:
            dirs = {l.split()[1]: l.split() for l in f if l.strip() and not l.startswith('#')}
        self.assertEqual(dirs['/var/lib/signet'][2:5], ['0750', 'signet', 'signet'])
        self.assertEqual(dirs['/run/signet'][2:5], ['0750', 'signet', 'signet'])
        self.assertEqual(dirs['/etc/signet'][2:5], ['0750', 'root', 'signet'])
        for tool, arg in (('systemd-sysusers', 'sysusers.d'), ('systemd-tmpfiles', 'tmpfiles.d')):
            if shutil.which(tool):
                # --dry-run is newer than Debian 12's systemd: parse with a root of our own
                root = tempfile.mkdtemp(prefix='signet-root-')
                try:
                    os.makedirs(os.path.join(root, 'etc'))
                    conf = self.path('lib/%s/signet.conf' % arg)
                    p = subprocess.run([tool, '--root', root, conf] if tool == 'systemd-sysusers'
                                       else [tool, '--root', root, '--create', conf],
                                       capture_output=True, text=True, timeout=60)
                    self.assertNotIn('[' + conf, p.stderr)  # a syntax error names file:line
                finally:
                    shutil.rmtree(root, ignore_errors=True)

    def test_man_pages(self):
        for rel in PAGES:
            with open(self.path(rel)) as f:
                text = f.read()
            self.assertNotIn('@VERSION@', text, rel)
            p = subprocess.run(['groff', '-man', '-ww', '-z', self.path(rel)], capture_output=True,
                               text=True)
            self.assertEqual((p.returncode, p.stderr), (0, ''), rel)
            if shutil.which('man'):
                p = subprocess.run(['man', '-l', self.path(rel)], capture_output=True, text=True,
                                   env=dict(os.environ, MANWIDTH='80', MAN_KEEP_FORMATTING='0'))
                self.assertEqual((p.returncode, p.stderr), (0, ''), rel)
                shown = re.sub('.\x08', '', p.stdout)  # overstrike bold and underline
                self.assertIn('NAME', shown)
                self.assertIn('SEE ALSO', shown)

    def test_unit(self):
        unit = self.path('lib/systemd/system/signetd.service')
        with open(unit) as f:
            text = f.read()
        self.assertIn('ExecStart=%s -c /etc/signet/Corefile' % self.path('sbin/signetd'), text)
        # User= set: signetd starts as signet and never changes user
        self.assertIn('User=signet', text)
        caps = re.findall(r'^CapabilityBoundingSet=(.*)$', text, re.M)
        self.assertEqual(caps, ['CAP_NET_BIND_SERVICE'])
        for want in ('Type=notify', 'ExecReload=/bin/kill -HUP $MAINPID', 'NoNewPrivileges=yes',
                     'ProtectSystem=strict', 'CapabilityBoundingSet=CAP_NET_BIND_SERVICE',
                     'SystemCallFilter=@system-service', 'StateDirectory=signet',
                     'RuntimeDirectory=signet'):
            self.assertIn(want, text)
        if not shutil.which('systemd-analyze'):
            self.skipTest('no systemd-analyze')
        p = subprocess.run(['systemd-analyze', 'verify', unit], capture_output=True, text=True,
                           env=dict(os.environ, MANPATH=self.path('share/man')), timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_example_config_checks(self):
        examples = self.path('share/doc/signet/examples')
        with open(os.path.join(examples, 'Corefile')) as f:
            text = f.read()
        text = text.replace('/etc/signet/example.com.zone', os.path.join(examples, 'example.com.zone'))
        text = text.replace('/var/lib/signet', self.prefix)
        # -t checks that the service user exists (a package makes `signet`); here: ours
        text = text.replace('user signet', 'user ' + pwd.getpwuid(os.getuid()).pw_name)
        conf = self.path('Corefile')
        with open(conf, 'w') as f:
            f.write(text)
        p = subprocess.run([self.path('sbin/signetd'), '-t', '-c', conf], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)


if __name__ == '__main__':
    signet_test.main()
