/* SPDX-License-Identifier: MIT */
/* signetd: read the config, bind, drop privileges, serve; SIGHUP reloads, SIGTERM/SIGINT
 * stop, and so does the control socket. */
#include "common/mem.h"
#include "daemon/control.h"
#include "daemon/daemon.h"
#include "daemon/process_metrics.h"
#include "daemon/process_user.h"
#include "daemon/runtime.h"
#include "daemon/server.h"
#include "common/cfg.h"
#include "common/cookie.h"
#include "common/log.h"
#include "common/secure_heap.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef SIGNET_VERSION
#define SIGNET_VERSION "0.0.0"
#endif

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: signetd -c FILE [-t] [-l LEVEL]\n"
            "\n"
            "Signet authoritative DNS server.\n"
            "\n"
            "  -c, --config FILE     configuration file (Corefile style)\n"
            "  -t, --check           check the configuration and zones, then exit\n"
            "  -l, --log-level LVL   error, warning, info (default) or debug\n"
            "  -h, --help            this help\n"
            "  -V, --version         print the version\n"
            "\n"
            "Signals: SIGHUP reloads the configuration and changed zones; SIGTERM and\n"
            "SIGINT stop the server.\n");
}

/* Before anything stops: each plugin learns that the process is stopping (`ready` turns
 * 503) and says how long to go on serving (`health`'s lameduck, CoreDNS's); the longest
 * wait is kept, serving as before. A second SIGTERM or SIGINT ends the wait. */
