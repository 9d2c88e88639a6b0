/*
 * catalog_find.c - the catalog's name index (xenvm_catalog_find) and "did you mean"
 * (xenvm_catalog_suggest).
 *
 * The index is an open-addressing table of image positions, linear probing, at most half full,
 * keyed by FNV-1a: a lookup hashes the name once and compares one or two names; it allocates
 * nothing, so slurmctld can call it for every job.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog_priv.h"
#include "editdist.h"

#define EMPTY SIZE_MAX
/* Shortest name that is matched as a prefix or substring. */
#define SUGGEST_MIN_PART 3

uint64_t xenvm_catalog_hash(const char *s)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

int xenvm_catalog_index_build(struct xenvm_catalog *cat)
{
	size_t size = 8, *index;

	if (!cat) {
		errno = EINVAL;
		return -1;
	}
	free(cat->index);
	cat->index = NULL;
	cat->index_size = 0;
	if (!cat->n_images)
		return 0;
	while (size < 2 * cat->n_images) {
		if (size > SIZE_MAX / 4 / sizeof(*index)) {
			errno = ENOMEM;
			return -1;
		}
		size *= 2;
	}
	index = malloc(size * sizeof(*index));
	if (!index) {
		errno = ENOMEM;
		return -1;
	}
	for (size_t i = 0; i < size; i++)
		index[i] = EMPTY;
	for (size_t i = 0; i < cat->n_images; i++) {
		size_t slot = (size_t)xenvm_catalog_hash(cat->images[i].name) & (size - 1);

		while (index[slot] != EMPTY) {
			if (strcmp(cat->images[index[slot]].name, cat->images[i].name) == 0) {
				free(index);
				errno = EEXIST;
				return -1;
			}
			slot = (slot + 1) & (size - 1);
		}
		index[slot] = i;
	}
	cat->index = index;
	cat->index_size = size;
	return 0;
}

/* The image, or NULL with errno EINVAL (NULL argument) or ENOENT (no such image). */
const struct xenvm_image *xenvm_catalog_find(const struct xenvm_catalog *cat, const char *name)
{
	size_t mask, slot;

	if (!cat || !name) {
		errno = EINVAL;
		return NULL;
	}
	if (!cat->index_size) {
		errno = ENOENT;
		return NULL;
	}
	mask = cat->index_size - 1;
	slot = (size_t)xenvm_catalog_hash(name) & mask;
	for (size_t probes = 0; probes < cat->index_size; probes++) {
		size_t i = cat->index[slot];

		if (i == EMPTY)
			break;
		if (strcmp(cat->images[i].name, name) == 0)
			return &cat->images[i];
		slot = (slot + 1) & mask;
	}
	errno = ENOENT;
	return NULL;
}

/* A candidate's rank: lower is better; `pos` (file order) breaks ties so the order is stable. */
struct rank {
	unsigned tier; /* 0 edit distance, 1 prefix, 2 substring */
	size_t score;  /* the distance, or the difference in length */
	size_t pos;
};

static int rank_cmp(const struct rank *a, const struct rank *b)
{
	if (a->tier != b->tier)
		return a->tier < b->tier ? -1 : 1;
	if (a->score != b->score)
		return a->score < b->score ? -1 : 1;
	return a->pos < b->pos ? -1 : a->pos > b->pos;
}

static bool rank_of(const char *name, size_t len, const char *cand, size_t pos, struct rank *r)
{
	size_t clen = strlen(cand), bound = len / 3 > 2 ? len / 3 : 2, dist;
	size_t diff = len > clen ? len - clen : clen - len;

	dist = xenvm_edit_distance(name, cand, bound);
	if (dist <= bound) {
		*r = (struct rank){.tier = 0, .score = dist, .pos = pos};
		return true;
	}
	if (len < SUGGEST_MIN_PART) /* one or two letters are in too many names */
		return false;
	if (strncasecmp(name, cand, len < clen ? len : clen) == 0) {
		*r = (struct rank){.tier = 1, .score = diff, .pos = pos};
		return true;
	}
	if (strcasestr(cand, name) || strcasestr(name, cand)) {
		*r = (struct rank){.tier = 2, .score = diff, .pos = pos};
		return true;
	}
	return false;
}

/*
 * Returns how many names were written to out[] (0 also when nothing is close, on a NULL or empty
 * argument (errno EINVAL) or when memory is short (errno ENOMEM)).  The names point into cat.
 */
size_t xenvm_catalog_suggest(const struct xenvm_catalog *cat, const char *name, const char **out,
                             size_t max)
{
	struct rank *best = NULL;
	size_t n = 0, len;

	if (!cat || !name || !out || !*name) {
		errno = EINVAL;
		return 0;
	}
	if (!max || !cat->n_images)
		return 0;
	if (max > cat->n_images)
		max = cat->n_images;
	best = calloc(max, sizeof(*best));
	if (!best) {
		errno = ENOMEM;
		return 0;
	}
	len = strlen(name);
	for (size_t i = 0; i < cat->n_images; i++) {
		struct rank r;
		size_t at;

		if (!rank_of(name, len, cat->images[i].name, i, &r))
			continue;
		if (n == max && rank_cmp(&r, &best[n - 1]) >= 0)
			continue;
		at = n < max ? n++ : n - 1; /* the new last slot, or the worst one replaced */
		while (at > 0 && rank_cmp(&r, &best[at - 1]) < 0) {
			best[at] = best[at - 1];
			at--;
		}
		best[at] = r;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = cat->images[best[i].pos].name;
	free(best);
	return n;
}
