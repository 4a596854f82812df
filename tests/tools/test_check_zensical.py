"""tools/check_zensical.py: it names every nav page missing from a build or short of its executed outputs,
and passes the site MkDocs builds (so its expectations match what docexec renders)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import check_zensical
from helpers import REPO

MKDOCS_YML = """site_name: tiny
nav:
  - Home: index.md
  - Notebook: book.ipynb
  - Section:
      - Page: sub/page.md
  - Elsewhere: https://example.org/
"""
PAGE_MD = """# Page
```python exec hidden
--8<-- "snippets/x.py:setup"
```
```python exec claim="It holds." alt="A figure."
--8<-- "snippets/x.py:check"
```
The value is `{py} x`.
"""
GOOD_PAGE_HTML = """<div class="docexec-output" role="group"></div>
<div class="admonition success docexec-claim"></div>
<figure class="docexec-figure"><img alt="A figure." src="data:,"></figure>
<p>The value is <span class="docexec-value">1</span>.</p>
<p class="docexec-stamp">NumPy 2</p>"""


SNIPPETS = """# --8<-- [start:setup]
x = 1
# --8<-- [end:setup]
# --8<-- [start:check]
x == 1
# --8<-- [end:check]
"""


def project(root, page_html=GOOD_PAGE_HTML, notebook=True):
    (root / "docs" / "sub").mkdir(parents=True)
    (root / "snippets").mkdir()
    (root / "snippets" / "x.py").write_text(SNIPPETS)
    (root / "mkdocs.yml").write_text(MKDOCS_YML)
    (root / "docs" / "index.md").write_text("# Home\n")
    (root / "docs" / "sub" / "page.md").write_text(PAGE_MD)
    site = root / "site"
    (site / "sub" / "page").mkdir(parents=True)
    (site / "index.html").write_text("<h1>Home</h1>")
    (site / "sub" / "page" / "index.html").write_text(page_html)
    if notebook:
        (site / "book").mkdir()
        (site / "book" / "index.html").write_text("<h1>Notebook</h1>")
    return site, root / "mkdocs.yml"


def test_a_complete_build_passes(tmp_path):
    site, config = project(tmp_path)
    assert check_zensical.check(site, config) == ([], ["index.md", "book.ipynb", "sub/page.md"])


def test_a_missing_page_and_missing_outputs_are_each_named(tmp_path):
    bare = GOOD_PAGE_HTML.replace("docexec-claim", "").replace("docexec-value", "").replace("docexec-figure", "")
    site, config = project(tmp_path, page_html=bare, notebook=False)
    problems, _ = check_zensical.check(site, config)
    assert problems == [
        "book.ipynb: missing (no book/index.html)",
        "sub/page.md: 0 claim boxes, the source has 1 claim= blocks",
        "sub/page.md: 0 figures, the source has 1 blocks with alt=",
        "sub/page.md: 0 inline values, the source has 1 `{py} ...`",
    ]


def test_a_page_with_no_output_at_all_fails(tmp_path):
    site, config = project(tmp_path, page_html="<p>Only prose: docexec did not run.</p>")
    problems, _ = check_zensical.check(site, config)
    assert "sub/page.md: no executed output, the source shows 1 exec blocks" in problems
    assert "sub/page.md: 0 version stamps, expected 1" in problems


def test_the_command_exits_1_naming_the_problem_and_0_without(tmp_path):
    command = [sys.executable, str(REPO / "tools" / "check_zensical.py")]
    site, config = project(tmp_path / "bad", notebook=False)
    bad = subprocess.run([*command, str(site), "--config", str(config)], capture_output=True, text=True)
    site, config = project(tmp_path / "good")
    good = subprocess.run([*command, str(site), "--config", str(config)], capture_output=True, text=True)
    assert bad.returncode == 1 and "book.ipynb: missing" in bad.stdout
    assert good.returncode == 0, good.stdout + good.stderr


@pytest.mark.backends
def test_the_site_mkdocs_builds_passes(built_site):
    problems, pages = check_zensical.check(built_site, REPO / "mkdocs.yml")
    assert problems == []
    assert len(pages) > 5
