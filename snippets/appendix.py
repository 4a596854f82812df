"""Appendix: upstream defects, each checked to behave as it does today, so that the build fails the day
one is fixed and the pages that mention it are updated. Each section runs on the machineries its block
names (docexec/backends.py), each in a process of its own; the Keras test-reference sections run in the
page's default worker."""

# --8<-- [start:setup]
import keras
import numpy as np

from docexec.checks import grid, over
from snippets import conv as reference
from snippets.pooling import is_lopsided, keras_pool, pool_edge_replicated, pool_real_cells, signed_input

ROUND_OFF = 1e-6  # relative, as on the backends page: float32 keeps about 7 significant digits
rng = np.random.default_rng(0)


def random(shape):
    """Normal values, exactly representable in float32, so the float64 reference
    and the backends start from the same numbers."""
    return rng.normal(size=shape).astype(np.float32)
# --8<-- [end:setup]


# --8<-- [start:pooling_torch_claim]
def rules_differ(size, pool, stride):
    """Do averaging the real cells and averaging the edge-replicated input give different numbers? Both are
    linear in x, so a random input tells; where a window's padded cells copy its only real cell, they agree."""
    x = signed_input(size, pool, stride)
    return not np.allclose(pool_real_cells("average", x, pool, stride),
                           pool_edge_replicated("average", x, pool, stride))


# only the configurations where the two rules differ can tell which one PyTorch follows
TELLING_CASES = [case for case in grid(size=range(1, 9), pool=range(1, 5), stride=range(1, 4)) if rules_differ(**case)]


def pools_like_keras_on_torch_today(size, pool, stride):
    """Averages: real cells where "same" pads both sides alike, the edge-replicated input where it is
    lopsided (keras/src/backend/torch/nn.py pads those with mode="replicate"). Maxima: real cells."""
    x = signed_input(size, pool, stride)
    expected = pool_edge_replicated if is_lopsided(size, pool, stride) else pool_real_cells
    below_zero = x - x.max() - 1
    return bool(np.allclose(keras_pool("average", x, pool, stride), expected("average", x, pool, stride), atol=1e-5)
                and np.allclose(keras_pool("max", below_zero, pool, stride),
                                pool_real_cells("max", below_zero, pool, stride), atol=1e-5))


over(TELLING_CASES, pools_like_keras_on_torch_today)
# --8<-- [end:pooling_torch_claim]


# --8<-- [start:pooling_torch_gradient_claim]
import torch


def average_pool_gradient(x, pool, stride):
    """d sum(AveragePooling1D(pool, stride, "same")(x))/dx, by PyTorch's autograd."""
    x = torch.tensor(np.asarray(x, "float32")[None, :, None], requires_grad=True)
    keras.layers.AveragePooling1D(pool, strides=stride, padding="same")(x).sum().backward()
    return x.grad.numpy().ravel()


def gradient_like_keras_on_torch_today(size, pool, stride):
    x = signed_input(size, pool, stride)
    expected = pool_edge_replicated if is_lopsided(size, pool, stride) else pool_real_cells
    # the average is linear in x: d sum/dx_j is the sum of the average of the j-th unit vector
    expected_gradient = [expected("average", unit, pool, stride).sum() for unit in np.eye(size)]
    return bool(np.allclose(average_pool_gradient(x, pool, stride), expected_gradient, atol=1e-5))


over(TELLING_CASES, gradient_like_keras_on_torch_today)
# --8<-- [end:pooling_torch_gradient_claim]


# --8<-- [start:dilated_op]
import tensorflow as tf


def dilated_op_gradients(x, kernel, dy):
    """The gradients of TensorFlow's Conv2D op run with dilations=2 itself, as
    tf.nn.conv2d runs it (Keras's layers go round it through SpaceToBatchND)."""
    x, kernel = tf.constant(x), tf.constant(kernel)
    with tf.GradientTape() as tape:
        tape.watch([x, kernel])
        y = tf.nn.conv2d(x, kernel, strides=1, padding="SAME", dilations=2)
    return tape.gradient(y, [x, kernel], output_gradients=dy)


