"""How the pages print arrays, and write them into heat maps, shared by every page that shows them.

Whole numbers print without decimals (a grid of integers stays integers), and
Keras layouts are cut down to what a reader looks at: the 2-D image of an NHWC
batch of one with one channel, the 2-D taps of an HWIO kernel with one input
and one output channel.
"""

import numpy as np

__all__ = ["whole", "image", "taps", "write_values"]


def whole(a):
    """As ints when every value is a whole number, unchanged otherwise."""
    a = np.asarray(a)
    return a.astype(int) if np.array_equal(a, np.round(a)) else a


def image(a):
    """The 2-D image of an NHWC batch of one, with one channel."""
    a = np.asarray(a)
    if a.ndim != 4 or a.shape[0] != 1 or a.shape[-1] != 1:
        raise ValueError(f"image() takes an NHWC batch of one with one channel, "
                         f"got shape {a.shape}")
    return whole(a[0, :, :, 0])


def taps(kernel):
    """The 2-D taps of an HWIO kernel (or its gradient), one channel in and out."""
    kernel = np.asarray(kernel)
    if kernel.ndim != 4 or kernel.shape[2:] != (1, 1):
        raise ValueError(f"taps() takes an HWIO kernel with one input and one "
                         f"output channel, got shape {kernel.shape}")
    return whole(kernel[:, :, 0, 0])


def write_values(ax, values, fontsize, color=None):
    """Each value of a 2-D array written in its cell of the heat map `ax` shows (`color`: a
    function of the value, or None for matplotlib's default)."""
    for (row, col), value in np.ndenumerate(values):
        ax.text(col, row, f"{value:g}", ha="center", va="center", fontsize=fontsize,
                **({} if color is None else {"color": color(value)}))
