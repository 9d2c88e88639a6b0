/*
 * yamlout.h - building YAML documents with libyaml's document API: copying a node from another
 * document (so that text from a user is re-emitted, never pasted) and emitting to a string.
 */
#ifndef IMGS_YAMLOUT_H
#define IMGS_YAMLOUT_H

#include <stddef.h>
#include <yaml.h>

#define IMGS_YAML_DEPTH_MAX 16
#define IMGS_YAML_NODES_MAX 10000 /* aliases can make a small text a huge tree */

/*
 * Copy `node` of src (and what is under it) into dst.  *budget counts nodes left; depth starts
 * at 0.  Returns the new node's id, or 0 (too deep, too many nodes, or no memory).
 */
int imgs_yaml_copy(yaml_document_t *dst, yaml_document_t *src, yaml_node_t *node, int depth,
                   size_t *budget);
/* A plain scalar (the emitter quotes it when it must).  Returns its id, or 0. */
int imgs_yaml_scalar(yaml_document_t *doc, const char *s);
/* A block mapping; id or 0. */
int imgs_yaml_map(yaml_document_t *doc);
/* Append key: value (value a node id).  Returns 0 or -1. */
int imgs_yaml_put(yaml_document_t *doc, int map, const char *key, int value);
/*
 * Emit doc (consumed: deleted in every case) after `header` (may be NULL) into *out (free()).
 * Returns 0, or -1 with errno ENOMEM or EINVAL.
 */
int imgs_yaml_emit(yaml_document_t *doc, const char *header, char **out);

#endif
