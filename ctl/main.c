/* SPDX-License-Identifier: MIT */
/* signetctl: see and steer the keystore (policies, zones, keys, DS). */
#include "common/mem.h"
#include "ctl/ctl.h"

#include "common/log.h"
#include "common/secure_heap.h"
#include "keystore/keystore.h"

#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#define DEFAULT_DB "/var/lib/signet/keystore.db"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: signetctl [--db PATH] [--socket PATH] [--json] [--busy-timeout MS] COMMAND ...\n"
            "\n"
            "  policy list | show NAME | add NAME [options] | set NAME [options] | delete NAME\n"
            "  zone add ZONE [--policy P] | list | show ZONE | remove ZONE [--force]\n"
            "       | history ZONE | serial-floor ZONE [SERIAL]\n"
            "  zone sign ZONE --zonefile PATH [--out FILE]\n"
            "  zone adopt ZONE --from bind|knot|pdns --server ADDR[@PORT] --parent-ns ADDR[@PORT]...\n"
            "       [--key-dir DIR | --kasp DIR | --pdns-config-dir DIR] [--policy P] [--check]\n"
            "  zone roll ZONE --ksk|--zsk|--csk | status ZONE | plan ZONE [--until TIME]\n"
            "      | unsign ZONE\n"
            "  key generate ZONE --role ksk|zsk|csk [--algorithm A] [--bits N]\n"
            "  key list [ZONE] | show ID | import ZONE PATH [--role R] [--public] | export ID [--private]\n"
            "      | import ZONE --from bind --dir D | --from knot --kasp D | --from pdns\n"
            "      | delete ID [--force] | set ID [--publish|--activate|--retire|--remove TIME]\n"
            "      | compromise ID\n"
            "  ds ZONE [--digest sha256|sha384] [--cds] | ds seen ZONE [--key ID|--tag N] | ds gone ZONE\n"
            "      | ds status ZONE | ds push ZONE [--config COREFILE]\n"
            "      | ds check ZONE [--parent-ns ADDR,...] [--config COREFILE]\n"
            "  registrar test ZONE [--config COREFILE]\n"
            "  dnskey ZONE [--cdnskey]\n"
            "  record add ZONE NAME TTL TYPE RDATA... | delete ZONE NAME [TYPE [RDATA...]]\n"
            "      | list ZONE [NAME]      [--config COREFILE] [--key NAME] [--server ADDR[:PORT]]\n"
            "  zone flush ZONE [--config COREFILE]   journaled updates into the zone file\n"
            "  tsig generate NAME [--algorithm hmac-sha256] [--file]\n"
            "  backup FILE [--passphrase-file F] [--recipient CERT.pem]\n"
            "  restore FILE [--passphrase-file F | --key KEY.pem --cert CERT.pem] [--check]\n"
            "      [--force]\n"
            "  keystore kek | rekey [--old-kek-file F]   private keys encrypted at rest\n"
            "  ksr generate ZONE --to TIME [--from TIME] | ksr sign ZONE FILE   offline KSK\n"
            "  skr import ZONE FILE | skr status ZONE [--warn DUR]\n"
            "\n"
            "  reload [ZONE] | status | stats | stop       the running signetd\n"
            "\n"
            "Options may appear anywhere. --db defaults to $SIGNET_KEYSTORE or " DEFAULT_DB ".\n"
            "--socket (signetd's control socket) defaults to $SIGNET_SOCKET or " CTL_DEFAULT_SOCKET ".\n"
            "--json: stdout is one JSON value (a command without a JSON form of its own says\n"
            "{\"ok\":true,\"message\":...}); a failure is {\"error\":CODE,\"message\":...,\"exit\":N}\n"
            "on stderr. 'signetctl COMMAND --help' for details.\n"
            "Exit status: 0 success, 1 error, 2 usage error, 75 temporary failure (keystore busy,\n"
            "signetd not running or not answering): try again later.\n");
}

