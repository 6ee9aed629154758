/* SPDX-License-Identifier: MIT */
/* The UPDATE journal: every accepted update of a block's zones, committed to SQLite
 * (WAL, synchronous=FULL: on disk at commit) before the reply says NOERROR, and replayed
 * on top of the zone file at the next start or reload. */
#ifndef SG_UPD_JOURNAL_H
#define SG_UPD_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

typedef struct sg_upd_journal sg_upd_journal;

/* Open (creating it owner-only, 0600) the journal at path. 0 and *j_out, or SG_EIO /
 * SG_ELIB (logged with the path). */
int sg_upd_journal_open(const char *path, sg_upd_journal **j_out);
void sg_upd_journal_close(sg_upd_journal *j);

/* Record one update of zone (presentation name): the difference from serial `from` to
 * `to` as text (apply.h's sg_upd_diff_text), the key that signed it. Durable when it
 * returns 0; SG_ELIB otherwise (nothing recorded, logged). */
int sg_upd_journal_append(sg_upd_journal *j, const char *zone, uint32_t from, uint32_t to,
                          int64_t now, const char *key, const char *diff);

/* Call fn on each recorded update of zone, oldest first; fn's non-zero return stops the
 * walk and is returned. 0, or SG_ELIB. */
int sg_upd_journal_each(sg_upd_journal *j, const char *zone,
                        int (*fn)(void *arg, uint32_t from, uint32_t to, const char *diff),
                        void *arg);

/* How many updates of zone are recorded (0 on error). */
int sg_upd_journal_count(sg_upd_journal *j, const char *zone);

/* Forget every update of zone (the zone file holds them now, or the operator's edit
 * superseded them). 0 or SG_ELIB. */
int sg_upd_journal_drop(sg_upd_journal *j, const char *zone);

/* A write transaction around several calls (BEGIN IMMEDIATE: an update of another
 * process waits for it, up to the busy timeout). 0 or SG_ELIB. */
int sg_upd_journal_begin(sg_upd_journal *j);
int sg_upd_journal_commit(sg_upd_journal *j);
void sg_upd_journal_rollback(sg_upd_journal *j);

/* Write the zone file at path with the journaled updates of zone applied to it
 * (atomically: a temporary file renamed over it) and drop them from the journal, in one
 * journal transaction, so that no update lands between the two. *serial_out: the serial
 * written. 0; SG_ENOTFOUND when nothing is journaled (the file is the zone); SG_EZONE when
 * the journal does not start at the file's serial or does not apply (why says so; nothing
 * written); SG_EIO / SG_ELIB (why). apex is the zone's presentation name. */
int sg_upd_write_back(sg_upd_journal *j, const char *path, const char *apex, uint32_t *serial_out,
                      char *why, size_t why_cap);

#endif
