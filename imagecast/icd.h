/*
 * icd.h - imagecastd's process-wide state, shared by the listener, the peer/local request
 * handlers (serve.c) and the transfers (xfer.c).
 */
#ifndef IC_ICD_H
#define IC_ICD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "admit.h"
#include "auth.h"
#include "lib/config.h"
#include "store.h"

struct xfer;

struct icd {
	struct ic_store store;
	char *node;        /* this node's name as it appears in node lists */
	uint16_t port;     /* peers' port (every node uses the same) */
	char *socket_path; /* local clients */
	char *store_dir;   /* default image store when a request names none */
	uint64_t chunk_bytes;
	enum xenvm_cast_shape shape;
	struct ic_auth auth;
	uid_t *allowed;
	int stall_ms;   /* a peer silent this long is given up on */
	int connect_ms; /* connect(2) budget per peer */
	uint32_t fetch_s;
	struct ic_admit admit; /* TCP connection slots; see handshake.h */

	pthread_mutex_t lock; /* protects xfers */
	struct xfer *xfers;

	/*
	 * Whole-file mode (the paper's scheme): this node sends to one child at a time, the waiting
	 * child heading the biggest subtree (lowest position) first.
	 */
	pthread_mutex_t wf_lock;
	pthread_cond_t wf_cv;
	bool wf_busy;
	long wf_waiting[64]; /* positions of the children waiting */
	size_t wf_nwaiting;
};

#endif
