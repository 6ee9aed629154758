/* SPDX-License-Identifier: MIT */
/* The systemd notification protocol (sd_notify(3)) without libsystemd: one datagram of
 * "KEY=VALUE" lines to the AF_UNIX socket named in $NOTIFY_SOCKET. */
#include "daemon/daemon.h"
#include "common/log.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

void sg_notify(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path || !state)
        return;
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    size_t len = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || len >= sizeof sa.sun_path) {
        sg_log(SG_LOG_WARN, "signetd", NULL, "NOTIFY_SOCKET is not a usable AF_UNIX path");
        return;
    }
    memcpy(sa.sun_path, path, len);
    if (path[0] == '@')
        sa.sun_path[0] = 0; /* abstract namespace */
    socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen) < 0)
        sg_log(SG_LOG_DEBUG, "signetd", NULL, "notify %s: %s", state, strerror(errno));
    close(fd);
}
