"""snippets/home.py: the short answer, checked against Keras."""

import numpy as np
import pytest

from snippets import keras_ref


@pytest.fixture(scope="module")
def home(page):
    """snippets.home, loaded by conftest's `page`, under the name these tests read it by."""
    return page


def test_padded_tensor_has_a_one_pixel_frame(home):
    assert home.x_padded.shape == (1, 7, 7, 1)
    assert np.all(home.x_padded.numpy()[home.border] == 0)


def test_gradient_on_the_frame_is_computed_and_not_zero(home):
    frame = home.dx_padded.numpy()[home.border]
    assert frame.size == 7 * 7 - 5 * 5
    assert np.all(frame != 0)


def test_input_gradient_is_the_centre_of_the_padded_gradient(home):
    np.testing.assert_array_equal(home.dx, home.dx_padded[:, 1:-1, 1:-1, :])


def test_input_gradient_equals_keras_same_conv_input_gradient(home):
    ones = np.ones((1, 5, 5, 1))
    expected = keras_ref.conv2d_grad_input(ones, home.kernel, ones.shape,
                                           padding="same")
    np.testing.assert_array_equal(home.dx, expected)
    np.testing.assert_array_equal(home.dx_same, expected)


def test_interior_gradient_is_the_kernel_sum(home):
    # every interior pixel is read once by every tap, each with upstream 1
    assert np.all(home.dx.numpy()[0, 1:-1, 1:-1, 0] == home.kernel.sum())
