/*
 * http_sink.h - a real local HTTP endpoint for callback tests: a thread that
 * accepts on a loopback port, reads each POST's form body, answers 200 (or 503,
 * or not at all, or slowly, as the test sets its mode) and records what it
 * accepted. Header-only, for one test executable.
 */
#ifndef SWB_HTTP_SINK_H
#define SWB_HTTP_SINK_H

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum sink_mode {
	SINK_OK,     /* 200 */
	SINK_FAIL,   /* 503 */
	SINK_CLOSED, /* not listening: connection refused */
	SINK_SLOW,   /* 200 after SINK_SLOW_MS */
};
#define SINK_SLOW_MS 3000

struct sink {
	int port, lfd;
	pthread_t th;
	pthread_mutex_t mu;
	atomic_int mode;
	atomic_bool stop;
	json_t *got;       /* accepted posts: objects of the form parameters, in arrival order */
	atomic_int attempts; /* every request, accepted or not */
};

static inline int sink_hex(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static inline char *sink_decode(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '+')
			*o++ = ' ';
		else if (s[i] == '%' && i + 2 < n && sink_hex(s[i + 1]) >= 0 && sink_hex(s[i + 2]) >= 0) {
			*o++ = (char)(sink_hex(s[i + 1]) * 16 + sink_hex(s[i + 2]));
			i += 2;
		} else
			*o++ = s[i];
	}
	*o = '\0';
	return out;
}

static inline json_t *sink_form(const char *body)
{
	json_t *o = json_object();
	const char *p = body;
	while (*p) {
		const char *amp = strchr(p, '&'), *end = amp ? amp : p + strlen(p), *eq = memchr(p, '=', (size_t)(end - p));
		if (eq) {
			char *k = sink_decode(p, (size_t)(eq - p)), *v = sink_decode(eq + 1, (size_t)(end - eq - 1));
			json_object_set_new(o, k, json_string(v));
			free(k);
			free(v);
		}
		p = amp ? amp + 1 : end;
	}
	return o;
}

static inline int sink_listen(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static inline void sink_serve(struct sink *s, int c)
{
	char *buf = malloc(1 << 20);
	size_t len = 0;
	long clen = -1;
	char *hend = NULL;
	for (;;) {
		struct pollfd p = { .fd = c, .events = POLLIN };
		if (poll(&p, 1, 5000) <= 0)
			break;
		ssize_t n = read(c, buf + len, (1 << 20) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		if (!hend && (hend = strstr(buf, "\r\n\r\n"))) {
			char *cl = strcasestr(buf, "content-length:");
			clen = cl && cl < hend ? strtol(cl + 15, NULL, 10) : 0;
		}
		if (hend && (long)(len - (size_t)(hend + 4 - buf)) >= clen)
			break;
	}
	atomic_fetch_add(&s->attempts, 1);
	int mode = atomic_load(&s->mode);
	if (mode == SINK_SLOW)
		usleep(SINK_SLOW_MS * 1000);
	bool ok = hend && mode != SINK_FAIL;
	if (ok) {
		json_t *form = sink_form(hend + 4);
		/* the signature and idempotency headers, recorded beside the form fields */
		static const char *const hdrs[][2] = { { "x-twilio-signature:", "_signature" },
						      { "i-twilio-idempotency-token:", "_idempotency" } };
		for (size_t h = 0; h < 2; h++) {
			char *at = strcasestr(buf, hdrs[h][0]);
			if (at && at < hend) {
				at += strlen(hdrs[h][0]);
				while (*at == ' ')
					at++;
				size_t n = strcspn(at, "\r\n");
				char *v = strndup(at, n);
				json_object_set_new(form, hdrs[h][1], json_string(v));
				free(v);
			}
		}
		pthread_mutex_lock(&s->mu);
		json_array_append_new(s->got, form);
		pthread_mutex_unlock(&s->mu);
	}
	const char *resp = ok ? "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n" :
				"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
	if (write(c, resp, strlen(resp)) < 0)
		(void)0;
	free(buf);
}

static inline void *sink_main(void *arg)
{
	struct sink *s = arg;
	while (!atomic_load(&s->stop)) {
		if (atomic_load(&s->mode) == SINK_CLOSED) {
			if (s->lfd >= 0) {
				close(s->lfd);
				s->lfd = -1;
			}
			usleep(10000);
			continue;
		}
		if (s->lfd < 0 && (s->lfd = sink_listen(s->port)) < 0) {
			usleep(10000);
			continue;
		}
		struct pollfd p = { .fd = s->lfd, .events = POLLIN };
		if (poll(&p, 1, 20) <= 0)
			continue;
		int c = accept(s->lfd, NULL, NULL);
		if (c < 0)
			continue;
		sink_serve(s, c);
		close(c);
	}
	if (s->lfd >= 0)
		close(s->lfd);
	return NULL;
}

static inline void sink_start(struct sink *s, int port)
{
	memset(s, 0, sizeof *s);
	s->port = port;
	s->lfd = -1;
	s->got = json_array();
	pthread_mutex_init(&s->mu, NULL);
	atomic_store(&s->mode, SINK_OK);
	pthread_create(&s->th, NULL, sink_main, s);
}

static inline void sink_stop(struct sink *s)
{
	atomic_store(&s->stop, true);
	pthread_join(s->th, NULL);
	json_decref(s->got);
	pthread_mutex_destroy(&s->mu);
}

/* A copy of what was accepted so far (new reference). */
static inline json_t *sink_got(struct sink *s)
{
	pthread_mutex_lock(&s->mu);
	json_t *copy = json_deep_copy(s->got);
	pthread_mutex_unlock(&s->mu);
	return copy;
}

static inline size_t sink_count(struct sink *s)
{
	pthread_mutex_lock(&s->mu);
	size_t n = json_array_size(s->got);
	pthread_mutex_unlock(&s->mu);
	return n;
}

#endif
