"""The walk-through notebook's code (docs/walkthrough.ipynb), one section per code cell.

Self-contained on purpose: a reader who downloads the notebook, or opens it in Colab, needs
only NumPy, TensorFlow, Keras and Matplotlib, not this repository.
"""

# --8<-- [start:imports]
import os

# Keep TensorFlow's start-up log out of the outputs.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import sys

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

if "ipykernel" in sys.modules:  # in Jupyter or Colab: draw figures in the notebook
    from IPython import get_ipython
    get_ipython().run_line_magic("matplotlib", "inline")

rng = np.random.default_rng(0)


def same_padding(size, kernel_size, stride=1):
    """TensorFlow's "same" padding along one axis, as (before, after)."""
    out_size = -(-size // stride)  # ceil(size / stride) outputs
    total = max((out_size - 1) * stride + kernel_size - size, 0)
    return total // 2, total - total // 2


def conv(kernel, padding, strides=1):
    """A Keras Conv2D without bias whose kernel (height, width, in, out) is `kernel`."""
    layer = keras.layers.Conv2D(kernel.shape[-1], kernel.shape[:2], strides=strides,
                                padding=padding, use_bias=False)
    layer.build((None, None, None, kernel.shape[2]))
    layer.kernel.assign(kernel)
    return layer
# --8<-- [end:imports]

# --8<-- [start:same_rule]
for k, s in [(3, 1), (4, 1), (3, 2)]:
    x_8 = np.zeros((1, 8, 8, 1), "float32")
    y = conv(np.ones((k, k, 1, 1), "float32"), "same", strides=s)(x_8)
    print(f"n=8, k={k}, stride {s}: pads {same_padding(8, k, s)}, "
          f"Keras gives {y.shape[1]} outputs")
# --8<-- [end:same_rule]

# --8<-- [start:input_gradient]
x = tf.constant(rng.normal(size=(1, 5, 5, 1)), tf.float32)
kernel = rng.normal(size=(3, 3, 1, 1)).astype("float32")
dy = tf.constant(rng.normal(size=(1, 5, 5, 1)), tf.float32)
conv_same, conv_valid = conv(kernel, "same"), conv(kernel, "valid")
with tf.GradientTape(persistent=True) as tape:
    tape.watch(x)
    x_padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])  # what "same" adds here
    y_same, y_two_steps = conv_same(x), conv_valid(x_padded)
dx_same = tape.gradient(y_same, x, dy)
dx_padded = tape.gradient(y_two_steps, x_padded, dy)
# the loop: send dy back through every tap to the padded pixel it read
dx_loop = np.zeros((1, 7, 7, 1))
for i, j, a, b in np.ndindex(5, 5, 3, 3):
    dx_loop[0, i + a, j + b, 0] += dy[0, i, j, 0] * kernel[a, b, 0, 0]
border = np.pad(np.zeros((5, 5), bool), 1, constant_values=True)  # the ring "same" added around x
print(f"padded gradient non-zero on all {border.sum()} border cells:",
      bool(np.all(dx_padded[0, :, :, 0][border] != 0)))
print("cropped == Keras 'same':", np.allclose(dx_padded[:, 1:-1, 1:-1], dx_same, atol=1e-5))
print("loop, cropped == Keras:", np.allclose(dx_loop[:, 1:-1, 1:-1], dx_same, atol=1e-5))
# --8<-- [end:input_gradient]

# --8<-- [start:input_gradient_figure]
fig, axes = plt.subplots(1, 2, figsize=(7, 3.4), width_ratios=[7, 5])
panels = [(dx_padded[0, :, :, 0], "w.r.t. the padded tensor\n(outlined: the padding)"),
          (dx_same[0, :, :, 0], "reaching x: the centre,\ncropped")]
for ax, (values, title) in zip(axes, panels):
    ax.imshow(values, cmap="coolwarm", vmin=-3, vmax=3)
    for (row, col), value in np.ndenumerate(values.numpy()):
        ax.text(col, row, f"{value:.1f}", ha="center", va="center", fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
# the input's 5x5 cells inside the padded 7x7 (cell centres are at integers)
axes[0].add_patch(plt.Rectangle((0.5, 0.5), 5, 5, fill=False, linewidth=2.5))
fig.tight_layout()
plt.show()
# --8<-- [end:input_gradient_figure]

# --8<-- [start:kernel_gradient]
with tf.GradientTape(persistent=True) as tape:
    y_same, y_two_steps = conv_same(x), conv_valid(x_padded)
dk_same = tape.gradient(y_same, conv_same.kernel, dy)
dk_two_steps = tape.gradient(y_two_steps, conv_valid.kernel, dy)
# each tap sums dy times the padded pixel it read; padded zeros add exact zeros
dk_loop = np.zeros((3, 3))
for a, b in np.ndindex(3, 3):
    dk_loop[a, b] = np.sum(dy[0, :, :, 0] * x_padded[0, a:a + 5, b:b + 5, 0])
print("same == valid on padded:", np.allclose(dk_same, dk_two_steps, atol=1e-5))
print("loop == Keras:", np.allclose(dk_loop, dk_same[:, :, 0, 0], atol=1e-5))
print(np.round(dk_same[:, :, 0, 0].numpy(), 4))
# --8<-- [end:kernel_gradient]

# --8<-- [start:padding_gradient]
line = tf.constant([1.0, 2.0, 3.0, 4.0])
with tf.GradientTape(persistent=True) as tape:
    tape.watch(line)
    zero_padded = tf.pad(line, [[1, 1]])
    reflected = tf.pad(line, [[1, 1]], mode="REFLECT")
print("zeros:  ", tape.gradient(zero_padded, line).numpy())
print("reflect:", tape.gradient(reflected, line).numpy())
# --8<-- [end:padding_gradient]

# --8<-- [start:versions]
# The libraries that produced every output above.
print(f"NumPy {np.__version__}, TensorFlow {tf.__version__}, Keras {keras.__version__}")
# --8<-- [end:versions]
