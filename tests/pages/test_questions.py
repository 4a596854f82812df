"""snippets/questions.py: the numbers the short answers quote are Keras's."""

import numpy as np

from snippets import keras_ref, questions


def test_porting_padding_is_what_keras_same_pads_at_stride_two():
    rng = np.random.default_rng(0)
    x, kernel = rng.normal(size=(1, 6, 6, 1)), rng.normal(size=(3, 3, 1, 1))
    padding = [(0, 0), (questions.port_before, questions.port_after), (questions.port_before, questions.port_after),
               (0, 0)]
    np.testing.assert_allclose(keras_ref.conv2d(x, kernel, strides=2, padding="same"),
                               keras_ref.conv2d(np.pad(x, padding), kernel, strides=2), atol=1e-5)
    assert (questions.port_before, questions.port_after) == (0, 1)  # the answer's "no zero before"


def test_the_odd_zero_goes_after_as_keras_pads():
    rng = np.random.default_rng(1)
    x, kernel = rng.normal(size=(1, 5, 5, 1)), rng.normal(size=(4, 4, 1, 1))
    padding = [(0, 0), (questions.odd_before, questions.odd_after), (questions.odd_before, questions.odd_after),
               (0, 0)]
    np.testing.assert_allclose(keras_ref.conv2d(x, kernel, padding="same"),
                               keras_ref.conv2d(np.pad(x, padding), kernel), atol=1e-5)
    assert questions.odd_after == questions.odd_before + 1


def test_the_unread_pixels_are_those_no_window_reads():
    windows = {start + tap for start in range(0, 6 - 3 + 1, 2) for tap in range(3)}
    assert questions.unread == sorted(set(range(6)) - windows) == [5]
