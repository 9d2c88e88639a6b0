/*
 * spec_check.c - what every driver checks of a spec (see spec_check.h).  Its own file so that
 * the fuzz target of the argv path links it without the supervisor.
 */
#include "vm/spec_check.h"

#include <errno.h>
#include <string.h>

int xvm_spec_check(const struct xvm_spec *s, struct xerr *err)
{
	static const char name_ok[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";

	if (!s->name || !*s->name || strlen(s->name) > 16 ||
	    strspn(s->name, name_ok) != strlen(s->name)) {
		return xerr_errno(err, EINVAL, "bad VM name '%.40s'", s->name ? s->name : "");
	}
	if (!s->kernel || !s->initrd || !s->state_dir || s->mem_bytes < (64u << 20))
		return xerr_errno(err, EINVAL,
		                  "VM spec needs kernel, initrd, state_dir and >= 64M memory");
	if (s->n_shares > XVM_MAX_SHARES) {
		return xerr_errno(err, EINVAL, "%zu shared directories: at most %d", s->n_shares,
		                  XVM_MAX_SHARES);
	}
	for (size_t i = 0; i < s->n_shares; i++)
		if (!s->shares[i].host_path || !s->shares[i].guest_path)
			return xerr_errno(err, EINVAL,
			                  "shared directory %zu: no host or guest path", i);
	return 0;
}
