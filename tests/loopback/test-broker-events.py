# SPDX-License-Identifier: ISC
"""paprika-brokerd's live event stream, GET /api/v1/events, on libvirt's
test driver.

A helpdesk login gets server-sent events of the changes it could see in
the API: a power action on a desktop shows as a "domain" event, a user's
connect as "session" events, with the time the broker published them;
comment lines come every events_heartbeat. A plain user gets 403, no
login 401, and streams past events_subscribers get 503. A subscriber that
stops reading is dropped once its queue (events_queue) would overflow,
counted in the metrics, while the API keeps answering other clients and
the other streams keep getting their events."""

import os
import re
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import paprikatest  # noqa: E402
from paprikatest import (check, import_demo, note, run_deployment,  # noqa: E402
                     top_builddir, top_srcdir, wait_until)
from ssestream import EventStream  # noqa: E402

import_demo()
import brokerdeploy  # noqa: E402
from deployment import make_workdir  # noqa: E402

SUBSCRIBERS = 3
QUEUE = 4096


def stream(d, token, **kw):
    return EventStream(d.broker_port, d.tls_context(), token, **kw)


def metric(d, name):
    _, body, _ = d.api("GET", "/metrics", raw=True)
    m = re.search(rf"^{re.escape(name)} (\d+)$", body.decode(), re.M)
    return int(m.group(1)) if m else None


def timings(d):
    """The broker's own time per route, labelled by the route's pattern
    (never the path, which would grow without bound), and its libvirt
    worker's jobs, in /metrics."""
    _, body, _ = d.api("GET", "/metrics", raw=True)
    text = body.decode()
    routes = dict(re.findall(r'^paprika_broker_request_seconds_count\{route="([^"]*)",'
                             r'method="[A-Z]+"\} (\d+)$', text, re.M))
    check(int(routes.get("/api/v1/login", 0)) >= 1 and
          int(routes.get("/api/v1/desktops/{id}/connect", 0)) >= 1 and
          not any("office" in r for r in routes),
          "request durations by route pattern: login and connect", routes)
    inf = re.search(r'^paprika_broker_request_seconds_bucket\{route="/api/v1/login",'
                    r'method="POST",le="\+Inf"\} (\d+)$', text, re.M)
    check(inf and inf.group(1) == routes.get("/api/v1/login"),
          "the histogram's last bucket holds every login", inf)
    jobs = metric(d, 'paprika_broker_libvirt_jobs_total{host="local"}')
    run = re.search(r'^paprika_broker_libvirt_seconds_total\{host="local",'
                    r'phase="run"\} ([0-9.]+)$', text, re.M)
    check(jobs and jobs > 0 and run and float(run.group(1)) > 0,
          "the libvirt jobs and their time are counted", (jobs, run))


def power(d, token, action):
    return d.api("POST", f"/api/v1/pools/office/desktops/test/{action}", token=token)


def desktop_power(d, token):
    """The test desktop's power state and running-since, as GET /pools says."""
    _, body, _ = d.api("GET", "/api/v1/pools", token=token)
    g = [x for x in body.get("desktops", []) if x["name"] == "test"]
    return (g[0].get("power"), g[0].get("up_since")) if g else None


def uptime(d, helper, s):
    """A desktop in use: its power state and since when it runs, from the
    start the broker saw, in its events and in the desktop list."""
    power(d, helper, "shutdown")
    check(wait_until(lambda: desktop_power(d, helper) == ("shutoff", None), 10),
          "the desktop list says it is shut off, with no uptime", desktop_power(d, helper))
    t_start = time.time()
    power(d, helper, "start")
    listed = wait_until(lambda: (lambda p: p if p and p[0] == "running" and p[1] else None)(
        desktop_power(d, helper)), 10)
    check(listed and int(t_start) - 1 <= listed[1] <= time.time() + 1,
          "once started, the desktop list says since when it runs: the start the broker saw",
          desktop_power(d, helper))
    def told():
        last = [v["domain"] for _, n, v in s.events
                if n == "domain" and v["domain"]["name"] == "test"]
        return last and listed and last[-1]["state"] == "running" and \
            last[-1].get("up_since") == listed[1]
    check(wait_until(told, 10), "and its last domain event says the same",
          [v for _, n, v in s.events if n == "domain"][-3:])


def refusals(d, demo):
    st, body, _ = d.api("GET", "/api/v1/events")
    check(st == 401, "no login: 401", (st, body))
    s = stream(d, demo)
    check(s.status == 403, "a user-role login: 403, no stream", (s.status, s.headers))
    s.close()


