/* SPDX-License-Identifier: MIT */
/* Unit tests for the per-client TCP connection counts. */
#include "daemon/tcp_clients.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

static struct sockaddr_storage addr(const char *a, uint16_t port)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (strchr(a, ':')) {
        struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
        s->sin6_family = AF_INET6;
        s->sin6_port = htons(port);
        inet_pton(AF_INET6, a, &s->sin6_addr);
    } else {
        struct sockaddr_in *s = (struct sockaddr_in *)&ss;
        s->sin_family = AF_INET;
        s->sin_port = htons(port);
        inet_pton(AF_INET, a, &s->sin_addr);
    }
    return ss;
}

#define SA(x) ((struct sockaddr *)&(x))

static void cap_per_address(void **unused)
{
    (void)unused;
    struct sockaddr_storage a1 = addr("192.0.2.1", 1000), a2 = addr("192.0.2.1", 2000),
                            a3 = addr("192.0.2.1", 3000), mapped = addr("::ffff:192.0.2.1", 4000);
    assert_int_equal(sg_tcp_client_acquire(SA(a1), 2), 0);
    assert_int_equal(sg_tcp_client_acquire(SA(a2), 2), 0);
    /* the port does not make another client, nor does the IPv4-mapped form */
    assert_int_equal(sg_tcp_client_acquire(SA(a3), 2), -1);
    assert_int_equal(sg_tcp_client_acquire(SA(mapped), 2), -1);
    assert_int_equal(sg_tcp_client_count(SA(a1)), 2);
    /* a refusal counts nothing; a release frees a place */
    sg_tcp_client_release(SA(a1));
    assert_int_equal(sg_tcp_client_count(SA(a1)), 1);
    assert_int_equal(sg_tcp_client_acquire(SA(mapped), 2), 0);
    /* 0: no limit, but still counted so that a later limit sees the truth */
    for (int i = 0; i < 10; i++)
        assert_int_equal(sg_tcp_client_acquire(SA(a1), 0), 0);
    assert_int_equal(sg_tcp_client_count(SA(a1)), 12);
    for (int i = 0; i < 12; i++)
        sg_tcp_client_release(SA(a1));
    assert_int_equal(sg_tcp_client_count(SA(a1)), 0);
    /* never below zero */
    sg_tcp_client_release(SA(a1));
    assert_int_equal(sg_tcp_client_count(SA(a1)), 0);
}

static void other_clients_apart(void **unused)
{
    (void)unused;
    struct sockaddr_storage a = addr("2001:db8::1", 1), b = addr("2001:db8::2", 1);
    assert_int_equal(sg_tcp_client_acquire(SA(a), 1), 0);
    assert_int_equal(sg_tcp_client_acquire(SA(a), 1), -1);
    /* another address: its own count (unless it shares a slot: 1 in 8192) */
    if (sg_tcp_client_count(SA(b)) == 0)
        assert_int_equal(sg_tcp_client_acquire(SA(b), 1), 0);
    sg_tcp_client_release(SA(a));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cap_per_address),
        cmocka_unit_test(other_clients_apart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
