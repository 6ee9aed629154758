/* SPDX-License-Identifier: MIT */
/* The control socket's server side: one thread, one client at a time, never on the query
 * path. Clients are root or the daemon's own user (SO_PEERCRED), besides the file mode. */
#include "daemon/control.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/name.h"
#include "common/served_news.h"
#include "signer/keyset.h"
#include "zones/zone.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifndef SIGNET_VERSION
#define SIGNET_VERSION "0.0.0"
#endif

struct sg_control {
    int fd;
    int wake;             /* eventfd: stop */
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    sg_daemon *d;
    pthread_t thread;
    int started;
};

static int addr_of(const char *path, struct sockaddr_un *sa)
{
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    if (!path || !*path || strlen(path) >= sizeof sa->sun_path)
        return -1;
    memcpy(sa->sun_path, path, strlen(path));
    return 0;
}

int sg_control_open(const char *path, uid_t uid, gid_t gid, sg_control **ctl_out)
{
    struct sockaddr_un sa;
    if (addr_of(path, &sa)) {
        sg_log(SG_LOG_ERR, "control", NULL, "control socket path '%s' is empty or too long", path ? path : "");
        return SG_EINVAL;
    }
    sg_control *c = calloc(1, sizeof *c);
    if (!c)
        return SG_ENOMEM;
    c->wake = -1;
    snprintf(c->path, sizeof c->path, "%s", path);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        goto fail_errno;
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            sg_log(SG_LOG_ERR, "control", NULL, "%s exists and is not a socket", path);
            goto fail;
        }
        /* a socket nobody answers on is left over from a crash; a live one is not ours */
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int live = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof sa) == 0;
        if (probe >= 0)
            close(probe);
        if (live) {
            sg_log(SG_LOG_ERR, "control", NULL, "%s: another signetd is running there", path);
            goto fail;
        }
        unlink(path);
    }
    mode_t old = umask(0177);
    int rc = bind(c->fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (rc != 0)
        goto fail_errno;
    if (chmod(path, 0600) != 0 ||
        ((uid != (uid_t)-1 || gid != (gid_t)-1) && chown(path, uid, gid) != 0) ||
        listen(c->fd, 16) != 0) {
        int e = errno;
        unlink(path);
        errno = e;
        goto fail_errno;
    }
    c->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (c->wake < 0) {
        unlink(path);
        goto fail_errno;
    }
    *ctl_out = c;
    return 0;
fail_errno:
    sg_log(SG_LOG_ERR, "control", NULL, "control socket %s: %s", path, strerror(errno));
fail:
    if (c->fd >= 0)
        close(c->fd);
    free(c);
    return SG_EIO;
}

/* ---- requests -------------------------------------------------------------------- */

static json_t *fail_reply(const char *msg)
{
    return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

static const char *transport_of(const sg_listen_addr *a)
{
    return a->tls ? "tls" : "udp+tcp";
}

static json_t *zone_json(const sg_zone *z, const sg_keyset *k)
{
    json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:s, s:I, s:I, s:b}", "zone", z->apex_str,
                          "serial", (json_int_t)z->serial, "version", (json_int_t)z->gen,
                          "loaded", (json_int_t)z->loaded_at, "file", z->path ? z->path : "",
                          "records", (json_int_t)z->nrecords, "names", (json_int_t)z->nnodes,
                          "signed", k != NULL);
    return o;
}

/* Every (zone, signer keys) the runtime serves, by callback; stop when it returns 1. */
typedef int (*zone_fn)(void *arg, const sg_zone *z, const sg_keyset *k, const char *policy);

/* Does a handler of sb before handler upto serve a version of apex? A zone with dynamic
 * updates is served by `update` (its newest version) ahead of `file` (the loaded file):
 * it is listed once, as served. Only blocks with such a plugin pay for the look. */
static int served_before(const sg_server_block *sb, int upto, const uint8_t *apex)
{
    for (int j = 0; j < upto; j++) {
        const sg_handler *h = &sb->handlers[j];
        if (!h->plugin->nzones || !h->plugin->zone)
            continue;
        for (int z = 0; z < h->plugin->nzones(h->state); z++) {
            const sg_zone *zone = h->plugin->zone(h->state, z);
            if (zone && sg_name_eq(zone->apex, apex))
                return 1;
        }
    }
    return 0;
}

