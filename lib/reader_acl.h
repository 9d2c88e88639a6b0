/*
 * reader_acl.h - a root-owned file one user may read (a job's state, a VM's console log: they
 * can hold the user's data, and the user must not be able to change what root trusts).
 */
#ifndef XENVM_READER_ACL_H
#define XENVM_READER_ACL_H

#include <sys/types.h>

/*
 * Make fd's file mode 0600 plus a POSIX ACL entry user:<uid>:r (owner and group unchanged;
 * the caller is root and owns it).  Where the file system has no ACLs (EOPNOTSUPP) the file
 * becomes 0640 with group gid instead: root and the job's group may read it.  uid 0: 0600 only.
 * 0, or -1 with errno.
 */
int xenvm_grant_reader(int fd, uid_t uid, gid_t gid);

#endif
