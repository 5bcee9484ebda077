/* SPDX-License-Identifier: ISC */
/* paprika-gatewayd: HTTP CONNECT gateway for SPICE channels. */
#ifndef PAPRIKA_GATEWAY_H
#define PAPRIKA_GATEWAY_H

#include <sys/queue.h>
#include <sys/socket.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include <uthash.h>

#include "keyring.h"
#include "netaddr.h"
#include "request.h"
#include "ticket.h"
#include "wsparse.h"

#define GATEWAY_DEFAULT_CONFIG	SYSCONFDIR "/paprika/paprika-gatewayd.conf"
#define GATEWAY_DEFAULT_CONTROL	RUNSTATEDIR "/paprika/gatewayd.sock"
/* An IPv6 peer counts against per-source limits by its /64. */
#define GATEWAY_SOURCE_PREFIX_V6	64
#define GATEWAY_DEFAULT_STATE	LOCALSTATEDIR "/lib/paprika/gateway"

/* Refusal reasons: each is a metric label and a log word. */
enum refusal {
	REFUSE_MALFORMED,	/* 400 */
	REFUSE_METHOD,		/* 405 */
	REFUSE_TOO_LARGE,	/* 431 */
	REFUSE_NO_TICKET,	/* 407 */
	REFUSE_BAD_TICKET,	/* 403 */
	REFUSE_EXPIRED,		/* 403 */
	REFUSE_REVOKED,		/* 403 */
	REFUSE_PORT,		/* 403 */
	REFUSE_NETWORK,		/* 403 */
	REFUSE_OVERLOADED,	/* 503 */
	REFUSE_PENDING,		/* 503: max_pending reached */
	REFUSE_UPSTREAM_FAILED,	/* 502 */
	REFUSE_UPSTREAM_TIMEOUT,	/* 504 */
	REFUSE_TIMEOUT,		/* request or handshake too slow */
	REFUSE_TLS,		/* TLS handshake failed */
	REFUSE_NOT_FOUND,	/* 404: WebSocket listener, another path */
	REFUSE_UPGRADE,		/* 426: not a WebSocket upgrade (version 13) */
	REFUSE_ORIGIN,		/* 403: Origin not allowed */
	REFUSE_UPSTREAM_TLS,	/* 502: the SPICE TLS to the guest failed */
	REFUSE_WEBSOCKET,	/* a WebSocket failed with a close code */
	REFUSE_MAX
};

/* Where each listener's tunnels arrive; a log word and a metric label. */
enum listener_kind {
	LISTENER_PLAIN,
	LISTENER_TLS,
	LISTENER_WS,		/* WebSocket in TLS; SPICE TLS to the guest */
	LISTENER_KINDS
};

/*
 * TLS 1.3 session tickets given after a full handshake: one for each SPICE
 * channel a client opens at once after its main channel (display, inputs,
 * cursor, sound; a client uses a ticket once). They follow the tunnel's
 * first bytes to the client, so that their sealing is not waited for (see
 * tlsticket_give). A resumed handshake gives one, for the one it used.
 */
#define GATEWAY_TLS_TICKETS	4
#define GATEWAY_DEFAULT_TLS_SESSION_LIFETIME	300	/* seconds */

#define GATEWAY_MAX_ORIGINS	32
#define GATEWAY_MAX_WORKERS	256
#define GATEWAY_MAX_HYPERVISORS	256
#define GATEWAY_MAX_CONTROL_CLIENTS	16
/* A ping more than this often (a burst of twice as many) closes with 1008. */
#define WS_PINGS_PER_SECOND	8

/* [hypervisor ADDR]: what the gateway checks when it speaks TLS to it. */
struct gateway_hypervisor {
	struct netaddr_net	 net;
	char			 name[NETADDR_STRLEN];	/* "10.0.0.5/32" */
	char			*spice_subject;
};

