"""snippets/padding_gradient.py: the padding op's gradient is its adjoint,
checked against TensorFlow."""

import numpy as np
import pytest
import tensorflow as tf


def test_zero_padding_gradient_is_a_slice_of_dy(page):
    assert page.x_padded.shape == (1, 7, 5, 1)
    np.testing.assert_array_equal(page.dx, page.dy[:, 1:-2, 0:-1, :])


def test_backward_graph_slices_and_does_not_mask(page):
    assert "Slice" in page.ops
    assert not {"Mul", "Select", "SelectV2", "Where"} & set(page.ops)


def test_mirror_padding_backward_uses_its_own_gradient_op(page):
    ops = page.backward_ops(lambda x: tf.pad(x, page.paddings, "REFLECT"),
                            page.x.shape, page.dy.shape)
    assert "MirrorPadGrad" in ops and "Slice" not in ops


def test_constant_value_does_not_change_the_gradient(page):
    for value in (0.0, 7.0, -3.5):
        dx = page.pad_gradient_tf(page.x, page.dy, page.paddings,
                                  mode="CONSTANT", constant_values=value)
        np.testing.assert_array_equal(dx, page.dx)


def test_mode_gradients_with_ones(page):
    grads = page.mode_gradients
    np.testing.assert_array_equal(grads["CONSTANT"], np.ones((4, 4)))
    np.testing.assert_array_equal(grads["REFLECT"],
                                  np.outer([1, 2, 2, 1], [1, 2, 2, 1]))
    np.testing.assert_array_equal(grads["SYMMETRIC"],
                                  np.outer([2, 1, 1, 2], [2, 1, 1, 2]))


def test_gradients_sum_to_the_number_of_cells_that_are_copies(page):
    # every mirrored cell sends back 1; a constant cell sends back nothing
    assert page.mode_gradients["CONSTANT"].sum() == 16
    assert page.mode_gradients["REFLECT"].sum() == 36
    assert page.mode_gradients["SYMMETRIC"].sum() == 36


@pytest.mark.parametrize("mode", ["constant", "reflect", "symmetric"])
def test_pad_adjoint_satisfies_the_adjoint_identity(page, mode):
    rng = np.random.default_rng(5)
    x_shape = (2, 4, 5, 3)
    paddings = [[0, 0], [2, 1], [1, 3], [0, 0]]
    x = rng.normal(size=x_shape)
    x_padded = np.pad(x, paddings, mode)
    g = rng.normal(size=x_padded.shape)
    assert np.vdot(x_padded, g) == pytest.approx(
        np.vdot(x, page.pad_adjoint(g, x_shape, paddings, mode)))


@pytest.mark.parametrize("mode", ["CONSTANT", "REFLECT", "SYMMETRIC"])
def test_pad_adjoint_matches_tensorflow(page, mode):
    assert page.adjoint_matches_tf(mode, (1, 2), (0, 1))
    assert page.adjoint_matches_tf(mode, (0, 3), (2, 2))


def test_pad_adjoint_is_not_a_plain_crop_for_mirror_modes(page):
    g = np.ones((1, 7, 5, 1))
    crop = g[:, 1:-2, 0:-1, :]
    reflect = page.pad_adjoint(g, (1, 4, 4, 1), page.paddings, "reflect")
    assert not np.array_equal(reflect, crop)


def test_the_adjoint_check_with_a_constant_of_7_can_fail(page, monkeypatch):
    # an adjoint that let the 7s' cells send gradient to the edge pixels would not match
    real = page.pad_adjoint
    def leaky(dy, x_shape, paddings, mode):
        return real(dy, x_shape, paddings, "edge" if mode == "constant" else mode)
    monkeypatch.setattr(page, "pad_adjoint", leaky)
    assert not page.adjoint_matches_tf("CONSTANT", (1, 2), (0, 1), constant=7.0)
