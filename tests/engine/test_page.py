"""Reading a page (docexec/page.py): one scan gives every item with its span, and every page
mistake is an error naming the page and its line."""

from __future__ import annotations

import pytest

from docexec import DocexecError
from docexec.model import Block, BlockOptions, InlineValue
from docexec.page import parse_page
from helpers import section

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
    "page, message",
    [
        ('```python exec color="red"\n--8<-- "snippets/s.py:a"\n```\n', ":1: unknown option 'color'"),
        ('```python exec\n--8<-- "snippets/s.py:a"\n--8<-- "snippets/s.py:a"\n```\n', ":1: .*exactly one include line"),
        ('```python exec\nprint(1)\n```\n', ":1: expected an include line"),
        ('```python exec\n--8<-- "snippets/s.py:a"\n', ":1: the `python exec` fence is never closed"),
        ('```python exec\n--8<-- "snippets/s.py:zz"\n```\n', ":1 \\(snippets/s.py\\): the file has no section 'zz'"),
        ("<!-- docexec timeout=soon -->\n", ":1: timeout must be a number of seconds between 0 and 86400"),
        # Include mistakes used to lose the page line (or reach pymdownx as a traceback).
        ('Text.\n\n```python exec\n--8<-- "snippets/s.py"\n```\n', ":3: .*names no section"),
        ('```python exec\n--8<-- "snippets/s.py:my section"\n```\n', ":1: .*names the section 'my section'"),
        ('```python exec\n--8<-- "snippets/s.py:ünïcode"\n```\n', ":1: .*names the section 'ünïcode'"),
        ("Prose.\n\n--8<--\n", ":3: an include line outside a `python exec` fence"),
        ('Prose.\n--8<-- "snippets/s.py:a"\n', ":2: an include line outside a `python exec` fence"),
        # Probes 48, 49: pymdownx.snippets expands -+8<-+ lines anywhere: the page showed code that never ran.
        ('```python\n--8<-- "snippets/s.py:a"\n```\n', ":2: an include line outside a `python exec` fence"),
        ('~~~\n--8<-- "snippets/s.py:a"\n~~~\n', ":2: an include line outside a `python exec` fence"),
        ('Prose.\n-8<- "snippets/s.py"\n', ":2: an include line outside a `python exec` fence"),
        ("Prose.\n  ---8<--- 'snippets/s.py'\n", ":2: an include line outside a `python exec` fence"),
        # Probe 50: a page includes sections of the project's modules only.
        ('```python exec\n--8<-- "docs/notes.md:a"\n```\n', ":1: .*includes sections of snippets/\\*.py only"),
        ('```python exec\n--8<-- "snippets/data.txt:a"\n```\n', ":1: .*includes sections of snippets/\\*.py only"),
        # A malformed inline value used to be shown as code, never run.
        ("Prose `{py}` here.\n", ":1:7: an inline value is written"),
        ("Prose `{py} 1` and `{py}x`.\n", ":1:20: an inline value is written"),
        ("Prose `{py} 1\n", ":1:7: an inline value is written"),
    ],
)
def test_page_mistakes_are_errors_naming_the_page_and_line(project, page, message):
    project.write("snippets/s.py", MODULE)
    with pytest.raises(DocexecError, match=r"^docexec: docs/p.md" + message):
        project.render(page + "\nText `{py} 1`.\n")


def test_a_section_file_mistake_names_the_page_line_and_the_file_line(project):
    project.write("snippets/s.py", "# --8<-- [start:a]\na = 1\n# --8<-- [end:a b]\n")
    with pytest.raises(DocexecError, match=r"docs/p.md:3 \(snippets/s.py:3\): section marker with the name 'a b'"):
        project.render("Text.\n\n" + project.fence("a"))


def test_fences_that_do_not_execute_are_left_alone(project):
    """Apart from an unescaped include line, which pymdownx.snippets would expand: a page shows
    the syntax with pymdownx's escape, `;--8<--`."""
    html = project.render('````markdown\n```python exec\n;--8<-- "nothing.py:x"\n```\n`{py} 1/0`\n````\n')
    assert "nothing.py:x" in html and "{py} 1/0" in html


def test_an_inline_value_error_names_its_page_line_and_column(project):
    with pytest.raises(DocexecError, match=r"docs/p.md:3:8: `\{py\} 1 / 0` raised ZeroDivisionError"):
        project.render("# Title\n\nRatio: `{py} 1 / 0`.\n")


@pytest.mark.parametrize(
    "claims, message",
    [
        (("Same words.", "Same words."), "docs/p.md:4: the claim 'Same words.' is already made at page line 1"),
        (("Same, words!", "same words"),
         "docs/p.md:4: the claim 'same words' gets the id 'claim-same-words', as the claim 'Same, words!'"),
        (("!!!",), "docs/p.md:1: the claim '!!!' has no letters or digits"),
    ],
)
def test_claims_need_ids_of_their_own(project, claims, message):
    project.write("snippets/s.py", "# --8<-- [start:a]\nTrue\n# --8<-- [end:a]\n")
    page = "".join(project.fence("a", f'claim="{sentence}"') for sentence in claims)
    with pytest.raises(DocexecError, match=message.replace("(", r"\(").replace("!", r"\!")):
        project.render(page)


@pytest.mark.parametrize(
    "directive, message",
    [
        ("timeout=inf", r"timeout must be a number of seconds between 0 and 86400, got 'inf'"),
        ("timeout=1e9", r"timeout must be a number of seconds between 0 and 86400, got '1e9'"),
        ("timeout=-1", r"timeout must be a number of seconds between 0 and 86400, got '-1'"),
        ("timeout=nan", r"timeout must be a number of seconds between 0 and 86400, got 'nan'"),
        ("memory=0", r"memory must be a number of MB between 256 and 1048576, got '0'"),
        ("memory=lots", r"memory must be a number of MB between 256 and 1048576, got 'lots'"),
        ("processes=0", r"processes must be a whole number between 1 and 4096, got '0'"),
        ("processes=2.5", r"processes must be a whole number between 1 and 4096, got '2.5'"),
    ],
)
def test_limits_outside_a_sane_range_are_refused_clearly(project, directive, message):
    project.write("snippets/s.py", section("x", "print(1)"))
    with pytest.raises(DocexecError, match=r"docs/p.md:1: " + message):
        project.render(f"<!-- docexec {directive} -->\n\n" + project.fence("x"))