x, kernel, dy = random((1, 7, 7, 2)), random((3, 3, 2, 3)), random((1, 7, 7, 3))
# --8<-- [end:dilated_op]


# --8<-- [start:dilated_op_eigen]
dilated_op_gradients(x, kernel, dy)
# --8<-- [end:dilated_op_eigen]


# --8<-- [start:dilated_op_onednn]
dx, dkernel = dilated_op_gradients(x, kernel, dy)
dx_ref = reference.conv2d_grad_input(dy, kernel, x.shape, padding="same", dilation=2)
dkernel_ref = reference.conv2d_grad_kernel(x, dy, kernel.shape, padding="same", dilation=2)
bool(np.abs(dx - dx_ref).max() <= ROUND_OFF * np.abs(dx_ref).max()
     and np.abs(dkernel - dkernel_ref).max() <= ROUND_OFF * np.abs(dkernel_ref).max())
# --8<-- [end:dilated_op_onednn]


# --8<-- [start:transpose_dilated]
def transpose_dilated(x, kernel):
    """What Conv2DTranspose(dilation_rate=2, padding="same").call runs (base_conv_transpose.py)."""
    return keras.ops.conv_transpose(x, kernel, strides=1, padding="same", dilation_rate=2)


x, kernel = random((1, 7, 7, 2)), random((3, 3, 3, 2))  # Conv2DTranspose's kernel: (h, w, filters, channels)
# --8<-- [end:transpose_dilated]


# --8<-- [start:transpose_dilated_eigen]
transpose_dilated(x, kernel)
# --8<-- [end:transpose_dilated_eigen]


# --8<-- [start:transpose_dilated_onednn]
def conv2d_input_gradient(kernel, input_shape, dy):
    """The input gradient of Conv2D(dilation_rate=2, padding="same") with this kernel, (h, w, in, out):
    the layer goes round the dilated op through SpaceToBatchND."""
    conv = keras.layers.Conv2D(kernel.shape[-1], 3, padding="same", dilation_rate=2, use_bias=False)
    conv.build(input_shape)
    conv.kernel.assign(kernel)
    x = tf.zeros(input_shape)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = conv(x)
    return tape.gradient(y, x, output_gradients=dy)


y = transpose_dilated(x, kernel)
expected = conv2d_input_gradient(kernel, (1, 7, 7, 3), x)
bool(np.abs(y - expected).max() <= ROUND_OFF * np.abs(expected).max())
# --8<-- [end:transpose_dilated_onednn]


# --8<-- [start:channels_first]
def conv_channels_first(x, kernel):
    """What Conv2D(data_format="channels_first", padding="same").call runs."""
    return keras.ops.conv(x, kernel, padding="same", data_format="channels_first")


x_first, kernel = random((1, 2, 6, 6)), random((3, 3, 2, 3))  # (batch, channels, height, width)
# --8<-- [end:channels_first]


# --8<-- [start:channels_first_eigen]
conv_channels_first(x_first, kernel)
# --8<-- [end:channels_first_eigen]


# --8<-- [start:channels_first_onednn]
def output_and_gradients(conv, x, dy):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = conv(x)
    return [y.numpy(), *[g.numpy() for g in tape.gradient(y, [x], output_gradients=dy)]]


dy_first = random((1, 3, 6, 6))
first = output_and_gradients(lambda x: conv_channels_first(x, kernel), x_first, dy_first)
last = output_and_gradients(lambda x: keras.ops.conv(x, kernel, padding="same"),
                            x_first.transpose(0, 2, 3, 1), dy_first.transpose(0, 2, 3, 1))
all(np.abs(a.transpose(0, 2, 3, 1) - b).max() <= ROUND_OFF * np.abs(b).max() for a, b in zip(first, last))
# --8<-- [end:channels_first_onednn]


