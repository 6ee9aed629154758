/* SPDX-License-Identifier: MIT */
/* HTTPS requests through libcurl: verification always on, timeouts, no redirects, the
 * Retry-After header kept for the backoff. */
#include "registrar/internal.h"

#include "common/log.h"

#include <curl/curl.h>
#include <openssl/crypto.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_BODY (4u << 20)   /* a DS listing is small; a huge reply is a broken server */

static pthread_once_t once = PTHREAD_ONCE_INIT;
static void global_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
    sg_http_resp *r = ud;
    size_t n = sz * nm;
    if (r->len + n > MAX_BODY)
        return 0;
    char *b = realloc(r->body, r->len + n + 1);
    if (!b)
        return 0;
    memcpy(b + r->len, p, n);
    r->body = b;
    r->len += n;
    r->body[r->len] = 0;
    return n;
}

void sg_http_header(sg_http_resp *r, const char *p, size_t n)
{
    static const char cookie[] = "set-cookie:";
    if (!r->cookie[0] && n > sizeof cookie - 1 && n < sizeof r->cookie &&
        !strncasecmp(p, cookie, sizeof cookie - 1)) {
        const char *v = p + sizeof cookie - 1, *end = p + n;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        size_t len = 0;
        while (v + len < end && v[len] != ';' && v[len] != '\r' && v[len] != '\n')
            len++;
        memcpy(r->cookie, v, len);
        r->cookie[len] = 0;
    }
    static const char name[] = "retry-after:";
    if (n > sizeof name - 1 && n < 200 && !strncasecmp(p, name, sizeof name - 1)) {
        char v[200];
        memcpy(v, p + sizeof name - 1, n - (sizeof name - 1));
        v[n - (sizeof name - 1)] = 0;
        v[strcspn(v, "\r\n")] = 0;
        r->retry_after = sg_reg_retry_after(v, (int64_t)time(NULL));
    }
}

static size_t on_header(char *p, size_t sz, size_t nm, void *ud)
{
    sg_http_header(ud, p, sz * nm);
    return sz * nm;
}

int sg_http_do(const sg_reg_cfg *cfg, const char *method, const char *url,
               const char *const *headers, int nheaders, const char *body,
               const char *userpwd, sg_http_resp *resp)
{
    pthread_once(&once, global_init);
    memset(resp, 0, sizeof *resp);
    CURL *h = curl_easy_init();
    if (!h) {
        snprintf(resp->err, sizeof resp->err, "curl_easy_init failed");
        return SG_ELIB;
    }
    struct curl_slist *hl = NULL;
    hl = curl_slist_append(hl, "Accept: application/json");
    int own_type = 0; /* AWS wants its own JSON type: a caller's Content-Type wins */
    for (int i = 0; i < nheaders; i++)
        own_type |= !strncasecmp(headers[i], "Content-Type:", 13);
    if (body && !own_type)
        hl = curl_slist_append(hl, "Content-Type: application/json");
    for (int i = 0; i < nheaders; i++)
        hl = curl_slist_append(hl, headers[i]);
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    } else if (!strcmp(method, "GET")) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    /* a registrar's DS is the zone's chain of trust: never talk to an unverified peer,
     * and never let a redirect or a plain-HTTP URL carry the credentials elsewhere */
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    if (cfg->ca_file[0])
        curl_easy_setopt(h, CURLOPT_CAINFO, cfg->ca_file);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)(cfg->connect_timeout ? cfg->connect_timeout : 10));
    curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)(cfg->timeout ? cfg->timeout : 30));
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "signet/" SIGNET_VERSION);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, resp);
    if (userpwd) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERPWD, userpwd);
    }
    CURLcode cc = curl_easy_perform(h);
    int rc = 0;
    if (cc != CURLE_OK) {
        snprintf(resp->err, sizeof resp->err, "%s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
        resp->status = 0;
        rc = SG_EIO;
    } else {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
        if (!resp->body && !(resp->body = calloc(1, 1)))
            rc = SG_ENOMEM;
    }
    curl_slist_free_all(hl);
    curl_easy_cleanup(h);
    return rc;
}

void sg_http_resp_free(sg_http_resp *r)
{
    if (!r)
        return;
    free(r->body);
    r->body = NULL;
    r->len = 0;
    OPENSSL_cleanse(r->cookie, sizeof r->cookie);
}
