/* log.c - see log.h. */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

static char log_prefix[64] = "xenvm";
static enum xlog_level log_max = XLOG_INFO;
static xlog_sink_fn log_sink;
static int log_syslog;

static const char *const level_names[] = {"error", "warn", "info", "verbose", "debug"};

void xlog_init(const char *prefix, enum xlog_level max_level)
{
	if (prefix)
		snprintf(log_prefix, sizeof(log_prefix), "%s", prefix);
	log_max = max_level;
}

void xlog_set_sink(xlog_sink_fn sink)
{
	log_sink = sink;
}

void xlog_open_syslog(int facility)
{
	openlog(log_prefix, LOG_PID, facility);
	log_syslog = 1;
}

void xlog_set_level(enum xlog_level max_level)
{
	log_max = max_level;
}

enum xlog_level xlog_get_level(void)
{
	return log_max;
}

int xlog_parse_level(const char *s, enum xlog_level *out)
{
	if (!s || !out) {
		errno = EINVAL;
		return -1;
	}
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum xlog_level)i;
			return 0;
		}
	}
	errno = EINVAL;
	return -1;
}

static void default_sink(enum xlog_level level, const char *msg)
{
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_INFO, LOG_DEBUG};

	if (log_syslog)
		syslog(prio[level], "%s", msg);
	if (level == XLOG_ERROR || level == XLOG_WARN)
		fprintf(stderr, "%s: %s: %s\n", log_prefix, level_names[level], msg);
	else
		fprintf(stderr, "%s: %s\n", log_prefix, msg);
}

void xlogv(enum xlog_level level, const char *fmt, va_list ap)
{
	char buf[4096];
	int saved = errno;

	if (level > log_max || level < XLOG_ERROR)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (log_sink)
		log_sink(level, buf);
	else
		default_sink(level, buf);
	errno = saved;
}

void xlog(enum xlog_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	xlogv(level, fmt, ap);
	va_end(ap);
}
