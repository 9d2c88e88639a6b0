/*
 * reader_acl.c - see reader_acl.h.  The ACL is written as the kernel's xattr
 * (system.posix_acl_access, linux/posix_acl_xattr.h) so that no libacl is needed.
 */
#include "reader_acl.h"

#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define ACL_XATTR_VERSION 0x0002
enum {
	TAG_USER_OBJ = 0x01,
	TAG_USER = 0x02,
	TAG_GROUP_OBJ = 0x04,
	TAG_MASK = 0x10,
	TAG_OTHER = 0x20
};

struct acl_entry {
	uint16_t tag, perm;
	uint32_t id;
};

int xenvm_grant_reader(int fd, uid_t uid, gid_t gid)
{
	/* sorted by tag, as the kernel requires; the mask lets the named user's r through */
	struct {
		uint32_t version;
		struct acl_entry e[5];
	} acl = {ACL_XATTR_VERSION,
	         {{TAG_USER_OBJ, 6, (uint32_t)-1},
	          {TAG_USER, 4, (uint32_t)uid},
	          {TAG_GROUP_OBJ, 0, (uint32_t)-1},
	          {TAG_MASK, 4, (uint32_t)-1},
	          {TAG_OTHER, 0, (uint32_t)-1}}};

	if (fchmod(fd, 0600) < 0)
		return -1;
	if (uid == 0)
		return 0;
	if (fsetxattr(fd, "system.posix_acl_access", &acl, sizeof(acl), 0) == 0)
		return 0;
	if (errno != EOPNOTSUPP)
		return -1;
	if (fchown(fd, (uid_t)-1, gid) < 0)
		return -1;
	return fchmod(fd, 0640);
}
