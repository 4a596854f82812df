"""snippets/input_gradient.py: three views of the input gradient, the adjoint
identity and the reach counts, checked against Keras and tf.GradientTape."""

import numpy as np
import pytest
import tensorflow as tf

from snippets import keras_ref


def tape_input_gradient(x, kernel, dy):
    """tf.nn.conv2d under a tape: a path independent of keras_ref's layer."""
    x = tf.constant(x, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.nn.conv2d(x, tf.constant(kernel, tf.float32), 1, "SAME")
    return tape.gradient(y, x, output_gradients=tf.constant(dy, tf.float32))


def test_keras_answer_matches_an_independent_tape(page):
    expected = tape_input_gradient(page.x, page.kernel, page.dy)
    np.testing.assert_allclose(page.dx_keras, expected, atol=1e-5)


@pytest.mark.parametrize("name", ["dx_cropped", "dx_masked", "dx_transposed",
                                  "dx_flipped"])
def test_every_view_equals_keras(page, name):
    np.testing.assert_allclose(getattr(page, name), page.dx_keras, atol=1e-5)


def test_the_example_is_not_trivial(page):
    # a gradient that is all zeros would make every view agree vacuously
    assert np.count_nonzero(page.dx_keras) > page.dx_keras.size // 2


def test_masked_loop_on_a_larger_multichannel_example(page):
    rng = np.random.default_rng(7)
    x_shape = (2, 6, 7, 2)
    kernel = rng.normal(size=(5, 5, 2, 3))
    dy = rng.normal(size=(2, 6, 7, 3))
    pad_before, _ = page.same_padding(6, 5)
    masked = page.grad_input_masked(dy, kernel, x_shape, pad_before)
    expected = keras_ref.conv2d_grad_input(dy, kernel, x_shape, padding="same")
    np.testing.assert_allclose(masked, expected, atol=1e-4)


def test_masked_loop_without_the_mask_is_wrong(page):
    # pretending there is no padding shifts every contribution
    wrong = page.grad_input_masked(page.dy, page.kernel, page.x.shape, 0)
    assert not np.allclose(wrong, page.dx_keras)


def test_adjoint_identity_holds_exactly(page):
    assert page.forward_side == page.backward_side
    assert page.forward_side != 0


def brute_force_reach(size, k):
    """Count, for each pixel, the 'same' output windows that cover it."""
    before, _ = (k - 1) // 2, None
    counts = np.zeros((size, size), int)
    for i in range(size):
        for j in range(size):
            rows = range(max(i - before, 0), min(i - before + k, size))
            cols = range(max(j - before, 0), min(j - before + k, size))
            counts[np.ix_(list(rows), list(cols))] += 1
    return counts


@pytest.mark.parametrize("k", [3, 5])
def test_reach_counts_equal_a_brute_force_count(page, k):
    counts = page.counts_3 if k == 3 else page.counts_5
    np.testing.assert_array_equal(counts, brute_force_reach(8, k))


def test_corner_and_centre_formula(page):
    assert page.corner_and_centre(page.counts_3, 3)
    assert page.corner_and_centre(page.counts_5, 5)
    assert not page.corner_and_centre(page.counts_5, 3)


def test_two_stacked_layers_shrink_the_corner_share(page):
    one, two = page.reach_through(1, 8, 3), page.reach_through(2, 8, 3)
    assert page.corner_share(two) < page.corner_share(one)
    # two layers of ones is a path count: the one-layer count convolved again
    ones = np.ones((3, 3, 1, 1))
    again = keras_ref.conv2d(one[None, :, :, None].astype(float), ones,
                             padding="same")
    np.testing.assert_array_equal(two, again[0, :, :, 0])


def test_valid_reads_the_border_less_than_same(page):
    # 8x8, 3x3: valid 1, 3, 9 and same 4, 6, 9 (corner, edge, centre), counted by brute force
    valid, same = page.reads["valid"], page.reads["same"]
    np.testing.assert_array_equal(same, brute_force_reach(8, 3))
    assert (valid[0, 0], valid[0, 4], valid[4, 4]) == (1, 3, 9)
    assert (same[0, 0], same[0, 4], same[4, 4]) == (4, 6, 9)


def test_band_width_counts_pixels_below_the_centre_count(page):
    assert page.band_width(page.reach_through(1, 8, 3)) == 1
    assert page.band_width(page.reach_through(2, 8, 3)) == 2
    assert page.band_width(page.reach_through(1, 8, 5)) == 2


def test_finite_differences_agree_to_round_off(page):
    assert max(page.largest_error.values()) < 1e-9
    assert page.same_padding(7, 4, 2) == (1, 2)  # the uneven case the page promises


def test_finite_differences_catch_a_gradient_of_the_wrong_padding(page):
    # the Jacobian of the convolution padded (2, 1) instead of (1, 2) is far off
    def wrong(x):
        padded = tf.pad(x, [[0, 0], [2, 1], [2, 1], [0, 0]])
        return tf.nn.conv2d(padded, page.kernel_64, 2, "VALID")
    (wrong_jacobian,), _ = tf.test.compute_gradient(wrong, [page.x_64])
    _, (numeric,) = tf.test.compute_gradient(page.conv_of_x, [page.x_64])
    assert np.max(np.abs(wrong_jacobian - numeric)) > 1e-3


def test_the_edge_rule_holds_for_even_and_non_square_kernels(page):
    # a 2x2 'same' kernel: its one zero goes after the input, so the last row and
    # column get the full count (4, like the middle) and the first row gains nothing
    same = page.reads_per_pixel(6, 2, "same")
    assert same[-1, 3] == same[3, 3] == 4 and same[0, 3] == 2
    assert page.edges_follow_the_rule(size=8, kernel_h=2, kernel_w=2)
    assert page.edges_follow_the_rule(size=7, kernel_h=1, kernel_w=4)


def test_the_edge_rule_can_fail(page, monkeypatch):
    # were every 'same' edge short (as the old wording said), a 2-wide kernel would fail
    real = page.reads_per_pixel
    def no_full_last_row(size, kernel_size, padding):
        counts = real(size, kernel_size, padding).copy()
        if padding == "same":
            counts[-1] = counts[-1] - 1
        return counts
    monkeypatch.setattr(page, "reads_per_pixel", no_full_last_row)
    assert not page.edges_follow_the_rule(size=8, kernel_h=2, kernel_w=3)
