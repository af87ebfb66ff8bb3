/*
 * pulls.c - the held events.next requests: a list of all, a list per key (a
 * worker SID, or "*" for supervisor and admin pulls), and a min-heap on
 * deadline with each pull's position, so adding, removing and finding the next
 * expiry cost log(n) and a commit wakes only the pulls its events name.
 */
#include "pulls.h"

#include <stdlib.h>
#include <string.h>

#include "node_internal.h"

struct pullkey {
	struct pull *head;
};

static const char *key_of(const struct pull *p)
{
	return p->all ? "*" : p->worker_sid;
}

static void heap_swap(struct node *n, size_t i, size_t j)
{
	struct pull *t = n->pull_heap[i];
	n->pull_heap[i] = n->pull_heap[j];
	n->pull_heap[j] = t;
	n->pull_heap[i]->heap_idx = i;
	n->pull_heap[j]->heap_idx = j;
}

static void heap_up(struct node *n, size_t i)
{
	while (i > 0 && n->pull_heap[(i - 1) / 2]->deadline > n->pull_heap[i]->deadline) {
		heap_swap(n, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void heap_down(struct node *n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < n->pull_heap_n && n->pull_heap[l]->deadline < n->pull_heap[m]->deadline)
			m = l;
		if (r < n->pull_heap_n && n->pull_heap[r]->deadline < n->pull_heap[m]->deadline)
			m = r;
		if (m == i)
			return;
		heap_swap(n, i, m);
		i = m;
	}
}

void pulls_add(struct node *n, struct pull *p)
{
	p->prev = NULL;
	p->next = n->pulls;
	if (n->pulls)
		n->pulls->prev = p;
	n->pulls = p;
	n->npulls++;
	struct pullkey *k = swb_map_get(n->pull_keys, key_of(p));
	if (!k) {
		k = calloc(1, sizeof *k);
		if (!k || swb_map_put(n->pull_keys, key_of(p), k) != 0)
			abort();
	}
	p->key = k;
	p->kprev = NULL;
	p->knext = k->head;
	if (k->head)
		k->head->kprev = p;
	k->head = p;
	if (n->pull_heap_n == n->pull_heap_cap) {
		size_t cap = n->pull_heap_cap ? n->pull_heap_cap * 2 : 64;
		struct pull **h = realloc(n->pull_heap, cap * sizeof *h);
		if (!h)
			abort();
		n->pull_heap = h;
		n->pull_heap_cap = cap;
	}
	p->heap_idx = n->pull_heap_n;
	n->pull_heap[n->pull_heap_n++] = p;
	heap_up(n, p->heap_idx);
}

void pulls_remove(struct node *n, struct pull *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		n->pulls = p->next;
	if (p->next)
		p->next->prev = p->prev;
	n->npulls--;
	if (p->kprev)
		p->kprev->knext = p->knext;
	else
		p->key->head = p->knext;
	if (p->knext)
		p->knext->kprev = p->kprev;
	size_t i = p->heap_idx, last = --n->pull_heap_n;
	if (i != last) {
		heap_swap(n, i, last);
		heap_down(n, i);
		heap_up(n, i);
	}
	p->prev = p->next = p->kprev = p->knext = NULL;
}

struct pull *pulls_of(struct node *n, const char *worker_sid)
{
	struct pullkey *k = swb_map_get(n->pull_keys, worker_sid ? worker_sid : "*");
	return k ? k->head : NULL;
}

struct pull *pulls_first_deadline(const struct node *n)
{
	return n->pull_heap_n ? n->pull_heap[0] : NULL;
}

void pulls_free(struct node *n)
{
	while (n->pulls) {
		struct pull *p = n->pulls;
		n->pulls = p->next;
		free(p);
	}
	size_t pos = 0;
	void *v;
	while (n->pull_keys && swb_map_next(n->pull_keys, &pos, NULL, &v))
		free(v);
	swb_map_free(n->pull_keys);
	n->pull_keys = NULL;
	free(n->pull_heap);
	n->pull_heap = NULL;
	n->pull_heap_n = n->pull_heap_cap = 0;
	n->npulls = 0;
}
