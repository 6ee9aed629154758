/* SPDX-License-Identifier: MIT */
/* Wire-format domain name helpers shared by the parser, the zone tree and the signer. */
#include "common/name.h"
#include "common/errors.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static inline uint8_t lc(uint8_t c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

size_t sg_name_len(const uint8_t *name)
{
    const uint8_t *p = name;
    while (*p)
        p += *p + 1;
    return (size_t)(p - name) + 1;
}

int sg_name_labels(const uint8_t *name)
{
    int n = 0;
    while (*name) {
        name += *name + 1;
        n++;
    }
    return n;
}

void sg_name_lower(uint8_t *name)
{
    while (*name) {
        uint8_t l = *name++;
        for (uint8_t i = 0; i < l; i++, name++)
            *name = lc(*name);
    }
}

int sg_name_eq(const uint8_t *a, const uint8_t *b)
{
    for (;;) {
        if (*a != *b)
            return 0;
        uint8_t l = *a;
        if (l == 0)
            return 1;
        a++, b++;
        for (uint8_t i = 0; i < l; i++)
            if (lc(a[i]) != lc(b[i]))
                return 0;
        a += l, b += l;
    }
}

int sg_name_is_sub(const uint8_t *name, const uint8_t *apex)
{
    int nl = sg_name_labels(name), al = sg_name_labels(apex);
    if (nl < al)
        return 0;
    for (int i = 0; i < nl - al; i++)
        name += *name + 1;
    return sg_name_eq(name, apex);
}

const uint8_t *sg_name_parent(const uint8_t *name)
{
    return *name ? name + *name + 1 : name;
}

int sg_name_label_offsets(const uint8_t *name, uint8_t offs[SG_LABELS_MAX])
{
    int n = 0;
    size_t off = 0;
    while (name[off]) {
        offs[n++] = (uint8_t)off;
        off += name[off] + 1;
    }
    return n;
}

int sg_name_canon_cmp(const uint8_t *a, const uint8_t *b)
{
    uint8_t oa[SG_LABELS_MAX], ob[SG_LABELS_MAX];
    int na = sg_name_label_offsets(a, oa), nb = sg_name_label_offsets(b, ob);
    /* compare from the rightmost label leftwards */
    while (na > 0 && nb > 0) {
        const uint8_t *la = a + oa[--na], *lb = b + ob[--nb];
        uint8_t lena = la[0], lenb = lb[0];
        uint8_t m = lena < lenb ? lena : lenb;
        for (uint8_t i = 1; i <= m; i++) {
            uint8_t ca = lc(la[i]), cb = lc(lb[i]);
            if (ca != cb)
                return ca < cb ? -1 : 1;
        }
        if (lena != lenb)
            return lena < lenb ? -1 : 1;
    }
    if (na == nb)
        return 0;
    return na < nb ? -1 : 1;
}

size_t sg_name_to_str(const uint8_t *name, char *buf, size_t cap)
{
    size_t o = 0;
    if (cap == 0)
        return 0;
    if (*name == 0) {
        if (cap > 1)
            buf[o++] = '.';
        buf[o] = 0;
        return o;
    }
    while (*name) {
        uint8_t l = *name++;
        for (uint8_t i = 0; i < l; i++) {
            uint8_t c = *name++;
            char tmp[5];
            int tl;
            if (c == '.' || c == '\\' || c == '"' || c == '(' || c == ')' || c == ';' || c == '$' || c == '@')
                tl = snprintf(tmp, sizeof tmp, "\\%c", c);
            else if (c <= 0x20 || c >= 0x7f)
                tl = snprintf(tmp, sizeof tmp, "\\%03u", c);
            else
                tmp[0] = (char)c, tl = 1;
            if (o + tl + 2 > cap)
                goto out;
            memcpy(buf + o, tmp, tl);
            o += tl;
        }
        if (o + 2 > cap)
            goto out;
        buf[o++] = '.';
    }
out:
    buf[o] = 0;
    return o;
}

int sg_name_from_str(const char *s, const uint8_t *origin, uint8_t out[SG_NAME_MAX])
{
    size_t o = 0;
    if (strcmp(s, "@") == 0) {
        if (!origin)
            return SG_ESYNTAX;
        memcpy(out, origin, sg_name_len(origin));
        return 0;
    }
    if (strcmp(s, ".") == 0) {
        out[0] = 0;
        return 0;
    }
    if (*s == 0 || *s == '.')
        return SG_ESYNTAX;
    size_t lpos = 0, llen = 0;
    int absolute = 0;
    out[o++] = 0; /* label length placeholder */
    for (const char *p = s; *p; p++) {
        uint8_t c;
        if (*p == '.') {
            if (llen == 0)
                return SG_ESYNTAX;
            out[lpos] = (uint8_t)llen;
            if (p[1] == 0) {
                absolute = 1;
                break;
            }
            lpos = o;
            llen = 0;
            if (o >= SG_NAME_MAX)
                return SG_ESYNTAX;
            out[o++] = 0;
            continue;
        }
        if (*p == '\\') {
            if (isdigit((unsigned char)p[1]) && isdigit((unsigned char)p[2]) && isdigit((unsigned char)p[3])) {
                int v = (p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0');
                if (v > 255)
                    return SG_ESYNTAX;
                c = (uint8_t)v;
                p += 3;
            } else if (p[1]) {
                c = (uint8_t)*++p;
            } else {
                return SG_ESYNTAX;
            }
        } else {
            c = (uint8_t)*p;
        }
        if (llen >= SG_LABEL_MAX || o >= SG_NAME_MAX - 1)
            return SG_ESYNTAX;
        out[o++] = c;
        llen++;
    }
    if (!absolute) {
        if (llen == 0)
            return SG_ESYNTAX;
        out[lpos] = (uint8_t)llen;
        if (!origin)
            return SG_ESYNTAX;
        size_t ol = sg_name_len(origin);
        if (o + ol > SG_NAME_MAX)
            return SG_ESYNTAX;
        memcpy(out + o, origin, ol);
        return 0;
    }
    if (o >= SG_NAME_MAX)
        return SG_ESYNTAX;
    out[o] = 0;
    return 0;
}
