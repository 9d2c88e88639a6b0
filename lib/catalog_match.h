/*
 * catalog_match.h - choosing an image by --vm-require (xenvm-require(7)).
 *
 * The rule: among the images the user may use (in the --vm-image family when one is given) that
 * satisfy every term, the one with the highest `priority`; then the newest by each versioned key
 * the requirements name (in their order), then by os_version, then by kernel (an image without
 * the key is older than any with it); then the first name in byte order.
 */
#ifndef XENVM_CATALOG_MATCH_H
#define XENVM_CATALOG_MATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "catalog.h"
#include "require.h"

#define XENVM_NEAR_MISS_MAX 3

/* An image that misses some terms, for the "no match" message. */
struct xenvm_near_miss {
	const struct xenvm_image *img;
	size_t n_missed;
	char missed[512]; /* "os_version>=13 (has 12), ib (has false)" */
};

/* Whether the job's user may use img (ctx: the caller's); must not fail. */
typedef bool (*xenvm_permit_fn)(const struct xenvm_image *img, void *ctx);

/*
 * Whether img satisfies term t; when not and `why` is given, what the image has instead
 * ("has 12", "has none", "has 'x', not a version").  Never fails.
 */
bool xenvm_term_holds(const struct xenvm_image *img, const struct xenvm_req_term *t, char *why,
                      size_t len);

/* Whether `name` is in the --vm-image family `family`: the name itself, or family-* or family:*. */
bool xenvm_image_in_family(const char *name, const char *family);

/*
 * The best image for `req` (see above) among those in `family` (NULL: all) that `permits`
 * admits.  Returns 1 with *out set; 0 when none matches, with near[0..*n_near) the permitted
 * images (at most XENVM_NEAR_MISS_MAX) that miss the fewest terms, best first; -1 with errno
 * EINVAL (a NULL argument) or ENOMEM.  The images that match a requirement are remembered per
 * catalog (up to 256 different requirements), so a repeated requirement costs a lookup and the
 * permission checks of the candidates tried.  Thread-safe.
 */
int xenvm_catalog_match(const struct xenvm_catalog *cat, const struct xenvm_requirements *req,
                        const char *family, xenvm_permit_fn permits, void *ctx,
                        const struct xenvm_image **out, struct xenvm_near_miss *near,
                        size_t *n_near);

#endif
