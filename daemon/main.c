/* SPDX-License-Identifier: MIT */
/* signetd: read the config, bind, serve; SIGHUP reloads, SIGTERM/SIGINT stop. */
#include "daemon/runtime.h"
#include "daemon/server.h"
#include "common/log.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static int reload(const char *path, sg_server *srv, sg_runtime **rtp)
{
    sg_log(SG_LOG_INFO, "signetd", NULL, "reloading %s", path);
    sg_runtime *nrt = NULL;
    int rc = sg_runtime_build(path, 0, &nrt);
    if (rc) {
        sg_log(SG_LOG_ERR, "signetd", NULL, "reload failed (%s); the running configuration stays",
               sg_strerror(rc));
        return rc;
    }
    int n;
    const sg_listen_addr *addrs = sg_server_addrs(srv, &n);
    for (int t = 0; t < nrt->ntables; t++) {
        int bound = 0;
        for (int i = 0; i < n; i++)
            if (addrs[i].len == nrt->tables[t].addr.len &&
                !memcmp(&addrs[i].ss, &nrt->tables[t].addr.ss, addrs[i].len))
                bound = 1;
        if (!bound)
            sg_log(SG_LOG_WARN, "signetd", NULL, "%s is not listened on; a new address needs a restart",
                   nrt->tables[t].addr.text);
    }
    if ((rc = sg_runtime_map_sockets(nrt, addrs, n)) || (rc = sg_runtime_start(nrt))) {
        sg_runtime_free(nrt);
        return rc;
    }
    sg_runtime *old = sg_server_swap(srv, nrt);
    *rtp = nrt;
    sg_runtime_free(old);
    sg_log(SG_LOG_INFO, "signetd", NULL, "reload done");
    return 0;
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

    /* signals are taken synchronously by this thread; workers never see them */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    sg_server *srv = NULL;
    if ((rc = sg_server_new(rt, &srv))) {
        sg_runtime_free(rt);
        return 1;
    }
    int n;
    const sg_listen_addr *addrs = sg_server_addrs(srv, &n);
    if ((rc = sg_runtime_map_sockets(rt, addrs, n)) || (rc = sg_runtime_start(rt)) ||
        (rc = sg_server_start(srv, rt))) {
        sg_log(SG_LOG_ERR, "signetd", NULL, "cannot start: %s", sg_strerror(rc));
        sg_server_free(srv);
        sg_runtime_free(rt);
        return 1;
    }
    for (int i = 0; i < n; i++)
        sg_log(SG_LOG_INFO, "signetd", NULL, "listening on %s (udp, tcp)", addrs[i].text);
    sg_log(SG_LOG_INFO, "signetd", NULL, "signetd %s started", SIGNET_VERSION);

    for (;;) {
        int sig;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            reload(cfg_path, srv, &rt);
            continue;
        }
        sg_log(SG_LOG_INFO, "signetd", NULL, "stopping on %s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
        break;
    }
    sg_server_free(srv); /* joins the workers first */
    sg_runtime_free(rt);
    sg_log(SG_LOG_INFO, "signetd", NULL, "stopped");
    return 0;
}