# --8<-- [start:grouped_op]
def grouped_op_gradients(x, kernel, dy):
    """The gradients of TensorFlow's Conv2D op given a kernel with half the input's channels: a grouped
    convolution of 2 groups, run without XLA."""
    x, kernel = tf.constant(x), tf.constant(kernel)
    with tf.GradientTape() as tape:
        tape.watch([x, kernel])
        y = tf.nn.conv2d(x, kernel, strides=1, padding="SAME")
    return tape.gradient(y, [x, kernel], output_gradients=dy)


x, kernel, dy = random((1, 6, 6, 4)), random((3, 3, 2, 6)), random((1, 6, 6, 6))
# --8<-- [end:grouped_op]


# --8<-- [start:grouped_op_eigen]
grouped_op_gradients(x, kernel, dy)
# --8<-- [end:grouped_op_eigen]


# --8<-- [start:grouped_op_onednn]
dx, dkernel = grouped_op_gradients(x, kernel, dy)
per_group = [grouped_op_gradients(x[..., 2 * g:2 * g + 2], kernel[..., 3 * g:3 * g + 3], dy[..., 3 * g:3 * g + 3])
             for g in (0, 1)]  # each an ungrouped convolution
dx_ref = np.concatenate([part[0] for part in per_group], -1)
dkernel_ref = np.concatenate([part[1] for part in per_group], -1)
bool(np.abs(dx - dx_ref).max() <= ROUND_OFF * np.abs(dx_ref).max()
     and np.abs(dkernel - dkernel_ref).max() <= ROUND_OFF * np.abs(dkernel_ref).max())
# --8<-- [end:grouped_op_onednn]


# --8<-- [start:kernel_one_longer]
def valid_conv_kernel_one_longer(length=3):
    """A "valid" convolution whose kernel is one longer than the input:
    there is no position where it fits, so the output has length 0."""
    x = keras.ops.ones((1, length, 1))
    kernel = keras.ops.ones((length + 1, 1, 1))
    return keras.ops.conv(x, kernel, padding="valid")
# --8<-- [end:kernel_one_longer]


# --8<-- [start:kernel_one_longer_refused]
valid_conv_kernel_one_longer()
# --8<-- [end:kernel_one_longer_refused]


# --8<-- [start:kernel_one_longer_torch]
valid_conv_kernel_one_longer()
# --8<-- [end:kernel_one_longer_torch]


# --8<-- [start:kernel_one_longer_onednn]
tuple(valid_conv_kernel_one_longer(length=3).shape) == (1, 3, 1)
# --8<-- [end:kernel_one_longer_onednn]


# --8<-- [start:transpose_even_kernel]
transpose = keras.layers.Conv2DTranspose(1, 4, strides=2, padding="same",
                                         output_padding=0, use_bias=False)
transpose.build((None, 3, 3, 1))
print("built; promised output shape:", tuple(transpose.compute_output_shape((1, 3, 3, 1))))
small = keras.ops.ones((1, 3, 3, 1))


def scatter(x, kernel, stride=2):
    """Every product of the transposed convolution, in float64 NumPy: each input cell times the kernel,
    added at stride offsets (Keras's Conv2DTranspose kernel is height, width, out, in)."""
    (n, h, w, _), (kh, kw, out, _) = x.shape, kernel.shape
    full = np.zeros((n, (h - 1) * stride + kh, (w - 1) * stride + kw, out))
    for i in range(h):
        for j in range(w):
            full[:, i * stride:i * stride + kh, j * stride:j * stride + kw] += np.einsum(
                "nc,hwoc->nhwo", x[:, i, j].astype(np.float64), kernel.astype(np.float64))
    return full
# --8<-- [end:transpose_even_kernel]


# --8<-- [start:transpose_even_kernel_eigen]
# What Conv2DTranspose.call runs (keras/src/layers/convolutional/base_conv_transpose.py)
keras.ops.conv_transpose(small, transpose.kernel, strides=2, padding="same",
                         output_padding=0)
# --8<-- [end:transpose_even_kernel_eigen]


