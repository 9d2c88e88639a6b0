/*
 * slurm_alloc.h - Slurm's allocator, for memory slurmctld frees.
 *
 * Strings put into job_desc_msg_t and *err_msg are released by slurmctld with xfree(), which
 * expects the xmalloc header; libc's malloc() there corrupts slurmctld's heap.  The functions
 * live in libslurmfull (loaded by slurmctld); Slurm's public headers do not declare them.
 */
#ifndef VMIMAGE_SLURM_ALLOC_H
#define VMIMAGE_SLURM_ALLOC_H

#include <stdbool.h>
#include <stddef.h>

extern char *slurm_xstrdup(const char *str);
extern char *slurm_xstrdup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern void slurm_xfree_ptr(void *ptr);
extern void *slurm_xrecalloc(void **item, size_t count, size_t size, bool clear, bool try_,
                             const char *file, int line, const char *func);

#endif