static int each_zone(const sg_runtime *rt, zone_fn fn, void *arg)
{
    for (int b = 0; b < rt->nblocks; b++) {
        const sg_server_block *sb = &rt->blocks[b];
        const sg_key_provider *keys = NULL;
        for (int i = 0; i < sb->nhandlers && !keys; i++) {
            const sg_handler *h = &sb->handlers[i];
            if (h->plugin->service)
                keys = h->plugin->service(h->state, SG_SERVICE_KEYS);
        }
        for (int i = 0; i < sb->nhandlers; i++) {
            const sg_handler *h = &sb->handlers[i];
            if (!h->plugin->nzones || !h->plugin->zone)
                continue;
            for (int z = 0; z < h->plugin->nzones(h->state); z++) {
                const sg_zone *zone = h->plugin->zone(h->state, z);
                if (!zone)
                    continue; /* a secondary zone not transferred yet, or expired */
                if (served_before(sb, i, zone->apex))
                    continue;
                const sg_keyset *k = keys ? keys->keys(keys->self, zone->apex) : NULL;
                if (fn(arg, zone, k, k ? k->policy.name : NULL))
                    return 1;
            }
        }
    }
    return 0;
}

static int add_zone(void *arg, const sg_zone *z, const sg_keyset *k, const char *policy)
{
    json_array_append_new(arg, zone_json(z, k));
    return 0;
}

static json_t *do_status(sg_daemon *d)
{
    time_t now = time(NULL);
    json_t *listeners = json_array(), *zones = json_array();
    int n;
    const sg_listen_addr *addrs = sg_server_addrs(d->srv, &n);
    for (int i = 0; i < n; i++)
        json_array_append_new(listeners, json_pack("{s:s, s:s}", "address", addrs[i].text,
                                                   "transport", transport_of(&addrs[i])));
    each_zone(d->rt, add_zone, zones);
    return json_pack("{s:b, s:s, s:I, s:I, s:I, s:i, s:o, s:o, s:I, s:I, s:I}", "ok", 1,
                     "version", SIGNET_VERSION, "pid", (json_int_t)getpid(),
                     "started", (json_int_t)d->started, "uptime", (json_int_t)(now - d->started),
                     "workers", sg_server_nworkers(d->srv), "listeners", listeners,
                     "zones", zones, "reloads", (json_int_t)d->reloads,
                     "reload_failures", (json_int_t)d->reload_failures,
                     "last_reload", (json_int_t)d->last_reload);
}

typedef struct zone_find {
    uint8_t apex[SG_NAME_MAX];
    json_t *out;
} zone_find;

static int find_zone(void *arg, const sg_zone *z, const sg_keyset *k, const char *policy)
{
    zone_find *f = arg;
    if (!sg_name_eq(z->apex, f->apex))
        return 0;
    json_t *o = zone_json(z, k);
    json_object_set_new(o, "ok", json_true());
    if (k) {
        json_t *keys = json_array();
        /* a CSK is in both lists; report each key once with the role it plays */
        for (int i = 0; i < k->nksk; i++) {
            int both = 0;
            for (int j = 0; j < k->nzsk; j++)
                both |= k->zsk[j].id == k->ksk[i].id;
            json_array_append_new(keys, json_pack("{s:I, s:i, s:i, s:s}", "id", (json_int_t)k->ksk[i].id,
                                                  "tag", k->ksk[i].key_tag, "algorithm", k->ksk[i].algorithm,
                                                  "role", both ? "csk" : "ksk"));
        }
        for (int j = 0; j < k->nzsk; j++) {
            int both = 0;
            for (int i = 0; i < k->nksk; i++)
                both |= k->zsk[j].id == k->ksk[i].id;
            if (!both)
                json_array_append_new(keys, json_pack("{s:I, s:i, s:i, s:s}", "id", (json_int_t)k->zsk[j].id,
                                                      "tag", k->zsk[j].key_tag, "algorithm",
                                                      k->zsk[j].algorithm, "role", "zsk"));
        }
        json_object_set_new(o, "signing_keys", keys);
        json_object_set_new(o, "dnskey_count", json_integer(k->dnskey.count));
        json_object_set_new(o, "policy", json_string(policy ? policy : ""));
    }
    f->out = o;
    return 1;
}

