"""snippets/porting.py: Keras on TensorFlow against real PyTorch, and the helpers the page's
claims use (agree, torch_port, compare), tested beyond the page's grid.

The page's table and claims are the check build's (`stored_outputs`): these tests load only the module's
definitions (`helpers.definitions`) and call its functions on cases of their own."""

import numpy as np
import pytest

from helpers import definitions, stored_outputs

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def page():
    return definitions("porting")


def test_agree_is_float32_round_off_relative_to_the_largest_entry(page):
    expected = np.array([100.0, 1.0])
    assert page.agree(expected + [1e-4, 0], expected)  # 1e-6 of the largest entry
    assert not page.agree(expected + [0, 1e-2], expected)  # 1e-4 of it
    assert not page.agree(None, expected)
    assert not page.agree(np.zeros(3), expected)


def test_the_weights_port_hwio_to_oihw_and_the_gradients_come_back_in_keras_layouts(page):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 6, 6, 2)).astype("float32")
    kernel = rng.normal(size=(3, 2, 2, 3)).astype("float32")  # not square: a wrong transpose fails
    dy = rng.normal(size=(1, 3, 3, 3)).astype("float32")
    y, dx, dkernel = page.torch_port("F.pad, padding=0", x, kernel, 2, dy)
    assert dx.shape == x.shape and dkernel.shape == kernel.shape
    for got, expected in zip((y, dx, dkernel), page.keras_same(x, kernel, 2, dy), strict=True):
        assert page.agree(got, expected)


def test_a_port_with_another_output_shape_has_no_gradients(page):
    x = np.ones((1, 7, 7, 2), "float32")
    y, dx, dkernel = page.torch_port("padding=1", x, np.ones((4, 4, 2, 3), "float32"), 1,
                                     np.ones((1, 7, 7, 3), "float32"))
    assert y.shape == (1, 6, 6, 3) and dx is None and dkernel is None


@pytest.mark.parametrize("kernel", [2, 3, 4, 5])
@pytest.mark.parametrize("size", [9, 10, 11])
def test_at_stride_3_explicit_padding_matches_and_padding_same_is_refused(page, kernel, size):
    assert page.compare("F.pad, padding=0", kernel, 3, size) == "equal"
    assert page.compare('padding="same"', kernel, 3, size) == "refused"


def test_padding_1_matches_a_5x5_kernel_nowhere_and_the_table_names_every_outcome(page):
    assert {page.compare("padding=1", 5, stride, size)
            for stride in (1, 2) for size in (7, 8)} <= {"shape", "differs"}
    assert page.compare("padding=1", 3, 2, 6) == "differs"
    assert page.compare("padding=1", 3, 2, 7) == "equal"


def test_the_claims_hold_on_the_page_grid(built_site):
    """The check build ran each claim over the page's grid on both TensorFlow kernel paths and stored it."""
    blocks, _ = stored_outputs("in-practice.md")
    for section in ("padding_1_claim", "padding_same_claim", "explicit_claim"):
        assert sorted(blocks[section]) == ["tf-eigen", "tf-onednn"], section
        for backend, result in blocks[section].items():
            assert result["error"] is None and result["value"][0].startswith("True on 40 configurations"), backend
            assert result["scope"]["count"] == 40
