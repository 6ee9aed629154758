/* SPDX-License-Identifier: MIT */
/* signetctl zone: add, list, show, remove, history, serial-floor. */
#include "ctl/ctl.h"
#include "signer/keyset.h"
#include "zones/zone.h"
#include "common/cfg.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void help(void)
{
    printf("usage: signetctl zone add ZONE [--policy P] [--file PATH]\n"
           "                                   (--file: served at once by signetd's `dynamic`\n"
           "                                   blocks, signed by its policy; the file is checked)\n"
           "       signetctl zone add --from-list FILE [--policy P]\n"
           "                                   (many zones at once: each line ZONE PATH\n"
           "                                   [POLICY]; every file is checked first)\n"
           "       signetctl zone list\n"
           "       signetctl zone show ZONE\n"
           "       signetctl zone remove ZONE [--purge] [--force]\n"
           "                                   (a served zone: no longer served, keys kept;\n"
           "                                   --purge: its keys too; refused while a key\n"
           "                                   may be in use or its DS at the parent)\n"
           "       signetctl zone history ZONE            (the zone's event journal)\n"
           "       signetctl zone check FILE [ZONE]       (does FILE load as ZONE, as the\n"
           "                                              file plugin reads it; ZONE: the\n"
           "                                              file's name without .zone/.db)\n"
           "       signetctl zone diff ZONE [FILE]        (what a reload would change: the\n"
           "                                              served version against FILE, by\n"
           "                                              default the file it came from;\n"
           "                                              exit 0 same, 1 different, 2 trouble)\n"
           "       signetctl zone sign ZONE --zonefile PATH [--out FILE]\n"
           "       signetctl zone roll ZONE --ksk|--zsk|--csk\n"
           "       signetctl zone status ZONE | plan ZONE [--until TIME]\n"
           "       signetctl zone unsign ZONE             (back to insecure, safely)\n"
           "       signetctl zone serial-floor ZONE [SERIAL] (the serial the zone's previous\n"
           "                                              server served: Signet serves above it)\n");
}

static size_t key_count(ctl *c, const char *zone)
{
    sg_ks_key *keys;
    size_t n = 0;
    if (sg_ks_key_list(c->ks, zone, &keys, &n) == 0)
        free(keys);
    return n;
}

static void json_zone(ctl *c, const sg_ks_zone *z, int with_keys)
{
    printf("{\"zone\":");
    json_str(stdout, z->name);
    printf(",\"policy\":");
    json_str_or_null(stdout, z->policy);
    printf(",\"registrar\":");
    json_str_or_null(stdout, z->registrar);
    printf(",\"state\":");
    json_str(stdout, z->state);
    printf(",\"created\":");
    json_time(stdout, z->created);
    printf(",\"file\":");
    json_str_or_null(stdout, z->file);
    if (with_keys) {
        sg_ks_key *keys = NULL;
        size_t n = 0;
        sg_ks_key_list(c->ks, z->name, &keys, &n);
        printf(",\"keys\":[");
        for (size_t i = 0; i < n; i++) {
            printf(i ? "," : "");
            json_key(stdout, &keys[i], 0, 0, 0);
        }
        printf("]");
        free(keys);
    } else {
        printf(",\"keys\":%zu", key_count(c, z->name));
    }
    printf("}");
}

enum { O_POLICY, O_FORCE, O_FILE, O_PURGE, O_LIST, O_N };

/* Inside the caller's transaction: zone name (new, or kept with its keys and, without a
 * policy given, its policy), its keys from its policy when it has none, its file. *existed
 * (may be NULL) says whether it was there. */
static int add_one(ctl *c, const char *name, const char *path, const char *given_policy,
                   int *existed)
{
    sg_ks_zone old;
    int exists = sg_ks_zone_get(c->ks, name, &old) == 0;
    const char *policy = given_policy ? given_policy : exists ? old.policy : "default";
    int r = 0;
    if (!exists)
        r = sg_ks_zone_add(c->ks, name, policy, c->now);
    else if (given_policy && strcmp(old.policy, policy))
        r = sg_ks_zone_update(c->ks, name, policy, NULL, NULL, c->now);
    if (!r)
        r = sg_keyset_ensure(c->ks, name, policy, c->now);
    if (!r)
        r = sg_ks_zone_set_file(c->ks, name, path, c->now);
    if (existed)
        *existed = exists;
    return r;
}

