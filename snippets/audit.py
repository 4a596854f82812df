"""Audit page: the evidence behind each verdict on the popular answer, item by
item, executed against Keras."""

# --8<-- [start:setup]
import pkgutil
import textwrap
import types
import warnings

import numpy as np
import keras
import keras.src.backend
import tensorflow as tf

from snippets import keras_ref
from snippets.conv import conv2d_grad_kernel_loop, conv2d_loop
from snippets.padding import same_padding
from snippets.show import whole

rng = np.random.default_rng(0)


def numpy_of(tensor):
    return keras.ops.convert_to_numpy(tensor)


# --8<-- [end:setup]


# --8<-- [start:purpose]
image = rng.normal(size=(1, 6, 6, 1)).astype("float32")
kernel_3x3 = rng.normal(size=(3, 3, 1, 1)).astype("float32")
output_shapes = {}
for padding in ("valid", "same"):
    for stride in (1, 2):
        y = keras_ref.conv2d(image, kernel_3x3, strides=stride, padding=padding)
        output_shapes[padding, stride] = y.shape[1:3]
        print(f"padding={padding!r:8} stride={stride} -> {y.shape[1:3]}")
# --8<-- [end:purpose]


# --8<-- [start:purpose_claim]
same_1, same_2 = output_shapes["same", 1], output_shapes["same", 2]
same_1 == image.shape[1:3] and same_2 != image.shape[1:3]
# --8<-- [end:purpose_claim]


# --8<-- [start:forward_claim]
zero_padded = numpy_of(keras.layers.ZeroPadding2D(padding=1)(image))
np.allclose(
    keras_ref.conv2d(image, kernel_3x3, padding="same"),
    keras_ref.conv2d(zero_padded, kernel_3x3, padding="valid"),
    atol=1e-5,
)
# --8<-- [end:forward_claim]


# --8<-- [start:backends]
print("this site's backend:", keras.backend.backend())
# the backend packages the installed Keras ships (common is shared code)
shipped = sorted(
    module.name for module in pkgutil.iter_modules(keras.src.backend.__path__)
    if module.ispkg and module.name != "common"
)
print("backends in the installed Keras:", ", ".join(shipped))
# --8<-- [end:backends]


# --8<-- [start:backends_claim]
keras.backend.backend() == "tensorflow" and {"jax", "torch"} <= set(shipped) and not (
    {"theano", "cntk"} & set(shipped)
)
# --8<-- [end:backends_claim]


# --8<-- [start:padded_gradient]
def gradients_through_explicit_padding(x, weights, dy):
    """Gradients w.r.t. x and w.r.t. its padded copy, through ZeroPadding2D then
    a "valid" Conv2D."""
    x = tf.constant(x)
    pad = keras.layers.ZeroPadding2D(padding=1)
    conv = keras.layers.Conv2D(1, 3, use_bias=False)
    conv.build((None, None, None, 1))
    conv.kernel.assign(weights)
    with tf.GradientTape() as tape:
        tape.watch(x)
        x_padded = pad(x)
        tape.watch(x_padded)
        y = conv(x_padded)
    dx, dx_padded = tape.gradient(
        y, [x, x_padded], output_gradients=tf.constant(dy)
    )
    return dx.numpy(), dx_padded.numpy()


small = rng.normal(size=(1, 4, 4, 1)).astype("float32")
ones_3x3 = np.ones((3, 3, 1, 1), dtype="float32")
dx, dx_padded = gradients_through_explicit_padding(
    small, ones_3x3, np.ones((1, 4, 4, 1), dtype="float32")
)
whole(dx_padded[0, :, :, 0])
# --8<-- [end:padded_gradient]


# --8<-- [start:padded_gradient_claim]
border = np.ones(dx_padded.shape[1:3], dtype=bool)
border[1:-1, 1:-1] = False
border_gets_gradient = bool(np.all(dx_padded[0, border, 0] != 0))
border_gets_gradient and np.array_equal(dx, dx_padded[:, 1:-1, 1:-1, :])
# --8<-- [end:padded_gradient_claim]


