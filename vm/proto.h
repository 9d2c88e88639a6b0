/*
 * proto.h - the framed, versioned protocol between xenvm-exec (host) and xenvm-agent (guest).
 *
 * One protocol runs over every transport: a Unix socket (tests, the per-VM control socket), a
 * virtio-serial port (qemu) or a Xen console/network link.  A link carries many concurrent execs
 * ("channels"); every frame names its channel, so one byte stream (virtio-serial has exactly one)
 * multiplexes any number of execs without head-of-line blocking: stream data is flow-controlled
 * per stream by credits, never by blocking the link.
 *
 * Wire format (all integers little-endian):
 *   u32 len      payload length (<= XVP_MAX_PAYLOAD)
 *   u16 type     enum xvp_type
 *   u16 stream   stream id for DATA/EOF/CREDIT (0 stdin, 1 stdout, 2 stderr, 3+i relay fd i)
 *   u32 chan     channel (exec) id chosen by the side that sent the EXEC; 0 = the link itself.
 *                The host chooses ids below XVP_CHAN_GUEST, the guest agent ids with that bit
 *                set, so both can open channels on one link without agreeing on ids.
 *   payload
 *
 * Session: the agent sends HELLO (version, status text) as soon as it listens; the host answers
 * HELLO.  A peer speaking another major version is refused.  Per exec: host EXEC -> agent STARTED
 * (or ERROR) -> DATA/EOF/CREDIT/SIGNAL both ways -> agent EXIT (after the child's output streams
 * reached EOF) -> channel done.  CLOSE from the host abandons a channel (the agent SIGKILLs the
 * process group).  An EXEC with a TTY field asks for a pseudo-terminal: the command gets it as
 * its controlling terminal on stdin/stdout/stderr (its output comes on stream 1 only), set up
 * with the host terminal's modes and size; WINSIZE frames carry later size changes.  Each sender of
 * DATA on a stream starts with XVP_WINDOW bytes of credit and may send only what the receiver
 * granted back with CREDIT after it consumed the bytes.
 *
 * Guest -> host commands (srun in the guest): the guest agent forwards an EXEC from a program in
 * the guest onto the link with a channel id >= XVP_CHAN_GUEST; the roles are then reversed (the
 * host side answers STARTED/EXIT, the guest sends CLOSE), the frames are the same.
 */
#ifndef XENVM_VM_PROTO_H
#define XENVM_VM_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define XVP_VERSION 1
#define XVP_HDR_LEN 12
#define XVP_MAX_PAYLOAD (4u << 20) /* an EXEC with a large environment fits */
#define XVP_DATA_MAX (64u << 10)   /* largest DATA payload a sender emits */
#define XVP_WINDOW (256u << 10)    /* initial credit per stream and direction */
#define XVP_STREAM_STDIN 0
#define XVP_STREAM_STDOUT 1
#define XVP_STREAM_STDERR 2
#define XVP_STREAM_RELAY0 3
#define XVP_MAX_RELAY 8
#define XVP_MAX_STREAMS (XVP_STREAM_RELAY0 + XVP_MAX_RELAY)
#define XVP_CHAN_GUEST 0x80000000u /* channel ids the guest opens have this bit set */

enum xvp_type {
	XVP_HELLO = 1,   /* u32 version, u32 flags, status text ("ok" when ready) */
	XVP_EXEC = 2,    /* TLV request, see struct xvp_exec */
	XVP_STARTED = 3, /* u32 pid (in the guest) */
	XVP_DATA = 4,    /* bytes of `stream` */
	XVP_EOF = 5,     /* no more bytes on `stream` from the sender */
	XVP_CREDIT = 6,  /* u32 more bytes the receiver accepts on `stream` */
	XVP_SIGNAL = 7,  /* u32 signal number (Linux numbering on both sides) */
	XVP_EXIT = 8,    /* u32 kind (enum xvp_exit_kind), u32 code or signal, [u32 wait status] */
	XVP_ERROR = 9,   /* i32 errno, text[, NUL, what]: could not start, or a protocol fault */
	XVP_CLOSE = 10,  /* host gives the channel up: kill and forget */
	XVP_SHUTDOWN = 11, /* chan 0: sync and power the guest off */
	XVP_WINSIZE = 12,  /* u32 rows, cols, xpixel, ypixel: the terminal's new size (pty execs) */
};

