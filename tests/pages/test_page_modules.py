"""Each page has its own snippets module, and the page runs all of it, top to bottom.

That is what lets pytest import a page's module and test exactly what the page ran: every
line of the module is inside a section, and the page includes every section in file order
(hidden ones for set-up). Modules shared by several pages (the reference implementations)
are included piecemeal and are tested on their own.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

from docexec.page import parse_page, strip_front_matter
from docexec.sections import parse_sections
from docexec.sections import stray_lines as lines_outside_sections
from helpers import REPO

SHARED = {"snippets/padding.py", "snippets/conv.py", "snippets/keras_ref.py"}


def includes_by_page() -> dict[str, list[tuple[str, str]]]:
    pages = {}
    for file in sorted((REPO / "docs").rglob("*.md")):
        page = parse_page(strip_front_matter(file.read_text(encoding="utf-8")).split("\n"), REPO)
        pages[file.relative_to(REPO / "docs").as_posix()] = [
            (block.section.path, block.section.name) for block in page.blocks
        ]
    return pages


def page_modules() -> dict[str, list[str]]:
    """module path -> the pages including it, for modules that are not shared references."""
    users = defaultdict(set)
    for page, includes in includes_by_page().items():
        for path, _ in includes:
            users[path].add(page)
    return {path: sorted(pages) for path, pages in users.items() if path not in SHARED}


MODULES = page_modules()


def test_every_page_with_code_has_a_module_of_its_own():
    assert {pages[0] for pages in MODULES.values()} == {
        page for page, includes in includes_by_page().items() if includes
    }


@pytest.mark.parametrize("module", sorted(MODULES))
def test_a_page_module_belongs_to_one_page(module):
    assert len(MODULES[module]) == 1, f"{module} is included by {MODULES[module]}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_line_of_a_page_module_is_inside_a_section(module):
    assert lines_outside_sections((REPO / module).read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_the_page_runs_every_section_of_its_module_in_order(module):
    page = MODULES[module][0]
    shown = [name for path, name in includes_by_page()[page] if path == module]
    defined = list(parse_sections((REPO / module).read_text(encoding="utf-8"), module))
    assert shown == defined, f"docs/{page} includes {shown}, but {module} defines {defined}"


def test_the_checker_catches_a_stray_line():
    text = '"""Doc."""\nimport os\n# --8<-- [start:a]\nx = 1\n# --8<-- [end:a]\n'
    assert lines_outside_sections(text) == [2]