/* zone add ZONE --file PATH: the file must load as the zone (errors with file:line on
 * stderr, nothing changed); then, in one transaction, the zone (new, or kept with its
 * keys), its keys from its policy when it has none, and its file, which signetd's
 * `dynamic` blocks serve within a second. */
static int zone_add_served(ctl *c, const ctl_opt *o, const char *name)
{
    char path[PATH_MAX];
    if (!realpath(o[O_FILE].val, path))
        return ctl_fail(c, SG_EIO, "zone %s: %s: %s", name, o[O_FILE].val, strerror(errno));
    if (strlen(path) >= SG_KS_PATH_MAX)
        return ctl_fail(c, SG_EINVAL, "zone %s: the path %s is too long", name, path);
    sg_zone *z = NULL;
    int r = sg_zone_load_file_max(path, name, SG_ZONE_FILE_MAX_DEFAULT, &z);
    sg_zone_free(z);
    if (r)
        return ctl_fail(c, r, "zone %s: %s does not load (the errors above say where); nothing "
                        "changed", name, path);
    sg_ks_zone old;
    int exists = sg_ks_zone_get(c->ks, name, &old) == 0;
    const char *policy = o[O_POLICY].val ? o[O_POLICY].val : exists ? old.policy : "default";
    if ((r = sg_ks_begin(c->ks)))
        return ctl_fail(c, r, "cannot add zone %s", name);
    r = add_one(c, name, path, o[O_POLICY].val, NULL);
    if (!r)
        r = sg_ks_commit(c->ks);
    else
        sg_ks_rollback(c->ks);
    if (r)
        return ctl_fail(c, r, "cannot add zone %s", name);
    ctl_daemon_tell_zones_changed(c);
    if (c->json) {
        printf("{\"zone\":");
        json_str(stdout, name);
        printf(",\"policy\":");
        json_str(stdout, policy);
        printf(",\"file\":");
        json_str(stdout, path);
        printf("}\n");
    } else if (exists) {
        printf("zone %s served from %s (policy %s, its keys kept)\n", name, path, policy);
    } else {
        printf("zone %s added with policy %s, served from %s\n", name, policy, path);
    }
    return CTL_OK;
}


/* Zones added per transaction by --from-list: signetd's own writers wait for the write
 * lock (5 s at most), so a list of thousands is not one transaction. */
#define LIST_BATCH 256

typedef struct list_entry {
    char name[SG_KS_ZONE_MAX];
    char path[PATH_MAX];
    char policy[64];
} list_entry;

/* Read the list: each line ZONE PATH [POLICY] (# comments, blank lines); every file must
 * load as its zone, or nothing changes. */
static int read_list(ctl *c, const char *list, list_entry **out, size_t *n_out)
{
    FILE *f = fopen(list, "r");
    if (!f)
        return ctl_fail(c, SG_EIO, "%s: %s", list, strerror(errno));
    list_entry *v = NULL;
    size_t n = 0, cap = 0;
    char line[PATH_MAX + 256];
    int lineno = 0, r = 0;
    while (!r && fgets(line, sizeof line, f)) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        char *tok[4];
        int nt = 0;
        for (char *save = NULL, *t = strtok_r(line, " \t\r\n", &save); t && nt < 4;
             t = strtok_r(NULL, " \t\r\n", &save))
            tok[nt++] = t;
        if (nt == 0)
            continue;
        if (nt < 2 || nt > 3) {
            r = ctl_fail(c, SG_ESYNTAX, "%s:%d: expected ZONE PATH [POLICY]; nothing changed",
                         list, lineno);
            break;
        }
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            list_entry *nv = realloc(v, nc * sizeof *v);
            if (!nv) {
                r = ctl_fail(c, SG_ENOMEM, "%s", list);
                break;
            }
            v = nv;
            cap = nc;
        }
        list_entry *e = &v[n];
        memset(e, 0, sizeof *e);
        errno = 0;
        if (sg_ks_zone_normalize(tok[0], e->name) != 0) {
            r = ctl_fail(c, SG_ESYNTAX, "%s:%d: '%s' is not a valid zone name; nothing changed",
                         list, lineno, tok[0]);
        } else if (!realpath(tok[1], e->path) || strlen(e->path) >= SG_KS_PATH_MAX) {
            r = ctl_fail(c, SG_EIO, "%s:%d: zone %s: %s: %s; nothing changed", list, lineno,
                         e->name, tok[1], errno ? strerror(errno) : "path too long");
        } else if (nt == 3 && strlen(tok[2]) >= sizeof e->policy) {
            r = ctl_fail(c, SG_EINVAL, "%s:%d: policy name too long", list, lineno);
        } else {
            if (nt == 3)
                snprintf(e->policy, sizeof e->policy, "%s", tok[2]);
            for (size_t i = 0; i < n && !r; i++)
                if (!strcmp(v[i].name, e->name))
                    r = ctl_fail(c, SG_EEXIST, "%s:%d: zone %s is listed twice; nothing changed",
                                 list, lineno, e->name);
            sg_zone *z = NULL;
            int lr = r ? 0 : sg_zone_load_file_max(e->path, e->name, SG_ZONE_FILE_MAX_DEFAULT, &z);
            sg_zone_free(z);
            if (lr)
                r = ctl_fail(c, lr, "%s:%d: zone %s: %s does not load (the errors above say "
                             "where); nothing changed", list, lineno, e->name, e->path);
        }
        n++;
    }
    fclose(f);
    if (r) {
        free(v);
        return r;
    }
    *out = v;
    *n_out = n;
    return 0;
}