# --8<-- [start:transpose_even_kernel_onednn]
keras.ops.conv_transpose(small, transpose.kernel, strides=2, padding="same",
                         output_padding=0)
# --8<-- [end:transpose_even_kernel_onednn]


# --8<-- [start:transpose_even_kernel_runs]
signed = random((1, 3, 3, 1))
full = scatter(signed, keras.ops.convert_to_numpy(transpose.kernel))  # 8x8: every product
y = keras.ops.convert_to_numpy(transpose(signed))
bool(y.shape == (1, 4, 4, 1) and np.allclose(y, full[:, 2:-2, 2:-2, :], atol=1e-5))
# --8<-- [end:transpose_even_kernel_runs]


# --8<-- [start:transpose_even_kernel_default]
default = keras.layers.Conv2DTranspose(1, 4, strides=2, padding="same", use_bias=False)  # output_padding=None
default.build((None, 3, 3, 1))
default.kernel.assign(transpose.kernel)
signed = random((1, 3, 3, 1))
full = scatter(signed, keras.ops.convert_to_numpy(default.kernel))  # 8x8: every product
y = keras.ops.convert_to_numpy(default(signed))
bool(y.shape == (1, 6, 6, 1) and np.allclose(y, full[:, 1:-1, 1:-1, :], atol=1e-5))
# --8<-- [end:transpose_even_kernel_default]


# --8<-- [start:transpose_even_kernel_cropped]
valid = keras.layers.Conv2DTranspose(1, 4, strides=2, padding="valid", use_bias=False)
cropped = keras.Sequential([keras.Input((3, 3, 1)), valid, keras.layers.Cropping2D(2)])
valid.kernel.assign(transpose.kernel)
signed = random((1, 3, 3, 1))
y = keras.ops.convert_to_numpy(cropped(signed))
bool(y.shape == (1, 4, 4, 1)
     and np.allclose(y, scatter(signed, keras.ops.convert_to_numpy(valid.kernel))[:, 2:-2, 2:-2, :], atol=1e-5))
# --8<-- [end:transpose_even_kernel_cropped]


# --8<-- [start:keras_test_setup]
# Keras's own layer tests, shipped in its wheel: their NumPy reference np_conv1d.
import numpy as np
from keras.src.layers.convolutional import conv_test as keras_conv_test

from snippets import keras_ref
from snippets.padding import causal_padding

rng = np.random.default_rng(0)
# --8<-- [end:keras_test_setup]


# --8<-- [start:keras_test_reference]
def reference_agrees(length, kernel_size, stride):
    """Does Keras's test reference np_conv1d give Conv1D(padding="causal")?"""
    x = rng.normal(size=(1, length, 1)).astype("float32")
    kernel = rng.normal(size=(kernel_size, 1, 1)).astype("float32")
    y_keras = keras_ref.conv1d(x, kernel, strides=stride, padding="causal")
    y_reference = keras_conv_test.np_conv1d(
        x, kernel, np.zeros(1, "float32"), strides=stride, padding="causal",
        data_format="channels_last", dilation_rate=1, groups=1)
    return y_reference.shape == y_keras.shape and np.allclose(
        y_reference, y_keras, atol=1e-5)


cases_by_stride = {
    stride: [(n, k) for n in range(5, 10) for k in range(1, 6)]
    for stride in (1, 2, 3)
}
disagreements = {
    stride: sum(not reference_agrees(n, k, stride) for n, k in cases)
    for stride, cases in cases_by_stride.items()
}
for stride, count in disagreements.items():
    print(f"stride {stride}: np_conv1d disagrees with Conv1D(padding='causal') "
          f"in {count} of {len(cases_by_stride[stride])} cases")
print("length 6, kernel 3, stride 2: np_conv1d pads",
      sum(keras_conv_test._same_padding(6, 3, 2)), "zero(s) on the left, Keras",
      causal_padding(3)[0])
# --8<-- [end:keras_test_reference]


