"""Running a page's code (PageCache.record, docexec/namespace.py): output captured as printed,
failures named by page line, snippet file:line and section, claims checked."""

from __future__ import annotations

import pytest

from helpers import fails, section


def test_prints_inside_imported_functions_and_warnings_are_captured(project):
    project.write("snippets/helper.py", """
        import warnings
        def shout():
            print("printed inside an imported function")
            warnings.warn("careful", UserWarning)
    """)
    project.write("snippets/s.py", """
        # --8<-- [start:x]
        from snippets.helper import shout
        shout()
        # --8<-- [end:x]
    """)
    html = project.render(project.fence("x"))
    assert "printed inside an imported function" in html
    assert "UserWarning: careful" in html
    assert str(project.root) not in html  # no machine paths


def test_an_exception_names_page_line_snippet_file_line_and_section(project):
    project.write("snippets/s.py", """
        x = 0
        # --8<-- [start:boom]
        y = 1
        raise RuntimeError("boom")
        # --8<-- [end:boom]
    """)
    with fails("code_failed", "docs/p.md:3 (snippets/s.py:3, section 'boom')", match=r" snippets/s.py:4\n") as error:
        project.render("# Title\n\n" + project.fence("boom"))
    message = str(error.value)
    assert "RuntimeError: boom" in message and "Traceback" in message


def test_a_syntax_error_names_its_line_in_the_snippet(project):
    project.write("snippets/s.py", """
        # --8<-- [start:broken]
        a = 1
        b = (
        # --8<-- [end:broken]
    """)
    with fails("code_failed", match=r" snippets/s.py:3\b"):
        project.render(project.fence("broken"))


def test_a_page_past_its_time_limit_fails(project):
    project.write("snippets/s.py", """
        # --8<-- [start:spin]
        while True:
            pass
        # --8<-- [end:spin]
    """)
    with fails("timeout", match=r"^docexec: docs/p.md:3 .* 0.5 s .* snippets/s.py:[23]$"):
        project.render("<!-- docexec timeout=0.5 -->\n\n" + project.fence("spin"))


def test_a_hidden_block_that_prints_or_draws_fails(project):
    project.write("snippets/s.py", """
        # --8<-- [start:noisy]
        print("nobody would see this")
        # --8<-- [end:noisy]
    """)
    with fails("hidden_shows", match=r"^docexec: docs/p.md:1 \("):
        project.render(project.fence("noisy", "hidden"))


CLAIMS = """
    # --8<-- [start:false]
    print("evidence")
    sum([1, 2, 3]) == 7
    # --8<-- [end:false]
    # --8<-- [start:vague]
    sum([1, 2, 3])
    # --8<-- [end:vague]
"""


def test_a_false_claim_fails_with_its_sentence_and_location(project):
    project.write("snippets/s.py", CLAIMS)
    with fails("claim_false", "docs/p.md:1 (snippets/s.py:2, section 'false')") as error:
        project.render(project.fence("false", 'claim="The numbers sum to seven."'))
    message = str(error.value)
    assert '"The numbers sum to seven."' in message
    assert " snippets/s.py:3\n" in message and "evidence" in message


def test_a_claim_must_end_in_a_boolean(project):
    project.write("snippets/s.py", CLAIMS)
    with fails("claim_not_bool", match=" int$"):
        project.render(project.fence("vague", 'claim="Vague."'))


@pytest.mark.backends
def test_a_page_draws_the_same_keras_random_numbers_whatever_ran_before_it(project):
    """Unseeded Keras initializers draw from a global generator that survives between pages;
    the engine resets it, so a page's output cannot depend on which pages ran before it."""
    project.write("snippets/s.py", """
        # --8<-- [start:draw]
        import keras
        keras.ops.convert_to_numpy(keras.random.normal((4,)))
        # --8<-- [end:draw]
    """)
    first = project.render(project.fence("draw"), mode="refresh")
    again = project.render(project.fence("draw"), mode="refresh")
    assert 'class="docexec-output"' in first and first == again


def test_a_figure_is_drawn_again_for_the_dark_palette(tmp_path):
    """Reader review, finding 9: each figure has a dark variant. Its frame (title, labels,
    ticks, spines, text on the background, grey cells and their text) turns light on a
    transparent ground; what carries data keeps its colours: a heat map and the numbers
    written on it, and a coloured cell with its text."""
    import numpy as np
    from matplotlib.colors import to_hex, to_rgb

    from docexec.namespace import DARK_BACKGROUND, DARK_TEXT, Namespace

    code = """
import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle
figure, (heat, cells) = plt.subplots(1, 2)
heat.imshow([[0, 1], [2, 3]], cmap="Blues", alpha=0.6)
number = heat.text(0, 0, "0", color="black")
figure.suptitle("title")
cells.add_patch(Rectangle((0, 0), 1, 1, facecolor="#9ecae1", edgecolor="white"))
cells.add_patch(Rectangle((1, 0), 1, 1, facecolor="0.85", edgecolor="white"))
on_blue = cells.text(0.5, 0.5, "x0", color="black")
on_grey = cells.text(1.5, 0.5, "0", color="#555")
aside = cells.text(0.5, 1.5, "y0", color="black")
cells.set_xlim(0, 2)
cells.set_ylim(0, 2)
"""
    from docexec import namespace as module

    captured, saved = [], module._svg
    namespace = Namespace(tmp_path, "snippets_none")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(module, "_svg", lambda figure: captured.append(figure) or saved(figure))
        result = namespace.run(code, "s.py", 1)
    assert result.raised is None and len(result.figures) == len(result.dark_figures) == 1
    assert result.figures[0] != result.dark_figures[0]
    figure = captured[-1]
    heat, cells = figure.axes
    light, dark = to_hex(DARK_TEXT), to_hex(DARK_BACKGROUND)
    assert figure.patch.get_facecolor()[3] == 0 and to_hex(figure._suptitle.get_color()) == light
    assert to_hex(heat.patch.get_facecolor()) == "#ffffff"  # under a translucent image, as in light
    assert to_hex(heat.texts[0].get_color()) == "#000000"  # a number on the heat map keeps its contrast
    blue, grey = cells.patches
    assert to_hex(blue.get_facecolor()) == "#9ecae1" and to_hex(blue.get_edgecolor()) == dark
    assert to_hex(grey.get_facecolor()) not in ("#d9d9d9", "#ffffff")  # a grey cell turns dark...
    texts = {text.get_text(): to_hex(text.get_color()) for text in cells.texts}
    assert texts["x0"] == "#000000" and texts["y0"] == light  # ...text on a coloured cell keeps its colour
    assert np.mean(to_rgb(texts["0"])) > 0.5  # ...and its text turns light
    assert to_hex(heat.xaxis.get_ticklabels()[0].get_color()) == light


def test_a_subprocess_left_running_does_not_put_its_pid_in_the_output(project):
    """Probe 63: Python hides ResourceWarnings by default; shown, they print a pid (or a file
    name) that changes on every run, and the check build fails on '2860' vs '2868'."""
    project.write("snippets/s.py", section("x", """
        import subprocess
        p = subprocess.Popen(["sleep", "5"])
        del p
        open("snippets/s.py").read()
        print("done")
    """))
    html = project.render(project.fence("x"))
    assert "done" in html and "ResourceWarning" not in html