/* zone add --from-list FILE: every file checked first, then the zones in transactions of
 * LIST_BATCH (one fsync each instead of one per zone), signetd told once per batch. A
 * failure stops at that batch: the batches before it stay, and it says which zone. */
static int zone_add_list(ctl *c, const ctl_opt *o)
{
    list_entry *v = NULL;
    size_t n = 0;
    int r = read_list(c, o[O_LIST].val, &v, &n);
    if (r)
        return r;
    size_t added = 0, kept = 0, done = 0;
    for (size_t i = 0; i < n && !r; i += LIST_BATCH) {
        if ((r = sg_ks_begin(c->ks))) {
            r = ctl_fail(c, r, "cannot add zones");
            break;
        }
        size_t k;
        for (k = i; k < n && k < i + LIST_BATCH && !r; k++) {
            int existed = 0;
            const char *pol = v[k].policy[0] ? v[k].policy : o[O_POLICY].val;
            r = add_one(c, v[k].name, v[k].path, pol, &existed);
            if (r)
                r = ctl_fail(c, r, "cannot add zone %s (%s): this batch of %zu zones is not "
                             "added; %zu zones before it are", v[k].name, v[k].path,
                             (n - i < LIST_BATCH ? n - i : (size_t)LIST_BATCH), done);
            else if (existed)
                kept++;
            else
                added++;
        }
        if (!r && (r = sg_ks_commit(c->ks)))
            r = ctl_fail(c, r, "cannot add zones (%zu before this batch are added)", done);
        else if (r)
            sg_ks_rollback(c->ks);
        if (!r) {
            done = k;
            ctl_daemon_tell_zones_changed(c);
        }
    }
    if (r) {
        free(v);
        return r;
    }
    if (c->json)
        printf("{\"zones\":%zu,\"added\":%zu,\"kept\":%zu}\n", n, added, kept);
    else
        printf("%zu zones: %zu added, %zu already there (their keys kept), each served from "
               "its file\n", n, added, kept);
    free(v);
    return CTL_OK;
}

static int zone_add(ctl *c, const ctl_opt *o, const char *name)
{
    if (o[O_LIST].set)
        return zone_add_list(c, o);
    if (o[O_FILE].set)
        return zone_add_served(c, o, name);
    int r = sg_ks_zone_add(c->ks, name, o[O_POLICY].val, c->now);
    if (r == SG_EEXIST)
        return ctl_fail(c, r, "zone %s", name);
    if (r)
        return ctl_fail(c, r, "cannot add zone %s", name);
    if (!c->json)
        printf("zone %s added with policy %s\n", name,
               o[O_POLICY].val ? o[O_POLICY].val : "default");
    return CTL_OK;
}

