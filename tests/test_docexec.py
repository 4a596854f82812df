"""The build engine against real Markdown: sections, execution, errors, freezing, claims."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import markdown
import pytest

from docexec import DocexecError, DocexecExtension
from docexec import freeze
from docexec.engine import Engine
from docexec.sections import SectionError, load_section, parse_sections


# ----------------------------------------------------------------------------- helpers


@pytest.fixture
def project(tmp_path, monkeypatch):
    """An empty project with its own `snippets` package, importable instead of the real one."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "snippets").mkdir()
    (tmp_path / "snippets" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m == "snippets" or m.startswith("snippets.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(Engine, "memory", {})
    monkeypatch.delenv("DOCEXEC_MODE", raising=False)
    monkeypatch.delenv("CI", raising=False)
    return tmp_path


def write(root: Path, path: str, text: str) -> Path:
    file = root / path
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(textwrap.dedent(text).lstrip("\n"))
    return file


def render(root: Path, page: str, mode: str = "auto", **options) -> str:
    """Write `page` as docs/p.md and convert it the way MkDocs does (a fresh Markdown per page)."""
    text = textwrap.dedent(page).lstrip("\n")
    write(root, "docs/p.md", text)
    Engine.memory.clear()
    extension = DocexecExtension(root=str(root), page="p.md", mode=mode, **options)
    md = markdown.Markdown(extensions=["admonition", "attr_list", "pymdownx.superfences", extension])
    return md.convert(text)


def page_for(section: str, options: str = "") -> str:
    return f'```python exec {options}\n--8<-- "snippets/s.py:{section}"\n```\n'


# ----------------------------------------------------------------------------- sections


SOURCE = """\
import math
# --8<-- [start:one]
a = 1
# --8<-- [end:one]

# --8<-- [start:two]

b = a + 1
# --8<-- [end:two]
"""


def test_sections_are_found_by_name_with_their_line_numbers():
    sections = parse_sections(SOURCE, "s.py")
    assert sections["one"].code == "a = 1" and sections["one"].first_line == 3
    assert sections["two"].code == "b = a + 1" and sections["two"].first_line == 8


@pytest.mark.parametrize(
    "text, message",
    [
        ("# --8<-- [start:a]\nx = 1\n", "s.py:1: section 'a' is never closed"),
        ("# --8<-- [start:a]\n# --8<-- [start:b]\n", "s.py:2: section 'b' starts inside section 'a'"),
        ("# --8<-- [end:a]\n", "s.py:1: section 'a' ends but was never started"),
        ("# --8<-- [start:a]\n# --8<-- [end:b]\n", "s.py:2: end of 'b' while section 'a'"),
        ("# --8<-- [start:a]\n# --8<-- [end:a]\n# --8<-- [start:a]\n", "s.py:3: section 'a' is defined twice"),
    ],
)
def test_malformed_sections_are_errors_naming_file_and_line(text, message):
    with pytest.raises(SectionError, match=message.replace("[", r"\[")):
        parse_sections(text, "s.py")


def test_unknown_section_lists_the_known_ones(tmp_path):
    write(tmp_path, "snippets/s.py", SOURCE)
    with pytest.raises(SectionError, match="has no section 'three'; its sections are: one, two"):
        load_section(tmp_path, "snippets/s.py", "three")


def test_missing_file_and_escaping_paths_are_errors(tmp_path):
    with pytest.raises(SectionError, match="no such snippet file"):
        load_section(tmp_path, "snippets/none.py", "a")
    with pytest.raises(SectionError, match="stay inside it"):
        load_section(tmp_path / "docs", "../outside.py", "a")


# ----------------------------------------------------------------------------- rendering


def test_a_block_shows_its_code_and_real_output(project):
    write(project, "snippets/s.py", """
        # --8<-- [start:hello]
        import numpy as np
        print("hi from", "numpy")
        np.array([[-1e-9, 0.5], [1.0, -2.25]])
        # --8<-- [end:hello]
    """)
    html = render(project, page_for("hello"))
    assert 'snippets/s.py</span>' in html  # the code's caption names its file
    assert "hi from numpy" in html
    assert "[[ 0.0000  0.5000]\n [ 1.0000 -2.2500]]" in html  # fixed precision, no -0
    assert "docexec-stamp" in html and "NumPy" in html


def test_output_is_html_escaped(project):
    write(project, "snippets/s.py", """
        # --8<-- [start:x]
        print("<script>alert(1)</script>")
        # --8<-- [end:x]
    """)
    html = render(project, page_for("x"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)</script>" not in html


def test_prints_inside_imported_functions_and_warnings_are_captured(project):
    write(project, "snippets/helper.py", """
        import warnings
        def shout():
            print("printed inside an imported function")
            warnings.warn("careful", UserWarning)
    """)
    write(project, "snippets/s.py", """
        # --8<-- [start:x]
        from snippets.helper import shout
        shout()
        # --8<-- [end:x]
    """)
    html = render(project, page_for("x"))
    assert "printed inside an imported function" in html
    assert "UserWarning: careful" in html
    assert str(project) not in html  # no machine paths


def test_hidden_blocks_run_but_show_nothing_and_values_are_injected(project):
    write(project, "snippets/s.py", """
        # --8<-- [start:setup]
        secret = 6 * 7
        # --8<-- [end:setup]
    """)
    html = render(project, page_for("setup", "hidden") + "\nThe answer is `{py} secret`.\n")
    assert "secret = 6 * 7" not in html
    assert 'The answer is <span class="docexec-value">42</span>.' in html


def test_a_figure_becomes_an_svg_image_with_alt_text(project):
    write(project, "snippets/s.py", """
        # --8<-- [start:plot]
        import matplotlib.pyplot as plt
        figure, axes = plt.subplots()
        axes.plot([0, 1], [1, 0])
        # --8<-- [end:plot]
    """)
    html = render(project, page_for("plot", 'alt="A falling line."'))
    assert '<img alt="A falling line." src="data:image/svg+xml;base64,' in html
    with pytest.raises(DocexecError, match="draws a figure but has no alt text"):
        render(project, page_for("plot"))


def test_an_expected_exception_is_shown_and_must_happen(project):
    write(project, "snippets/s.py", """
        # --8<-- [start:bad]
        int("seven")
        # --8<-- [end:bad]
        # --8<-- [start:fine]
        int("7")
        # --8<-- [end:fine]
    """)
    html = render(project, page_for("bad", 'raises="ValueError"'))
    assert "ValueError: invalid literal for int() with base 10: &#x27;seven&#x27;" in html
    with pytest.raises(DocexecError, match='marked raises="ValueError" but raised nothing'):
        render(project, page_for("fine", 'raises="ValueError"'))
    with pytest.raises(DocexecError, match=r"snippets/s.py:2 \(the page expected KeyError\)"):
        render(project, page_for("bad", 'raises="KeyError"'))


def test_an_exception_names_page_snippet_file_and_line(project):
    write(project, "snippets/s.py", """
        x = 0
        # --8<-- [start:boom]
        y = 1
        raise RuntimeError("boom")
        # --8<-- [end:boom]
    """)
    with pytest.raises(DocexecError) as error:
        render(project, "# Title\n\n" + page_for("boom"))
    message = str(error.value)
    assert "page docs/p.md line 3" in message
    assert "failed at snippets/s.py:4" in message
    assert "RuntimeError: boom" in message and "Traceback" in message


def test_a_syntax_error_names_its_line_in_the_snippet(project):
    write(project, "snippets/s.py", """
        # --8<-- [start:broken]
        a = 1
        b = (
        # --8<-- [end:broken]
    """)
    with pytest.raises(DocexecError, match=r"failed at snippets/s.py:3"):
        render(project, page_for("broken"))


def test_a_page_past_its_time_limit_fails(project):
    write(project, "snippets/s.py", """
        # --8<-- [start:spin]
        while True:
            pass
        # --8<-- [end:spin]
    """)
    with pytest.raises(DocexecError, match=r"time limit of 0.5 s .* at snippets/s.py:2"):
        render(project, "<!-- docexec timeout=0.5 -->\n\n" + page_for("spin"))


@pytest.mark.parametrize(
    "page, message",
    [
        ('```python exec color="red"\n--8<-- "snippets/s.py:a"\n```\n', "unknown option 'color'"),
        ('```python exec\n--8<-- "snippets/s.py:a"\n--8<-- "snippets/s.py:a"\n```\n', "exactly one include line"),
        ('```python exec\nprint(1)\n```\n', "expected an include line"),
        ('```python exec\n--8<-- "snippets/s.py:a"\n', "never closed"),
        ('```python exec\n--8<-- "snippets/s.py:zz"\n```\n', "page line 1: 'snippets/s.py' has no section 'zz'"),
        ("<!-- docexec timeout=soon -->\n", "timeout must be a positive number"),
    ],
)
def test_page_mistakes_are_errors_naming_the_page(project, page, message):
    write(project, "snippets/s.py", "# --8<-- [start:a]\na = 1\n# --8<-- [end:a]\n")
    with pytest.raises(DocexecError, match=r"docs/p.md: .*" + message.replace("(", r"\(").replace(")", r"\)")):
        render(project, page + "\nText `{py} 1`.\n")


def test_fences_that_do_not_execute_are_left_alone(project):
    html = render(project, '````markdown\n```python exec\n--8<-- "nothing.py:x"\n```\n````\n')
    assert "nothing.py:x" in html


# ----------------------------------------------------------------------------- claims


CLAIMS = """
    # --8<-- [start:true]
    sum([1, 2, 3]) == 6
    # --8<-- [end:true]
    # --8<-- [start:false]
    print("evidence")
    sum([1, 2, 3]) == 7
    # --8<-- [end:false]
    # --8<-- [start:vague]
    sum([1, 2, 3])
    # --8<-- [end:vague]
"""


def test_a_true_claim_renders_as_verified_with_versions_and_an_anchor(project):
    write(project, "snippets/s.py", CLAIMS)
    html = render(project, page_for("true", 'claim="The numbers sum to six."'))
    assert "Verified" in html and "The numbers sum to six." in html
    assert 'id="claim-the-numbers-sum-to-six"' in html
    assert "when this page was built, with NumPy" in html


def test_a_false_claim_fails_with_its_sentence_and_location(project):
    write(project, "snippets/s.py", CLAIMS)
    with pytest.raises(DocexecError) as error:
        render(project, page_for("false", 'claim="The numbers sum to seven."'))
    assert 'claim is false: "The numbers sum to seven."' in str(error.value)
    assert "snippets/s.py:6" in str(error.value) and "evidence" in str(error.value)


def test_a_claim_must_end_in_a_boolean(project):
    write(project, "snippets/s.py", CLAIMS)
    with pytest.raises(DocexecError, match="must end in an expression that is True or False; it ended in int"):
        render(project, page_for("vague", 'claim="Vague."'))


def test_the_claims_index_lists_every_claim_with_its_page(project):
    write(project, "snippets/s.py", CLAIMS)
    write(project, "docs/a.md", "# Page A\n\n" + page_for("true", 'claim="The numbers sum to six."'))
    text = "# All claims\n\n<!-- docexec claims-index -->\n"
    write(project, "docs/claims.md", text)
    extension = DocexecExtension(root=str(project), page="claims.md")
    html = markdown.Markdown(extensions=["tables", extension]).convert(text)
    assert '<a href="a.md#claim-the-numbers-sum-to-six">Page A</a>' in html
    assert "The numbers sum to six." in html and "1 claims" in html


# ----------------------------------------------------------------------------- freezing


COUNTED = """
    # --8<-- [start:count]
    from snippets.helper import greeting
    with open(COUNTER, "a") as file:
        file.write("run\\n")
    print(greeting)
    # --8<-- [end:count]
"""


@pytest.fixture
def counted(project):
    """A page whose counting block writes a line to a file each time it really runs."""
    counter = project / "runs.txt"
    write(project, "snippets/helper.py", 'greeting = "hello"\n')
    setup = f"# --8<-- [start:setup]\nCOUNTER = {str(counter)!r}\n# --8<-- [end:setup]\n"
    write(project, "snippets/s.py", setup + textwrap.dedent(COUNTED))
    page = page_for("setup", "hidden") + page_for("count")

    def runs() -> int:
        return len(counter.read_text().splitlines()) if counter.exists() else 0

    return page, runs


def test_an_unchanged_page_reuses_its_frozen_outputs(counted, project):
    page, runs = counted
    first = render(project, page)
    assert runs() == 1 and (project / "frozen" / "p.json").is_file()
    assert render(project, page) == first and runs() == 1


def test_editing_a_section_or_an_imported_module_or_a_version_reexecutes(counted, project, monkeypatch):
    page, runs = counted
    render(project, page)
    write(project, "snippets/helper.py", 'greeting = "hello again"\n')
    assert "hello again" in render(project, page) and runs() == 2
    source = project / "snippets" / "s.py"
    source.write_text(source.read_text().replace("print(greeting)", "print(greeting.upper())"))
    assert "HELLO AGAIN" in render(project, page) and runs() == 3
    render(project, page + "\nProse edits change nothing.\n")
    assert runs() == 3
    real = freeze.library_versions()
    monkeypatch.setattr("docexec.engine.library_versions", lambda: {**real, "Keras": "99.0"})
    render(project, page)
    assert runs() == 4


def test_refresh_always_reexecutes(counted, project):
    page, runs = counted
    render(project, page)
    render(project, page, mode="refresh")
    assert runs() == 2


def test_check_mode_executes_and_fails_on_a_changed_output_with_a_diff(counted, project):
    page, runs = counted
    render(project, page)
    render(project, page, mode="check")
    assert runs() == 2  # executed afresh even though nothing changed
    stored = project / "frozen" / "p.json"
    record = json.loads(stored.read_text())
    record["results"][1]["output"] = ["goodbye"]
    record["checksum"] = freeze.results_checksum(record)  # as if frozen by an older run
    stored.write_text(json.dumps(record))
    with pytest.raises(DocexecError) as error:
        render(project, page, mode="check")
    message = str(error.value)
    assert "snippets/s.py" in message and "differs from the frozen one" in message
    assert '-  "goodbye"' in message and '+  "hello"' in message
    assert json.loads(stored.read_text())["results"][1]["output"] == ["goodbye"]  # check never writes


def test_check_mode_without_frozen_outputs_fails(counted, project):
    page, _ = counted
    with pytest.raises(DocexecError, match="has no frozen outputs"):
        render(project, page, mode="check")


def test_mode_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("DOCEXEC_MODE", raising=False)
    monkeypatch.setenv("CI", "true")
    assert freeze.mode_from_environment() == "check"
    monkeypatch.setenv("CI", "")
    assert freeze.mode_from_environment() == "auto"
    monkeypatch.setenv("DOCEXEC_MODE", "refresh")
    assert freeze.mode_from_environment() == "refresh"
    monkeypatch.setenv("DOCEXEC_MODE", "sometimes")
    with pytest.raises(ValueError, match="'sometimes' is not a mode; use one of auto, check, refresh"):
        freeze.mode_from_environment()


def test_imports_are_followed_transitively_without_importing(tmp_path):
    write(tmp_path, "snippets/__init__.py", "")
    write(tmp_path, "snippets/a.py", "from .b import thing\n")
    write(tmp_path, "snippets/b.py", "import snippets.c\n")
    write(tmp_path, "snippets/c.py", "raise SystemExit('never imported')\n")
    found = freeze.dependency_sources(["from snippets import a"], tmp_path)
    assert set(found) == {"snippets", "snippets.a", "snippets.b", "snippets.c"}


def test_a_hidden_block_that_prints_or_draws_fails(project):
    write(project, "snippets/s.py", """
        # --8<-- [start:noisy]
        print("nobody would see this")
        # --8<-- [end:noisy]
    """)
    with pytest.raises(DocexecError, match="is hidden but printed or drew something"):
        render(project, page_for("noisy", "hidden"))


def test_the_claims_index_follows_the_navigation_order(project):
    write(project, "snippets/s.py", CLAIMS)
    for name, title in (("a.md", "Page A"), ("b.md", "Page B")):
        write(project, f"docs/{name}", f"# {title}\n\n" + page_for("true", f'claim="{title} holds."'))
    write(project, "mkdocs.yml", "nav:\n  - Second: b.md\n  - First: a.md\n")
    text = "<!-- docexec claims-index -->\n"
    write(project, "docs/claims.md", text)
    html = markdown.Markdown(extensions=["tables", DocexecExtension(root=str(project), page="claims.md")]).convert(text)
    assert html.index("Page B holds.") < html.index("Page A holds.")


def test_a_page_draws_the_same_keras_random_numbers_whatever_ran_before_it(project):
    """Unseeded Keras initializers draw from a global generator that survives between pages;
    the engine resets it, so a page's output cannot depend on which pages ran before it."""
    write(project, "snippets/s.py", """
        # --8<-- [start:draw]
        import keras
        keras.ops.convert_to_numpy(keras.random.normal((4,)))
        # --8<-- [end:draw]
    """)
    first = render(project, page_for("draw"), mode="refresh")
    again = render(project, page_for("draw"), mode="refresh")
    assert 'class="docexec-output"' in first and first == again
