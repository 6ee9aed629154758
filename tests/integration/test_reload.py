#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""integ.reload: SIGHUP reloads the config and the zones whose files changed; a zone whose
new file fails to load keeps serving its previous version and the log (signetd's stderr)
names file:line; a broken config keeps the running one; SIGTERM and SIGINT stop with exit
0. Each test has its own signetd, since each changes its files."""

import os
import re
import signal
import threading
import time

import signet_test
from signet_test import make_query, parse_message

COREFILE = '''
example.test:$port {
    bind 127.0.0.1
    file $dir/example.test.zone
    errors
}
'''
SERIAL = 2026112501
WAIT = 10.0  # seconds for a reload to show


class ReloadCase(signet_test.ServerPerTest):
    COREFILE = COREFILE
    FILES = ('example.test.zone', 'example.test.inc', 'other.test.zone')

    def setUp(self):
        super().setUp()
        self.zone = self.srv.path('example.test.zone')
        with open(self.zone) as f:
            self.original = f.read()

    # -- helpers ------------------------------------------------------------------------

    def serial(self, name='example.test'):
        r = self.srv.dig(name, 'SOA')
        if r.rcode != 'NOERROR' or not r.answer:
            return None
        return int(r.answer[0].rdata.split()[2])

    def write(self, path, text, replace=False):
        """Change a file as an editor would: in place, or by renaming a new file over it."""
        if replace:
            tmp = path + '.new'
            with open(tmp, 'w') as f:
                f.write(text)
            os.replace(tmp, path)
        else:
            with open(path, 'w') as f:
                f.write(text)

    def zone_text(self, serial, extra=''):
        text = self.original.replace('%d ; serial' % SERIAL, '%d ; serial' % serial)
        self.assertNotEqual(text, self.original)
        return text + extra

    def hup_and_wait(self, check, what):
        """SIGHUP, then poll check() until true."""
        self.srv.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.1)
        self.fail('after SIGHUP: %s not seen within %ss; log:\n%s'
                  % (what, WAIT, self.srv.log()[-4000:]))

    def hup_and_wait_log(self, pattern):
        """SIGHUP, then wait for a log line matching pattern; returns the match."""
        since = self.srv.log_size()
        self.srv.send_signal(signal.SIGHUP)
        m = self.srv.wait_log(pattern, since, WAIT)
        self.assertIsNotNone(m, 'log after SIGHUP has no match for %r:\n%s'
                             % (pattern, self.srv.log()[since:]))
        return m

    def assertWeb(self, addr='127.0.0.14'):
        r = self.srv.dig('web.example.test', 'A')
        self.assertEqual(r.rcode, 'NOERROR', repr(r))
        self.assertIn(('web.example.test.', 'A', addr), [rr.key() for rr in r.answer], repr(r))

    def assertLogNamesLine(self, path, line, since=0):
        rx = re.escape(path) + r':(\d+)'
        m = self.srv.wait_log(rx, since, WAIT)
        self.assertIsNotNone(m, 'the log does not name %s:LINE:\n%s' % (path, self.srv.log()[since:]))
        lines = [int(x) for x in re.findall(rx, self.srv.log()[since:])]
        self.assertIn(line, lines, 'the log names the wrong line:\n%s' % self.srv.log()[since:])


class ZoneReload(ReloadCase):

    def test_new_serial_and_record_served(self):
        self.assertEqual(self.serial(), SERIAL)
        r = self.srv.dig('added.example.test', 'A')
        self.assertEqual(r.rcode, 'NXDOMAIN')
        text = self.zone_text(SERIAL + 1, 'added IN A 127.0.0.99\n').replace(
            'web     IN A    127.0.0.14', 'web     IN A    127.0.0.15')
        self.write(self.zone, text)
        self.hup_and_wait(lambda: self.serial() == SERIAL + 1, 'the new serial')
        r = self.srv.dig('added.example.test', 'A')
        self.assertEqual(r.rcode, 'NOERROR', repr(r))
        self.assertEqual([rr.key() for rr in r.answer], [('added.example.test.', 'A', '127.0.0.99')])
        self.assertWeb('127.0.0.15')
        # over TCP as well
        r = self.srv.dig('added.example.test', 'A', tcp=True)
        self.assertEqual(len(r.answer), 1, repr(r))

    def test_file_replaced_by_rename(self):
        self.write(self.zone, self.zone_text(SERIAL + 5, 'renamed IN TXT "yes"\n'), replace=True)
        self.hup_and_wait(lambda: self.serial() == SERIAL + 5, 'the new serial')
        r = self.srv.dig('renamed.example.test', 'TXT')
        self.assertEqual([rr.rdata for rr in r.answer], ['"yes"'], repr(r))

    def test_serial_backwards_is_served_and_said(self):
        """A serial that goes backwards loads (the operator's file is what is served) with a
        warning, as BIND gives one (issue 14: it loaded without a word)."""
        self.write(self.zone, self.zone_text(SERIAL - 10))
        self.hup_and_wait_log(r'\[WARN\] zone: example\.test\.: .*example\.test\.zone: serial %d '
                              r'is older than the %d served before' % (SERIAL - 10, SERIAL))
        self.assertEqual(self.serial(), SERIAL - 10)

    def test_removed_record_gone(self):
        text = self.zone_text(SERIAL + 1).replace('mail    IN A    127.0.0.13\n', '')
        self.write(self.zone, text)
        self.hup_and_wait(lambda: self.serial() == SERIAL + 1, 'the new serial')
        r = self.srv.dig('mail.example.test', 'A')
        self.assertEqual(r.rcode, 'NXDOMAIN', repr(r))

    def test_included_file_change_served(self):
        # only the $INCLUDEd file changes: it is one of the zone's files
        inc = self.srv.path('example.test.inc')
        with open(inc) as f:
            text = f.read()
        self.write(inc, text.replace('127.0.0.40', '127.0.0.41') + 'incnew IN A 127.0.0.42\n')
        self.hup_and_wait(lambda: len(self.srv.dig('incnew.example.test', 'A').answer) == 1,
                          'the new record of the included file')
        r = self.srv.dig('included.example.test', 'A')
        self.assertEqual([rr.rdata for rr in r.answer], ['127.0.0.41'], repr(r))

    def test_unchanged_zone_keeps_serving_across_reloads(self):
        for _ in range(3):
            since = self.srv.log_size()
            self.srv.send_signal(signal.SIGHUP)
            self.srv.wait_log(r'reload', since, WAIT)
            self.assertEqual(self.serial(), SERIAL)
            self.assertWeb()

    def test_zone_file_that_is_not_a_file(self):
        """A zone file replaced by /dev/zero or a FIFO: the reload refuses it at once with
        the reason, the old version serves, and SIGTERM still stops signetd (issue 15: the
        reload read /dev/zero forever, or blocked on the FIFO, and SIGTERM was lost)."""
        for kind in ('zero', 'fifo'):
            os.unlink(self.zone)
            if kind == 'zero':
                os.symlink('/dev/zero', self.zone)
            else:
                os.mkfifo(self.zone)
            self.hup_and_wait_log(r'%s: not a regular file \(a (character device|FIFO)\)'
                                  % re.escape(self.zone))
            self.assertEqual(self.serial(), SERIAL, 'the previous version is served')
            self.assertWeb()
        # a reload after it works as ever, and the process stops on SIGTERM at once
        os.unlink(self.zone)
        self.write(self.zone, self.zone_text(SERIAL + 3))
        self.hup_and_wait(lambda: self.serial() == SERIAL + 3, 'the new serial')
        t0 = time.monotonic()
        self.stopped = True
        self.assertEqual(self.srv.stop(), 0)
        self.assertLess(time.monotonic() - t0, 5)

    def test_syntax_error_keeps_old_version(self):
        text = self.zone_text(SERIAL + 1, 'fine IN A 127.0.0.98\n')
        bad_line = text.count('\n') + 1
        text += 'broken IN A not-an-address\n'
        self.write(self.zone, text)
        since = self.srv.log_size()
        self.srv.send_signal(signal.SIGHUP)
        self.assertLogNamesLine(self.zone, bad_line, since)
        time.sleep(0.3)
        self.assertTrue(self.srv.alive())
        self.assertEqual(self.serial(), SERIAL, 'the previous version is served')
        self.assertWeb()
        self.assertEqual(self.srv.dig('fine.example.test', 'A').rcode, 'NXDOMAIN')
        # fixing the file brings the new version in
        self.write(self.zone, self.zone_text(SERIAL + 2, 'fine IN A 127.0.0.98\n'))
        self.hup_and_wait(lambda: self.serial() == SERIAL + 2, 'the fixed version')
        r = self.srv.dig('fine.example.test', 'A')
        self.assertEqual([rr.rdata for rr in r.answer], ['127.0.0.98'], repr(r))

    def test_semantic_error_keeps_old_version(self):
        text = self.zone_text(SERIAL + 1)
        bad_line = text.count('\n') + 1
        text += 'web     IN CNAME www\n'   # CNAME beside web's A and AAAA
        self.write(self.zone, text)
        since = self.srv.log_size()
        self.srv.send_signal(signal.SIGHUP)
        self.assertLogNamesLine(self.zone, bad_line, since)
        time.sleep(0.3)
        self.assertEqual(self.serial(), SERIAL)
        self.assertWeb()

    def test_missing_file_keeps_old_version(self):
        os.unlink(self.zone)
        since = self.srv.log_size()
        self.srv.send_signal(signal.SIGHUP)
        m = self.srv.wait_log(re.escape(self.zone), since, WAIT)
        self.assertIsNotNone(m, 'the log names the missing file:\n' + self.srv.log()[since:])
        time.sleep(0.3)
        self.assertEqual(self.serial(), SERIAL)
        self.assertWeb()

    def test_answers_never_fail_during_reloads(self):
        # queries from another thread while the zone flips between two versions: every
        # reply is a good answer from one version or the other
        versions = [self.zone_text(SERIAL + i, 'flip IN A 127.0.1.%d\n' % i) for i in (1, 2)]
        errors = []
        counts = [0]
        stop = threading.Event()

        def query_loop():
            i = 0
            while not stop.is_set():
                qid, q = make_query('flip.example.test' if i % 2 else 'web.example.test', 'A')
                i += 1
                data = self.srv.udp(q, qid, timeout=2, tries=1)
                if data is None:
                    errors.append('no reply')
                    continue
                r = parse_message(data)
                counts[0] += 1
                if r.rcode not in ('NOERROR', 'NXDOMAIN') or (r.rcode == 'NOERROR' and not r.answer):
                    errors.append(repr(r))

        t = threading.Thread(target=query_loop)
        t.start()
        try:
            for n in range(10):
                self.write(self.zone, versions[n % 2])
                want = SERIAL + 1 + n % 2
                self.hup_and_wait(lambda: self.serial() == want, 'serial %d' % want)
        finally:
            stop.set()
            t.join(30)
        self.assertFalse(errors, 'bad replies during reloads (%d of %d): %s'
                         % (len(errors), counts[0], errors[:5]))
        self.assertGreater(counts[0], 20)


class ConfigReload(ReloadCase):

    def corefile(self, body):
        self.srv.write_corefile(body.replace('$port', str(self.srv.port))
                                .replace('$dir', self.srv.dir))

    def test_zone_added_and_removed(self):
        self.assertEqual(self.srv.dig('www.other.test', 'A').rcode, 'REFUSED')
        self.corefile('''
example.test:$port other.test:$port {
    bind 127.0.0.1
    file $dir/example.test.zone example.test
    file $dir/other.test.zone other.test
}
''')
        self.hup_and_wait(lambda: self.srv.dig('www.other.test', 'A').rcode == 'NOERROR',
                          'the added zone')
        r = self.srv.dig('www.other.test', 'A')
        self.assertEqual([rr.rdata for rr in r.answer], ['127.0.0.51'], repr(r))
        self.assertWeb()
        self.corefile('''
other.test:$port {
    bind 127.0.0.1
    file $dir/other.test.zone
}
''')
        self.hup_and_wait(lambda: self.srv.dig('web.example.test', 'A').rcode == 'REFUSED',
                          'example.test removed')
        self.assertEqual(self.srv.dig('www.other.test', 'A').rcode, 'NOERROR')

    def test_global_option_change_applies(self):
        r = self.srv.dig('web.example.test', 'A')
        self.assertEqual(r.edns['udp'], 1232)
        with open(self.srv.corefile_path) as f:
            body = f.read()
        self.srv.write_corefile('{\n    udp-max-payload 1400\n}\n' + body)
        self.hup_and_wait(lambda: self.srv.dig('web.example.test', 'A').edns['udp'] == 1400,
                          'udp-max-payload 1400')

    def test_broken_config_keeps_running(self):
        with open(self.srv.corefile_path) as f:
            body = f.read()
        lines = body.split('\n')
        # an unknown plugin on the line after `bind`
        at = next(i for i, l in enumerate(lines) if 'bind' in l) + 1
        lines.insert(at, '    no-such-plugin 1')
        self.srv.write_corefile('\n'.join(lines))
        since = self.srv.log_size()
        self.srv.send_signal(signal.SIGHUP)
        self.assertLogNamesLine(os.path.basename(self.srv.corefile_path), at + 1, since)
        time.sleep(0.3)
        self.assertTrue(self.srv.alive())
        self.assertWeb()
        self.assertEqual(self.serial(), SERIAL)


class Stop(ReloadCase):

    def stop_with(self, sig):
        # an open TCP connection and an idle one must not hold the exit back
        qid, q = make_query('web.example.test', 'A')
        with self.srv.tcp_connect() as s:
            s.sendall(signet_test.tcp_frame(q))
            self.assertIsNotNone(signet_test.tcp_read_message(s))
            t0 = time.monotonic()
            rc = self.srv.stop(sig, timeout=10)
            self.stopped = True
        self.assertEqual(rc, 0, 'exit code after %s; log:\n%s' % (sig.name, self.srv.log()))
        self.assertLess(time.monotonic() - t0, 5, 'slow to stop')
        qid, q = make_query('web.example.test', 'A')
        self.assertIsNone(self.srv.udp(q, qid, timeout=0.5, tries=1), 'still answering')

    def test_sigterm_exit_0(self):
        self.stop_with(signal.SIGTERM)

    def test_sigint_exit_0(self):
        self.stop_with(signal.SIGINT)

    def test_sigterm_after_reloads(self):
        for n in range(3):
            self.write(self.zone, self.zone_text(SERIAL + 1 + n))
            self.hup_and_wait(lambda: self.serial() == SERIAL + 1 + n, 'serial')
        self.stop_with(signal.SIGTERM)


if __name__ == '__main__':
    signet_test.main()