/* A purged zone's transfer state beside the keystore (the transfer plugin's default
 * state-dir): its last served serial and journal. A running signetd deletes them itself
 * when the zone leaves it, wherever its state-dir is; this covers a signetd not running.
 * A file that cannot go is said, the purge stands. */
static void purge_transfer_state(ctl *c, const char *zone)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", c->db);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(dir, sizeof dir, ".");
    size_t zl = strlen(zone);
    const char *dot = zl && zone[zl - 1] == '.' ? "" : ".";
    static const char *const suffix[] = { "xfr-serial", "xfr-journal", "xfr-serial.tmp",
                                          "xfr-journal.tmp" };
    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
        char path[PATH_MAX + SG_KS_ZONE_MAX + 32];
        int w = snprintf(path, sizeof path, "%s/%s%s%s", dir[0] ? dir : "/", zone, dot, suffix[i]);
        if (w < 0 || (size_t)w >= sizeof path)
            continue; /* no such file can be there */
        if (unlink(path) && errno != ENOENT)
            fprintf(stderr, "signetctl: zone %s: cannot remove %s: %s\n", zone, path,
                    strerror(errno));
    }
}

/* A served zone (a file): no longer served, keys kept, unless --purge. --purge deletes
 * the zone and its keys: once nothing serves them, only a DS at the parent can still
 * point at them, so that alone needs --force. A zone never served: as always. */
static int zone_remove(ctl *c, const ctl_opt *o, const char *name)
{
    sg_ks_zone z;
    int r = sg_ks_zone_get(c->ks, name, &z);
    if (r)
        return ctl_fail(c, r, "zone %s", name);
    int purge = o[O_PURGE].set;
    if (z.file[0] && !purge) {
        if ((r = sg_ks_zone_set_file(c->ks, name, "", c->now)))
            return ctl_fail(c, r, "cannot stop serving zone %s", name);
        ctl_daemon_tell_zones_changed(c);
        if (!c->json)
            printf("zone %s no longer served (its keys are kept; 'zone remove %s --purge' "
                   "deletes them)\n", name, name);
        return CTL_OK;
    }
    int force = o[O_FORCE].set;
    if (purge && !force) {
        sg_ks_key *keys = NULL;
        size_t n = 0;
        if ((r = sg_ks_key_list(c->ks, name, &keys, &n)))
            return ctl_fail(c, r, "cannot list the keys of %s", name);
        force = 1;
        for (size_t i = 0; i < n; i++)
            if (keys[i].ds_submitted && !keys[i].ds_gone) {
                force = 0; /* let the keystore say which key and why */
                break;
            }
        free(keys);
    }
    if ((r = sg_ks_begin(c->ks)))
        return ctl_fail(c, r, "cannot remove zone %s", name);
    if (z.file[0])
        r = sg_ks_zone_set_file(c->ks, name, "", c->now);
    if (!r)
        r = sg_ks_zone_remove(c->ks, name, force, c->now);
    if (!r)
        r = sg_ks_commit(c->ks);
    else
        sg_ks_rollback(c->ks);
    if (r)
        return ctl_fail(c, r, "cannot remove zone %s", name);
    if (purge)
        purge_transfer_state(c, z.name);
    if (z.file[0])
        ctl_daemon_tell_zones_changed(c);
    if (!c->json)
        printf("zone %s removed%s\n", name, purge ? " with its keys" : "");
    return CTL_OK;
}

static int zone_list(ctl *c, const ctl_opt *o, const char *name)
{
    (void)o;
    (void)name;
    sg_ks_zone *list;
    size_t n;
    int r = sg_ks_zone_list(c->ks, &list, &n);
    if (r)
        return ctl_fail(c, r, "cannot list zones");
    if (c->json) {
        printf("[");
        for (size_t i = 0; i < n; i++) {
            printf(i ? "," : "");
            json_zone(c, &list[i], 0);
        }
        printf("]\n");
    } else {
        printf("%-32s %-16s %-5s %-10s %s\n", "ZONE", "POLICY", "KEYS", "STATE",
               "REGISTRAR");
        for (size_t i = 0; i < n; i++)
            printf("%-32s %-16s %-5zu %-10s %s\n", list[i].name, list[i].policy,
                   key_count(c, list[i].name), list[i].state,
                   list[i].registrar[0] ? list[i].registrar : "-");
    }
    free(list);
    return CTL_OK;
}

