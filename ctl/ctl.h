/* SPDX-License-Identifier: MIT */
/* signetctl's shared pieces: the command context, option parsing, output helpers. */
#ifndef SG_CTL_H
#define SG_CTL_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "keystore/keystore.h"

#define CTL_DEFAULT_SOCKET "/run/signet/signetd.sock"

/* Exit codes, as documented in --help and signetctl(8): a stable interface. 75 is
 * sysexits' EX_TEMPFAIL: the same command may succeed later (keystore busy, signetd not
 * running or not answering; an SG_REG_ERETRY that reaches ctl_fail). */
enum { CTL_OK = 0, CTL_ERR = 1, CTL_USAGE = 2, CTL_TEMPFAIL = 75 };

/* The stable error code of the first failure (under --json: {"error": CODE, ...} on
 * stderr): "usage", "not_found", "exists", "invalid", "in_use", "busy", "timeout",
 * "unreachable", "denied", "io", "corrupt", "credentials", "rejected", "failed". First set wins. */
void ctl_error_set(const char *code);
const char *ctl_error_get(void);
/* The exit code and error code of an SG_E* error (CTL_TEMPFAIL for transient ones). */
int ctl_error_class(int err, const char **code_out);

typedef struct ctl {
    const char *db;       /* keystore path */
    int db_set;           /* --db or $SIGNET_KEYSTORE given (else a Corefile's may be used) */
    int json;             /* --json */
    int busy_ms;          /* --busy-timeout */
    int64_t now;          /* time(NULL), or SIGNET_NOW for tests */
    sg_keystore *ks;      /* opened by ctl_open */
    const char *socket;   /* signetd's control socket */
    int result;           /* the exit status of a command that succeeded with a finding
                           * (zone diff: 1, different, as diff(1)); 0 otherwise */
} ctl;

