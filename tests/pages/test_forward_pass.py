"""snippets/forward_pass.py: 'valid', 'same' and the (k - 1) // 2 rule,
checked against Keras."""

import numpy as np
import pytest

from snippets.padding import same_padding


def test_valid_outputs_are_window_sums(page):
    x = page.image(page.x)
    expected = [[x[i:i + 3, j:j + 3].sum() for j in range(3)] for i in range(3)]
    np.testing.assert_array_equal(page.image(page.y_valid), expected)


def test_same_keeps_the_size_and_its_interior_is_valid(page):
    assert page.y_same.shape == page.x.shape
    np.testing.assert_array_equal(page.y_same[:, 1:-1, 1:-1, :], page.y_valid)


def test_same_corner_output_sums_only_real_pixels(page):
    assert page.y_same[0, 0, 0, 0] == page.x[0, :2, :2, 0].sum()


@pytest.mark.parametrize("case", [
    (5, 3, 1, 1), (5, 4, 1, 1), (5, 3, 2, 1), (6, 3, 2, 1),
    (6, 4, 2, 1), (7, 3, 1, 2), (4, 5, 1, 1), (7, 2, 3, 1),
])
def test_each_table_row_is_in_the_grid_and_pad_then_valid_in_keras(page, case):
    assert case in page.cases
    n, k, s, d = case
    assert dict(size=n, kernel_size=k, strides=s, dilation=d) in page.configurations
    assert page.same_is_pad_then_valid(*case)


def test_the_grid_spans_odd_and_even_kernels_strides_and_dilations(page):
    square = [c for c in page.configurations
              if all(isinstance(value, int) for value in c.values())]
    seen = {key: {c[key] for c in square}
            for key in ("size", "kernel_size", "strides", "dilation")}
    assert seen == {"size": set(range(1, 8)), "kernel_size": {1, 2, 3, 4, 5},
                    "strides": {1, 2, 3}, "dilation": {1, 2}}


def test_the_grid_has_layers_padded_differently_per_axis(page):
    # "Each axis is padded on its own" (review 10A, C3): rows whose two axes need
    # different amounts, from a non-square input, kernel, stride or dilation
    per_axis = [c for c in page.configurations
                if not all(isinstance(value, int) for value in c.values())]
    differ = [c for c in per_axis
              if len({same_padding(*axis) for axis in
                      zip(*(page.per_axis(c[key]) for key in
                            ("size", "kernel_size", "strides", "dilation")), strict=True)}) == 2]
    assert {key for c in differ for key in c if not isinstance(c[key], int)} == {
        "size", "kernel_size", "strides", "dilation"}


def test_pad_then_valid_check_fails_when_one_axis_amounts_are_used_on_both(page, monkeypatch):
    # 5x6 at stride 2 with a 3x3 kernel needs rows (1, 1), columns (0, 1)
    monkeypatch.setattr(page, "same_padding",
                        lambda n, k, s, d: same_padding(5, 3, 2, 1) if (n, k, s) == (6, 3, 2)
                        else same_padding(n, k, s, d))
    assert not page.same_is_pad_then_valid((5, 6), 3, 2, 1)


def test_pad_then_valid_check_can_fail(page, monkeypatch):
    # with the extra zero on the wrong side the check must say no
    monkeypatch.setattr(page, "same_padding",
                        lambda n, k, s, d: same_padding(n, k, s, d)[::-1])
    assert not page.same_is_pad_then_valid(5, 4, 1, 1)


def test_pad_then_valid_check_fails_on_an_unread_extra_zero(page, monkeypatch):
    # at stride 2 an extra zero after the input is never read, so y, dx and
    # dkernel still agree; only the "one zero fewer" half can catch it (C5)
    monkeypatch.setattr(page, "same_padding",
                        lambda n, k, s, d: (1, 2) if (n, k, s) == (5, 3, 2) else same_padding(n, k, s, d))
    assert not page.same_is_pad_then_valid(5, 3, 2, 1)


def test_even_kernel_pads_the_extra_zero_after(page):
    assert same_padding(5, 4) == (1, 2)
    np.testing.assert_allclose(page.y_same_4, page.extra_after)
    assert not np.allclose(page.y_same_4, page.extra_before)


def test_rule_of_thumb_gives_wrong_shape_for_even_kernel(page):
    assert page.naive_4.shape == (1, 4, 4, 1)
    assert page.y_same_4.shape == (1, 5, 5, 1)


def test_rule_of_thumb_at_stride_2_same_shape_different_values(page):
    assert page.naive_s2.shape == page.keras_s2.shape == (1, 3, 3, 1)
    assert not np.allclose(page.naive_s2, page.keras_s2)
    # Keras's first window starts on the first pixel: no zero before it
    x = page.image(page.x_6)
    assert page.keras_s2[0, 0, 0, 0] == x[:3, :3].sum()


def test_rule_of_thumb_agrees_for_odd_kernel_at_stride_1(page):
    np.testing.assert_array_equal(page.naive_same(page.x, page.kernel),
                                  page.y_same)


def test_documented_padding_is_the_whole_padding_entry_and_nothing_else(page):
    text = page.docstring
    assert text.startswith("padding: string, either")
    assert "data_format" not in text and "evenly" in text


def test_documented_padding_says_so_when_the_entry_is_missing(page):
    class NoDocs:
        """Args:
            filters: int.
        """
    with pytest.raises(ValueError, match="NoDocs's docstring has no 'padding:' entry"):
        page.documented_padding(NoDocs)


def test_uneven_rows_are_those_keras_pads_one_more_after(page):
    assert page.uneven_rows == [(5, 4, 1, 1), (6, 3, 2, 1), (7, 2, 3, 1)]
    for case in page.uneven_rows:
        assert page.same_is_pad_then_valid(*case)
