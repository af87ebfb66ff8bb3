/*
 * map.c - open-addressing hash map with linear probing and tombstones.
 */
#include "map.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAP_MIN_CAP 16
static char tombstone;

struct slot {
	char *key; /* NULL empty, &tombstone deleted */
	void *value;
};

struct swb_map {
	struct slot *slots;
	size_t cap;   /* power of two */
	size_t count; /* live keys */
	size_t used;  /* live keys + tombstones */
};

static uint64_t hash_key(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return h ^ (h >> 29);
}

swb_map *swb_map_new(void)
{
	swb_map *m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	m->slots = calloc(MAP_MIN_CAP, sizeof *m->slots);
	if (!m->slots) {
		free(m);
		return NULL;
	}
	m->cap = MAP_MIN_CAP;
	return m;
}

static bool is_live(const struct slot *s)
{
	return s->key && s->key != &tombstone;
}

void swb_map_free(swb_map *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->cap; i++)
		if (is_live(&m->slots[i]))
			free(m->slots[i].key);
	free(m->slots);
	free(m);
}

static struct slot *find(const swb_map *m, const char *key)
{
	size_t mask = m->cap - 1;
	for (size_t i = hash_key(key) & mask;; i = (i + 1) & mask) {
		struct slot *s = &m->slots[i];
		if (!s->key)
			return NULL;
		if (s->key != &tombstone && strcmp(s->key, key) == 0)
			return s;
	}
}

void *swb_map_get(const swb_map *m, const char *key)
{
	struct slot *s = find(m, key);
	return s ? s->value : NULL;
}

static void place(struct slot *slots, size_t cap, char *key, void *value)
{
	size_t mask = cap - 1;
	size_t i = hash_key(key) & mask;
	while (slots[i].key)
		i = (i + 1) & mask;
	slots[i].key = key;
	slots[i].value = value;
}

static int grow(swb_map *m)
{
	size_t cap = m->count * 4 >= m->cap ? m->cap * 2 : m->cap;
	struct slot *slots = calloc(cap, sizeof *slots);
	if (!slots)
		return -1;
	for (size_t i = 0; i < m->cap; i++)
		if (is_live(&m->slots[i]))
			place(slots, cap, m->slots[i].key, m->slots[i].value);
	free(m->slots);
	m->slots = slots;
	m->cap = cap;
	m->used = m->count;
	return 0;
}

int swb_map_put(swb_map *m, const char *key, void *value)
{
	struct slot *s = find(m, key);
	if (s) {
		s->value = value;
		return 0;
	}
	if ((m->used + 1) * 4 > m->cap * 3 && grow(m) != 0)
		return -1;
	char *copy = strdup(key);
	if (!copy)
		return -1;
	size_t mask = m->cap - 1;
	size_t i = hash_key(key) & mask;
	while (is_live(&m->slots[i]))
		i = (i + 1) & mask;
	if (!m->slots[i].key)
		m->used++;
	m->slots[i].key = copy;
	m->slots[i].value = value;
	m->count++;
	return 0;
}

void *swb_map_del(swb_map *m, const char *key)
{
	struct slot *s = find(m, key);
	if (!s)
		return NULL;
	void *v = s->value;
	free(s->key);
	s->key = &tombstone;
	s->value = NULL;
	m->count--;
	return v;
}

size_t swb_map_count(const swb_map *m)
{
	return m->count;
}

bool swb_map_next(const swb_map *m, size_t *pos, const char **key, void **value)
{
	for (; *pos < m->cap; (*pos)++) {
		struct slot *s = &m->slots[*pos];
		if (is_live(s)) {
			if (key)
				*key = s->key;
			if (value)
				*value = s->value;
			(*pos)++;
			return true;
		}
	}
	return false;
}
