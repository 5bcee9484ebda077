/* SPDX-License-Identifier: ISC */
/*
 * paprikactl gpus: each host's GPUs with a verdict for each, read from
 * libvirt (read-only) with the broker's allocations and quarantines from
 * its state file. Made for preparing a host: it needs neither the broker
 * running nor a login, only root's access to libvirt and the state.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "broker.h"
#include "sql.h"
#include "gpujson.h"
#include "brokertool.h"
#include "virtgpu.h"
#include "xmalloc.h"

/* The broker's state as gpujson needs it, read through db.c. */
struct gpus_state {
	struct db		 *db;		/* NULL: no state yet */
	struct gpu_alloc	**allocs;
	size_t			  nallocs;
};

struct gpus_host {
	const char		*name;
	struct gpus_state	*state;
};

static void
gpus_alloc_add(struct gpu_alloc *a, void *arg)
{
	struct gpus_state	*st = arg;

	st->allocs = xreallocarray(st->allocs, st->nallocs + 1,
	    sizeof(*st->allocs));
	st->allocs[st->nallocs++] = a;
}

static const char *
gpus_allocated_to(void *arg, const char *device)
{
	struct gpus_host	*h = arg;
	size_t			 i;

	for (i = 0; h->state != NULL && i < h->state->nallocs; i++)
		if (strcmp(h->state->allocs[i]->host, h->name) == 0 &&
		    strcmp(h->state->allocs[i]->device, device) == 0)
			return h->state->allocs[i]->guest;
	return NULL;
}

static int
gpus_quarantined(void *arg, const char *device, char *reason, size_t len)
{
	struct gpus_host	*h = arg;

	if (h->state == NULL || h->state->db == NULL)
		return 0;
	return db_gpu_out_of_service(h->state->db, h->name, device, reason,
	    len);
}

static void
gpus_quarantines(void *arg, void (*cb)(void *, const char *, const char *),
    void *cbarg)
{
	struct gpus_host	*h = arg;

	if (h->state != NULL && h->state->db != NULL &&
	    db_gpu_quarantine_each(h->state->db, h->name, cb, cbarg) == -1)
		fprintf(stderr, "paprikactl: cannot list the quarantined GPUs "
		    "of host %s\n", h->name);
}

static void
gpus_state_open(struct gpus_state *st, const char *path)
{
	char	err[512];

	memset(st, 0, sizeof(*st));
	/* No state yet (a broker never started) shows no allocations. */
	if ((st->db = db_open(path, SQL_READONLY, err, sizeof(err))) == NULL)
		return;
	if (db_gpu_alloc_load(st->db, gpus_alloc_add, st) == -1)
		fprintf(stderr, "paprikactl: %s: cannot read the GPU "
		    "allocations\n", path);
}

static void
gpus_state_close(struct gpus_state *st)
{
	size_t	i;

	for (i = 0; i < st->nallocs; i++)
		free(st->allocs[i]);
	free(st->allocs);
	if (st->db != NULL)
		db_close(st->db);
}

/* One host as JSON: its GPUs, or why they could not be read. */
static json_t *
gpus_host(const char *name, const char *uri, struct gpus_state *state)
{
	struct gpus_host	 h = { name, state };
	struct gpujson_state	 st = { gpus_allocated_to, gpus_quarantined,
				    gpus_quarantines, &h };
	struct gpu_inventory	 inv;
	unsigned long long	 committed;
	virConnectPtr		 conn;
	virNodeInfo		 node;
	virErrorPtr		 e;
	json_t			*o;
	char			 err[512];

	o = json_pack("{s:s,s:s}", "name", name, "uri", uri);
	if ((conn = virConnectOpenReadOnly(uri)) == NULL) {
		e = virGetLastError();
		json_object_set_new(o, "error", json_sprintf("cannot connect: "
		    "%s", e != NULL && e->message != NULL ? e->message :
		    "unknown error"));
		return o;
	}
	memset(&inv, 0, sizeof(inv));
	if (virt_gpu_collect(conn, &inv, &committed, err, sizeof(err)) == -1)
		json_object_set_new(o, "error", json_string(err));
	else {
		json_object_set_new(o, "iommu", json_boolean(inv.iommu));
		if (virNodeGetInfo(conn, &node) == 0)
			json_object_set_new(o, "memory_kib",
			    json_integer((json_int_t)node.memory));
		json_object_set_new(o, "committed_kib",
		    json_integer((json_int_t)committed));
		json_object_set_new(o, "gpus", gpujson_inventory(&inv, &st));
	}
	gpu_inventory_free(&inv);
	virConnectClose(conn);
	return o;
}

