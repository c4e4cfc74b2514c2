"""Open a report in a real headless Chromium: console errors, images that did not load, a screenshot.

Spoken over the Chrome DevTools Protocol (a WebSocket, with the `websockets` client the live feed
already uses) so nothing beyond the browser itself is needed. Chromium binds its debugging port
to 127.0.0.1 and runs with a throwaway profile.

    check = check_in_browser(Path("RUN/report.html"), screenshot=Path("RUN/report.png"))
    check.console_errors, check.broken_images   # both empty for a good report
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

from harness.core.errors import HarnessError

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_IMAGES_JS = """JSON.stringify(Array.from(document.images).map(i => ({
  alt: i.alt, complete: i.complete, width: i.naturalWidth, height: i.naturalHeight})))"""


class BrowserError(HarnessError):
    """Chromium is missing, did not start, or did not answer."""


@dataclass
class BrowserCheck:
    """What the browser saw: errors on its console, images it could not draw, the page size."""

    console_errors: list[str] = field(default_factory=list)
    broken_images: list[str] = field(default_factory=list)
    images: int = 0
    page_height: int = 0
    screenshot: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.console_errors and not self.broken_images and self.images > 0


def find_browser() -> str | None:
    return next((p for b in BROWSERS if (p := shutil.which(b))), None)


def _devtools_port(profile: Path, proc: subprocess.Popen[bytes], timeout: float) -> int:
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marker.is_file() and (lines := marker.read_text().splitlines()):
            return int(lines[0])
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace")[-500:] if proc.stderr else ""
            raise BrowserError(f"chromium exited with {proc.returncode}: {err}")
        time.sleep(0.05)
    raise BrowserError(f"chromium did not open its DevTools port within {timeout:.0f} s")


class _Session:
    """One CDP page session: commands with ids, events collected as they arrive."""

    def __init__(self, ws: Any) -> None:
        self.ws, self.ids = ws, count(1)
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, timeout: float = 30, **params: Any) -> dict[str, Any]:
        msg_id = next(self.ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            msg = json.loads(self.ws.recv(timeout=max(0.01, deadline - time.monotonic())))
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise BrowserError(f"{method}: {msg['error'].get('message')}")
                return dict(msg.get("result") or {})
            self.events.append(msg)

    def wait_for(self, event: str, timeout: float = 30) -> None:
        if any(e.get("method") == event for e in self.events):
            return
        deadline = time.monotonic() + timeout
        while True:
            msg = json.loads(self.ws.recv(timeout=max(0.01, deadline - time.monotonic())))
            self.events.append(msg)
            if msg.get("method") == event:
                return


def _errors(events: list[dict[str, Any]]) -> list[str]:
    out = []
    for e in events:
        p = e.get("params") or {}
        if e.get("method") == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails") or {}
            out.append(str((d.get("exception") or {}).get("description") or d.get("text")))
        elif e.get("method") == "Runtime.consoleAPICalled" and p.get("type") == "error":
            out.append(" ".join(str(a.get("value", a.get("description"))) for a in p["args"]))
        elif e.get("method") == "Log.entryAdded" and (p.get("entry") or {}).get("level") == "error":
            entry = p["entry"]
            out.append(f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}".strip())
    return out


def check_in_browser(
    page: Path, *, screenshot: Path | None = None, width: int = 1200, timeout: float = 60
) -> BrowserCheck:
    """Load `page` in headless Chromium; report console errors and broken images; screenshot it."""
    from websockets.sync.client import connect

    binary = find_browser()
    if binary is None:
        raise BrowserError(f"no Chromium found (looked for {', '.join(BROWSERS)})")
    # Chromium's helpers (crashpad, zygote) can outlive the browser by a moment and still write
    # to the profile: the whole process group is stopped before the profile is removed, and a
    # file they still drop then is not worth failing a finished check for.
    with tempfile.TemporaryDirectory(prefix="harness-chromium-", ignore_cleanup_errors=True) as tmp:
        profile = Path(tmp)
        proc = subprocess.Popen(
            [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-dev-shm-usage", "--remote-debugging-address=127.0.0.1",
             "--remote-debugging-port=0", f"--user-data-dir={profile}",
             f"--window-size={width},900", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
        )  # fmt: skip
        try:
            port = _devtools_port(profile, proc, timeout)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
                targets = json.loads(r.read())
            target = next(t for t in targets if t.get("type") == "page")
            with connect(target["webSocketDebuggerUrl"], max_size=None) as ws:
                return _inspect(_Session(ws), page, screenshot, width, timeout)
        finally:
            _stop_group(proc)


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """Stop the browser and every helper it started (its own session): TERM, then KILL."""
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:  # the whole group is gone already
            break
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        if sig is signal.SIGTERM:  # the browser exited; its helpers get no more time than this
            time.sleep(0.2)


def _inspect(
    s: _Session, page: Path, screenshot: Path | None, width: int, timeout: float
) -> BrowserCheck:
    for domain in ("Page", "Runtime", "Log"):
        s.call(f"{domain}.enable")
    s.events.clear()
    s.call("Page.navigate", url=page.resolve().as_uri())
    s.wait_for("Page.loadEventFired", timeout)
    images = json.loads(s.call("Runtime.evaluate", expression=_IMAGES_JS)["result"]["value"])
    broken = [
        str(i.get("alt") or "(no alt)") for i in images if not i["complete"] or i["width"] == 0
    ]
    metrics = s.call("Page.getLayoutMetrics")
    height = int((metrics.get("cssContentSize") or metrics.get("contentSize") or {})["height"])
    check = BrowserCheck(_errors(s.events), broken, len(images), height)
    if screenshot is not None:
        s.call(
            "Emulation.setDeviceMetricsOverride",
            width=width, height=min(height, 16_000), deviceScaleFactor=1, mobile=False,
        )  # fmt: skip
        shot = s.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        screenshot.write_bytes(base64.b64decode(shot["data"]))
        check.screenshot = screenshot
    return check