# --8<-- [start:nothing_modifies_inputs]
pad = keras.layers.ZeroPadding2D(1, name="pad")
conv = keras.layers.Conv2D(1, 3, name="conv")
model = keras.Sequential([keras.Input((4, 4, 1)), pad, conv], name="model")
# The input as a tf.Variable: something an optimizer could change if it were
# handed it, and which receives a gradient.
x_variable = tf.Variable(small, name="x")
x_before = x_variable.numpy().copy()
kernel_before = conv.kernel.numpy().copy()
with tf.GradientTape() as tape:
    loss = tf.reduce_sum(model(x_variable) ** 2)
*weight_gradients, input_gradient = tape.gradient(
    loss, model.trainable_variables + [x_variable])
# one training step: what model.fit does, optimizer over trainable_variables
keras.optimizers.SGD(0.1).apply(weight_gradients, model.trainable_variables)
print("weights of ZeroPadding2D:", pad.weights)
print("what the optimizer updated:",
      [variable.path for variable in model.trainable_variables])
print("input received a non-zero gradient:", bool(np.any(input_gradient != 0)))
print("input changed by the step:",
      not np.array_equal(x_variable.numpy(), x_before))
print("kernel changed by the step:",
      not np.array_equal(conv.kernel.numpy(), kernel_before))
padded_again = numpy_of(pad(x_variable))
print("border of the next padded input:", np.unique(padded_again[0, border, 0]))
# --8<-- [end:nothing_modifies_inputs]


# --8<-- [start:nothing_modifies_inputs_claim]
border_is_zero = bool(np.all(padded_again[0, border, 0] == 0))
input_unchanged = np.array_equal(x_variable.numpy(), x_before)
kernel_changed = not np.array_equal(conv.kernel.numpy(), kernel_before)
pad.weights == [] and bool(np.any(input_gradient != 0)) and (
    input_unchanged and kernel_changed and border_is_zero
)
# --8<-- [end:nothing_modifies_inputs_claim]


# --8<-- [start:corner_output]
dy_corner = np.zeros((1, 4, 4, 1), dtype="float32")
# Only the top-left output, whose window is mostly padding:
dy_corner[0, 0, 0, 0] = 1.0
dx_corner = keras_ref.conv2d_grad_input(
    dy_corner, ones_3x3, small.shape, padding="same"
)
dkernel_corner = keras_ref.conv2d_grad_kernel(
    small, dy_corner, ones_3x3.shape, padding="same"
)
whole(dx_corner[0, :, :, 0])
# --8<-- [end:corner_output]


# --8<-- [start:corner_output_claim]
np.count_nonzero(dx_corner) == 4 and np.count_nonzero(dkernel_corner) == 4
# --8<-- [end:corner_output_claim]


# --8<-- [start:crop_claim]
dy_random = rng.normal(size=(1, 4, 4, 1)).astype("float32")
dx_explicit, dx_padded_random = gradients_through_explicit_padding(
    small, kernel_3x3, dy_random
)
np.allclose(
    dx_padded_random[:, 1:-1, 1:-1, :],
    keras_ref.conv2d_grad_input(
        dy_random, kernel_3x3, small.shape, padding="same"
    ),
    atol=1e-5,
)
# --8<-- [end:crop_claim]


# --8<-- [start:tf_ops]
same_conv = keras.layers.Conv2D(1, 3, padding="same")
same_conv.build((1, 4, 4, 1))


@tf.function
def conv_gradients(x, dy):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = same_conv(x)
    return tape.gradient(y, [x, same_conv.kernel], output_gradients=dy)


spec = tf.TensorSpec((1, 4, 4, 1))
graph = conv_gradients.get_concrete_function(spec, spec).graph
operation_types = sorted({operation.type for operation in graph.get_operations()})
print(textwrap.fill(", ".join(operation_types), 72))
# --8<-- [end:tf_ops]


# --8<-- [start:tf_ops_claim]
padding_ops = {"Pad", "PadV2", "MirrorPad", "Slice", "StridedSlice"}
mask_ops = {"Mul", "Select", "SelectV2", "Where"}
{"Conv2DBackpropInput", "Conv2DBackpropFilter"} <= set(operation_types) and not (
    (padding_ops | mask_ops) & set(operation_types)
)
# --8<-- [end:tf_ops_claim]