/* Open the keystore once; prints the error and returns CTL_ERR on failure. */
int ctl_open(ctl *c);
/* Print "signetctl: what: error text[: detail]" for a keystore error; returns CTL_ERR. */
int ctl_fail(const ctl *c, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Print a usage error and the hint to --help; returns CTL_USAGE. */
int ctl_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A command's options: --name or --name VALUE (also --name=VALUE). */
typedef struct ctl_opt {
    const char *name;
    int has_arg;
    const char *val;   /* set by ctl_parse */
    int set;
} ctl_opt;
/* Split argv into options (from opts) and positionals. "--help" sets *help. Unknown
 * options and too many positionals are usage errors (CTL_USAGE, printed). */
int ctl_parse(const char *cmd, int argc, char **argv, ctl_opt *opts, int nopts, char **pos,
              int maxpos, int *npos_out, int *help);
/* The common shape "CMD ZONE [options]": parse, print help (then return CTL_DONE), check
 * that one ZONE is given and normalise it into zone. CTL_OK, CTL_DONE or CTL_USAGE. */
#define CTL_DONE (-1)
int ctl_zone_cmd(const char *cmd, int argc, char **argv, ctl_opt *opts, int nopts,
                 const char *help, char zone[SG_KS_ZONE_MAX]);

/* Durations: "30s", "5m", "2h", "7d", "1w", "1y" (365 days), combinations, "0", "never". */
int ctl_parse_duration(const char *s, uint32_t *out);
/* Times: "now", "now+DUR", "now-DUR", "+DUR", "@EPOCH", "YYYY-MM-DD[THH:MM[:SS]][Z]",
 * "YYYYMMDDHHMMSS", or "none"/"unset" (0). UTC throughout. */
int ctl_parse_time(const char *s, int64_t now, int64_t *out);
void ctl_fmt_duration(uint32_t secs, char *buf, size_t cap);
void ctl_fmt_time(int64_t t, char *buf, size_t cap);   /* "-" when unset */
/* Who runs this command, for the journal: "NAME (uid N)", with the sudo user if any. */
void ctl_who(char *buf, size_t cap);

/* JSON output, hand-escaped (RFC 8259): strings, and null for unset times. */
void json_str(FILE *f, const char *s);
/* null for NULL or "" (an unset value is null, never an empty string), else json_str. */
void json_str_or_null(FILE *f, const char *s);
void json_time(FILE *f, int64_t t);
void json_key(FILE *f, const sg_ks_key *k, int with_records, uint32_t ttl, uint8_t digest);

/* --json (json_envelope.c): capture the command's stdout and stderr from begin to end;
 * end writes stdout as one JSON value ({"ok":true[,"message":TEXT]} when the command
 * printed no JSON of its own) and, on failure, {"error":CODE,"message":TEXT,"exit":N}
 * on stderr (a warning of a success as {"warning":TEXT}). end returns the exit code. */
typedef struct ctl_capture {
    int saved_out, saved_err, out, err;
} ctl_capture;
int ctl_capture_begin(ctl_capture *cap);
int ctl_capture_end(ctl_capture *cap, int rc);

/* zone plan --svg (plan_svg.c): the events evs[n] (sg_roll_plan's, from now) of zone as an
 * SVG picture on f, one lane per key. CTL_OK, or CTL_ERR when f failed. */
struct sg_roll_event;
int ctl_plan_svg(FILE *f, const char *zone, const struct sg_roll_event *evs, size_t n, int64_t now);

int cmd_policy(ctl *c, int argc, char **argv);
int cmd_zone(ctl *c, int argc, char **argv);
int cmd_zone_sign(ctl *c, int argc, char **argv);
int cmd_zone_adopt(ctl *c, int argc, char **argv);   /* cmd_adopt.c */
int cmd_zone_roll(ctl *c, const char *sub, int argc, char **argv);
int cmd_ds_seen(ctl *c, int argc, char **argv);
int cmd_key_compromise(ctl *c, int argc, char **argv);
int cmd_key_sync_foreign(ctl *c, int argc, char **argv); /* cmd_foreign.c */
int cmd_ds_gone(ctl *c, int argc, char **argv);
int cmd_key(ctl *c, int argc, char **argv);
int cmd_ds(ctl *c, int argc, char **argv);
int cmd_dnskey(ctl *c, int argc, char **argv);
int cmd_registrar(ctl *c, int argc, char **argv);
int cmd_ds_push(ctl *c, int argc, char **argv);
int cmd_tsig(ctl *c, int argc, char **argv);
int cmd_backup(ctl *c, int argc, char **argv);
int cmd_restore(ctl *c, int argc, char **argv);
int cmd_keystore(ctl *c, int argc, char **argv);   /* cmd_keystore.c */
int cmd_ksr(ctl *c, int argc, char **argv);        /* cmd_ksr.c: offline KSK */
int cmd_skr(ctl *c, int argc, char **argv);

/* The running daemon (daemon_client.c, cmd_daemon.c). ctl_daemon_call sends req and waits
 * up to timeout_ms for the reply object (*reply_out, caller decrefs); CTL_OK, or CTL_ERR
 * with the reason in err. */
int ctl_daemon_call(const ctl *c, json_t *req, int timeout_ms, json_t **reply_out, char *err,
                    size_t errcap);
int cmd_daemon(ctl *c, const char *cmd, int argc, char **argv);
/* Tell a running signetd that the keystore's served zones changed (zone add/remove), so
 * that it serves or drops them now rather than at its next poll. Best effort, silent. */
void ctl_daemon_tell_zones_changed(const ctl *c);
/* record add|delete|list and zone flush (cmd_record.c): dynamic updates of a zone. */
int cmd_record(ctl *c, int argc, char **argv);
int cmd_zone_flush(ctl *c, int argc, char **argv);
/* zone diff ZONE [FILE] (cmd_zone_diff.c): the served version against the file on disk. */
int cmd_zone_diff(ctl *c, int argc, char **argv);
/* The daemon's view of a zone (serial served, version, signing keys), or NULL with the
 * reason in err (not reachable, zone not served). */
json_t *ctl_daemon_zone(const ctl *c, const char *zone, char *err, size_t errcap);
void ctl_daemon_zone_text(const json_t *dz, const char *err);

/* Registrar events (cmd_registrar.c): the last registrar outcome (reg-ok, reg-retry,
 * reg-error, reg-manual) and the last parent check (parent-*, not parent-query) among a
 * zone's events, either NULL if none; returns how many registrar/parent events there are. */
size_t ctl_reg_last(const sg_ks_event *ev, size_t ne, const sg_ks_event **last_reg,
                    const sg_ks_event **last_parent);
void ctl_reg_event_json(const sg_ks_event *e);                  /* {"time","state","reason"} */
void ctl_reg_event_text(const char *label, const sg_ks_event *e); /* one aligned line */

#endif
