/* SPDX-License-Identifier: MIT */
/* Wall and process CPU time per phase of a long job (`signetctl zone sign --verbose`): the
 * CPU over the wall of a phase says how many cores it kept busy. On a shared machine that
 * ratio says little (every thread gets a share); the calling thread's own CPU does: a
 * phase on N cores of a calm machine takes about max(own, cpu / N). */
#ifndef SG_PHASE_H
#define SG_PHASE_H

#include <time.h>

#define SG_PHASES_MAX 8

typedef struct sg_phases {
    int n;
    struct sg_phase {
        const char *name;   /* a string literal */
        double wall, cpu;   /* seconds; cpu is the whole process's, every thread */
        double own;         /* the CPU of the thread that timed it */
    } p[SG_PHASES_MAX];
    double wall0, cpu0, own0; /* when the current phase began */
} sg_phases;

static inline double sg_phase_clock(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Start timing (ph may be NULL: nothing is recorded, here or in sg_phase_end). */
static inline void sg_phase_begin(sg_phases *ph)
{
    if (!ph)
        return;
    ph->wall0 = sg_phase_clock(CLOCK_MONOTONIC);
    ph->cpu0 = sg_phase_clock(CLOCK_PROCESS_CPUTIME_ID);
    ph->own0 = sg_phase_clock(CLOCK_THREAD_CPUTIME_ID);
}

/* The phase that began at the last sg_phase_begin or sg_phase_end ends now; the next
 * one begins. */
static inline void sg_phase_end(sg_phases *ph, const char *name)
{
    if (!ph)
        return;
    double w = sg_phase_clock(CLOCK_MONOTONIC), c = sg_phase_clock(CLOCK_PROCESS_CPUTIME_ID);
    double o = sg_phase_clock(CLOCK_THREAD_CPUTIME_ID);
    if (ph->n < SG_PHASES_MAX)
        ph->p[ph->n++] = (struct sg_phase){ name, w - ph->wall0, c - ph->cpu0, o - ph->own0 };
    ph->wall0 = w;
    ph->cpu0 = c;
    ph->own0 = o;
}

#endif
