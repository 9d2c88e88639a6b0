/*
 * error.h - a message buffer that parsers and loaders fill on failure.
 *
 * Functions that take a `struct xerr *` return -1 and fill it with one line that names where
 * the fault is ("/etc/xenvm/images.yaml:12:5: images.ttylinux.memory.max: '9Q' is not a size")
 * so callers can show it unchanged to an admin or a user.  A NULL `struct xerr *` is allowed.
 */
#ifndef XENVM_ERROR_H
#define XENVM_ERROR_H

struct xerr {
	char msg[1024];
};

/*
 * Format into err (if not NULL); returns -1 so callers can `return xerr_set(...)`.  errno is
 * left as it was, so a failed call's errno survives the message that describes it.
 */
int xerr_set(struct xerr *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * The same, then errno = e: `return xerr_errno(err, EINVAL, "...", ...)` in one call instead
 * of setting errno first and hoping nothing in between changes it.  Returns -1.
 */
int xerr_errno(struct xerr *err, int e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