# --8<-- [start:keras_test_reference_claim]
# An expected failure: when Keras fixes its reference, this turns False and the
# build stops, asking for this section to be rewritten.
disagreements[1] == 0 and disagreements[2] > 0 and disagreements[3] > 0
# --8<-- [end:keras_test_reference_claim]


# --8<-- [start:pointwise_stride_claim]
def pointwise_kernel_gradient_is_right(size, stride, padding="SAME"):
    """TensorFlow's kernel-gradient op for a 1x1 kernel, against the float64 NumPy reference."""
    x, dy = random((1, size, size, 2)), random((1, -(-size // stride), -(-size // stride), 3))
    dkernel = tf.raw_ops.Conv2DBackpropFilter(
        input=x, filter_sizes=[1, 1, 2, 3], out_backprop=dy, strides=[1, stride, stride, 1], padding=padding)
    expected = reference.conv2d_grad_kernel(x.astype(np.float64), dy.astype(np.float64), (1, 1, 2, 3),
                                            stride, padding.lower())
    return bool(np.allclose(dkernel.numpy(), expected, rtol=0, atol=1e-4))


# a 1x1 kernel pads nothing: "SAME" and "VALID" are the same computation, so one of them
over(grid(size=range(7, 17), stride=(2, 3)), pointwise_kernel_gradient_is_right)
# --8<-- [end:pointwise_stride_claim]


# --8<-- [start:infinite_dy]
import os

import tensorflow as tf  # noqa: F811 (the tf-xla worker runs none of the sections above)

from snippets.padding import same_padding

XLA = os.environ.get("DOCEXEC_XLA") == "1"  # the tf-xla machinery: the gradient is compiled by XLA


def kernel_gradient_with_an_infinite_dy(size, kernel, stride):
    """The kernel gradient of a bias-free Conv2D(padding="same") whose dy is inf at a corner output that
    reads padding, and NumPy's float64 one of the zero-padded input, where a padded cell adds 0 x inf = NaN."""
    before, _ = same_padding(size, kernel, stride)
    x, dy = random((1, size, size, 2)), random((1, -(-size // stride), -(-size // stride), 3))
    dy[(0, 0, 0, 0) if before else (0, -1, -1, 0)] = np.inf  # the first output reads padding if before > 0
    conv = keras.layers.Conv2D(3, kernel, strides=stride, padding="same", use_bias=False)
    conv.build(x.shape)

    def gradient(x, dy):
        with tf.GradientTape() as tape:
            y = conv(x)
        return tape.gradient(y, conv.kernel.value, output_gradients=dy)

    if XLA:  # x and dy are passed in, as model.fit passes its batches, not captured as constants
        gradient = tf.function(gradient, jit_compile=True)
    dkernel = gradient(tf.constant(x), tf.constant(dy)).numpy()
    with np.errstate(invalid="ignore"):
        expected = reference.conv2d_grad_kernel(x.astype(np.float64), dy.astype(np.float64),
                                                dkernel.shape, stride, "same")
    return dkernel, expected


def nan_where_numpy_has_nan(size, kernel, stride):
    dkernel, expected = kernel_gradient_with_an_infinite_dy(size, kernel, stride)
    finite = np.isfinite(expected)
    return bool(np.isnan(expected).any() and np.array_equal(np.isnan(dkernel), np.isnan(expected))
                and np.array_equal(dkernel[~finite], expected[~finite], equal_nan=True)
                and np.allclose(dkernel[finite], expected[finite], rtol=0, atol=1e-4))
# --8<-- [end:infinite_dy]


# --8<-- [start:infinite_dy_claim]
over(grid(size=(6, 7), kernel=(3, 4), stride=(1, 2)), nan_where_numpy_has_nan)
# --8<-- [end:infinite_dy_claim]


# --8<-- [start:infinite_dy_xla_claim]
over(grid(size=(6, 7), kernel=(3, 4), stride=(1, 2)), nan_where_numpy_has_nan)
# --8<-- [end:infinite_dy_xla_claim]
