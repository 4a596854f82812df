"""The real site, built by MkDocs: the demo page shows every feature, and a failing
snippet stops the build naming the snippet's file and line."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_demo_page_shows_code_outputs_figure_claim_value_and_versions(built_site):
    page = (built_site / "demo" / "index.html").read_text(encoding="utf-8")
    assert 'class="filename">snippets/demo.py</span>' in page
    assert page.count('class="docexec-output"') >= 3
    assert re.search(r'<img alt="[^"]+" src="data:image/svg\+xml;base64,', page)
    assert "docexec-claim" in page and "Verified" in page
    assert 'class="docexec-value">' in page
    assert "ValueError: matmul" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert re.search(r"produced by running its code with NumPy [\d.]+, TensorFlow [\d.]+ and Keras [\d.]+", page)


def test_every_markdown_page_carries_a_version_stamp(built_site):
    """The notebook page is rendered by mkdocs-jupyter, not Markdown; it has its own check."""
    pages = [p for p in built_site.rglob("index.html") if p.parent.name not in ("search", "walkthrough")]
    assert len(pages) >= 2
    missing = [str(p.relative_to(built_site)) for p in pages if "docexec-stamp" not in p.read_text(encoding="utf-8")]
    assert not missing, f"pages without a version stamp: {missing}"


def test_the_claims_page_lists_the_demo_claim(built_site):
    page = (built_site / "claims" / "index.html").read_text(encoding="utf-8")
    assert 'href="../demo/#claim-summing-the-rows-of-x-gives-three-times-their-mean"' in page


def test_a_raise_inside_a_section_fails_the_build_naming_file_and_line(tmp_path):
    """The acceptance check of the engine: a build without --strict still fails, loudly."""
    for name in ("mkdocs.yml", "snippets", "docs/assets", "overrides"):
        source = REPO / name
        if not source.exists():
            continue
        (shutil.copytree if source.is_dir() else shutil.copy)(source, tmp_path / name)
    shutil.copy(REPO / "docs" / "demo.md", tmp_path / "docs" / "demo.md")
    demo = tmp_path / "snippets" / "demo.py"
    lines = demo.read_text().splitlines()
    start = lines.index("# --8<-- [start:array]")
    lines.insert(start + 1, 'raise RuntimeError("boom")')
    demo.write_text("\n".join(lines) + "\n")
    config = (tmp_path / "mkdocs.yml").read_text()
    config = re.sub(r"(?ms)^nav:.*?(?=^\S)", "", config)
    (tmp_path / "mkdocs.yml").write_text(config.replace("strict: true", "strict: false"))
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--site-dir", str(tmp_path / "site")],
        cwd=tmp_path, capture_output=True, text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1", "DOCEXEC_MODE": "auto"},
    )
    assert build.returncode != 0
    log = build.stdout + build.stderr
    assert f"snippets/demo.py:{start + 2}" in log, log
    assert "docs/demo.md" in log and "RuntimeError: boom" in log
    assert not (tmp_path / "site" / "demo" / "index.html").exists()
