"""snippets/in_practice.py: edge cue, porting, padding modes, pooling and cost,
checked against Keras (and against PyTorch where it is installed)."""

import numpy as np
import pytest


def test_zero_padding_marks_the_border_of_a_constant_image(page):
    y = page.y_zeros[0, :, :, 0]
    assert (y[0, 0], y[0, 2], y[2, 2]) == (4, 6, 9)
    assert np.all(page.y_reflect == 9)


def test_pytorch_padding_1_is_the_emulation(page):
    torch = pytest.importorskip("torch")
    x = torch.tensor(page.x.transpose(0, 3, 1, 2))  # NCHW
    weight = torch.tensor(page.kernel.transpose(3, 2, 0, 1))  # OIHW
    y = torch.nn.functional.conv2d(x, weight, stride=2, padding=1)
    np.testing.assert_allclose(y.numpy().transpose(0, 2, 3, 1), page.y_symmetric, atol=1e-5)
    padded = torch.nn.functional.pad(x, (0, 1, 0, 1))  # (left, right, top, bottom)
    y_port = torch.nn.functional.conv2d(padded, weight, stride=2)
    np.testing.assert_allclose(y_port.numpy().transpose(0, 2, 3, 1), page.y_keras, atol=1e-5)


def test_conv2d_accepts_only_what_keras_documents(page):
    assert page.conv2d_accepts("valid") and page.conv2d_accepts("same")
    assert not page.conv2d_accepts("reflect") and not page.conv2d_accepts("symmetric")


def test_ops_pad_gradients_match_the_numpy_adjoint(page):
    from snippets.padding_gradient import pad_adjoint
    for mode, gradient in page.mode_gradients.items():
        expected = pad_adjoint(np.ones(6), (4,), [(1, 1)], mode)
        np.testing.assert_array_equal(gradient, expected)


def test_pooling_on_tensorflow_pools_real_cells_on_the_whole_grid(page):
    assert page.keras_pool("average", page.cells, 3, 2).tolist() == [1.0, 2.5]
    checked = page.over(page.grid(size=range(1, 9), pool=range(1, 5), stride=range(1, 4)),
                        page.pools_real_cells_only)
    assert checked and checked.count == 96


def test_explicit_padding_adds_a_pad_and_a_slice(page):
    assert page.explicit.count("Pad") == 1
    assert "Slice" in page.explicit and "Slice" not in page.fused
    assert page.padded_bytes - page.input_bytes == 8 * (66 * 66 - 64 * 64) * 32 * 4
