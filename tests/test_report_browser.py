"""report.html in a real headless Chromium: no console errors, every image drawn, a screenshot kept
under the run. Chromium is Debian's package, installed here when missing (apt, as root); the tests
skip, saying why, only where it cannot be installed."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess

import pytest
from click.testing import CliRunner
from readiness_fixtures import make_run

from harness.cli import cli
from harness.report.browser import check_in_browser, find_browser
from harness.report.build import build_report


def _install_chromium() -> str | None:
    """Why Chromium cannot be had here, or None once it is installed."""
    if find_browser():
        return None
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return "no chromium, and no apt-get as root to install it"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
        if done.returncode != 0:
            return f"{' '.join(cmd)} failed: {done.stderr.strip()[-300:]}"
    return None if find_browser() else "apt-get installed chromium but no binary was found"


@pytest.fixture(scope="module")
def chromium():
    why = _install_chromium()
    if why:
        pytest.skip(f"headless Chromium unavailable: {why}")


def _png_size(path):
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_the_report_renders_cleanly_in_chromium_and_keeps_a_screenshot(tmp_path, chromium):
    run = make_run(tmp_path, missing=3, slow=1.3)
    files = build_report(run)
    check = check_in_browser(files.html, screenshot=run / "report.png")
    assert check.console_errors == [] and check.broken_images == []
    assert check.images == 4 and check.ok
    width, height = _png_size(run / "report.png")
    assert width == 1200 and height == min(check.page_height, 16_000) and height > 1500


def test_the_browser_check_catches_script_errors_and_broken_images(tmp_path, chromium):
    page = tmp_path / "broken.html"
    page.write_text(
        "<!doctype html><html><body><h1>x</h1>"
        '<img alt="good" src="data:image/png;base64,'
        'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==">'
        '<img alt="latency CDF" src="data:image/png;base64,bm90IGEgcG5n">'
        "<script>console.error('boom'); undefinedFunction();</script></body></html>"
    )
    check = check_in_browser(page)
    assert check.images == 2 and check.broken_images == ["latency CDF"]
    assert any("boom" in e for e in check.console_errors)
    assert any("undefinedFunction" in e for e in check.console_errors)
    assert not check.ok


def test_cli_report_browser_check(tmp_path, chromium):
    run = make_run(tmp_path)
    res = CliRunner().invoke(cli, ["report", str(run), "--browser-check"])
    assert res.exit_code == 0, res.output
    assert "browser: 4 image(s), 0 broken, 0 console error(s)" in res.output
    assert (run / "report.png").stat().st_size > 10_000
