#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""pkg.debian: the Debian package (debian/) as a user meets it (issue 21).

1. `dpkg-buildpackage -us -uc -b` in a copy of the source tree builds signet_*.deb, and
   `lintian --fail-on error,warning` passes it (info tags are printed, not failed).
2. As root on a machine without signet (CI: a throwaway Debian 12 machine), for real:
   - install: the `signet` user and group, /etc/signet root:signet 0750, /var/lib/signet
     and /run/signet signet:signet 0750, the unit, docs whose every link resolves;
   - start under the shipped unit: with systemd as PID 1 through systemctl, else the unit's
     ExecStartPre and ExecStart lines run as its User=/Group= with its UMask and only
     CAP_NET_BIND_SERVICE (bounding and ambient, as the unit gives it), serving the shipped
     example Corefile on port 53 of a loopback address: signed answers, the keystore made
     by and owned by signet, no capability left once bound, signetctl status over the
     control socket;
   - upgrade to a version N+1 (the same package with a higher version): the Corefile,
     zone file and keystore are kept byte for byte and the same keys are served;
   - remove, then purge: the keystore and /etc/signet are kept with a warning (README.Debian
     says why), the runtime directory goes; a purge right after a fresh install leaves
     no directory behind.
   Everything the test made (package, user, directories) is removed again at the end.
   Skipped when not root, or when this machine already has a signet user, package or
   directory (it never touches an installation it did not make).
