"""What a page shows (docexec/render.py): code, real output, figures, values and claims,
spliced where the parser found them; nothing from a snippet or a sentence reaches the page as
markup. One test runs its code end to end; the others render a record made by hand, frozen
under the page's key as a warm build finds it, and start no process."""

from __future__ import annotations

import re
import textwrap
from urllib.parse import unquote

import pytest

from docexec.model import BlockRecord, BlockResult, ValueRecord
from helpers import fails


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


def shown(project, text: str, results: list, page: str = "p.md", extensions=(), **options) -> str:
    """The HTML of `text` rendered from the record `results` (frozen under the page's current
    key, as a warm build finds it): the page's code does not run, no worker starts. A page
    with `backends=` blocks stores the installed backends' versions, as a run would."""
    from docexec.backends import BACKENDS, backend_versions, library_versions, page_backends
    from docexec.cache import PageCache
    from docexec.freeze import Store, page_key
    from docexec.model import Record
    from docexec.page import key_items, parse_page

    def refuse(*args):
        raise AssertionError("rendering a frozen record ran the page")

    text = textwrap.dedent(text).lstrip("\n")
    versions = dict(library_versions())
    parsed = parse_page(text.split("\n"), project.root)
    backends = backend_versions(page_backends(parsed, BACKENDS), BACKENDS)
    key = page_key(key_items(parsed), {**versions, **({"backends": backends} if backends else {})})
    Store(project.root / "frozen").save(page, Record(page, key, versions, results, {}, backends or None))
    project.write(f"docs/{page}", text)
    PageCache.memory.clear()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(PageCache, "execute", refuse)
        return project.markdown(page, extensions=extensions, **options).convert(text)


def output(*lines: str, value=None, error=None, figures=(), claim: bool = False, scope=None, dark=()) -> BlockResult:
    return BlockResult(list(lines), value, error, [list(figure) for figure in figures], scope, claim,
                       [list(figure) for figure in dark])


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
    assert '<img alt="A falling line." src="data:image/svg+xml,%3Csvg%3E%0A%3C/svg%3E">' in html
    # The error names the page, as every other error does.
    with fails("no_alt", "docs/p.md:3 (snippets/s.py:2, section 'plot')"):
        shown(project, "Text.\n\n" + project.fence("plot"), drawn)


def test_an_expected_exception_is_shown(project):
    project.write("snippets/s.py", "# --8<-- [start:bad]\nint('seven')\n# --8<-- [end:bad]\n")
    raised = output(error="ValueError: invalid literal for int() with base 10: 'seven'")
    html = shown(project, project.fence("bad", 'raises="ValueError"'), [BlockRecord("snippets/s.py:bad", raised)])
    assert "ValueError: invalid literal for int() with base 10: &#x27;seven&#x27;" in html


CLAIM = "# --8<-- [start:true]\nsum([1, 2, 3]) == 6\n# --8<-- [end:true]\n"


def claimed(sentence: str) -> list:
    return [BlockRecord("snippets/s.py:true", output(value=["True"], claim=True), claim=sentence)]


def test_a_claim_box_is_its_scope_and_sentence_then_a_closed_check(project):
    """Reader review, finding 4: one paragraph (the scope as a badge, then the sentence, with
    the claim's anchor), then a closed "Show the check" with the code, its lines and the
    result in one line of text (not an output block with a copy button); no library versions
    in the box: the page's stamp lists them."""
    project.write("snippets/s.py", CLAIM)
    sentence = "The numbers sum to six."
    html = shown(project, project.fence("true", f'claim="{sentence}"'), claimed(sentence))
    box = html[html.index('<div class="admonition success docexec-claim">'):html.index('<p class="docexec-stamp">')]
    assert '<p class="admonition-title">' not in box
    assert re.search(r'<p id="claim-the-numbers-sum-to-six"><span class="docexec-scope"[^>]*>'
                     r'<span aria-hidden="true">✓ </span>Verified on this example</span> '
                     r'The numbers sum to six.</p>', box)
    assert '<details class="docexec-check"><summary>Show the check</summary>' in box and "<details open" not in box
    assert "<code>snippets/s.py</code>, line 2, run when this page was built" in box
    assert '<p class="docexec-result"><span class="docexec-label">Result</span> <code>True</code></p>' in box
    assert "NumPy" not in box and "docexec-output" not in box


