/*
 * xenvm_exec_end.c - how xenvm-exec leaves the terminal and ends: the local terminal in raw mode
 * while a pty exec runs (and back), and the command's own end (exit code, or death by signal)
 * reproduced on this process, so that slurmstepd, srun, sacct and `scontrol show job` report a
 * task in a VM as they report a native one ("Killed", "Segmentation fault", ExitCode=0:9).
 */
#include "xenvm_exec.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static struct termios saved_tio;
static bool tio_saved;
static uint8_t early[4096]; /* input the terminal held before raw mode (xexec_tty_raw) */
static size_t early_len;

int xexec_tty_size(int fd, struct xvp_tty *t)
{
	struct winsize ws;

	if (ioctl(fd, TIOCGWINSZ, &ws) < 0)
		return -1;
	t->rows = ws.ws_row;
	t->cols = ws.ws_col;
	t->xpixel = ws.ws_xpixel;
	t->ypixel = ws.ws_ypixel;
	return 0;
}

int xexec_tty_save(struct xvp_tty *t)
{
	if (tcgetattr(STDIN_FILENO, &saved_tio) < 0)
		return -1;
	memset(t, 0, sizeof(*t));
	t->iflag = saved_tio.c_iflag;
	t->oflag = saved_tio.c_oflag;
	t->cflag = saved_tio.c_cflag;
	t->lflag = saved_tio.c_lflag;
	t->ispeed = (uint32_t)cfgetispeed(&saved_tio);
	t->ospeed = (uint32_t)cfgetospeed(&saved_tio);
	for (size_t i = 0; i < NCCS && i < XVP_TTY_NCC; i++)
		t->cc[i] = saved_tio.c_cc[i];
	xexec_tty_size(STDIN_FILENO, t); /* a terminal without a size: 0x0, the guest's default */
	return 0;
}

/*
 * Take what the terminal holds in canonical mode (complete lines, an end of file) before the
 * switch to raw mode: a pending end of file would otherwise turn into a NUL byte (the line
 * discipline's marker for it) that the guest echoes as "^@".  An end of file becomes the
 * terminal's EOF character, which the guest's pseudo-terminal turns back into one.
 */
static void take_early_input(void)
{
	for (int i = 0; i < 16 && early_len < sizeof(early); i++) {
		struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN))
			return;
		n = read(STDIN_FILENO, early + early_len, sizeof(early) - early_len);
		if (n < 0)
			return;
		if (n == 0)
			early[early_len++] = saved_tio.c_cc[VEOF];
		else
			early_len += (size_t)n;
	}
}

size_t xexec_tty_early(const uint8_t **p)
{
	*p = early;
	return early_len;
}

int xexec_tty_raw(void)
{
	struct termios raw;

	take_early_input();
	raw = saved_tio;
	cfmakeraw(&raw);
	/* TCSADRAIN: what was written in cooked mode (a prompt of srun's) goes out as it was */
	if (tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) < 0)
		return -1;
	tio_saved = true;
	return 0;
}

void xexec_tty_restore(void)
{
	if (!tio_saved)
		return;
	tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_tio);
	tio_saved = false;
}

void xexec_end_like(int ws)
{
	struct rlimit no_core = {0, 0};
	sigset_t one;
	int sig;

	xexec_tty_restore();
	fflush(NULL);
	if (!WIFSIGNALED(ws))
		_exit(WIFEXITED(ws) ? WEXITSTATUS(ws) : XEXEC_EXIT_INTERNAL);
	sig = WTERMSIG(ws);
	/*
	 * The guest already dumped its core if it was going to (and the core bit cannot be set
	 * from here without one); a second dump of this relay on the host would only fill the
	 * user's directory.
	 */
	setrlimit(RLIMIT_CORE, &no_core);
	signal(sig, SIG_DFL);
	sigemptyset(&one);
	sigaddset(&one, sig);
	sigprocmask(SIG_UNBLOCK, &one, NULL);
	kill(getpid(), sig);
	/* Still here: a signal whose default action does not end a process.  The shell's way. */
	_exit(128 + (sig & 127));
}
