#!/usr/bin/env python3
"""Loads a plant's console page in real headless Chromium (Debian's `chromium`), driven over the
Chrome DevTools Protocol: reads what the page shows, clicks an action as a person would (mouse
events at the button's place on the screen), and writes a screenshot.

    console_browser.py --url http://127.0.0.1:PORT --plant P100 --token T --screenshot F.png
                       [--redrive ID] [--replay-processor confirmation --replay-to earliest]

Prints one JSON object: {"before": <page>, "action": <panel text>, "after": <page>, "replay": <panel text>}.
<page> holds every `data-metric` value, the quarantine table by reason, the throughput bars'
sums, the lag rows, and the ids of the dead letters, quarantine entries and at-risk orders shown.
"""
import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket  # websocket-client, installed by .ci/install-deps

READ_PAGE = r"""
(() => {
  const metrics = {};
  document.querySelectorAll("[data-metric]").forEach(e => { metrics[e.dataset.metric] = e.dataset.value === "" ? null : Number(e.dataset.value); });
  const reasons = {};
  document.querySelectorAll("#quarantine tr[data-reason]").forEach(row => {
    reasons[row.dataset.reason] = [...row.querySelectorAll("td[data-bucket]")].map(c => Number(c.dataset.value));
  });
  const bars = series => [...document.querySelectorAll(`#throughput [data-series="${series}"]`)].map(e => Number(e.dataset.count));
  const lag = {};
  document.querySelectorAll("#lag tr[data-processor]").forEach(row => { lag[row.dataset.processor] = Number(row.querySelector("td[data-value]").dataset.value); });
  return JSON.stringify({
    title: document.getElementById("title").textContent,
    loaded: document.body.dataset.loaded || null,
    error: (document.getElementById("load-error") || {}).textContent || null,
    metrics, reasons, lag,
    postingBars: bars("postings"), releaseBars: bars("releases"),
    deadLetters: [...document.querySelectorAll("#dead-letters tr[data-letter]")].map(r => r.dataset.letter),
    entries: [...document.querySelectorAll("#quarantine tr[data-entry]")].map(r => r.dataset.entry),
    atRisk: [...document.querySelectorAll("#at-risk tr[data-order]")].map(r => ({ order: r.dataset.order, reasons: [...r.querySelectorAll(".tag")].map(t => t.textContent) })),
    svgCount: document.querySelectorAll("svg#throughput").length,
    externalResources: performance.getEntriesByType("resource").filter(r => !r.name.startsWith(location.origin)).map(r => r.name),
  });
})()
"""


class Browser:
    def __init__(self):
        executable = shutil.which("chromium") or shutil.which("chromium-browser")
        if not executable:
            sys.exit("chromium is not installed (bash .ci/install-deps installs it)")
        self.profile = tempfile.mkdtemp(prefix="millwright-chromium-")
        self.process = subprocess.Popen(
            [executable, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
             "--remote-debugging-port=0", f"--user-data-dir={self.profile}", "--window-size=1400,1900", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.time() + 60
        while not os.path.exists(port_file) or not open(port_file).read().strip():
            if time.time() > deadline or self.process.poll() is not None:
                sys.exit("chromium did not open its DevTools port")
            time.sleep(0.1)
        port = open(port_file).read().split()[0]
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30))
        page = next(t for t in targets if t["type"] == "page")
        self.socket = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60, suppress_origin=True)
        self.next_id = 0
        self.send("Page.enable")
        self.send("Runtime.enable")

    def send(self, method, **params):
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression):
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.2)
        raise RuntimeError(f"timed out waiting for {expression}")

    def click(self, selector):
        """A person's click: scrolled into view, then mouse pressed and released at its centre."""
        box = self.evaluate(f"""(() => {{
            const e = document.querySelector({json.dumps(selector)});
            if (!e) return null;
            e.scrollIntoView({{block: "center"}});
            const r = e.getBoundingClientRect();
            return {{x: r.left + r.width / 2, y: r.top + r.height / 2, disabled: e.disabled}};
        }})()""")
        if box is None:
            raise RuntimeError(f"nothing on the page matches {selector}")
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=box["x"], y=box["y"], button="left", clickCount=1)

    def screenshot(self, path):
        data = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        with open(path, "wb") as file:
            file.write(base64.b64decode(data))

    def close(self):
        try:
            self.socket.close()
        finally:
            self.process.kill()
            self.process.wait()
            shutil.rmtree(self.profile, ignore_errors=True)


def read_page(browser):
    return json.loads(browser.evaluate(READ_PAGE))


def run_action(browser, button_selector):
    """Clicks the action's button, waits for the preview, clicks Execute, waits until done."""
    browser.click(button_selector)
    browser.wait_for("!document.getElementById('action-panel').hidden && !document.getElementById('action-execute').disabled")
    browser.click("#action-execute")
    browser.wait_for("document.getElementById('action-panel').dataset.done || document.getElementById('action-result').textContent.startsWith('refused')")
    return browser.evaluate("document.getElementById('action-result').textContent")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--plant", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--screenshot", required=True)
    parser.add_argument("--redrive")
    parser.add_argument("--replay-processor")
    parser.add_argument("--replay-to", default="earliest")
    args = parser.parse_args()

    browser = Browser()
    output = {}
    try:
        browser.send("Page.navigate", url=f"{args.url}/console/{args.plant}#token={args.token}")
        browser.wait_for("document.body && document.body.dataset.loaded")
        output["before"] = read_page(browser)
        output["address"] = browser.evaluate("location.href")
        browser.screenshot(args.screenshot)
        if args.redrive:
            loaded = output["before"]["loaded"]
            output["action"] = run_action(browser, f'#dead-letters tr[data-letter="{args.redrive}"] button[data-action="redrive"]')
            browser.wait_for(f"document.body.dataset.loaded !== {json.dumps(loaded)}")
            output["after"] = read_page(browser)
            browser.click("#action-cancel")
        if args.replay_processor:
            browser.evaluate(f"document.getElementById('replay-processor').value = {json.dumps(args.replay_processor)}")
            browser.evaluate(f"document.getElementById('replay-to').value = {json.dumps(args.replay_to)}")
            output["replay"] = run_action(browser, "#replay-preview")
            browser.screenshot(args.screenshot.replace(".png", "-replay.png"))
    finally:
        browser.close()
    print(json.dumps(output))


if __name__ == "__main__":
    main()
