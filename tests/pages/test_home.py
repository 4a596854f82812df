"""snippets/home.py: the short answer, checked against Keras."""

import numpy as np
import pytest

from snippets import conv, keras_ref


@pytest.fixture(scope="module")
def home(page):
    """snippets.home, loaded by conftest's `page`, under the name these tests read it by."""
    return page


def test_padded_tensor_has_a_one_pixel_frame(home):
    assert home.x_padded.shape == (1, 7, 7, 1)
    assert np.all(home.x_padded.numpy()[home.border] == 0)


def test_gradient_on_the_frame_is_what_the_valid_convolution_sends_back(home):
    expected = conv.conv2d_grad_input(home.dy.numpy(), home.kernel, (1, 7, 7, 1))
    np.testing.assert_allclose(home.dx_padded, expected, atol=1e-5)
    assert home.border_non_zero == np.count_nonzero(expected[home.border])


def test_input_gradient_is_the_centre_of_the_padded_gradient(home):
    np.testing.assert_array_equal(home.dx, home.dx_padded[:, 1:-1, 1:-1, :])


def test_input_gradient_equals_keras_same_conv_input_gradient(home):
    expected = keras_ref.conv2d_grad_input(home.dy, home.kernel, (1, 5, 5, 1),
                                           padding="same")
    np.testing.assert_array_equal(home.dx, expected)
    np.testing.assert_array_equal(home.dx_same, expected)


def test_outputs_agree_with_numpy(home):
    expected = conv.conv2d(home.x.numpy(), home.kernel, padding="same")
    np.testing.assert_allclose(home.y_same, expected, atol=1e-5)
    np.testing.assert_allclose(home.y_padded, expected, atol=1e-5)


def test_traced_ops_name_the_convolutions_and_their_padding(home):
    assert [kind for kind, _ in home.conv_ops] == [
        "Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter"]
    valid = home.traced_ops(home.conv_valid, (1, 7, 7, 1))
    assert {padding for _, padding in valid if padding is not None} == {"VALID"}


def test_dilated_and_grouped_layers_trace_other_ops(home):
    assert ("Conv2D", "VALID") in home.dilated
    assert not any(padding == "SAME" for _, padding in home.dilated)
    assert home.grouped and not any(kind.startswith("Conv2D") for kind, _ in home.grouped)
