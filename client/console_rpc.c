/*
 * console_rpc.c - a worker thread running the console's calls to the node,
 * handing answers back through a queue and an eventfd. See console_rpc.h.
 */
#define _GNU_SOURCE
#include "console_rpc.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct console_rpc {
	swb_client *client;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool stop, busy;
	struct console_job *todo_head, *todo_tail; /* guarded by mu */
	struct console_job *done_head, *done_tail; /* guarded by mu */
	int pending;
	int efd;
};

struct console_job *console_job_new(int kind, const char *op, json_t *args_stolen, int timeout_ms)
{
	struct console_job *j = calloc(1, sizeof *j);
	if (!j) {
		json_decref(args_stolen);
		return NULL;
	}
	j->kind = kind;
	snprintf(j->op, sizeof j->op, "%s", op ? op : "");
	j->args = args_stolen;
	j->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
	return j;
}

void console_job_free(struct console_job *j)
{
	if (!j)
		return;
	json_decref(j->args);
	json_decref(j->result);
	free(j);
}

static void *rpc_main(void *arg)
{
	struct console_rpc *r = arg;
	pthread_mutex_lock(&r->mu);
	for (;;) {
		while (!r->stop && !r->todo_head)
			pthread_cond_wait(&r->cond, &r->mu);
		if (r->stop)
			break;
		struct console_job *j = r->todo_head;
		r->todo_head = j->next;
		if (!r->todo_head)
			r->todo_tail = NULL;
		j->next = NULL;
		r->busy = true;
		pthread_mutex_unlock(&r->mu);

		swb_err_clear(&j->err);
		if (j->run)
			j->rc = j->run(r->client, j, &j->err);
		else
			j->rc = swb_client_call(r->client, j->op, j->args, j->timeout_ms, &j->result, &j->err);

		pthread_mutex_lock(&r->mu);
		r->busy = false;
		if (r->done_tail)
			r->done_tail->next = j;
		else
			r->done_head = j;
		r->done_tail = j;
		uint64_t one = 1;
		if (write(r->efd, &one, sizeof one) < 0 && errno != EAGAIN) {
			/* an eventfd write fails only on overflow; the job is queued either way */
		}
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

struct console_rpc *console_rpc_new(swb_client *c, struct swb_err *err)
{
	struct console_rpc *r = calloc(1, sizeof *r);
	if (!r) {
		swb_err_set(err, SWB_ENOMEM, "out of memory");
		return NULL;
	}
	r->client = c;
	r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->efd < 0) {
		swb_err_set(err, SWB_EIO, "eventfd: %s", strerror(errno));
		free(r);
		return NULL;
	}
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cond, NULL);
	int rv = pthread_create(&r->thread, NULL, rpc_main, r);
	if (rv != 0) {
		swb_err_set(err, SWB_EIO, "cannot start the call thread: %s", strerror(rv));
		pthread_cond_destroy(&r->cond);
		pthread_mutex_destroy(&r->mu);
		close(r->efd);
		free(r);
		return NULL;
	}
	return r;
}

static void free_list(struct console_job *j)
{
	while (j) {
		struct console_job *next = j->next;
		console_job_free(j);
		j = next;
	}
}

void console_rpc_free(struct console_rpc *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->thread, NULL);
	free_list(r->todo_head);
	free_list(r->done_head);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->mu);
	close(r->efd);
	free(r);
}

void console_rpc_submit(struct console_rpc *r, struct console_job *j)
{
	if (!j)
		return;
	pthread_mutex_lock(&r->mu);
	j->next = NULL;
	if (j->urgent) {
		/* after other urgent jobs, ahead of background ones: actions keep their order */
		struct console_job **pp = &r->todo_head;
		while (*pp && (*pp)->urgent)
			pp = &(*pp)->next;
		j->next = *pp;
		*pp = j;
		if (!j->next)
			r->todo_tail = j;
	} else {
		if (r->todo_tail)
			r->todo_tail->next = j;
		else
			r->todo_head = j;
		r->todo_tail = j;
	}
	r->pending++;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->mu);
}

int console_rpc_fd(struct console_rpc *r)
{
	return r->efd;
}

struct console_job *console_rpc_next(struct console_rpc *r)
{
	pthread_mutex_lock(&r->mu);
	struct console_job *j = r->done_head;
	if (j) {
		r->done_head = j->next;
		if (!r->done_head)
			r->done_tail = NULL;
		j->next = NULL;
		r->pending--;
	}
	if (!r->done_head) {
		uint64_t n;
		if (read(r->efd, &n, sizeof n) < 0 && errno != EAGAIN) {
			/* nothing to do: the fd is only a wake-up */
		}
	}
	pthread_mutex_unlock(&r->mu);
	return j;
}

int console_rpc_pending(struct console_rpc *r)
{
	pthread_mutex_lock(&r->mu);
	int n = r->pending;
	pthread_mutex_unlock(&r->mu);
	return n;
}

bool console_rpc_busy(struct console_rpc *r)
{
	pthread_mutex_lock(&r->mu);
	bool b = r->busy;
	pthread_mutex_unlock(&r->mu);
	return b;
}
