/*
 * catalog_match.c - choosing an image by --vm-require, see catalog_match.h.
 *
 * A requirement is evaluated against every image of the catalog once per catalog: the images
 * that satisfy it, in the order of the rule, are remembered (the memo) under the canonical
 * requirement and family.  A job then costs a memo lookup and the permission checks of the
 * candidates until one admits the user.  Memo entries are never freed before the catalog, so
 * a reader can walk one without holding the memo's lock; when the memo is full, further
 * requirements are computed each time.
 */
#include "catalog_match.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog_priv.h"
#include "version.h"

#define MEMO_MAX 256
/* Versioned keys the rule may compare: the requirement's, then os_version and kernel. */
#define RANK_KEYS_MAX (XENVM_REQUIRE_MAX_TERMS + 2)

struct memo_entry {
	uint64_t hash;
	char *key;   /* canonical requirements, '\n', family */
	size_t *idx; /* matching images, best first */
	size_t n;
};

struct xenvm_catalog_memo {
	pthread_mutex_t lock;
	size_t n;
	struct memo_entry e[MEMO_MAX];
};

/* ------------------------------------------------------------------ the memo's life */

struct xenvm_catalog_memo *xenvm_catalog_memo_new(void)
{
	struct xenvm_catalog_memo *m = calloc(1, sizeof(*m));

	if (!m) {
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&m->lock, NULL);
	return m;
}

void xenvm_catalog_memo_free(struct xenvm_catalog_memo *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++) {
		free(m->e[i].key);
		free(m->e[i].idx);
	}
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* ------------------------------------------------------------------ attributes */

struct attr_view {
	bool present;
	enum xenvm_attr_type type;
	const char *value; /* STRING, VERSION (and BOOL's text) */
	bool boolean;
	char *const *list;
	size_t n;
};

static bool attr_of(const struct xenvm_image *img, const char *key, struct attr_view *v)
{
	const char *s = NULL;
	enum xenvm_attr_type type = XENVM_ATTR_STRING;

	memset(v, 0, sizeof(*v));
	if (strcmp(key, "ib") == 0) {
		v->present = true;
		v->type = XENVM_ATTR_BOOL;
		v->boolean = img->attributes.ib;
		v->value = img->attributes.ib ? "true" : "false";
		return true;
	}
	if (strcmp(key, "libraries") == 0) {
		v->present = true;
		v->type = XENVM_ATTR_LIST;
		v->list = img->attributes.libraries;
		v->n = img->attributes.n_libraries;
		return true;
	}
	if (strcmp(key, "os") == 0)
		s = img->attributes.os;
	else if (strcmp(key, "mpi") == 0)
		s = img->attributes.mpi;
	else if (strcmp(key, "os_version") == 0)
		s = img->attributes.os_version, type = XENVM_ATTR_VERSION;
	else if (strcmp(key, "kernel") == 0)
		s = img->attributes.kernel_version, type = XENVM_ATTR_VERSION;
	else if (strcmp(key, "mpi_version") == 0)
		s = img->attributes.mpi_version, type = XENVM_ATTR_VERSION;
	else {
		for (size_t i = 0; i < img->attributes.n_extra; i++) {
			const struct xenvm_attr *a = &img->attributes.extra[i];

			if (strcmp(a->key, key) == 0) {
				v->present = true;
				v->type = a->type;
				v->value = a->value;
				v->boolean = a->boolean;
				return true;
			}
		}
		return false;
	}
	if (!s || !*s)
		return false;
	v->present = true;
	v->type = type;
	v->value = s;
	return true;
}

/* A library entry NAME or NAME-VERSION. */
static bool library_is(const char *entry, const char *name)
{
	size_t n = strlen(name);

	return strncmp(entry, name, n) == 0 &&
	       (entry[n] == '\0' ||
	        (entry[n] == '-' && entry[n + 1] >= '0' && entry[n + 1] <= '9'));
}

