"""Audit page: the evidence for the verdicts on the popular answer that no other page
holds: the backends Keras 3 ships, the weights of a padding layer, and the answer's three
examples, re-implemented in its steps and run on its data."""

# --8<-- [start:setup]
import pkgutil
import types

import numpy as np
import keras
import keras.src.backend

from docexec.checks import grid, over
from snippets import keras_ref
from snippets.show import whole

rng = np.random.default_rng(0)
# --8<-- [end:setup]


# --8<-- [start:backends]
# the backend as the tensors Keras returns show it, not as the setting names it
ran_on = type(keras.ops.zeros(1)).__module__.split(".")[0]
print("this site's backend:", keras.backend.backend(), "; its tensors come from:", ran_on)
# the backend packages the installed Keras ships (common is shared code)
shipped = sorted(
    module.name for module in pkgutil.iter_modules(keras.src.backend.__path__)
    if module.ispkg and module.name != "common"
)
print("backends in the installed Keras:", ", ".join(shipped))
# --8<-- [end:backends]


# --8<-- [start:backends_claim]
ran_on == "tensorflow" and {"jax", "torch"} <= set(shipped) and not (
    {"theano", "cntk"} & set(shipped)
)
# --8<-- [end:backends_claim]


# --8<-- [start:no_weights_claim]
def padding_has_no_weights(layer):
    """Does the zero padding, as a layer or as a Conv2D option, own any variable?"""
    if layer == "Conv2D":
        conv = keras.layers.Conv2D(1, 3, padding="same")
        conv.build((None, 5, 5, 1))
        return [weight.name for weight in conv.weights] == ["kernel", "bias"]
    rank = int(layer[-2])
    pad = getattr(keras.layers, layer)(1)
    pad.build((None,) + (5,) * rank + (1,))
    return pad.weights == []


over(grid(layer=("ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D", "Conv2D")),
     padding_has_no_weights)
# --8<-- [end:no_weights_claim]


# --8<-- [start:first_example]
def symmetric_rule(kernel_size):
    """The answer's rule: (k - 1) // 2 zeros on each side."""
    return (kernel_size - 1) // 2, (kernel_size - 1) // 2


def answers_forward(x, kernel):
    """The answer's first example, paraphrased: pad by its rule, keep the
    input's size, slide the kernel without flipping it."""
    (rows, cols), (kernel_rows, kernel_cols) = x.shape, kernel.shape
    x_padded = np.pad(x, [symmetric_rule(kernel_rows), symmetric_rule(kernel_cols)])
    y = np.zeros((rows, cols))
    for i, j in np.ndindex(rows, cols):
        for a, b in np.ndindex(kernel_rows, kernel_cols):
            y[i, j] += x_padded[i + a, j + b] * kernel[a, b]
    return y


digits = np.arange(1, 10, dtype="float32").reshape(3, 3)
edge_kernel = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], dtype="float32")
y_answer = answers_forward(digits, edge_kernel)
whole(y_answer)
# --8<-- [end:first_example]


# --8<-- [start:first_example_claim]
def as_keras(matrix):
    """A 2-D array as a batch of one single-channel NHWC image."""
    return matrix[None, :, :, None]


def loop_is_keras(size, kernel_size):
    """On random data, the answer's loop against Keras's stride-1 'same' output."""
    x = rng.normal(size=(size, size)).astype("float32")
    kernel = rng.normal(size=(kernel_size, kernel_size)).astype("float32")  # not symmetric
    y_keras = keras_ref.conv2d(as_keras(x), kernel[:, :, None, None], padding="same")
    return np.allclose(answers_forward(x, kernel), y_keras[0, :, :, 0], atol=1e-4)


over(grid(kernel_size=(1, 3, 5), size=range(3, 7)), loop_is_keras)
# --8<-- [end:first_example_claim]


# --8<-- [start:first_example_even]
answers_forward(digits, np.ones((2, 2)))
# --8<-- [end:first_example_even]


# --8<-- [start:second_example]
def answers_input_gradient(dy, kernel, input_shape):
    """The answer's second example, paraphrased: add every term whose input
    index lands inside the input (before-padding by its rule), skip the rest."""
    rows, cols = input_shape
    kernel_rows, kernel_cols = kernel.shape
    top, left = symmetric_rule(kernel_rows)[0], symmetric_rule(kernel_cols)[0]
    dx = np.zeros(input_shape)
    for i, j in np.ndindex(*dy.shape):
        for a, b in np.ndindex(kernel_rows, kernel_cols):
            row, col = i + a - top, j + b - left
            if 0 <= row < rows and 0 <= col < cols:
                dx[row, col] += dy[i, j] * kernel[a, b]
    return dx


dy_ones = np.ones((3, 3), dtype="float32")
dx_answer = answers_input_gradient(dy_ones, edge_kernel, digits.shape)
whole(dx_answer)
# --8<-- [end:second_example]


# --8<-- [start:second_example_claim]
def masked_loop_is_keras(size, kernel_size):
    """On random data, the answer's loop against Keras's stride-1 'same' input gradient."""
    kernel = rng.normal(size=(kernel_size, kernel_size)).astype("float32")
    dy = rng.normal(size=(size, size)).astype("float32")
    dx_keras = keras_ref.conv2d_grad_input(as_keras(dy), kernel[:, :, None, None],
                                           (1, size, size, 1), padding="same")
    return np.allclose(answers_input_gradient(dy, kernel, (size, size)), dx_keras[0, :, :, 0],
                       atol=1e-4)


over(grid(kernel_size=range(1, 6), size=range(3, 7)), masked_loop_is_keras)
# --8<-- [end:second_example_claim]


# --8<-- [start:third_example]
def kernel_gradient_with_padding(x, dy, padding="same"):
    """The answer's third example, paraphrased: its steps in its order."""
    height, width = x.shape
    kernel_height, kernel_width = kernel.shape  # `kernel`: a global never defined
    pad_rows = pad_cols = 0
    if padding == "same":
        pad_rows, pad_cols = (kernel_height - 1) // 2, (kernel_width - 1) // 2
    x_padded = np.pad(x, ((pad_rows, pad_rows), (pad_cols, pad_cols)))
    dkernel = np.zeros_like(kernel, dtype=float)
    for i, j in np.ndindex(*dy.shape):
        for a, b in np.ndindex(kernel_height, kernel_width):
            dkernel[a, b] += dy[i, j] * x_padded[i + a, j + b]
    return dkernel


# called as the answer calls it, on its data (the kernel is named otherwise)
kernel_gradient_with_padding(digits, dy_ones)
# --8<-- [end:third_example]


# --8<-- [start:third_example_intent]
# The same function with the missing global supplied, and nothing else changed
given_its_kernel = types.FunctionType(
    kernel_gradient_with_padding.__code__, {**globals(), "kernel": edge_kernel},
    argdefs=kernel_gradient_with_padding.__defaults__,
)
dkernel_answer = given_its_kernel(digits, dy_ones)
whole(dkernel_answer)
# --8<-- [end:third_example_intent]


# --8<-- [start:third_example_intent_claim]
dkernel_keras = keras_ref.conv2d_grad_kernel(as_keras(digits), as_keras(dy_ones),
                                             (3, 3, 1, 1), padding="same")
np.allclose(dkernel_answer, dkernel_keras[:, :, 0, 0], atol=1e-5)
# --8<-- [end:third_example_intent_claim]
