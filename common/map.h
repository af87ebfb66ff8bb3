/*
 * map.h - a string-keyed hash map of borrowed pointers (open addressing).
 *
 * Used for SID and name indexes. The map copies keys; values are borrowed and
 * never freed by the map. Iteration order is unspecified and invalidated by
 * any insertion or removal.
 */
#ifndef SWB_MAP_H
#define SWB_MAP_H

#include <stdbool.h>
#include <stddef.h>

typedef struct swb_map swb_map;

/* Returns a new empty map, or NULL when out of memory. */
swb_map *swb_map_new(void);

/* Frees the map and its key copies (not the values). NULL is fine. */
void swb_map_free(swb_map *m);

/* Value for key, or NULL. */
void *swb_map_get(const swb_map *m, const char *key);

/* Inserts or replaces key's value. Returns 0, or -1 when out of memory (map unchanged). */
int swb_map_put(swb_map *m, const char *key, void *value);

/* Removes key; returns its old value or NULL. */
void *swb_map_del(swb_map *m, const char *key);

size_t swb_map_count(const swb_map *m);

/* Iterates: start with *pos = 0; returns false when done. */
bool swb_map_next(const swb_map *m, size_t *pos, const char **key, void **value);

#endif