static bool equals(const struct attr_view *v, const char *value)
{
	switch (v->type) {
	case XENVM_ATTR_BOOL:
		return strcmp(value, v->boolean ? "true" : "false") == 0;
	case XENVM_ATTR_VERSION:
		return xenvm_version_cmp(v->value, value) == 0;
	case XENVM_ATTR_LIST:
		for (size_t i = 0; i < v->n; i++)
			if (library_is(v->list[i], value))
				return true;
		return false;
	case XENVM_ATTR_STRING:
	default:
		return strcmp(v->value, value) == 0;
	}
}

static bool truthy(const struct attr_view *v)
{
	if (!v->present)
		return false;
	if (v->type == XENVM_ATTR_BOOL)
		return v->boolean;
	if (v->type == XENVM_ATTR_LIST)
		return v->n > 0;
	return v->value && *v->value;
}

/* What the image has, for a message. */
static void describe(const struct attr_view *v, bool need_version, char *why, size_t len)
{
	if (!why || !len)
		return;
	if (!v->present)
		snprintf(why, len, "has none");
	else if (v->type == XENVM_ATTR_LIST)
		snprintf(why, len, "has %zu other%s", v->n, v->n == 1 ? "" : "s");
	else if (need_version && v->type != XENVM_ATTR_VERSION)
		snprintf(why, len, "has '%.64s', not a version", v->value);
	else
		snprintf(why, len, "has %.64s", v->value);
}

bool xenvm_term_holds(const struct xenvm_image *img, const struct xenvm_req_term *t, char *why,
                      size_t len)
{
	struct attr_view v;
	bool ok;
	int c;

	if (why && len)
		why[0] = '\0';
	if (!img || !t)
		return false;
	attr_of(img, t->key, &v);
	switch (t->op) {
	case XENVM_REQ_TRUE:
		ok = truthy(&v);
		break;
	case XENVM_REQ_FALSE:
		ok = !truthy(&v);
		break;
	case XENVM_REQ_EQ:
		ok = v.present && equals(&v, t->value);
		break;
	case XENVM_REQ_NE:
		ok = !(v.present && equals(&v, t->value));
		break;
	default:
		if (!v.present || v.type != XENVM_ATTR_VERSION) {
			describe(&v, true, why, len);
			return false;
		}
		c = xenvm_version_cmp(v.value, t->value);
		ok = t->op == XENVM_REQ_GE   ? c >= 0
		     : t->op == XENVM_REQ_LE ? c <= 0
		     : t->op == XENVM_REQ_GT ? c > 0
		                             : c < 0;
		break;
	}
	if (!ok)
		describe(&v, false, why, len);
	return ok;
}

bool xenvm_image_in_family(const char *name, const char *family)
{
	size_t n;

	if (!family || !*family)
		return true;
	n = strlen(family);
	return strncmp(name, family, n) == 0 &&
	       (name[n] == '\0' || name[n] == '-' || name[n] == ':');
}

/* ------------------------------------------------------------------ the rule */

struct rank_keys {
	const char *key[RANK_KEYS_MAX];
	size_t n;
};

static void add_key(struct rank_keys *k, const char *key)
{
	for (size_t i = 0; i < k->n; i++)
		if (strcmp(k->key[i], key) == 0)
			return;
	if (k->n < RANK_KEYS_MAX)
		k->key[k->n++] = key;
}

static void rank_keys_of(const struct xenvm_requirements *req, struct rank_keys *k)
{
	k->n = 0;
	for (size_t i = 0; i < req->n; i++) {
		const struct xenvm_req_term *t = &req->t[i];

		if (t->op != XENVM_REQ_TRUE && t->op != XENVM_REQ_FALSE && t->op != XENVM_REQ_NE &&
		    t->value[0] >= '0' && t->value[0] <= '9')
			add_key(k, t->key);
	}
	add_key(k, "os_version");
	add_key(k, "kernel");
}

