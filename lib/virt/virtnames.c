/* SPDX-License-Identifier: ISC */
/*
 * The names lib/virt gives its states, power actions and failures, kept
 * apart from the libvirt calls so that the broker's unit tests, which run
 * on a fake of virt.h (tests/unit/fakevirt.c), show the same words.
 */
#include <string.h>

#include "virt.h"

const char *
virt_state_name(enum virt_state s)
{
	switch (s) {
	case VIRT_STATE_SHUTOFF:
		return "shutoff";
	case VIRT_STATE_STARTING:
		return "starting";
	case VIRT_STATE_RUNNING:
		return "running";
	case VIRT_STATE_PAUSED:
		return "paused";
	case VIRT_STATE_SHUTDOWN:
		return "shutdown";
	case VIRT_STATE_CRASHED:
		return "crashed";
	case VIRT_STATE_MISSING:
		return "missing";
	default:
		return "unknown";
	}
}

const char *
virt_result_reason(const struct virt_result *res)
{
	switch (res->fault) {
	case VIRT_FAULT_HOST:
		return "the desktop's host cannot be reached at the moment: "
		    "try again later";
	case VIRT_FAULT_LIBVIRT:
		return "the desktop's host could not do it: try again, and "
		    "call the helpdesk if it happens again";
	default:
		return res->error;
	}
}

static const char *const virt_power_names[] = {
	[VIRT_POWER_SHUTDOWN] = "shutdown",
	[VIRT_POWER_REBOOT] = "reboot",
	[VIRT_POWER_RESET] = "reset",
	[VIRT_POWER_DESTROY] = "destroy",
};

const char *
virt_power_name(enum virt_power op)
{
	return (size_t)op < sizeof(virt_power_names) /
	    sizeof(virt_power_names[0]) ? virt_power_names[op] : "?";
}

int
virt_power_parse(const char *name, enum virt_power *op)
{
	size_t	i;

	for (i = 0; i < sizeof(virt_power_names) / sizeof(virt_power_names[0]);
	    i++) {
		if (strcmp(name, virt_power_names[i]) == 0) {
			*op = (enum virt_power)i;
			return 0;
		}
	}
	return -1;
}
