/* SPDX-License-Identifier: MIT */
/* The process-wide global options: control socket, service user, pid file, log target. */
#include "daemon/control.h"
#include "daemon/runtime.h"

#include <pwd.h>
#include <stdio.h>
#include <string.h>

void sg_proc_defaults(sg_proc_options *o)
{
    memset(o, 0, sizeof *o);
    snprintf(o->control, sizeof o->control, "%s", SG_CONTROL_DEFAULT);
    snprintf(o->log_target, sizeof o->log_target, "stderr");
    snprintf(o->log_format, sizeof o->log_format, "text");
}

static int one_path(const sg_cfg_block *d, char *out, size_t cap, const char *what)
{
    if (d->nargs != 1 || d->has_block || !d->args[0][0])
        return sg_cfg_error(d, "%s: expected %s", d->name, what);
    if (strlen(d->args[0]) >= cap)
        return sg_cfg_error(d, "%s: '%s' is longer than %zu bytes", d->name, d->args[0], cap - 1);
    snprintf(out, cap, "%s", d->args[0]);
    return 0;
}

int sg_proc_option(const sg_cfg_block *d, sg_proc_options *o)
{
    if (!strcmp(d->name, "control")) {
        int rc = one_path(d, o->control, sizeof o->control, "a socket path, or 'off'");
        if (!rc && !strcmp(o->control, "off"))
            o->control[0] = 0;
        else if (!rc && o->control[0] != '/')
            return sg_cfg_error(d, "control: expected an absolute socket path, or 'off'");
        return rc;
    }
    if (!strcmp(d->name, "user")) {
        int rc = one_path(d, o->user, sizeof o->user, "a user name");
        char buf[16384];
        struct passwd pw, *res = NULL;
        /* here, so that -t names the line; the start looks it up again to drop to it */
        if (!rc && (getpwnam_r(o->user, &pw, buf, sizeof buf, &res) || !res))
            return sg_cfg_error(d, "user: no user '%s' on this host", o->user);
        return rc;
    }
    if (!strcmp(d->name, "pid-file")) {
        int rc = one_path(d, o->pid_file, sizeof o->pid_file, "a file path");
        if (!rc && o->pid_file[0] != '/')
            return sg_cfg_error(d, "pid-file: expected an absolute path");
        return rc;
    }
    if (!strcmp(d->name, "core-dumps")) {
        if (d->nargs != 1 || d->has_block || (strcmp(d->args[0], "on") && strcmp(d->args[0], "off")))
            return sg_cfg_error(d, "core-dumps: expected on or off");
        o->core_dumps = !strcmp(d->args[0], "on");
        return 0;
    }
    if (!strcmp(d->name, "cookie-secret")) {
        /* RFC 9018: servers behind one address (anycast) share it so that each takes the
         * others' cookies; checked here, applied at start and reload */
        int ok = d->nargs == 1 && !d->has_block && strlen(d->args[0]) == 32;
        for (int i = 0; ok && i < 32; i++)
            ok = strchr("0123456789abcdefABCDEF", d->args[0][i]) != NULL;
        if (!ok)
            return sg_cfg_error(d, "cookie-secret: expected 32 hex digits (a 128-bit SipHash key)");
        o->cookie_secret = d->args[0]; /* the tree outlives the options (the runtime's cfg) */
        return 0;
    }
    if (!strcmp(d->name, "log-format")) {
        if (d->nargs != 1 || d->has_block || (strcmp(d->args[0], "text") && strcmp(d->args[0], "json")))
            return sg_cfg_error(d, "log-format: expected text or json");
        snprintf(o->log_format, sizeof o->log_format, "%s", d->args[0]);
        return 0;
    }
    if (!strcmp(d->name, "log-target")) {
        if (d->nargs != 1 || (strcmp(d->args[0], "stderr") && strcmp(d->args[0], "syslog")))
            return sg_cfg_error(d, "log-target: expected stderr or syslog");
        snprintf(o->log_target, sizeof o->log_target, "%s", d->args[0]);
        return 0;
    }
    return 1;
}
