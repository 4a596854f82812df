"""The claims index (docexec/claims.py): every claim of every other page, checked, in the
navigation's order (read from mkdocs.yml by MkDocs' own loader), as plain text."""

from __future__ import annotations

import re

import pytest

from helpers import fails

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


def test_the_claims_index_lists_every_claim_under_its_page(project):
    """Reader review, finding 5: one heading per page, its claims as a list of links with what
    each ran on as a badge; no table (it scrolled sideways on a phone), no repeated H1."""
    project.write("snippets/s.py", CLAIMS)
    project.write("docs/a.md", "# Page A\n\n" + project.fence("true", 'claim="The numbers sum to six."')
                  + project.fence("true", 'claim="Six is the sum."'))
    html = project.render(INDEX, page="claims.md")
    assert html.count("<h2") == 1 and "<h2>Page A</h2>" in html and "<table" not in html
    assert ('<li><a href="a.md#claim-the-numbers-sum-to-six">The numbers sum to six.</a> '
            '<span class="docexec-scope">this example</span></li>') in html
    assert html.count("<li>") == 2 and "2 claims" in html and html.count("Page A") == 1


def test_the_heading_is_the_navigation_title(project):
    project.write("snippets/s.py", CLAIMS)
    project.write("docs/a.md", "# A long question that is the page's H1?\n\n" + project.fence("true", 'claim="Six."'))
    project.write("mkdocs.yml", "nav:\n  - 'Short <b>&</b> [x](y)': a.md\n")
    html = project.render(INDEX, page="claims.md")
    assert "<h2>Short &lt;b&gt;&amp;&lt;/b&gt; [x](y)</h2>" in html and "long question" not in html


def test_a_comment_in_a_fence_before_the_h1_is_not_the_title(project):
    """Reliability probe 3, item 12: the title was "install it first"."""
    project.write("snippets/s.py", CLAIMS)
    project.write("docs/a.md", "```bash\n# install it first\n```\n\n~~~~\n# nor this\n~~~\n~~~~\n\n# Page A\n\n"
                  + project.fence("true", 'claim="Six."'))
    html = project.render(INDEX, page="claims.md")
    assert "<h2>Page A</h2>" in html and "install" not in html and "nor this" not in html


def test_a_false_claim_on_another_page_fails_the_index(project):
    project.write("snippets/s.py", CLAIMS)
    project.write("docs/a.md", "# Page A\n\n" + project.fence("false", 'claim="Seven."'))
    with fails("claim_false", "docs/a.md:3 (snippets/s.py:5, section 'false')"):
        project.render(INDEX, page="claims.md")


def test_a_claim_in_the_index_is_plain_text_and_keeps_its_item(project):
    project.write("snippets/s.py", CLAIMS)
    sentence = "A | pipe and <img src=x onerror=alert(1)> [x](javascript:alert(1)) stay text."
    project.write("docs/a.md", "# Page A\n\n" + project.fence("true", f"claim='{sentence}'"))
    html = project.render(INDEX, page="claims.md")
    assert (">A | pipe and &lt;img src=x onerror=alert(1)&gt; [x](javascript:alert(1)) stay text.</a>") in html
    assert "<img src" not in html and 'href="javascript' not in html
    assert html.count("<li>") == 1


@pytest.mark.parametrize("values", [
    ["<img src=x onerror=alert(7)>", "<pad>"],
    ["a\n\n<script>alert(8)</script>\n\n", "b"],
])
def test_what_a_claim_ran_on_is_text_in_the_index(project, values):
    """Reliability probe 3, items 9 and 10: the index's badge escapes the over() values, and a
    newline in one cannot end the list."""
    project.write("snippets/s.py", f"# --8<-- [start:x]\nfrom docexec.checks import grid, over\n"
                                   f"over(grid(p={values!r}), lambda p: True)\n# --8<-- [end:x]\n")
    project.write("docs/a.md", "# Page A\n\n" + project.fence("x", 'claim="Values are text."'))
    html = project.render(INDEX, page="claims.md")
    assert "<img src=x" not in html and "<pad>" not in html and "<script>" not in html
    assert html.count("<li>") == 1 and re.search(r'<span class="docexec-scope">2 configurations \(p [^<]*&lt;', html)


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