def test_the_check_links_to_its_lines_at_the_built_commit(project):
    project.write("snippets/s.py", "# --8<-- [start:true]\nsix = sum([1, 2, 3])\nsix == 6\n# --8<-- [end:true]\n")
    sentence = "The numbers sum to six."
    html = shown(project, project.fence("true", f'claim="{sentence}"'), claimed(sentence),
                 source="https://github.com/o/r/blob/0123abc/")
    assert ('<a href="https://github.com/o/r/blob/0123abc/snippets/s.py#L2-L3"><code>snippets/s.py</code>, '
            'lines 2–3</a>') in html


def test_source_url_is_the_commit_built_or_main_outside_git(tmp_path, monkeypatch):
    """Links name the commit a build ran (so two builds of one commit are the same); a build
    outside git names main."""
    import subprocess

    from docexec import config as module
    from docexec.config import source_url

    monkeypatch.setattr(module, "SOURCE_URL_SECONDS", 0.0)  # each answer asked afresh

    config = {"repo_url": "https://github.com/o/r/"}
    assert source_url(tmp_path, config) == "https://github.com/o/r/blob/main/"
    assert source_url(tmp_path, {}) == ""
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "f.txt").write_text("x")
    subprocess.run([*git, "-C", str(tmp_path), "add", "."], check=True)
    subprocess.run([*git, "-C", str(tmp_path), "commit", "-q", "-m", "x"], check=True)
    commit = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True,
                            text=True, check=True).stdout.strip()
    assert source_url(tmp_path, config) == f"https://github.com/o/r/blob/{commit}/"
    assert source_url(tmp_path / "site", config) == f"https://github.com/o/r/blob/{commit}/site/"
    monkeypatch.setattr(module, "SOURCE_URL_SECONDS", 10.0)  # a build's pages share one answer
    assert source_url(tmp_path / "site", config) == source_url(tmp_path / "site", config)


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
    assert f"</span> {shown_as}</p>" in html
    assert "<img src" not in html and 'href="javascript' not in html and "<em>" not in html


def test_a_record_that_does_not_match_the_page_is_an_error_not_a_misplaced_output(project):
    project.write("snippets/s.py", "# --8<-- [start:a]\nprint('a')\n# --8<-- [end:a]\n")
    # A record with the right number of results, one of them another item's (the store
    # rejects a wrong count or a hand edit first: tests/engine/test_compare.py).
    results = [BlockRecord("snippets/s.py:a", output("a")), ValueRecord("2 + 2", "4")]
    with fails("record", "docs/p.md:5:7", match=r"'2 \+ 2'$"):
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
    assert '!!! success docexec-claim ""' in lines
    assert any("Verified on this example" in part for part in stash)
    assert lines[-1].startswith("Twelve is <") and "12" in stash[int(lines[-1][11:-2])]
    assert "NumPy 1, TensorFlow 2 and Keras 3" in stamp_html(record, {})


ON_BACKENDS = '```python exec backends="tf-eigen tf-onednn jax" {options}\n--8<-- "snippets/s.py:{name}"\n```\n'


def test_a_claim_on_several_backends_shows_one_result_line(project):
    """Reader review, finding 4: one "True on TF · Eigen, TF · oneDNN, JAX" line, not one
    output block (with its copy button) per backend."""
    project.write("snippets/s.py", CLAIM)
    sentence = "The numbers sum to six."
    runs = {name: output(value=["True"], claim=True) for name in ("tf-eigen", "tf-onednn", "jax")}
    html = shown(project, ON_BACKENDS.format(name="true", options=f'claim="{sentence}"'),
                 [BlockRecord("snippets/s.py:true", backends=runs, claim=sentence)])
    assert "Verified on this example · 3 backends</span> The numbers sum to six." in html
    assert html.count("docexec-result") == 1 and "<code>True on TF · Eigen, TF · oneDNN, JAX</code>" in html
    assert "docexec-output" not in html and "tabbed-set" not in html