static json_t *do_zone_status(sg_daemon *d, const char *zone)
{
    zone_find f = { .out = NULL };
    if (!zone || sg_name_from_str(zone, (const uint8_t *)"", f.apex))
        return fail_reply("zone-status: expected a zone name");
    sg_name_lower(f.apex);
    each_zone(d->rt, find_zone, &f);
    if (!f.out) {
        char msg[1200];
        snprintf(msg, sizeof msg, "zone %s is not served", zone);
        return fail_reply(msg);
    }
    return f.out;
}

/* zone-records: the served version's records as presentation lines, for `signetctl zone
 * diff`. The zone as the file plugin (or a transfer) gave it, before online signing: no
 * RRSIG, NSEC or NSEC3 of ours is in it. Bounded to what the client reads (4 MiB). */
#define RECORDS_TEXT_MAX (3u << 20)

typedef struct zone_records {
    uint8_t apex[SG_NAME_MAX];
    json_t *out;
    size_t bytes;
} zone_records;

static int add_record(void *arg, uint16_t type, char *line)
{
    zone_records *r = arg;
    size_t n = strlen(line);
    while (n && line[n - 1] == '\n')
        line[--n] = 0;
    r->bytes += n + 16; /* JSON quoting and escapes (tabs) */
    if (r->bytes > RECORDS_TEXT_MAX)
        return SG_ESPACE;
    return json_array_append_new(json_object_get(r->out, "records"), json_string(line)) ? SG_ENOMEM : 0;
}

static int records_of(void *arg, const sg_zone *z, const sg_keyset *k, const char *policy)
{
    zone_records *r = arg;
    if (!sg_name_eq(z->apex, r->apex))
        return 0;
    r->out = json_pack("{s:b, s:s, s:I, s:o, s:o}", "ok", 1, "zone", z->apex_str,
                       "serial", (json_int_t)z->serial,
                       "file", z->path ? json_string(z->path) : json_null(), "records", json_array());
    int rc = r->out ? sg_zone_each_record_text(z, add_record, r) : SG_ENOMEM;
    if (rc) {
        char msg[1300];
        if (rc == SG_ESPACE)
            snprintf(msg, sizeof msg, "zone %s has more records than the control socket carries "
                     "(%u bytes of text)", z->apex_str, RECORDS_TEXT_MAX);
        else
            snprintf(msg, sizeof msg, "zone %s: %s", z->apex_str, sg_strerror(rc));
        json_decref(r->out);
        r->out = fail_reply(msg);
    }
    return 1;
}

static json_t *do_zone_records(sg_daemon *d, const char *zone)
{
    zone_records r = { .out = NULL };
    if (!zone || sg_name_from_str(zone, (const uint8_t *)"", r.apex))
        return fail_reply("zone-records: expected a zone name");
    sg_name_lower(r.apex);
    each_zone(d->rt, records_of, &r);
    if (!r.out) {
        char msg[1200];
        snprintf(msg, sizeof msg, "zone %s is not served", zone);
        return fail_reply(msg);
    }
    return r.out;
}

