"""Conformance: snippets.conv (float64) agrees with Keras and TensorFlow (float32).

Tolerance. The data are float32 numbers, so NumPy (float64) and TensorFlow
(float32) start from identical inputs and differ only by rounding in the sums.
An output element is a sum of K products (K = kh*kw*c_in for y, at most
kh*kw*c_out for dx, n*h_out*w_out for dkernel). In any order of additions, a
floating-point sum of K products is within gamma_K = K*u / (1 - K*u) times the
sum of the |products| of the exact value (Higham, Accuracy and Stability of
Numerical Algorithms, eq. 3.5); u = 2**-24 in float32, 2**-53 in float64. So
we require, element by element,

    |keras - numpy| <= (gamma_K(2**-24) + gamma_K(2**-53)) * sum(|products|)

where sum(|products|) is the same quantity computed from |x|, |kernel|, |dy|.
This bound holds whatever summation order or blocking TF's kernels use, so it
cannot flake; it is still about K * 6e-8 relative, thousands of times smaller
than the error of a window off by one pixel, which
test_the_tolerance_detects_a_window_off_by_one demonstrates.
"""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import U32, U64, gamma
from snippets import conv, keras_ref
from snippets.padding import same_padding

tf = keras_ref.tf
keras = keras_ref.keras

EXAMPLES = settings(max_examples=60, derandomize=True, deadline=None)


def rounding_excess(actual, expected, magnitude, terms, bound_factor=1):
    """By how much |actual - expected| exceeds the float32 bound at worst (<= 0: within)."""
    assert actual.shape == expected.shape
    bound = bound_factor * (gamma(terms, U32) + gamma(terms, U64)) * magnitude
    return np.max(np.abs(actual - expected) - bound, initial=-np.inf)


def assert_within_float32_rounding(actual, expected, magnitude, terms, bound_factor=1):
    excess = rounding_excess(actual, expected, magnitude, terms, bound_factor)
    assert excess <= 0, f"error exceeds the float32 rounding bound by {excess:.3g}"


@st.composite
def keras_cases(draw, spatial_dims, paddings):
    """A random convolution with float32 data; a quarter take the tf.nn path.

    Keras refuses a stride > 1 together with a dilation > 1; those cases run
    tf.nn with XLA-compiled gradients (~0.3 s each), so they are drawn less often.
    """
    ints = st.integers
    padding = draw(st.sampled_from(paddings))
    kernel_size = draw(st.tuples(*[ints(1, 5)] * spatial_dims))
    strides = list(draw(st.tuples(*[ints(1, 3)] * spatial_dims)))
    dilation = list(draw(st.tuples(*[ints(1, 3)] * spatial_dims)))
    if draw(st.sampled_from(["keras", "keras", "keras", "tf.nn"])) == "keras":
        if draw(st.booleans()):
            strides = [1] * spatial_dims
        else:
            dilation = [1] * spatial_dims
    else:
        strides[draw(ints(0, spatial_dims - 1))] = draw(ints(2, 3))
        dilation[draw(ints(0, spatial_dims - 1))] = draw(ints(2, 3))
    spans = [(k - 1) * d + 1 for k, d in zip(kernel_size, dilation, strict=True)]
    sizes = [draw(ints(span, span + 6) if padding == "valid" else ints(1, 9))
             for span in spans]
    n, c_in, c_out = draw(ints(1, 3)), draw(ints(1, 4)), draw(ints(1, 4))
    rng = np.random.default_rng(draw(ints(0, 2**32 - 1)))
    def float32_data(shape):
        return rng.standard_normal(shape).astype(np.float32).astype(np.float64)
    x = float32_data((n, *sizes, c_in))
    kernel = float32_data((*kernel_size, c_in, c_out))
    options = (tuple(strides), padding, tuple(dilation))
    if spatial_dims == 1:
        options = (strides[0], padding, dilation[0])
    forward = conv.conv2d if spatial_dims == 2 else conv.conv1d
    dy = float32_data(forward(x, kernel, *options).shape)
    return x, kernel, dy, options


