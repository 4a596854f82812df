"""What a page shows (docexec/render.py): code, real output, figures, values and claims,
spliced where the parser found them; nothing from a snippet or a sentence reaches the page as
markup. One test runs its code end to end; the others render a record made by hand, frozen
under the page's key as a warm build finds it, and start no process."""

from __future__ import annotations

import textwrap

import pytest

from docexec import DocexecError
from docexec.model import BlockRecord, BlockResult, ValueRecord


def test_a_block_shows_its_code_and_real_output(project):
    project.write("snippets/s.py", """
        # --8<-- [start:hello]
        import numpy as np
        print("hi from", "numpy")
        np.array([[-1e-9, 0.5], [1.0, -2.25]])
        # --8<-- [end:hello]
    """)
    html = project.render(project.fence("hello"))
    assert 'snippets/s.py</span>' in html  # the code's caption names its file
    assert "hi from numpy" in html
    assert "[[ 0.0000  0.5000]\n [ 1.0000 -2.2500]]" in html  # fixed precision, no -0
    assert "docexec-stamp" in html and "NumPy" in html


def shown(project, text: str, results: list, page: str = "p.md") -> str:
    """The HTML of `text` rendered from the record `results` (frozen under the page's current
    key, as a warm build finds it): the page's code does not run, no worker starts."""
    from docexec.backends import library_versions
    from docexec.cache import PageCache
    from docexec.freeze import Store, page_key
    from docexec.model import Record
    from docexec.page import key_items, parse_page

    def refuse(*args):
        raise AssertionError("rendering a frozen record ran the page")

    text = textwrap.dedent(text).lstrip("\n")
    versions = dict(library_versions())
    key = page_key(key_items(parse_page(text.split("\n"), project.root)), versions)
    Store(project.root / "frozen").save(page, Record(page, key, versions, results))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(PageCache, "execute", refuse)
        return project.render(text, page)


def output(*lines: str, value=None, error=None, figures=(), claim: bool = False) -> BlockResult:
    return BlockResult(list(lines), value, error, [list(figure) for figure in figures], None, claim)


def test_output_is_html_escaped(project):
    project.write("snippets/s.py", "# --8<-- [start:x]\nprint('<script>alert(1)</script>')\n# --8<-- [end:x]\n")
    html = shown(project, project.fence("x"), [BlockRecord("snippets/s.py:x", output("<script>alert(1)</script>"))])
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)</script>" not in html


def test_hidden_blocks_show_nothing_and_values_are_spliced_in_place(project):
    project.write("snippets/s.py", "# --8<-- [start:setup]\nsecret = 6 * 7\n# --8<-- [end:setup]\n")
    prose = "\nThe answer is `{py} secret`, twice `{py} 2 * secret`.\n"
    html = shown(project, project.fence("setup", "hidden") + prose, [
        BlockRecord("snippets/s.py:setup", output()), ValueRecord("secret", "42"), ValueRecord("2 * secret", "84")])
    assert "secret = 6 * 7" not in html
    assert ('The answer is <span class="docexec-value">42</span>, '
            'twice <span class="docexec-value">84</span>.') in html


def test_a_figure_becomes_an_svg_image_with_alt_text(project):
    project.write("snippets/s.py", "# --8<-- [start:plot]\nimport matplotlib.pyplot as plt\nplt.plot([0, 1])\n"
                                   "# --8<-- [end:plot]\n")
    drawn = [BlockRecord("snippets/s.py:plot", output(figures=[["<svg>", "</svg>"]]))]
    html = shown(project, project.fence("plot", 'alt="A falling line."'), drawn)
    assert '<img alt="A falling line." src="data:image/svg+xml;base64,' in html
    # The error names the page, as every other error does.
    with pytest.raises(DocexecError, match=r"docs/p.md:3 \(snippets/s.py:2, section 'plot'\): the block draws a figure "
                                           r"but has no alt text"):
        shown(project, "Text.\n\n" + project.fence("plot"), drawn)


