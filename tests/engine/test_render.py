"""What a page shows (docexec/render.py): code, real output, figures, values and claims,
spliced where the parser found them; nothing from a snippet or a sentence reaches the page as markup."""

from __future__ import annotations

import json

import pytest

from docexec import DocexecError, freeze


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


def test_output_is_html_escaped(project):
    project.write("snippets/s.py", """
        # --8<-- [start:x]
        print("<script>alert(1)</script>")
        # --8<-- [end:x]
    """)
    html = project.render(project.fence("x"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)</script>" not in html


def test_hidden_blocks_run_but_show_nothing_and_values_are_spliced_in_place(project):
    project.write("snippets/s.py", """
        # --8<-- [start:setup]
        secret = 6 * 7
        # --8<-- [end:setup]
    """)
    prose = "\nThe answer is `{py} secret`, twice `{py} 2 * secret`.\n"
    html = project.render(project.fence("setup", "hidden") + prose)
    assert "secret = 6 * 7" not in html
    assert ('The answer is <span class="docexec-value">42</span>, '
            'twice <span class="docexec-value">84</span>.') in html


def test_a_figure_becomes_an_svg_image_with_alt_text(project):
    project.write("snippets/s.py", """
        # --8<-- [start:plot]
        import matplotlib.pyplot as plt
        figure, axes = plt.subplots()
        axes.plot([0, 1], [1, 0])
        # --8<-- [end:plot]
    """)
    html = project.render(project.fence("plot", 'alt="A falling line."'))
    assert '<img alt="A falling line." src="data:image/svg+xml;base64,' in html
    # The error names the page, as every other error does.
    with pytest.raises(DocexecError, match=r"docs/p.md:3 \(snippets/s.py:2, section 'plot'\): the block draws a figure "
                                           r"but has no alt text"):
        project.render("Text.\n\n" + project.fence("plot"))


def test_an_expected_exception_is_shown_and_must_happen(project):
    project.write("snippets/s.py", """
        # --8<-- [start:bad]
        int("seven")
        # --8<-- [end:bad]
        # --8<-- [start:fine]
        int("7")
        # --8<-- [end:fine]
    """)
    html = project.render(project.fence("bad", 'raises="ValueError"'))
    assert "ValueError: invalid literal for int() with base 10: &#x27;seven&#x27;" in html
    with pytest.raises(DocexecError, match='marked raises="ValueError" but raised nothing'):
        project.render(project.fence("fine", 'raises="ValueError"'))
    with pytest.raises(DocexecError, match=r"failed at snippets/s.py:2 \(the page expected KeyError\)"):
        project.render(project.fence("bad", 'raises="KeyError"'))


CLAIM = "# --8<-- [start:true]\nsum([1, 2, 3]) == 6\n# --8<-- [end:true]\n"


def test_a_true_claim_renders_as_verified_with_versions_and_an_anchor(project):
    project.write("snippets/s.py", CLAIM)
    html = project.render(project.fence("true", 'claim="The numbers sum to six."'))
    assert "Verified" in html and '<p id="claim-the-numbers-sum-to-six">The numbers sum to six.</p>' in html
    assert "when this page was built, with NumPy" in html


@pytest.mark.parametrize(
    "sentence, shown",
    [
        ("An <img src=x onerror=alert(1)> is text.", "An &lt;img src=x onerror=alert(1)&gt; is text."),
        ("A [link](javascript:alert(1)) is text.", "A [link](javascript:alert(1)) is text."),
        ("Stars *stay* and {: .attr } stays.", "Stars *stay* and {: .attr } stays."),
        ("Code `x < y` is code.", "Code <code>x &lt; y</code> is code."),
    ],
)
def test_a_claim_sentence_is_plain_text(project, sentence, shown):
    project.write("snippets/s.py", CLAIM)
    html = project.render(project.fence("true", f"claim='{sentence}'"))
    assert f">{shown}</p>" in html
    assert "<img src" not in html and 'href="javascript' not in html and "<em>" not in html


def test_a_record_that_does_not_match_the_page_is_an_error_not_a_misplaced_output(project):
    project.write("snippets/s.py", "# --8<-- [start:a]\nprint('a')\n# --8<-- [end:a]\n")
    page = project.fence("a") + "\nValue `{py} 1 + 1`.\n"
    project.render(page)
    stored = project.root / "frozen" / "p.json"
    record = json.loads(stored.read_text())
    # A record with the right number of results, one of them another item's (the store
    # rejects a wrong count or a hand edit first: tests/engine/test_compare.py).
    record["results"][-1] = {"expression": "2 + 2", "value": "4"}
    record["checksum"] = freeze.record_checksum(record)
    stored.write_text(json.dumps(record))
    with pytest.raises(DocexecError, match=r"docs/p.md:5:7: the record's result for this value is of '2 \+ 2'"):
        project.render(page)


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