SIGNET_DEB_DIR=DIR takes signet_*.deb and *.changes from DIR instead of building them (to
work on the life cycle part without a build each time).
"""

import grp
import hashlib
import json
import os
import pwd
import random
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'integration'))
import signet_test  # noqa: E402

SOURCE = os.environ.get('SIGNET_SOURCE') or os.path.abspath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
DIRS = ('/etc/signet', '/var/lib/signet', '/run/signet')
UNIT = '/lib/systemd/system/signetd.service'
DOC = '/usr/share/doc/signet'


def run(argv, check=True, timeout=600, **kw):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise AssertionError('%s: exit %d\n%s%s' % (' '.join(argv), p.returncode, p.stdout, p.stderr))
    return p


def sha(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def owner(path):
    st = os.stat(path)
    return (pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name, stat.S_IMODE(st.st_mode))


def unit_settings(text):
    """The [Service] settings of a unit, last one of each name (as systemd reads it)."""
    out = {}
    for line in text.splitlines():
        m = re.match(r'^([A-Za-z]+)=(.*)$', line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


class DebianPackage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for tool in ('dpkg-buildpackage', 'dh', 'lintian'):
            if not shutil.which(tool):
                raise AssertionError('%s is missing: run scripts/deps.sh' % tool)
        cls.work = tempfile.mkdtemp(prefix='signet-pkg-')
        cls.made = False  # the package, user and directories are ours to remove
        cls.proc = None
        cls.log = None
        given = os.environ.get('SIGNET_DEB_DIR')
        if given:
            for f in os.listdir(given):
                if f.endswith(('.deb', '.changes', '.buildinfo')):
                    shutil.copy(os.path.join(given, f), cls.work)
            cls.build_seconds = 0
        else:
            cls.build(cls.work)
        debs = [f for f in os.listdir(cls.work) if re.match(r'signet_.*\.deb$', f)]
        changes = [f for f in os.listdir(cls.work) if f.endswith('.changes')]
        assert len(debs) == 1 and len(changes) == 1, os.listdir(cls.work)
        cls.deb = os.path.join(cls.work, debs[0])
        cls.changes = os.path.join(cls.work, changes[0])
        cls.version = run(['dpkg-deb', '-f', cls.deb, 'Version']).stdout.strip()

    @classmethod
    def build(cls, work):
        src = os.path.join(work, 'signet')
        # the tree as it is (uncommitted edits too), without VCS data or build directories
        top = os.path.realpath(SOURCE)
        def ignore(d, names):
            if os.path.realpath(d) != top:
                return []
            return [n for n in names if n.startswith('.git') or n.startswith('build')]
        shutil.copytree(SOURCE, src, ignore=ignore, symlinks=True)
        env = dict(os.environ, DEB_BUILD_OPTIONS='nocheck parallel=%d' % min(os.cpu_count() or 1, 2))
        t0 = time.monotonic()
        p = subprocess.run(['dpkg-buildpackage', '-us', '-uc', '-b'], cwd=src, env=env,
                           capture_output=True, text=True, timeout=1500)
        cls.build_seconds = time.monotonic() - t0
        if p.returncode != 0:
            raise AssertionError('dpkg-buildpackage failed:\n' + (p.stdout + p.stderr)[-6000:])

    @classmethod
    def tearDownClass(cls):
        if cls.proc and cls.proc.poll() is None:
            cls.proc.kill()
            cls.proc.wait()
        if cls.log:
            cls.log.close()
        if cls.made:
            subprocess.run(['dpkg', '--purge', 'signet'], capture_output=True)
            for d in DIRS:
                shutil.rmtree(d, ignore_errors=True)
            subprocess.run(['userdel', 'signet'], capture_output=True)
            subprocess.run(['groupdel', 'signet'], capture_output=True)
        shutil.rmtree(cls.work, ignore_errors=True)

    def test_1_lintian(self):
        print('package built in %.0f s' % self.build_seconds, file=sys.stderr)
        p = run(['lintian', '--fail-on', 'error,warning', '--info', self.changes], check=False,
                timeout=600)
        print(p.stdout, p.stderr, file=sys.stderr)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertNotRegex(p.stdout, r'(?m)^[EW]: ')
        # what the package holds
        files = run(['dpkg-deb', '-c', self.deb]).stdout
        for want in ('./usr/sbin/signetd', './usr/bin/signetctl', '.' + UNIT,
                     './usr/lib/sysusers.d/signet.conf', './usr/lib/tmpfiles.d/signet.conf',
                     './usr/share/man/man8/signetd.8.gz', '.' + DOC + '/docs/migrating.md',
                     '.' + DOC + '/registrar/README.md', '.' + DOC + '/copyright'):
            self.assertIn(' ' + want + '\n', files)
        self.assertNotIn('./etc/signet/Corefile', files)  # the operator writes it

    # ---- the life cycle on this machine ------------------------------------------------

    def installable(self):
        if os.geteuid() != 0:
            self.skipTest('installing a package needs root')
        if not shutil.which('dpkg'):
            self.skipTest('no dpkg')
        have = [d for d in DIRS if os.path.exists(d)]
        try:
            pwd.getpwnam('signet')
            have.append('user signet')
        except KeyError:
            pass
        if run(['dpkg-query', '-W', 'signet'], check=False).returncode == 0:
            have.append('package signet')
        if have:
            self.skipTest('this machine already has %s: not touched' % ', '.join(have))

    def dpkg(self, *args):
        type(self).made = True
        return run(['dpkg'] + list(args), timeout=300)

    def start(self, port_addr):
        """signetd under the shipped unit; returns once it answers on port_addr:53."""
        with open(UNIT) as f:
            unit = unit_settings(f.read())
        if os.path.isdir('/run/systemd/system'):  # systemd is PID 1 (sd_booted)
            run(['systemctl', 'daemon-reload'])
            run(['systemctl', 'restart', 'signetd.service'], timeout=120)
            self.systemd = True
        else:
            self.systemd = False
            user, group = unit['User'], unit['Group']
            umask = int(unit['UMask'], 8)
            caps = unit['CapabilityBoundingSet'].split()
            ambient = unit['AmbientCapabilities'].split()
            self.assertEqual(caps, ['CAP_NET_BIND_SERVICE'])
            def as_unit(cmd):
                capl = lambda cs: ','.join('+' + c[4:].lower() for c in cs)
                return ['setpriv', '--no-new-privs', '--reuid=' + user, '--regid=' + group, '--init-groups',
                        '--bounding-set=-all,' + capl(caps), '--inh-caps=-all,' + capl(ambient),
                        '--ambient-caps=' + capl(ambient)] + shlex.split(cmd)
            pre = run(as_unit(unit['ExecStartPre']), check=False, preexec_fn=lambda: os.umask(umask))
            self.assertEqual(pre.returncode, 0, pre.stdout + pre.stderr)
            if not self.log:
                type(self).log = open(os.path.join(self.work, 'signetd.log'), 'a+')
            type(self).proc = subprocess.Popen(as_unit(unit['ExecStart']), stdout=self.log,
                                               stderr=subprocess.STDOUT, cwd='/',
                                               preexec_fn=lambda: os.umask(umask))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                self.fail('signetd exited %d:\n%s' % (self.proc.returncode, self.logtext()))
            p = run(['dig', '@' + port_addr, '-p', '53', 'example.com', 'SOA', '+norec', '+time=1',
                     '+tries=1'], check=False)
            if 'status: NOERROR' in p.stdout and 'ANSWER: 1' in p.stdout:
                return
            time.sleep(0.3)
        self.fail('signetd does not answer on %s:53:\n%s' % (port_addr, self.logtext()))

    def logtext(self):
        if self.systemd:
            return run(['journalctl', '-u', 'signetd', '-n', '50'], check=False).stdout
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()[-4000:]

    def stop(self):
        if self.systemd:
            run(['systemctl', 'stop', 'signetd.service'], timeout=120)
            return
        self.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.proc.wait(timeout=30), 0, self.logtext())

    def dnskeys(self, addr):
        p = run(['dig', '@' + addr, '-p', '53', 'example.com', 'DNSKEY', '+dnssec', '+norec',
                 '+noall', '+answer'])
        keys = sorted(l.split(None, 4)[4] for l in p.stdout.splitlines() if '\tDNSKEY\t' in l)
        self.assertTrue(keys, p.stdout)
        self.assertIn('RRSIG', p.stdout)
        return keys

    def key_ids(self, ks):
        keys = json.loads(run(['signetctl', '--json', '--db', ks, 'key', 'list']).stdout)
        self.assertTrue(keys)
        return sorted(k['id'] for k in keys)

    def configure(self, addr):
        """The shipped example, as README.Debian says: copied to /etc/signet, root:signet
        0640; bound to one loopback address, logging to stderr (no syslog in CI)."""
        ex = os.path.join(DOC, 'examples')
        with open(os.path.join(ex, 'Corefile')) as f:
            text = f.read()
        text = text.replace('log-target syslog', 'log-target stderr')
        text = text.replace('example.com {', 'example.com {\n    bind %s' % addr, 1)
        zone = '/etc/signet/example.com.zone'
        shutil.copy(os.path.join(ex, 'example.com.zone'), zone)
        with open('/etc/signet/Corefile', 'w') as f:
            f.write(text)
        gid = grp.getgrnam('signet').gr_gid
        for path in ('/etc/signet/Corefile', zone):
            os.chown(path, 0, gid)
            os.chmod(path, 0o640)

    def test_2_lifecycle(self):
        self.installable()
        # -- install
        self.dpkg('-i', self.deb)
        pw = pwd.getpwnam('signet')
        self.assertEqual(grp.getgrgid(pw.pw_gid).gr_name, 'signet')
        self.assertEqual(owner('/etc/signet'), ('root', 'signet', 0o750))
        self.assertEqual(owner('/var/lib/signet'), ('signet', 'signet', 0o750))
        self.assertEqual(owner('/run/signet'), ('signet', 'signet', 0o750))
        self.assertTrue(os.access('/usr/sbin/signetd', os.X_OK))
        broken = []
        for top, _, names in os.walk(DOC):
            for n in names:
                if n.endswith('.md'):
                    with open(os.path.join(top, n)) as f:
                        for m in re.finditer(r'\]\(([^)#\s:]+)(?:#[^)]*)?\)', f.read()):
                            if not os.path.exists(os.path.join(top, m.group(1))):
                                broken.append('%s -> %s' % (n, m.group(1)))
        self.assertEqual(broken, [])

        # -- start under the unit, on port 53 of an address of our own
        addr = '127.%d.%d.%d' % (random.randrange(64, 250), random.randrange(1, 250),
                                 random.randrange(1, 250))
        self.configure(addr)
        self.start(addr)
        keys = self.dnskeys(addr)
        ks = '/var/lib/signet/keystore.db'
        self.assertEqual(owner(ks)[:2], ('signet', 'signet'))
        self.assertEqual(owner(ks)[2] & 0o007, 0, 'keystore readable by others')
        if not self.systemd:
            with open('/proc/%d/status' % self.proc.pid) as f:
                status = f.read()
            self.assertRegex(status, r'(?m)^Uid:\s+%d\s+%d\s+%d' % ((pw.pw_uid,) * 3))
            self.assertRegex(status, r'(?m)^CapEff:\s+0+$')
            self.assertRegex(status, r'(?m)^CapPrm:\s+0+$')
        p = run(['signetctl', '--json', 'status'])
        self.assertRegex(p.stdout, r'"example\.com\.?"')
        self.stop()
        kept = {path: sha(path) for path in (ks, '/etc/signet/Corefile', '/etc/signet/example.com.zone')}
        key_ids = self.key_ids(ks)

        # -- upgrade to N+1: the same files under a higher version
        tree = os.path.join(self.work, 'next')
        run(['dpkg-deb', '-R', self.deb, tree])
        control = os.path.join(tree, 'DEBIAN', 'control')
        with open(control) as f:
            text = f.read()
        nxt = self.version + '+pkgtest1'
        with open(control, 'w') as f:
            f.write(re.sub(r'(?m)^Version: .*$', 'Version: ' + nxt, text))
        deb2 = os.path.join(self.work, 'signet_next.deb')
        run(['dpkg-deb', '-b', tree, deb2])
        self.dpkg('-i', deb2)
        self.assertEqual(run(['dpkg-query', '-W', '-f', '${Version}', 'signet']).stdout, nxt)
        for path, digest in kept.items():
            # under systemd the postinst restarts signetd, which may write its keystore
            if not (self.systemd and path == ks):
                self.assertEqual(sha(path), digest, path + ' changed by the upgrade')
        self.assertEqual(self.key_ids(ks), key_ids)
        self.assertEqual(owner('/etc/signet'), ('root', 'signet', 0o750))
        self.start(addr)
        self.assertEqual(self.dnskeys(addr), keys, 'other keys after the upgrade')
        self.stop()

        # -- remove, then purge: the keys and the operator's files stay, with a warning
        self.dpkg('-r', 'signet')
        self.assertFalse(os.path.exists('/usr/sbin/signetd'))
        self.assertTrue(os.path.exists(ks))
        p = self.dpkg('-P', 'signet')
        self.assertIn('kept /var/lib/signet', p.stderr + p.stdout)
        self.assertIn('kept /etc/signet', p.stderr + p.stdout)
        self.assertTrue(self.systemd or sha(ks) == kept[ks])
        self.assertEqual(sha('/etc/signet/Corefile'), kept['/etc/signet/Corefile'])
        self.assertFalse(os.path.exists('/run/signet'))
        self.assertNotEqual(run(['dpkg-query', '-W', '-f', '${Status}', 'signet'], check=False).stdout,
                            'install ok installed')

        # -- a fresh install purged at once leaves no directory behind
        shutil.rmtree('/etc/signet')
        shutil.rmtree('/var/lib/signet')
        self.dpkg('-i', self.deb)
        for d in DIRS:
            self.assertTrue(os.path.isdir(d), d)
        p = self.dpkg('-P', 'signet')
        self.assertNotIn('kept', p.stderr + p.stdout)
        for d in DIRS:
            self.assertFalse(os.path.exists(d), d)


if __name__ == '__main__':
    signet_test.main()