static int zone_show(ctl *c, const ctl_opt *o, const char *name)
{
    (void)o;
    sg_ks_zone z;
    int r = sg_ks_zone_get(c->ks, name, &z);
    if (r)
        return ctl_fail(c, r, "zone %s", name);
    if (c->json) {
        json_zone(c, &z, 1);
        printf("\n");
        return CTL_OK;
    }
    char t[32];
    ctl_fmt_time(z.created, t, sizeof t);
    printf("zone:       %s\npolicy:     %s\nstate:      %s\nregistrar:  %s\ncreated:    %s\n",
           z.name, z.policy, z.state, z.registrar[0] ? z.registrar : "-", t);
    printf("served:     %s\n", z.file[0] ? z.file : "-");
    sg_ks_key *keys;
    size_t n;
    if ((r = sg_ks_key_list(c->ks, z.name, &keys, &n)) != 0)
        return ctl_fail(c, r, "cannot list keys");
    printf("keys:       %zu\n", n);
    for (size_t i = 0; i < n; i++)
        printf("  id %-6" PRId64 " tag %-5u %-3s %-16s %s\n", keys[i].id, keys[i].tag,
               sg_ks_role_name(keys[i].role), sg_ks_alg_name(keys[i].algorithm),
               sg_ks_state_name(keys[i].state));
    free(keys);
    return CTL_OK;
}

static void history_json(const sg_ks_event *ev, size_t n)
{
    printf("[");
    for (size_t i = 0; i < n; i++) {
        printf("%s{\"id\":%" PRId64 ",\"time\":%" PRId64 ",\"key\":", i ? "," : "",
               ev[i].id, ev[i].time);
        if (ev[i].key_id)
            printf("%" PRId64, ev[i].key_id);
        else
            printf("null");
        printf(",\"old_state\":");
        json_str_or_null(stdout, ev[i].old_state);
        printf(",\"new_state\":");
        json_str_or_null(stdout, ev[i].new_state);
        printf(",\"reason\":");
        json_str(stdout, ev[i].reason);
        printf(",\"actor\":");
        json_str(stdout, ev[i].actor);
        printf("}");
    }
    printf("]\n");
}

static void history_table(const sg_ks_event *ev, size_t n)
{
    printf("%-20s %-6s %-22s %-7s %s\n", "TIME", "KEY", "STATE", "ACTOR", "REASON");
    for (size_t i = 0; i < n; i++) {
        char t[32], k[24], s[40];
        ctl_fmt_time(ev[i].time, t, sizeof t);
        if (ev[i].key_id)
            snprintf(k, sizeof k, "%" PRId64, ev[i].key_id);
        else
            snprintf(k, sizeof k, "-");
        /* a key's removal leaves no new state: "gone" */
        if (ev[i].old_state[0] || ev[i].new_state[0])
            snprintf(s, sizeof s, "%s->%s", ev[i].old_state[0] ? ev[i].old_state : "",
                     ev[i].new_state[0] ? ev[i].new_state : "gone");
        else
            snprintf(s, sizeof s, "-");
        printf("%-20s %-6s %-22s %-7s %s\n", t, k, s, ev[i].actor, ev[i].reason);
    }
}

static int zone_history(ctl *c, const ctl_opt *o, const char *name)
{
    (void)o;
    sg_ks_zone z;
    int r = sg_ks_zone_get(c->ks, name, &z);
    if (r)
        return ctl_fail(c, r, "zone %s", name);
    sg_ks_event *ev;
    size_t n;
    if ((r = sg_ks_event_list(c->ks, z.name, &ev, &n)) != 0)
        return ctl_fail(c, r, "cannot read the journal");
    if (c->json)
        history_json(ev, n);
    else
        history_table(ev, n);
    free(ev);
    return CTL_OK;
}

/* zone serial-floor ZONE [SERIAL]: show or record the serial the zone's previous server
 * served (what `zone adopt` records), so that Signet's served serials follow it. */
