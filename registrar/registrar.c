/* SPDX-License-Identifier: MIT */
/* Making a registrar from its config: the provider, its credentials, the worker state. */
#include "registrar/tick.h"

#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const sg_reg_provider *sg_reg_provider_find(const char *name)
{
    static const sg_reg_provider *const all[] = {
        &sg_reg_provider_rest, &sg_reg_provider_porkbun, &sg_reg_provider_dnsimple,
        &sg_reg_provider_ovh, &sg_reg_provider_update, &sg_reg_provider_route53,
        &sg_reg_provider_cds, &sg_reg_provider_inwx, &sg_reg_provider_namecom,
        &sg_reg_provider_gandi, &sg_reg_provider_openprovider, NULL,
    };
    for (int i = 0; all[i]; i++)
        if (!strcmp(all[i]->name, name))
            return all[i];
    return NULL;
}

const char *sg_reg_provider_names(void)
{
    return "manual, cds, rest, porkbun, dnsimple, ovh, route53, gandi, inwx, namecom, openprovider, update";
}

int sg_reg_new(const sg_reg_cfg *cfg, sg_registrar **reg_out)
{
    if (!cfg || !reg_out)
        return SG_EINVAL;
    *reg_out = NULL;
    sg_registrar *r = calloc(1, sizeof *r);
    if (!r)
        return SG_ENOMEM;
    r->cfg = *cfg;
    if (!(r->counts = r->own_counts = sg_counters_new(SG_REG_COUNT_STATES))) {
        free(r);
        return SG_ENOMEM;
    }
    r->manual = !strcmp(cfg->provider, "manual");
    r->prov = r->manual ? NULL : sg_reg_provider_find(cfg->provider);
    r->seed = (unsigned)time(NULL) ^ (unsigned)getpid() << 16;
    pthread_mutex_init(&r->lock, NULL);
    if (!r->manual && !r->prov) {
        sg_log(SG_LOG_ERR, "registrar", NULL, "%s:%d: unknown provider '%s'",
               cfg->file, cfg->line, cfg->provider);
        sg_reg_free(r);
        return SG_EINVAL;
    }
    if (!r->manual && !r->prov->scan_only) {
        char why[600] = "";
        int rc;
        if (!strcmp(cfg->credentials, "env")) {
            /* every name a provider may use; the check below says which are missing */
            static const char *const names[] = { "apikey", "secretapikey", "token", "account",
                                                 "application-key", "application-secret",
                                                 "consumer-key", "tsig-name", "tsig-algorithm",
                                                 "tsig-secret", "access-key-id",
                                                 "secret-access-key", "user", "password",
                                                 "username", "session-token",
                                                 "shared-secret", NULL };
            rc = sg_reg_cred_load_env(cfg->env_prefix, names, &r->cred);
            for (int i = 0; !rc && i < r->cfg.nrest_headers + 0; i++) {
                /* {cred:NAME} placeholders of the rest provider name their own variables */
                const char *p = r->cfg.rest_headers[i];
                while (!rc && (p = strstr(p, "{cred:")) != NULL) {
                    char nm[64];
                    const char *e = strchr(p, '}');
                    if (!e || e - p - 6 >= (long)sizeof nm)
                        break;
                    snprintf(nm, sizeof nm, "%.*s", (int)(e - p - 6), p + 6);
                    if (!sg_reg_cred_get(&r->cred, nm)) {
                        sg_reg_cred tmp;
                        const char *one[] = { nm, NULL };
                        if (!sg_reg_cred_load_env(cfg->env_prefix, one, &tmp) && tmp.n == 1 &&
                            r->cred.n < SG_REG_CRED_MAX) {
                            r->cred.key[r->cred.n] = tmp.key[0];
                            r->cred.val[r->cred.n++] = tmp.val[0];
                        } else {
                            sg_reg_cred_free(&tmp);
                        }
                    }
                    p = e;
                }
            }
        } else {
            rc = sg_reg_cred_load_file(cfg->credentials, &r->cred, why, sizeof why);
        }
        for (int i = 0; !rc && r->prov->cred_keys[i]; i++)
            if (!sg_reg_cred_get(&r->cred, r->prov->cred_keys[i])) {
                snprintf(why, sizeof why, "registrar %s: credential '%s' missing from %s",
                         cfg->provider, r->prov->cred_keys[i],
                         strcmp(cfg->credentials, "env") ? cfg->credentials : "the environment");
                rc = SG_REG_ECRED;
            }
        if (rc) {
            sg_log(SG_LOG_ERR, "registrar", NULL, "%s:%d: %s", cfg->file,
                   cfg->line, why[0] ? why : sg_strerror(rc));
            sg_reg_free(r);
            return SG_REG_ECRED;
        }
    }
    *reg_out = r;
    return 0;
}

void sg_reg_drain(sg_registrar *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    if (r->running) {
        pthread_join(r->thread, NULL);
        r->running = 0;
        r->joined = 1;
    }
    pthread_mutex_unlock(&r->lock);
}

void sg_reg_free(sg_registrar *r)
{
    if (!r)
        return;
    atomic_store(&r->stopping, 1); /* a push waiting on a registrar's task gives up */
    sg_reg_drain(r);
    if (r->job) {
        sg_reg_dsset_deinit(&r->job->want);
        sg_reg_journal_free(&r->job->journal);
        free(r->job);
    }
    while (r->zones) {
        sg_reg_zstate *z = r->zones;
        r->zones = z->next;
        free(z);
    }
    sg_reg_cred_free(&r->cred);
    sg_reg_counts_deinit(r);
    pthread_mutex_destroy(&r->lock);
    free(r);
}
