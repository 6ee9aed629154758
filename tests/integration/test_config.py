#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""integ.config: `signetd -t` exits 0 on a good config and 1 on a bad one, each error
naming file:line; `--help` and `--version` exit 0; a bad config stops a start too."""

import os
import re
import shutil
import socket
import subprocess
import tempfile
import textwrap
import time
import unittest

import signet_test
from signet_test import FIXTURES, run_signetd

GOOD_ZONE = '''\
$ORIGIN check.test.
$TTL 3600
@   IN SOA ns1 hostmaster 1 7200 3600 1209600 300
    IN NS  ns1
ns1 IN A   192.0.2.1
www IN A   192.0.2.2
'''


class ConfigCheck(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='signet-config-')
        self.addCleanup(shutil.rmtree, self.dir, True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, text):
        with open(self.path(name), 'w') as f:
            f.write(textwrap.dedent(text))
        return self.path(name)

    def check(self, corefile, **zones):
        """Write the Corefile ($dir is the temp dir) and zone files, run signetd -t."""
        for name, text in zones.items():
            self.write(name.replace('_', '.'), text)
        cf = self.write('Corefile', corefile.replace('$dir', self.dir)
                        .replace('$fixtures', FIXTURES))
        return run_signetd(['-t', '-c', cf])

    def assertFails(self, result, *where):
        """Exit 1 with every (file, line) of `where` named as file:line in the errors; a
        line of None only asks for the file to be named, a tuple of lines for any of them."""
        rc, out, err = result
        self.assertEqual(rc, 1, 'signetd -t should fail:\n%s%s' % (out, err))
        for path, line in where:
            if line is None:
                self.assertIn(path, err, 'errors do not name %s:\n%s' % (path, err))
            else:
                rx = re.escape(path) + r':(\d+)\b'
                lines = {int(x) for x in re.findall(rx, err)}
                want = set(line) if isinstance(line, tuple) else {line}
                self.assertTrue(lines & want, 'errors do not name %s:%s:\n%s' % (path, line, err))
        return err

    def block(self, body, key='check.test:5300'):
        return '%s {\n%s}\n' % (key, textwrap.indent(textwrap.dedent(body), '    '))

    # -- good ----------------------------------------------------------------------------

    def test_good_config_exit_0(self):
        rc, out, err = self.check(self.block('''\
            bind 127.0.0.1 ::1
            file $dir/check.zone
            log
            errors
        '''), check_zone=GOOD_ZONE)
        self.assertEqual(rc, 0, out + err)

    def test_good_config_with_options_and_fixtures(self):
        rc, out, err = self.check('''\
{
    workers 2
    udp-max-payload 1400
    tcp-idle-timeout 10s
    tcp-max-connections 100
    log-level warning
}
# the fixtures
example.test:5300 other.test:5300 {
    bind 127.0.0.1
    file $fixtures/example.test.zone example.test
    file $fixtures/other.test.zone other.test   # a trailing comment
}
sub.example.test:5301 {
    file $fixtures/sub.example.test.zone
}
''')
        self.assertEqual(rc, 0, out + err)

    def test_check_does_not_bind(self):
        # -t must work while the server (here: someone else) holds the port
        u, t = signet_test.bind_pair()
        with u, t:
            port = u.getsockname()[1]
            rc, out, err = self.check(self.block('''\
                bind 127.0.0.1
                file $dir/check.zone
            ''', key='check.test:%d' % port), check_zone=GOOD_ZONE)
        self.assertEqual(rc, 0, out + err)

    # -- config errors -------------------------------------------------------------------

    def test_unknown_plugin(self):
        cf = self.block('''\
            bind 127.0.0.1
            file $dir/check.zone
            frobnicate yes
        ''')
        err = self.assertFails(self.check(cf, check_zone=GOOD_ZONE), ('Corefile', 4))
        self.assertIn('frobnicate', err)

    def test_bad_bind_address(self):
        cf = self.block('''\
            bind 127.0.0.300
            file $dir/check.zone
        ''')
        self.assertFails(self.check(cf, check_zone=GOOD_ZONE), ('Corefile', 2))

    def test_check_sees_what_a_start_would_hit(self):
        """-t checks what a start checks and changes nothing (issue 15: -t said OK for an
        unknown policy, a garbage keystore, a keystore in a missing directory, an address
        this host does not have and a user that does not exist; the start then failed)."""
        def dnssec(keystore, policy='default', bind='127.0.0.1'):
            return self.block('''\
                bind %s
                dnssec {
                    keystore %s
                    policy %s
                }
                file $dir/check.zone
            ''' % (bind, keystore, policy))
        ks = self.path('keystore.db')
        err = self.assertFails(self.check(dnssec(ks, 'nosuch'), check_zone=GOOD_ZONE), ('Corefile', 5))
        self.assertIn("policy 'nosuch' is not in the keystore", err)
        self.assertFalse(os.path.exists(ks), '-t made a keystore')
        err = self.assertFails(self.check(dnssec('/nonexistent/dir/ks.db'), check_zone=GOOD_ZONE),
                               ('Corefile', 4))
        self.assertIn('does not exist', err)
        with open(self.path('garbage.db'), 'w') as f:
            f.write('not a database at all, but long enough to look like one ' * 20)
        err = self.assertFails(self.check(dnssec(self.path('garbage.db')), check_zone=GOOD_ZONE),
                               ('Corefile', 4))
        self.assertIn('not a database', err)
        err = self.assertFails(self.check(dnssec(ks, bind='192.0.2.77'), check_zone=GOOD_ZONE),
                               ('Corefile', 2))
        self.assertIn('no address 192.0.2.77', err)
        rc, out, err = self.check('{\n    user no-such-user-here\n}\n' +
                                  self.block('bind 127.0.0.1\nfile $dir/check.zone\n'),
                                  check_zone=GOOD_ZONE)
        self.assertEqual(rc, 1, out + err)
        self.assertIn("user 'no-such-user-here'", err)
        # and with the policy made, the same config is good, still without a keystore made
        self.assertEqual(self.check(dnssec(ks), check_zone=GOOD_ZONE)[0], 0)
        self.assertFalse(os.path.exists(ks))

    def test_check_reports_every_error(self):
        """-t names every broken line in one run, not only the first (issue 15): a bad
        global option, a missing user, a bind address this host lacks, an unknown
        directive, a policy not in the keystore, in two server blocks."""
        ks = self.path('keystore.db')
        cf = ('{\n    workers lots\n    user no-such-user-here\n    log-level loud\n}\n' +
              self.block('''\
                bind 192.0.2.77
                dnssec {
                    keystore %s
                    policy nosuch
                }
                frobnicate on
                file $dir/check.zone
            ''' % ks) +
              self.block('bind 127.0.0.1\nfile $dir/missing.zone\n', key='other.test:5300'))
        err = self.assertFails(self.check(cf, check_zone=GOOD_ZONE),
                               ('Corefile', 2), ('Corefile', 3), ('Corefile', 4),
                               ('Corefile', 7), ('Corefile', 10), ('Corefile', 12),
                               ('Corefile', 17))
        self.assertIn("policy 'nosuch'", err)
        self.assertIn("'frobnicate'", err)
        self.assertIn('missing.zone', err)
        self.assertFalse(os.path.exists(ks), '-t made a keystore')

    def test_bad_arguments(self):
        cases = [
            ('{\n    udp-max-payload 100\n}\n', 2),
            ('{\n    udp-max-payload 70000\n}\n', 2),
            ('{\n    workers 2\n    tcp-idle-timeout soon\n}\n', 3),
            ('{\n    tcp-max-connections\n}\n', 2),
            ('{\n    log-level loud\n}\n', 2),
            ('{\n    no-such-option 1\n}\n', 2),
        ]
        for glob, line in cases:
            with self.subTest(glob=glob):
                cf = glob + self.block('file $dir/check.zone\n')
                self.assertFails(self.check(cf, check_zone=GOOD_ZONE), ('Corefile', line))

    def test_bad_plugin_arguments(self):
        for body, line in (('file\n', 2), ('file $dir/check.zone\nlog\nerrors now\n', 4),
                           ('file $dir/check.zone elsewhere.test\n', 2),
                           ('file $dir/check.zone\nbind\n', 3)):
            with self.subTest(body=body):
                self.assertFails(self.check(self.block(body), check_zone=GOOD_ZONE),
                                 ('Corefile', line))

    def test_bad_server_block_key(self):
        for key in ('check.test:99999', 'check.test:port', 'bad..name:5300'):
            with self.subTest(key=key):
                cf = '# comment\n' + self.block('file $dir/check.zone\n', key=key)
                self.assertFails(self.check(cf, check_zone=GOOD_ZONE), ('Corefile', 2))

    def test_config_syntax_error(self):
        cf = 'check.test:5300 {\n    file $dir/check.zone\n\n'   # no closing brace
        self.assertFails(self.check(cf, check_zone=GOOD_ZONE), ('Corefile', None))
        cf = 'check.test:5300 {\n    file $dir/check.zone\n}\n}\n'  # one too many
        self.assertFails(self.check(cf, check_zone=GOOD_ZONE), ('Corefile', 4))

    def test_every_broken_block_reported(self):
        cf = (self.block('file $dir/check.zone\nnope\n', key='check.test:5300') +
              self.block('file $dir/check.zone check.test\n', key='other.test:5300'))
        # line 3: unknown plugin; line 6: file for a zone not in that block
        self.assertFails(self.check(cf, check_zone=GOOD_ZONE), ('Corefile', 3), ('Corefile', 6))

    def test_missing_config_file(self):
        rc, out, err = run_signetd(['-t', '-c', self.path('nothere')])
        self.assertNotEqual(rc, 0)
        self.assertIn('nothere', err)

    # -- zone errors ---------------------------------------------------------------------

    def test_unreadable_zone_file(self):
        cf = self.block('bind 127.0.0.1\nfile $dir/missing.zone\n')
        self.assertFails(self.check(cf), ('Corefile', 3), (self.path('missing.zone'), None))
        cf = self.block('file $dir\n')   # a directory
        self.assertFails(self.check(cf), ('Corefile', 2))

    def test_zone_syntax_error(self):
        zone = GOOD_ZONE + 'bad IN A 192.0.2.300\n'
        self.assertFails(self.check(self.block('file $dir/check.zone\n'), check_zone=zone),
                         (self.path('check.zone'), 7), ('Corefile', 2))
        zone = GOOD_ZONE + 'bad IN NOSUCHTYPE 1\n'
        self.assertFails(self.check(self.block('file $dir/check.zone\n'), check_zone=zone),
                         (self.path('check.zone'), 7))
        zone = GOOD_ZONE + 'paren IN TXT ( "open"\n'   # unbalanced parenthesis
        self.assertFails(self.check(self.block('file $dir/check.zone\n'), check_zone=zone),
                         (self.path('check.zone'), None))

    def test_syntax_error_in_included_file(self):
        zone = GOOD_ZONE + '$INCLUDE %s\n' % self.path('part.inc')
        inc = 'ok IN A 192.0.2.3\n\nbad IN AAAA not-an-address\n'
        self.assertFails(self.check(self.block('file $dir/check.zone\n'),
                                    check_zone=zone, part_inc=inc),
                         (self.path('part.inc'), 3))

    def test_missing_included_file(self):
        zone = GOOD_ZONE + '$INCLUDE %s\n' % self.path('gone.inc')
        self.assertFails(self.check(self.block('file $dir/check.zone\n'), check_zone=zone),
                         (self.path('check.zone'), 7))

    def test_cname_beside_other_data(self):
        zone = GOOD_ZONE + 'www IN CNAME ns1\n'
        self.assertFails(self.check(self.block('file $dir/check.zone\n'), check_zone=zone),
                         (self.path('check.zone'), 7))
        # the CNAME first, the other data after it: either line will do
        zone = GOOD_ZONE + 'alias IN CNAME ns1\nalias IN TXT "x"\n'
        self.assertFails(self.check(self.block('file $dir/check.zone\n'), check_zone=zone),
                         (self.path('check.zone'), (7, 8)))
        # two CNAMEs for one name
        zone = GOOD_ZONE + 'two IN CNAME ns1\ntwo IN CNAME www\n'
        self.assertFails(self.check(self.block('file $dir/check.zone\n'), check_zone=zone),
                         (self.path('check.zone'), (7, 8)))

    def test_missing_soa(self):
        zone = '$ORIGIN check.test.\n$TTL 3600\n@ IN NS ns1\nns1 IN A 192.0.2.1\n'
        err = self.assertFails(self.check(self.block('bind 127.0.0.1\nfile $dir/check.zone\n'),
                                          check_zone=zone),
                               ('Corefile', 3), (self.path('check.zone'), None))
        self.assertIn('SOA', err)

    def test_second_soa(self):
        zone = GOOD_ZONE + '@ IN SOA ns2 hostmaster 2 7200 3600 1209600 300\n'
        self.assertFails(self.check(self.block('file $dir/check.zone\n'), check_zone=zone),
                         (self.path('check.zone'), 7))

    def test_missing_apex_ns(self):
        zone = '$ORIGIN check.test.\n$TTL 3600\n@ IN SOA ns1 h 1 7200 3600 1209600 300\n'
        err = self.assertFails(self.check(self.block('file $dir/check.zone\n'), check_zone=zone),
                               ('Corefile', 2), (self.path('check.zone'), None))
        self.assertIn('NS', err)

    def test_out_of_zone_data(self):
        zone = GOOD_ZONE + 'www.example.org. IN A 192.0.2.9\n'
        self.assertFails(self.check(self.block('file $dir/check.zone\n'), check_zone=zone),
                         (self.path('check.zone'), 7))
        zone = GOOD_ZONE + '$ORIGIN elsewhere.test.\nhost IN A 192.0.2.9\n'
        self.assertFails(self.check(self.block('file $dir/check.zone\n'), check_zone=zone),
                         (self.path('check.zone'), 8))

    def test_zone_file_for_another_zone(self):
        # the file's SOA is for check.test, the block serves other.test
        cf = self.block('file $dir/check.zone\n', key='other.test:5300')
        self.assertFails(self.check(cf, check_zone=GOOD_ZONE), ('Corefile', 2))


class CommandLine(unittest.TestCase):

    def test_help(self):
        rc, out, err = run_signetd(['--help'])
        self.assertEqual(rc, 0, err)
        self.assertIn('-c', out)
        self.assertIn('-t', out)
        rc, out2, err = run_signetd(['-h'])
        self.assertEqual(rc, 0, err)
        self.assertEqual(out, out2)

    def test_version(self):
        rc, out, err = run_signetd(['--version'])
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r'signetd \d+\.\d+\.\d+')
        rc, out2, err = run_signetd(['-V'])
        self.assertEqual((rc, out2), (0, out))

    def test_usage_errors(self):
        for args in ([], ['--no-such-option'], ['-c'], ['-c', 'a', 'extra']):
            with self.subTest(args=args):
                rc, out, err = run_signetd(args)
                self.assertNotIn(rc, (0, None), out + err)
                self.assertIn('Usage', err)

    def test_start_with_bad_config_fails(self):
        d = tempfile.mkdtemp(prefix='signet-config-')
        self.addCleanup(shutil.rmtree, d, True)
        cf = os.path.join(d, 'Corefile')
        with open(cf, 'w') as f:
            f.write('check.test:%d {\n    file %s/none.zone\n}\n'
                    % (signet_test.free_port(), d))
        t0 = time.monotonic()
        try:
            rc, out, err = run_signetd(['-c', cf], timeout=20)
        except subprocess.TimeoutExpired:
            self.fail('signetd kept running with a broken config')
        self.assertEqual(rc, 1, out + err)
        self.assertIn('Corefile:2', err)
        self.assertLess(time.monotonic() - t0, 10)


if __name__ == '__main__':
    signet_test.main()
