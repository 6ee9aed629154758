/* SPDX-License-Identifier: MIT */
/* News that the keystore's served zones changed (`signetctl zone add/remove` says so over
 * the control socket): the threads that follow the served-zones counter look at it now
 * instead of at their next poll, which is only a fallback for news not told. */
#ifndef SG_SERVED_NEWS_H
#define SG_SERVED_NEWS_H

#include "common/task.h"

/* How often a follower looks at the counter untold (ms): 500 unless a `dynamic` block
 * set another (sg_served_news_set_poll_ms). */
#define SG_SERVED_POLL_MS_DEFAULT 500

/* t's sleeps end when news is told, until unsubscribed (before t is destroyed). Returns 0
 * or SG_ENOMEM (then t only polls). Any thread. */
int sg_served_news_subscribe(sg_task *t);
void sg_served_news_unsubscribe(sg_task *t);
/* Wake every subscribed task; any thread (the control socket's, a follower's own after
 * it took a new table, so that the others see what it made). */
void sg_served_news_tell(void);
/* How many times news was told since the start (tests). */
unsigned long sg_served_news_count(void);
/* The fallback poll interval, process-wide; 0 puts the default back. */
void sg_served_news_set_poll_ms(unsigned ms);
unsigned sg_served_news_poll_ms(void);

#endif