/* The daemon's own metrics source: uptime, reloads, workers, connections. */
static int daemon_metrics(sg_metrics_out *out, void *ctx)
{
    sg_daemon *d = ctx;
    sg_metrics_family(out, "signet_uptime_seconds", SG_METRIC_GAUGE, "Seconds since signetd started.");
    sg_metrics_family(out, "signet_reloads_total", SG_METRIC_COUNTER, "Reloads that loaded everything.");
    sg_metrics_family(out, "signet_reload_failures_total", SG_METRIC_COUNTER,
                      "Reloads that failed or kept an old version of something.");
    sg_metrics_family(out, "signet_workers", SG_METRIC_GAUGE, "Worker threads.");
    sg_metrics_family(out, "signet_tcp_connections", SG_METRIC_GAUGE, "TCP connections open now.");
    sg_metrics_add_u64(out, "signet_uptime_seconds", NULL, NULL, (uint64_t)(time(NULL) - d->started));
    sg_metrics_add_u64(out, "signet_reloads_total", NULL, NULL, d->reloads);
    sg_metrics_add_u64(out, "signet_reload_failures_total", NULL, NULL, d->reload_failures);
    sg_metrics_add_u64(out, "signet_workers", NULL, NULL, (uint64_t)sg_server_nworkers(d->srv));
    sg_metrics_add_u64(out, "signet_tcp_connections", NULL, NULL, sg_server_tcp_connections(d->srv));
    /* zones (zones/zonedb.c) and signature caches (dnssec/dnssec_metrics.c) register
     * their own sources, so that /metrics has them without a control socket too */
    return 0;
}

/* Every registered metrics source, in the Prometheus text format. */
static json_t *do_stats(void)
{
    sg_buf b;
    sg_buf_init(&b);
    json_t *o = sg_metrics_render(&b) ? fail_reply("out of memory")
              : json_pack("{s:b, s:s, s:s}", "ok", 1, "format", "prometheus", "text", b.len ? b.data : "");
    sg_buf_deinit(&b);
    return o;
}

static json_t *do_reload(sg_daemon *d, const char *zone)
{
    char err[8192];
    int rc = sg_daemon_reload(d, zone, err, sizeof err);
    size_t n = strlen(err);
    while (n && err[n - 1] == '\n')
        err[--n] = 0;
    if (rc == 0) /* no warnings: null, not "" */
        return json_pack("{s:b, s:s, s:o}", "ok", 1, "message", zone ? "zone reloaded" : "reloaded",
                         "warnings", err[0] ? json_string(err) : json_null());
    if (!err[0])
        snprintf(err, sizeof err, "%s", sg_strerror(rc));
    return json_pack("{s:b, s:s}", "ok", 0, "error", err);
}

/* One request line: the reply object as a JSON line, malloc'd, newline-terminated;
 * *stop_out is set when the client asked the daemon to stop (the caller raises SIGTERM once
 * the reply is sent). */
static char *handle_line(sg_daemon *d, const char *line, int *stop_out)
{
    json_error_t jerr;
    json_t *req = json_loads(line, JSON_REJECT_DUPLICATES, &jerr), *rep = NULL;
    const char *cmd = req ? json_string_value(json_object_get(req, "cmd")) : NULL;
    const char *zone = req ? json_string_value(json_object_get(req, "zone")) : NULL;
    int stop = 0;
    if (!cmd) {
        rep = fail_reply("bad request: expected {\"cmd\": ...}");
    } else if (!strcmp(cmd, "reload")) {
        rep = do_reload(d, zone);
    } else if (!strcmp(cmd, "stats")) {
        rep = do_stats();
    } else if (!strcmp(cmd, "zones-changed")) {
        /* signetctl changed the keystore's served zones: whatever follows them looks now */
        sg_served_news_tell();
        rep = json_pack("{s:b, s:s}", "ok", 1, "message", "told");
    } else if (!strcmp(cmd, "stop")) {
        rep = json_pack("{s:b, s:s}", "ok", 1, "message", "stopping");
        stop = 1;
    } else {
        /* readers of the runtime hold the lock so that a reload cannot free it under them */
        pthread_mutex_lock(&d->lock);
        if (!strcmp(cmd, "status"))
            rep = do_status(d);
        else if (!strcmp(cmd, "zone-status"))
            rep = do_zone_status(d, zone);
        else if (!strcmp(cmd, "zone-records"))
            rep = do_zone_records(d, zone);
        else
            rep = fail_reply("unknown command");
        pthread_mutex_unlock(&d->lock);
    }
    json_decref(req);
    char *s = rep ? json_dumps(rep, JSON_COMPACT) : NULL;
    json_decref(rep);
    if (!s)
        s = strdup("{\"ok\":false,\"error\":\"out of memory\"}");
    char *out = s ? malloc(strlen(s) + 2) : NULL;
    if (out)
        sprintf(out, "%s\n", s);
    free(s);
    *stop_out = stop;
    return out;
}

