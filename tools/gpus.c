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
#include <sqlite3.h>

#include "broker.h"
#include "gpujson.h"
#include "paprikactl.h"
#include "virtgpu.h"

struct gpus_host {
	const char	*name;
	sqlite3		*state;
	char		 guest[128];
};

static const char *
gpus_allocated_to(void *arg, const char *device)
{
	struct gpus_host	*h = arg;
	sqlite3_stmt		*st;
	const char		*guest = NULL;

	if (h->state == NULL || sqlite3_prepare_v2(h->state, "SELECT guest "
	    "FROM gpu_allocs WHERE host = ? AND device = ?", -1, &st,
	    NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_text(st, 1, h->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, device, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		strlcpy(h->guest, (const char *)sqlite3_column_text(st, 0),
		    sizeof(h->guest));
		guest = h->guest;
	}
	sqlite3_finalize(st);
	return guest;
}

static int
gpus_quarantined(void *arg, const char *device, char *reason, size_t len)
{
	struct gpus_host	*h = arg;
	sqlite3_stmt		*st;
	int			 found = 0;

	if (h->state == NULL || sqlite3_prepare_v2(h->state, "SELECT reason "
	    "FROM gpu_quarantine WHERE host = ? AND device = ?", -1, &st,
	    NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, h->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, device, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		strlcpy(reason, (const char *)sqlite3_column_text(st, 0), len);
		found = 1;
	}
	sqlite3_finalize(st);
	return found;
}

/* One host as JSON: its GPUs, or why they could not be read. */
static json_t *
gpus_host(const char *name, const char *uri, sqlite3 *state)
{
	struct gpus_host	 h = { name, state, "" };
	struct gpujson_state	 st = { gpus_allocated_to, gpus_quarantined,
				    &h };
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
	sqlite3			*state = NULL;
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
		if (sqlite3_open_v2(c->state, &state, SQLITE_OPEN_READONLY,
		    NULL) != SQLITE_OK) {
			sqlite3_close(state);
			state = NULL;	/* no broker state yet */
		}
		for (i = 0; i < c->nhosts; i++)
			json_array_append_new(hosts, gpus_host(c->hosts[i].name,
			    c->hosts[i].uri, state));
		sqlite3_close(state);
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
