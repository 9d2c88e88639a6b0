/*
 * lock.h - an exclusive lock on a lock file, held until xenib_unlock() or process death.
 *
 * fcntl open-file-description locks: released by the kernel when the holder dies (a killed
 * Prolog never wedges the pool), not shared with other descriptors of the same process (two
 * threads or two pool handles still exclude each other), and honoured over NFS (the OpenSM
 * partitions file may live there).
 */
#ifndef XENIB_LOCK_H
#define XENIB_LOCK_H

#include "lib/error.h"

/*
 * Open (creating, mode 0600) `path` and wait for its exclusive lock.  Returns the descriptor, or
 * -1 with errno and err naming the file.
 */
int xenib_lock(const char *path, struct xerr *err);
/* Drop the lock and close; -1 is ignored. */
void xenib_unlock(int fd);

#endif