def numpy_references(x, kernel, dy, options):
    """For y, dx and dkernel: the float64 value, its sum of |products| and the
    number of products summed per element."""
    spatial_dims = kernel.ndim - 2
    forward, grad_input, grad_kernel = [
        getattr(conv, f"conv{spatial_dims}d{suffix}")
        for suffix in ("", "_grad_input", "_grad_kernel")]
    taps = np.prod(kernel.shape[:-2])
    return [
        (forward(x, kernel, *options), forward(abs(x), abs(kernel), *options),
         taps * x.shape[-1]),
        (grad_input(dy, kernel, x.shape, *options),
         grad_input(abs(dy), abs(kernel), x.shape, *options), taps * dy.shape[-1]),
        (grad_kernel(x, dy, kernel.shape, *options),
         grad_kernel(abs(x), abs(dy), kernel.shape, *options), np.prod(dy.shape[:-1])),
    ]


def check_against_keras(case):
    x, kernel, dy, options = case
    results = keras_ref.conv_with_gradients(x, kernel, dy, *options)
    for result, reference in zip(results, numpy_references(x, kernel, dy, options), strict=True):
        assert result.dtype == np.float32
        assert_within_float32_rounding(result, *reference)


@settings(EXAMPLES, max_examples=100)
@given(keras_cases(2, ["valid", "same"]))
def test_conv2d_and_its_gradients_match_keras(case):
    check_against_keras(case)


@settings(EXAMPLES, max_examples=80)
@given(keras_cases(1, ["valid", "same", "causal"]))
def test_conv1d_and_its_gradients_match_keras(case):
    check_against_keras(case)


def padded_for_same(x, kernel, strides, dilation):
    pads = [same_padding(size, k, s, d) for size, k, s, d
            in zip(x.shape[1:3], kernel.shape[:2], strides, dilation, strict=True)]
    return np.pad(x, [(0, 0), *pads, (0, 0)]), pads


@EXAMPLES
@given(keras_cases(2, ["same"]))
def test_keras_same_is_valid_on_the_zero_padded_input(case):
    """Forward and kernel gradient coincide; the input gradient is the padded
    input's gradient with the padding cropped off. Both sides are float32, each
    within the bound of the exact value, hence bound_factor=2."""
    x, kernel, dy, (strides, _, dilation) = case
    x_padded, ((top, _), (left, _)) = padded_for_same(x, kernel, strides, dilation)
    same = keras_ref.conv_with_gradients(x, kernel, dy, strides, "same", dilation)
    valid = keras_ref.conv_with_gradients(x_padded, kernel, dy, strides, "valid", dilation)
    h, w = x.shape[1:3]
    dx_cropped = valid[1][:, top:top + h, left:left + w]
    taps = np.prod(kernel.shape[:2])
    magnitudes = [conv.conv2d(abs(x), abs(kernel), strides, "same", dilation),
                  conv.conv2d_grad_input(abs(dy), abs(kernel), x.shape, strides,
                                         "same", dilation),
                  conv.conv2d_grad_kernel(abs(x), abs(dy), kernel.shape, strides,
                                          "same", dilation)]
    terms = [taps * x.shape[-1], taps * dy.shape[-1], np.prod(dy.shape[:-1])]
    for actual, expected, magnitude, k in zip(same, [valid[0], dx_cropped, valid[2]],
                                              magnitudes, terms, strict=True):
        assert_within_float32_rounding(actual, expected, magnitude, k, bound_factor=2)


