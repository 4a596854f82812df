"""Pooling with padding="same" along one axis: what Keras computes on the backend it runs on, and two
NumPy references to hold it against: pooling each window's real cells only, and pooling the input
padded by repeating its edge cells (PyTorch's "replicate" padding mode).

Imports only Keras and NumPy, so it runs on every backend.
"""

import keras
import numpy as np

from snippets.padding import same_padding

POOLING_LAYERS = {"average": keras.layers.AveragePooling1D, "max": keras.layers.MaxPooling1D}
REDUCTIONS = {"average": np.mean, "max": np.max}


def keras_pool(kind, x, pool, stride):
    """Keras's AveragePooling1D or MaxPooling1D (kind "average" or "max"), padding="same", on the 1-D x."""
    if kind not in POOLING_LAYERS:
        raise ValueError(f"kind must be one of {sorted(POOLING_LAYERS)}, got {kind!r}")
    layer = POOLING_LAYERS[kind](pool, strides=stride, padding="same")
    return keras.ops.convert_to_numpy(layer(np.asarray(x, "float32")[None, :, None]))[0, :, 0]


def window_starts(size, pool, stride):
    """Where each "same" window starts, in the unpadded input's indices (negative: in the padding)."""
    before, _ = same_padding(size, pool, stride)
    return [i * stride - before for i in range(-(-size // stride))]


def pool_real_cells(kind, x, pool, stride):
    """Each "same" window reduced over its real cells only, the padded ones left out."""
    x = np.asarray(x, "float64")
    return np.array([REDUCTIONS[kind](x[max(start, 0):start + pool]) for start in window_starts(len(x), pool, stride)])


def pool_edge_replicated(kind, x, pool, stride):
    """Each "same" window reduced over the input padded by repeating its first and last cells."""
    x = np.asarray(x, "float64")
    before, after = same_padding(len(x), pool, stride)
    padded = np.pad(x, (before, after), mode="edge")
    return np.array([REDUCTIONS[kind](padded[start + before:start + before + pool])
                     for start in window_starts(len(x), pool, stride)])


def signed_input(size, pool, stride):
    """Signed values, different for every configuration and the same on every backend."""
    return np.random.default_rng([size, pool, stride]).normal(size=size).round(3)


def is_lopsided(size, pool, stride):
    before, after = same_padding(size, pool, stride)
    return before != after
