/* SPDX-License-Identifier: MIT */
/* Process-wide allocator settings, made once at start by signetd and signetctl. */
#ifndef SG_MEM_H
#define SG_MEM_H

/* Keep up to 1 MiB free at the top of the heap instead of giving it back at once.
 * ldns_rr_new_frm_str allocates and frees ~100 KiB of scratch per record; with the
 * zone's data in mmap'ed arena chunks the heap top is that scratch, so glibc's default
 * (trim above 128 KiB) called brk twice per record and faulted the pages in again: a
 * 1M-record zone took 48 s to load at start, 20 s of it in the kernel (now ~4 s). At
 * 10,000 small zones the RSS is the same with and without it. Setting this also
 * stops glibc's sliding mmap threshold, so big arena chunks stay mmap'ed and go back to
 * the system when a zone version is freed. */
void sg_mem_tune(void);
/* Give the heap's free pages back to the system (malloc_trim): after a start or a reload,
 * whose scratch (zone parsing, key generation, the old version) is then free but still
 * resident. */
void sg_mem_release(void);

#endif