def test_tabs_are_short_names_without_glossary_underlines_and_the_stamp_has_the_versions(project):
    """Reader review, finding 7: "TF · Eigen", not "TensorFlow 2.21.0 · Eigen"; the glossary's
    abbr pass does not reach the label; the page's stamp lists each backend's versions once."""
    from docexec.backends import BACKENDS

    project.write("snippets/s.py", "# --8<-- [start:show]\nprint('hi')\n# --8<-- [end:show]\n")
    runs = {name: output(f"hi from {name}") for name in ("tf-eigen", "tf-onednn", "jax")}
    text = ON_BACKENDS.format(name="show", options="") + "\n*[Eigen]: A C++ library.\n"
    html = shown(project, text, [BlockRecord("snippets/s.py:show", backends=runs)],
                 extensions=["abbr", "pymdownx.tabbed"])
    labels = re.findall(r"<label[^>]*>(.*?)</label>", html)
    assert labels == [f'<span class="docexec-tab">{name}</span>' for name in ("TF · Eigen", "TF · oneDNN", "JAX")]
    stamp = html[html.index('<p class="docexec-stamp">'):]
    tensorflow, jax = BACKENDS["tf-eigen"].versions(), BACKENDS["jax"].versions()
    assert (f"TF · Eigen and TF · oneDNN with TensorFlow {tensorflow['TensorFlow']} and Keras {tensorflow['Keras']}; "
            f"JAX with JAX {jax['JAX']}, jaxlib {jax['jaxlib']} and Keras {jax['Keras']}.") in stamp
    assert stamp.count("TensorFlow") == 2  # the build's own, and the TF backends' once


def test_a_block_on_one_backend_has_no_tabs_but_says_where_it_ran(project):
    from docexec.backends import BACKENDS

    project.write("snippets/s.py", "# --8<-- [start:show]\nprint('hi')\n# --8<-- [end:show]\n")
    text = '```python exec backends="jax"\n--8<-- "snippets/s.py:show"\n```\n'
    html = shown(project, text, [BlockRecord("snippets/s.py:show", backends={"jax": output("hi")})],
                 extensions=["pymdownx.tabbed"])
    assert "tabbed-set" not in html
    assert f'<p class="docexec-ran-on">Ran on JAX {BACKENDS["jax"].versions()["JAX"]}</p>' in html


def test_a_figure_has_a_dark_variant_with_the_same_alt_text(project):
    """Reader review, finding 9: the page shows the figure drawn for its palette."""
    project.write("snippets/s.py", "# --8<-- [start:plot]\nimport matplotlib.pyplot as plt\nplt.plot([0, 1])\n"
                                   "# --8<-- [end:plot]\n")
    drawn = [BlockRecord("snippets/s.py:plot", output(figures=[["<svg>", "</svg>"]], dark=[["<svg>dark</svg>"]]))]
    html = shown(project, project.fence("plot", 'alt="A rising line."'), drawn)
    light, dark = re.findall(r'<img class="docexec-(light|dark)" alt="A rising line." src="([^"]+)">', html)
    assert (light[0], dark[0]) == ("light", "dark")
    assert unquote(dark[1].split(",", 1)[1]) == "<svg>dark</svg>"


@pytest.mark.parametrize("axes", [
    {"p": ["<img src=x onerror=alert(7)>", "<pad>"]},
    {"p": ["a\n\n<script>alert(8)</script>\n\n", "b"]},
    {"<svg onload=alert(9)>\n\n!!! note": ["1", "2"]},
])
def test_a_scope_from_a_worker_is_shown_as_one_line_of_text(project, axes):
    """Reliability probe 3, items 9-11, whatever the worker sent (not only what over() makes):
    the box escapes the scope's keys and values, and their newlines, in its badge."""
    project.write("snippets/s.py", CLAIM)
    sentence = "Values are text."
    result = output(value=["True on 2 configurations"], claim=True, scope={"count": 2, "axes": axes})
    html = shown(project, project.fence("true", f'claim="{sentence}"'),
                 [BlockRecord("snippets/s.py:true", result, claim=sentence)])
    assert "<img src=x" not in html and "<pad>" not in html and "<script>" not in html and "<svg onload" not in html
    assert "admonition note" not in html and html.count('class="admonition') == 1
    tooltip = re.search(r'<span class="docexec-scope" title="Verified by running the check below on ([^"]*)">', html)[1]
    over = re.search(r'run when this page was built, over (.*?)</p>', html, re.DOTALL)[1]
    for shown_scope in (tooltip, over):
        assert shown_scope.startswith("2 configurations (") and "\n" not in shown_scope and "&lt;" in shown_scope
