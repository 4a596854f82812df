"""Claim scope (docexec/checks.py): a check ending in over(...) is verified on the
configurations it ran, and its box and the claims index say how many and what varied."""

from __future__ import annotations

import numpy
import pytest

from docexec.checks import grid, over, scope_text
from helpers import fails

GRID_CLAIMS = """
    # --8<-- [start:setup]
    from docexec.checks import grid, over
    # --8<-- [end:setup]
    # --8<-- [start:holds]
    over(grid(kernel=range(1, 4), padding=("same", "valid")), lambda kernel, padding: kernel < 4)
    # --8<-- [end:holds]
    # --8<-- [start:fails]
    over(grid(kernel=range(1, 4), stride=(1, 2)), lambda kernel, stride: kernel * stride < 4)
    # --8<-- [end:fails]
    # --8<-- [start:empty]
    over([], lambda: True)
    # --8<-- [end:empty]
    # --8<-- [start:plain]
    1 + 1 == 2
    # --8<-- [end:plain]
"""
SETUP = '```python exec hidden\n--8<-- "snippets/s.py:setup"\n```\n\n'
INDEX = "# All claims\n\n<!-- docexec claims-index -->\n"


def test_grid_is_every_combination_in_order():
    assert grid(kernel=(1, 2), padding=("same", "valid")) == [
        {"kernel": 1, "padding": "same"}, {"kernel": 1, "padding": "valid"},
        {"kernel": 2, "padding": "same"}, {"kernel": 2, "padding": "valid"},
    ]
    with pytest.raises(ValueError, match="axis 'stride' has no values"):
        grid(kernel=(1,), stride=())


def test_over_counts_what_ran_and_keeps_the_failures():
    checked = over(grid(kernel=range(1, 5), stride=(1, 2, 3)), lambda kernel, stride: numpy.bool_(kernel != 2))
    assert (checked.count, checked.failed, bool(checked)) == (12, 3, False)
    assert checked.failures[0] == "kernel=2, stride=1"
    assert checked.axes == {"kernel": ("1", "2", "3", "4"), "stride": ("1", "2", "3")}
    assert not over([], lambda: True)  # nothing ran: nothing is verified


def test_over_refuses_a_check_that_is_not_a_bool():
    class Truthy:
        def __bool__(self):
            return True

    with pytest.raises(TypeError, match="returned Truthy, not a bool, for kernel=1"):
        over(grid(kernel=(1,)), lambda kernel: Truthy())


@pytest.mark.parametrize(("scope", "text"), [
    (None, "this example"),
    ({"count": 1, "axes": {"kernel": ["3"]}}, "1 configuration"),
    ({"count": 24, "axes": {"kernel": ["1", "2", "3", "4"], "stride": ["1", "3"], "padding": ["same", "valid"]}},
     "24 configurations (kernel 1–4; stride 1, 3; padding same, valid)"),
])
def test_scope_text(scope, text):
    assert scope_text(scope) == text


def test_a_grid_claim_says_what_it_ran_on(project):
    project.write("snippets/s.py", GRID_CLAIMS)
    html = project.render(SETUP + project.fence("holds", 'claim="Kernels are short."')
                          + project.fence("plain", 'claim="One and one make two."'))
    assert "Verified on 6 configurations</span>" in html  # the badge; what varied is in its check:
    assert "run when this page was built, over 6 configurations (kernel 1–3; padding same, valid)" in html
    assert "Verified on this example</span>" in html
    assert "True on 6 configurations" in html  # the check's value, shown in its box


def test_a_grid_claim_false_anywhere_fails_naming_the_configurations(project):
    project.write("snippets/s.py", GRID_CLAIMS)
    with fails("claim_false_on", match=r" 2 of 6 (.|\n)*kernel=2, stride=2"):
        project.render(SETUP + project.fence("fails", 'claim="Products are small."'))


def test_a_grid_claim_over_nothing_fails(project):
    project.write("snippets/s.py", GRID_CLAIMS)
    with fails("claim_ran_on_nothing"):
        project.render(SETUP + project.fence("empty", 'claim="Nothing is checked."'))


def test_the_claims_index_says_what_each_claim_ran_on(project):
    project.write("snippets/s.py", GRID_CLAIMS)
    project.write("docs/a.md", "# Page A\n\n" + SETUP + project.fence("holds", 'claim="Kernels are short."')
                  + project.fence("plain", 'claim="One and one make two."'))
    html = project.render(INDEX, page="claims.md")
    assert '<span class="docexec-scope">6 configurations (kernel 1–3; padding same, valid)</span>' in html
    assert '<span class="docexec-scope">this example</span>' in html


# ---- the reliability probe's items on what a scope shows (reliability-probe-3.md, 9-11, 20, 21)

def test_over_counts_distinct_configurations():
    """Probe item 20: the same configuration repeated is one configuration."""
    assert over([{"k": 1}] * 1000, lambda k: True).count == 1
    assert over(grid(k=(1, 2, 1)), lambda k: True).count == 2


