/* SPDX-License-Identifier: MIT */
/* Domain names in uncompressed wire form (length-prefixed labels, root byte last). */
#ifndef SG_NAME_H
#define SG_NAME_H

#include <stddef.h>
#include <stdint.h>

#define SG_NAME_MAX 255
#define SG_LABEL_MAX 63
#define SG_LABELS_MAX 128

/* Length in bytes of a well-formed wire name, including the root byte. */
size_t sg_name_len(const uint8_t *name);
/* Number of labels, not counting the root (so "." has 0). */
int sg_name_labels(const uint8_t *name);
/* Lower-case ASCII letters in place. */
void sg_name_lower(uint8_t *name);
/* Case-insensitive equality. */
int sg_name_eq(const uint8_t *a, const uint8_t *b);
/* Non-zero if name equals apex or is below it (case-insensitive). */
int sg_name_is_sub(const uint8_t *name, const uint8_t *apex);
/* Pointer to the name with its first label removed; the root returns itself. */
const uint8_t *sg_name_parent(const uint8_t *name);
/* RFC 4034 section 6.1 canonical order: <0, 0, >0. Both names lower-case or not. */
int sg_name_canon_cmp(const uint8_t *a, const uint8_t *b);
/* Offsets of each label start; returns the label count (root excluded). */
int sg_name_label_offsets(const uint8_t *name, uint8_t offs_out[SG_LABELS_MAX]);
/* Presentation form with trailing dot and \DDD / \. escapes into buf (at least 1010 bytes
 * for any name); returns the string length. */
size_t sg_name_to_str(const uint8_t *name, char *buf, size_t cap);
/* Parse a presentation name; relative names are made absolute with origin (wire form,
 * may be NULL: then the name must be absolute). "@" is the origin. Writes to out
 * (SG_NAME_MAX bytes). Returns 0 or SG_ESYNTAX. */
int sg_name_from_str(const char *s, const uint8_t *origin, uint8_t out[SG_NAME_MAX]);
/* Fast hash of a lower-case wire name of length len. */
static inline uint64_t sg_name_hash(const uint8_t *name, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= name[i];
        h *= 0x100000001b3ULL;
    }
    return h ^ (h >> 29);
}

#endif
