"""snippets/audit.py: the evidence behind each verdict on the popular answer.

Two sections reproduce defects and must raise, so the module cannot simply be imported: the fixture runs
its sections in order in one namespace, as the page does, with docexec's own parser and runner.
"""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from helpers import run_sections

MODULE = "snippets/audit.py"
EXPECTED_RAISES = {"first_example_even": IndexError, "third_example": NameError}


@pytest.fixture(scope="module")
def audit():
    yield run_sections(MODULE)
    plt.close("all")


def test_only_the_reproduced_defects_raise(audit):
    _, results = audit
    raised = {name: type(r.raised) for name, r in results.items() if r.raised is not None}
    assert raised == EXPECTED_RAISES, {name: results[name].raised for name in raised}


def test_every_claim_section_ends_true(audit):
    _, results = audit
    claims = {name: r.raw_value for name, r in results.items() if name.endswith("_claim")}
    assert len(claims) >= 15
    not_true = {name: value for name, value in claims.items()
                if type(value).__name__ not in ("bool", "bool_") or not value}
    assert not_true == {}


def test_the_name_error_is_the_missing_global(audit):
    names, results = audit
    assert "kernel" not in names  # no section defines it, so the reproduction fails for the right reason
    assert str(results["third_example"].raised) == "name 'kernel' is not defined"


def test_the_answers_function_given_its_kernel_equals_the_numpy_loop(audit):
    names, _ = audit
    expected = names["conv2d_grad_kernel_loop"](names["digits"], names["dy_ones"],
                                               names["edge_kernel"].shape, padding="same")
    np.testing.assert_allclose(names["dkernel_answer"], expected[:, :, 0, 0])


def test_symmetric_rule_runs_off_the_end_for_an_even_kernel(audit):
    _, results = audit
    assert "out of bounds" in str(results["first_example_even"].raised)


def test_keras_3_backends(audit):
    names, _ = audit
    assert names["keras"].backend.backend() == "tensorflow"
    assert {"tensorflow", "jax", "torch"} <= set(names["shipped"])
    assert "common" not in names["shipped"]


def test_padded_positions_receive_gradient_and_the_pad_crops_it(audit):
    names, _ = audit
    dx_padded, dx = names["dx_padded"], names["dx"]
    assert dx_padded.shape == (1, 6, 6, 1) and dx.shape == (1, 4, 4, 1)
    assert np.all(dx_padded[0, 0, :, 0] != 0)
    assert np.array_equal(dx, dx_padded[:, 1:-1, 1:-1])


def test_tensorflow_never_materialises_the_padded_tensor(audit):
    names, _ = audit
    operations = set(names["operation_types"])
    assert {"Conv2DBackpropInput", "Conv2DBackpropFilter"} <= operations
    assert not operations & {"Pad", "PadV2", "MirrorPad", "Slice", "StridedSlice"}


def test_a_training_step_changes_only_kernel_and_bias(audit):
    names, _ = audit
    assert [v.path for v in names["model"].trainable_variables] == ["model/conv/kernel", "model/conv/bias"]
    assert np.array_equal(names["x_variable"].numpy(), names["x_before"])
    assert np.any(names["input_gradient"] != 0)
    # the check can fail: an optimizer handed the input does change it
    x = names["tf"].Variable(names["x_before"])
    names["keras"].optimizers.SGD(0.1).apply([names["input_gradient"]], [x])
    assert not np.array_equal(x.numpy(), names["x_before"])


def test_border_output_sends_gradient_to_four_real_pixels(audit):
    names, _ = audit
    assert np.count_nonzero(names["dx_corner"]) == 4
    assert np.all(names["dx_corner"][0, :2, :2, 0] == 1)


def test_symmetric_rule_fails_for_even_kernels_and_strides(audit):
    names, _ = audit
    rule = names["rule_matches_keras"]
    assert rule(6, 3, 1)[0] and rule(7, 5, 1)[0]
    assert rule(6, 2, 1)[1:] == (5, 6)
    assert not rule(6, 3, 2)[0] and rule(6, 3, 2)[1] == rule(6, 3, 2)[2]  # same shape, other numbers
    assert rule(7, 3, 2)[0]  # odd length at stride 2 happens to pad symmetrically


def test_first_example_is_a_cross_correlation_like_keras(audit):
    names, _ = audit
    y = names["y_keras_example"][0, :, :, 0]
    assert y.shape == (3, 3)
    assert np.allclose(y[:, 1], [-6, -8, -6]) and np.allclose(y[:, 0], -y[:, 2])
    assert np.allclose(names["y_true_convolution"], -names["y_keras_example"], atol=1e-5)


def test_reflect_padding_doubles_interior_gradients(audit):
    names, _ = audit
    assert names["d_reflect"].tolist() == [1, 2, 2, 1]
    assert names["d_zeros"].tolist() == [1, 1, 1, 1]
