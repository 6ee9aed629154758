/* SPDX-License-Identifier: MIT */
/* Signatures per second through a PKCS#11 token (SoftHSM2) against in-process OpenSSL:
 * the same RRset signed with sg_rrsig_make (signer/rrsig.c) by a key in each place. */
#include "common/errors.h"
#include "common/name.h"
#include "common/secure_heap.h"
#include "keystore/keystore.h"
#include "keystore/pkcs11.h"
#include "signer/signer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct job {
    const sg_sign_key *key;
    double seconds;
    long done;
    int failed;
} job;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *run(void *arg)
{
    job *j = arg;
    static const uint8_t apex[] = "\005bench\004test";
    static const uint8_t owner[] = "\003www\005bench\004test";
    uint8_t rdata[] = { 0, 4, 192, 0, 2, 1 };
    sg_rrset rs = { .type = 1, .count = 1, .ttl = 3600, .rdata_len = sizeof rdata,
                    .rdata = rdata };
    uint8_t out[SG_RRSIG_MAX];
    size_t len;
    double end = now_s() + j->seconds;
    while (now_s() < end) {
        for (int i = 0; i < 16; i++) {
            /* a new expiration each time: a new signature, as on a cache miss */
            if (sg_rrsig_make(j->key, apex, owner, 3, &rs, 1000000, 2000000 + (uint32_t)j->done,
                              out, &len)) {
                j->failed = 1;
                return NULL;
            }
            j->done++;
        }
    }
    return NULL;
}

static double rate(const sg_sign_key *key, int threads, double seconds)
{
    pthread_t t[16];
    job jobs[16];
    for (int i = 0; i < threads; i++) {
        jobs[i] = (job){ .key = key, .seconds = seconds };
        pthread_create(&t[i], NULL, run, &jobs[i]);
    }
    long total = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        if (jobs[i].failed) {
            fprintf(stderr, "signing failed\n");
            exit(1);
        }
        total += jobs[i].done;
    }
    return (double)total / seconds;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s TOKEN-URI [seconds]\n", argv[0]);
        return 2;
    }
    double seconds = argc > 2 ? atof(argv[2]) : 3;
    sg_secure_heap_init(1 << 20);
    static const struct { uint8_t alg; uint16_t bits; const char *name; } algs[] = {
        { SG_KS_ALG_ECDSAP256SHA256, 0, "ECDSAP256SHA256" },
        { SG_KS_ALG_ED25519, 0, "ED25519" },
        { SG_KS_ALG_RSASHA256, 2048, "RSASHA256-2048" },
    };
    printf("| algorithm | threads | in-process sig/s | SoftHSM2 sig/s | ratio |\n");
    printf("|---|---|---|---|---|\n");
    for (size_t a = 0; a < sizeof algs / sizeof algs[0]; a++) {
        char ref[2048], why[300];
        uint8_t pub[600];
        size_t plen;
        if (sg_p11_generate(argv[1], algs[a].alg, algs[a].bits, "bench", ref, sizeof ref, pub,
                            sizeof pub, &plen, why, sizeof why)) {
            fprintf(stderr, "%s: %s\n", algs[a].name, why);
            return 1;
        }
        sg_sign_key tk = { .algorithm = algs[a].alg, .key_tag = 1, .flags = 256, .id = 1 };
        if (sg_p11_key_open(ref, algs[a].alg, &tk.token, why, sizeof why) ||
            sg_ks_pkey_from_dnskey(algs[a].alg, pub, plen, &tk.pkey)) {
            fprintf(stderr, "%s: cannot open the token key: %s\n", algs[a].name, why);
            return 1;
        }
        sg_sign_key pk = { .algorithm = algs[a].alg, .key_tag = 2, .flags = 256, .id = 2 };
        if (sg_ks_pkey_generate(algs[a].alg, algs[a].bits, &pk.pkey))
            return 1;
        for (int threads = 1; threads <= 2; threads++) {
            double mine = rate(&pk, threads, seconds), token = rate(&tk, threads, seconds);
            printf("| %s | %d | %.0f | %.0f | %.2f |\n", algs[a].name, threads, mine, token,
                   token / mine);
            fflush(stdout);
        }
        sg_p11_key_free(tk.token);
        EVP_PKEY_free(tk.pkey);
        EVP_PKEY_free(pk.pkey);
        sg_p11_destroy(ref, why, sizeof why);
    }
    sg_p11_shutdown();
    return 0;
}
