/* SPDX-License-Identifier: ISC */
/*
 * The helpdesk console: every pool and desktop, live from the broker's
 * event stream (GET /api/v1/events), with power actions, a user lookup and
 * the audit search. Same origin, the portal's cookie, no inline script or
 * style (the CSP allows neither), text only through textContent.
 */
(function () {
  "use strict";

  var THUMB_MS = 20000;          /* a visible desktop's thumbnail refresh */
  var POOLS_MS = 500;            /* pool totals re-read after a change */
  var AUDIT_PAGE = 50;
  var GPUS_MS = 1000;            /* the inventory re-read after a GPU event */

  var me = null;
  var desktops = {};             /* "pool/name" -> desktop as the API has it */
  var power = {};                /* "host/name" -> libvirt state, from events */
  var upSince = {};              /* "host/name" -> running since (s), from events */
  var rebooted = {};             /* "host/name" -> when it last rebooted (s) */
  var REBOOT_THUMB_MS = 3000;    /* a rebooted guest's screen, drawn again */
  var pools = [];
  var rows = {};                 /* "pool/name" -> tr */
  var stream = null;
  var poolsTimer = null;
  var auditQuery = null;
  var lookedUp = null;
  var observer = null;
  var gpusTimer = null;

  function $(id) { return document.getElementById(id); }

  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") e.textContent = attrs[k];
      else if (k === "class") e.className = attrs[k];
      else e.setAttribute(k, attrs[k]);
    });
    (kids || []).forEach(function (c) { if (c) e.appendChild(c); });
    return e;
  }

  function show(node, on) { node.hidden = !on; }

  function say(node, msg) {
    node.textContent = msg || "";
    show(node, !!msg);
  }

  function api(method, path) {
    var opts = { method: method, credentials: "same-origin", headers: {} };
    if (method !== "GET") opts.headers["X-Paprika-Request"] = "1";
    return fetch(path, opts).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (b) {
        return { status: r.status, body: b };
      });
    });
  }

  function errorText(res) {
    var e = res.body && res.body.error;
    return e && e.message ? e.message : "the broker answered " + res.status;
  }

  /* Times in the viewer's own zone. */
  function fmtTime(secs) {
    return secs ? new Date(secs * 1000).toLocaleString() : "";
  }

  function fmtAge(secs) {
    if (!secs) return "";
    var s = Math.max(0, Math.floor(Date.now() / 1000 - secs));
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min";
    return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
  }

  function isAdmin() { return me && me.roles.indexOf("admin") >= 0; }

  /* --- confirmation ----------------------------------------------------- */

  function confirmThen(text, action) {
    var d = $("confirm");
    $("confirm-text").textContent = text;
    d.returnValue = "";
    d.onclose = function () { if (d.returnValue === "ok") action(); };
    d.showModal();
    $("confirm-cancel").focus();
  }

  /* --- the board -------------------------------------------------------- */

  function keyOf(pool, name) { return pool + "/" + name; }

  function liveSession(d) {
    var s = d.session;
    return s && s.state !== "ended" ? s : null;
  }

  function stateText(d) {
    var s = liveSession(d);
    return s ? d.state + " · " + s.state : d.state;
  }

  function userOf(d) {
    var s = liveSession(d);
    return (s && s.user) || d.user || "";
  }

  function thumbUrl(d) {
    return "/api/v1/pools/" + encodeURIComponent(d.pool) + "/desktops/" +
      encodeURIComponent(d.name) + "/screenshot?t=" + Date.now();
  }

  function refreshThumb(img) {
    var d = desktops[img.dataset.key];
    if (!d || img.dataset.visible !== "1") return;
    img.src = thumbUrl(d);
  }

  function watchThumb(img) {
    if (!observer) {
      observer = new IntersectionObserver(function (entries) {
        entries.forEach(function (e) {
          var img = e.target;
          img.dataset.visible = e.isIntersecting ? "1" : "0";
          clearInterval(img.timer);
          img.timer = null;
          if (e.isIntersecting) {
            refreshThumb(img);
            img.timer = setInterval(function () { refreshThumb(img); }, THUMB_MS);
          }
        });
      });
    }
    observer.observe(img);
  }

  function actionButton(d, action, label) {
    var b = el("button", { type: "button", class: action === "start" ? "secondary" : "danger",
                           text: label, "aria-label": label + " " + d.name });
    b.addEventListener("click", function () {
      var user = userOf(desktops[keyOf(d.pool, d.name)] || d);
      var who = user ? user + " is using it and will be affected."
                     : "Nobody is using it now.";
      confirmThen(label + " desktop " + d.name + " of pool " + d.pool + "? " + who, function () {
        var path = "/api/v1/pools/" + encodeURIComponent(d.pool) + "/desktops/" +
          encodeURIComponent(d.name) + "/" + action;
        say($("hd-error"), "");
        api("POST", path).then(function (res) {
          if (res.status !== 200) say($("hd-error"), label + " " + d.name + ": " + errorText(res));
        }, function () { say($("hd-error"), "Cannot reach the broker."); });
      });
    });
    return b;
  }

  /* Admins: a broken guest is cleaned again, then lent again. */
  function repairButton(d) {
    var b = el("button", { type: "button", class: "danger repair", text: "Repair",
                           "aria-label": "Repair " + d.name });
    b.addEventListener("click", function () {
      var cur = desktops[keyOf(d.pool, d.name)] || d;
      confirmThen("Repair desktop " + d.name + " of pool " + d.pool + "? It is broken: " +
                  (cur.error || "no reason recorded") + ". It will be cleaned again (reverted " +
                  "to the pool's snapshot, or re-created), then lent to the next user.",
                  function () {
        say($("hd-error"), "");
        api("POST", "/api/v1/pools/" + encodeURIComponent(d.pool) + "/desktops/" +
            encodeURIComponent(d.name) + "/repair").then(function (res) {
          if (res.status !== 202) say($("hd-error"), "Repair " + d.name + ": " + errorText(res));
        }, function () { say($("hd-error"), "Cannot reach the broker."); });
      });
    });
    return b;
  }

  function fillRow(tr, d) {
    var s = liveSession(d);
    var since = s ? (s.connected_at || s.created) : 0;
    var k = keyOf(d.host, d.name);
    var p = power[k] || d.power;
    var up = k in upSince ? upSince[k] : d.up_since;
    var cells = tr.cells;
    cells[1].textContent = d.name;
    cells[2].textContent = stateText(d);
    cells[2].className = "state " + (s ? s.state : d.state);
    var rb = rebooted[k];
    cells[3].textContent = (p || "") + (up ? " · up " + fmtAge(up) : "") +
      (rb ? " · rebooted " + fmtTime(rb) : "");
    cells[3].title = up ? "running since " + fmtTime(up) : "";
    cells[4].textContent = userOf(d);
    cells[5].textContent = d.host;
    cells[6].textContent = fmtAge(since);
    cells[6].title = since ? fmtTime(since) : "";
    tr.dataset.state = s ? s.state : d.state;
    tr.dataset.power = p || "";
    if (rb) tr.dataset.rebooted = String(rb);
    cells[2].title = d.error || "";
    var rp = tr.querySelector("button.repair");
    if (rp) rp.hidden = d.state !== "broken";
  }

  function makeRow(d) {
    var img = el("img", { class: "thumb", alt: "Screen of " + d.name, "data-key": keyOf(d.pool, d.name) });
    img.addEventListener("error", function () { img.removeAttribute("src"); });
    var acts = el("td", { class: "acts" }, [
      actionButton(d, "reset", "Reset"), actionButton(d, "reboot", "Reboot"),
      actionButton(d, "shutdown", "Shut down"), actionButton(d, "start", "Start"),
      isAdmin() ? repairButton(d) : null]);
    var tr = el("tr", { "data-key": keyOf(d.pool, d.name) }, [
      el("td", {}, [img]), el("th", { scope: "row" }), el("td", { class: "state" }),
      el("td", { class: "power" }), el("td", { class: "user" }), el("td"), el("td"), acts]);
    watchThumb(img);
    return tr;
  }

  function poolUse(p) {
    var parts = [p.kind, "capacity " + p.capacity, p.free + " free", p.assigned + " assigned",
                 p.spare + " spare" + (p.spares_wanted ? " of " + p.spares_wanted : ""),
                 p.cleaning + " cleaning", p.creating + " creating", p.broken + " broken",
                 "sessions: " + p.sessions];
    if (p.gpu) parts.push(p.gpus_in_use + " GPUs in use");
    return parts.join(" · ");
  }

  function renderBoard() {
    var box = $("pools");
    box.textContent = "";
    rows = {};
    pools.forEach(function (p) {
      var tbody = el("tbody");
      var table = el("table", { class: "grid", id: "pool-" + p.name }, [
        el("caption", { class: "sr-only", text: "Desktops of pool " + p.name }),
        el("thead", {}, [el("tr", {}, ["Screen", "Desktop", "State", "Power", "User", "Host",
                                       "Session", "Actions"].map(function (h) {
          return el("th", { scope: "col", text: h });
        }))]), tbody]);
      var use = el("p", { class: "use", id: "use-" + p.name, text: poolUse(p) });
      box.appendChild(el("div", { class: "pool" }, [
        el("h3", { text: (p.title || p.name) + " (" + p.name + ")" }), use, table]));
      Object.keys(desktops).sort().forEach(function (k) {
        var d = desktops[k];
        if (d.pool !== p.name) return;
        var tr = makeRow(d);
        fillRow(tr, d);
        rows[k] = tr;
        tbody.appendChild(tr);
      });
    });
  }

  function updateDesktop(d) {
    var k = keyOf(d.pool, d.name);
    if (d.state === "removed") {
      delete desktops[k];
      if (rows[k]) { rows[k].remove(); delete rows[k]; }
      return;
    }
    desktops[k] = d;
    if (rows[k]) { fillRow(rows[k], d); return; }
    var t = $("pool-" + d.pool);
    if (!t) return;
    var tr = makeRow(d);
    fillRow(tr, d);
    rows[k] = tr;
    t.tBodies[0].appendChild(tr);
  }

  function loadPools() {
    poolsTimer = null;
    return api("GET", "/api/v1/pools").then(function (res) {
      if (res.status !== 200) { say($("hd-error"), errorText(res)); return; }
      pools = res.body.pools || [];
      if (!$("pools").firstChild || pools.length !== $("pools").children.length) {
        desktops = {};
        (res.body.desktops || []).forEach(function (d) { desktops[keyOf(d.pool, d.name)] = d; });
        renderBoard();
        return;
      }
      (res.body.desktops || []).forEach(updateDesktop);
      pools.forEach(function (p) {
        var u = $("use-" + p.name);
        if (u) u.textContent = poolUse(p);
      });
    });
  }

  function poolsLater() {
    if (!poolsTimer) poolsTimer = setTimeout(loadPools, POOLS_MS);
  }

  /* --- the live stream -------------------------------------------------- */

  function live(text, cls) {
    var l = $("live");
    l.textContent = text;
    l.className = "live " + cls;
  }

  function onEvent(ev) {
    var data;
    try { data = JSON.parse(ev.data); } catch (e) { return; }
    if (data.type === "desktop") {
      updateDesktop(data.desktop);
      poolsLater();
    } else if (data.type === "session") {
      var s = data.session, k = keyOf(s.pool, s.desktop), d = desktops[k];
      if (d) {
        d.session = s;
        if (rows[k]) fillRow(rows[k], d);
      }
      poolsLater();
    } else if (data.type === "domain") {
      var dm = data.domain;
      power[keyOf(dm.host, dm.name)] = dm.state;
      upSince[keyOf(dm.host, dm.name)] = dm.up_since || 0;
      if (dm.rebooted) rebooted[keyOf(dm.host, dm.name)] = Math.floor(data.time / 1000);
      Object.keys(desktops).forEach(function (key) {
        var x = desktops[key];
        if (x.host !== dm.host || x.name !== dm.name || !rows[key]) return;
        fillRow(rows[key], x);
        /* The screen as it boots, then once it has had time to draw. */
        var img = rows[key].querySelector("img.thumb");
        if (dm.rebooted && img) {
          refreshThumb(img);
          setTimeout(function () { refreshThumb(img); }, REBOOT_THUMB_MS);
        }
      });
    }
    /* A start that fails on a GPU quarantines it: no gpu event says so. */
    if (data.type === "gpu" || (data.type === "session" &&
        (data.session.gpus || data.session.state === "failed"))) {
      if (isAdmin()) gpusLater();
    }
    if (lookedUp) lookup(lookedUp, true);
  }

  function startStream() {
    stream = new EventSource("/api/v1/events");
    stream.onopen = function () {
      live("Live", "on");
      loadPools();       /* what changed while the stream was away */
    };
    stream.onerror = function () { live("Reconnecting…", "off"); };
    ["desktop", "session", "domain", "gpu"].forEach(function (t) {
      stream.addEventListener(t, onEvent);
    });
  }

  /* --- user lookup ------------------------------------------------------ */

  function lookup(name, quiet) {
    api("GET", "/api/v1/users/" + encodeURIComponent(name)).then(function (res) {
      if (res.status !== 200) { if (!quiet) say($("hd-error"), errorText(res)); return; }
      var u = res.body, t = u.throttle;
      lookedUp = u.user;
      say($("hd-error"), "");
      $("lookup-user").textContent = u.user;
      $("lookup-throttle").textContent = t.locked ? "Locked out after " + t.failures +
        " failed logins: " + t.wait + " s left." : t.failures ? t.failures +
        " recent failed logins; next attempt in " + t.wait + " s." : "Not locked out.";
      $("lookup-throttle").className = t.locked ? "error" : "";
      $("lookup-unlock").disabled = !t.failures;
      var ul = $("lookup-sessions");
      ul.textContent = "";
      u.sessions.forEach(function (s) {
        ul.appendChild(el("li", { text: s.pool + "/" + s.desktop + ": " + s.state + " since " +
          fmtTime(s.created) + (s.source ? " from " + s.source : "") }));
      });
      if (!u.sessions.length) ul.appendChild(el("li", { text: "none" }));
      ul = $("lookup-desktops");
      ul.textContent = "";
      u.desktops.forEach(function (d) {
        ul.appendChild(el("li", { text: d.pool + "/" + d.name + " on " + d.host + ": " + d.state }));
      });
      if (!u.desktops.length) ul.appendChild(el("li", { text: "none" }));
      var tb = $("lookup-logins").tBodies[0];
      tb.textContent = "";
      u.logins.forEach(function (r) {
        tb.appendChild(el("tr", {}, [el("td", { text: fmtTime(r.time) }),
          el("td", { text: r.result, class: "state " + r.result }),
          el("td", { text: r.source }), el("td", { text: r.detail })]));
      });
      show($("lookup"), true);
    }, function () { say($("hd-error"), "Cannot reach the broker."); });
  }

  function userAction(path, label) {
    var name = lookedUp;
    confirmThen(label + " " + name + "?", function () {
      api("POST", "/api/v1/users/" + encodeURIComponent(name) + path).then(function (res) {
        if (res.status !== 200) say($("hd-error"), label + ": " + errorText(res));
        lookup(name);
      });
    });
  }

  /* --- audit ------------------------------------------------------------ */

  function localSecs(v) {
    var t = v ? new Date(v).getTime() : NaN;   /* datetime-local: the viewer's zone */
    return isNaN(t) ? null : Math.floor(t / 1000);
  }

  function auditFilters() {
    var q = new URLSearchParams();
    [["user", "a-user"], ["action", "a-action"], ["target", "a-target"], ["result", "a-result"]]
      .forEach(function (f) { var v = $(f[1]).value.trim(); if (v) q.set(f[0], v); });
    var since = localSecs($("a-since").value), until = localSecs($("a-until").value);
    if (since !== null) q.set("since", String(since));
    if (until !== null) q.set("until", String(until));
    return q;
  }

  function auditPage(before) {
    var q = new URLSearchParams(auditQuery);
    q.set("limit", String(AUDIT_PAGE));
    if (before) q.set("before", String(before));
    api("GET", "/api/v1/audit?" + q.toString()).then(function (res) {
      if (res.status !== 200) { say($("hd-error"), errorText(res)); return; }
      var tb = $("audit-results").tBodies[0];
      if (!before) tb.textContent = "";
      res.body.audit.forEach(function (r) {
        tb.appendChild(el("tr", { "data-id": r.id }, [el("td", { text: fmtTime(r.time) }),
          el("td", { text: r.actor }), el("td", { text: r.source }), el("td", { text: r.action }),
          el("td", { text: r.target }), el("td", { text: r.result, class: "state " + r.result }),
          el("td", { text: r.detail })]));
      });
      var more = $("audit-more");
      more.dataset.before = res.body.next_before || "";
      show(more, !!res.body.next_before);
    });
  }

  function onAudit(ev) {
    ev.preventDefault();
    auditQuery = auditFilters().toString();
    if (isAdmin()) {
      $("export-csv").href = "/api/v1/audit/export?format=csv&" + auditQuery;
      $("export-jsonl").href = "/api/v1/audit/export?format=jsonl&" + auditQuery;
      show($("audit-export"), true);
    }
    auditPage(0);
  }

  /* --- GPUs (admins) ---------------------------------------------------- */

  function gpuDetail(g) {
    if (g.verdict === "allocated") return "given to " + (g.allocated_to || "");
    if (g.used_by) return (g.reason || "") + (g.reason ? " " : "") + "(" + g.used_by + ")";
    return g.reason || "";
  }

  function clearButton(host, g) {
    var label = "Clear quarantine of " + g.address + " on " + host;
    var b = el("button", { type: "button", class: "danger", text: "Clear",
                           "aria-label": label });
    b.addEventListener("click", function () {
      confirmThen("Put GPU " + g.address + " on host " + host + " back in service? It was " +
                  "quarantined because: " + (g.reason || "a start failed").replace(/^quarantined: /, "") +
                  ".", function () {
        say($("hd-error"), "");
        api("POST", "/api/v1/gpus/" + encodeURIComponent(host) + "/" +
            encodeURIComponent(g.address) + "/clear").then(function (res) {
          if (res.status !== 200) say($("hd-error"), "Clear " + g.address + ": " + errorText(res));
          loadGpus();
        }, function () { say($("hd-error"), "Cannot reach the broker."); });
      });
    });
    return b;
  }

  function renderGpus(hosts) {
    var box = $("gpus"), n = { allocated: 0, quarantined: 0, all: 0 };
    box.textContent = "";
    hosts.forEach(function (h) {
      var title = h.name + (h.up ? (h.iommu ? "" : " · IOMMU off") : " · down: " + (h.error || ""));
      var tbody = el("tbody");
      (h.gpus || []).forEach(function (g) {
        n.all++;
        if (g.verdict in n) n[g.verdict]++;
        if (g.verdict === "missing") n.quarantined++;
        tbody.appendChild(el("tr", { "data-gpu": h.name + "/" + g.address, "data-verdict": g.verdict }, [
          el("th", { scope: "row", text: g.address }),
          el("td", { text: [g.vendor, g.product].filter(Boolean).join(" ") }),
          el("td", { text: g.driver || "" }),
          el("td", { text: g.iommu_group === undefined ? "" : String(g.iommu_group) }),
          el("td", { class: "state " + g.verdict, text: g.verdict }),
          el("td", { class: "detail", text: gpuDetail(g) }),
          // A missing GPU is a quarantined one its host no longer has.
          el("td", { class: "acts" }, [g.verdict === "quarantined" || g.verdict === "missing" ?
                                       clearButton(h.name, g) : null])]));
      });
      box.appendChild(el("div", { class: "pool" }, [
        el("h3", { text: title }),
        el("table", { class: "grid", id: "gpus-" + h.name }, [
          el("caption", { class: "sr-only", text: "GPUs of host " + h.name }),
          el("thead", {}, [el("tr", {}, ["Device", "Model", "Driver", "IOMMU group", "Verdict",
                                         "Detail", "Action"].map(function (t) {
            return el("th", { scope: "col", text: t });
          }))]), tbody])]));
    });
    $("gpus-summary").textContent = n.all + " GPUs: " + n.allocated + " allocated, " +
      n.quarantined + " quarantined.";
  }

  function loadGpus() {
    gpusTimer = null;
    return api("GET", "/api/v1/gpus").then(function (res) {
      if (res.status !== 200) { say($("hd-error"), "GPUs: " + errorText(res)); return; }
      renderGpus(res.body.hosts || []);
    }, function () { say($("hd-error"), "Cannot reach the broker."); });
  }

  function gpusLater() {
    if (!gpusTimer) gpusTimer = setTimeout(loadGpus, GPUS_MS);
  }

  /* --- start ------------------------------------------------------------ */

  function start() {
    api("GET", "/api/v1/me").then(function (res) {
      show($("hd-loading"), false);
      if (res.status === 401) { show($("hd-signin"), true); live("", ""); return; }
      if (res.status !== 200) { say($("hd-error"), errorText(res)); return; }
      me = { user: res.body.user, roles: res.body.roles || [] };
      if (me.roles.indexOf("helpdesk") < 0) {
        show($("hd-forbidden"), true);
        live("", "");
        return;
      }
      show($("hd-nav"), true);
      show($("hd-app"), true);
      if (isAdmin()) {
        show($("nav-gpus"), true);
        show($("gpus-section"), true);
        loadGpus();
      }
      startStream();
    }, function () { say($("hd-error"), "Cannot reach the broker."); });
    $("lookup-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var n = $("lookup-name").value.trim();
      if (n) lookup(n);
    });
    $("lookup-unlock").addEventListener("click", function () { userAction("/unlock", "Unlock"); });
    $("lookup-logout").addEventListener("click", function () {
      userAction("/logout", "End every login and session of");
    });
    $("audit-form").addEventListener("submit", onAudit);
    $("gpus-reload").addEventListener("click", loadGpus);
    $("audit-more").addEventListener("click", function () {
      auditPage($("audit-more").dataset.before);
    });
    setInterval(function () {      /* session ages */
      Object.keys(rows).forEach(function (k) { if (desktops[k]) fillRow(rows[k], desktops[k]); });
    }, 30000);
  }

  start();
}());