static int zone_serial_floor(ctl *c, int argc, char **argv)
{
    static const char *usage_text =
        "usage: signetctl zone serial-floor ZONE [SERIAL]\n"
        "  Without SERIAL: the zone's serial floor. With it: record SERIAL (0..4294967295) as\n"
        "  the SOA serial the zone's previous server (BIND, Knot, PowerDNS, ...) served.\n"
        "  signetd then serves serials above it (RFC 1982), so that secondaries that held the\n"
        "  old server's serial follow Signet. Read when signetd starts or reloads.\n";
    char *pos[2];
    int npos, help_wanted;
    int rc = ctl_parse("zone serial-floor ", argc, argv, NULL, 0, pos, 2, &npos, &help_wanted);
    if (rc)
        return rc;
    if (help_wanted) {
        fputs(usage_text, stdout);
        return CTL_OK;
    }
    if (npos < 1)
        return ctl_usage("zone serial-floor ", "zone serial-floor needs a ZONE");
    char name[SG_KS_ZONE_MAX];
    if (sg_ks_zone_normalize(pos[0], name) != 0)
        return ctl_usage("zone serial-floor ", "'%s' is not a valid zone name", pos[0]);
    uint64_t serial = 0;
    if (npos == 2 && sg_cfg_parse_uint(pos[1], 0, 0xffffffffu, &serial))
        return ctl_usage("zone serial-floor ", "'%s' is not a serial (0..4294967295)", pos[1]);
    if ((rc = ctl_open(c)) != 0)
        return rc;
    uint32_t floor = 0;
    int r;
    if (npos == 2) {
        r = sg_ks_serial_floor_set(c->ks, name, (uint32_t)serial, "signetctl", c->now);
        if (r == SG_ENOTFOUND)
            return ctl_fail(c, r, "zone %s (signetctl zone add %s first)", name, name);
        if (r)
            return ctl_fail(c, r, "cannot record the serial floor of %s", name);
        floor = (uint32_t)serial;
    } else {
        sg_ks_zone z;
        if ((r = sg_ks_zone_get(c->ks, name, &z)))
            return ctl_fail(c, r, "zone %s", name);
        r = sg_ks_serial_floor_get(c->ks, name, &floor);
        if (r && r != SG_ENOTFOUND)
            return ctl_fail(c, r, "cannot read the serial floor of %s", name);
        if (r == SG_ENOTFOUND) {
            if (c->json)
                printf("{\"zone\":\"%s\",\"serial_floor\":null}\n", name);
            else
                printf("zone %s has no serial floor\n", name);
            return CTL_OK;
        }
    }
    if (c->json)
        printf("{\"zone\":\"%s\",\"serial_floor\":%u}\n", name, floor);
    else if (npos == 2)
        printf("zone %s: serial floor %u recorded; signetd serves serials above it from its "
               "next start or reload\n", name, floor);
    else
        printf("zone %s: serial floor %u\n", name, floor);
    return CTL_OK;
}

/* zone check FILE [ZONE]: what the `file` plugin would say of FILE as ZONE, without the
 * keystore or a running signetd (as kzonecheck / named-checkzone do). ZONE defaults to the
 * file's name without a ".zone" or ".db" ending. The loader logs each error as file:line
 * on stderr; the same bound and regular-file rule as `file` apply. */
static int zone_check(ctl *c, int argc, char **argv)
{
    if (argc < 1 || argc > 2 || argv[0][0] == '-')
        return ctl_usage("zone ", "usage: zone check FILE [ZONE]");
    const char *path = argv[0];
    char guess[SG_KS_ZONE_MAX];
    const char *given = argc == 2 ? argv[1] : NULL;
    if (!given) {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        snprintf(guess, sizeof guess, "%s", base);
        size_t n = strlen(guess);
        if (n > 5 && !strcmp(guess + n - 5, ".zone"))
            guess[n - 5] = 0;
        else if (n > 3 && !strcmp(guess + n - 3, ".db"))
            guess[n - 3] = 0;
        given = guess;
    }
    char name[SG_KS_ZONE_MAX];
    if (sg_ks_zone_normalize(given, name) != 0)
        return ctl_usage("zone ", argc == 2 ? "'%s' is not a valid zone name" :
                         "'%s' (from the file name) is not a valid zone name: give the zone",
                         given);
    sg_zone *z = NULL;
    int r = sg_zone_load_file_max(path, name, SG_ZONE_FILE_MAX_DEFAULT, &z);
    if (r)
        return ctl_fail(c, r, "zone %s: %s does not load (the errors above say where)", name,
                        path);
    if (c->json) {
        printf("{\"zone\":");
        json_str(stdout, name);
        printf(",\"file\":");
        json_str(stdout, path);
        printf(",\"serial\":%u,\"records\":%zu,\"names\":%zu}\n", z->serial, z->nrecords,
               z->nnodes);
    } else {
        printf("zone %s: %s loads: serial %u, %zu records, %zu names\n", name, path, z->serial,
               z->nrecords, z->nnodes);
    }
    sg_zone_free(z);
    return CTL_OK;
}

