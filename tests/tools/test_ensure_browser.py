"""tools/ensure_browser.py: a browser that starts, or a loud failure, never a silent skip."""
from __future__ import annotations

import subprocess
import sys

import pytest

import ensure_browser
from helpers import REPO

TOOL = REPO / "tools" / "ensure_browser.py"


@pytest.mark.browser
def test_the_browser_it_finds_starts_headless():
    # A process of its own: Playwright's sync API allows one session per thread,
    # and the browser tests' session may be open in this one.
    run = subprocess.run([sys.executable, str(TOOL)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == ensure_browser.find_chromium()


def test_a_missing_browser_is_a_failure_that_says_what_was_tried(monkeypatch, capsys):
    monkeypatch.setenv("CHROMIUM_PATH", "/nonexistent/chromium")
    monkeypatch.setattr(ensure_browser, "is_debian_root", lambda: False)
    monkeypatch.setattr(ensure_browser, "install_with_playwright", lambda: None)
    assert ensure_browser.main() == 1
    message = capsys.readouterr().err
    assert "/nonexistent/chromium does not start" in message
    assert "playwright install chromium: no browser" in message
    assert "set CHROMIUM_PATH" in message