def changes(d, helper, demo):
    s = stream(d, helper)
    check(s.status == 200 and s.headers.get("content-type") == "text/event-stream",
          "a helpdesk login gets a text/event-stream", (s.status, s.headers))
    check(s.headers.get("cache-control") == "no-store",
          "not cached", s.headers)
    t0 = time.monotonic()
    st, body, _ = power(d, helper, "shutdown")
    check(st == 200, "the helpdesk shuts the desktop down", (st, body))
    e = wait_until(lambda: s.find(lambda n, v: n == "domain" and
                                v["domain"]["name"] == "test" and
                                v["domain"]["state"] == "shutoff"), 10)
    check(e, "its stream gets a domain event: test is shut off", s.events)
    if e:
        check(t0 * 1000 - 1000 <= e[2]["time"] <= e[0] * 1000 + 1000,
              "the event carries the time it was published, in ms", e)
        note(f"shutdown answered to event received: {e[0] - t0:.3f}s")
    st, body, _ = power(d, helper, "start")
    check(wait_until(lambda: s.find(lambda n, v: n == "domain" and
                                  v["domain"]["state"] == "running"), 10),
          "and a domain event when it runs again", s.events)
    d.api("POST", "/api/v1/desktops/office/connect?wait=1", token=demo)
    e = wait_until(lambda: s.find(lambda n, v: n == "session" and
                                v["session"]["user"] == "demo"), 10)
    check(e and e[2]["session"]["desktop"] == "test" and
          e[2]["session"]["pool"] == "office",
          "a user's connect is a session event naming user, pool and desktop",
          s.events)
    uptime(d, helper, s)
    timings(d)
    check(wait_until(lambda: s.comments >= 1, 5),
          "a heartbeat comment comes within events_heartbeat", s.comments)
    check(not s.find(lambda n, v: n == "gpu"), "no gpu event without GPU changes")
    time.sleep(3)
    check(not s.closed, "a stream outlives request_timeout (2s)")
    return s


def limits(d, helper, first):
    extra = [stream(d, helper) for _ in range(SUBSCRIBERS - 1)]
    check(all(x.status == 200 for x in extra),
          f"{SUBSCRIBERS} streams at once are served", [x.status for x in extra])
    over = stream(d, helper)
    check(over.status == 503 and "retry-after" in over.headers,
          "one over events_subscribers gets 503 and Retry-After",
          (over.status, over.headers))
    over.close()
    for x in extra:
        x.close()
    check(wait_until(lambda: metric(d, "paprika_broker_event_subscribers") == 1, 10),
          "streams whose clients left are closed: one subscriber again",
          metric(d, "paprika_broker_event_subscribers"))


def stalled(d, helper, live):
    """A subscriber that never reads, with a small receive buffer: the
    broker drops it; meanwhile every API request is answered and the live
    stream keeps getting events."""
    dropped0 = metric(d, 'paprika_broker_event_streams_total{result="dropped"}')
    n = len(live.events)
    slow = stream(d, helper, rcvbuf=4096, read=False)
    check(slow.status == 200, "the stalled subscriber's stream is served", slow.status)
    answered, failed = [0], []
    stop = threading.Event()

    def churn():
        i = 0
        while not stop.is_set():
            st, body, _ = power(d, helper, "shutdown" if i % 2 == 0 else "start")
            if st == 200:
                answered[0] += 1
            else:
                failed.append((st, body))
            i += 1

    workers = [threading.Thread(target=churn, daemon=True) for _ in range(3)]
    for w in workers:
        w.start()
    t0 = time.monotonic()
    gone = wait_until(lambda: metric(
        d, 'paprika_broker_event_streams_total{result="dropped"}') > dropped0, 240)
    note(f"the stalled subscriber was dropped after {time.monotonic() - t0:.1f}s, "
         f"{answered[0]} power actions answered meanwhile")
    check(gone, "a subscriber that never reads is dropped and counted in the metrics",
          d.broker_tail(10))
    t1 = time.time()
    st, body, _ = d.api("GET", "/api/v1/sessions", token=helper)
    note(f"GET /api/v1/sessions answered in {time.time() - t1:.3f}s")
    stop.set()
    for w in workers:
        w.join(60)
    check(answered[0] > 0 and not [f for f in failed if f[0] >= 500 and f[0] != 502],
          "the API answered every request while the stalled stream existed",
          (answered[0], failed[:3]))
    check(st == 200, "and answers after it was dropped", (st, body))
    check(len(live.events) > n + answered[0] // 2 and not live.closed,
          "the stream that reads got the events meanwhile", (n, len(live.events)))
    # The dropped stream ends: its reader finds the end of the connection.
    slow.sock.settimeout(30)
    ended = False
    try:
        while slow.sock.recv(65536):
            pass
        ended = True
    except OSError as e:
        ended = "reset" in str(e).lower() or isinstance(e, ConnectionError)
    check(ended, "the dropped stream's connection is closed")
    slow.close()
    check(re.search(r"events: 127\.0\.0\.1: dropped, too slow after \d+ events",
                    open(d.broker_log).read()),
          "the broker logs the drop", d.broker_tail(5))


def steps(d):
    d.make_pki()
    for user, groups in (("demo", "staff"), ("helper", "helpdesk")):
        d.add_user(user, f"{user}-password", groups)
    d.conf_text = d.test_driver_config(extra="") + (
        f"\n[limits]\nevents_subscribers = {SUBSCRIBERS}\n"
        f"events_queue = {QUEUE}\nevents_heartbeat = 1s\nrequest_timeout = 2s\n")
    d.start_broker()
    demo = d.login("demo", "demo-password")
    helper = d.login("helper", "helper-password")
    refusals(d, demo)
    live = changes(d, helper, demo)
    limits(d, helper, live)
    stalled(d, helper, live)
    live.close()


def main():
    work = make_workdir(tempfile.mkdtemp(prefix="paprika-events."))
    d = brokerdeploy.BrokerDeployment(work, top_srcdir, top_builddir, log=note, guests=1)
    return run_deployment(d, steps)


if __name__ == "__main__":
    sys.exit(paprikatest.run(main))
