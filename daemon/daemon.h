/* SPDX-License-Identifier: MIT */
/* The running daemon as the signal loop and the control socket see it: the server, the
 * current runtime and how to replace it. */
#ifndef SG_DAEMON_H
#define SG_DAEMON_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "daemon/runtime.h"
#include "daemon/server.h"

typedef struct sg_daemon {
    const char *cfg_path;
    sg_server *srv;
    sg_runtime *rt;          /* the current generation; replaced only under lock */
    pthread_mutex_t lock;    /* serialises reloads and readers of rt outside the workers */
    time_t started;
    uint64_t reloads;        /* successful */
    uint64_t reload_failures;
    time_t last_reload;
} sg_daemon;

/* Build a new runtime from the config file beside the running one and swap it in; queries
 * in flight finish on the old one, which is then freed. zone: re-read only that zone's
 * file (presentation name; every other zone keeps its loaded version), NULL for all that
 * changed. Error and warning lines logged meanwhile go into err (cap bytes, "" when none).
 * Returns 0 when everything loaded, SG_ENOTFOUND when zone is not served, or another SG_E*
 * (what could not load keeps its previous version). Takes d->lock. */
int sg_daemon_reload(sg_daemon *d, const char *zone, char *err, size_t cap);

/* Tell systemd (Type=notify) about a state change, e.g. "READY=1", when $NOTIFY_SOCKET is
 * set; otherwise does nothing. */
void sg_notify(const char *state);

#endif