static const char *version_of(const struct xenvm_image *img, const char *key)
{
	struct attr_view v;

	return attr_of(img, key, &v) && v.type == XENVM_ATTR_VERSION ? v.value : NULL;
}

/* <0 when a is preferred over b. */
static int rank_cmp(const struct xenvm_image *a, const struct xenvm_image *b,
                    const struct rank_keys *k)
{
	if (a->priority != b->priority)
		return a->priority > b->priority ? -1 : 1;
	for (size_t i = 0; i < k->n; i++) {
		int c = xenvm_version_cmp(version_of(b, k->key[i]), version_of(a, k->key[i]));

		if (c)
			return c;
	}
	return strcmp(a->name, b->name);
}

struct sort_ctx {
	const struct xenvm_catalog *cat;
	const struct rank_keys *k;
};

static int idx_cmp(const void *x, const void *y, void *arg)
{
	const struct sort_ctx *s = arg;

	return rank_cmp(&s->cat->images[*(const size_t *)x], &s->cat->images[*(const size_t *)y],
	                s->k);
}

static bool matches_all(const struct xenvm_image *img, const struct xenvm_requirements *req)
{
	for (size_t i = 0; i < req->n; i++)
		if (!xenvm_term_holds(img, &req->t[i], NULL, 0))
			return false;
	return true;
}

/* ------------------------------------------------------------------ matching */

/* The matching images, best first, into *idx (malloc'ed; NULL when none).  0 or -1 ENOMEM. */
static int compute(const struct xenvm_catalog *cat, const struct xenvm_requirements *req,
                   const char *family, size_t **idx, size_t *n)
{
	struct rank_keys k;
	struct sort_ctx s = {cat, &k};
	size_t *v = NULL, count = 0;

	*idx = NULL;
	*n = 0;
	for (size_t i = 0; i < cat->n_images; i++) {
		if (!xenvm_image_in_family(cat->images[i].name, family) ||
		    !matches_all(&cat->images[i], req))
			continue;
		if (!v) {
			v = malloc(cat->n_images * sizeof(*v));
			if (!v) {
				errno = ENOMEM;
				return -1;
			}
		}
		v[count++] = i;
	}
	rank_keys_of(req, &k);
	if (count > 1)
		qsort_r(v, count, sizeof(*v), idx_cmp, &s);
	*idx = v;
	*n = count;
	return 0;
}

static uint64_t key_hash(const char *s)
{
	return xenvm_catalog_hash(s);
}

/*
 * The remembered (or freshly computed) matches.  *owned says whether the caller must free *idx
 * (the memo was full).  0, or -1 with errno ENOMEM.
 */
static int matches_of(const struct xenvm_catalog *cat, const struct xenvm_requirements *req,
                      const char *family, const size_t **idx, size_t *n, bool *owned)
{
	struct xenvm_catalog_memo *m = cat->memo;
	char key[XENVM_REQUIRE_MAX_LEN + XENVM_IMAGE_NAME_MAX + 8];
	size_t *fresh = NULL, count = 0;
	uint64_t h;

	*owned = false;
	xenvm_require_format(req, key, sizeof(key) - XENVM_IMAGE_NAME_MAX - 2);
	strcat(key, "\n");
	strncat(key, family ? family : "", XENVM_IMAGE_NAME_MAX);
	h = key_hash(key);
	if (m) {
		pthread_mutex_lock(&m->lock);
		for (size_t i = 0; i < m->n; i++) {
			if (m->e[i].hash == h && strcmp(m->e[i].key, key) == 0) {
				*idx = m->e[i].idx;
				*n = m->e[i].n;
				pthread_mutex_unlock(&m->lock);
				return 0;
			}
		}
		pthread_mutex_unlock(&m->lock);
	}
	if (compute(cat, req, family, &fresh, &count) < 0)
		return -1;
	if (m) {
		char *kcopy = strdup(key);

		pthread_mutex_lock(&m->lock);
		if (kcopy && m->n < MEMO_MAX) {
			/* another thread may have added it meanwhile: a duplicate is harmless */
			m->e[m->n++] = (struct memo_entry){h, kcopy, fresh, count};
			pthread_mutex_unlock(&m->lock);
			*idx = fresh;
			*n = count;
			return 0;
		}
		pthread_mutex_unlock(&m->lock);
		free(kcopy);
	}
	*idx = fresh;
	*n = count;
	*owned = true;
	return 0;
}

