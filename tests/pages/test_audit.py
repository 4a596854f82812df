"""snippets/audit.py: the evidence behind the verdicts on the popular answer that no other page holds.

Two sections reproduce the answer's failures and must raise, so the module cannot simply be imported: the
fixture runs its sections in order in one namespace, as the page does, with docexec's own parser and runner.
"""

import numpy as np
import pytest

from helpers import run_sections

MODULE = "snippets/audit.py"
EXPECTED_RAISES = {"first_example_even": IndexError, "third_example": NameError}


@pytest.fixture(scope="module")
def audit():
    return run_sections(MODULE)


def test_only_the_reproduced_failures_raise(audit):
    _, results = audit
    raised = {name: type(r.raised) for name, r in results.items() if r.raised is not None}
    assert raised == EXPECTED_RAISES, {name: results[name].raised for name in raised}


def test_every_claim_section_ends_true(audit):
    _, results = audit
    claims = {name: r.raw_value for name, r in results.items() if name.endswith("_claim")}
    assert len(claims) == 5
    assert {name: value for name, value in claims.items() if not value} == {}


def test_the_name_error_is_the_missing_global(audit):
    names, results = audit
    assert "kernel" not in names  # no section defines it, so the reproduction fails for the right reason
    assert str(results["third_example"].raised) == "name 'kernel' is not defined"


def test_the_even_kernel_runs_off_the_padded_input(audit):
    _, results = audit
    assert "out of bounds" in str(results["first_example_even"].raised)


def test_the_re_implementations_print_the_answers_results_on_its_data(audit):
    # The answer's code, run on its own data outside this project (it is not copied here), prints these.
    names, _ = audit
    assert names["y_answer"].tolist() == [[-9, -6, 9], [-20, -8, 20], [-21, -6, 21]]
    assert names["dx_answer"].tolist() == [[3, 0, -3], [4, 0, -4], [3, 0, -3]]
    assert names["dkernel_answer"].tolist() == [[12, 21, 16], [27, 45, 33], [24, 39, 28]]


def test_the_masked_loop_check_fails_for_a_loop_one_row_off(audit):
    names, _ = audit
    correct = names["answers_input_gradient"]

    def one_row_off(dy, kernel, input_shape):
        return np.roll(correct(dy, kernel, input_shape), 1, axis=0)

    names["answers_input_gradient"] = one_row_off
    try:
        assert not names["masked_loop_is_keras"](4, 3)
    finally:
        names["answers_input_gradient"] = correct
    assert names["masked_loop_is_keras"](4, 3)


def test_keras_3_backends(audit):
    names, _ = audit
    assert names["keras"].backend.backend() == "tensorflow"
    assert {"tensorflow", "jax", "torch"} <= set(names["shipped"])
    assert "common" not in names["shipped"]


def test_the_no_weights_check_runs_on_every_padding_layer(audit):
    names, _ = audit
    checked = names["over"](names["grid"](layer=("ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D", "Conv2D")),
                            names["padding_has_no_weights"])
    assert checked and checked.count == 4
