/* SPDX-License-Identifier: MIT */
/* libFuzzer target: any bytes as a Corefile. */
#include "common/cfg.h"
#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sg_log_set_level(SG_LOG_SILENT); /* syntax errors are the point */
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    sg_cfg *cfg = NULL;
    if (sg_cfg_parse_string(text, "fuzz", &cfg) == 0)
        sg_cfg_free(cfg);
    free(text);
    return 0;
}
