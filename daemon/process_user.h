/* SPDX-License-Identifier: MIT */
/* The service user (`user NAME`) and the pid file (`pid-file PATH`). */
#ifndef SG_PROCESS_USER_H
#define SG_PROCESS_USER_H

#include <sys/types.h>

#include "common/cfg.h"

/* Find a user's uid and primary gid. 0, or SG_ENOTFOUND (logged). */
int sg_user_lookup(const char *name, uid_t *uid_out, gid_t *gid_out);
/* Become uid/gid for good (supplementary groups of name, then gid, then uid) and check
 * that root cannot be regained. Not root already that user: does nothing. 0 or SG_E*. */
int sg_user_drop(const char *name, uid_t uid, gid_t gid);

struct sg_runtime;
/* Before dropping to user: warn about each file a plugin writes (sg_plugin.writes: a
 * keystore, a journal) and its directory that the user will not own, since SQLite and
 * the journal must write both. */
void sg_user_check_files(const struct sg_runtime *rt, const char *user, uid_t uid);
/* Not root: give up every capability (CAP_NET_BIND_SERVICE from systemd's
 * AmbientCapabilities is needed only until the sockets are bound). 0 or SG_EIO. */
int sg_caps_drop(void);

/* Write our pid to path (mode 0644), refusing when a live process's pid is in it.
 * 0 or SG_E* (logged). */
int sg_pidfile_write(const char *path);
/* Remove the pid file if it still holds our pid. */
void sg_pidfile_remove(const char *path);

#endif