int main(int argc, char **argv)
{
    ctl c;
    memset(&c, 0, sizeof c);
    /* it reads private keys, TSIG secrets and credentials: never in a core dump */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    sg_mem_tune(); /* before the first zone is read: see common/mem.h */
    sg_secure_heap_init(SG_SECURE_HEAP_BYTES);
    c.db = getenv("SIGNET_KEYSTORE");
    c.db_set = c.db && *c.db;
    if (!c.db || !*c.db)
        c.db = DEFAULT_DB;
    c.busy_ms = -1;
    c.socket = getenv("SIGNET_SOCKET");
    if (!c.socket || !*c.socket)
        c.socket = CTL_DEFAULT_SOCKET;
    c.now = (int64_t)time(NULL);
    /* Tests step through time without sleeping (convention: everything takes `now`). */
    const char *fake = getenv("SIGNET_NOW");
    if (fake && *fake)
        c.now = strtoll(fake, NULL, 10);
    sg_log_set_level(SG_LOG_WARN);

    /* under --json everything the command says is captured and turned into JSON at the end */
    ctl_capture cap = { -1, -1, -1, -1 };
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--json")) {
            if (ctl_capture_begin(&cap))
                fprintf(stderr, "signetctl: --json: cannot capture the output; it stays text\n");
            break;
        }

    /* Global options may sit anywhere; pull them out before the command sees argv. */
    char **args = calloc((size_t)argc + 1, sizeof *args);
    if (!args)
        return ctl_capture_end(&cap, CTL_ERR);
    int n = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json")) {
            c.json = 1;
        } else if (!strcmp(a, "--socket")) {
            if (i + 1 >= argc) {
                free(args);
                return ctl_capture_end(&cap, ctl_usage(NULL, "option '%s' needs a value", a));
            }
            c.socket = argv[++i];
        } else if (!strncmp(a, "--socket=", 9)) {
            c.socket = a + 9;
        } else if (!strcmp(a, "--db") || !strcmp(a, "--busy-timeout")) {
            if (i + 1 >= argc) {
                free(args);
                return ctl_capture_end(&cap, ctl_usage(NULL, "option '%s' needs a value", a));
            }
            if (!strcmp(a, "--db")) {
                c.db = argv[++i];
                c.db_set = 1;
            }
            else
                c.busy_ms = atoi(argv[++i]);
        } else if (!strncmp(a, "--db=", 5)) {
            c.db = a + 5;
            c.db_set = 1;
        } else if (!strncmp(a, "--busy-timeout=", 15)) {
            c.busy_ms = atoi(a + 15);
        } else if (!strcmp(a, "--debug")) {
            sg_log_set_level(SG_LOG_DEBUG);
        } else {
            args[n++] = argv[i];
        }
    }
    int rc;
    if (n == 0) {
        usage(stderr);
        rc = CTL_USAGE;
    } else if (!strcmp(args[0], "--help") || !strcmp(args[0], "-h") ||
               !strcmp(args[0], "help")) {
        usage(stdout);
        rc = CTL_OK;
    } else if (!strcmp(args[0], "--version")) {
        printf("signetctl %s\n", SIGNET_VERSION);
        rc = CTL_OK;
    } else if (!strcmp(args[0], "policy")) {
        rc = cmd_policy(&c, n - 1, args + 1);
    } else if (!strcmp(args[0], "zone")) {
        rc = cmd_zone(&c, n - 1, args + 1);
    } else if (!strcmp(args[0], "key")) {
        rc = cmd_key(&c, n - 1, args + 1);
    } else if (!strcmp(args[0], "ds")) {
        rc = cmd_ds(&c, n - 1, args + 1);
    } else if (!strcmp(args[0], "registrar")) {
        rc = cmd_registrar(&c, n - 1, args + 1);
    } else if (!strcmp(args[0], "backup")) {
        rc = cmd_backup(&c, n - 1, args + 1);
    } else if (!strcmp(args[0], "keystore")) {
        rc = cmd_keystore(&c, n - 1, args + 1);
    } else if (!strcmp(args[0], "restore")) {
        rc = cmd_restore(&c, n - 1, args + 1);
    } else if (!strcmp(args[0], "tsig")) {
        rc = cmd_tsig(&c, n - 1, args + 1);
    } else if (!strcmp(args[0], "reload") || !strcmp(args[0], "status") ||
               !strcmp(args[0], "stats") || !strcmp(args[0], "stop")) {
        rc = cmd_daemon(&c, args[0], n - 1, args + 1);
    } else if (!strcmp(args[0], "record")) {
        rc = cmd_record(&c, n - 1, args + 1);
    } else if (!strcmp(args[0], "dnskey")) {
        rc = cmd_dnskey(&c, n - 1, args + 1);
    } else if (!strcmp(args[0], "ksr")) {
        rc = cmd_ksr(&c, n - 1, args + 1);
    } else if (!strcmp(args[0], "skr")) {
        rc = cmd_skr(&c, n - 1, args + 1);
    } else {
        rc = ctl_usage(NULL, "unknown command '%s'", args[0]);
    }
    free(args);
    sg_ks_free(c.ks);
    if (fflush(stdout) != 0)
        rc = CTL_ERR;
    rc = ctl_capture_end(&cap, rc);
    return rc == CTL_OK ? c.result : rc;
}
