#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""integ.ops: running as a service. Started as root with `user nobody`, signetd binds a
port below 1024 first, then every uid and gid in /proc/PID/status is nobody's, it still
answers and reloads, and the control socket belongs to nobody; the pid file is written
and removed (and a live pid in it is refused); the systemd notification protocol sends
READY=1, RELOADING=1 with MONOTONIC_USEC then READY=1, and STOPPING=1; with
`log-target syslog` nothing goes to stderr; every thread but the main one blocks SIGHUP,
SIGTERM and SIGINT, also after reloads."""

import json
import os
import pwd
import re
import signal
import socket
import subprocess
import time
import unittest

import signet_test
from signet_test import Signetd, run_signetd

SIGNETCTL = os.environ.get('SIGNETCTL', os.path.join(signet_test.REPO, 'build', 'ctl', 'signetctl'))


def low_port():
    """A free port below 1024 on 127.0.0.1 (UDP and TCP), or None."""
    for port in range(853 + os.getpid() % 100, 1024):
        if signet_test._port_free('127.0.0.1', port):
            return port
    return None


def proc_ids(pid):
    ids = {}
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            key, _, val = line.partition(':')
            if key in ('Uid', 'Gid', 'Groups'):
                ids[key] = [int(v) for v in val.split()]
    return ids


class PrivilegeDrop(unittest.TestCase):
    @unittest.skipUnless(os.geteuid() == 0, 'needs root')
    def test_user_nobody(self):
        nobody = pwd.getpwnam('nobody')
        port = low_port()
        self.assertIsNotNone(port, 'no free port below 1024')
        srv = Signetd('''
{
    user nobody
    pid-file $dir/run/signetd.pid
    control $dir/run/signetd.sock
}
example.test:$port {
    bind 127.0.0.1
    file $dir/example.test.zone
}
example.test:%d {
    bind 127.0.0.1
    file $dir/example.test.zone
}
''' % port, ('example.test.zone', 'example.test.inc'))
        self.addCleanup(srv.cleanup)
        # the service user reads the zones and owns the runtime directory
        os.chmod(srv.dir, 0o755)
        os.mkdir(srv.path('run'), 0o755)
        os.chown(srv.path('run'), nobody.pw_uid, nobody.pw_gid)
        srv.start()
        pid = srv.proc.pid
        ids = proc_ids(pid)
        self.assertEqual(ids['Uid'], [nobody.pw_uid] * 4, ids)
        self.assertEqual(ids['Gid'], [nobody.pw_gid] * 4, ids)
        self.assertIn(ids['Groups'], ([], [nobody.pw_gid]), ids)
        with open('/proc/%d/status' % pid) as f:
            caps = dict(l.split(':', 1) for l in f if l.startswith('Cap'))
        self.assertEqual(int(caps['CapEff'].strip(), 16), 0, caps)
        self.assertIn('running as nobody', srv.log())
        # the port below 1024 was bound before the drop and answers
        r = srv.dig('example.test', 'SOA', port=port)
        self.assertEqual(r.rcode, 'NOERROR')
        with open(srv.path('run/signetd.pid')) as f:
            self.assertEqual(int(f.read()), pid)
        st = os.stat(srv.path('run/signetd.sock'))
        self.assertEqual((st.st_uid, oct(st.st_mode & 0o777)), (nobody.pw_uid, '0o600'))
        # root may still use the socket; a reload as nobody reads the changed zone
        zone = srv.path('example.test.zone')
        with open(zone) as f:
            text = f.read().replace('2026112501', '2026112502')
        with open(zone, 'w') as f:
            f.write(text)
        p = subprocess.run([SIGNETCTL, '--socket', srv.path('run/signetd.sock'), 'reload'],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr + srv.log()[-2000:])
        r = srv.dig('example.test', 'SOA')
        self.assertIn('2026112502', r.answer[0].rdata)
        rc = srv.stop()
        self.assertEqual(rc, 0, srv.log()[-2000:])
        self.assertFalse(os.path.exists(srv.path('run/signetd.pid')), 'pid file left behind')
        self.assertFalse(os.path.exists(srv.path('run/signetd.sock')), 'socket left behind')

    @unittest.skipUnless(os.geteuid() == 0, 'needs root')
    def test_keystore_of_the_service_user(self):
        """The keystore made by the service user (signetctl run as it) stays usable after
        the drop: signed answers, and a key change made meanwhile is picked up."""
        nobody = pwd.getpwnam('nobody')
        srv = Signetd('''
{
    user nobody
    control off
}
example.test:$port {
    bind 127.0.0.1
    dnssec {
        keystore $dir/state/keystore.db
    }
    file $dir/example.test.zone
}
''', ('example.test.zone', 'example.test.inc'))
        self.addCleanup(srv.cleanup)
        os.chmod(srv.dir, 0o755)
        os.mkdir(srv.path('state'), 0o700)
        os.chown(srv.path('state'), nobody.pw_uid, nobody.pw_gid)
        as_nobody = ['setpriv', '--reuid=%d' % nobody.pw_uid, '--regid=%d' % nobody.pw_gid,
                     '--clear-groups', SIGNETCTL, '--db', srv.path('state/keystore.db')]
        for args in (['zone', 'add', 'example.test'],
                     ['key', 'generate', 'example.test', '--role', 'csk']):
            p = subprocess.run(as_nobody + args, capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
        p = subprocess.run(as_nobody + ['--json', 'key', 'list', 'example.test'], capture_output=True,
                           text=True, timeout=60)
        first = json.loads(p.stdout)[0]
        p = subprocess.run(as_nobody + ['key', 'set', str(first['id']), '--publish', 'now',
                                        '--activate', 'now'], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        srv.start()
        self.assertEqual(proc_ids(srv.proc.pid)['Uid'][1], nobody.pw_uid)
        r = srv.dig('example.test', 'SOA', '+dnssec')
        tags = {int(rr.rdata.split()[6]) for rr in r.rrs('answer', 'RRSIG')}
        self.assertEqual(tags, {first['tag']}, srv.log()[-2000:])
        # a second key made now by the service user shows in the DNSKEY set within seconds
        p = subprocess.run(as_nobody + ['key', 'generate', 'example.test', '--role', 'zsk'],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = subprocess.run(as_nobody + ['--json', 'key', 'list', 'example.test'], capture_output=True,
                           text=True, timeout=60)
        second = [k for k in json.loads(p.stdout) if k['id'] != first['id']][0]
        p = subprocess.run(as_nobody + ['key', 'set', str(second['id']), '--publish', 'now'],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            r = srv.dig('example.test', 'DNSKEY', '+dnssec')
            if len(r.rrs('answer', 'DNSKEY')) == 2:
                break
            time.sleep(0.3)
        self.assertEqual(len(r.rrs('answer', 'DNSKEY')), 2, srv.log()[-2000:])
        self.assertNotIn('ERROR', srv.log())
        self.assertNotIn('is owned by', srv.log())
        self.assertEqual(srv.stop(), 0, srv.log()[-2000:])

    @unittest.skipUnless(os.geteuid() == 0, 'needs root')
    def test_root_owned_keystore_warned(self):
        srv = Signetd('''
{
    user nobody
    control off
}
example.test:$port {
    bind 127.0.0.1
    dnssec {
        keystore $dir/keystore.db
    }
    file $dir/example.test.zone
}
''', ('example.test.zone', 'example.test.inc'))
        self.addCleanup(srv.cleanup)
        os.chmod(srv.dir, 0o755)
        srv.start()  # the keystore is made by root at start: it still serves what it loaded
        r = srv.dig('example.test', 'SOA', '+dnssec')
        self.assertTrue(r.rrs('answer', 'RRSIG'))
        self.assertRegex(srv.log(), r'keystore %s is owned by uid 0, not by nobody' %
                         re.escape(srv.path('keystore.db')))
        self.assertIn('keystore directory %s is owned by uid 0' % srv.dir, srv.log())
        self.assertEqual(srv.stop(), 0, srv.log()[-2000:])

    @unittest.skipUnless(os.geteuid() == 0, 'needs root to start as nobody')
    def test_capabilities_dropped(self):
        """As systemd starts it (User=signet, AmbientCapabilities=CAP_NET_BIND_SERVICE): the
        port below 1024 is bound, then no capability is left."""
        port = low_port()
        srv = Signetd('{\n    control off\n}\nexample.test:%d {\n    bind 127.0.0.1\n'
                      '    file $dir/example.test.zone\n}\n' % port, ('example.test.zone', 'example.test.inc'))
        self.addCleanup(srv.cleanup)
        os.chmod(srv.dir, 0o755)
        srv.port = port
        srv.write_corefile()
        log = open(srv.log_path, 'ab')
        self.addCleanup(log.close)
        proc = subprocess.Popen(['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups',
                                 '--inh-caps=+net_bind_service', '--ambient-caps=+net_bind_service',
                                 signet_test.signetd_path(), '-c', srv.corefile_path],
                                stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        try:
            self.assertTrue(srv.wait_log(r'signetd \S+ started', timeout=20), srv.log())
            r = srv.dig('example.test', 'SOA', port=port)
            self.assertEqual(r.rcode, 'NOERROR')
            with open('/proc/%d/status' % proc.pid) as f:
                caps = dict(l.split(':', 1) for l in f if l.startswith('Cap'))
            for c in ('CapEff', 'CapPrm', 'CapAmb', 'CapInh'):
                self.assertEqual(int(caps[c].strip(), 16), 0, caps)
        finally:
            proc.terminate()
            self.assertEqual(proc.wait(10), 0, srv.log())

    def test_unknown_user_and_live_pid_file(self):
        srv = Signetd('', ('example.test.zone', 'example.test.inc'))
        self.addCleanup(srv.cleanup)
        srv.port = signet_test.free_port()
        srv.write_corefile('{\n    user no-such-user-here\n}\nexample.test:%d {\n    bind 127.0.0.1\n'
                           '    file %s\n}\n' % (srv.port, srv.path('example.test.zone')))
        rc, out, err = run_signetd(['-c', srv.corefile_path])
        self.assertEqual(rc, 1)
        self.assertIn("user 'no-such-user-here'", err)
        with open(srv.path('live.pid'), 'w') as f:
            f.write('%d\n' % os.getpid())
        srv.write_corefile('{\n    pid-file %s\n    control off\n}\nexample.test:%d {\n    bind 127.0.0.1\n'
                           '    file %s\n}\n' % (srv.path('live.pid'), srv.port, srv.path('example.test.zone')))
        rc, out, err = run_signetd(['-c', srv.corefile_path])
        self.assertEqual(rc, 1)
        self.assertIn('process %d is still running' % os.getpid(), err)
        with open(srv.path('live.pid')) as f:
            self.assertEqual(int(f.read()), os.getpid())


class Notify(unittest.TestCase):
    def test_sd_notify(self):
        srv = Signetd('''
{
    control off
}
example.test:$port {
    bind 127.0.0.1
    file $dir/example.test.zone
}
''', ('example.test.zone', 'example.test.inc'))
        self.addCleanup(srv.cleanup)
        path = srv.path('notify.sock')
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(sock.close)
        sock.bind(path)
        sock.settimeout(10)
        os.environ['NOTIFY_SOCKET'] = path
        try:
            srv.start()
        finally:
            del os.environ['NOTIFY_SOCKET']
        self.assertEqual(sock.recv(4096), b'READY=1')
        srv.send_signal(signal.SIGHUP)
        msg = sock.recv(4096).decode()
        self.assertRegex(msg, r'^RELOADING=1\nMONOTONIC_USEC=\d+$')
        usec = int(msg.split('=')[-1])
        self.assertLess(abs(usec - time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6), 30e6)
        self.assertEqual(sock.recv(4096), b'READY=1')
        self.assertEqual(srv.stop(), 0)
        self.assertEqual(sock.recv(4096), b'STOPPING=1')


class SignalMask(unittest.TestCase):
    """SIGHUP, SIGTERM and SIGINT are taken by the main thread alone (sigwait). Every other
    thread, including those that setup and reloads start (transfer versions, the metrics
    listener, the dnssec and control threads), must have them blocked: one of them taking a
    SIGTERM would kill the process instead of stopping it. Read from /proc rather than by
    sending signals, so that the check does not depend on which thread the kernel picks."""

    WATCHED = {signal.SIGHUP, signal.SIGINT, signal.SIGTERM}

    def unblocked(self, pid):
        """{tid: (thread name, [watched signals not blocked])} for the threads that miss
        some. The main thread is left out: while it waits in sigwait the kernel shows the
        signals it waits for as unblocked."""
        out = {}
        for tid in os.listdir('/proc/%d/task' % pid):
            if tid == str(pid):
                continue
            try:
                with open('/proc/%d/task/%s/status' % (pid, tid)) as f:
                    blk = next(int(l.split()[1], 16) for l in f if l.startswith('SigBlk:'))
            except FileNotFoundError:
                continue  # the thread ended meanwhile
            miss = [s.name for s in self.WATCHED if not blk >> (s - 1) & 1]
            if miss:
                with open('/proc/%d/task/%s/comm' % (pid, tid)) as f:
                    out[tid] = (f.read().strip(), miss)
        return out

    def test_every_thread_blocks_the_stop_signals(self):
        srv = Signetd('''
{
    control $dir/signetd.sock
}
example.test:$port {
    bind 127.0.0.1
    prometheus 127.0.0.1:$port2
    cache 4M
    file $dir/example.test.zone
    dnssec {
        keystore $dir/keystore.db
        policy p
    }
    transfer {
        to 127.0.0.1
    }
}
''', ('example.test.zone', 'example.test.inc'))
        self.addCleanup(srv.cleanup)
        from test_dnssec import ctl
        ctl(srv.path('keystore.db'), 'policy', 'add', 'p', '--algorithm', 'ecdsap256sha256', '--csk')
        srv.start()
        pid = srv.proc.pid
        self.assertTrue(srv.wait_log(r'transfer: example\.test\.: serial \d+', timeout=30), srv.log())
        names = set()
        for tid in os.listdir('/proc/%d/task' % pid):
            with open('/proc/%d/task/%s/comm' % (pid, tid)) as f:
                names.add(f.read().strip())
        # the threads this check is about exist, and carry names (top -H, ps -L, gdb)
        self.assertLessEqual({'sg-worker/0', 'sg-dnssec', 'sg-xfr-version', 'sg-http',
                              'sg-control'}, names)
        self.assertEqual(self.unblocked(pid), {})
        # a reload from the control thread builds a new runtime and starts its threads
        p = subprocess.run([SIGNETCTL, '--socket', srv.path('signetd.sock'), 'reload'],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr + srv.log())
        self.assertEqual(self.unblocked(pid), {})
        srv.send_signal(signal.SIGHUP)
        self.assertTrue(srv.wait_log(r'reload done.*\n(.*\n)*.*reload done', timeout=30), srv.log())
        self.assertEqual(self.unblocked(pid), {})
        self.assertEqual(srv.stop(), 0)


class Syslog(unittest.TestCase):
    def test_nothing_on_stderr(self):
        srv = Signetd('''
{
    log-target syslog
    control off
}
example.test:$port {
    bind 127.0.0.1
    file $dir/example.test.zone
    log
}
''', ('example.test.zone', 'example.test.inc'))
        self.addCleanup(srv.cleanup)
        srv.start()
        srv.dig('www.example.test', 'A')
        self.assertEqual(srv.stop(), 0)
        # lines logged before the config was read may remain (zone loading); none after
        self.assertNotIn('started', srv.log())
        self.assertNotIn('www.example.test', srv.log())
        rc, out, err = run_signetd(['-t', '-c', srv.corefile_path])
        self.assertEqual(rc, 0, err)


if __name__ == '__main__':
    signet_test.main()