/* Each subcommand: whether it names a zone, the option it accepts (-1: none), what runs it. */
static const struct zone_sub {
    const char *name;
    int takes_zone;
    unsigned opts; /* 1 << O_*: the options it accepts */
    int (*run)(ctl *c, const ctl_opt *o, const char *name);
} zone_subs[] = {
    { "add", 1, 1u << O_POLICY | 1u << O_FILE | 1u << O_LIST, zone_add },
    { "list", 0, 0, zone_list },
    { "show", 1, 0, zone_show },
    { "remove", 1, 1u << O_FORCE | 1u << O_PURGE, zone_remove },
    { "history", 1, 0, zone_history },
};

int cmd_zone(ctl *c, int argc, char **argv)
{
    if (argc > 0 && !strcmp(argv[0], "sign"))
        return cmd_zone_sign(c, argc - 1, argv + 1);
    if (argc > 0 && !strcmp(argv[0], "adopt"))
        return cmd_zone_adopt(c, argc - 1, argv + 1);
    if (argc > 0 && !strcmp(argv[0], "serial-floor"))
        return zone_serial_floor(c, argc - 1, argv + 1);
    if (argc > 0 && !strcmp(argv[0], "check"))
        return zone_check(c, argc - 1, argv + 1);
    if (argc > 0 && !strcmp(argv[0], "diff"))
        return cmd_zone_diff(c, argc - 1, argv + 1);
    if (argc > 0 && !strcmp(argv[0], "flush"))
        return cmd_zone_flush(c, argc - 1, argv + 1);
    if (argc > 0 && (!strcmp(argv[0], "roll") || !strcmp(argv[0], "status") ||
                     !strcmp(argv[0], "plan") || !strcmp(argv[0], "unsign")))
        return cmd_zone_roll(c, argv[0], argc - 1, argv + 1);
    ctl_opt o[O_N] = { { "policy", 1, 0, 0 }, { "force", 0, 0, 0 }, { "file", 1, 0, 0 },
                       { "purge", 0, 0, 0 }, { "from-list", 1, 0, 0 } };
    char *pos[3];
    int npos, help_wanted;
    int rc = ctl_parse("zone ", argc, argv, o, O_N, pos, 3, &npos, &help_wanted);
    if (rc)
        return rc;
    if (help_wanted) {
        help();
        return CTL_OK;
    }
    if (npos == 0)
        return ctl_usage("zone ", "zone needs a subcommand");
    const char *sub = pos[0];
    const struct zone_sub *s = NULL;
    for (size_t i = 0; i < sizeof zone_subs / sizeof zone_subs[0]; i++)
        if (!strcmp(sub, zone_subs[i].name))
            s = &zone_subs[i];
    if (!s)
        return ctl_usage("zone ", "unknown subcommand 'zone %s'", sub);
    /* zone add --from-list names its zones in the list */
    int takes_zone = s->takes_zone && !o[O_LIST].set;
    if (o[O_LIST].set && o[O_FILE].set)
        return ctl_usage("zone ", "--from-list and --file do not go together");
    if (npos != 1 + takes_zone)
        return ctl_usage("zone ", "wrong number of arguments for 'zone %s'", sub);
    for (int i = 0; i < O_N; i++)
        if (o[i].set && !(s->opts & (1u << i)))
            return ctl_usage("zone ", "option not valid for 'zone %s'", sub);
    char name[SG_KS_ZONE_MAX];
    if (npos == 2 && sg_ks_zone_normalize(pos[1], name) != 0)
        return ctl_usage("zone ", "'%s' is not a valid zone name", pos[1]);
    if ((rc = ctl_open(c)) != 0)
        return rc;
    return s->run(c, o, npos == 2 ? name : NULL);
}
