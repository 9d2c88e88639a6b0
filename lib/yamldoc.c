/*
 * yamldoc.c - error messages and checked mappings (unknown and duplicate keys); loading a file
 * within bounds is in yamldoc_load.c, the typed getters in yamldoc_get.c.  See yamldoc.h.
 */
#include "yamldoc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "editdist.h"

#define MSG_LEN sizeof(((struct xerr *)0)->msg)
#define QUOTE_MAX 80 /* characters of a value shown in a message */

/* A bounded appender into a caller's buffer: output past the end is dropped, never overrun. */
struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_init(struct sbuf *b, char *p, size_t cap)
{
	b->p = p;
	b->len = 0;
	b->cap = cap;
	if (cap)
		p[0] = '\0';
}

static void sb_putc(struct sbuf *b, char c)
{
	if (b->len + 1 < b->cap) {
		b->p[b->len++] = c;
		b->p[b->len] = '\0';
	}
}

/* Append s with control characters shown as '?', so a message stays one printable line. */
static void sb_put_clean(struct sbuf *b, const char *s)
{
	for (; *s; s++)
		sb_putc(b, (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

/* ------------------------------------------------------------------ small helpers */

const char *ydoc_join(const char *const *names, char *buf, size_t len)
{
	struct sbuf b;

	if (!buf || !len)
		return "";
	sb_init(&b, buf, len);
	for (size_t i = 0; names && names[i]; i++) {
		if (i)
			sb_put_clean(&b, ", ");
		sb_put_clean(&b, names[i]);
	}
	return buf;
}

const char *ydoc_quote(const char *s, char *buf, size_t len)
{
	struct sbuf b;
	size_t i;

	if (!buf || !len)
		return "";
	sb_init(&b, buf, len);
	if (!s)
		s = "";
	sb_putc(&b, '\'');
	for (i = 0; s[i] && i < QUOTE_MAX; i++)
		sb_putc(&b, (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i]);
	if (s[i]) {
		sb_putc(&b, '.');
		sb_putc(&b, '.');
		sb_putc(&b, '.');
	}
	sb_putc(&b, '\'');
	return buf;
}

bool ydoc_is_null(const yaml_node_t *node)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
	const char *v;

	if (!node || node->type != YAML_SCALAR_NODE)
		return false;
	if (node->tag && strcmp((const char *)node->tag, YAML_NULL_TAG) == 0)
		return true;
	if (node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	v = (const char *)node->data.scalar.value;
	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		if (strcmp(v, nulls[i]) == 0)
			return true;
	return false;
}

yaml_node_t *ydoc_node(const struct ydoc *d, int i)
{
	if (!d || !d->have_doc)
		return NULL;
	/* libyaml's getter takes a non-const document but does not modify it */
	return yaml_document_get_node((yaml_document_t *)&d->doc, i);
}

yaml_node_t *ydoc_root(const struct ydoc *d)
{
	yaml_node_t *root;

	if (!d || !d->have_doc)
		return NULL;
	root = yaml_document_get_root_node((yaml_document_t *)&d->doc);
	return ydoc_is_null(root) ? NULL : root;
}

const char *ydoc_describe(const yaml_node_t *node, char *buf, size_t len)
{
	if (!node)
		return "nothing";
	switch (node->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_SCALAR_NODE:
		if (ydoc_is_null(node))
			return "an empty value";
		return ydoc_quote((const char *)node->data.scalar.value, buf, len);
	default:
		return "nothing";
	}
}

const char *ydoc_scalar(const yaml_node_t *node)
{
	if (!node || node->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)node->data.scalar.value;
}

bool ydoc_has_nul(const yaml_node_t *node)
{
	return strlen((const char *)node->data.scalar.value) != node->data.scalar.length;
}

/* ------------------------------------------------------------------ errors */

static void path_fmt(struct sbuf *b, const struct ypath *at)
{
	char idx[32];

	if (!at)
		return;
	path_fmt(b, at->up);
	if (at->key) {
		if (at->up)
			sb_putc(b, '.');
		sb_put_clean(b, at->key);
	} else {
		snprintf(idx, sizeof(idx), "[%zu]", at->index);
		sb_put_clean(b, idx);
	}
}

int ydoc_error(const struct ydoc *d, struct xerr *err, const yaml_node_t *node,
               const struct ypath *at, const char *fmt, ...)
{
	char path[MSG_LEN], msg[MSG_LEN], where[64] = "";
	struct sbuf b;
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		sb_init(&b, path, sizeof(path));
		path_fmt(&b, at);
		if (node)
			snprintf(where, sizeof(where), ":%zu:%zu", node->start_mark.line + 1,
			         node->start_mark.column + 1);
		xerr_set(err, "%s%s: %s%s%s", d && d->file ? d->file : "(yaml)", where, path,
		         path[0] ? ": " : "", msg);
	}
	errno = EINVAL;
	return -1;
}

void ydoc_free(struct ydoc *d)
{
	if (!d)
		return;
	if (d->have_doc)
		yaml_document_delete(&d->doc);
	d->have_doc = false;
	free(d->file);
	d->file = NULL;
}

/* ------------------------------------------------------------------ mappings */

struct keyref {
	const char *s;
	size_t pos; /* index of the pair, i.e. file order */
	const yaml_node_t *node;
};

static int keyref_cmp(const void *a, const void *b)
{
	const struct keyref *x = a, *y = b;
	int c = strcmp(x->s, y->s);

	if (c)
		return c;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Unknown key: name it, suggest the closest valid key, list them all. */
static int unknown_key(const struct ydoc *d, struct xerr *err, const yaml_node_t *knode,
                       const struct ypath *at, const char *key, const char *const *keys)
{
	char list[MSG_LEN], hint[128] = "";
	size_t best = (size_t)-1, bound = strlen(key) / 3 > 1 ? strlen(key) / 3 : 1;
	const char *best_key = NULL;

	for (size_t i = 0; keys[i]; i++) {
		size_t dist = xenvm_edit_distance(key, keys[i], bound);

		if (dist <= bound && dist < best) {
			best = dist;
			best_key = keys[i];
		}
	}
	ydoc_join(keys, list, sizeof(list));
	if (best_key)
		snprintf(hint, sizeof(hint), "did you mean '%s'? ", best_key);
	return ydoc_error(d, err, knode, YPATH_KEY(at, key), "unknown key (%svalid keys: %s)", hint,
	                  list);
}

int ydoc_check_map(const struct ydoc *d, const yaml_node_t *node, const struct ypath *at,
                   const char *const *keys, struct xerr *err)
{
	struct keyref *refs = NULL;
	const struct keyref *dup = NULL, *first = NULL;
	char q[YDOC_QUOTE_LEN];
	size_t n;
	int rc = -1;

	if (!d)
		return xerr_errno(err, EINVAL, "ydoc_check_map: invalid argument");
	if (!node || node->type != YAML_MAPPING_NODE)
		return ydoc_error(d, err, node, at, "expected a mapping, found %s",
		                  ydoc_describe(node, q, sizeof(q)));
	n = (size_t)(node->data.mapping.pairs.top - node->data.mapping.pairs.start);
	if (n == 0)
		return 0;
	refs = calloc(n, sizeof(*refs));
	if (!refs) {
		errno = ENOMEM;
		xerr_set(err, "%s: out of memory", d->file);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const yaml_node_t *k = ydoc_node(d, node->data.mapping.pairs.start[i].key);
		const char *s = ydoc_scalar(k);

		if (!s) {
			ydoc_error(d, err, k ? k : node, at,
			           "mapping keys must be strings, found %s",
			           ydoc_describe(k, q, sizeof(q)));
			goto out;
		}
		if (ydoc_has_nul(k)) {
			ydoc_error(d, err, k, at, "key %s contains a NUL byte",
			           ydoc_quote(s, q, sizeof(q)));
			goto out;
		}
		if (keys) {
			size_t j;

			for (j = 0; keys[j] && strcmp(keys[j], s) != 0; j++)
				;
			if (!keys[j]) {
				unknown_key(d, err, k, at, s, keys);
				goto out;
			}
		}
		refs[i] = (struct keyref){.s = s, .pos = i, .node = k};
	}
	/* sorted by (key, file order): in each run of equal keys, [0] is the first definition
	 * and [1] the first duplicate; report the duplicate that comes first in the file */
	qsort(refs, n, sizeof(*refs), keyref_cmp);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(refs[i].s, refs[i - 1].s) != 0)
			continue;
		if (i >= 2 && strcmp(refs[i - 2].s, refs[i].s) == 0)
			continue; /* a third (or later) definition: the second is reported */
		if (!dup || refs[i].pos < dup->pos) {
			dup = &refs[i];
			first = &refs[i - 1];
		}
	}
	if (dup) {
		ydoc_error(d, err, dup->node, YPATH_KEY(at, dup->s),
		           "duplicate key (first defined at %zu:%zu)",
		           first->node->start_mark.line + 1, first->node->start_mark.column + 1);
		goto out;
	}
	rc = 0;
out:
	free(refs);
	return rc;
}

yaml_node_t *ydoc_lookup(const struct ydoc *d, const yaml_node_t *map, const char *key,
                         yaml_node_t **key_node)
{
	if (key_node)
		*key_node = NULL;
	if (!d || !map || !key || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = ydoc_node(d, p->key);
		const char *s = ydoc_scalar(k);

		if (s && strcmp(s, key) == 0) {
			if (key_node)
				*key_node = k;
			return ydoc_node(d, p->value);
		}
	}
	return NULL;
}