struct gateway_config {
	char				*path;
	struct sockaddr_storage		 listen_plain;
	socklen_t			 listen_plain_len;	/* 0: off */
	struct sockaddr_storage		 listen_tls;
	socklen_t			 listen_tls_len;	/* 0: off */
	struct sockaddr_storage		 listen_ws;
	socklen_t			 listen_ws_len;		/* 0: off */
	char				*ws_origins[GATEWAY_MAX_ORIGINS];
	size_t				 nws_origins;
	char				*spice_ca;
	struct gateway_hypervisor	 hypervisors[GATEWAY_MAX_HYPERVISORS];
	size_t				 nhypervisors;
	struct sockaddr_storage		 listen_metrics;
	socklen_t			 listen_metrics_len;	/* 0: off */
	char				*tls_cert;
	char				*tls_key;
	char				*ticket_keys;
	unsigned int			 tls_session_lifetime;	/* 0: no resumption */
	char				*control_socket;
	/* The control channel over TLS, for brokers on other hosts. */
	struct sockaddr_storage		 control_listen;
	socklen_t			 control_listen_len;	/* 0: off */
	char				*control_tls_cert;	/* default tls_cert */
	char				*control_tls_key;
	char				*control_ca;
	char				*control_clients[GATEWAY_MAX_CONTROL_CLIENTS];
	size_t				 ncontrol_clients;
	char				*state_dir;
	char				*user;
	unsigned int			 workers;	/* event loops; at start */
	struct netaddr_net		 nets[NETADDR_MAX_NETS];
	size_t				 nnets;
	struct netaddr_portrange	 ports[NETADDR_MAX_PORTRANGES];
	size_t				 nports;

	/* [limits] */
	struct request_limits		 request;
	unsigned int			 request_timeout;	/* seconds */
	unsigned int			 handshake_timeout;
	unsigned int			 connect_timeout;
	unsigned int			 idle_timeout;		/* 0: none */
	unsigned int			 drain_timeout;
	unsigned int			 max_tunnels;
	unsigned int			 max_tunnels_per_session;
	unsigned int			 max_tunnels_per_source;
	unsigned int			 max_pending_per_source;	/* before the ticket */
	unsigned int			 max_pending;	/* all sources together */
	size_t				 buffer_size;
	int				 splice;
	size_t				 ws_max_message;
};

enum tunnel_state {
	TUNNEL_HANDSHAKE,	/* TLS listener: handshake with the client */
	TUNNEL_REQUEST,		/* reading the CONNECT request */
	TUNNEL_CONNECTING,	/* connecting to the upstream */
	TUNNEL_UPSTREAM_TLS,	/* WebSocket: SPICE TLS handshake with the guest */
	TUNNEL_RELAY,		/* carrying bytes both ways */
	TUNNEL_REFUSING,	/* flushing an error answer, then closing */
	TUNNEL_CLOSED		/* waiting to be freed from the loop */
};

/* Bytes travelling from one side of a tunnel to the other. */
struct relay_dir {
	uint8_t		*buf;		/* pending bytes buf[off..len) or NULL */
	uint32_t	 off;
	uint32_t	 len;
	int		 pipe[2];	/* splice: -1 when none is held */
	uint32_t	 inpipe;
	uint64_t	 bytes;		/* carried so far */
	unsigned int	 eof:1;		/* the source has ended */
	unsigned int	 shut:1;	/* the destination's write side is shut */
};

/* One side of a tunnel: a socket, and what edge-triggered events said. */
struct relay_end {
	int		 fd;
	SSL		*ssl;		/* TLS on this side, or NULL */
	struct event	*ev;
	unsigned int	 readable:1;
	unsigned int	 writable:1;
	unsigned int	 owes_tickets:1; /* TLS 1.3 tickets follow the next write */
};

struct session;
struct source;
struct gateway;

/* A TCP peer's address: a sockaddr_storage is 100 bytes more per tunnel. */
union tunnel_addr {
	struct sockaddr		sa;
	struct sockaddr_in	sin;
	struct sockaddr_in6	sin6;
};

/* A WebSocket tunnel's framing state (see ws.c). */
struct ws_state {
	struct ws_decoder	 dec;
	char			 accept[WS_ACCEPT_LEN + 1];
	int			 proto_binary;
	int			 open;		/* 101 sent: frames from now on */
	/* A pong to send at the next frame boundary. */
	uint8_t			 pong[WS_SERVER_HEADER_MAX + WS_CONTROL_MAX];
	size_t			 pong_len;
	int			 close_sent;	/* no frame may follow */
	int			 close_done;	/* the client's close came */
	unsigned int		 ping_tokens;
	time_t			 ping_refilled;
};

