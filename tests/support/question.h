/* SPDX-License-Identifier: MIT */
/* Unit-test support: a one-question DNS query, parsed as the server would see it. */
#ifndef SG_TEST_QUESTION_H
#define SG_TEST_QUESTION_H

#include "common/query.h"

#include <stddef.h>
#include <stdint.h>

/* Write a query for name/qtype (class IN, ID 0, no flags, no OPT) into pkt (cap bytes,
 * 512 is enough for any name), clear q and parse pkt into it over the given transport
 * with a 1232-byte UDP limit; fails the running cmocka test if the name or the parse is
 * refused. q points into pkt afterwards: both must outlive the query's use. */
void sg_test_question(sg_query *q, uint8_t *pkt, size_t cap, const char *name, uint16_t qtype,
                      enum sg_transport transport);

#endif
