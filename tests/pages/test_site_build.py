"""The real site, built by MkDocs: the demo page shows every feature, and a failing
snippet stops the build naming the snippet's file and line."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from docexec.config import derived_config
from helpers import REPO


def test_demo_page_shows_code_outputs_figure_claim_value_and_versions(built_site):
    page = (built_site / "demo" / "index.html").read_text(encoding="utf-8")
    assert 'class="filename">snippets/demo.py</span>' in page
    assert page.count('class="docexec-output"') >= 3
    assert re.search(r'<img class="docexec-light" alt="[^"]+" src="data:image/svg\+xml,%3C', page)
    assert re.search(r'<img class="docexec-dark" alt="[^"]+" src="data:image/svg\+xml,%3C', page)
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
    assert 'href="../demo/#claim-on-the-first-row-of-x-numpy-s-np-convolve-flips-its-kernel-i"' in page


def demo_project(into: Path, strict: bool = True) -> Path:
    """A copy of the project holding only the demo page: a fast, real MkDocs build."""
    for name in ("snippets", "docs/assets", "docs/includes", "overrides", "frozen"):
        source = REPO / name
        if source.exists():
            (shutil.copytree if source.is_dir() else shutil.copy)(source, into / name)
    shutil.copy(REPO / "docs" / "demo.md", into / "docs" / "demo.md")
    derived_config(REPO, into, "mkdocs.yml", nav=["demo.md"], strict=strict)
    return into


def build(project: Path, site: Path, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--site-dir", str(site)],
        cwd=project, capture_output=True, text=True,
        env={**os.environ, "SOURCE_DATE_EPOCH": "1700000000", **env},
    )


def test_two_clean_builds_are_byte_identical(tmp_path):
    project = demo_project(tmp_path)
    shutil.rmtree(project / "frozen")
    sites = [tmp_path / "site-1", tmp_path / "site-2"]
    for site in sites:
        shutil.rmtree(project / "frozen", ignore_errors=True)
        done = build(project, site, DOCEXEC_MODE="auto")
        assert done.returncode == 0, done.stderr
    first = {p.relative_to(sites[0]): p.read_bytes() for p in sites[0].rglob("*") if p.is_file()}
    second = {p.relative_to(sites[1]): p.read_bytes() for p in sites[1].rglob("*") if p.is_file()}
    assert first.keys() == second.keys()
    assert [name for name in first if first[name] != second[name]] == []


def test_a_raise_inside_a_section_fails_the_build_naming_file_and_line(tmp_path):
    """The acceptance check of the engine: a build without --strict still fails, loudly."""
    demo_project(tmp_path, strict=False)
    demo = tmp_path / "snippets" / "demo.py"
    lines = demo.read_text().splitlines()
    start = lines.index("# --8<-- [start:array]")
    lines.insert(start + 1, 'raise RuntimeError("boom")')
    demo.write_text("\n".join(lines) + "\n")
    done = build(tmp_path, tmp_path / "site", DOCEXEC_MODE="auto")
    assert done.returncode != 0
    log = done.stdout + done.stderr
    assert f"snippets/demo.py:{start + 2}" in log, log
    assert "docs/demo.md" in log and "RuntimeError: boom" in log
    assert not (tmp_path / "site" / "demo" / "index.html").exists()


def test_every_frozen_file_belongs_to_a_page():
    """A renamed or deleted page must not leave outputs behind that nobody reviews."""
    orphans = [
        str(json_file.relative_to(REPO))
        for json_file in (REPO / "frozen").rglob("*.json")
        if not (REPO / "docs" / json_file.relative_to(REPO / "frozen")).with_suffix(".md").is_file()
    ]
    assert orphans == []
