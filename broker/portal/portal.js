/* SPDX-License-Identifier: ISC */
/*
 * The Paprika office portal: log in, see your desktops, connect (which
 * downloads a console.vv for remote-viewer), end sessions; the helpdesk
 * also sees every live session and the audit log. Plain DOM, the broker's
 * JSON API (docs/broker-api.md) with its cookie, nothing external.
 */
"use strict";

(function () {
  var REFRESH_MS = 4000;
  var me = null;           /* {user, roles} while logged in */
  var timer = null;
  var connecting = {};     /* pool id -> {progress, step} while Connect polls */
  var cardErrors = {};     /* pool id -> message of the last failed action */
  var cardNotes = {};      /* pool id -> message of the last action that worked */
  var resetting = {};      /* pool id -> true while a reset is under way */
  var shown = {};          /* what each list last rendered, to spare the DOM */

  function $(id) { return document.getElementById(id); }

  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") e.textContent = attrs[k];
      else if (k === "class") e.className = attrs[k];
      else if (k === "onclick") e.addEventListener("click", attrs[k]);
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


  /* One API call: {status, body, headers}; non-GET calls carry the header
   * the broker wants with cookie logins. Throws on a network failure. */
  function api(method, path, body) {
    var opts = { method: method, credentials: "same-origin", headers: {} };
    if (method !== "GET") opts.headers["X-Paprika-Request"] = "1";
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(path, opts).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (b) {
        return { status: r.status, body: b, headers: r.headers };
      });
    });
  }

  function errorText(res) {
    var e = res.body && res.body.error;
    var msg = (e && e.message) || "The broker answered " + res.status + ".";
    return msg.charAt(0).toUpperCase() + msg.slice(1);
  }

  /* An API failure while logged in; a 401 means the login is over. */
  function failed(res) {
    if (res.status === 401) {
      loggedOut("Your login has ended. Please sign in again.");
      return true;
    }
    return false;
  }

  function netError() { say($("app-error"), "Cannot reach the broker. Retrying…"); }

  function fmtTime(t) {
    if (!t) return "–";
    var d = new Date(t * 1000), now = new Date();
    return d.toDateString() === now.toDateString() ? d.toLocaleTimeString() : d.toLocaleString();
  }

  /* --- login ------------------------------------------------------------ */

  function loggedOut(msg) {
    me = null;
    clearInterval(timer);
    timer = null;
    connecting = {};
    cardErrors = {};
    cardNotes = {};
    resetting = {};
    shown = {};
    $("desktops").textContent = "";
    $("sessions").tBodies[0].textContent = "";
    $("audit").tBodies[0].textContent = "";
    show($("app"), false);
    show($("who"), false);
    show($("enrol"), false);
    show($("loading"), false);
    show($("login"), true);
    say($("login-error"), msg);
    $("password").value = "";
    $("totp").value = "";
    show($("totp-field"), false);
    $("username").focus();
  }

  function loggedIn(who) {
    me = { user: who.user, roles: who.roles || [] };
    $("user-name").textContent = me.user;
    show($("loading"), false);
    show($("login"), false);
    show($("who"), true);
    if (who.totp_enrol) { enrolView(true); return; }
    show($("enrol"), false);
    offerTotp();
    show($("app"), true);
    say($("notice"), "");
    say($("app-error"), "");
    show($("helpdesk"), isHelpdesk());
    refresh();
    timer = setInterval(refresh, REFRESH_MS);
  }

  function isHelpdesk() { return me && me.roles.indexOf("helpdesk") >= 0; }

  function onLogin(ev) {
    ev.preventDefault();
    var user = $("username").value.trim(), pw = $("password").value;
    if (!user || !pw) {
      say($("login-error"), "Enter your user name and your password.");
      return;
    }
    var button = $("login-button"), body = { username: user, password: pw };
    var code = $("totp").value.trim();
    if (!$("totp-field").hidden && code) body.totp = code;
    button.disabled = true;
    say($("login-error"), "");
    api("POST", "/api/v1/login", body).then(function (res) {
      $("totp").value = "";
      if (res.status === 200) {
        $("password").value = "";
        show($("totp-field"), false);
        loggedIn(res.body);
        return;
      }
      var err = res.body && res.body.error;
      if (res.status === 401 && err && err.code === "totp_required") {
        /* The password was right: ask for the code, keep the rest. */
        show($("totp-field"), true);
        say($("login-error"), "Enter the code your authenticator app shows.");
        $("totp").focus();
        return;
      }
      show($("totp-field"), false);
      var msg = errorText(res);
      var wait = res.headers.get("Retry-After");
      if (res.status === 429 && wait && msg.indexOf(wait) < 0)
        msg += " Try again in " + wait + " seconds.";
      say($("login-error"), msg);
      $("password").select();
    }, function () {
      say($("login-error"), "Cannot reach the broker. Check your network and try again.");
    }).then(function () { button.disabled = false; });
  }

  function onLogout() {
    api("POST", "/api/v1/logout").catch(function () {}).then(function () {
      loggedOut("");
    });
  }

  /* --- second factor ------------------------------------------------------- */

  /* Offers enrolment to a user who may have a second factor and has none. */
  function offerTotp() {
    api("GET", "/api/v1/totp").then(function (res) {
      show($("totp-offer"), res.status === 200 && !res.body.enrolled);
    }, function () {});
  }

  /* The enrolment panel; required: the login may do nothing else yet. */
  function enrolView(required) {
    clearInterval(timer);
    timer = null;
    show($("app"), false);
    show($("totp-offer"), false);
    show($("enrol"), true);
    show($("enrol-start"), true);
    show($("enrol-scan"), false);
    show($("enrol-done"), false);
    say($("enrol-error"), "");
    $("enrol-why").textContent = required ?
      "Your account needs a second factor: a code from an app on your phone, asked at each sign-in. Set it up to continue." :
      "Sign in with a code from an app on your phone as well as your password.";
  }

  function enrolStart() {
    say($("enrol-error"), "");
    api("POST", "/api/v1/totp/enroll").then(function (res) {
      if (failed(res)) return;
      if (res.status !== 200) { say($("enrol-error"), errorText(res)); return; }
      var m = /[?&]secret=([A-Z2-7]+)/.exec(res.body.uri || "");
      $("enrol-secret").textContent = m ? m[1].replace(/(.{4})/g, "$1 ").trim() : "";
      $("enrol-qr").src = res.body.qr + "?t=" + Date.now();
      show($("enrol-start"), false);
      show($("enrol-scan"), true);
      $("enrol-code").value = "";
      $("enrol-code").focus();
    }, function () { say($("enrol-error"), "Cannot reach the broker. Try again."); });
  }

  function enrolConfirm(ev) {
    ev.preventDefault();
    var code = $("enrol-code").value.replace(/\s/g, "");
    if (!/^[0-9]{6}$/.test(code)) { say($("enrol-error"), "Enter the 6 digits the app shows."); return; }
    $("enrol-button").disabled = true;
    api("POST", "/api/v1/totp/confirm", { code: code }).then(function (res) {
      if (failed(res)) return;
      if (res.status !== 200) { say($("enrol-error"), errorText(res)); return; }
      say($("enrol-error"), "");
      $("enrol-qr").removeAttribute("src");
      $("enrol-secret").textContent = "";
      var ul = $("recovery-codes");
      ul.textContent = "";
      (res.body.recovery_codes || []).forEach(function (c) { ul.appendChild(el("li", { text: c })); });
      show($("enrol-scan"), false);
      show($("enrol-done"), true);
    }, function () {
      say($("enrol-error"), "Cannot reach the broker. Try again.");
    }).then(function () { $("enrol-button").disabled = false; });
  }

  function enrolContinue() {
    $("recovery-codes").textContent = "";
    loggedIn(me);
  }

  /* --- desktops ---------------------------------------------------------- */

  function refresh() {
    if (!me) return;
    api("GET", "/api/v1/desktops").then(function (res) {
      if (!me || failed(res)) return;
      if (res.status === 403 && res.body.error && res.body.error.code === "totp_enrol_required") {
        enrolView(true);
        return;
      }
      if (res.status !== 200) { say($("app-error"), errorText(res)); return; }
      say($("app-error"), "");
      renderDesktops(res.body.desktops || []);
    }, netError);
    if (isHelpdesk()) { loadSessions(); loadAudit(); }
  }

  function renderDesktops(list) {
    var key = JSON.stringify([list, connecting, cardErrors, cardNotes, resetting]);
    if (shown.desktops === key) return;
    shown.desktops = key;
    show($("no-desktops"), list.length === 0);
    show($("vv-hint"), list.length > 0);
    var ul = $("desktops");
    var focused = document.activeElement && document.activeElement.id;
    ul.textContent = "";
    list.forEach(function (d) { ul.appendChild(card(d)); });
    if (focused && $(focused)) $(focused).focus();
  }

  function card(d) {
    var s = d.session, c = connecting[d.id];
    var state = c && !s ? "starting" : d.state;
    var progress = c || (s && s.state === "starting" ? s : null);
    var titleId = "title-" + d.id;
    var li = el("li", { class: "card", "data-id": d.id, "data-state": state,
                        "aria-labelledby": titleId }, [
      el("div", { class: "card-head" }, [
        el("h3", { id: titleId, text: d.title || d.id }),
        el("span", { class: "badge state-" + state, text: state })
      ])
    ]);
    if (d.reason) li.appendChild(el("p", { class: "muted small", text: d.reason }));
    if (progress) {
      var pid = "progress-" + d.id;
      li.appendChild(el("progress", { id: pid, max: "100", value: String(progress.progress || 0),
                                      "aria-label": "Starting " + (d.title || d.id) }));
      li.appendChild(el("p", { class: "step", text: (progress.step || "starting") + "…" }));
    }
    if (s && s.error) li.appendChild(el("p", { class: "error", text: s.error }));
    if (cardErrors[d.id]) li.appendChild(el("p", { class: "error", role: "alert", text: cardErrors[d.id] }));
    if (cardNotes[d.id]) li.appendChild(el("p", { class: "card-note", role: "status", text: cardNotes[d.id] }));
    var canConnect = !c && (s || d.state === "available");
    var actions = el("div", { class: "actions" }, [
      el("button", { type: "button", class: "connect", id: "connect-" + d.id,
                     onclick: function () { connect(d); } })
    ]);
    actions.firstChild.textContent = c ? "Connecting…" : s ? "Connect again" : "Connect";
    actions.firstChild.disabled = !canConnect;
    /* The browser console asks for its own connection (console.js). */
    if (d.browser && canConnect)
      actions.appendChild(el("a", { class: "button browser", id: "browser-" + d.id, target: "_blank",
                                    href: "/portal/console.html?desktop=" + encodeURIComponent(d.id),
                                    text: "Open in browser" }));
    if (s) actions.appendChild(el("button", { type: "button", class: "end secondary", id: "end-" + d.id,
                                               text: "End session", onclick: function () { endDesktop(d); } }));
    if (s && d.can_reset) {
      var reset = el("button", { type: "button", class: "reset danger", id: "reset-" + d.id,
                                 text: resetting[d.id] ? "Resetting…" : "Reset",
                                 "aria-label": "Reset " + (d.title || d.id),
                                 onclick: function () {
                                   if (window.confirm("Reset " + (d.title || d.id) +
                                                      "? Unsaved work on it is lost."))
                                     resetDesktop(d);
                                 } });
      reset.disabled = !!resetting[d.id];
      actions.appendChild(reset);
    }
    li.appendChild(actions);
    return li;
  }

  /* GET console.vv with the header that tells the broker this page asked
     (a plain link cannot carry it, so a link on another site gets 403):
     {status, blob} when ready, else {status, body, headers} as api(). */
  function fetchVv(url) {
    var opts = { credentials: "same-origin", headers: { "X-Paprika-Request": "1" } };
    return fetch(url, opts).then(function (r) {
      if (r.status === 200)
        return r.blob().then(function (b) { return { status: 200, blob: b }; });
      return r.json().catch(function () { return {}; }).then(function (b) {
        return { status: r.status, body: b, headers: r.headers };
      });
    });
  }

  /* The browser saves the fetched file as console.vv; the blob holds a
     SPICE password, so its URL is dropped once the download has begun. */
  function saveVv(blob) {
    var url = URL.createObjectURL(blob);
    var a = el("a", { href: url, download: "console.vv", hidden: "" });
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
  }

  /* Asks for console.vv until the desktop is ready, then saves it. The
     first request answers at once (the broker's first step shows); the
     next ones wait up to 2 s for the desktop (wait=2), so the file comes
     as soon as it is ready and the progress still moves. */
  function connect(d) {
    var path = "/api/v1/desktops/" + encodeURIComponent(d.id);
    connecting[d.id] = { progress: 0, step: "requesting a desktop" };
    delete cardErrors[d.id];
    delete cardNotes[d.id];
    say($("notice"), "");
    refresh();
    var wait = 0;
    function poll() {
      var url = path + "/console.vv?wait=" + wait;
      wait = 2;
      return fetchVv(url).then(function (res) {
        if (!me || !connecting[d.id]) return null;
        if (res.status === 202) {
          connecting[d.id] = { progress: res.body.progress, step: res.body.step };
          refresh();
          return poll();
        }
        if (failed(res)) return null;
        if (res.status !== 200) throw new Error(errorText(res));
        return res.blob;
      });
    }
    poll().then(function (vv) {
      if (!vv) return;
      saveVv(vv);
      say($("notice"), (d.title || d.id) + " is ready. Open the downloaded " +
          "console.vv with remote-viewer (virt-viewer) to see your desktop.");
    }, function (e) {
      cardErrors[d.id] = e.message === "Failed to fetch" ? "Cannot reach the broker." : e.message;
    }).then(function () {
      delete connecting[d.id];
      refresh();
    });
  }

  /* A hard reset of the user's running desktop; the session stays. */
  function resetDesktop(d) {
    resetting[d.id] = true;
    delete cardErrors[d.id];
    delete cardNotes[d.id];
    refresh();
    api("POST", "/api/v1/desktops/" + encodeURIComponent(d.id) + "/reset").then(function (res) {
      if (failed(res)) return;
      var code = res.body && res.body.error && res.body.error.code;
      if (res.status === 200)
        cardNotes[d.id] = "The desktop was reset and is restarting. Unsaved work on it was lost.";
      else if (code === "reset_not_allowed")
        cardErrors[d.id] = "Only the helpdesk can reset this desktop.";
      else if (code === "not_running")
        cardErrors[d.id] = "The desktop is not running, so it cannot be reset.";
      else
        cardErrors[d.id] = "The desktop was not reset: " + errorText(res);
    }, function () {
      cardErrors[d.id] = "Cannot reach the broker: the desktop was not reset.";
    }).then(function () {
      delete resetting[d.id];
      refresh();
    });
  }

  function endDesktop(d) {
    api("POST", "/api/v1/desktops/" + encodeURIComponent(d.id) + "/end").then(function (res) {
      if (failed(res)) return;
      if (res.status === 200) { delete cardErrors[d.id]; delete cardNotes[d.id]; say($("notice"), "Your session on " + (d.title || d.id) + " ended."); }
      else cardErrors[d.id] = errorText(res);
      refresh();
    }, netError);
  }

  /* --- helpdesk ------------------------------------------------------------ */

  function loadSessions() {
    api("GET", "/api/v1/sessions").then(function (res) {
      if (!me || failed(res)) return;
      if (res.status !== 200) { say($("app-error"), errorText(res)); return; }
      var list = res.body.sessions || [];
      var key = JSON.stringify(list);
      if (shown.sessions === key) return;
      shown.sessions = key;
      var tb = $("sessions").tBodies[0];
      tb.textContent = "";
      show($("no-sessions"), list.length === 0);
      list.forEach(function (s) {
        var who = s.user + " on " + s.desktop;
        tb.appendChild(el("tr", { "data-session": s.id, "data-user": s.user, "data-state": s.state }, [
          el("td", { text: s.user }), el("td", { text: s.desktop }), el("td", { text: s.pool }),
          el("td", {}, [el("span", { class: "badge state-" + s.state, text: s.state })]),
          el("td", { class: "time", text: fmtTime(s.connected_at || s.created) }),
          el("td", { text: s.source || "–" }),
          el("td", { class: "gpus", text: (s.gpus || []).join(", ") || "–" }),
          el("td", { class: "actions" }, [
            el("button", { type: "button", class: "disconnect secondary", text: "Disconnect",
                           "aria-label": "Disconnect " + who,
                           onclick: function () { sessionAction(s, "disconnect"); } }),
            el("button", { type: "button", class: "end-session danger", text: "End",
                           "aria-label": "End the session of " + who,
                           onclick: function () {
                             if (window.confirm("End the session of " + who + "? Unsaved work on it is lost."))
                               sessionAction(s, "end");
                           } })
          ])
        ]));
      });
    }, netError);
  }

  function sessionAction(s, action) {
    api("POST", "/api/v1/sessions/" + encodeURIComponent(s.id) + "/" + action).then(function (res) {
      if (failed(res)) return;
      if (res.status === 200)
        say($("notice"), "Session of " + s.user + " on " + s.desktop +
            (action === "end" ? " ended." : " disconnected."));
      else say($("app-error"), errorText(res));
      refresh();
    }, netError);
  }

  function loadAudit() {
    api("GET", "/api/v1/audit?limit=15").then(function (res) {
      if (!me || failed(res) || res.status !== 200) return;
      var list = res.body.audit || [];
      var key = JSON.stringify(list);
      if (shown.audit === key) return;
      shown.audit = key;
      var tb = $("audit").tBodies[0];
      tb.textContent = "";
      list.forEach(function (a) {
        tb.appendChild(el("tr", {}, [
          el("td", { class: "time", text: fmtTime(a.time) }), el("td", { text: a.actor }),
          el("td", { text: a.action }), el("td", { text: a.target || "–" }),
          el("td", { class: "result-" + a.result, text: a.result }), el("td", { text: a.detail || "" })
        ]));
      });
    });
  }

  /* --- start ------------------------------------------------------------------ */

  document.addEventListener("DOMContentLoaded", function () {
    $("login-form").addEventListener("submit", onLogin);
    $("logout").addEventListener("click", onLogout);
    $("totp-offer").addEventListener("click", function () { enrolView(false); });
    $("enrol-start").addEventListener("click", enrolStart);
    $("enrol-form").addEventListener("submit", enrolConfirm);
    $("enrol-continue").addEventListener("click", enrolContinue);
    api("GET", "/api/v1/me").then(function (res) {
      if (res.status === 200) loggedIn(res.body);
      else loggedOut("");
    }, function () {
      loggedOut("Cannot reach the broker. Reload the page to try again.");
    });
  });
})();
