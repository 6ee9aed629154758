/* SPDX-License-Identifier: MIT */
/* Running as the service user: look the user up before binding, drop root after. */
#include "daemon/process_user.h"
#include "daemon/runtime.h"
#include "common/errors.h"
#include "common/log.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <pwd.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int sg_user_lookup(const char *name, uid_t *uid_out, gid_t *gid_out)
{
    long sz = sysconf(_SC_GETPW_R_SIZE_MAX);
    size_t cap = sz > 0 ? (size_t)sz : 16384;
    char *buf = malloc(cap);
    struct passwd pw, *res = NULL;
    if (!buf)
        return SG_ENOMEM;
    int e = getpwnam_r(name, &pw, buf, cap, &res);
    if (e || !res) {
        sg_log(SG_LOG_ERR, "signetd", NULL, "user '%s': %s", name, e ? strerror(e) : "no such user");
        free(buf);
        return SG_ENOTFOUND;
    }
    *uid_out = pw.pw_uid;
    *gid_out = pw.pw_gid;
    free(buf);
    return 0;
}

int sg_user_drop(const char *name, uid_t uid, gid_t gid)
{
    if (geteuid() != 0) {
        if (geteuid() == uid)
            return 0;
        sg_log(SG_LOG_ERR, "signetd", NULL, "user %s: only root can change user (running as uid %ld)",
               name, (long)geteuid());
        return SG_EINVAL;
    }
    /* supplementary groups first, while we still may; then the group, then the user */
    if (initgroups(name, gid) != 0 && setgroups(1, &gid) != 0) {
        sg_log(SG_LOG_ERR, "signetd", NULL, "setgroups for %s: %s", name, strerror(errno));
        return SG_EIO;
    }
    if (setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0) {
        sg_log(SG_LOG_ERR, "signetd", NULL, "cannot become %s: %s", name, strerror(errno));
        return SG_EIO;
    }
    /* a process that could get root back has not dropped it */
    uid_t r, e, s;
    gid_t rg, eg, sgid;
    if (getresuid(&r, &e, &s) != 0 || r != uid || e != uid || s != uid ||
        getresgid(&rg, &eg, &sgid) != 0 || rg != gid || eg != gid || sgid != gid ||
        (uid != 0 && setuid(0) == 0)) {
        sg_log(SG_LOG_ERR, "signetd", NULL, "dropping to %s did not stick", name);
        return SG_EIO;
    }
    sg_log(SG_LOG_INFO, "signetd", NULL, "running as %s (uid %ld, gid %ld)", name, (long)uid, (long)gid);
    return 0;
}

int sg_caps_drop(void)
{
    if (geteuid() == 0)
        return 0; /* root without `user`: nothing to give up that would matter */
    struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct d[2];
    memset(d, 0, sizeof d);
    if (syscall(SYS_capget, &h, d) == 0 && !d[0].permitted && !d[1].permitted)
        return 0;
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    memset(d, 0, sizeof d);
    if (syscall(SYS_capset, &h, d) != 0) {
        sg_log(SG_LOG_ERR, "signetd", NULL, "cannot drop capabilities: %s", strerror(errno));
        return SG_EIO;
    }
    sg_log(SG_LOG_INFO, "signetd", NULL, "capabilities dropped after binding");
    return 0;
}

static void check_writable(const char *path, const char *what, uid_t uid, const char *user)
{
    struct stat st;
    if (stat(path, &st) != 0 || st.st_uid == uid)
        return;
    sg_log(SG_LOG_WARN, "signetd", NULL, "%s %s is owned by uid %ld, not by %s: once signetd runs "
           "as %s, key changes and rollovers cannot be written; chown it and its directory to %s",
           what, path, (long)st.st_uid, user, user, user);
}

typedef struct check_arg {
    uid_t uid;
    const char *user;
} check_arg;

static void check_written(void *arg, const char *path, const char *what)
{
    const check_arg *a = arg;
    check_writable(path, what, a->uid, a->user);
    char dir[1100], dwhat[200];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = 0;
        snprintf(dwhat, sizeof dwhat, "%s directory", what);
        check_writable(dir, dwhat, a->uid, a->user);
    }
}

void sg_user_check_files(const sg_runtime *rt, const char *user, uid_t uid)
{
    if (!rt || !user || !*user || geteuid() != 0)
        return;
    check_arg a = { uid, user };
    for (int b = 0; b < rt->nblocks; b++)
        for (int i = 0; i < rt->blocks[b].nhandlers; i++) {
            const sg_handler *h = &rt->blocks[b].handlers[i];
            if (h->plugin->writes)
                h->plugin->writes(h->state, check_written, &a);
        }
}
