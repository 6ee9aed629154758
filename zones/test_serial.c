/* SPDX-License-Identifier: MIT */
/* Serials: RFC 1982 arithmetic, the policies, the floor, the served-serial state file, and
 * the `file` plugin serving a zone file's versions with them across restarts and reloads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "zones/file_plugin.h"
#include "zones/serial.h"
#include "zones/zone.h"
#include "common/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char g_dir[64];

/* ---- serials ---------------------------------------------------------------------- */

static void test_serial_arith(void **st)
{
    (void)st;
    static const struct { uint32_t a, b; int gt; } cases[] = {
        { 1, 0, 1 }, { 0, 1, 0 }, { 5, 5, 0 },
        { 0, 0xffffffffu, 1 },               /* wraps: 0 follows 2^32-1 */
        { 0xffffffffu, 0, 0 },
        { 0x7fffffffu, 0, 1 },               /* the largest step forward */
        { 0x80000000u, 0, 0 },               /* 2^31 apart: undefined, never "greater" */
        { 0, 0x80000000u, 0 },
        { 0x80000001u, 0, 0 },               /* that far is backwards */
        { 100, 0xfffffff0u, 1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(sg_serial_newer(cases[i].a, cases[i].b), cases[i].gt);
}

static void test_serial_next(void **st)
{
    (void)st;
    const int64_t now = 1764115200; /* 2025-11-26 00:00:00 UTC */
    /* first version: the policy's own value */
    assert_int_equal(sg_serial_next(SG_SERIAL_KEEP, 0, 0, 42, now), 42);
    assert_int_equal(sg_serial_next(SG_SERIAL_INCREMENT, 0, 0, 42, now), 42);
    assert_int_equal(sg_serial_next(SG_SERIAL_UNIXTIME, 0, 0, 42, now), (uint32_t)now);
    assert_int_equal(sg_serial_next(SG_SERIAL_DATESERIAL, 0, 0, 42, now), 2025112600u);
    /* later versions */
    assert_int_equal(sg_serial_next(SG_SERIAL_KEEP, 1, 42, 50, now), 50);
    assert_int_equal(sg_serial_next(SG_SERIAL_KEEP, 1, 42, 42, now), 43);   /* file did not move */
    assert_int_equal(sg_serial_next(SG_SERIAL_KEEP, 1, 42, 7, now), 43);    /* file went back */
    assert_int_equal(sg_serial_next(SG_SERIAL_INCREMENT, 1, 42, 7, now), 43);
    assert_int_equal(sg_serial_next(SG_SERIAL_INCREMENT, 1, 0xffffffffu, 7, now), 0); /* wraps */
    assert_int_equal(sg_serial_next(SG_SERIAL_UNIXTIME, 1, (uint32_t)now, 1, now), (uint32_t)now + 1);
    assert_int_equal(sg_serial_next(SG_SERIAL_DATESERIAL, 1, 2025112600u, 1, now), 2025112601u);
    assert_int_equal(sg_serial_next(SG_SERIAL_DATESERIAL, 1, 2025112599u, 1, now + 86400), 2025112700u);
    /* whatever the policy and inputs, never backwards */
    for (int p = 0; p < 4; p++)
        for (uint32_t last = 0; last < 0xf0000000u; last += 0x0fedcba9u) {
            uint32_t n = sg_serial_next((enum sg_serial_policy)p, 1, last, last - 5, now);
            assert_true(sg_serial_newer(n, last));
        }
    enum sg_serial_policy pol;
    assert_int_equal(sg_serial_policy_parse("dateserial", &pol), 0);
    assert_int_equal(pol, SG_SERIAL_DATESERIAL);
    assert_int_equal(sg_serial_policy_parse("date", &pol), SG_EINVAL);
}

static void test_serial_floor(void **st)
{
    (void)st;
    static const struct { uint32_t s; int has; uint32_t floor, want; } cases[] = {
        { 1, 0, 7, 1 },                          /* no floor: as it is */
        { 1, 1, 7, 8 },                          /* behind: floor + 1 */
        { 7, 1, 7, 8 },                          /* at the floor: floor + 1 */
        { 8, 1, 7, 8 },                          /* above: as it is */
        { 5, 1, 0xffffffffu, 5 },                /* 5 follows 2^32-1 (RFC 1982) */
        { 0xfffffff0u, 1, 0xffffffffu, 0 },      /* floor + 1 wraps to 0 */
        { 0x80000007u, 1, 7, 8 },                /* 2^31 apart: undefined, raised */
        { 2025112600u, 1, 2025112599u, 2025112600u },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(sg_serial_above_floor(cases[i].s, cases[i].has, cases[i].floor),
                         cases[i].want);
    assert_string_equal(sg_serial_policy_name(SG_SERIAL_UNIXTIME), "unixtime");
    assert_string_equal(sg_serial_policy_name((enum sg_serial_policy)9), "?");
}

static void test_serial_serve(void **st)
{
    (void)st;
    const int64_t now = 1764115200; /* 2025-11-26 00:00:00 UTC */
    static const sg_serial_state none = { 0, 0, 0 };
    static const struct {
        const char *what;
        enum sg_serial_policy p;
        sg_serial_state st;
        int has_floor;
        uint32_t floor, file, want;
    } cases[] = {
        { "keep, nothing recorded: the file's", SG_SERIAL_KEEP, none, 0, 0, 1, 1 },
        { "keep, same file: same served", SG_SERIAL_KEEP, { 1, 1, 8 }, 0, 0, 1, 8 },
        { "keep, file forward: the file's", SG_SERIAL_KEEP, { 1, 1, 8 }, 0, 0, 20, 20 },
        { "keep, file changed, behind: served + 1", SG_SERIAL_KEEP, { 1, 1, 8 }, 0, 0, 2, 9 },
        { "keep, file back to served: + 1", SG_SERIAL_KEEP, { 1, 1, 8 }, 0, 0, 8, 9 },
        { "floor, nothing recorded", SG_SERIAL_KEEP, none, 1, 7, 1, 8 },
        { "floor, file above it", SG_SERIAL_KEEP, none, 1, 7, 12, 12 },
        { "floor, same file as recorded", SG_SERIAL_KEEP, { 1, 1, 8 }, 1, 7, 1, 8 },
        { "floor, changed file", SG_SERIAL_KEEP, { 1, 1, 8 }, 1, 7, 2, 9 },
        { "floor recorded after the state", SG_SERIAL_KEEP, { 1, 1, 1 }, 1, 7, 1, 8 },
        { "floor far behind the served", SG_SERIAL_KEEP, { 1, 3, 100 }, 1, 7, 4, 101 },
        { "increment, first", SG_SERIAL_INCREMENT, none, 0, 0, 42, 42 },
        { "increment, changed", SG_SERIAL_INCREMENT, { 1, 42, 42 }, 0, 0, 43, 43 },
        { "increment, changed, file jumps", SG_SERIAL_INCREMENT, { 1, 42, 42 }, 0, 0, 99, 43 },
        { "increment, floor", SG_SERIAL_INCREMENT, none, 1, 7, 1, 8 },
        { "unixtime, first", SG_SERIAL_UNIXTIME, none, 0, 0, 1, (uint32_t)now },
        { "unixtime, same file", SG_SERIAL_UNIXTIME, { 1, 1, 5 }, 0, 0, 1, 5 },
        { "unixtime, changed", SG_SERIAL_UNIXTIME, { 1, 1, 5 }, 0, 0, 2, (uint32_t)now },
        { "dateserial, changed twice a day", SG_SERIAL_DATESERIAL, { 1, 1, 2025112600u }, 0, 0, 2,
          2025112601u },
        { "wrap: served 2^32-1, changed", SG_SERIAL_KEEP, { 1, 1, 0xffffffffu }, 0, 0, 2, 2 },
        { "wrap: served 2^32-1, file behind", SG_SERIAL_KEEP, { 1, 1, 0xffffffffu }, 0, 0,
          0xfffffff0u, 0 },
        { "wrap: floor 2^32-1", SG_SERIAL_KEEP, none, 1, 0xffffffffu, 0xfffffff0u, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t got = sg_serial_serve(cases[i].p, &cases[i].st, cases[i].has_floor,
                                       cases[i].floor, cases[i].file, now);
        if (got != cases[i].want)
            fail_msg("%s: got %u, want %u", cases[i].what, got, cases[i].want);
    }
    assert_int_equal(sg_serial_serve(SG_SERIAL_KEEP, NULL, 0, 0, 3, now), 3);
}

static void test_state_file(void **st)
{
    (void)st;
    char path[128], tmp[140];
    snprintf(path, sizeof path, "%s/t.test.file-serial", g_dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    unlink(path);
    sg_serial_state s;
    assert_int_equal(sg_serial_state_load(path, &s), SG_ENOTFOUND);
    assert_int_equal(s.have, 0);
    sg_serial_state w = { 1, 1, 0xfffffffeu };
    assert_int_equal(sg_serial_state_save(path, &w), 0);
    assert_int_not_equal(access(tmp, F_OK), 0); /* renamed into place */
    assert_int_equal(sg_serial_state_load(path, &s), 0);
    assert_int_equal(s.have, 1);
    assert_int_equal(s.file, 1);
    assert_int_equal(s.served, 0xfffffffeu);
    FILE *f = fopen(path, "w");
    fputs("serial 7\n", f); /* transfer's format, or anything else: not ours */
    fclose(f);
    assert_int_equal(sg_serial_state_load(path, &s), SG_EMALFORMED);
    assert_int_equal(s.have, 0);
    f = fopen(path, "w");
    fputs("file 1\nserved 99999999999\n", f);
    fclose(f);
    assert_int_equal(sg_serial_state_load(path, &s), SG_EMALFORMED);
    char nodir[160];
    snprintf(nodir, sizeof nodir, "%s/missing/x.file-serial", g_dir);
    assert_int_equal(sg_serial_state_save(nodir, &w), SG_EIO);
}

/* ---- the file plugin ----------------------------------------------------------------- */

static void write_zone(const char *path, uint32_t serial, int extra)
{
    char tmp[200];
    snprintf(tmp, sizeof tmp, "%s.new", path);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fprintf(f, "$ORIGIN t.test.\n$TTL 600\n@ SOA ns hostmaster %u 3600 600 86400 120\n"
               "@ NS ns\nns A 192.0.2.1\n%s", serial, extra ? "new A 192.0.2.7\n" : "");
    fclose(f);
    assert_int_equal(rename(tmp, path), 0); /* a new inode: zonedb sees the change */
}

/* A sibling that offers a key provider with a serial floor, as `dnssec` does. */
static uint32_t g_floor;
static int g_has_floor;
static char g_keystore[256];

static int fake_floor(const void *self, const uint8_t *apex, uint32_t *floor)
{
    (void)self;
    (void)apex;
    if (!g_has_floor)
        return SG_ENOTFOUND;
    *floor = g_floor;
    return 0;
}

static const sg_key_provider g_provider = { .keystore = g_keystore, .serial_floor = fake_floor };

static const void *fake_service(const void *state, const char *name)
{
    (void)state;
    return !strcmp(name, SG_SERVICE_KEYS) ? &g_provider : NULL;
}

static const sg_plugin g_fake = { .name = "fake", .service = fake_service };

/* The zone's serial as served: z->serial and the SOA RDATA's, which must agree. */
static uint32_t served(const sg_zone *z)
{
    const uint8_t *rd = z->soa->rdata + 2;
    size_t p = sg_name_len(rd);
    p += sg_name_len(rd + p);
    uint32_t s = (uint32_t)rd[p] << 24 | (uint32_t)rd[p + 1] << 16 | (uint32_t)rd[p + 2] << 8 | rd[p + 3];
    assert_int_equal(s, z->serial);
    return s;
}

/* Set the file plugin up with options (a config snippet inside `file PATH { }`), as a
 * (re)load does, and return the serial served; the plugin is torn down again unless
 * state_out is given. */
static uint32_t file_serves(const char *path, const char *opts, int with_provider,
                            void **state_out)
{
    char text[1024];
    snprintf(text, sizeof text, "t.test {\n file %s {\n%s\n }\n}\n", path, opts);
    sg_cfg *cfg = NULL;
    assert_int_equal(sg_cfg_parse_string(text, "test", &cfg), 0);
    uint8_t apex[SG_NAME_MAX];
    assert_int_equal(sg_name_from_str("t.test.", (const uint8_t *)"", apex), 0);
    const uint8_t *zones[] = { apex };
    sg_handler fake = { .plugin = &g_fake };
    sg_setup_ctx ctx = { .zones = zones, .nzones = 1, .block = &cfg->servers[0],
                         .set_up = &fake, .nset_up = with_provider };
    void *state = NULL;
    assert_int_equal(sg_plugin_file.setup(&cfg->servers[0].children[0], &ctx, &state), 0);
    const sg_zone *z = sg_plugin_file.zone(state, 0);
    assert_non_null(z);
    uint32_t s = served(z);
    if (state_out)
        *state_out = state;
    else
        sg_plugin_file.teardown(state);
    sg_cfg_free(cfg);
    return s;
}

static void test_file_plugin_floor(void **st)
{
    (void)st;
    char dir[128], path[160], state[200];
    snprintf(dir, sizeof dir, "%s/floor", g_dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(path, sizeof path, "%s/t.zone", dir);
    snprintf(g_keystore, sizeof g_keystore, "%s/keystore.db", dir);
    snprintf(state, sizeof state, "%s/t.test.file-serial", dir);
    write_zone(path, 1, 0);
    /* no floor, no serial line: the file's serial, nothing written (as before) */
    g_has_floor = 0;
    assert_int_equal(file_serves(path, "", 1, NULL), 1);
    assert_int_not_equal(access(state, F_OK), 0);
    /* the previous server served 7: 8, recorded beside the keystore */
    g_has_floor = 1;
    g_floor = 7;
    assert_int_equal(file_serves(path, "", 1, NULL), 8);
    assert_int_equal(access(state, F_OK), 0);
    /* a restart: the same file serves the same serial */
    assert_int_equal(file_serves(path, "", 1, NULL), 8);
    /* a reload while the version is held (zonedb shares it): 8 as well */
    void *held = NULL;
    assert_int_equal(file_serves(path, "", 1, &held), 8);
    assert_int_equal(file_serves(path, "", 1, NULL), 8);
    /* the file edited (serial 2, a new record) and reloaded: 9, never back to 2 */
    write_zone(path, 2, 1);
    assert_int_equal(file_serves(path, "", 1, NULL), 9);
    sg_plugin_file.teardown(held);
    assert_int_equal(file_serves(path, "", 1, NULL), 9);
    /* the file moves past the served serial: its own again */
    write_zone(path, 30, 1);
    assert_int_equal(file_serves(path, "", 1, NULL), 30);
}

static void test_file_plugin_policies(void **st)
{
    (void)st;
    char dir[128], path[160], sdir[160], state[220];
    snprintf(dir, sizeof dir, "%s/policy", g_dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(path, sizeof path, "%s/t.zone", dir);
    snprintf(sdir, sizeof sdir, "%s/state", dir);
    assert_int_equal(mkdir(sdir, 0700), 0);
    snprintf(state, sizeof state, "%s/t.test.file-serial", sdir);
    g_has_floor = 0;
    /* keep, no key provider: the state file beside the zone file, or in state-dir */
    write_zone(path, 5, 0);
    char opts[300];
    snprintf(opts, sizeof opts, "serial keep\nstate-dir %s", sdir);
    assert_int_equal(file_serves(path, opts, 0, NULL), 5);
    assert_int_equal(access(state, F_OK), 0);
    write_zone(path, 3, 1); /* the file went back: 6, not 3 */
    assert_int_equal(file_serves(path, opts, 0, NULL), 6);
    assert_int_equal(file_serves(path, opts, 0, NULL), 6);
    /* unixtime: now, kept while the file does not change */
    unlink(state);
    snprintf(opts, sizeof opts, "serial unixtime\nstate-dir %s", sdir);
    uint32_t before = (uint32_t)time(NULL);
    uint32_t u = file_serves(path, opts, 0, NULL);
    assert_true(u >= before && u <= (uint32_t)time(NULL));
    sleep(1);
    assert_int_equal(file_serves(path, opts, 0, NULL), u);
    write_zone(path, 4, 0);
    uint32_t u2 = file_serves(path, opts, 0, NULL);
    assert_true(sg_serial_newer(u2, u));
    /* the default state-dir without a key provider: beside the zone file */
    char beside[220];
    snprintf(beside, sizeof beside, "%s/t.test.file-serial", dir);
    assert_int_equal(file_serves(path, "serial increment", 0, NULL), 4);
    assert_int_equal(access(beside, F_OK), 0);
    /* a bad policy is a config error */
    char text[300];
    snprintf(text, sizeof text, "t.test {\n file %s {\n serial sometimes\n }\n}\n", path);
    sg_cfg *cfg = NULL;
    assert_int_equal(sg_cfg_parse_string(text, "test", &cfg), 0);
    uint8_t apex[SG_NAME_MAX];
    sg_name_from_str("t.test.", (const uint8_t *)"", apex);
    const uint8_t *zones[] = { apex };
    sg_setup_ctx ctx = { .zones = zones, .nzones = 1, .block = &cfg->servers[0] };
    void *state_p = NULL;
    assert_int_equal(sg_plugin_file.setup(&cfg->servers[0].children[0], &ctx, &state_p), SG_ESYNTAX);
    sg_cfg_free(cfg);
}

static int setup(void **st)
{
    (void)st;
    snprintf(g_dir, sizeof g_dir, "/tmp/sg-test-serial-XXXXXX");
    assert_non_null(mkdtemp(g_dir));
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    return system(cmd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serial_arith),
        cmocka_unit_test(test_serial_next),
        cmocka_unit_test(test_serial_floor),
        cmocka_unit_test(test_serial_serve),
        cmocka_unit_test(test_state_file),
        cmocka_unit_test(test_file_plugin_floor),
        cmocka_unit_test(test_file_plugin_policies),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
