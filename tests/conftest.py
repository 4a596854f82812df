"""Fixtures shared by the whole suite (plain helpers, such as REPO, are in helpers.py)."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import REPO


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
    )
    assert build.returncode == 0, f"mkdocs build --strict failed:\n{build.stdout}\n{build.stderr}"
    return site


@pytest.fixture(scope="module")
def page(request):
    """The snippets module a page runs, imported once per test module: tests/test_<name>.py gets
    snippets.<name>. Figures it drew are closed afterwards."""
    name = request.module.__name__.rpartition(".")[2].removeprefix("test_")
    if not (REPO / "snippets" / f"{name}.py").is_file():
        pytest.fail(f"the `page` fixture loads snippets/<name>.py for tests/test_<name>.py; "
                    f"{request.module.__file__} names snippets/{name}.py, which does not exist")
    yield importlib.import_module(f"snippets.{name}")
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close("all")