struct tunnel {
	TAILQ_ENTRY(tunnel)	 entry;		/* all tunnels, or the reap list */
	TAILQ_ENTRY(tunnel)	 sentry;	/* in its session */
	TAILQ_ENTRY(tunnel)	 pentry;	/* in shared.pending, oldest first */
	struct gateway		*worker;	/* the only thread that touches it */
	uint64_t		 id;
	enum tunnel_state	 state;
	enum listener_kind	 kind;
	int			 tls;		/* the client speaks TLS to us */
	struct ws_state		*ws;		/* the WebSocket listener's */
	struct relay_end	 client;
	struct relay_end	 upstream;
	struct relay_dir	 up;		/* client to upstream */
	struct relay_dir	 down;		/* upstream to client */
	struct event		*timer;
	struct session		*session;
	struct source		*source;
	union tunnel_addr	 peer;
	union tunnel_addr	 target;
	struct timespec		 started;	/* accepted */
	struct timespec		 phase_started;
	time_t			 last_active;
	char			 user[TICKET_USER_MAX + 1];
	uint64_t		 session_id;
	char			*refusal;	/* why it is being refused */
	int			 pending;	/* in shared.pending: under its lock */
};

TAILQ_HEAD(tunnel_list, tunnel);

/* Shared by the workers: under shared.lock (see worker.c). */
struct session {
	uint64_t		 id;
	char			 user[TICKET_USER_MAX + 1];
	struct tunnel_list	 tunnels;
	unsigned int		 ntunnels;
	time_t			 since;
	UT_hash_handle		 hh;
};

struct source {
	char			 key[NETADDR_STRLEN];	/* netaddr_source */
	unsigned int		 count;
	unsigned int		 pending;	/* not past the ticket check yet */
	UT_hash_handle		 hh;
};

struct listener {
	int			 fd;
	enum listener_kind	 kind;
	struct event		*ev;
	struct sockaddr_storage	 addr;
};

/* Counters each worker keeps for itself; /metrics shows their sum. */
enum metrics_hist { HIST_HANDSHAKE, HIST_CONNECT, HIST_MAX };
#define METRICS_NBUCKETS	14
struct histogram {
	uint64_t	counts[METRICS_NBUCKETS + 1];
	double		sum;
	uint64_t	n;
};
struct metrics_counts {
	uint64_t		accepted;	/* by this worker */
	uint64_t		opened[LISTENER_KINDS];
	uint64_t		closed;
	uint64_t		tls_handshakes;
	uint64_t		tls_resumed;
	uint64_t		bytes_up;
	uint64_t		bytes_down;
	uint64_t		refusals[REFUSE_MAX];
	struct histogram	hist[HIST_MAX];
};

/* A job worker_run_all hands to another worker's thread. */
typedef void (*worker_fn)(void *);

/*
 * One worker: an event loop on its own thread, its own listening sockets
 * (SO_REUSEPORT) and the tunnels it accepted. Only its thread touches
 * these fields, except where a comment says otherwise. Worker 0 runs on
 * the main thread and also owns the signals, the control socket, the
 * metrics listener and what a reload swaps.
 */
struct gateway {
	unsigned int		 id;
	pthread_t		 thread;
	struct event_base	*base;
	/* The configuration and secrets it last adopted (gateway_reload). */
	struct gateway_config	*conf;
	const struct keyring	*keys;
	SSL_CTX			*tls_ctx;
	SSL_CTX			*spice_ctx;	/* to the guests, for WebSockets */
	struct listener		 plain;
	struct listener		 tls;
	struct listener		 ws;
	struct listener		 metrics_listener;	/* worker 0 */
	struct event		*accept_backoff;
	struct tunnel_list	 tunnels;
	struct tunnel_list	 reap;
	struct event		*reap_ev;
	unsigned int		 ntunnels;	/* this worker's */
	int			 draining;
	struct event		*drain_timer;
	time_t			 started;
	int			 control_fd;	/* worker 0 */
	struct event		*control_ev;
	int			 control_tls_fd;	/* worker 0 */
	struct event		*control_tls_ev;
	SSL_CTX			*control_tls_ctx;
	unsigned int		 control_tls_conns;
	struct metrics_counts	 m;
	/* Pending tunnels another worker pushed out: under shared.lock. */
	uint64_t		*evicted;
	size_t			 nevicted;
	struct event		*evict_ev;
	/* Under shared.job_lock. */
	struct event		*job_ev;
	worker_fn		 job;
	void			*job_arg;
	int			 running;	/* its loop has not ended */
};

