"""Convolution and its two gradients in NumPy, in Keras layouts.

Inputs are NHWC (NWC in 1-D) and kernels HWIO (WIO). Like Keras, "convolution"
means cross-correlation: the kernel is not flipped in the forward pass.

Every quantity comes twice: a loop version that pads with zeros and then follows
the sum term by term (for reading), and a vectorised version (for speed).
Both compute in float64.

Each public function is a named section (`# --8<-- [start:conv2d_loop]` ...),
except `conv2d_grad_input_loop` and `conv2d_grad_kernel_loop`: the gradient
pages show their loops, `scatter_then_crop` and `sum_over_padded_input`, which
take the padding amounts and do no checking, and the wrappers check the
arguments. A section runs on its own after this hidden
set-up (tests/test_conv.py checks it):

    import numpy as np
    from snippets.padding import *
    from snippets.conv import _check_conv2d, _check_conv2d_grad_input, ...

that is, every name in `PAGE_HELPERS`.
"""

import numbers

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from snippets.padding import (PADDINGS, _check_padding_name, output_size,
                              padding_amounts)

__all__ = [
    "conv2d", "conv2d_grad_input", "conv2d_grad_kernel",
    "conv1d", "conv1d_grad_input", "conv1d_grad_kernel",
    "conv2d_loop", "conv2d_grad_input_loop", "conv2d_grad_kernel_loop",
    "conv1d_loop", "conv1d_grad_input_loop", "conv1d_grad_kernel_loop",
]

PAGE_HELPERS = [
    "_check_conv2d", "_check_conv2d_grad_input", "_check_conv2d_grad_kernel",
    "_check_conv1d", "_check_conv1d_grad_input", "_check_conv1d_grad_kernel",
    "_pad_widths", "_zero_pad", "_crop", "_windows", "_spread",
]

_LAYOUTS = {1: ("NWC", "WIO"), 2: ("NHWC", "HWIO")}


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _positive_ints(name, value, spatial_dims):
    """An int, or one int per spatial axis, each >= 1, as a tuple."""
    values = (value,) * spatial_dims if _is_int(value) else value
    if not (isinstance(values, (tuple, list)) and len(values) == spatial_dims
            and all(_is_int(v) and v >= 1 for v in values)):
        allowed = "a positive int" + ("" if spatial_dims == 1 else " or a pair of them")
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return tuple(int(v) for v in values)


def _check_shape(name, shape, layout):
    if not (isinstance(shape, (tuple, list)) and len(shape) == len(layout)
            and all(_is_int(size) and size >= 1 for size in shape)):
        raise ValueError(f"{name} must have rank {len(layout)} ({layout}) "
                         f"and positive sizes, got shape {shape!r}")
    return tuple(int(size) for size in shape)


def _check(spatial_dims, strides, padding, dilation, x_shape, kernel_shape,
           dy_shape=None, names=("x", "kernel")):
    """Validate a convolution's arguments; return strides and dilation as tuples.

    `names` are the caller's argument names for the input and kernel shapes, so a
    message names what the caller passed (`x` or `input_shape`, ...).
    """
    x_name, kernel_name = names
    x_layout, kernel_layout = _LAYOUTS[spatial_dims]
    x_shape = _check_shape(x_name, x_shape, x_layout)
    kernel_shape = _check_shape(kernel_name, kernel_shape, kernel_layout)
    if x_shape[-1] != kernel_shape[-2]:
        raise ValueError(
            f"{kernel_name} has {kernel_shape[-2]} input channels (shape {kernel_shape}, "
            f"{kernel_layout}) but {x_name} has {x_shape[-1]} (shape {x_shape}, "
            f"{x_layout}); they must be equal")
    _check_padding_name(padding, PADDINGS if spatial_dims == 1 else PADDINGS[:2])
    strides = _positive_ints("strides", strides, spatial_dims)
    dilation = _positive_ints("dilation", dilation, spatial_dims)
    axes = zip(x_shape[1:-1], kernel_shape[:-2], strides, dilation)
    out_sizes = tuple(output_size(size, k, s, padding, d) for size, k, s, d in axes)
    out_shape = (x_shape[0], *out_sizes, kernel_shape[-1])
    if 0 in out_sizes:
        raise ValueError(
            f"{x_name} of shape {x_shape} is smaller than {kernel_name} of shape "
            f"{kernel_shape} with dilation {dilation}: the {padding!r} output would be "
            f"empty; allowed: spatial sizes >= (kernel_size - 1) * dilation + 1")
    if dy_shape is not None and tuple(dy_shape) != out_shape:
        raise ValueError(f"dy must have the forward output's shape {out_shape}, "
                         f"got {tuple(dy_shape)}")
    return strides, dilation


