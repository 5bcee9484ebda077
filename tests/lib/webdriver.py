# SPDX-License-Identifier: ISC
"""Headless Debian chromium driven by Selenium and chromedriver (Debian's
python3-selenium and chromium-driver), for the browser tests.

The browser trusts the deployment's CA through an NSS database in its own
HOME, and only that: certificate errors are not ignored. Console messages
(CSP violations among them) are kept, for tests to assert there are none.
With network=True chromedriver's performance log is kept too: goto() then
returns the document's status and headers, and download() waits for a
download and says where it came from. JavaScript dialogs (confirm, alert)
are answered with dialog().

    b = Browser(nss_home(work, ca_pem), os.path.join(work, "chromedriver.log"))
    b.goto(url); b.fill("#username", "demo"); b.click("#login-button")
    b.wait("#user-name", re="^demo$"); b.screenshot(path); b.close()
"""

import json
import os
import shutil
import subprocess
import time

from selenium import webdriver
from selenium.common.exceptions import (NoAlertPresentException,
                                        StaleElementReferenceException, WebDriverException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from paprikatest import wait_text, wait_until

CHROMIUM = os.environ.get("PAPRIKA_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("PAPRIKA_CHROMEDRIVER", "/usr/bin/chromedriver")


class BrowserError(Exception):
    pass


def missing_tools():
    """What scripts/deps.sh should have installed and did not."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    return missing + [t for t in ("certutil",) if not shutil.which(t)]


def nss_home(work, ca_pem):
    """A HOME under work whose NSS database trusts ca_pem, and only that."""
    home = os.path.join(work, "browser-home")
    db = os.path.join(home, ".pki", "nssdb")
    os.makedirs(db)
    subprocess.run(["certutil", "-N", "-d", f"sql:{db}", "--empty-password"], check=True)
    subprocess.run(["certutil", "-A", "-d", f"sql:{db}", "-n", "Paprika test CA", "-t", "C,,",
                    "-i", ca_pem], check=True)
    return home


class Browser:
    """One headless chromium window of width x height CSS pixels. network:
    keep the page's Network and Page events, for goto()'s answer and
    download(); off by default, as a console's WebSocket frames would pile
    up in chromedriver unread."""

    def __init__(self, home, log_path, width=1100, height=800, page_load="normal",
                 network=False):
        self.downloads_dir = os.path.join(home, "downloads")
        os.makedirs(self.downloads_dir, exist_ok=True)
        self.network, self.responses, self.downloads = network, {}, {}
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        # "none": commands do not wait for a page's load event (benchmarks).
        opts.page_load_strategy = page_load
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-dev-shm-usage", f"--window-size={width},{height}",
                    f"--user-data-dir={os.path.join(home, 'profile')}"):
            opts.add_argument(arg)
        logs = {"browser": "ALL"}
        if network:
            logs["performance"] = "ALL"
        opts.set_capability("goog:loggingPrefs", logs)
        opts.add_experimental_option("prefs", {
            "download.default_directory": self.downloads_dir,
            "download.prompt_for_download": False})
        env = dict(os.environ, HOME=home)
        service = Service(CHROMEDRIVER, log_path=log_path, env=env)
        try:
            self.driver = webdriver.Chrome(service=service, options=opts)
        except WebDriverException as e:
            raise BrowserError(f"chromium did not start under chromedriver: {e.msg}") from e
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        self.version = self.driver.capabilities.get("browserVersion")

    def _devtools_events(self):
        """Reads the performance log (network=True): the responses that
        loaded documents, by URL, and the downloads, by id."""
        for entry in self.driver.get_log("performance"):
            m = json.loads(entry["message"])["message"]
            method, p = m.get("method"), m.get("params", {})
            if method == "Network.responseReceived" and p.get("type") == "Document":
                self.responses[p["response"]["url"]] = p["response"]
            elif method == "Page.downloadWillBegin":
                self.downloads[p["guid"]] = {"url": p["url"], "name": p["suggestedFilename"]}
            elif method == "Page.downloadProgress" and p["guid"] in self.downloads:
                self.downloads[p["guid"]]["state"] = p["state"]

    def goto(self, url):
        """Loads url; with network=True returns the document's status and
        headers (names in lower case), else None."""
        if not self.network:
            self.driver.get(url)
            return None
        self._devtools_events()
        self.responses.clear()
        self.driver.get(url)
        self._devtools_events()
        r = self.responses.get(self.driver.current_url, {})
        return {"status": r.get("status"),
                "headers": {k.lower(): v for k, v in r.get("headers", {}).items()}}

    def try_(self, method, *args, **kw):
        """(True, what method returns) or (False, the error's text): for
        steps a check reports on."""
        try:
            return True, getattr(self, method)(*args, **kw)
        except BrowserError as e:
            return False, str(e)

    def evaluate(self, js, *args):
        """Runs js as a function body (use `return`); a Promise is awaited."""
        try:
            return self.driver.execute_script(
                "return await (async (...args) => { " + js + " })(...arguments);", *args)
        except WebDriverException as e:
            raise BrowserError(f"script failed: {e.msg}") from e

    def _find(self, sel, js):
        return self.evaluate("const e = document.querySelector(args[0]);"
                             " const vis = !!e && e.offsetParent !== null; " + js, sel)

    def text(self, sel):
        """The text of sel when it is visible, else None."""
        return self._find(sel, "return vis ? e.textContent : null;")

    def wait(self, sel, re=None, timeout=15, hidden=False):
        """Until sel is visible (and its text matches re), or gone with hidden."""
        return wait_text(lambda: self.text(sel), sel, re, timeout, hidden, BrowserError)

    def until(self, js, timeout=15, what=None):
        """Until js (a function body) returns something true; returns it."""
        deadline = time.monotonic() + timeout
        while True:
            v = self.evaluate(js)
            if v:
                return v
            if time.monotonic() > deadline:
                raise BrowserError(f"timed out waiting for {what or js}; last {v!r}")
            time.sleep(0.05)

    def fill(self, sel, value):
        el = self._element(sel)
        el.clear()
        el.send_keys(value)

    def click(self, sel, timeout=5):
        """Clicks sel; found again when the page redrew it between the
        find and the click (the portal redraws its cards on each event)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._element(sel).click()
                return
            except StaleElementReferenceException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _element(self, sel):
        els = [e for e in self.driver.find_elements("css selector", sel) if e.is_displayed()]
        if not els or not els[0].is_enabled():
            raise BrowserError(f"{sel}: no such visible, enabled element")
        return els[0]

    def new_window(self, opened_by, timeout=15):
        """Clicks opened_by (a selector) and switches to the window it
        opens; returns (the new handle, the one it left)."""
        old = self.driver.current_window_handle
        before = set(self.driver.window_handles)
        self.click(opened_by)
        deadline = time.monotonic() + timeout
        while not set(self.driver.window_handles) - before:
            if time.monotonic() > deadline:
                raise BrowserError(f"{opened_by} opened no window")
            time.sleep(0.05)
        new = (set(self.driver.window_handles) - before).pop()
        self.driver.switch_to.window(new)
        return new, old

    def switch(self, handle):
        self.driver.switch_to.window(handle)

    def type_into(self, sel, text, pause=0.08):
        """Keystrokes into sel (focused), as a user types them: one key
        every pause seconds. WebDriver alone sends them all at once, faster
        than a PS/2 keyboard's 16-byte queue in QEMU drains into a guest
        under TCG (two scancodes a key), which then drops some."""
        el = self._element(sel)
        for key in text:
            el.send_keys(key)
            time.sleep(pause)

    def keys(self, *keys):
        """Keystrokes to whatever has the focus, as from a keyboard
        (selenium.webdriver.common.keys.Keys for Tab, Enter, Escape)."""
        ActionChains(self.driver).send_keys(*keys).perform()

    def expect_download(self):
        """Forgets the downloads so far: download() waits for the next."""
        self._devtools_events()
        self.downloads.clear()

    def download(self, timeout=180):
        """Waits for a download (network=True) to end in downloads_dir;
        returns its url, name, file and text."""
        def ended():
            self._devtools_events()
            return next((x for x in self.downloads.values()
                         if x.get("state") in ("completed", "canceled")), None)
        dl = wait_until(ended, timeout)
        if not dl:
            raise BrowserError(f"no download in {timeout}s: {list(self.downloads.values())}")
        if dl["state"] != "completed":
            raise BrowserError(f"download canceled: {dl}")
        file = os.path.join(self.downloads_dir, os.path.basename(dl["name"]))
        if not wait_until(lambda: os.path.exists(file), 5, 0.05):
            raise BrowserError(f"download {dl} completed, but there is no {file}")
        with open(file, encoding="utf-8", errors="replace") as f:
            return dict(dl, file=file, text=f.read())

    def dialog(self, accept, timeout=5):
        """Waits for the page's alert, confirm or prompt, accepts it or
        dismisses it (Cancel), and returns its message."""
        def opened():
            try:
                return self.driver.switch_to.alert
            except NoAlertPresentException:
                return None
        alert = wait_until(opened, timeout, 0.05)
        if not alert:
            raise BrowserError(f"no dialog in {timeout}s")
        text = alert.text
        if accept:
            alert.accept()
        else:
            alert.dismiss()
        return text

    def screenshot(self, path):
        self.driver.save_screenshot(path)
        return path

    def problems(self, http_errors=True):
        """Console errors and warnings since the last call (CSP violations
        among them), as text lines. http_errors=False leaves out the
        responses with an error status (an API's 401s), which tests provoke."""
        return [f"{m['level']}: {m['message']}" for m in self.driver.get_log("browser")
                if m["level"] in ("SEVERE", "WARNING") and
                (http_errors or "Failed to load resource" not in m["message"])]

    def close(self):
        try:
            self.driver.quit()
        except WebDriverException:
            pass
