"""Make sure a Chromium is there for the browser tests, installing one if not.

Tried in order, stopping at the first Chromium that Playwright can start:
1. $CHROMIUM_PATH, when set;
2. a system Chromium or Chrome on PATH (Debian's `chromium`, CI runners' Chrome);
3. as root on Debian, `apt-get install chromium`;
4. Playwright's own browser download (`playwright install chromium`).
Prints the executable's path. Exits 1, saying what was tried, when none works:
the browser tests must never be skipped for want of a browser.

`find_chromium()` is the same search without installing; tests/browser uses it.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SYSTEM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

# Flags measured to work here: no sandbox as root, no GPU, and nothing that phones home.
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def system_chromium(honour_env: bool = True) -> str | None:
    explicit = os.environ.get("CHROMIUM_PATH")
    if explicit and honour_env:
        return explicit
    for name in SYSTEM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def playwright_chromium() -> str | None:
    """The path of Playwright's own Chromium, if `playwright install` has put it there."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        path = playwright.chromium.executable_path
    return path if path and Path(path).exists() else None


def find_chromium() -> str | None:
    return system_chromium() or playwright_chromium()


def starts(executable: str) -> tuple[bool, str]:
    """Launch the browser headless through Playwright, as the tests will."""
    from playwright.sync_api import Error, sync_playwright

    try:
        with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
            context = playwright.chromium.launch_persistent_context(
                profile, executable_path=executable, args=LAUNCH_ARGS, headless=True
            )
            context.close()
    except Error as error:
        return False, str(error).splitlines()[0]
    return True, ""


def is_debian_root() -> bool:
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return False
    release = Path("/etc/os-release")
    fields = dict(
        line.split("=", 1) for line in release.read_text().splitlines() if "=" in line
    ) if release.exists() else {}
    # Ubuntu's `chromium` is a snap stub that Playwright cannot drive, so Debian only.
    return fields.get("ID", "").strip('"') == "debian"


def run(command: list[str]) -> bool:
    print("ensure_browser: running", " ".join(command), file=sys.stderr)
    return subprocess.run(command, stdout=sys.stderr).returncode == 0


def install_with_apt() -> str | None:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    update = subprocess.run(["apt-get", "update", "-qq"], stdout=sys.stderr, env=env)
    install = update.returncode == 0 and subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
        stdout=sys.stderr,
        env=env,
    ).returncode == 0
    return system_chromium(honour_env=False) if install else None


def install_with_playwright() -> str | None:
    if not run([sys.executable, "-m", "playwright", "install", "chromium"]):
        return None
    return playwright_chromium()


def ensure_chromium() -> tuple[str | None, list[str]]:
    tried = []
    candidates = [("found on this machine", find_chromium)]
    if is_debian_root():
        candidates.append(("apt-get install chromium", install_with_apt))
    candidates.append(("playwright install chromium", install_with_playwright))
    for how, get in candidates:
        path = get()
        if path is None:
            tried.append(f"{how}: no browser")
            continue
        ok, why = starts(path)
        if ok:
            return path, tried
        tried.append(f"{how}: {path} does not start ({why})")
    return None, tried


def main() -> int:
    path, tried = ensure_chromium()
    if path is None:
        print(
            "ensure_browser: no Chromium for the browser tests. Tried:\n  "
            + "\n  ".join(tried)
            + "\nInstall Chromium (Debian: apt-get install chromium) or set CHROMIUM_PATH.",
            file=sys.stderr,
        )
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