def _check_conv2d(x, kernel, strides, padding, dilation):
    return _check(2, strides, padding, dilation, np.shape(x), np.shape(kernel))


def _check_conv2d_grad_input(dy, kernel, input_shape, strides, padding, dilation):
    return _check(2, strides, padding, dilation, input_shape, np.shape(kernel),
                  np.shape(dy), names=("input_shape", "kernel"))


def _check_conv2d_grad_kernel(x, dy, kernel_shape, strides, padding, dilation):
    return _check(2, strides, padding, dilation, np.shape(x), kernel_shape,
                  np.shape(dy), names=("x", "kernel_shape"))


def _check_conv1d(x, kernel, strides, padding, dilation):
    (stride,), (dilation,) = _check(1, strides, padding, dilation,
                                    np.shape(x), np.shape(kernel))
    return stride, dilation


def _check_conv1d_grad_input(dy, kernel, input_shape, strides, padding, dilation):
    (stride,), (dilation,) = _check(1, strides, padding, dilation, input_shape,
                                    np.shape(kernel), np.shape(dy),
                                    names=("input_shape", "kernel"))
    return stride, dilation


def _check_conv1d_grad_kernel(x, dy, kernel_shape, strides, padding, dilation):
    (stride,), (dilation,) = _check(1, strides, padding, dilation, np.shape(x),
                                    kernel_shape, np.shape(dy),
                                    names=("x", "kernel_shape"))
    return stride, dilation


# --8<-- [start:conv2d_loop]
def conv2d_loop(x, kernel, strides=1, padding="valid", dilation=1):
    """Forward pass: pad x with zeros, then for each output pixel (i, j) sum
    x_padded[:, i*sh + a*dh, j*sw + b*dw, :] @ kernel[a, b] over the taps (a, b)."""
    (sh, sw), (dh, dw) = _check_conv2d(x, kernel, strides, padding, dilation)
    n, h, w, _ = x.shape
    kh, kw, _, c_out = kernel.shape
    top, bottom = padding_amounts(h, kh, sh, padding, dh)
    left, right = padding_amounts(w, kw, sw, padding, dw)
    x_padded = np.pad(x, [(0, 0), (top, bottom), (left, right), (0, 0)])
    h_out = output_size(h, kh, sh, padding, dh)
    w_out = output_size(w, kw, sw, padding, dw)
    y = np.zeros((n, h_out, w_out, c_out))
    for i in range(h_out):
        for j in range(w_out):
            for a in range(kh):
                for b in range(kw):
                    pixels = x_padded[:, i * sh + a * dh, j * sw + b * dw, :]
                    y[:, i, j, :] += pixels @ kernel[a, b]
    return y
# --8<-- [end:conv2d_loop]


# --8<-- [start:scatter_then_crop]
def scatter_then_crop(dy, kernel, input_shape, strides, dilation, pads):
    """Input gradient: send each dy[:, i, j, :] back through every tap (a, b)
    to the padded pixel it read, then crop the padding off.

    strides and dilation are (rows, columns) pairs, and pads is
    ((pad_top, pad_bottom), (pad_left, pad_right)).
    """
    (pad_top, pad_bottom), (pad_left, pad_right) = pads
    batch, height, width, channels_in = input_shape
    kernel_height, kernel_width = kernel.shape[:2]
    dx_padded = np.zeros((batch, pad_top + height + pad_bottom,
                          pad_left + width + pad_right, channels_in))
    for i in range(dy.shape[1]):
        for j in range(dy.shape[2]):
            for a in range(kernel_height):
                for b in range(kernel_width):
                    row = i * strides[0] + a * dilation[0]
                    col = j * strides[1] + b * dilation[1]
                    dx_padded[:, row, col, :] += dy[:, i, j, :] @ kernel[a, b].T
    return dx_padded[:, pad_top:pad_top + height, pad_left:pad_left + width, :]
