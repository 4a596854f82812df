"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> Path:
    """The real site, built once per test session with `mkdocs build --strict`.

    Under CI=true the build re-executes every page and compares it with frozen/.
    DOCS_SITE_DIR=/path reuses a site that was already built (fast iteration).
    """
    reuse = os.environ.get("DOCS_SITE_DIR")
    if reuse:
        site = Path(reuse).resolve()
        assert (site / "index.html").is_file(), f"DOCS_SITE_DIR={reuse!r} has no index.html"
        return site
    site = tmp_path_factory.mktemp("site")
    print("\nbuilding the site once for this test session (mkdocs build --strict)...", file=sys.stderr)
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert build.returncode == 0, f"mkdocs build --strict failed:\n{build.stdout}\n{build.stderr}"
    return site
