"""The padding explorer's table: for each layer along one axis, TensorFlow's
padding, the output size and each input pixel's gradient count, computed by
padding.py and conv.py. Definitions only, so any page can import it."""

# --8<-- [start:setup]
import json

import numpy as np

from snippets.conv import conv1d_grad_input, conv1d_grad_kernel, conv2d
from snippets.keras_ref import keras_accepts
from snippets.padding import PADDINGS, output_size, padding_amounts
# --8<-- [end:setup]


# --8<-- [start:reach]
def reach(size, kernel_size, stride=1, padding="valid", dilation=1):
    """reach[i, j] is 1 when output i reads input pixel j, else 0.

    Row i is the input gradient of a dy that is 1 at output i and 0
    elsewhere, through a kernel of ones: one batch row per output."""
    out = output_size(size, kernel_size, stride, padding, dilation)
    dy = np.eye(out).reshape(out, out, 1)
    kernel = np.ones((kernel_size, 1, 1))
    dx = conv1d_grad_input(dy, kernel, (out, size, 1), stride, padding, dilation)
    return dx[:, :, 0].astype(int)


def gradient_counts(size, kernel_size, stride=1, padding="valid", dilation=1):
    """How many terms each input pixel's gradient sums: the outputs reading it."""
    return reach(size, kernel_size, stride, padding, dilation).sum(axis=0)


def taps_on_padding(size, kernel_size, stride=1, padding="valid", dilation=1):
    """on_padding[i, a] is True when tap a of output i reads a padded zero.

    With an input of ones, the kernel gradient for a dy that is 1 at output i
    is 1 at each tap reading a real pixel and 0 at each tap reading padding."""
    out = output_size(size, kernel_size, stride, padding, dilation)
    x = np.ones((1, size, 1))
    on_padding = np.zeros((out, kernel_size), dtype=bool)
    for i in range(out):
        dy = np.zeros((1, out, 1))
        dy[0, i, 0] = 1
        dkernel = conv1d_grad_kernel(x, dy, (kernel_size, 1, 1), stride,
                                     padding, dilation)
        on_padding[i] = dkernel[:, 0, 0] == 0
    return on_padding
# --8<-- [end:reach]


# --8<-- [start:table]
def accepted_in_2d(padding):
    """Whether conv.py's 2-D convolution takes this padding name."""
    try:
        conv2d(np.ones((1, 1, 1, 1)), np.ones((1, 1, 1, 1)), padding=padding)
    except ValueError:
        return False
    return True


def layer_entry(size, kernel_size, stride, padding, dilation):
    """One layer along one axis: None if Keras refuses it; otherwise
    [before, after, output size, gradient count of each input pixel],
    without the counts when the output is empty."""
    if not keras_accepts(stride, dilation, spatial_dims=1):
        return None
    before, after = padding_amounts(size, kernel_size, stride, padding, dilation)
    out = output_size(size, kernel_size, stride, padding, dilation)
    if out == 0:
        return [before, after, 0]
    counts = gradient_counts(size, kernel_size, stride, padding, dilation)
    return [before, after, out, *counts.tolist()]


def explorer_table(sizes, kernels, strides, dilations, paddings=PADDINGS):
    """Every layer of the grid, sizes varying fastest, then kernels,
    strides, dilations and paddings."""
    layers = [layer_entry(n, k, s, p, d) for p in paddings for d in dilations
              for s in strides for k in kernels for n in sizes]
    return {"sizes": list(sizes), "kernels": list(kernels),
            "strides": list(strides), "dilations": list(dilations),
            "paddings": list(paddings),
            "paddings_2d": [p for p in paddings if accepted_in_2d(p)],
            "layers": layers}


def explorer_json(**grid):
    return json.dumps(explorer_table(**grid), separators=(",", ":"))
# --8<-- [end:table]
