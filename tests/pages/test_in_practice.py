"""snippets/in_practice.py: edge cue and padding modes, checked against Keras."""

import numpy as np


def test_zero_padding_marks_the_border_of_a_constant_image(page):
    y = page.y_zeros[0, :, :, 0]
    assert (y[0, 0], y[0, 2], y[2, 2]) == (4, 6, 9)
    assert np.all(page.y_reflect == 9)


def test_conv2d_accepts_only_what_keras_documents(page):
    assert page.conv2d_accepts("valid") and page.conv2d_accepts("same")
    assert not page.conv2d_accepts("reflect") and not page.conv2d_accepts("symmetric")


def test_ops_pad_gradients_match_the_numpy_adjoint(page):
    from snippets.padding_gradient import pad_adjoint
    for mode, gradient in page.mode_gradients.items():
        expected = pad_adjoint(np.ones(6), (4,), [(1, 1)], mode)
        np.testing.assert_array_equal(gradient, expected)
