/* SPDX-License-Identifier: MIT */
/* The pid file: written before dropping privileges, removed at exit. */
#include "daemon/process_user.h"
#include "common/errors.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long read_pid(const char *path)
{
    FILE *f = fopen(path, "r");
    long pid = 0;
    if (!f)
        return 0;
    if (fscanf(f, "%ld", &pid) != 1)
        pid = 0;
    fclose(f);
    return pid;
}

int sg_pidfile_write(const char *path)
{
    long old = read_pid(path);
    if (old > 0 && old != (long)getpid() && (kill((pid_t)old, 0) == 0 || errno == EPERM)) {
        sg_log(SG_LOG_ERR, "signetd", NULL, "pid file %s: process %ld is still running", path, old);
        return SG_EEXIST;
    }
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        sg_log(SG_LOG_ERR, "signetd", NULL, "pid file %s: %s", tmp, strerror(errno));
        return SG_EIO;
    }
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    int ok = write(fd, buf, (size_t)n) == n;
    ok &= close(fd) == 0;
    /* rename: a reader sees the old file or the whole new one */
    if (!ok || rename(tmp, path) != 0) {
        sg_log(SG_LOG_ERR, "signetd", NULL, "pid file %s: %s", path, strerror(errno));
        unlink(tmp);
        return SG_EIO;
    }
    return 0;
}

void sg_pidfile_remove(const char *path)
{
    if (read_pid(path) != (long)getpid())
        return;
    if (unlink(path) != 0)
        sg_log(SG_LOG_WARN, "signetd", NULL, "cannot remove pid file %s: %s (its directory must be "
               "writable by the service user)", path, strerror(errno));
}
