/* SPDX-License-Identifier: MIT */
/* Registrar credentials: a file only its owner can read, or environment variables; the
 * values are kept apart so that every message can be scrubbed of them. */
#include "registrar/internal.h"
#include "common/secure_heap.h"

#include <openssl/crypto.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int cred_set(sg_reg_cred *c, const char *k, const char *v)
{
    if (c->n == SG_REG_CRED_MAX)
        return SG_ESPACE;
    /* the value is a secret: the secure heap (no core dumps, cleansed on free) when the
     * process has one */
    size_t vl = strlen(v) + 1;
    c->key[c->n] = strdup(k);
    c->val[c->n] = sg_secure_alloc(vl);
    if (!c->key[c->n] || !c->val[c->n]) {
        free(c->key[c->n]);
        if (c->val[c->n])
            sg_secure_free(c->val[c->n], vl);
        return SG_ENOMEM;
    }
    memcpy(c->val[c->n], v, vl);
    c->n++;
    return 0;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = 0;
    /* quotes let a value keep leading or trailing blanks */
    if (e - s >= 2 && (*s == '"' || *s == '\'') && e[-1] == *s) {
        e[-1] = 0;
        s++;
    }
    return s;
}

int sg_reg_cred_load_file(const char *path, sg_reg_cred *out, char *why, size_t cap)
{
    memset(out, 0, sizeof *out);
    /* O_NOFOLLOW-less open then fstat: the check is about the file we read */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, cap, "credentials %s: %s", path, strerror(errno));
        return SG_REG_ECRED;
    }
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        snprintf(why, cap, "credentials %s: not a regular file", path);
        close(fd);
        return SG_REG_ECRED;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        snprintf(why, cap,
                 "credentials %s: refused, group or others can access it (mode %03o); "
                 "chmod 600 it",
                 path, (unsigned)(st.st_mode & 0777));
        close(fd);
        return SG_REG_ECRED;
    }
    FILE *f = fdopen(fd, "r");
    if (!f) {
        close(fd);
        snprintf(why, cap, "credentials %s: %s", path, strerror(errno));
        return SG_REG_ECRED;
    }
    char line[2048];
    int lineno = 0, rc = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        char *eq = strpbrk(s, "=:");
        if (!eq) {
            /* the line may be a secret: say where, never what */
            snprintf(why, cap, "credentials %s:%d: expected NAME = VALUE", path, lineno);
            rc = SG_REG_ECRED;
            break;
        }
        *eq = 0;
        rc = cred_set(out, trim(s), trim(eq + 1));
    }
    OPENSSL_cleanse(line, sizeof line);
    fclose(f);
    if (rc) {
        if (rc != SG_REG_ECRED)
            snprintf(why, cap, "credentials %s: %s", path, sg_strerror(rc));
        sg_reg_cred_free(out);
        return SG_REG_ECRED;
    }
    return 0;
}

int sg_reg_cred_load_env(const char *prefix, const char *const *names, sg_reg_cred *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; names && names[i]; i++) {
        char var[128];
        int n = snprintf(var, sizeof var, "%s", prefix);
        for (const char *p = names[i]; *p && n < (int)sizeof var - 1; p++)
            var[n++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
        var[n] = 0;
        const char *v = getenv(var);
        if (v && cred_set(out, names[i], v)) {
            sg_reg_cred_free(out);
            return SG_ENOMEM;
        }
    }
    return 0;
}

const char *sg_reg_cred_get(const sg_reg_cred *c, const char *key)
{
    for (int i = 0; c && i < c->n; i++)
        if (!strcmp(c->key[i], key))
            return c->val[i];
    return NULL;
}

void sg_reg_cred_free(sg_reg_cred *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->n; i++) {
        sg_secure_free(c->val[i], strlen(c->val[i]) + 1);
        free(c->key[i]);
    }
    memset(c, 0, sizeof *c);
}

void sg_reg_cred_redact(const sg_reg_cred *c, char *text)
{
    for (int i = 0; c && i < c->n; i++) {
        size_t vl = strlen(c->val[i]);
        if (vl < 4)
            continue; /* too short to be a secret worth hiding, and would mangle text */
        char *p;
        while ((p = strstr(text, c->val[i])) != NULL) {
            memcpy(p, "***", 3);
            memmove(p + 3, p + vl, strlen(p + vl) + 1);
        }
    }
}
