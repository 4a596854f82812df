"""Running a page's code (PageCache.record, docexec/namespace.py): output captured as printed,
failures named by page line, snippet file:line and section, claims checked."""

from __future__ import annotations

import pytest

from docexec import DocexecError
from helpers import section


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
    with pytest.raises(DocexecError) as error:
        project.render("# Title\n\n" + project.fence("boom"))
    message = str(error.value)
    assert message.startswith("docexec: docs/p.md:3 (snippets/s.py:3, section 'boom'): failed at snippets/s.py:4")
    assert "RuntimeError: boom" in message and "Traceback" in message


def test_a_syntax_error_names_its_line_in_the_snippet(project):
    project.write("snippets/s.py", """
        # --8<-- [start:broken]
        a = 1
        b = (
        # --8<-- [end:broken]
    """)
    with pytest.raises(DocexecError, match=r"failed at snippets/s.py:3"):
        project.render(project.fence("broken"))


def test_a_page_past_its_time_limit_fails(project):
    project.write("snippets/s.py", """
        # --8<-- [start:spin]
        while True:
            pass
        # --8<-- [end:spin]
    """)
    with pytest.raises(DocexecError, match=r"docs/p.md:3 .* time limit of 0.5 s .* at snippets/s.py:[23]"):
        project.render("<!-- docexec timeout=0.5 -->\n\n" + project.fence("spin"))


def test_a_hidden_block_that_prints_or_draws_fails(project):
    project.write("snippets/s.py", """
        # --8<-- [start:noisy]
        print("nobody would see this")
        # --8<-- [end:noisy]
    """)
    with pytest.raises(DocexecError, match="docs/p.md:1 .*: the block is hidden but printed or drew something"):
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
    with pytest.raises(DocexecError) as error:
        project.render(project.fence("false", 'claim="The numbers sum to seven."'))
    message = str(error.value)
    assert message.startswith("docexec: docs/p.md:1 (snippets/s.py:2, section 'false'): claim is false: ")
    assert '"The numbers sum to seven."' in message
    assert "its check ends at snippets/s.py:3" in message and "evidence" in message


def test_a_claim_must_end_in_a_boolean(project):
    project.write("snippets/s.py", CLAIMS)
    with pytest.raises(DocexecError, match=r"True or False, or in docexec.checks.over\(...\); it ended in int"):
        project.render(project.fence("vague", 'claim="Vague."'))


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