enum xvp_exit_kind {
	XVP_EXITED = 0,
	XVP_SIGNALED = 1,
};

/*
 * An ERROR for an exec that could not start may end with a NUL and the object it failed on (the
 * program as executed, see XVP_EXEC_SLURM_PATH); a receiver printing the text up to its first
 * NUL shows what older agents sent.
 *
 * The third u32 of EXIT is the command's wait status as waitpid(2) gave it in the guest (Linux
 * encoding, so the core-dump bit travels too).  Agents older than this field send two; a
 * receiver then rebuilds the status from kind and code (xvp_exit_status).
 */

/* Number of control characters in struct xvp_tty (Linux's NCCS). */
#define XVP_TTY_NCC 32

/* A terminal as the host sees it: size and modes (Linux termios values, c_cc by index). */
struct xvp_tty {
	uint32_t rows, cols, xpixel, ypixel;
	uint32_t iflag, oflag, cflag, lflag, ispeed, ospeed;
	uint8_t cc[XVP_TTY_NCC];
};

/* Flags in struct xvp_exec.flags. */
#define XVP_EXEC_ROOT 0x1u /* run with uid/gid 0 (the host side decides whether it is allowed) */
/*
 * Find and run argv[0] as slurmstepd does (a task): a name starting with '/' as it is, with '.'
 * under the cwd, else the first PATH entry naming an existing non-directory, else the name as it
 * is; then execve(2), no shell fallback.  Without it: execvp(3).
 */
#define XVP_EXEC_SLURM_PATH 0x2u

/* A parsed frame; payload points into the connection's input buffer (valid until next read). */
struct xvp_frame {
	uint16_t type;
	uint16_t stream;
	uint32_t chan;
	uint32_t len;
	const uint8_t *payload;
};

/* A growable byte buffer; data lives in [off, off+len) of buf. */
struct xvp_buf {
	uint8_t *buf;
	size_t off, len, cap;
};

/*
 * One end of a link over a non-blocking (or blocking) stream fd.  Output is queued and flushed
 * by xvp_conn_flush(); input is read by xvp_conn_fill() and cut into frames by xvp_conn_next().
 */
struct xvp_conn {
	int fd;
	struct xvp_buf in, out;
};

/* An exec request, decoded or to encode.  Strings are NUL-terminated. */
struct xvp_exec {
	char **
	    argv; /* argc entries, no NULL terminator needed on encode; NULL-terminated on decode */
	size_t argc;
	char **envp; /* "NAME=value" */
	size_t envc;
	char *cwd;
	uint32_t uid, gid;
	uint32_t *groups;
	size_t ngroups;
	uint32_t flags;
	int relay_fds[XVP_MAX_RELAY]; /* the child's fd numbers to expose (stream 3+i) */
	size_t nrelay;
	bool pty;           /* run on a pseudo-terminal set up as tty says (TTY field) */
	struct xvp_tty tty; /* with pty only */
};

/* Buffers. xvp_buf_reserve returns 0, or -1 with errno ENOMEM. */
int xvp_buf_reserve(struct xvp_buf *b, size_t more);
void xvp_buf_free(struct xvp_buf *b);

/* Start a connection on fd (not taken over: xvp_conn_fini does not close it). */
void xvp_conn_init(struct xvp_conn *c, int fd);
/* Free buffers; does not close fd. */
void xvp_conn_fini(struct xvp_conn *c);

/* Queue one frame.  Returns 0, or -1 with errno EMSGSIZE (len too large) or ENOMEM. */
int xvp_send(struct xvp_conn *c, uint16_t type, uint32_t chan, uint16_t stream, const void *payload,
             size_t len);
/* Queue a frame whose payload is one or two u32 values. Same returns as xvp_send. */
int xvp_send_u32(struct xvp_conn *c, uint16_t type, uint32_t chan, uint16_t stream, uint32_t v);
int xvp_send_u32x2(struct xvp_conn *c, uint16_t type, uint32_t chan, uint32_t a, uint32_t b);
/* Queue EXIT for a child's waitpid(2) status (kind, code and the status itself).  As xvp_send. */
int xvp_send_exit(struct xvp_conn *c, uint32_t chan, int wstatus);
/*
 * The wait status an EXIT frame reports: its third field, or one rebuilt from kind and code
 * when an older agent sent two.  Returns 0, or -1 with errno EPROTO (malformed).
 */
