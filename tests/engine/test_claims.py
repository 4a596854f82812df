"""The claims index (docexec/claims.py): every claim of every other page, checked, in the
navigation's order (read from mkdocs.yml by MkDocs' own loader), as plain text."""

from __future__ import annotations

import pytest

from docexec import DocexecError

CLAIMS = """
    # --8<-- [start:true]
    sum([1, 2, 3]) == 6
    # --8<-- [end:true]
    # --8<-- [start:false]
    print("evidence")
    sum([1, 2, 3]) == 7
    # --8<-- [end:false]
"""
INDEX = "# All claims\n\n<!-- docexec claims-index -->\n"


def test_the_claims_index_lists_every_claim_with_its_page(project):
    project.write("snippets/s.py", CLAIMS)
    project.write("docs/a.md", "# Page A\n\n" + project.fence("true", 'claim="The numbers sum to six."'))
    html = project.render(INDEX, page="claims.md")
    assert '<a href="a.md#claim-the-numbers-sum-to-six">Page A</a>' in html
    assert "<td>The numbers sum to six.</td>" in html and "1 claims" in html


def test_a_false_claim_on_another_page_fails_the_index(project):
    project.write("snippets/s.py", CLAIMS)
    project.write("docs/a.md", "# Page A\n\n" + project.fence("false", 'claim="Seven."'))
    with pytest.raises(DocexecError, match=r"docs/a.md:3 \(snippets/s.py:5, section 'false'\): claim is false"):
        project.render(INDEX, page="claims.md")


def test_a_claim_in_the_index_is_plain_text_and_keeps_its_row(project):
    project.write("snippets/s.py", CLAIMS)
    sentence = "A | pipe and <img src=x onerror=alert(1)> [x](javascript:alert(1)) stay text."
    project.write("docs/a.md", "# Page A\n\n" + project.fence("true", f"claim='{sentence}'"))
    html = project.render(INDEX, page="claims.md")
    assert "<td>A | pipe and &lt;img src=x onerror=alert(1)&gt; [x](javascript:alert(1)) stay text.</td>" in html
    assert "<img src" not in html and 'href="javascript' not in html
    assert html.count("<td>") == 3  # one row of three cells: the pipe did not split it


def test_the_claims_index_follows_the_navigation_order(project):
    project.write("snippets/s.py", CLAIMS)
    for name, title in (("a.md", "Page A"), ("b.md", "Page B")):
        project.write(f"docs/{name}", f"# {title}\n\n" + project.fence("true", f'claim="{title} holds."'))
    project.write("mkdocs.yml", "nav:\n  - Second: b.md\n  - First: a.md\n")
    html = project.render(INDEX, page="claims.md")
    assert html.index("Page B holds.") < html.index("Page A holds.")


def test_the_navigation_is_read_as_mkdocs_reads_it(project):
    """Tags, inherited files and commented-out entries: what a regex over the text got wrong."""
    project.write("snippets/s.py", CLAIMS)
    for name, title in (("a.md", "Page A"), ("b.md", "Page B")):
        project.write(f"docs/{name}", f"# {title}\n\n" + project.fence("true", f'claim="{title} holds."'))
    project.write("base.yml", "nav:\n  # - Old first: a.md\n  - Second: b.md\n  - First: a.md\n")
    project.write("mkdocs.yml", "INHERIT: base.yml\nsite_name: !ENV [SITE_NAME, 'x']\n")
    html = project.render(INDEX, page="claims.md")
    assert html.index("Page B holds.") < html.index("Page A holds.")
