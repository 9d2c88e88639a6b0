/*
 * log.h - levelled logging shared by plugins, daemons and tools.
 *
 * Every message goes through one sink.  Programs use the default sink (stderr, and syslog
 * once xlog_open_syslog() was called); Slurm plugins install a sink that forwards to
 * slurm_error()/slurm_info()/... so messages land in slurmctld's or slurmd's log.
 * Messages are prefixed with the component name given to xlog_init() ("xenvm-prolog: ...").
 */
#ifndef XENVM_LOG_H
#define XENVM_LOG_H

#include <stdarg.h>

enum xlog_level {
	XLOG_ERROR = 0,
	XLOG_WARN,
	XLOG_INFO,
	XLOG_VERBOSE,
	XLOG_DEBUG,
};

/* A sink receives the fully formatted message (no trailing newline). */
typedef void (*xlog_sink_fn)(enum xlog_level level, const char *msg);

/* Set the prefix and the most verbose level that is emitted (default XLOG_INFO). */
void xlog_init(const char *prefix, enum xlog_level max_level);
/* Replace the sink; NULL restores the default stderr/syslog sink. */
void xlog_set_sink(xlog_sink_fn sink);
/* Also send messages to syslog(3) with the given facility (LOG_DAEMON, ...). */
void xlog_open_syslog(int facility);
/* Raise or lower the level at run time (e.g. one -v per level). */
void xlog_set_level(enum xlog_level max_level);
enum xlog_level xlog_get_level(void);
/* Parse "error|warn|info|verbose|debug"; returns 0, or -1 with errno EINVAL. */
int xlog_parse_level(const char *s, enum xlog_level *out);

void xlog(enum xlog_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void xlogv(enum xlog_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

#define xerror(...) xlog(XLOG_ERROR, __VA_ARGS__)
#define xwarn(...) xlog(XLOG_WARN, __VA_ARGS__)
#define xinfo(...) xlog(XLOG_INFO, __VA_ARGS__)
#define xverbose(...) xlog(XLOG_VERBOSE, __VA_ARGS__)
#define xdebug(...) xlog(XLOG_DEBUG, __VA_ARGS__)

#endif