static const char *
gpus_str(json_t *o, const char *key)
{
	const char	*s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

static void
gpus_print_device(json_t *d)
{
	json_t	*t;
	size_t	 i;

	if (strcmp(gpus_str(d, "verdict"), "missing") == 0) {
		printf("  %s  not on the host\n    missing: %s\n",
		    gpus_str(d, "address"), gpus_str(d, "reason"));
		return;
	}
	printf("  %s  %s %s [%s:%s]  %s  IOMMU group %lld (%zu device%s)",
	    gpus_str(d, "address"), gpus_str(d, "vendor"),
	    gpus_str(d, "product"), gpus_str(d, "vendor_id"),
	    gpus_str(d, "product_id"), json_is_string(json_object_get(d,
	    "driver")) ? gpus_str(d, "driver") : "no driver",
	    json_integer_value(json_object_get(d, "iommu_group")),
	    json_array_size(json_object_get(d, "group")),
	    json_array_size(json_object_get(d, "group")) == 1 ? "" : "s");
	if (json_integer_value(json_object_get(d, "numa_node")) >= 0)
		printf("  NUMA node %lld",
		    json_integer_value(json_object_get(d, "numa_node")));
	printf("\n    %s", gpus_str(d, "verdict"));
	if (json_object_get(d, "reason") != NULL)
		printf(": %s", gpus_str(d, "reason"));
	printf("\n");
	json_array_foreach(json_object_get(d, "mdev_types"), i, t)
		printf("    mediated type %s%s%s%s: %lld free\n",
		    gpus_str(t, "id"), *gpus_str(t, "name") != '\0' ? " (" : "",
		    gpus_str(t, "name"), *gpus_str(t, "name") != '\0' ? ")" :
		    "", json_integer_value(json_object_get(t, "available")));
}

static void
gpus_print(json_t *hosts)
{
	json_t	*h, *d;
	size_t	 i, j;

	json_array_foreach(hosts, i, h) {
		printf("%shost %s (%s)", i > 0 ? "\n" : "", gpus_str(h, "name"),
		    gpus_str(h, "uri"));
		if (json_object_get(h, "error") != NULL) {
			printf(": %s\n", gpus_str(h, "error"));
			continue;
		}
		printf(": IOMMU %s", json_is_true(json_object_get(h, "iommu")) ?
		    "on" : "off or unknown");
		if (json_object_get(h, "memory_kib") != NULL)
			printf(", %.1f GiB memory, %.1f GiB held by running "
			    "guests", json_integer_value(json_object_get(h,
			    "memory_kib")) / 1048576.0,
			    json_integer_value(json_object_get(h,
			    "committed_kib")) / 1048576.0);
		printf("\n");
		if (json_array_size(json_object_get(h, "gpus")) == 0)
			printf("  no display-class PCI device\n");
		json_array_foreach(json_object_get(h, "gpus"), j, d)
			gpus_print_device(d);
	}
}

static void __attribute__((noreturn))
gpus_usage(void)
{
	fprintf(stderr, "usage: paprikactl gpus [--config FILE | --connect "
	    "URI] [--json]\n");
	exit(2);
}

int
cmd_gpus(int argc, char *argv[])
{
	static const struct option	 opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "connect", required_argument, NULL, 'u' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	const char		*config = BROKER_DEFAULT_CONFIG, *uri = NULL;
	struct broker_config	*c;
	struct gpus_state	 state;
	json_t			*hosts;
	char			 err[512];
	size_t			 i;
	int			 ch, json = 0;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'u':
			uri = optarg;
			break;
		case 'j':
			json = 1;
			break;
		default:
			gpus_usage();
		}
	}
	if (optind != argc)
		gpus_usage();
	virSetErrorFunc(NULL, NULL);
	hosts = json_array();
	if (uri != NULL)
		json_array_append_new(hosts, gpus_host(uri, uri, NULL));
	else {
		if ((c = conf_load(config, err, sizeof(err))) == NULL) {
			fprintf(stderr, "paprikactl: %s\n", err);
			return 1;
		}
		gpus_state_open(&state, conf_database(c));
		for (i = 0; i < c->nhosts; i++)
			json_array_append_new(hosts, gpus_host(c->hosts[i].name,
			    c->hosts[i].uri, &state));
		gpus_state_close(&state);
		conf_free(c);
	}
	if (json) {
		json_dumpf(hosts, stdout, JSON_INDENT(2));
		putchar('\n');
	} else
		gpus_print(hosts);
	json_decref(hosts);
	return 0;
}