int xvp_exit_status(const struct xvp_frame *f, int *wstatus);
/* Queue WINSIZE.  Same returns as xvp_send. */
int xvp_send_winsize(struct xvp_conn *c, uint32_t chan, const struct xvp_tty *t);
/* Parse WINSIZE into the size fields of *t.  Returns 0, or -1 with errno EPROTO. */
int xvp_parse_winsize(const struct xvp_frame *f, struct xvp_tty *t);
/* Queue ERROR: errno value and text.  Same returns as xvp_send. */
int xvp_send_error(struct xvp_conn *c, uint32_t chan, int err, const char *text);
/* Queue HELLO with our version and a status text. Same returns as xvp_send. */
int xvp_send_hello(struct xvp_conn *c, const char *status);
/* A listener's refusals since it last logged them (zero-initialise one per socket). */
struct xvp_refusals {
	long long logged_ms; /* CLOCK_MONOTONIC of the last log line, 0: never */
	unsigned long count;
};
/*
 * Refuse a connection just accepted: a HELLO whose status `why` ("refused: <reason>") the
 * peer's client prints, one non-blocking write of that small frame into the fresh socket's
 * buffer, then close(fd) whatever happened.  Never blocks: a peer that does not read loses the
 * reason, not our time.  Logged as "<what>: refused <reason> (N refused since the last report)"
 * at most once a minute per `r`, so a flood cannot flood the log.
 */
void xvp_refuse(int fd, const char *why, const char *what, struct xvp_refusals *r);
/* Count a refusal and log it as xvp_refuse does (for one refused without a HELLO). */
void xvp_refusal_log(struct xvp_refusals *r, const char *what, const char *why);

/* Bytes queued and not yet written. */
size_t xvp_conn_pending(const struct xvp_conn *c);
/*
 * Write queued output.  Returns 0 when all was written or the fd would block (check
 * xvp_conn_pending), or -1 with errno from write(2) (EPIPE, ECONNRESET, EIO ...).
 */
int xvp_conn_flush(struct xvp_conn *c);
/* Write everything queued, waiting in poll(2) if the fd is non-blocking. 0, or -1 with errno. */
int xvp_conn_flush_all(struct xvp_conn *c);

/*
 * Read what is available.  Returns the byte count (> 0), 0 at end of stream, or -1 with errno
 * (EAGAIN when nothing is available on a non-blocking fd; ENOMEM).
 */
ssize_t xvp_conn_fill(struct xvp_conn *c);
/*
 * The next complete frame in the input buffer.  Returns 1 and fills *f, 0 when more input is
 * needed, or -1 with errno EPROTO (payload length over XVP_MAX_PAYLOAD: the link is unusable).
 */
int xvp_conn_next(struct xvp_conn *c, struct xvp_frame *f);

/* Payload accessors: return 0, or -1 with errno EPROTO when the payload is too short. */
int xvp_get_u32(const struct xvp_frame *f, size_t index, uint32_t *v);

/*
 * Parse a HELLO: *version and the status text (copied into status, NUL-terminated, truncated to
 * len-1).  Returns 0, or -1 with errno EPROTO (malformed) or EPROTONOSUPPORT (other major version).
 */
int xvp_parse_hello(const struct xvp_frame *f, uint32_t *version, char *status, size_t len);

/* Encode an exec request as the payload of EXEC.  Returns 0, or -1 with errno ENOMEM/EMSGSIZE. */
int xvp_exec_encode(const struct xvp_exec *x, struct xvp_buf *out);
/*
 * Decode an EXEC payload into *x (every field allocated; free with xvp_exec_free).  Requires at
 * least one argument and a cwd.  Returns 0, or -1 with errno EPROTO (malformed) or ENOMEM.
 */
int xvp_exec_decode(const uint8_t *p, size_t len, struct xvp_exec *x);
void xvp_exec_free(struct xvp_exec *x);

/* A frame type's name for logs ("DATA"), or "?". */
const char *xvp_type_name(uint16_t type);

#endif
