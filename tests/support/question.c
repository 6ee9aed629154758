/* SPDX-License-Identifier: MIT */
/* Unit-test support: a one-question DNS query, parsed as the server would see it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/support/question.h"
#include "common/name.h"
#include "common/wire.h"

#include <string.h>

void sg_test_question(sg_query *q, uint8_t *pkt, size_t cap, const char *name, uint16_t qtype,
                      enum sg_transport transport)
{
    uint8_t w[SG_NAME_MAX];
    assert_int_equal(sg_name_from_str(name, NULL, w), 0);
    size_t nl = sg_name_len(w);
    assert_true(12 + nl + 4 <= cap);
    memset(pkt, 0, 12);
    pkt[5] = 1; /* QDCOUNT */
    memcpy(pkt + 12, w, nl);
    size_t o = 12 + nl;
    pkt[o++] = (uint8_t)(qtype >> 8);
    pkt[o++] = (uint8_t)qtype;
    pkt[o++] = 0;
    pkt[o++] = 1; /* IN */
    memset(q, 0, sizeof *q);
    q->transport = (uint8_t)transport;
    assert_int_equal(sg_wire_parse_query(q, pkt, o, 1232), SG_PARSE_OK);
}