/* ---- the thread ------------------------------------------------------------------ */

static int64_t ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for fd to be ready (POLLIN/POLLOUT) before deadline; 0 ready, -1 timeout or stop. */
static int wait_fd(sg_control *c, int fd, short ev, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - ms_now();
        if (left <= 0)
            return -1;
        struct pollfd p[2] = { { fd, ev, 0 }, { c->wake, POLLIN, 0 } };
        int r = poll(p, 2, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 || p[1].revents)
            return -1;
        if (r > 0)
            return 0;
    }
}

static void send_all(sg_control *c, int fd, const char *s)
{
    size_t len = strlen(s), off = 0;
    int64_t deadline = ms_now() + SG_CONTROL_TIMEOUT_MS;
    while (off < len) {
        ssize_t w = send(fd, s + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            off += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && wait_fd(c, fd, POLLOUT, deadline) == 0)
            continue;
        return;
    }
}

static void serve_client(sg_control *c, int fd)
{
    struct ucred cr;
    socklen_t cl = sizeof cr;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) != 0 ||
        (cr.uid != 0 && cr.uid != geteuid())) {
        sg_log(SG_LOG_WARN, "control", NULL, "refused a client with uid %ld",
               cl == sizeof cr ? (long)cr.uid : -1L);
        send_all(c, fd, "{\"ok\":false,\"error\":\"permission denied\"}\n");
        return;
    }
    char buf[SG_CONTROL_REQUEST_MAX + 1];
    size_t len = 0;
    int64_t deadline = ms_now() + SG_CONTROL_TIMEOUT_MS;
    for (;;) {
        char *nl = memchr(buf, '\n', len);
        if (nl) {
            *nl = 0;
            break;
        }
        if (len == SG_CONTROL_REQUEST_MAX) {
            send_all(c, fd, "{\"ok\":false,\"error\":\"request too long\"}\n");
            return;
        }
        if (wait_fd(c, fd, POLLIN, deadline))
            return; /* too slow, or we are stopping */
        ssize_t r = recv(fd, buf + len, SG_CONTROL_REQUEST_MAX - len, MSG_DONTWAIT);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r <= 0)
            return;
        len += (size_t)r;
    }
    int stop = 0;
    char *reply = handle_line(c->d, buf, &stop);
    if (reply)
        send_all(c, fd, reply);
    free(reply);
    if (stop) /* the signal loop stops the server: workers finish what they hold */
        kill(getpid(), SIGTERM);
}

static void *control_main(void *arg)
{
    sg_control *c = arg;
    for (;;) {
        struct pollfd p[2] = { { c->fd, POLLIN, 0 }, { c->wake, POLLIN, 0 } };
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[1].revents)
            break;
        int fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
            continue;
        serve_client(c, fd);
        close(fd);
    }
    return NULL;
}

int sg_control_start(sg_control *c, sg_daemon *d)
{
    c->d = d;
    if (sg_metrics_register(daemon_metrics, d))
        sg_log(SG_LOG_WARN, "control", NULL, "daemon metrics not registered");
    if (pthread_create(&c->thread, NULL, control_main, c) != 0) {
        sg_log(SG_LOG_ERR, "control", NULL, "cannot start the control thread");
        sg_metrics_unregister(daemon_metrics, d);
        return SG_EIO;
    }
    pthread_setname_np(c->thread, "sg-control");
    c->started = 1;
    return 0;
}

void sg_control_free(sg_control *c)
{
    if (!c)
        return;
    if (c->started) {
        uint64_t one = 1;
        ssize_t w = write(c->wake, &one, sizeof one);
        (void)w;
        pthread_join(c->thread, NULL);
        sg_metrics_unregister(daemon_metrics, c->d);
    }
    close(c->fd);
    close(c->wake);
    if (unlink(c->path) != 0 && errno != ENOENT)
        sg_log(SG_LOG_WARN, "control", NULL, "cannot remove %s: %s", c->path, strerror(errno));
    free(c);
}
