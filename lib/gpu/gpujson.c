/* SPDX-License-Identifier: ISC */
/*
 * A host's GPU inventory as JSON, with a verdict for each display device:
 * the one view behind GET /api/v1/gpus and `paprikactl gpus`, so admins
 * read the same words in both.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "gpu.h"
#include "gpujson.h"

static json_t *
gpujson_group(const struct gpu_inventory *inv, const struct gpu_pci_dev *d)
{
	const struct gpu_pci_dev	*m;
	json_t				*list = json_array(), *o;
	char				 addr[GPU_ADDR_LEN];
	size_t				 i;

	for (i = 0; i < d->nmembers; i++) {
		gpu_addr_format(&d->members[i], addr, sizeof(addr));
		o = json_pack("{s:s}", "address", addr);
		if ((m = gpu_find(inv, &d->members[i])) != NULL) {
			json_object_set_new(o, "class", json_sprintf("0x%06x",
			    m->class));
			json_object_set_new(o, "driver", m->driver[0] != '\0' ?
			    json_string(m->driver) : json_null());
			json_object_set_new(o, "bridge",
			    json_boolean(m->is_bridge));
		}
		json_array_append_new(list, o);
	}
	return list;
}

static json_t *
gpujson_mdev_types(const struct gpu_pci_dev *d)
{
	json_t	*list = json_array();
	size_t	 i;

	for (i = 0; i < d->nmdev_types; i++)
		json_array_append_new(list, json_pack("{s:s,s:s,s:i}", "id",
		    d->mdev_types[i].id, "name", d->mdev_types[i].name,
		    "available", (int)d->mdev_types[i].available));
	return list;
}

/* One display device with its verdict; the broker's view wins over
 * libvirt's: quarantined, then given to a guest, then gpu_check. */
static json_t *
gpujson_device(const struct gpu_inventory *inv, const struct gpu_pci_dev *d,
    const struct gpujson_state *st)
{
	json_t			*o;
	char			 addr[GPU_ADDR_LEN], why[256], quarantine[256];
	const char		*guest = NULL, *used;
	enum gpu_verdict	 v;

	gpu_addr_format(&d->addr, addr, sizeof(addr));
	v = gpu_check(inv, d, NULL, 0, why, sizeof(why));
	if (st != NULL && st->allocated_to != NULL)
		guest = st->allocated_to(st->arg, addr);
	used = gpu_used_by(inv, &d->addr);
	o = json_pack("{s:s,s:s,s:o,s:o,s:o,s:s,s:s?,s:i,s:i,s:o,s:s?,s:s?}",
	    "address", addr, "node_device", d->name,
	    "class", json_sprintf("0x%06x", d->class),
	    "vendor_id", json_sprintf("%04x", d->vendor_id),
	    "product_id", json_sprintf("%04x", d->product_id),
	    "vendor", d->vendor, "product", d->product[0] != '\0' ?
	    d->product : NULL, "iommu_group", d->iommu_group,
	    "numa_node", d->numa_node, "group", gpujson_group(inv, d),
	    "driver", d->driver[0] != '\0' ? d->driver : NULL,
	    "used_by", used);
	if (d->nmdev_types > 0)
		json_object_set_new(o, "mdev_types", gpujson_mdev_types(d));
	if (st != NULL && st->quarantined != NULL &&
	    st->quarantined(st->arg, addr, quarantine, sizeof(quarantine))) {
		json_object_set_new(o, "verdict", json_string("quarantined"));
		json_object_set_new(o, "reason", json_string(quarantine));
	} else if (guest != NULL && (v == GPU_ASSIGNABLE ||
	    (used != NULL && strcmp(used, guest) == 0))) {
		json_object_set_new(o, "verdict", json_string("allocated"));
		json_object_set_new(o, "reason", json_sprintf("given to "
		    "desktop %s", guest));
	} else {
		json_object_set_new(o, "verdict",
		    json_string(gpu_verdict_name(v)));
		if (v != GPU_ASSIGNABLE)
			json_object_set_new(o, "reason", json_string(why));
	}
	if (guest != NULL)
		json_object_set_new(o, "allocated_to", json_string(guest));
	return o;
}

struct gpujson_missing {
	const struct gpu_inventory	*inv;
	json_t				*list;
};

/* A quarantined device: listed when the host no longer has it (it
 * vanished; it stays out of service until an admin clears it). Mediated
 * devices (a UUID, not an address) are not PCI functions of the host. */
static void
gpujson_missing(void *arg, const char *device, const char *reason)
{
	struct gpujson_missing	*m = arg;
	struct gpu_addr		 a;
	char			 addr[GPU_ADDR_LEN];

	if (gpu_addr_parse(device, &a) == -1 || gpu_find(m->inv, &a) != NULL)
		return;
	gpu_addr_format(&a, addr, sizeof(addr));
	json_array_append_new(m->list, json_pack("{s:s,s:s,s:o}", "address",
	    addr, "verdict", "missing", "reason", json_sprintf("quarantined: "
	    "%s", reason)));
}

json_t *
gpujson_inventory(const struct gpu_inventory *inv,
    const struct gpujson_state *st)
{
	struct gpujson_missing	 m;
	json_t			*list = json_array();
	size_t			 i;

	for (i = 0; i < inv->ndevs; i++)
		if (gpu_is_display(&inv->devs[i]))
			json_array_append_new(list, gpujson_device(inv,
			    &inv->devs[i], st));
	if (st != NULL && st->quarantines != NULL) {
		m.inv = inv;
		m.list = list;
		st->quarantines(st->arg, gpujson_missing, &m);
	}
	return list;
}
