/* SPDX-License-Identifier: MIT */
/* The control socket: a UNIX stream socket on which signetctl asks the running daemon to
 * reload, report its status and counters, or stop. One JSON object per line each way. */
#ifndef SG_CONTROL_H
#define SG_CONTROL_H

#include <sys/types.h>

#include "daemon/daemon.h"

#define SG_CONTROL_DIR "/run/signet"
#define SG_CONTROL_DEFAULT SG_CONTROL_DIR "/signetd.sock"
#define SG_CONTROL_REQUEST_MAX 4096  /* bytes in one request line */
#define SG_CONTROL_TIMEOUT_MS 5000   /* to read a request, and to write the reply */

typedef struct sg_control sg_control;

/* Create the socket at path (mode 0600; owned by uid/gid unless they are -1), refusing
 * to take over the socket of a daemon still answering there. Errors are logged. */
int sg_control_open(const char *path, uid_t uid, gid_t gid, sg_control **ctl_out);
/* Start the one handler thread; it serves d until sg_control_free. */
int sg_control_start(sg_control *c, sg_daemon *d);
/* Stop the thread, close and remove the socket, free c. NULL does nothing. */
void sg_control_free(sg_control *c);

#endif
