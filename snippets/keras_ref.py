"""The quantities of snippets.conv, computed by Keras and TensorFlow instead.

Same names and signatures as snippets.conv, so a test can run both. Everything
runs in float32 (inputs are cast) and comes back as float32 NumPy arrays.

Which TensorFlow path computes what (TF 2.21, Keras 3.15, CPU):

* If Keras accepts the combination (not a stride > 1 together with a
  dilation > 1): a `keras.layers.Conv2D` / `Conv1D` with `use_bias=False` and
  the kernel assigned; gradients by `tf.GradientTape`. Keras calls
  `tf.nn.convolution`, which runs the `Conv2D` op (1-D: the same op on a
  height-1 image); with a dilation > 1 it wraps an undilated `Conv2D` in
  `space_to_batch_nd` / `batch_to_space_nd`. For "causal", Keras pads the
  input itself and convolves with "valid".
* If Keras refuses it (it raises ValueError for any stride > 1 with any
  dilation > 1): `tf.nn.conv2d` / `tf.nn.conv1d`, which pass the dilation to
  the `Conv2D` op. Its forward pass runs eagerly on the CPU kernel. On the
  Eigen CPU path (most CPUs) its gradient kernels (`Conv2DBackpropInput`,
  `Conv2DBackpropFilter`) reject any dilation > 1, in float32 and float64 alike
  ("Current CPU implementations do not yet support dilation rates larger than
  1."); the oneDNN path computes them (tests/test_kernel_paths.py). So the
  gradients of that same op are compiled by XLA (`tf.function(jit_compile=True)`),
  the same on every CPU, once per call: expect 0.1-0.5 s per call on this path,
  milliseconds on the Keras path.
"""

import numpy as np
import tensorflow as tf
import keras

__all__ = [
    "conv2d", "conv2d_grad_input", "conv2d_grad_kernel",
    "conv1d", "conv1d_grad_input", "conv1d_grad_kernel",
    "conv_with_gradients", "keras_accepts",
]


def _as_tuple(value, spatial_dims):
    return (value,) * spatial_dims if np.ndim(value) == 0 else tuple(value)


def keras_accepts(strides, dilation, spatial_dims=2):
    """Whether a Keras conv layer accepts these strides and dilation rates.

    Keras's own rule (keras/src/layers/convolutional/base_conv.py): not
    max(strides) > 1 together with max(dilation_rate) > 1.
    """
    strides = _as_tuple(strides, spatial_dims)
    dilation = _as_tuple(dilation, spatial_dims)
    return not (max(strides) > 1 and max(dilation) > 1)


def _keras_layer(kernel, strides, padding, dilation):
    """A Keras conv layer without bias whose kernel is `kernel`."""
    spatial_dims = kernel.ndim - 2
    layer_class = {1: keras.layers.Conv1D, 2: keras.layers.Conv2D}[spatial_dims]
    layer = layer_class(filters=kernel.shape[-1], kernel_size=kernel.shape[:-2],
                        strides=strides, padding=padding,
                        dilation_rate=dilation, use_bias=False)
    layer.build((None,) * (spatial_dims + 1) + (kernel.shape[-2],))
    layer.kernel.assign(kernel)
    return layer


def _with_keras(x, kernel, dy, strides, padding, dilation):
    layer = _keras_layer(kernel, strides, padding, dilation)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
    if dy is None:
        return y, None, None
    dx, dkernel = tape.gradient(y, [x, layer.kernel], output_gradients=dy)
    return y, dx, dkernel


def _tf_nn_conv(x, kernel, strides, padding, dilation):
    """tf.nn.conv2d or tf.nn.conv1d; "causal" padded the way Keras pads it."""
    if kernel.shape.rank == 4:
        return tf.nn.conv2d(x, kernel, strides, padding.upper(), dilations=dilation)
    (stride,), (dilation,) = _as_tuple(strides, 1), _as_tuple(dilation, 1)
    if padding == "causal":
        x = tf.pad(x, [[0, 0], [(kernel.shape[0] - 1) * dilation, 0], [0, 0]])
        padding = "valid"
    return tf.nn.conv1d(x, kernel, stride, padding.upper(), dilations=dilation)


def _with_tf_nn(x, kernel, dy, strides, padding, dilation):
    y = _tf_nn_conv(x, kernel, strides, padding, dilation)
    if dy is None:
        return y, None, None

    @tf.function(jit_compile=True)
    def gradients(x, kernel, dy):
        with tf.GradientTape() as tape:
            tape.watch([x, kernel])
            y = _tf_nn_conv(x, kernel, strides, padding, dilation)
        return tape.gradient(y, [x, kernel], output_gradients=dy)

    dx, dkernel = gradients(x, kernel, dy)
    return y, dx, dkernel


def conv_with_gradients(x, kernel, dy=None, strides=1, padding="valid", dilation=1):
    """Forward pass y and, when dy is given, the gradients dx and dkernel of
    <y, dy>, from one Keras layer (or tf.nn op, see the module docstring).

    x is NHWC or NWC, kernel HWIO or WIO. Returns float32 NumPy arrays
    (dx and dkernel are None without dy).
    """
    x = tf.constant(x, tf.float32)
    kernel = tf.constant(kernel, tf.float32)
    dy = None if dy is None else tf.constant(dy, tf.float32)
    spatial_dims = kernel.shape.rank - 2
    if keras_accepts(strides, dilation, spatial_dims):
        results = _with_keras(x, kernel, dy, strides, padding, dilation)
    else:
        results = _with_tf_nn(x, kernel, dy, strides, padding, dilation)
    return tuple(None if r is None else np.asarray(r) for r in results)


def conv2d(x, kernel, strides=1, padding="valid", dilation=1):
    """Keras's Conv2D forward pass (x NHWC, kernel HWIO)."""
    y, _, _ = conv_with_gradients(x, kernel, None, strides, padding, dilation)
    return y


def conv2d_grad_input(dy, kernel, input_shape, strides=1, padding="valid",
                      dilation=1):
    """Keras's Conv2D gradient w.r.t. its input; it does not depend on x (zeros here)."""
    x = np.zeros(input_shape, np.float32)
    _, dx, _ = conv_with_gradients(x, kernel, dy, strides, padding, dilation)
    return dx


def conv2d_grad_kernel(x, dy, kernel_shape, strides=1, padding="valid", dilation=1):
    """Keras's Conv2D gradient w.r.t. its kernel; it does not depend on the kernel (zeros)."""
    kernel = np.zeros(kernel_shape, np.float32)
    _, _, dkernel = conv_with_gradients(x, kernel, dy, strides, padding, dilation)
    return dkernel


def conv1d(x, kernel, strides=1, padding="valid", dilation=1):
    """Keras's Conv1D forward pass (x NWC, kernel WIO; padding also "causal")."""
    y, _, _ = conv_with_gradients(x, kernel, None, strides, padding, dilation)
    return y


def conv1d_grad_input(dy, kernel, input_shape, strides=1, padding="valid",
                      dilation=1):
    """Keras's Conv1D gradient w.r.t. its input; it does not depend on x (zeros here)."""
    x = np.zeros(input_shape, np.float32)
    _, dx, _ = conv_with_gradients(x, kernel, dy, strides, padding, dilation)
    return dx


def conv1d_grad_kernel(x, dy, kernel_shape, strides=1, padding="valid", dilation=1):
    """Keras's Conv1D gradient w.r.t. its kernel; it does not depend on the kernel (zeros)."""
    kernel = np.zeros(kernel_shape, np.float32)
    _, _, dkernel = conv_with_gradients(x, kernel, dy, strides, padding, dilation)
    return dkernel
