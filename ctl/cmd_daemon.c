/* SPDX-License-Identifier: MIT */
/* signetctl reload / status / stats / stop, and the daemon's part of zone status: what the
 * running signetd says over its control socket. */
#include "ctl/ctl.h"

#include <stdlib.h>
#include <string.h>

#define RELOAD_TIMEOUT_MS 300000  /* loading a large zone takes a while */
#define QUICK_TIMEOUT_MS 10000

/* Send {"cmd": cmd[, "zone": zone]}; print the error and return CTL_ERR unless the daemon
 * says ok. On CTL_OK *reply_out is the reply (caller decrefs). */
static int call(const ctl *c, const char *cmd, const char *zone, int timeout, json_t **reply_out)
{
    json_t *req = json_pack("{s:s}", "cmd", cmd);
    if (zone)
        json_object_set_new(req, "zone", json_string(zone));
    char err[512];
    json_t *rep = NULL;
    int rc = ctl_daemon_call(c, req, timeout, &rep, err, sizeof err);
    json_decref(req);
    if (rc) {
        fprintf(stderr, "signetctl: %s\n", err);
        return rc; /* CTL_TEMPFAIL when signetd is not there or does not answer */
    }
    if (!json_is_true(json_object_get(rep, "ok"))) {
        const char *e = json_string_value(json_object_get(rep, "error"));
        if (c->json)
            json_dumpf(rep, stdout, JSON_COMPACT), printf("\n");
        fprintf(stderr, "signetctl: %s: %s\n", cmd, e ? e : "failed");
        ctl_error_set(e && strstr(e, "is not served") ? "not_found" : "failed");
        json_decref(rep);
        return CTL_ERR;
    }
    *reply_out = rep;
    return CTL_OK;
}

static void print_json(const json_t *o)
{
    json_dumpf(o, stdout, JSON_COMPACT);
    printf("\n");
}

static long long num(const json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static const char *help_text =
    "usage: signetctl [--socket PATH] reload [ZONE]   re-read the config and changed zones\n"
    "                                                  (ZONE: only that zone's file; the\n"
    "                                                  running config is kept)\n"
    "       signetctl [--socket PATH] status          version, uptime, listeners, zones\n"
    "       signetctl [--socket PATH] stats           counters (Prometheus text format)\n"
    "       signetctl [--socket PATH] stop            stop after the queries in flight\n"
    "The socket defaults to $SIGNET_SOCKET, then " CTL_DEFAULT_SOCKET ".\n";

int cmd_daemon(ctl *c, const char *cmd, int argc, char **argv)
{
    char *pos[1];
    int npos = 0, help = 0;
    char name[64];
    snprintf(name, sizeof name, "%s ", cmd);
    int maxpos = !strcmp(cmd, "reload") ? 1 : 0;
    int rc = ctl_parse(name, argc, argv, NULL, 0, pos, maxpos, &npos, &help);
    if (rc)
        return rc;
    if (help) {
        fputs(help_text, stdout);
        return CTL_OK;
    }
    json_t *rep = NULL;
    if (!strcmp(cmd, "reload")) {
        if ((rc = call(c, "reload", npos ? pos[0] : NULL, RELOAD_TIMEOUT_MS, &rep)))
            return rc;
        if (c->json)
            print_json(rep);
        else {
            printf("%s\n", str(rep, "message"));
            if (*str(rep, "warnings"))
                printf("%s\n", str(rep, "warnings"));
        }
    } else if (!strcmp(cmd, "stop")) {
        if ((rc = call(c, "stop", NULL, QUICK_TIMEOUT_MS, &rep)))
            return rc;
        c->json ? print_json(rep) : (void)printf("%s\n", str(rep, "message"));
    } else if (!strcmp(cmd, "stats")) {
        if ((rc = call(c, "stats", NULL, QUICK_TIMEOUT_MS, &rep)))
            return rc;
        c->json ? print_json(rep) : (void)fputs(str(rep, "text"), stdout);
    } else {
        if ((rc = call(c, "status", NULL, QUICK_TIMEOUT_MS, &rep)))
            return rc;
        if (c->json) {
            print_json(rep);
        } else {
            char started[64], reloaded[64];
            ctl_fmt_time(num(rep, "started"), started, sizeof started);
            ctl_fmt_time(num(rep, "last_reload"), reloaded, sizeof reloaded);
            char up[64];
            ctl_fmt_duration((uint32_t)num(rep, "uptime"), up, sizeof up);
            printf("signetd %s, pid %lld, up %s (since %s), %lld workers\n", str(rep, "version"),
                   num(rep, "pid"), up, started, num(rep, "workers"));
            printf("reloads: %lld done, %lld failed, last %s\n", num(rep, "reloads"),
                   num(rep, "reload_failures"), reloaded);
            json_t *ls = json_object_get(rep, "listeners"), *v;
            size_t i;
            printf("\nlisteners:\n");
            json_array_foreach(ls, i, v)
                printf("  %-40s %s\n", str(v, "address"), str(v, "transport"));
            printf("\n%-30s %-12s %-20s %-6s %s\n", "ZONE", "SERIAL", "LOADED", "SIGNED", "FILE");
            json_array_foreach(json_object_get(rep, "zones"), i, v) {
                char t[64];
                ctl_fmt_time(num(v, "loaded"), t, sizeof t);
                printf("%-30s %-12lld %-20s %-6s %s\n", str(v, "zone"), num(v, "serial"), t,
                       json_is_true(json_object_get(v, "signed")) ? "yes" : "no", str(v, "file"));
            }
        }
    }
    json_decref(rep);
    return CTL_OK;
}

json_t *ctl_daemon_zone(const ctl *c, const char *zone, char *err, size_t errcap)
{
    json_t *req = json_pack("{s:s, s:s}", "cmd", "zone-status", "zone", zone), *rep = NULL;
    int rc = ctl_daemon_call(c, req, QUICK_TIMEOUT_MS, &rep, err, errcap);
    json_decref(req);
    if (rc)
        return NULL;
    if (!json_is_true(json_object_get(rep, "ok"))) {
        snprintf(err, errcap, "%s", str(rep, "error"));
        json_decref(rep);
        return NULL;
    }
    json_object_del(rep, "ok");
    return rep;
}

void ctl_daemon_zone_text(const json_t *dz, const char *err)
{
    printf("\ndaemon:\n");
    if (!dz) {
        printf("  %s\n", err);
        return;
    }
    char t[64];
    ctl_fmt_time(num(dz, "loaded"), t, sizeof t);
    printf("  serving serial %lld (zone version %lld, loaded %s from %s)\n", num(dz, "serial"),
           num(dz, "version"), t, str(dz, "file"));
    json_t *keys = json_object_get(dz, "signing_keys"), *k;
    if (!keys) {
        printf("  not signed by the daemon\n");
        return;
    }
    printf("  signing with:");
    size_t i;
    json_array_foreach(keys, i, k)
        printf(" %s %lld (id %lld, algorithm %lld)%s", str(k, "role"), num(k, "tag"), num(k, "id"),
               num(k, "algorithm"), i + 1 < json_array_size(keys) ? "," : "");
    printf("\n  DNSKEY RRset: %lld keys\n", num(dz, "dnskey_count"));
}