# --8<-- [start:kernel_gradient_claim]
dkernel_keras = keras_ref.conv2d_grad_kernel(
    small, dy_random, kernel_3x3.shape, padding="same"
)
# Tap (0, 0) reads x[i - 1, j - 1]: a real pixel for outputs i, j >= 1,
# a padded zero otherwise.
tap_00_real_terms = np.sum(small[0, :3, :3, 0] * dy_random[0, 1:, 1:, 0])
dkernel_loop = conv2d_grad_kernel_loop(
    small, dy_random, kernel_3x3.shape, padding="same"
)
np.allclose(dkernel_loop, dkernel_keras, atol=1e-5) and np.isclose(
    dkernel_keras[0, 0, 0, 0], tap_00_real_terms, atol=1e-5
)
# --8<-- [end:kernel_gradient_claim]


# --8<-- [start:same_rule]
def symmetric_rule(kernel_size):
    """The popular answer's rule: (k - 1) // 2 zeros on each side."""
    return (kernel_size - 1) // 2, (kernel_size - 1) // 2


def rule_matches_keras(size, kernel_size, stride):
    x = rng.normal(size=(1, size, size, 1)).astype("float32")
    weights = rng.normal(size=(kernel_size, kernel_size, 1, 1)).astype("float32")
    before, after = symmetric_rule(kernel_size)
    x_padded = np.pad(x, [(0, 0), (before, after), (before, after), (0, 0)])
    y_rule = keras_ref.conv2d(x_padded, weights, strides=stride, padding="valid")
    y_keras = keras_ref.conv2d(x, weights, strides=stride, padding="same")
    return (
        y_rule.shape == y_keras.shape and np.allclose(y_rule, y_keras, atol=1e-5),
        y_rule.shape[1],
        y_keras.shape[1],
    )


length = 6
print("kernel stride | rule pads  TF pads | rule size  Keras size | equal")
for kernel_size, stride in [(3, 1), (5, 1), (2, 1), (4, 1), (3, 2)]:
    matches, rule_size, keras_size = rule_matches_keras(
        length, kernel_size, stride
    )
    rule_pads = symmetric_rule(kernel_size)
    tf_pads = same_padding(length, kernel_size, stride)
    print(
        f"{kernel_size:6} {stride:6} | {rule_pads!s:9}  {tf_pads!s:7} "
        f"| {rule_size:9}  {keras_size:10} | {matches}"
    )
# --8<-- [end:same_rule]


# --8<-- [start:same_rule_claim]
odd_kernels_match = all(
    rule_matches_keras(length, kernel_size, 1)[0] for kernel_size in (3, 5)
)
odd_kernels_match and not any(
    rule_matches_keras(length, kernel_size, stride)[0]
    for kernel_size, stride in [(2, 1), (4, 1), (3, 2)]
)
# --8<-- [end:same_rule_claim]


# --8<-- [start:first_example_even]
size, even_size = 3, 2
padded_row = np.pad(np.arange(size), symmetric_rule(even_size))
last_output = size - 1
padded_row[last_output + even_size - 1]  # last tap of the last output
# --8<-- [end:first_example_even]


# --8<-- [start:pad_before_claim]
def before_is_half(kernel_size, size=6):
    """Is Keras's stride-1 "same" (k - 1) // 2 zeros before, the rest after?"""
    x = rng.normal(size=(1, size, size, 1)).astype("float32")
    weights = rng.normal(size=(kernel_size, kernel_size, 1, 1)).astype("float32")
    before = (kernel_size - 1) // 2
    after = kernel_size - 1 - before
    x_padded = np.pad(x, [(0, 0), (before, after), (before, after), (0, 0)])
    y_keras = keras_ref.conv2d(x, weights, padding="same")
    return np.allclose(
        keras_ref.conv2d(x_padded, weights, padding="valid"), y_keras, atol=1e-5
    )


all(before_is_half(kernel_size) for kernel_size in (2, 3, 4, 5))
# --8<-- [end:pad_before_claim]


# --8<-- [start:first_example]
digits = np.arange(1, 10, dtype="float32").reshape(1, 3, 3, 1)
edge_kernel = np.array(
    [[1, 0, -1], [2, 0, -2], [1, 0, -1]], dtype="float32"
).reshape(3, 3, 1, 1)
y_keras_example = keras_ref.conv2d(digits, edge_kernel, padding="same")
whole(y_keras_example[0, :, :, 0])
# --8<-- [end:first_example]


