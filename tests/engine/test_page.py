"""Reading a page (docexec/page.py): one scan gives every item with its span, and every page
mistake is an error naming the page and its line."""

from __future__ import annotations

import pytest

from docexec.model import Block, BlockOptions, InlineValue
from docexec.page import parse_page
from helpers import fails, section

MODULE = "# --8<-- [start:a]\na = 1\n# --8<-- [end:a]\n# --8<-- [start:b]\nb = 2\n# --8<-- [end:b]\n"


def test_one_scan_gives_blocks_with_their_sections_and_values_with_their_spans(project):
    project.write("snippets/s.py", MODULE)
    lines = ["# Title", "", *project.fence("a", "hidden").splitlines(), "Both `{py} a` and `{py}  a + 1 `.",
             "```text", "`{py} not_run`", "```", "<!-- docexec timeout=5 -->"]
    page = parse_page(lines, project.root)
    block, first, second = page.items
    assert isinstance(block, Block) and (block.start, block.end, block.line) == (2, 5, 3)
    assert block.section.path == "snippets/s.py" and block.section.name == "a" and block.code == "a = 1"
    assert block.section.first_line == 2 and block.options == BlockOptions(hidden=True)
    assert first == InlineValue("a", 6, 5, 13) and lines[5][first.start:first.end] == "`{py} a`"
    assert second.expression == "a + 1" and lines[5][second.start:second.end] == "`{py}  a + 1 `"
    assert page.directives == {9} and page.timeout == 5


@pytest.mark.parametrize(
    "page, kind, at",
    [
        ('```python exec color="red"\n--8<-- "snippets/s.py:a"\n```\n', "unknown_option", ":1"),
        ('```python exec\n--8<-- "snippets/s.py:a"\n--8<-- "snippets/s.py:a"\n```\n', "block_lines", ":1"),
        ('```python exec\nprint(1)\n```\n', "include_form", ":1"),
        ('```python exec\n--8<-- "snippets/s.py:a"\n', "exec_fence_unclosed", ":1"),
        ('```python exec\n--8<-- "snippets/s.py:zz"\n```\n', "no_section", ":1 (snippets/s.py)"),
        ("<!-- docexec timeout=soon -->\n", "directive_value", ":1"),
        ("<!-- docexec timeout=1 speed=9 -->\n", "unknown_directive", ":1"),
        ("```text\n`{py} 1`\n", "fence_unclosed", ""),
        # Include mistakes used to lose the page line (or reach pymdownx as a traceback).
        ('Text.\n\n```python exec\n--8<-- "snippets/s.py"\n```\n', "include_no_section", ":3"),
        ('```python exec\n--8<-- "snippets/s.py:my section"\n```\n', "include_name", ":1"),
        ('```python exec\n--8<-- "snippets/s.py:ünïcode"\n```\n', "include_name", ":1"),
        ("Prose.\n\n--8<--\n", "stray_include", ":3"),
        ('Prose.\n--8<-- "snippets/s.py:a"\n', "stray_include", ":2"),
        # Probes 48, 49: pymdownx.snippets expands -+8<-+ lines anywhere: the page showed code that never ran.
        ('```python\n--8<-- "snippets/s.py:a"\n```\n', "stray_include", ":2"),
        ('~~~\n--8<-- "snippets/s.py:a"\n~~~\n', "stray_include", ":2"),
        ('Prose.\n-8<- "snippets/s.py"\n', "stray_include", ":2"),
        ("Prose.\n  ---8<--- 'snippets/s.py'\n", "stray_include", ":2"),
        # Probe 50: a page includes sections of the project's modules only.
        ('```python exec\n--8<-- "docs/notes.md:a"\n```\n', "include_outside", ":1"),
        ('```python exec\n--8<-- "snippets/data.txt:a"\n```\n', "include_outside", ":1"),
        # A malformed inline value used to be shown as code, never run.
        ("Prose `{py}` here.\n", "inline_form", ":1:7"),
        ("Prose `{py} 1` and `{py}x`.\n", "inline_form", ":1:20"),
        ("Prose `{py} 1\n", "inline_form", ":1:7"),
    ],
)
def test_page_mistakes_are_errors_naming_the_page_and_line(project, page, kind, at):
    project.write("snippets/s.py", MODULE)
    with fails(kind, "docs/p.md" + at):
        project.render(page + "\nText `{py} 1`.\n")


def test_a_section_file_mistake_names_the_page_line_and_the_file_line(project):
    project.write("snippets/s.py", "# --8<-- [start:a]\na = 1\n# --8<-- [end:a b]\n")
    with fails("section_name", "docs/p.md:3 (snippets/s.py:3)"):
        project.render("Text.\n\n" + project.fence("a"))


def test_fences_that_do_not_execute_are_left_alone(project):
    """Apart from an unescaped include line, which pymdownx.snippets would expand: a page shows
    the syntax with pymdownx's escape, `;--8<--`."""
    html = project.render('````markdown\n```python exec\n;--8<-- "nothing.py:x"\n```\n`{py} 1/0`\n````\n')
    assert "nothing.py:x" in html and "{py} 1/0" in html


def test_an_inline_value_error_names_its_page_line_and_column(project):
    with fails("inline_raised", "docs/p.md:3:8", match="ZeroDivisionError"):
        project.render("# Title\n\nRatio: `{py} 1 / 0`.\n")


@pytest.mark.parametrize(
    "claims, kind, at",
    [
        (("Same words.", "Same words."), "claim_twice", "docs/p.md:4"),
        (("Same, words!", "same words"), "claim_twice", "docs/p.md:4"),
        (("!!!",), "claim_no_id", "docs/p.md:1"),
    ],
)
def test_claims_need_ids_of_their_own(project, claims, kind, at):
    project.write("snippets/s.py", "# --8<-- [start:a]\nTrue\n# --8<-- [end:a]\n")
    page = "".join(project.fence("a", f'claim="{sentence}"') for sentence in claims)
    with fails(kind, at):
        project.render(page)


@pytest.mark.parametrize(
    "directive",
    ["timeout=inf", "timeout=1e9", "timeout=-1", "timeout=nan", "memory=0", "memory=lots", "processes=0",
     "processes=2.5", "file-size=0", "output-limit=0"],
)
def test_limits_outside_a_sane_range_are_refused_clearly(project, directive):
    project.write("snippets/s.py", section("x", "print(1)"))
    key, value = directive.split("=")
    with fails("directive_value", "docs/p.md:1", match=rf": {key} .*'{value}'$"):  # names both
        project.render(f"<!-- docexec {directive} -->\n\n" + project.fence("x"))
