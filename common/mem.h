/* SPDX-License-Identifier: MIT */
/* Process-wide allocator settings, made once at start by signetd and signetctl. */
#ifndef SG_MEM_H
#define SG_MEM_H

/* Keep up to 32 MiB free at the top of the heap instead of giving it back at once.
 * ldns_rr_new_frm_str allocates and frees ~100 KiB of scratch per record; with the
 * zone's data in mmap'ed arena chunks the heap top is that scratch, so glibc's default
 * (trim above 128 KiB) called brk twice per record and faulted the pages in again: a
 * 1M-record zone took 40 s to load at start, 20 s of it in the kernel. Setting this also
 * stops glibc's sliding mmap threshold, so big arena chunks stay mmap'ed and go back to
 * the system when a zone version is freed. */
void sg_mem_tune(void);

#endif
