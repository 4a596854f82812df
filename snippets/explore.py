"""Explore page: the explorer's table for its whole grid, the static picture
shown when JavaScript is off, and the checks of the table against Keras."""

# --8<-- [start:setup]
import json

import keras
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from docexec.checks import grid, over
from snippets import keras_ref
from snippets.explorer import explorer_json, gradient_counts
from snippets.padding import PADDINGS, output_size, padding_amounts
# --8<-- [end:setup]


# --8<-- [start:grid]
explorer_data = explorer_json(sizes=range(1, 17), kernels=range(1, 8),
                              strides=range(1, 5), dilations=range(1, 5))
# --8<-- [end:grid]


# --8<-- [start:static_figure_drawing]
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


def draw_layers(size, kernel_size, stride, dilation, paddings):
    """One row per padding, stacked."""
    fig, axes = plt.subplots(len(paddings), 1, figsize=(7.5, 1.4 * len(paddings)))
    for ax, padding in zip(axes, paddings):
        draw_layer(ax, size, kernel_size, stride, padding, dilation)
    fig.tight_layout()
    return fig
# --8<-- [end:static_figure_drawing]


# --8<-- [start:static_figure]
fig = draw_layers(7, 4, 2, 1, PADDINGS)
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


def table_layer(size, kernel_size, stride, padding, dilation):
    """The explorer's entry for one layer, read from the data embedded in the page
    (paddings vary slowest, then dilations, strides, kernels; sizes fastest)."""
    index = 0
    for axis, value in [("paddings", padding), ("dilations", dilation), ("strides", stride),
                        ("kernels", kernel_size), ("sizes", size)]:
        index = index * len(table[axis]) + table[axis].index(value)
    return table["layers"][index]


def sizes_are_keras(kernel_size, stride, padding, dilation):
    """The explorer's output size for every input size, against Keras's."""
    shown = [None if layer is None else layer[2]
             for layer in (table_layer(size, kernel_size, stride, padding, dilation) for size in table["sizes"])]
    return shown == keras_output_sizes(kernel_size, stride, padding, dilation, table["sizes"])


over(grid(kernel_size=table["kernels"], stride=table["strides"], padding=table["paddings"],
          dilation=table["dilations"]), sizes_are_keras)
# --8<-- [end:keras_claim]


# --8<-- [start:counts_1d]
def drawn_counts_are_keras(size, kernel_size, stride, padding, dilation):
    """The counts the explorer draws for one layer, against Keras's input gradient of a kernel of ones."""
    counts = np.array(table_layer(size, kernel_size, stride, padding, dilation)[3:])
    out = output_size(size, kernel_size, stride, padding, dilation)
    dx = keras_ref.conv1d_grad_input(np.ones((1, out, 1)), np.ones((kernel_size, 1, 1)), (1, size, 1),
                                     stride, padding, dilation)
    return np.array_equal(counts, dx[0, :, 0].round())


def drawn(size, kernel_size, stride, padding, dilation):
    layer = table_layer(size, kernel_size, stride, padding, dilation)
    return layer is not None and layer[2] > 0


sample = [layer for layer in grid(size=(1, 4, 7, 16), kernel_size=(1, 2, 4, 7), stride=range(1, 5),
                                  padding=table["paddings"], dilation=(1, 2, 4))
          if drawn(**layer)]
# --8<-- [end:counts_1d]


# --8<-- [start:counts_claim]
def keras_counts_2d(size, kernel_size, stride, padding, dilation):
    """Keras's Conv2D input gradient of its summed output, a square kernel of ones (GradientTape)."""
    out = output_size(size, kernel_size, stride, padding, dilation)
    dy = np.ones((1, out, out, 1))
    kernel = np.ones((kernel_size, kernel_size, 1, 1))
    return keras_ref.conv2d_grad_input(dy, kernel, (1, size, size, 1), stride, padding, dilation)[0, :, :, 0]


def drawable_in_2d(size, kernel_size, stride, padding, dilation):
    layer = table_layer(size, kernel_size, stride, padding, dilation)
    return padding in table["paddings_2d"] and layer is not None and layer[2] > 0


def drawn_2d_counts_are_keras(size, kernel_size, stride, padding, dilation):
    """The explorer draws a square 2-D layer's counts as row count times column count."""
    counts_1d = table_layer(size, kernel_size, stride, padding, dilation)[3:]
    drawn_2d = np.outer(counts_1d, counts_1d)
    return np.array_equal(drawn_2d, keras_counts_2d(size, kernel_size, stride, padding, dilation).round())


squares = [layer for layer in grid(size=(3, 8, 13), kernel_size=table["kernels"], stride=(1, 2, 3),
                                   padding=table["paddings_2d"], dilation=(1, 2, 3))
           if drawable_in_2d(**layer)]


def count_holds(dimensions, **layer):
    return drawn_counts_are_keras(**layer) if dimensions == 1 else drawn_2d_counts_are_keras(**layer)


over([{"dimensions": 1, **layer} for layer in sample] + [{"dimensions": 2, **layer} for layer in squares],
     count_holds)
# --8<-- [end:counts_claim]