# --8<-- [end:scatter_then_crop]


def conv2d_grad_input_loop(dy, kernel, input_shape, strides=1, padding="valid",
                           dilation=1):
    """Input gradient by scatter_then_crop, after checking the arguments and
    computing the padding from its name (the loop on a page stays short)."""
    strides, dilation = _check_conv2d_grad_input(dy, kernel, input_shape,
                                                 strides, padding, dilation)
    pads = _pad_widths(input_shape, kernel.shape, strides, padding, dilation)
    return scatter_then_crop(dy, kernel, input_shape, strides, dilation, pads)


# --8<-- [start:sum_over_padded_input]
def sum_over_padded_input(x, dy, kernel_shape, strides, dilation, pads):
    """Kernel gradient: each tap (a, b) collects x_padded[pixel].T @ dy[i, j]
    over every output pixel (i, j), padded zeros included (they add nothing).

    strides and dilation are (rows, columns) pairs, and pads is
    ((pad_top, pad_bottom), (pad_left, pad_right)).
    """
    x_padded = np.pad(x, [(0, 0), *pads, (0, 0)])
    kernel_height, kernel_width = kernel_shape[:2]
    dkernel = np.zeros(kernel_shape)
    for i in range(dy.shape[1]):
        for j in range(dy.shape[2]):
            for a in range(kernel_height):
                for b in range(kernel_width):
                    row = i * strides[0] + a * dilation[0]
                    col = j * strides[1] + b * dilation[1]
                    dkernel[a, b] += x_padded[:, row, col, :].T @ dy[:, i, j, :]
    return dkernel
# --8<-- [end:sum_over_padded_input]


def conv2d_grad_kernel_loop(x, dy, kernel_shape, strides=1, padding="valid",
                            dilation=1):
    """Kernel gradient by sum_over_padded_input, after checking the arguments
    and computing the padding from its name."""
    strides, dilation = _check_conv2d_grad_kernel(x, dy, kernel_shape,
                                                  strides, padding, dilation)
    pads = _pad_widths(np.shape(x), kernel_shape, strides, padding, dilation)
    return sum_over_padded_input(np.asarray(x, dtype=np.float64), dy,
                                 tuple(kernel_shape), strides, dilation, pads)


# --8<-- [start:conv1d_loop]
def conv1d_loop(x, kernel, strides=1, padding="valid", dilation=1):
    """Forward pass in 1-D: y[:, i] = sum over taps a of
    x_padded[:, i*stride + a*dilation] @ kernel[a]."""
    stride, dilation = _check_conv1d(x, kernel, strides, padding, dilation)
    n, w, _ = x.shape
    k, _, c_out = kernel.shape
    pad_before, pad_after = padding_amounts(w, k, stride, padding, dilation)
    x_padded = np.pad(x, [(0, 0), (pad_before, pad_after), (0, 0)])
    w_out = output_size(w, k, stride, padding, dilation)
    y = np.zeros((n, w_out, c_out))
    for i in range(w_out):
        for a in range(k):
            y[:, i, :] += x_padded[:, i * stride + a * dilation, :] @ kernel[a]
    return y
# --8<-- [end:conv1d_loop]


# --8<-- [start:conv1d_grad_input_loop]
def conv1d_grad_input_loop(dy, kernel, input_shape, strides=1, padding="valid",
                           dilation=1):
    """Input gradient in 1-D: scatter dy back into a zero-padded gradient, then crop."""
    stride, dilation = _check_conv1d_grad_input(dy, kernel, input_shape,
                                                strides, padding, dilation)
    n, w, c_in = input_shape
    k, _, _ = kernel.shape
    _, w_out, _ = dy.shape
    pad_before, pad_after = padding_amounts(w, k, stride, padding, dilation)
    dx_padded = np.zeros((n, pad_before + w + pad_after, c_in))
    for i in range(w_out):
        for a in range(k):
            dx_padded[:, i * stride + a * dilation, :] += dy[:, i, :] @ kernel[a].T
    return dx_padded[:, pad_before:pad_before + w, :]
