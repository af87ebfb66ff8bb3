/*
 * inbox.c - a mutex-protected FIFO with an eventfd wake-up.
 */
#include "inbox.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct swb_inbox {
	pthread_mutex_t mu;
	struct swb_in *head, *tail;
	int efd;
};

swb_inbox *swb_inbox_new(void)
{
	swb_inbox *ib = calloc(1, sizeof *ib);
	if (!ib)
		return NULL;
	ib->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ib->efd < 0) {
		free(ib);
		return NULL;
	}
	pthread_mutex_init(&ib->mu, NULL);
	return ib;
}

void swb_inbox_free(swb_inbox *ib)
{
	if (!ib)
		return;
	swb_inbox_release(ib->head);
	close(ib->efd);
	pthread_mutex_destroy(&ib->mu);
	free(ib);
}

int swb_inbox_push(swb_inbox *ib, enum swb_in_kind kind, void *ptr, uint32_t u)
{
	struct swb_in *it = malloc(sizeof *it);
	if (!it)
		return -1;
	*it = (struct swb_in){ .kind = kind, .ptr = ptr, .u = u };
	pthread_mutex_lock(&ib->mu);
	if (ib->tail)
		ib->tail->next = it;
	else
		ib->head = it;
	ib->tail = it;
	pthread_mutex_unlock(&ib->mu);
	uint64_t one = 1;
	ssize_t n = write(ib->efd, &one, sizeof one);
	(void)n; /* EAGAIN means the counter is already non-zero: the reader will wake */
	return 0;
}

struct swb_in *swb_inbox_take(swb_inbox *ib)
{
	uint64_t v;
	ssize_t n = read(ib->efd, &v, sizeof v);
	(void)n;
	pthread_mutex_lock(&ib->mu);
	struct swb_in *list = ib->head;
	ib->head = ib->tail = NULL;
	pthread_mutex_unlock(&ib->mu);
	return list;
}

void swb_inbox_release(struct swb_in *list)
{
	while (list) {
		struct swb_in *next = list->next;
		free(list);
		list = next;
	}
}

int swb_inbox_fd(const swb_inbox *ib)
{
	return ib->efd;
}
