/* SPDX-License-Identifier: ISC */
/*
 * GPU quarantine: a device that a start failure names, that could not be
 * reset, or that vanished from its host stays out of service, in the
 * state database so that a restart keeps it, and listed with its reason,
 * until an admin clears it. The broker cannot tell a card that comes and
 * goes from a good one, so a device that is back stays quarantined too.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "broker.h"
#include "log.h"

void
gpuquarantine_put(const char *host, const char *device, const char *why,
    const char *guest)
{
	if (db_gpu_quarantine_put(broker->db, host, device, why) == -1)
		log_warnx("GPU %s on %s: could not save its quarantine",
		    device, host);
	log_warnx("GPU %s on %s is quarantined: %s", device, host, why);
	broker_audit("broker", NULL, "gpu quarantine", host, "ok",
	    "GPU %s (starting %s): %s", device, guest, why);
}

void
gpuquarantine_reason(const char *host, int vanished, char *buf, size_t len)
{
	struct tm	tm;
	time_t		now = time(NULL);
	char		when[32] = "an unknown time";

	if (gmtime_r(&now, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	if (vanished)
		snprintf(buf, len, "it vanished from host %s: not among its "
		    "PCI devices at %s", host, when);
	else
		snprintf(buf, len, "it is not among the PCI devices of host "
		    "%s at %s (unplugged, or never there)", host, when);
}

void
gpuquarantine_vanished(const char *host, const char *guest, const char *addr,
    int had, char *why, size_t len)
{
	char	reason[200];

	if (db_gpu_out_of_service(broker->db, host, addr, reason,
	    sizeof(reason))) {
		snprintf(why, len, "quarantined: %s", reason);
		return;
	}
	gpuquarantine_reason(host, had, reason, sizeof(reason));
	gpuquarantine_put(host, addr, reason, guest);
	snprintf(why, len, "%s host %s and is quarantined until an admin "
	    "clears it", had ? "vanished from" : "is not on", host);
}

int
gpuquarantine_clear(const char *host, const char *device)
{
	int	n;

	if ((n = db_gpu_quarantine_del(broker->db, host, device)) == -1)
		return -1;
	return n > 0;
}