# --8<-- [start:first_example_claim]
flipped = edge_kernel[::-1, ::-1]
y_true_convolution = conv2d_loop(digits, flipped, padding="same")
np.allclose(
    conv2d_loop(digits, edge_kernel, padding="same"), y_keras_example, atol=1e-5
) and np.allclose(y_true_convolution, -y_keras_example, atol=1e-5)
# --8<-- [end:first_example_claim]


# --8<-- [start:second_example]
dy_ones = np.ones((1, 3, 3, 1), dtype="float32")
dx_keras_example = keras_ref.conv2d_grad_input(
    dy_ones, edge_kernel, digits.shape, padding="same"
)
whole(dx_keras_example[0, :, :, 0])
# --8<-- [end:second_example]


# --8<-- [start:second_example_claim]
def masked_grad_input(dy, kernel, input_shape):
    """Stride 1: skip every tap whose input index lands in the padding
    (the symmetric rule's 'before' amount); nothing is cropped."""
    _, height, width, _ = input_shape
    kernel_height, kernel_width = kernel.shape[:2]
    top, left = symmetric_rule(kernel_height)[0], symmetric_rule(kernel_width)[0]
    dx = np.zeros(input_shape)
    for i, j in np.ndindex(*dy.shape[1:3]):
        for a, b in np.ndindex(kernel_height, kernel_width):
            row, col = i + a - top, j + b - left
            if 0 <= row < height and 0 <= col < width:
                dx[:, row, col, :] += dy[:, i, j, :] @ kernel[a, b].T
    return dx


np.allclose(
    masked_grad_input(dy_ones, edge_kernel, digits.shape),
    dx_keras_example,
    atol=1e-5,
)
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
kernel_gradient_with_padding(digits[0, :, :, 0], dy_ones[0, :, :, 0])
# --8<-- [end:third_example]


# --8<-- [start:third_example_intent]
dkernel_keras_example = keras_ref.conv2d_grad_kernel(
    digits, dy_ones, edge_kernel.shape, padding="same"
)
whole(dkernel_keras_example[:, :, 0, 0])
# --8<-- [end:third_example_intent]


# --8<-- [start:third_example_intent_claim]
# The same function with the missing global supplied, and nothing else changed
given_its_kernel = types.FunctionType(
    kernel_gradient_with_padding.__code__,
    {**globals(), "kernel": edge_kernel[:, :, 0, 0]},
    argdefs=kernel_gradient_with_padding.__defaults__,
)
dkernel_answer = given_its_kernel(digits[0, :, :, 0], dy_ones[0, :, :, 0])
np.allclose(dkernel_answer, dkernel_keras_example[:, :, 0, 0], atol=1e-5)
# --8<-- [end:third_example_intent_claim]


# --8<-- [start:reflect]
line = tf.constant([1.0, 2.0, 3.0, 4.0])
with tf.GradientTape(persistent=True) as tape:
    tape.watch(line)
    reflected = tf.pad(line, [[1, 1]], mode="REFLECT")
    zero_padded_line = tf.pad(line, [[1, 1]])
d_reflect = tape.gradient(reflected, line).numpy()
d_zeros = tape.gradient(zero_padded_line, line).numpy()
print("d sum(padded) / dx, REFLECT:", d_reflect)
print("d sum(padded) / dx, zeros:  ", d_zeros)
# --8<-- [end:reflect]


# --8<-- [start:reflect_claim]
bool(np.all(d_zeros == 1)) and bool(d_reflect[1] == 2) and bool(d_reflect[0] == 1)
# --8<-- [end:reflect_claim]


# --8<-- [start:masking_claim]
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    sequence = np.array([[[0.5], [1.5], [0.0], [0.0]]], dtype="float32")
    masked_sequence = keras.layers.Masking(0.0)(sequence)
    y_masked = keras.layers.Conv1D(1, 2, padding="same")(masked_sequence)
warned = any("destroy the mask" in str(w.message) for w in caught)
warned and getattr(y_masked, "_keras_mask", None) is None
# --8<-- [end:masking_claim]
