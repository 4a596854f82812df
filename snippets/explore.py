"""Explore page: the explorer's table for its whole grid, the static picture
shown when JavaScript is off, and the checks of the table against Keras."""

# --8<-- [start:setup]
import json

import keras
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from snippets.conv import conv2d_grad_input
from snippets.explorer import explorer_json, gradient_counts, layer_entry
from snippets.padding import PADDINGS, output_size, padding_amounts
# --8<-- [end:setup]


# --8<-- [start:grid]
explorer_data = explorer_json(sizes=range(1, 17), kernels=range(1, 8),
                              strides=range(1, 5), dilations=range(1, 5))
# --8<-- [end:grid]


# --8<-- [start:static_figure]
def draw_layer(ax, size, kernel_size, stride, padding, dilation):
    """The padded row (zeros grey), each input pixel's gradient count,
    and under it the outputs, each below the middle of its window."""
    before, after = padding_amounts(size, kernel_size, stride, padding, dilation)
    counts = gradient_counts(size, kernel_size, stride, padding, dilation)
    span = (kernel_size - 1) * dilation + 1
    for position in range(before + size + after):
        pixel = position - before
        inside = 0 <= pixel < size
        shade = plt.cm.Blues(0.15 + 0.6 * counts[pixel] / kernel_size) if inside else "#d9d9d9"
        ax.add_patch(Rectangle((position, 0), 1, 1, facecolor=shade, edgecolor="white"))
        ax.text(position + 0.5, 0.5, str(counts[pixel]) if inside else "0",
                ha="center", va="center", fontsize=9, color="black" if inside else "#555")
    for i in range(output_size(size, kernel_size, stride, padding, dilation)):
        centre = i * stride + span / 2
        ax.add_patch(Rectangle((centre - 0.5, -1.8), 1, 1, facecolor="#fdd0a2",
                               edgecolor="#a63603"))
        ax.text(centre, -1.3, f"y{i}", ha="center", va="center", fontsize=8)
    ax.set_xlim(-0.2, before + size + after + 0.2)
    ax.set_ylim(-2, 1.2)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(f"input {size}, kernel {kernel_size}, stride {stride}, "
                 f"dilation {dilation}, {padding!r}: {before} zeros before, "
                 f"{after} after", fontsize=9)


fig, axes = plt.subplots(3, 1, figsize=(7.5, 4.2))
for ax, padding in zip(axes, PADDINGS):
    draw_layer(ax, 7, 4, 2, padding, 1)
fig.tight_layout()
# --8<-- [end:static_figure]


# --8<-- [start:keras_claim]
def keras_output_sizes(kernel_size, stride, padding, dilation, sizes):
    """Keras Conv1D's output length for each input size: 0 where Keras
    refuses an empty output, None where it refuses the layer itself."""
    try:
        layer = keras.layers.Conv1D(1, kernel_size, strides=stride,
                                    padding=padding, dilation_rate=dilation)
    except ValueError:
        return [None] * len(sizes)
    found = []
    for size in sizes:
        try:
            found.append(layer.compute_output_shape((1, size, 1))[1])
        except ValueError as error:
            if "output size would be zero or negative" not in str(error):
                raise
            found.append(0)
    return found


table = json.loads(explorer_data)
shown = [None if layer is None else layer[2] for layer in table["layers"]]
keras_sizes = [size for p in table["paddings"] for d in table["dilations"]
               for s in table["strides"] for k in table["kernels"]
               for size in keras_output_sizes(k, s, p, d, table["sizes"])]
shown == keras_sizes
# --8<-- [end:keras_claim]


# --8<-- [start:outer_product_claim]
def counts_2d(size, kernel_size, stride, padding, dilation):
    """conv.py's 2-D input gradient of ones through a square kernel of ones."""
    out = output_size(size, kernel_size, stride, padding, dilation)
    dy = np.ones((1, out, out, 1))
    kernel = np.ones((kernel_size, kernel_size, 1, 1))
    shape = (1, size, size, 1)
    return conv2d_grad_input(dy, kernel, shape, stride, padding, dilation)[0, :, :, 0]


def drawable_in_2d(size, kernel_size, stride, padding, dilation):
    layer = layer_entry(size, kernel_size, stride, padding, dilation)
    return padding in table["paddings_2d"] and layer is not None and layer[2] > 0


squares = [(n, k, s, p, d) for p in table["paddings"] for d in table["dilations"]
           for s in table["strides"] for k in table["kernels"] for n in table["sizes"]
           if drawable_in_2d(n, k, s, p, d)]
all(np.array_equal(counts_2d(*layer), np.outer(*[gradient_counts(*layer)] * 2))
    for layer in squares)
# --8<-- [end:outer_product_claim]