def test_the_tolerance_detects_a_window_off_by_one():
    """Put the odd extra zero of "same" before the input instead of after it:
    every output is then computed from windows one pixel off."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 7, 8, 3)).astype(np.float32).astype(np.float64)
    kernel = rng.standard_normal((4, 2, 3, 5)).astype(np.float32).astype(np.float64)
    y = keras_ref.conv2d(x, kernel, 1, "same", 1)
    (top, bottom), (left, right) = same_padding(7, 4), same_padding(8, 2)
    assert (top, bottom) != (bottom, top) and (left, right) != (right, left)
    shifted = np.pad(x, [(0, 0), (bottom, top), (right, left), (0, 0)])
    wrong = conv.conv2d(shifted, kernel, 1, "valid", 1)
    magnitude = conv.conv2d(abs(x), abs(kernel), 1, "same", 1)
    assert rounding_excess(y, conv.conv2d(x, kernel, 1, "same", 1), magnitude, 24) <= 0
    assert rounding_excess(y, wrong, magnitude, 24) > 0


CASES = {
    "2-D, Keras layer, dilation": ((2, 6, 7, 3), (3, 2, 3, 2), (1, 1), "same", (2, 3)),
    "2-D, tf.nn, stride and dilation": ((1, 9, 8, 2), (2, 3, 2, 3), (2, 1), "valid", (1, 2)),
    "1-D, Keras layer, causal": ((2, 7, 3), (3, 3, 2), 2, "causal", 1),
    "1-D, tf.nn, causal": ((2, 9, 2), (2, 2, 3), 2, "causal", 3),
}


@pytest.mark.parametrize("case", CASES)
def test_public_functions_match_conv(case):
    """keras_ref.conv*d, conv*d_grad_input and conv*d_grad_kernel take the
    arguments snippets.conv's take and return what they return."""
    x_shape, kernel_shape, *options = CASES[case]
    rng = np.random.default_rng(4)
    x = rng.standard_normal(x_shape).astype(np.float32).astype(np.float64)
    kernel = rng.standard_normal(kernel_shape).astype(np.float32).astype(np.float64)
    prefix = f"conv{len(x_shape) - 2}d"
    forward, grad_input, grad_kernel = [
        getattr(keras_ref, prefix + suffix) for suffix in ("", "_grad_input", "_grad_kernel")]
    y = forward(x, kernel, *options)
    dy = rng.standard_normal(y.shape).astype(np.float32).astype(np.float64)
    results = [y, grad_input(dy, kernel, x.shape, *options),
               grad_kernel(x, dy, kernel.shape, *options)]
    for result, reference in zip(results, numpy_references(x, kernel, dy, options), strict=True):
        assert_within_float32_rounding(result, *reference)


@pytest.mark.parametrize("spatial_dims", [1, 2])
def test_keras_accepts_is_the_rule_keras_layers_apply(spatial_dims):
    layer_class = {1: keras.layers.Conv1D, 2: keras.layers.Conv2D}[spatial_dims]
    choices = list(itertools.product(range(1, 4), repeat=spatial_dims))
    for strides, dilation in itertools.product(choices, choices):
        try:
            layer_class(1, 3, strides=strides, dilation_rate=dilation)
            accepted = True
        except ValueError as error:
            assert "`strides > 1` not supported in conjunction with `dilation_rate > 1`" in str(error)
            accepted = False
        assert accepted == keras_ref.keras_accepts(strides, dilation, spatial_dims)


def graph_ops(kernel, dilation, input_shape):
    layer = keras_ref._keras_layer(kernel, 1, "same", dilation)
    function = tf.function(layer).get_concrete_function(tf.TensorSpec(input_shape))
    return {op.type for op in function.graph.get_operations()}


def test_keras_runs_a_dilated_conv_as_space_to_batch_around_conv2d():
    ops = graph_ops(np.ones((3, 3, 1, 1), np.float32), 2, (1, 8, 8, 1))
    assert {"SpaceToBatchND", "Conv2D", "BatchToSpaceND"} <= ops


def test_keras_runs_conv1d_as_conv2d_on_a_height_one_image():
    ops = graph_ops(np.ones((3, 1, 1), np.float32), 1, (1, 8, 1))
    assert {"ExpandDims", "Conv2D", "Squeeze"} <= ops