def test_numpy_scalars_show_as_numbers():
    """Probe item 21: grid(k=np.arange(1, 5)) is "k 1–4", not "np.int64(1), ..."."""
    checked = over(grid(k=numpy.arange(1, 5), w=(numpy.float32(0.5), 1.5)), lambda k, w: True)
    assert checked.axes == {"k": ("1", "2", "3", "4"), "w": ("0.5", "1.5")}
    assert scope_text(checked.to_json()) == "8 configurations (k 1–4; w 0.5, 1.5)"


def test_a_string_is_not_an_axis_of_its_characters():
    """Probe item 21: grid(padding="same") iterated "s", "a", "m", "e"."""
    with pytest.raises(ValueError, match=r"axis 'padding' is the string 'same'.*padding=\('same',\)"):
        grid(padding="same")


def test_values_that_print_alike_stay_apart():
    """Probe item 21: {"a": 1} and {"a": "1"} are two configurations of two values."""
    checked = over([{"a": 1}, {"a": "1"}], lambda a: True)
    assert checked.count == 2 and scope_text(checked.to_json()) == "2 configurations (a 1, '1')"


def test_a_value_with_newlines_or_controls_is_shown_escaped():
    """Probe item 10: a value's newlines are written as \\n, so its text is one line."""
    checked = over(grid(p=["a\n\n<script>", "b\x1b"]), lambda p: True)
    assert checked.axes == {"p": ("'a\\n\\n<script>'", "'b\\x1b'")}


@pytest.mark.parametrize("values", [
    ["<img src=x onerror=alert(7)>", "<pad>"],
    ["a\n\n<script>alert(8)</script>\n\n", "b"],
])
def test_over_values_are_text_in_the_box(project, values):
    """Probe items 9 and 10 (reliability-probe-3-repro.py): an over() value shows as text in the
    Verified title, and a newline in it cannot end the claim box."""
    project.write("snippets/s.py", f"# --8<-- [start:x]\nfrom docexec.checks import grid, over\n"
                                   f"over(grid(p={values!r}), lambda p: True)\n# --8<-- [end:x]\n")
    html = project.render(project.fence("x", 'claim="Values are shown as text."'))
    assert "<img src=x" not in html and "<pad>" not in html and "<script>" not in html
    assert "!!! success" not in html and html.count('class="admonition success docexec-claim"') == 1
    assert "&lt;pad&gt;" in html or "&lt;script&gt;" in html


def test_over_keys_are_text_in_the_box(project):
    """Probe item 11: a configuration key is shown as text too."""
    project.write("snippets/s.py", "# --8<-- [start:x]\nfrom docexec.checks import over\n"
                                   "over([{'<svg onload=alert(9)>': 1}, {'<svg onload=alert(9)>': 2}], "
                                   "lambda **kw: True)\n# --8<-- [end:x]\n")
    html = project.render(project.fence("x", 'claim="Keys are shown as text."'))
    assert "<svg onload" not in html and "&lt;svg onload=alert(9)&gt; 1, 2" in html


@pytest.mark.parametrize("ending", [
    "Checked(1000000, {'kernel': ('1', '2', '3')}, (), 0)",
    "Mine(1, {}, (), 0)",  # a subclass whose to_json claims more than ran
    "dataclasses.replace(over(grid(k=[1, 2]), lambda k: True), count=7)",  # a copy, altered
], ids=["typed", "subclass", "altered copy"])
def test_a_scope_comes_only_from_over(project, ending):
    """Probe 19: a Checked typed by hand, or of a subclass, verified no scope that ran."""
    project.write("snippets/s.py", f"""
        # --8<-- [start:x]
        import dataclasses
        from docexec.checks import Checked, grid, over

        class Mine(Checked):
            def to_json(self):
                return {{"count": 7, "axes": {{}}, "failures": [], "failed": 0}}

        {ending}
        # --8<-- [end:x]
    """)
    with fails("claim_not_bool", match=r" (Checked|Mine) "):
        project.render(project.fence("x", 'claim="Checked a million."'))


@pytest.mark.parametrize("ending", [
    "over(grid(a=[1, 2]), lambda a: a == 1)\nTrue",  # a false over() discarded
    "over(grid(a=[1, 2]), lambda a: True) or over(grid(b=[1, 2]), lambda b: False)",  # the second never ran
], ids=["discarded", "or"])
def test_a_claim_ends_in_its_one_over(project, ending):
    """Probe 18: "One equals two." was verified, its failing over() dropped silently."""
    project.write("snippets/s.py", "# --8<-- [start:x]\nfrom docexec.checks import grid, over\n"
                  f"{ending}\n# --8<-- [end:x]\n")
    with fails("claim_not_bool", match=r"(after \d|with \d) over\(\) calls"):
        project.render(project.fence("x", 'claim="One equals two."'))


def test_a_check_that_mutates_the_configurations_counts_and_shows_them_as_given():
    """Probe 22: appending to the list over() iterates added configurations (6 counted where
    the grid had 2), and a list value mutated by the check showed its value after the check."""
    configurations = grid(k=(1, 2))

    def grows(k):
        if len(configurations) < 6:
            configurations.append({"k": k + 10})
        return True

    assert over(configurations, grows).count == 2
    mutated = [{"v": [1]}, {"v": [2]}]

    def appends(v):
        v.append(99)
        return True

    assert over(mutated, appends).axes == {"v": ("[1]", "[2]")}
