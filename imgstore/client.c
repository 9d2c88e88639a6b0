/* client.c - see client.h. */
#include "client.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "remote.h"
#include "util.h"

int imgs_hash_fd(int fd, uint64_t *size, char *hex, struct xerr *err)
{
	static const char digits[] = "0123456789abcdef";
	enum { BUF = 1 << 20 };
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	char *buf = malloc(BUF);
	int rc = -1;

	*size = 0;
	if (!ctx || !buf || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		xerr_set(err, "out of memory");
		goto out;
	}
	if (lseek(fd, 0, SEEK_SET) < 0) {
		xerr_set(err, "seek: %s", strerror(errno));
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf, BUF);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			xerr_set(err, "read: %s", strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		*size += (uint64_t)n;
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || lseek(fd, 0, SEEK_SET) < 0) {
		xerr_set(err, "sha256 failed");
		goto out;
	}
	for (unsigned i = 0; i < mdlen; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 0xf];
	}
	hex[2 * mdlen] = '\0';
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	free(buf);
	return rc;
}

/* Send size bytes of fd (from its offset 0) to the socket. */
static int send_file(int sock, int fd, uint64_t size)
{
	off_t off = 0;

	while ((uint64_t)off < size) {
		size_t want =
		    size - (uint64_t)off > (1u << 30) ? (1u << 30) : (size_t)(size - (uint64_t)off);
		ssize_t n = sendfile(sock, fd, &off, want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
	}
	return 0;
}

int imgs_call(const char *socket_path, const struct imgs_req *r, const struct imgs_push_body *body,
              FILE *out, struct xerr *err)
{
	return imgs_call_via(socket_path, NULL, r, body, out, err);
}

int imgs_call_via(const char *socket_path, const char *munge_socket, const struct imgs_req *r,
                  const struct imgs_push_body *body, FILE *out, struct xerr *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char head[IMGS_WIRE_HEADER_MAX], buf[65536], first[4096];
	size_t flen = 0;
	bool in_first = true, ok = false;
	int fd, n, rc = -1;

	signal(SIGPIPE, SIG_IGN);
	n = imgs_req_format(r, head, sizeof(head));
	if (n < 0)
		return xerr_set(err, "request too long");
	if (socket_path[0] != '/') { /* HOST:PORT: a login node's way in (remote.h) */
		fd = imgs_tcp_connect(socket_path, munge_socket, err);
		if (fd < 0)
			return -1;
		goto send;
	}
	if (strlen(socket_path) >= sizeof(sa.sun_path))
		return xerr_set(err, "%s: path too long", socket_path);
	strcpy(sa.sun_path, socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		xerr_set(err, "cannot reach the image manager at %s: %s (is xenvm-imaged running?)",
		         socket_path, strerror(errno));
		goto out;
	}
send:
	/* A refused push answers before reading the files: a send error is not the story. */
	if (imgs_write_all(fd, head, (size_t)n) == 0 && body) {
		if (r->attrs_len && imgs_write_all(fd, body->attrs, r->attrs_len) < 0)
			goto answer;
		for (int i = 0; i < IMGS_ROLES; i++)
			if (r->files[i].present &&
			    send_file(fd, body->fds[i], r->files[i].size) < 0)
				goto answer;
	}
answer:
	shutdown(fd, SHUT_WR);
	for (;;) {
		ssize_t k = read(fd, buf, sizeof(buf));

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		for (ssize_t i = 0; i < k; i++) {
			if (!in_first) {
				fputc(buf[i], out);
				continue;
			}
			if (buf[i] == '\n' || flen + 1 >= sizeof(first)) {
				first[flen] = '\0';
				in_first = false;
				ok = strcmp(first, "ok") == 0;
				if (!ok) {
					xerr_set(err, "%s",
					         strncmp(first, "error ", 6) == 0 ? first + 6
					                                          : first);
					goto out;
				}
				continue;
			}
			first[flen++] = buf[i];
		}
	}
	if (!ok) {
		xerr_set(err, "the image manager closed the connection without an answer");
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}
