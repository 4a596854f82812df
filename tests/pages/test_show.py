"""snippets/show.py: the display helpers every page prints through."""

import numpy as np
import pytest
import tensorflow as tf

from snippets.show import image, taps, whole


def test_whole_numbers_print_as_ints_and_fractions_stay_floats():
    assert whole(np.array([1.0, -2.0])).dtype.kind == "i"
    assert whole(np.array([0.5, 1.0])).dtype.kind == "f"


def test_image_of_a_tensorflow_batch_of_one():
    x = tf.reshape(tf.range(6, dtype=tf.float32), (1, 2, 3, 1))
    np.testing.assert_array_equal(image(x), [[0, 1, 2], [3, 4, 5]])
    assert image(x).dtype.kind == "i"


def test_taps_of_a_one_channel_kernel():
    kernel = np.arange(9.0).reshape(3, 3, 1, 1) / 2
    np.testing.assert_array_equal(taps(kernel), np.arange(9.0).reshape(3, 3) / 2)


@pytest.mark.parametrize("shape", [(2, 3, 3, 1), (1, 3, 3, 2), (3, 3)])
def test_image_refuses_what_is_not_one_image(shape):
    with pytest.raises(ValueError, match=r"image\(\) takes an NHWC batch of one "
                                         r"with one channel, got shape"):
        image(np.zeros(shape))


def test_taps_refuses_a_multichannel_kernel():
    with pytest.raises(ValueError, match=r"got shape \(3, 3, 2, 1\)"):
        taps(np.zeros((3, 3, 2, 1)))
