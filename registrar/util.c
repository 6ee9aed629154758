/* SPDX-License-Identifier: MIT */
/* Small shared pieces: the journal, hex/base64 and JSON number helpers. */
#include "registrar/internal.h"

#include <openssl/evp.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sg_reg_note_add(sg_reg_journal *j, const char *state, const char *fmt, ...)
{
    if (j->n == j->cap) {
        size_t cap = j->cap ? 2 * j->cap : 8;
        sg_reg_note *v = realloc(j->v, cap * sizeof *v);
        if (!v)
            return; /* losing a journal line beats failing the push */
        j->v = v;
        j->cap = cap;
    }
    sg_reg_note *n = &j->v[j->n++];
    snprintf(n->state, sizeof n->state, "%s", state);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(n->reason, sizeof n->reason, fmt, ap);
    va_end(ap);
}

void sg_reg_journal_free(sg_reg_journal *j)
{
    free(j->v);
    memset(j, 0, sizeof *j);
}

int sg_reg_hex_decode(const char *hex, uint8_t *out, size_t cap, size_t *len_out)
{
    size_t n = strlen(hex);
    if (n % 2 || n / 2 > cap)
        return SG_EINVAL;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = (unsigned char)hex[2 * i], lo = (unsigned char)hex[2 * i + 1];
        if (!isxdigit(hi) || !isxdigit(lo))
            return SG_EINVAL;
        hi = isdigit(hi) ? hi - '0' : tolower(hi) - 'a' + 10;
        lo = isdigit(lo) ? lo - '0' : tolower(lo) - 'a' + 10;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    *len_out = n / 2;
    return 0;
}

void sg_reg_hex_encode(const uint8_t *in, size_t len, char *out, int upper)
{
    const char *d = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = d[in[i] >> 4];
        out[2 * i + 1] = d[in[i] & 15];
    }
    out[2 * len] = 0;
}

int sg_reg_b64_encode(const uint8_t *in, size_t len, char *out, size_t cap)
{
    if (cap < 4 * ((len + 2) / 3) + 1)
        return SG_ESPACE;
    EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    return 0;
}

int sg_reg_b64_decode(const char *in, uint8_t *out, size_t cap, size_t *len_out)
{
    size_t n = strlen(in);
    if (n % 4 || 3 * (n / 4) > cap + 2)
        return SG_EINVAL;
    unsigned char *tmp = malloc(3 * (n / 4) + 1);
    if (!tmp)
        return SG_ENOMEM;
    int r = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)n);
    if (r < 0) {
        free(tmp);
        return SG_EINVAL;
    }
    /* EVP_DecodeBlock counts the padding as zero bytes */
    size_t len = (size_t)r;
    if (n && in[n - 1] == '=')
        len--;
    if (n > 1 && in[n - 2] == '=')
        len--;
    if (len > cap) {
        free(tmp);
        return SG_ESPACE;
    }
    memcpy(out, tmp, len);
    free(tmp);
    *len_out = len;
    return 0;
}

long sg_reg_json_uint(const json_t *v, unsigned long max)
{
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        return i >= 0 && (unsigned long)i <= max ? (long)i : -1;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        if (!*s || !isdigit((unsigned char)*s))
            return -1;
        unsigned long u = strtoul(s, &end, 10);
        return *end || u > max ? -1 : (long)u;
    }
    return -1;
}