# --8<-- [end:conv1d_grad_input_loop]


# --8<-- [start:conv1d_grad_kernel_loop]
def conv1d_grad_kernel_loop(x, dy, kernel_shape, strides=1, padding="valid",
                            dilation=1):
    """Kernel gradient in 1-D: tap a collects
    x_padded[:, i*stride + a*dilation].T @ dy[:, i] over every output position i."""
    stride, dilation = _check_conv1d_grad_kernel(x, dy, kernel_shape,
                                                 strides, padding, dilation)
    _, w, _ = x.shape
    k, _, _ = kernel_shape
    _, w_out, _ = dy.shape
    pad_before, pad_after = padding_amounts(w, k, stride, padding, dilation)
    x_padded = np.pad(x, [(0, 0), (pad_before, pad_after), (0, 0)])
    dkernel = np.zeros(kernel_shape)
    for i in range(w_out):
        for a in range(k):
            dkernel[a] += x_padded[:, i * stride + a * dilation, :].T @ dy[:, i, :]
    return dkernel
# --8<-- [end:conv1d_grad_kernel_loop]


def _pad_widths(input_shape, kernel_shape, strides, padding, dilation):
    """(before, after) zeros on each spatial axis."""
    axes = zip(input_shape[1:-1], kernel_shape[:-2], strides, dilation)
    return [padding_amounts(size, k, s, padding, d) for size, k, s, d in axes]


def _zero_pad(x, pad_widths):
    return np.pad(np.asarray(x, dtype=np.float64), [(0, 0), *pad_widths, (0, 0)])


def _crop(padded, pad_widths, input_shape):
    """The adjoint of _zero_pad: keep the positions of the original input."""
    axes = zip(pad_widths, input_shape[1:-1])
    inside = [slice(before, before + size) for (before, _), size in axes]
    return padded[(slice(None), *inside, slice(None))]


def _windows(x_padded, kernel_size, strides, dilation):
    """A view of every window, each shaped like the kernel's (*kernel_size, channels)."""
    spans = [(k - 1) * d + 1 for k, d in zip(kernel_size, dilation)]
    spatial_axes = tuple(range(1, x_padded.ndim - 1))
    windows = sliding_window_view(x_padded, spans, axis=spatial_axes)
    window_starts = [slice(None, None, s) for s in strides]
    taps = [slice(None, None, d) for d in dilation]
    windows = windows[(slice(None), *window_starts, slice(None), *taps)]
    return np.moveaxis(windows, len(strides) + 1, -1)


def _spread(dy, input_shape, pad_widths, kernel_size, strides, dilation):
    """dy at the padded positions where its windows start, zeros between them
    (stride > 1), with span - 1 zeros before so that a stride-1 correlation
    with the flipped kernel yields every padded position."""
    spans = [(k - 1) * d + 1 for k, d in zip(kernel_size, dilation)]
    axes = zip(input_shape[1:-1], pad_widths, spans)
    full_sizes = [before + size + after + span - 1
                  for size, (before, after), span in axes]
    dy_full = np.zeros((dy.shape[0], *full_sizes, dy.shape[-1]))
    starts = [slice(span - 1, span - 1 + (out - 1) * s + 1, s)
              for span, out, s in zip(spans, dy.shape[1:-1], strides)]
    dy_full[(slice(None), *starts, slice(None))] = dy
    return dy_full


# --8<-- [start:conv2d]
def conv2d(x, kernel, strides=1, padding="valid", dilation=1):
    """Forward pass (NHWC, HWIO), vectorised: every window of the zero-padded
    input at once, each shaped (kh, kw, c_in) like the kernel, contracted with it."""
    strides, dilation = _check_conv2d(x, kernel, strides, padding, dilation)
    pad_widths = _pad_widths(np.shape(x), kernel.shape, strides, padding, dilation)
    windows = _windows(_zero_pad(x, pad_widths), kernel.shape[:2], strides, dilation)
    return np.tensordot(windows, kernel, axes=3)
