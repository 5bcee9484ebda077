/* SPDX-License-Identifier: ISC */
/* Shared harness of the libvirt C tests: a loop, waits, checks. */
#ifndef PAPRIKA_VIRTTEST_H
#define PAPRIKA_VIRTTEST_H

#include <pthread.h>
#include <stdint.h>

#include "virt.h"

#define VT_NAMES_MAX	32

/* What a done callback saw, copied: the result lives only in the call. */
struct vt_result {
	int		 done;
	int		 ok;
	char		 error[VIRT_ERROR_MAX];
	enum virt_state	 state;
	uint16_t	 tls_port, port;
	char		 listen[64];
	size_t		 image_len;
	uint8_t		 image_head[8];
	char		 mime[64];
	size_t		 ndomains;
	char		 names[VT_NAMES_MAX][VIRT_NAME_MAX];
	enum virt_state	 states[VT_NAMES_MAX];
};

/* Events seen. */
struct vt_events {
	int		 up_calls;
	int		 up;
	int		 off_loop;	/* callbacks not on the loop's thread */
	char		 last_dom[VIRT_NAME_MAX];
	enum virt_state	 last_state;
	int		 nstates;
};

extern int			 vt_failures;
extern struct event_base	*vt_base;
extern const struct virt_events	 vt_callbacks;

#define VT_CHECK(cond, ...) do {					\
	if (!(cond)) {							\
		vt_failures++;						\
		fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__,	\
		    #cond);						\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
	}								\
} while (0)

void	vt_init(void);
/* The result as TAP (one check: the program's; the failures are on
 * stderr, in the log) and the exit status. */
int	vt_finish(const char *name);
void	vt_done(const struct virt_result *res, void *arg);
/* Runs the loop until *flag is set or seconds pass; 0 or -1 on timeout. */
int	vt_wait(const int *flag, int seconds);
/* Runs a job through fn's queue function and waits for it. */
#define VT_RUN(r, secs, call) do {					\
	memset(&(r), 0, sizeof(r));					\
	VT_CHECK((call) == 0, "queued");				\
	VT_CHECK(vt_wait(&(r).done, (secs)) == 0, "timed out");	\
} while (0)
/* Waits for a lifecycle event putting dom in state; 0 or -1. */
int	vt_wait_state(struct vt_events *e, const char *dom,
	    enum virt_state state, int seconds);
int	vt_has_name(const struct vt_result *r, const char *name,
	    enum virt_state *state);

#endif