static size_t misses(const struct xenvm_image *img, const struct xenvm_requirements *req)
{
	size_t n = 0;

	for (size_t i = 0; i < req->n; i++)
		n += !xenvm_term_holds(img, &req->t[i], NULL, 0);
	return n;
}

/* The permitted images of the family missing the fewest terms, into near[]. */
static void near_misses(const struct xenvm_catalog *cat, const struct xenvm_requirements *req,
                        const char *family, xenvm_permit_fn permits, void *ctx,
                        struct xenvm_near_miss *near, size_t *n_near)
{
	struct rank_keys k;
	size_t n = 0;

	rank_keys_of(req, &k);
	for (size_t i = 0; i < cat->n_images; i++) {
		const struct xenvm_image *img = &cat->images[i];
		size_t m, at;

		if (!xenvm_image_in_family(img->name, family))
			continue;
		m = misses(img, req);
		if (m == 0) /* matches, so it was refused by permits() */
			continue;
		if (n == XENVM_NEAR_MISS_MAX &&
		    (m > near[n - 1].n_missed ||
		     (m == near[n - 1].n_missed && rank_cmp(img, near[n - 1].img, &k) >= 0)))
			continue;
		if (!permits(img, ctx))
			continue;
		at = n < XENVM_NEAR_MISS_MAX ? n++ : n - 1;
		while (at > 0 &&
		       (m < near[at - 1].n_missed ||
		        (m == near[at - 1].n_missed && rank_cmp(img, near[at - 1].img, &k) < 0))) {
			near[at] = near[at - 1];
			at--;
		}
		near[at].img = img;
		near[at].n_missed = m;
	}
	for (size_t i = 0; i < n; i++) {
		size_t used = 0;

		near[i].missed[0] = '\0';
		for (size_t j = 0; j < req->n && used < sizeof(near[i].missed); j++) {
			char why[96], term[XENVM_REQUIRE_KEY_MAX + XENVM_REQUIRE_VALUE_MAX + 4];
			int w;

			if (xenvm_term_holds(near[i].img, &req->t[j], why, sizeof(why)))
				continue;
			w = snprintf(near[i].missed + used, sizeof(near[i].missed) - used,
			             "%s%s (%s)", used ? ", " : "",
			             xenvm_req_term_format(&req->t[j], term, sizeof(term)), why);
			if (w < 0)
				break;
			used += (size_t)w;
		}
	}
	*n_near = n;
}

int xenvm_catalog_match(const struct xenvm_catalog *cat, const struct xenvm_requirements *req,
                        const char *family, xenvm_permit_fn permits, void *ctx,
                        const struct xenvm_image **out, struct xenvm_near_miss *near,
                        size_t *n_near)
{
	const size_t *idx = NULL;
	size_t n = 0;
	bool owned = false;

	if (!cat || !req || !permits || !out || !near || !n_near) {
		errno = EINVAL;
		return -1;
	}
	*out = NULL;
	*n_near = 0;
	if (matches_of(cat, req, family, &idx, &n, &owned) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (permits(&cat->images[idx[i]], ctx)) {
			*out = &cat->images[idx[i]];
			break;
		}
	}
	if (owned)
		free((void *)idx);
	if (*out)
		return 1;
	near_misses(cat, req, family, permits, ctx, near, n_near);
	return 0;
}
