/*
 * vmdhost.c - the VM supervisor's multiplexer (vm/vmd.c) with the guest agent on the host
 * instead of a VM, for tests/vm/agent-host.sh: the whole path of a command from the guest
 * (shim -> agent's host socket -> agent link -> vmd -> host-side helper -> command) under ASan
 * in a second, without booting anything.
 *
 *   vmdhost CTL_SOCK HOST_SOCK UID GID AGENT HOST_AGENT
 *     CTL_SOCK    the control socket xenvm-exec connects to (as vmd's agent.sock; mode 0666
 *                 here, the peer check still admits only UID and root)
 *     HOST_SOCK   where the agent (playing the guest) listens for shims
 *     UID GID     the job's user: owner of the "VM" and who runs commands from the guest
 *     AGENT       the xenvm-agent playing the guest (--fd on a socketpair, as root)
 *     HOST_AGENT  the helper vmd starts for commands from the guest ("" = none)
 * VMDHOST_CLAIM_MS=N: a job's VM that must be claimed within N ms (CTL_SOCK.claimed exists).
 * Runs until SIGTERM (vmd's "destroyed") or the agent's exit; exit 0, or 1 with a message.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/log.h"
#include "vm/vmd.h"

int main(int argc, char **argv)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct vmd_config cfg = {0};
	char status[sizeof(sa.sun_path) + 8], claim[sizeof(sa.sun_path) + 8];
	int sp[2], lfd = -1, rc = 1;
	pid_t agent;

	xlog_init("vmdhost", XLOG_INFO);
	if (argc != 7 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: vmdhost CTL_SOCK HOST_SOCK UID GID AGENT HOST_AGENT\n");
		return 2;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
		perror("vmdhost: socketpair");
		return 1;
	}
	agent = fork();
	if (agent < 0) {
		perror("vmdhost: fork");
		return 1;
	}
	if (agent == 0) {
		if (dup2(sp[1], 3) < 0)
			_exit(127);
		execl(argv[5], "xenvm-agent", "--fd", "3", "--host-socket", argv[2], (char *)NULL);
		perror("vmdhost: exec agent");
		_exit(127);
	}
	close(sp[1]);
	strcpy(sa.sun_path, argv[1]);
	unlink(argv[1]);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(argv[1], 0666) < 0 || listen(lfd, 128) < 0) {
		fprintf(stderr, "vmdhost: %s: %s\n", argv[1], strerror(errno));
		goto out;
	}
	cfg.agent_fd = sp[0];
	cfg.listen_fd = lfd;
	cfg.owner_uid = (uid_t)atoi(argv[3]);
	cfg.owner_gid = (gid_t)atoi(argv[4]);
	cfg.host_agent = argv[6];
	cfg.child = agent;
	/* vmd writes it atomically (rename): a file of ours beside the socket */
	snprintf(status, sizeof(status), "%s.status", argv[1]);
	cfg.status_path = status;
	cfg.console_log = NULL;
	if (getenv("VMDHOST_CLAIM_MS")) {
		snprintf(claim, sizeof(claim), "%s.claimed", argv[1]);
		cfg.claim_ms = (unsigned)atoi(getenv("VMDHOST_CLAIM_MS"));
		cfg.claim_path = claim;
	}
	rc = vmd_run(&cfg) < 0;
out:
	kill(agent, SIGTERM);
	waitpid(agent, NULL, 0);
	if (lfd >= 0)
		close(lfd);
	close(sp[0]);
	unlink(argv[1]);
	return rc;
}
