"""snippets/strides_dilation_causal.py: the facts its page states, checked against Keras and TensorFlow.

One section reproduces Keras's refusal of strides with dilation and must raise, so the module
cannot simply be imported: the fixture runs its sections in order in one namespace, as the
page does, with docexec's own parser and runner, but not the page's closing `over(...)` calls:
the check build ran those grids and stored their outcomes, which the tests read.
"""

import random
from types import SimpleNamespace

import numpy as np
import pytest

from helpers import run_sections, stored_claim
from snippets import keras_ref

MODULE = "snippets/strides_dilation_causal.py"
PAGE = "strides-dilation-causal.md"


@pytest.fixture(scope="module")
def run():
    return run_sections(MODULE, grids=False)


@pytest.fixture(scope="module")
def page(run):
    return SimpleNamespace(**run[0])


def test_only_the_refusal_raises(run):
    _, results = run
    raised = {name: r.raised for name, r in results.items() if r.raised is not None}
    assert list(raised) == ["stride_dilation_refused"], raised
    assert isinstance(raised["stride_dilation_refused"], ValueError)
    assert "dilation" in str(raised["stride_dilation_refused"])


def test_stride_two_pads_odd_and_even_lengths_differently(page):
    assert page.same_padding(7, 3, 2) == (1, 1)
    assert page.same_padding(8, 3, 2) == (0, 1)
    # Keras agrees: "same" at stride 2 on length 8 is "valid" after one zero at the end only.
    x, kernel = np.random.default_rng(3).normal(size=(1, 8, 1)), np.random.default_rng(4).normal(size=(3, 1, 1))
    padded = np.pad(x, [(0, 0), (0, 1), (0, 0)])
    assert np.allclose(
        keras_ref.conv1d(x, kernel, strides=2, padding="same"),
        keras_ref.conv1d(padded, kernel, strides=2, padding="valid"),
        atol=1e-5,
    )


def test_window_coverage_counts_how_often_each_input_is_read(page):
    assert page.coverage_odd.tolist() == [1, 2, 1, 2, 1, 2, 1]
    assert page.coverage_even.tolist() == [1, 1, 2, 1, 2, 1, 2, 1]


def test_dilated_kernel_acts_like_a_spread_kernel(page):
    assert page.effective_size == 5
    assert page.same_padding(8, 3, dilation=2) == page.same_padding(8, 5)
    assert np.allclose(page.y_dilated, page.y_spread, atol=1e-5)
    x = np.random.default_rng(1).normal(size=(1, 11, 1))
    kernel = np.random.default_rng(2).normal(size=(2, 1, 1))
    assert np.allclose(
        keras_ref.conv1d(x, kernel, padding="same", dilation=3),
        keras_ref.conv1d(x, page.spread(kernel, 3), padding="same"),
        atol=1e-5,
    )


def test_causal_is_left_padding_then_valid(page):
    assert (page.pad_left, page.pad_right) == (2, 0)
    assert np.allclose(page.y_causal, page.y_left_padded, atol=1e-5)
    assert page.causal_padding(3, dilation=2) == (4, 0)


def test_causal_outputs_never_read_the_future(page):
    assert np.all(np.triu(page.jacobian_causal, k=1) == 0)
    assert np.any(np.triu(page.jacobian_same, k=1) != 0)
    assert np.count_nonzero(page.jacobian_causal[-1]) == page.receptive_field == 8  # 1 + sum((k - 1) * d)


def test_causal_input_gradient_matches_keras_and_looks_only_backwards(page):
    assert np.all(page.dx_causal[0, 4:, 0] == 0)
    assert np.count_nonzero(page.dx_causal) == 3
    outcome = page.over(page.grid(t=range(6), dilation=(1, 2)), page.causal_gradient_reaches)
    assert outcome and outcome.count == 12
    # at dilation 2 a one-hot dy at step 5 skips inputs 4 and 2: not the range t - (k - 1) * d .. t
    one_hot = np.zeros((1, 6, 1))
    one_hot[0, 5, 0] = 1.0
    dx = keras_ref.conv1d_grad_input(one_hot, page.kernel_causal, page.x_causal.shape, padding="causal",
                                     dilation=2)
    assert np.flatnonzero(dx[0, :, 0]).tolist() == [1, 3, 5]


