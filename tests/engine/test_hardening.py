"""Issue 18's reproductions that cross modules, one test each (the second round of hardened
execution): the whole frozen record is checksummed, `{py}` values are
checked like blocks, a claim shows the hidden code it ran after and cannot forge its truth,
errors name the right place. Black-box: each builds a throwaway project and asserts what the
build does. Those of one module are in its test module: test_pool (processes and limits),
test_extension (stash tokens, pages told apart, include markers), test_page (limit ranges)."""

from __future__ import annotations

import json

import pytest

from docexec.pool import POOL
from helpers import fails, section


@pytest.fixture(autouse=True)
def no_worker_left(project):
    yield
    assert not POOL.live, "a worker outlived its page"


# ----------------------------------------------------------------------------- the frozen record's checksum


@pytest.mark.parametrize(
    "edit",
    [lambda record: record["versions"].update(NumPy="0.0.1-forged"),
     lambda record: record.update(modules={}),
     lambda record: record.update(page="other.md")],
    ids=["versions", "modules", "page"],
)
def test_any_edit_of_a_frozen_record_is_noticed(project, edit):
    project.write("snippets/helper.py", "NAME = 'frozen'\n")
    project.write("snippets/s.py", section("x", "from snippets.helper import NAME\nprint(NAME)"))
    project.render(project.fence("x"))
    file = project.root / "frozen" / "p.json"
    record = json.loads(file.read_text())
    edit(record)
    file.write_text(json.dumps(record, indent=1))
    with fails("hand_edited", "docs/p.md", match=r"frozen/p.json "):
        project.render(project.fence("x"), mode="check")


# ----------------------------------------------------------------------------- threads and inline values


def test_an_inline_value_over_the_output_limit_fails_naming_it(project):
    with fails("inline_too_big", "docs/p.md:1:6", match=" 5000 kB.* 200 kB"):
        project.render('Text `{py} "a" * 5_000_000`.\n')


def test_an_inline_value_that_leaves_a_thread_running_fails_naming_it(project):
    with fails("inline_threads", "docs/p.md:1:6"):
        project.render('Text `{py} __import__("threading").Timer(30, print).start()`.\n')


# ----------------------------------------------------------------------------- hidden code and claims


def test_a_claims_box_shows_the_hidden_set_up_it_ran_after(project):
    project.write("snippets/s.py", "# leading line\n" + section("rig", """
        import numpy as np
        np.allclose = lambda *a, **k: True
    """) + section("check", "np.allclose(1.0, 2.0)"))
    html = project.render(project.fence("rig", "hidden") + project.fence("check", 'claim="One is close to two."'))
    box = html[html.index('class="docexec-check"'):]
    assert "and the hidden set-up it ran after (1 section)" in box
    assert "<code>snippets/s.py</code>, lines 3–4" in box and "rig" in box
    assert "allclose" in box[box.index("docexec-setup"):] and "lambda" in box[box.index("docexec-setup"):]


def test_a_claim_ending_in_a_look_alike_of_a_numpy_boolean_is_refused(project):
    project.write("snippets/s.py", section("x", """
        class bool_:
            __bool__ = lambda self: True
            __repr__ = lambda self: "True"
        bool_()
    """))
    with fails("claim_not_bool", match=" bool_$"):
        project.render(project.fence("x", 'claim="A look-alike is true."'))


def test_a_numpy_boolean_is_a_claims_truth(project):
    project.write("snippets/s.py", section("x", "import numpy as np\nnp.bool_(True)"))
    assert "Verified" in project.render(project.fence("x", 'claim="NumPy says so."'))


# ----------------------------------------------------------------------------- displayed code that lies


# ----------------------------------------------------------------------------- errors that name the wrong place


@pytest.mark.parametrize(
    "body, line",
    [('exec("y = 1/0")', 3), ('import importlib\nimportlib.import_module("snippets.missing")', 4)],
    ids=["exec", "import_module"],
)
def test_an_error_in_a_pseudo_file_is_located_at_the_sections_own_line(project, body, line):
    project.write("snippets/s.py", "# leading line\n" + section("x", body))
    with fails("code_failed", match=rf" snippets/s.py:{line}\n"):
        project.render(project.fence("x"))


def test_a_snippet_that_is_not_utf8_is_named_with_the_byte_offset(project):
    (project.root / "snippets" / "s.py").write_bytes(b"# --8<-- [start:x]\nprint('caf\xe9')\n# --8<-- [end:x]\n")
    with fails("not_utf8", "docs/p.md:1", match=r"snippets/s.py .* 0xe9 .* 29 "):
        project.render(project.fence("x"))