# --8<-- [end:conv2d]


# --8<-- [start:conv2d_grad_input]
def conv2d_grad_input(dy, kernel, input_shape, strides=1, padding="valid",
                      dilation=1):
    """Input gradient, vectorised: a stride-1 convolution of the spread-out dy
    with the kernel flipped in space and its channels swapped gives the padded
    input's gradient; crop it."""
    strides, dilation = _check_conv2d_grad_input(dy, kernel, input_shape,
                                                 strides, padding, dilation)
    pad_widths = _pad_widths(input_shape, kernel.shape, strides, padding, dilation)
    dy_full = _spread(dy, input_shape, pad_widths, kernel.shape[:2], strides, dilation)
    windows = _windows(dy_full, kernel.shape[:2], (1, 1), dilation)
    flipped = kernel[::-1, ::-1].swapaxes(2, 3)
    dx_padded = np.tensordot(windows, flipped, axes=3)
    return _crop(dx_padded, pad_widths, input_shape)
# --8<-- [end:conv2d_grad_input]


# --8<-- [start:conv2d_grad_kernel]
def conv2d_grad_kernel(x, dy, kernel_shape, strides=1, padding="valid", dilation=1):
    """Kernel gradient, vectorised: every window of the zero-padded input,
    contracted with dy over the batch and the output pixels."""
    strides, dilation = _check_conv2d_grad_kernel(x, dy, kernel_shape,
                                                  strides, padding, dilation)
    pad_widths = _pad_widths(np.shape(x), kernel_shape, strides, padding, dilation)
    windows = _windows(_zero_pad(x, pad_widths), kernel_shape[:2], strides, dilation)
    return np.einsum("nijabc,nijo->abco", windows, dy, optimize=True)
# --8<-- [end:conv2d_grad_kernel]


# --8<-- [start:conv1d]
def conv1d(x, kernel, strides=1, padding="valid", dilation=1):
    """Forward pass (NWC, WIO), vectorised."""
    stride, dilation = _check_conv1d(x, kernel, strides, padding, dilation)
    pad_widths = _pad_widths(np.shape(x), kernel.shape, [stride], padding, [dilation])
    windows = _windows(_zero_pad(x, pad_widths), kernel.shape[:1], [stride], [dilation])
    return np.tensordot(windows, kernel, axes=2)
# --8<-- [end:conv1d]


# --8<-- [start:conv1d_grad_input]
def conv1d_grad_input(dy, kernel, input_shape, strides=1, padding="valid",
                      dilation=1):
    """Input gradient in 1-D, vectorised: convolve the spread-out dy with the
    flipped, channel-swapped kernel, then crop."""
    stride, dilation = _check_conv1d_grad_input(dy, kernel, input_shape,
                                                strides, padding, dilation)
    pad_widths = _pad_widths(input_shape, kernel.shape, [stride], padding, [dilation])
    dy_full = _spread(dy, input_shape, pad_widths, kernel.shape[:1], [stride], [dilation])
    windows = _windows(dy_full, kernel.shape[:1], [1], [dilation])
    flipped = kernel[::-1].swapaxes(1, 2)
    dx_padded = np.tensordot(windows, flipped, axes=2)
    return _crop(dx_padded, pad_widths, input_shape)
# --8<-- [end:conv1d_grad_input]


# --8<-- [start:conv1d_grad_kernel]
def conv1d_grad_kernel(x, dy, kernel_shape, strides=1, padding="valid", dilation=1):
    """Kernel gradient in 1-D, vectorised."""
    stride, dilation = _check_conv1d_grad_kernel(x, dy, kernel_shape,
                                                 strides, padding, dilation)
    pad_widths = _pad_widths(np.shape(x), kernel_shape, [stride], padding, [dilation])
    windows = _windows(_zero_pad(x, pad_widths), kernel_shape[:1], [stride], [dilation])
    return np.einsum("niac,nio->aco", windows, dy, optimize=True)
# --8<-- [end:conv1d_grad_kernel]
