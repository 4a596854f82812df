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


def tensorflow_cpu_path() -> str:
    """Which CPU kernels this process's TensorFlow runs: "onednn" or "eigen".

    TensorFlow turns its oneDNN kernels on by default only on CPUs with AVX512-VNNI,
    AVX512-BF16 or AMX, and TF_ENABLE_ONEDNN_OPTS=1/0 forces them on or off. The answer is
    the runtime switch TensorFlow itself consults (IsMklEnabled), read after the import.
    """
    import tensorflow  # noqa: F401  (the switch is read when TensorFlow loads)
    from tensorflow.python.util import _pywrap_util_port

    return "onednn" if _pywrap_util_port.IsMklEnabled() else "eigen"