/* What the workers share (worker.c). */
struct gateway_shared {
	pthread_mutex_t		 lock;	/* the fields below, sessions, sources */
	unsigned int		 ntunnels;	/* all workers' */
	unsigned int		 npending;
	struct tunnel_list	 pending;	/* every worker's, oldest first */
	struct session		*sessions;
	struct source		*sources;
	uint64_t		 next_tunnel_id;	/* atomic */
	/* Owned by worker 0; each worker adopts them (gateway_reload). */
	struct gateway_config	*conf;
	struct keyring		*keys;
	SSL_CTX			*tls_ctx;
	SSL_CTX			*spice_ctx;
	/* Set before the threads start. */
	struct gateway		*workers[GATEWAY_MAX_WORKERS];
	unsigned int		 nworkers;
	pthread_mutex_t		 job_lock;
	pthread_cond_t		 job_done;
};

/* The worker running on this thread. */
extern __thread struct gateway	*gw;
extern struct gateway_shared	 shared;

/* conf.c */
struct gateway_config	*conf_load(const char *path, char *err, size_t errlen);
void			 conf_free(struct gateway_config *);
void			 conf_dump(const struct gateway_config *, FILE *);
const char		*conf_spice_subject(const struct gateway_config *,
			    const struct sockaddr *);

/* listener.c */
int	 listener_open(struct listener *, const struct sockaddr_storage *,
	    socklen_t, enum listener_kind, int reuseport);
const char *listener_name(enum listener_kind);
void	 listener_start(struct listener *);
void	 listener_close(struct listener *);

/* tunnel.c */
/* Takes fd, and the slot in shared.ntunnels the listener took for it. */
void	 tunnel_accept(int fd, struct sockaddr_storage *peer,
	    enum listener_kind);
void	 tunnel_enter(struct tunnel *, enum tunnel_state, unsigned int timeout);
void	 tunnel_authorize(struct tunnel *, const char *ticket, uint16_t port);
void	 tunnel_refuse_parse(struct tunnel *, int status, const char *reason);
void	 tunnel_close(struct tunnel *, const char *reason);
void	 tunnel_refusing(struct tunnel *, enum refusal);
void	 tunnel_refuse(struct tunnel *, enum refusal, const char *reason);
const char *tunnel_set_refusal(struct tunnel *, const char *, ...)
	    __attribute__((__format__ (printf, 2, 3)));
const char *tunnel_refusal(const struct tunnel *);
/* Refuses, or closes without an answer before the TLS handshake is done. */
void	 tunnel_turn_away(struct tunnel *, enum refusal, const char *reason);
void	 tunnel_pump(struct tunnel *);
void	 tunnel_reap(evutil_socket_t, short, void *);
const char *tunnel_state_name(enum tunnel_state);
/* Seconds since t, on the monotonic clock. */
double	 timespec_since(const struct timespec *t);

/* ws.c */
/* Starts a WebSocket tunnel's state; 0, or -1 when out of memory. */
int	 ws_new(struct tunnel *);
void	 ws_free(struct tunnel *);
/*
 * Parses the upgrade request read so far; 0 when more bytes are needed,
 * 1 once it has refused or authorized the tunnel.
 */
int	 ws_request(struct tunnel *, const struct request_limits *);
/* Starts and drives the SPICE TLS handshake with the guest. */
int	 ws_upstream_start(struct tunnel *);
void	 ws_upstream_handshake(struct tunnel *);
void	 ws_refuse_upstream(struct tunnel *, const char *why);
/* Frames what was just read into d (in place); see relay_dir_pump. */
void	 ws_filter(struct tunnel *, struct relay_dir *);
/* Queues a pending pong into the empty down buffer; 1 if it did, -1. */
int	 ws_queue_control(struct tunnel *);
/* Ends a WebSocket with a close frame, then closes once it is sent. */
void	 ws_end(struct tunnel *, uint16_t code, const char *why);
/* tunnel_close: a close frame on the way out, if one fits now. */
void	 ws_goodbye(struct tunnel *, const char *reason);
/* The room the down buffer leaves for a frame header and a close frame. */
#define WS_DOWN_RESERVE	(WS_SERVER_HEADER_MAX + 2 + WS_CONTROL_MAX)

/* pending.c */
#define PENDING_EVICTED	"too many connections waiting for a ticket; this " \
	"one waited longest"
/* Counts t as waiting for its ticket, making room if it may; 0 or -1. */
int	 pending_add(struct tunnel *);
/* t has shown its ticket, is refused or closes; nothing if not pending. */
void	 pending_remove(struct tunnel *);
/* All workers' pending connections. */
unsigned int pending_count(void);
/* Turns away what other workers pushed out of this one's pending slots. */
void	 pending_evicted(evutil_socket_t, short, void *);

