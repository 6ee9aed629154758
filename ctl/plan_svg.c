/* SPDX-License-Identifier: MIT */
/* `zone plan --svg`: the coming key events of a zone as a picture, one lane per key (the
 * drawing docs/key-lifecycle.md makes by hand), for an operator who would rather look. */
#include "ctl/ctl.h"
#include "keystore/rollover.h"

#include <string.h>
#include <time.h>

#define W 1000
#define LEFT 150
#define RIGHT 30
#define LANE 44
#define TOP 60

static void xml_text(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static double xpos(int64_t t, int64_t from, int64_t to)
{
    if (t < from)
        t = from;
    return LEFT + (double)(t - from) * (W - LEFT - RIGHT) / (double)(to - from);
}

static void day(int64_t t, char *buf, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, cap, "%Y-%m-%d", &tm);
}

int ctl_plan_svg(FILE *f, const char *zone, const struct sg_roll_event *evs, size_t n, int64_t now)
{
    /* lanes: the keys in the order they first appear; key 0 is a key not made yet */
    int64_t lanes[64];
    int nl = 0;
    int64_t to = now + 86400;
    for (size_t i = 0; i < n; i++) {
        if (evs[i].action == SG_ROLL_WAIT || evs[i].action == SG_ROLL_NONE)
            continue;
        int64_t id = evs[i].key_id, seen = 0;
        for (int l = 0; l < nl; l++)
            seen |= lanes[l] == id;
        if (!seen && nl < 64)
            lanes[nl++] = id;
        if (evs[i].when > to)
            to = evs[i].when;
    }
    to += (to - now) / 20 + 3600;
    int h = TOP + (nl ? nl : 1) * LANE + 40;
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n", W, h, W, h);
    fprintf(f, "<title>key events of ");
    xml_text(f, zone);
    fprintf(f, "</title>\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf(f, "<text x=\"10\" y=\"24\" font-size=\"16\">");
    xml_text(f, zone);
    fprintf(f, ": planned key events</text>\n");
    /* the time axis: now, then one tick per tenth of the span */
    int axis = h - 30;
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#444\"/>\n", LEFT, axis, W - RIGHT, axis);
    for (int k = 0; k <= 10; k++) {
        int64_t t = now + (to - now) * k / 10;
        char d[32];
        day(t, d, sizeof d);
        double x = xpos(t, now, to);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>"
                   "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-size=\"10\">%s</text>\n",
                x, TOP - 10, x, axis, x, axis + 14, k ? d : "now");
    }
    if (!nl)
        fprintf(f, "<text x=\"%d\" y=\"%d\">no events before the end of the plan</text>\n", LEFT, TOP + 20);
    for (int l = 0; l < nl; l++) {
        int y = TOP + l * LANE + LANE / 2;
        const sg_roll_event *first = NULL, *last = NULL;
        for (size_t i = 0; i < n; i++)
            if (evs[i].key_id == lanes[l] && evs[i].action != SG_ROLL_WAIT && evs[i].action != SG_ROLL_NONE) {
                if (!first)
                    first = &evs[i];
                last = &evs[i];
            }
        /* keys the plan makes have ids <= 0: "planned" */
        fprintf(f, "<g class=\"lane\" data-key=\"%lld\">\n<text x=\"10\" y=\"%d\">%s</text>\n",
                (long long)lanes[l], y + 4, sg_ks_role_name(first->role));
        if (lanes[l] > 0)
            fprintf(f, "<text x=\"50\" y=\"%d\" fill=\"#666\">key %lld</text>\n", y + 4, (long long)lanes[l]);
        else
            fprintf(f, "<text x=\"50\" y=\"%d\" fill=\"#666\">planned</text>\n", y + 4);
        fprintf(f, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"8\" fill=\"#9ecae1\"/>\n",
                xpos(first->when, now, to), y - 4,
                xpos(last->when, now, to) - xpos(first->when, now, to) + 1);
        for (size_t i = 0; i < n; i++) {
            const sg_roll_event *e = &evs[i];
            if (e->key_id != lanes[l] || e->action == SG_ROLL_WAIT || e->action == SG_ROLL_NONE)
                continue;
            char when[64];
            ctl_fmt_time(e->when <= now ? now : e->when, when, sizeof when);
            fprintf(f, "<g class=\"event\"><circle cx=\"%.1f\" cy=\"%d\" r=\"6\" fill=\"#3182bd\"/>"
                       "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\">",
                    xpos(e->when, now, to), y, xpos(e->when, now, to), y - 10);
            xml_text(f, sg_roll_action_name(e->action));
            fprintf(f, "</text><title>%s: ", when);
            xml_text(f, e->reason);
            fprintf(f, "</title></g>\n");
        }
        fprintf(f, "</g>\n");
    }
    fprintf(f, "</svg>\n");
    return ferror(f) ? CTL_ERR : CTL_OK;
}
