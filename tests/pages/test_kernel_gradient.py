"""snippets/kernel_gradient.py: zero terms from padding, and how 'same'
changes the kernel gradient, checked against Keras."""

import numpy as np
import pytest

from snippets import keras_ref


def test_loop_over_padded_input_equals_keras(page):
    np.testing.assert_allclose(page.dkernel_loop, page.dkernel_keras, atol=1e-5)


@pytest.mark.parametrize("a", range(3))
@pytest.mark.parametrize("b", range(3))
def test_terms_that_read_padding_are_zero_and_sum_to_keras(page, a, b):
    terms, from_padding = page.tap_terms(a, b)
    assert np.all(terms[from_padding] == 0)
    assert terms.sum() == pytest.approx(page.dkernel_keras[a, b, 0, 0])


def test_the_corner_tap_reads_padding_and_the_centre_does_not(page):
    assert page.tap_terms(0, 0)[1].sum() == 2 * 5 - 1
    assert page.tap_terms(1, 1)[1].sum() == 0


def test_same_and_valid_differ(page):
    assert not np.allclose(page.dkernel_same, page.dkernel_valid)


def test_difference_is_the_border_outputs_contribution(page):
    np.testing.assert_allclose(page.dkernel_same - page.dkernel_valid,
                               page.dkernel_border, atol=1e-5)
    assert np.any(page.dkernel_border != 0)


def test_valid_with_shared_dy_equals_same_with_border_dy_zeroed(page):
    dy = page.dy_same.copy()
    dy[:, [0, -1], :, :] = 0
    dy[:, :, [0, -1], :] = 0
    same_interior = keras_ref.conv2d_grad_kernel(page.x, dy, page.kernel_shape,
                                                 padding="same")
    np.testing.assert_allclose(same_interior, page.dkernel_valid, atol=1e-5)


def test_real_terms_per_tap_count_non_padding_pixels(page):
    size, k = 5, 3
    is_real = np.pad(np.ones((size, size), int), 1)
    expected = [[is_real[a:a + size, b:b + size].sum() for b in range(k)]
                for a in range(k)]
    np.testing.assert_array_equal(page.real_same, expected)
    np.testing.assert_array_equal(page.real_valid, np.full((k, k), 9))


def test_the_fused_layer_matches_zeros_not_sevens(page):
    # padding with 7 moves each tap by 7 times the dy of the outputs where it reads padding
    moved = np.zeros((3, 3))
    for a in range(3):
        for b in range(3):
            _, from_padding = page.tap_terms(a, b)
            moved[a, b] = 7 * page.image(page.dy_same)[from_padding].sum()
    np.testing.assert_allclose(page.taps(page.sevens) - page.taps(page.zeros), moved, atol=1e-4)
    np.testing.assert_allclose(page.dkernel_keras, page.zeros, atol=1e-4)
    assert np.any(moved != 0)


def test_every_valid_tap_reads_no_more_than_any_same_tap(page):
    assert np.all(page.real_valid <= page.real_same.min())


def test_border_outputs_make_the_difference_on_odd_and_even_kernels(page):
    for kernel_size in (2, 3, 4):
        assert page.border_outputs_make_the_difference(6, kernel_size, 1)
    assert page.border_outputs_make_the_difference(7, 2, 2)
