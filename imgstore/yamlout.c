/* yamlout.c - see yamlout.h. */
#include "yamlout.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int imgs_yaml_copy(yaml_document_t *dst, yaml_document_t *src, yaml_node_t *node, int depth,
                   size_t *budget)
{
	int id = 0;

	if (!node || depth > IMGS_YAML_DEPTH_MAX || *budget == 0)
		return 0;
	(*budget)--;
	switch (node->type) {
	case YAML_SCALAR_NODE:
		return yaml_document_add_scalar(dst, NULL, node->data.scalar.value,
		                                (int)node->data.scalar.length,
		                                node->data.scalar.style);
	case YAML_SEQUENCE_NODE:
		id = yaml_document_add_sequence(dst, NULL, YAML_BLOCK_SEQUENCE_STYLE);
		if (!id)
			return 0;
		for (yaml_node_item_t *it = node->data.sequence.items.start;
		     it < node->data.sequence.items.top; it++) {
			int c = imgs_yaml_copy(dst, src, yaml_document_get_node(src, *it),
			                       depth + 1, budget);

			if (!c || !yaml_document_append_sequence_item(dst, id, c))
				return 0;
		}
		return id;
	case YAML_MAPPING_NODE:
		id = yaml_document_add_mapping(dst, NULL, YAML_BLOCK_MAPPING_STYLE);
		if (!id)
			return 0;
		for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
		     p < node->data.mapping.pairs.top; p++) {
			int k = imgs_yaml_copy(dst, src, yaml_document_get_node(src, p->key),
			                       depth + 1, budget);
			int v = k ? imgs_yaml_copy(dst, src, yaml_document_get_node(src, p->value),
			                           depth + 1, budget)
			          : 0;

			if (!v || !yaml_document_append_mapping_pair(dst, id, k, v))
				return 0;
		}
		return id;
	default:
		return 0;
	}
}

int imgs_yaml_scalar(yaml_document_t *doc, const char *s)
{
	return yaml_document_add_scalar(doc, NULL, (yaml_char_t *)s, (int)strlen(s),
	                                YAML_ANY_SCALAR_STYLE);
}

int imgs_yaml_map(yaml_document_t *doc)
{
	return yaml_document_add_mapping(doc, NULL, YAML_BLOCK_MAPPING_STYLE);
}

int imgs_yaml_put(yaml_document_t *doc, int map, const char *key, int value)
{
	int k = imgs_yaml_scalar(doc, key);

	return k && value && yaml_document_append_mapping_pair(doc, map, k, value) ? 0 : -1;
}

struct sink {
	char *buf;
	size_t len, cap;
	int failed;
};

static int sink_write(void *data, unsigned char *buffer, size_t size)
{
	struct sink *s = data;

	if (s->len + size + 1 > s->cap) {
		size_t nc = (s->cap ? s->cap : 4096);
		char *nb;

		while (nc < s->len + size + 1)
			nc *= 2;
		nb = realloc(s->buf, nc);
		if (!nb) {
			s->failed = 1;
			return 0;
		}
		s->buf = nb;
		s->cap = nc;
	}
	memcpy(s->buf + s->len, buffer, size);
	s->len += size;
	s->buf[s->len] = '\0';
	return 1;
}

int imgs_yaml_emit(yaml_document_t *doc, const char *header, char **out)
{
	yaml_emitter_t em;
	struct sink s = {NULL, 0, 0, 0};
	int ok;

	if (header && !sink_write(&s, (unsigned char *)header, strlen(header))) {
		yaml_document_delete(doc);
		errno = ENOMEM;
		return -1;
	}
	if (!yaml_emitter_initialize(&em)) {
		yaml_document_delete(doc);
		free(s.buf);
		errno = ENOMEM;
		return -1;
	}
	yaml_emitter_set_output(&em, sink_write, &s);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_width(&em, 100);
	/* yaml_emitter_dump() destroys the document even when it fails. */
	if (!yaml_emitter_open(&em)) {
		yaml_document_delete(doc);
		ok = 0;
	} else {
		ok = yaml_emitter_dump(&em, doc) && yaml_emitter_close(&em);
	}
	yaml_emitter_delete(&em);
	if (!ok || s.failed || !s.buf) {
		free(s.buf);
		errno = s.failed ? ENOMEM : EINVAL;
		return -1;
	}
	*out = s.buf;
	return 0;
}
