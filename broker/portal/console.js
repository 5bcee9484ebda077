/* SPDX-License-Identifier: ISC */
/*
 * The browser console: one desktop in this window, through the gateway's
 * WebSocket listener, drawn by spice-html5 (served by the broker under
 * /spice-html5/). The page asks the broker for the connection itself, with
 * the portal's cookie and anti-CSRF header, so the SPICE password and the
 * gateway ticket stay in this page's memory: never in a URL, a history
 * entry or storage. console.html?desktop=POOL is all the address holds.
 */
import { SpiceMainConn, sendCtrlAltDel } from "/spice-html5/main.js";

const WAIT = 2;           /* seconds each connect may wait for the desktop */
const WS_GOING_AWAY = 1001;
const WS_BAD_GATEWAY = 1014;

const $ = (id) => document.getElementById(id);
const desktop = new URLSearchParams(location.search).get("desktop") || "";
let title = desktop;
let sc = null;            /* the SpiceMainConn while one is open */
let attempt = 0;          /* which connection the callbacks belong to */
let endedOnce = false;
let watch = null;         /* the timer watching the channels' WebSockets */
let ticketRetries = 0;    /* automatic reconnects after a refused ticket */
const TICKET_RETRIES = 2;
const CHANNELS = ["display", "inputs", "cursor"];

function state(msg) { $("state").textContent = msg; }

function api(method, path) {
  const opts = { method: method, credentials: "same-origin", headers: {} };
  if (method !== "GET") opts.headers["X-Paprika-Request"] = "1";
  return fetch(path, opts).then((r) =>
    r.json().catch(() => ({})).then((b) => ({ status: r.status, body: b })));
}

function errorText(res) {
  const e = res.body && res.body.error;
  return (e && e.message) || "the broker answered " + res.status;
}

function buttons(connected) {
  $("cad").disabled = !connected;
  $("disconnect").disabled = !connected;
}

function showEnded(why) {
  buttons(false);
  state("Disconnected");
  $("ended-why").textContent = why;
  $("screen").hidden = true;
  $("ended").hidden = false;
  $("reconnect").focus();
}

/* Drops the SPICE connection, its channels' WebSockets with it. */
function drop() {
  attempt++;
  clearInterval(watch);
  watch = null;
  if (sc) {
    try { sc.stop(); } catch (e) { /* already closed */ }
    sc = null;
  }
}

/*
 * Why the gateway closed, in the user's words. The gateway says why in its
 * close frame: 1014 when it would not connect to the desktop (its SPICE TLS
 * was not what the gateway expects), 1001 when the session was killed or
 * revoked. For the latter the broker knows who: the login is over (a
 * logout), the session ended, or the helpdesk disconnected it.
 */
async function explain(code, reason, wasOpen) {
  if (code === WS_BAD_GATEWAY)
    return "The gateway refused to connect to this desktop: " + reason + ".";
  /* The channels may close before the gateway says why (QEMU drops the
   * client too): whatever the code, the broker knows best. */
  const lost = code !== WS_GOING_AWAY ? (wasOpen ?
    "The connection to the gateway was lost." :
    "The gateway could not be reached, or it refused the connection.") :
    "The gateway closed the connection (" + reason + ").";
  let res;
  try {
    res = await api("GET", "/api/v1/desktops");
  } catch (e) {
    return lost;
  }
  if (res.status === 401)
    return "Your login has ended (you logged out), so the desktop was disconnected.";
  const d = (res.body.desktops || []).find((x) => x.id === desktop);
  if (!d || !d.session)
    return "Your session on " + title + " has ended.";
  if (d.session.state === "disconnected")
    return "The helpdesk disconnected this session.";
  return lost;
}

/* The first ending of a connection: its close frame, then its words. */
function ended(mine, info) {
  if (mine !== attempt || endedOnce)
    return;
  endedOnce = true;
  /*
   * spice-html5 0.3 does not pad its RSA-encrypted ticket to the key's
   * length, so QEMU refuses about one ticket in 256 (each channel sends
   * one). A fresh connection encrypts anew: try again, quietly, twice.
   */
  if (info.ticket && ticketRetries < TICKET_RETRIES) {
    ticketRetries++;
    connect();
    return;
  }
  const why = explain(info.code, info.reason, info.wasOpen);
  drop();
  why.then(showEnded);
}