def test_an_expected_exception_is_shown(project):
    project.write("snippets/s.py", "# --8<-- [start:bad]\nint('seven')\n# --8<-- [end:bad]\n")
    raised = output(error="ValueError: invalid literal for int() with base 10: 'seven'")
    html = shown(project, project.fence("bad", 'raises="ValueError"'), [BlockRecord("snippets/s.py:bad", raised)])
    assert "ValueError: invalid literal for int() with base 10: &#x27;seven&#x27;" in html


CLAIM = "# --8<-- [start:true]\nsum([1, 2, 3]) == 6\n# --8<-- [end:true]\n"


def claimed(sentence: str) -> list:
    return [BlockRecord("snippets/s.py:true", output(value=["True"], claim=True), claim=sentence)]


def test_a_true_claim_renders_as_verified_with_versions_and_an_anchor(project):
    project.write("snippets/s.py", CLAIM)
    sentence = "The numbers sum to six."
    html = shown(project, project.fence("true", f'claim="{sentence}"'), claimed(sentence))
    assert "Verified" in html and '<p id="claim-the-numbers-sum-to-six">The numbers sum to six.</p>' in html
    assert "when this page was built, with NumPy" in html


@pytest.mark.parametrize(
    "sentence, shown_as",
    [
        ("An <img src=x onerror=alert(1)> is text.", "An &lt;img src=x onerror=alert(1)&gt; is text."),
        ("A [link](javascript:alert(1)) is text.", "A [link](javascript:alert(1)) is text."),
        ("Stars *stay* and {: .attr } stays.", "Stars *stay* and {: .attr } stays."),
        ("Code `x < y` is code.", "Code <code>x &lt; y</code> is code."),
    ],
)
def test_a_claim_sentence_is_plain_text(project, sentence, shown_as):
    project.write("snippets/s.py", CLAIM)
    html = shown(project, project.fence("true", f"claim='{sentence}'"), claimed(sentence))
    assert f">{shown_as}</p>" in html
    assert "<img src" not in html and 'href="javascript' not in html and "<em>" not in html


def test_a_record_that_does_not_match_the_page_is_an_error_not_a_misplaced_output(project):
    project.write("snippets/s.py", "# --8<-- [start:a]\nprint('a')\n# --8<-- [end:a]\n")
    # A record with the right number of results, one of them another item's (the store
    # rejects a wrong count or a hand edit first: tests/engine/test_compare.py).
    results = [BlockRecord("snippets/s.py:a", output("a")), ValueRecord("2 + 2", "4")]
    with pytest.raises(DocexecError, match=r"docs/p.md:5:7: the record's result for this value is of '2 \+ 2'"):
        shown(project, project.fence("a") + "\nValue `{py} 1 + 1`.\n", results)


def test_a_record_renders_without_running_anything():
    """render_page is a pure function of the parsed page and its record: no worker starts."""
    from docexec.model import BlockOptions, BlockRecord, BlockResult, Record, ValueRecord
    from docexec.page import parse_page
    from docexec.render import render_page, stamp_html
    from helpers import REPO

    lines = ['```python exec claim="The demo holds."', '--8<-- "snippets/demo.py:setup"', "```",
             "Twelve is `{py} x.size`."]
    page = parse_page(lines, REPO)
    assert page.blocks[0].options == BlockOptions(claim="The demo holds.")
    shown = BlockResult(["checked"], ["True"], None, [], None, True)
    results = [BlockRecord("snippets/demo.py:setup", shown, claim="The demo holds."), ValueRecord("x.size", "12")]
    record = Record("p.md", "key", {"NumPy": "1", "TensorFlow": "2", "Keras": "3"}, results)
    stash = []
    lines = render_page(page, record, lambda html: stash.append(html) or f"<{len(stash) - 1}>")
    assert '!!! success docexec-claim "Verified on this example"' in lines
    assert lines[-1].startswith("Twelve is <") and "12" in stash[int(lines[-1][11:-2])]
    assert "NumPy 1, TensorFlow 2 and Keras 3" in stamp_html(record, {})