def test_transposed_convolution_is_the_input_gradient_where_the_size_maps_back(page):
    kernel = np.random.default_rng(5).normal(size=(3, 3, 1, 2)).astype("float32")
    for output_padding, size in [(0, 7), (None, 8), (1, 8)]:
        y = page.transposed(page.x_small, kernel, output_padding)
        assert y.shape == (1, size, size, 1)
        gradient = keras_ref.conv2d_grad_input(page.x_small, kernel, (1, size, size, 1), strides=2, padding="same")
        assert np.allclose(y, gradient, atol=1e-5)
    # the configurations the page's claim runs on: all but even kernels with output_padding=0
    assert [(c["kernel_size"], c["output_padding"]) for c in page.configurations
            if c["output_padding"] == 0 and c["size"] == 4] == [(3, 0), (5, 0)]
    assert len(page.configurations) == 60 and page.over(page.configurations, page.transpose_is_input_gradient)


def test_the_general_formulas_hold_on_the_whole_grid(page, built_site):
    configurations = page.stride_grid()
    # odd and even lengths and kernels, strides 1-3, dilation 1-2; only 'valid' layers
    # with no output are left out
    every = page.grid(size=range(3, 11), kernel_size=range(1, 5), stride=(1, 2, 3),
                      dilation=(1, 2), padding=("same", "valid", "causal"))
    left_out = [c for c in every if c not in configurations]
    assert left_out and all(c["padding"] == "valid" and page.output_size(
        c["size"], c["kernel_size"], c["stride"], "valid", c["dilation"]) == 0 for c in left_out)
    assert len(configurations) + len(left_out) == len(every) == 8 * 4 * 3 * 2 * 3
    # batch 2, 2 input and 3 output channels: channel order and the batch sum can fail
    x, kernel, dy = page.keras_gradients(7, 3, 2, 1, "same")[:3]
    assert x.shape == (2, 7, 2) and kernel.shape == (3, 2, 3) and dy.shape == (2, 4, 3)
    # the build ran each law on the whole grid (its stored outcome); here, a drawn sample of it again
    for section in ("stride_grid", "unread_pixels_claim", "general_kernel_gradient"):
        assert stored_claim(PAGE, section).startswith(f"True on {len(configurations)} configurations")
    for check in (page.input_formula_matches, page.kernel_formula_matches,
                  page.zero_gradient_exactly_where_unread):
        sample = random.Random(check.__name__).sample(configurations, 12)
        outcome = page.over(sample, check)
        assert outcome and outcome.count == len(sample), check.__name__


def test_the_input_formula_needs_the_unread_tail(page):
    # n=6, k=3, s=2 'valid' leaves r=1 unread: without r the result is a step short
    dy, kernel = np.ones((1, 2, 1)), np.ones((3, 1, 1))
    np.testing.assert_array_equal(
        page.input_gradient_by_formula(dy, kernel, 6, 2, 1, "valid")[0, :, 0],
        [1, 1, 2, 1, 1, 0])
    np.testing.assert_array_equal(page.unread_example[0, :, 0], [1, 1, 2, 1, 1, 0])


def test_a_wrong_kernel_rotation_fails_the_input_formula(page, monkeypatch):
    def unrotated(dy, kernel, size, stride, dilation, padding):
        return original(dy, kernel[::-1], size, stride, dilation, padding)

    original = page.input_gradient_by_formula
    monkeypatch.setitem(page.input_formula_matches.__globals__,
                        "input_gradient_by_formula", unrotated)
    assert not page.input_formula_matches(7, 2, 2, 1, "same")


def test_unread_pixels_include_gaps_between_windows(page):
    # kernel 1 at stride 2 reads every other pixel
    assert page.pixels_read(7, 1, 2, 1, "valid") == {0, 2, 4, 6}
    assert page.pixels_read(6, 3, 2, 1, "valid") == {0, 1, 2, 3, 4}


def test_same_at_stride_2_shares_no_window_with_valid_on_5_inputs(page, built_site):
    before, _ = page.same_padding(5, 3, 2)
    assert before % 2 == 1
    assert page.shares_windows_with_valid(7, 3, 2, 1)  # before = 1: none shared
    configurations = page.stride_grid("padding")
    # the build ran the whole grid
    assert stored_claim(PAGE, "shifted_windows_claim").startswith(
        f"True on {len(configurations)} configurations")
    assert page.over(random.Random(5).sample(configurations, 12), page.shares_windows_with_valid)
