"""snippets/strides_dilation_causal.py: the facts its page states, checked against Keras and TensorFlow."""

import numpy as np

from snippets import keras_ref


def test_stride_two_pads_odd_and_even_lengths_differently(page):
    assert page.same_padding(7, 3, 2) == (1, 1)
    assert page.same_padding(8, 3, 2) == (0, 1)
    # Keras agrees: "same" at stride 2 on length 8 is "valid" after one zero at the end only.
    padded = np.pad(page.x_even, [(0, 0), (0, 1), (0, 0)])
    assert np.allclose(
        keras_ref.conv1d(page.x_even, page.kernel_stride, strides=2, padding="same"),
        keras_ref.conv1d(padded, page.kernel_stride, strides=2, padding="valid"),
        atol=1e-5,
    )


def test_numpy_forward_and_gradient_match_keras_at_stride_two(page):
    for ours, keras_y in page.outputs_stride.values():
        assert ours.shape == keras_y.shape == (1, 4, 1)
        assert np.allclose(ours, keras_y, atol=1e-5)


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
    assert np.count_nonzero(page.jacobian_causal[-1]) == page.receptive_field == 8


def test_causal_input_gradient_matches_keras_and_looks_only_backwards(page):
    assert np.all(page.dx_causal[0, 4:, 0] == 0)
    assert np.count_nonzero(page.dx_causal) == 3
    assert np.allclose(
        page.conv1d_grad_input(page.dy_random, page.kernel_causal, page.x_causal.shape, padding="causal"),
        keras_ref.conv1d_grad_input(page.dy_random, page.kernel_causal, page.x_causal.shape, padding="causal"),
        atol=1e-5,
    )


def test_transposed_convolution_is_the_input_gradient_and_output_padding_picks_the_size(page):
    assert page.transposed_7.shape == (1, 7, 7, 1)
    assert page.transposed_8.shape == (1, 8, 8, 1)
    assert np.allclose(page.transposed_7, page.gradient_7, atol=1e-5)
    assert np.allclose(page.transposed_8, page.gradient_8, atol=1e-5)
    assert np.allclose(page.transposed(page.x_small, page.kernel_transpose, output_padding=1), page.gradient_8, atol=1e-5)