function open(conn) {
  const mine = ++attempt;
  const info = { code: 0, reason: "", wasOpen: false };
  endedOnce = false;
  $("screen").textContent = "";
  $("screen").hidden = false;
  $("ended").hidden = true;
  state("Connecting to the desktop…");
  try {
    sc = new SpiceMainConn({
      uri: conn.browser.url, password: conn.password,
      screen_id: "screen", message_id: "spice-log",
      onsuccess: () => {
        if (mine !== attempt) return;
        info.wasOpen = true;
        buttons(true);
        state("Connected");
      },
      /* spice-html5's own words come before the close event's code: wait
       * for it (the same event's next listener, so the next task). */
      onerror: (e) => {
        if (e && e.message === "Bad password.") info.ticket = true;
        setTimeout(() => ended(mine, info), 0);
      },
    });
  } catch (e) {
    showEnded("The browser could not open the connection: " + e.message);
    return;
  }
  const closed = (ch, e) => {
    /* QEMU answered the ticket with an error, or closed before it did. */
    if (ch.state === "ticket" || (ch.auth_reply && ch.auth_reply.auth_code !== 0))
      info.ticket = true;
    if (!info.code) {
      info.code = e.code;
      info.reason = e.reason || "no reason given";
    }
    setTimeout(() => ended(mine, info), 0);
  };
  const main = sc;
  main.ws.addEventListener("close", (e) => closed(main, e));
  /* The other channels report no errors of their own: watch their
   * WebSockets, so that one that closes ends the console too. */
  const hooked = new Set();
  watch = setInterval(() => {
    CHANNELS.forEach((name) => {
      const ch = main[name];
      if (!ch || !ch.ws || hooked.has(ch)) return;
      hooked.add(ch);
      if (ch.ws.readyState === WebSocket.CLOSED && ch.state !== "closing")
        closed(ch, { code: 1006, reason: "" });
      ch.ws.addEventListener("close", (e) => {
        if (ch.state !== "closing") closed(ch, e);
      });
    });
  }, 100);
}

/* Asks the broker for a connection, waiting while the desktop starts. */
async function connect() {
  drop();
  buttons(false);
  $("ended").hidden = true;
  state("Requesting your desktop…");
  const path = "/api/v1/desktops/" + encodeURIComponent(desktop) + "/connect";
  let wait = 0;
  for (;;) {
    let res;
    try {
      res = await api("POST", path + "?wait=" + wait);
    } catch (e) {
      showEnded("Cannot reach the broker.");
      return;
    }
    wait = WAIT;
    if (res.status === 202) {
      state("Starting: " + (res.body.step || "starting") + "… " +
            (res.body.progress || 0) + "%");
      continue;
    }
    if (res.status === 401) {
      showEnded("You are not signed in. Sign in on the portal, then reconnect.");
      return;
    }
    if (res.status !== 200) {
      showEnded("The desktop could not be connected: " + errorText(res) + ".");
      return;
    }
    if (res.body.title) {
      title = res.body.title;
      $("title").textContent = title;
      document.title = title + " – Paprika";
    }
    if (!res.body.browser || !res.body.browser.url) {
      showEnded("This desktop cannot be opened in a browser: use Download .vv on the portal.");
      return;
    }
    open(res.body);
    return;
  }
}

$("cad").addEventListener("click", () => {
  if (sc) sendCtrlAltDel(sc);
  const c = document.querySelector("#screen canvas");
  if (c) c.focus();
});
$("disconnect").addEventListener("click", () => {
  drop();
  showEnded("You disconnected. Your desktop keeps running until your session ends.");
});
$("reconnect").addEventListener("click", () => { ticketRetries = 0; connect(); });
/* Keys go to the desktop when its canvas has the focus. */
$("screen").addEventListener("click", () => {
  const c = document.querySelector("#screen canvas");
  if (c) c.focus();
});
$("title").textContent = title || "Desktop";
if (!desktop)
  showEnded("No desktop named: open the console from the portal's desktop list.");
else
  connect();