/* relay.c */
#define RELAY_ERROR	(-1)
#define RELAY_AGAIN	(-2)
/* The size of the relay's buffers, fixed at start. */
size_t	 relay_buf_size(void);
/*
 * Reads request bytes into the up buffer, at most max in all and never more
 * than it holds: >0, 0 at EOF or once full, or RELAY_*.
 */
ssize_t	 relay_read_request(struct tunnel *, size_t max, const char **);
/* Moves bytes in both directions as far as the sockets allow. */
int	 relay_pump(struct tunnel *, const char **reason);
/* Queues bytes to the client (error answers, the 200 reply). */
int	 relay_queue_down(struct tunnel *, const char *, size_t);
/* Adds the upstream's first bytes, if any came, behind them. */
int	 relay_fill_down(struct tunnel *, const char **reason);
void	 relay_dir_release(struct relay_dir *);
void	 relay_shutdown(void);

/* session.c */
/*
 * Puts t in its session, made if new: 0, -1 when out of memory, -2 when
 * the session holds max tunnels already (in all workers).
 */
int		 session_join(struct tunnel *, uint64_t id, const char *user,
		    unsigned int max);
void		 session_detach(struct tunnel *);
/* Closes a session's tunnels in every worker (worker 0); how many. */
unsigned int	 session_kill(uint64_t id, const char *reason);
unsigned int	 session_count(void);
struct source	*source_get(const struct sockaddr_storage *);
void		 source_put(struct source *);

/* revoke.c */
/* Reads state_dir/revocations into memory; 0, or -1 if unreadable. */
int		 revoke_load(const char *state_dir);
/* Starts (after daemon()) and stops the thread that writes the file. */
void		 revoke_start(void);
void		 revoke_stop(void);
/* Refuse a session's or a ticket's id until then; never fail (0). */
int		 revoke_add_session(uint64_t id, time_t until);
int		 revoke_add_ticket(uint64_t id, time_t until);
int		 revoke_check(const struct ticket *);
size_t		 revoke_count(void);

/* control.c */
/* A request's read and write, each; a TLS handshake has its own. */
#define CONTROL_TIMEOUT		10	/* seconds */
int	 control_open(const char *path);
void	 control_start(void);
void	 control_close(const char *path);
/* Reads one request on bev and answers; conn is a TLS connection or NULL. */
void	 control_read(struct bufferevent *bev, void *conn);

/* control-tls.c */
/* TLS control connections at once: more are closed at accept. */
#define CONTROL_TLS_MAX		16
/* Binds control_listen and loads its TLS context (as root); 0 or -1. */
int	 control_tls_open(const struct gateway_config *);
/* Whether control_listen's certificate, key and CA load; 0, or -1 with err. */
int	 control_tls_check(const struct gateway_config *, char *err,
	    size_t errlen);
void	 control_tls_start(void);
void	 control_tls_close(void);
/* Frees a TLS control connection (from its callbacks). */
void	 control_tls_end(void *conn);

/* metrics.c */
void	 metrics_refusal(enum refusal);
void	 metrics_tunnel_opened(enum listener_kind);
void	 metrics_tls_handshake(int resumed);
void	 metrics_tunnel_closed(const struct tunnel *);
void	 metrics_bytes(int up, size_t);
void	 metrics_observe(enum metrics_hist, double seconds);
/* Returns the Prometheus text exposition; the caller frees it. */
char	*metrics_render(void);
void	 metrics_http_accept(int fd);

/* tlsticket.c */
/* Session tickets on ctx for lifetime seconds (0: none), keys in memory. */
void	 tlsticket_setup(SSL_CTX *ctx, unsigned int lifetime);
/* Wipes the ticket keys. */
void	 tlsticket_clear(void);
/* Sends a TLS 1.3 client's session tickets, once its CONNECT is allowed. */
void	 tlsticket_give(SSL *);

/* worker.c */
/* A worker with its loop and listeners (sockets shared when n > 1). */
struct gateway	*worker_new(unsigned int id);
void		 worker_free(struct gateway *);
void		 worker_start(struct gateway *);
void		 worker_join(struct gateway *);
/*
 * Runs fn(arg) on each worker's thread in turn, the caller's first, and
 * returns once all have: worker 0 only. A worker whose loop has ended runs
 * it on the caller's thread.
 */
void		 worker_run_all(worker_fn, void *);
/* Whether every other worker's loop has ended. */
int		 worker_others_stopped(void);
void		 shared_lock(void);
void		 shared_unlock(void);

/* gatewayd.c */
int	 gateway_reload(char *err, size_t errlen);

#endif