static void lameduck(sg_daemon *d, const sigset_t *set)
{
    unsigned ms = 0;
    pthread_mutex_lock(&d->lock);
    for (int b = 0; d->rt && b < d->rt->nblocks; b++)
        for (int i = 0; i < d->rt->blocks[b].nhandlers; i++) {
            sg_handler *h = &d->rt->blocks[b].handlers[i];
            unsigned w = h->plugin->stopping ? h->plugin->stopping(h->state) : 0;
            if (w > ms)
                ms = w;
        }
    pthread_mutex_unlock(&d->lock);
    if (!ms)
        return;
    sg_log(SG_LOG_INFO, "signetd", NULL, "lameduck: serving %u ms more before stopping", ms);
    struct timespec end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_sec += ms / 1000;
    end.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (end.tv_nsec >= 1000000000L) {
        end.tv_sec++;
        end.tv_nsec -= 1000000000L;
    }
    for (;;) {
        struct timespec now, left;
        clock_gettime(CLOCK_MONOTONIC, &now);
        left.tv_sec = end.tv_sec - now.tv_sec;
        left.tv_nsec = end.tv_nsec - now.tv_nsec;
        if (left.tv_nsec < 0) {
            left.tv_sec--;
            left.tv_nsec += 1000000000L;
        }
        if (left.tv_sec < 0)
            return;
        int sig = sigtimedwait(set, NULL, &left);
        if (sig == SIGTERM || sig == SIGINT) {
            sg_log(SG_LOG_INFO, "signetd", NULL, "lameduck cut short by a second signal");
            return;
        }
        if (sig < 0 && errno == EAGAIN)
            return;
        /* SIGHUP: no reload while stopping */
    }
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "check", no_argument, NULL, 't' },
        { "log-level", required_argument, NULL, 'l' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    const char *cfg_path = NULL;
    int check = 0, c;
    while ((c = getopt_long(argc, argv, "c:tl:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': cfg_path = optarg; break;
        case 't': check = 1; break;
        case 'l': {
            enum sg_log_level lvl;
            if (sg_log_parse_level(optarg, &lvl)) {
                fprintf(stderr, "signetd: bad log level '%s'\n", optarg);
                return 2;
            }
            sg_log_set_level(lvl);
            break;
        }
        case 'h': usage(stdout); return 0;
        case 'V': printf("signetd %s\n", SIGNET_VERSION); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!cfg_path || optind != argc) {
        usage(stderr);
        return 2;
    }

    /* before any secret is read: no core dump, no ptrace by others (issue 15: a core held
     * every zone's private key); `core-dumps on` undoes it for debugging */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    sg_mem_tune(); /* before the first zone is read: see common/mem.h */
    /* before any key is loaded: private keys in locked memory left out of core dumps.
     * Not in ASan builds: LeakSanitizer does not scan the secure heap's mapping, so heap
     * objects that OpenSSL reaches only from there (seen with TSIG's HMAC contexts in
     * integ.transfer) are reported as leaks although they are not (the same run without
     * the secure heap is clean). */
#if !defined(__SANITIZE_ADDRESS__)
    if (!check)
        sg_secure_heap_init(SG_SECURE_HEAP_BYTES);
#endif
    /* Signals are taken synchronously by this thread; no other thread may see them. They
     * are blocked before the runtime is built, because setup already starts threads
     * (transfer versions, the metrics listener) that inherit this mask: a SIGTERM that
     * reached one of them would kill the process instead of stopping it. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    if (!check)
        pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    sg_runtime_set_plugins(sg_plugin_order); /* plugin.cfg, generated at build time */
    /* the log format first, so that the lines of loading the zones have it too */
    sg_cfg *pre = NULL;
    enum sg_log_level level = sg_log_get_level();
    sg_log_set_level(SG_LOG_SILENT); /* its errors are said once, by the real parse below */
    int pre_rc = check ? -1 : sg_cfg_parse_file(cfg_path, &pre);
    sg_log_set_level(level);
    if (pre_rc == 0 && pre->global)
        for (int i = 0; i < pre->global->nchildren; i++) {
            const sg_cfg_block *d = &pre->global->children[i];
            if (!strcmp(d->name, "log-format") && d->nargs == 1)
                sg_log_set_format(d->args[0]);
        }
    sg_cfg_free(pre);
    sg_runtime *rt = NULL;
    int rc = sg_runtime_build(cfg_path, check, &rt);
    if (check) {
        if (rc == 0)
            printf("%s: configuration and zones OK\n", cfg_path);
        sg_runtime_free(rt);
        return rc ? 1 : 0;
    }
    if (rc)
        return 1;

    const sg_proc_options po = rt->opt.proc;
    if (strcmp(po.log_target, "stderr"))
        sg_log_set_target(po.log_target, "signetd");
    sg_log_set_format(po.log_format);
    sg_cookie_set_secret(po.cookie_secret);
    if (po.core_dumps) {
        prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
        sg_log(SG_LOG_WARN, "signetd", NULL, "core-dumps on: a core of this process can be "
               "written (secrets in the secure heap are still left out)");
    }
    uid_t uid = (uid_t)-1;
    gid_t gid = (gid_t)-1;
    if (po.user[0] && sg_user_lookup(po.user, &uid, &gid)) {
        sg_runtime_free(rt);
        return 1;
    }


    sg_daemon d = { .cfg_path = cfg_path, .rt = rt, .started = time(NULL) };
    pthread_mutex_init(&d.lock, NULL);
    sg_control *ctl = NULL;
    int pid_written = 0;
    /* everything that needs root (ports below 1024, the socket's owner, the pid file's
     * directory) happens before the drop; threads start after it */
    if ((rc = sg_server_new(rt, &d.srv)))
        goto fail;
    if (po.control[0] && !strcmp(po.control, SG_CONTROL_DEFAULT) && access(SG_CONTROL_DIR, F_OK) != 0)
        /* not installed as a service (no runtime directory): quietly without one */
        sg_log(SG_LOG_INFO, "signetd", NULL, "no control socket: %s does not exist", SG_CONTROL_DIR);
    else if (po.control[0] && sg_control_open(po.control, uid, gid, &ctl))
        sg_log(SG_LOG_WARN, "signetd", NULL, "running without a control socket");
    if (po.pid_file[0]) {
        if ((rc = sg_pidfile_write(po.pid_file)))
            goto fail;
        pid_written = 1;
    }
    if (po.user[0])
        sg_user_check_files(rt, po.user, uid);
    if ((po.user[0] && (rc = sg_user_drop(po.user, uid, gid))) || (rc = sg_caps_drop()))
        goto fail;
    int n;
    const sg_listen_addr *addrs = sg_server_addrs(d.srv, &n);
    if ((rc = sg_runtime_map_sockets(rt, addrs, n)) || (rc = sg_runtime_start(rt)) ||
        (rc = sg_server_start(d.srv, rt))) {
        sg_log(SG_LOG_ERR, "signetd", NULL, "cannot start: %s", sg_strerror(rc));
        goto fail;
    }
    if (ctl && sg_control_start(ctl, &d)) {
        sg_control_free(ctl);
        ctl = NULL;
    }
    for (int i = 0; i < n; i++)
        sg_log(SG_LOG_INFO, "signetd", NULL, "listening on %s (%s)", addrs[i].text,
               addrs[i].tls ? "dns over tls" : "udp, tcp");
    if (ctl)
        sg_log(SG_LOG_INFO, "signetd", NULL, "control socket %s", po.control);
    if (sg_process_metrics_register())
        sg_log(SG_LOG_WARN, "signetd", NULL, "process metrics not registered");
    sg_log(SG_LOG_INFO, "signetd", NULL, "signetd %s started", SIGNET_VERSION);
    sg_mem_release();
    sg_notify("READY=1");

    for (;;) {
        int sig;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            char err[4096];
            sg_daemon_reload(&d, NULL, err, sizeof err);
            continue;
        }
        sg_log(SG_LOG_INFO, "signetd", NULL, "stopping on %s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
        break;
    }
    lameduck(&d, &set);
    sg_notify("STOPPING=1");
    sg_control_free(ctl);  /* no reload can start after this */
    sg_server_free(d.srv); /* joins the workers first */
    sg_runtime_free(d.rt);
    if (pid_written)
        sg_pidfile_remove(po.pid_file);
    pthread_mutex_destroy(&d.lock);
    sg_log(SG_LOG_INFO, "signetd", NULL, "stopped");
    return 0;
fail:
    sg_control_free(ctl);
    sg_server_free(d.srv);
    sg_runtime_free(rt);
    if (pid_written)
        sg_pidfile_remove(po.pid_file);
    return 1;
}
