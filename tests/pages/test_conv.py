"""snippets.conv on its own: the loop and vectorised versions agree, the
gradients are the adjoints of the forward pass, "same" is zero-padding then
"valid", and bad arguments are refused with a precise message.

Agreement with Keras is tested in test_keras_ref.py.

Tolerance. Every compared number is a sum of K products computed in float64.
Whatever order the additions happen in, such a sum is within
gamma_K = K*u / (1 - K*u) times the sum of the |products| of the exact value
(Higham, Accuracy and Stability of Numerical Algorithms, eq. 3.5), with
u = 2**-53. Two float64 implementations may each be that far off, so they must
agree to within 2 * gamma_K * sum(|products|), element by element. The sum of
|products| is the same quantity computed from |x|, |kernel| and |dy|.
"""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from docexec.sections import parse_sections
from helpers import U64, gamma
from snippets import conv
from snippets.padding import same_padding

EXAMPLES = settings(max_examples=80, derandomize=True, deadline=None)


def assert_close(actual, expected, magnitude, terms, u=U64):
    """|actual - expected| <= 2 * gamma_terms * magnitude, element by element."""
    assert actual.shape == expected.shape
    error = np.abs(actual - expected)
    bound = 2 * gamma(terms, u) * magnitude
    worst = np.max(error - bound, initial=-np.inf)
    assert worst <= 0, f"error exceeds the rounding bound by {worst:.3g}"


@st.composite
def conv_cases(draw, spatial_dims, paddings):
    """A random convolution: shapes, strides, dilation, padding and data x, kernel, dy.

    Under "valid" every input is at least as long as the dilated kernel; under
    "same" and "causal" inputs are 1-9 long, so kernels larger than the input occur.
    """
    ints = st.integers
    padding = draw(st.sampled_from(paddings))
    kernel_size = draw(st.tuples(*[ints(1, 5)] * spatial_dims))
    strides = draw(st.tuples(*[ints(1, 3)] * spatial_dims))
    dilation = draw(st.tuples(*[ints(1, 3)] * spatial_dims))
    spans = [(k - 1) * d + 1 for k, d in zip(kernel_size, dilation, strict=True)]
    sizes = [draw(ints(span, span + 6) if padding == "valid" else ints(1, 9))
             for span in spans]
    n, c_in, c_out = draw(ints(1, 3)), draw(ints(1, 4)), draw(ints(1, 4))
    rng = np.random.default_rng(draw(ints(0, 2**32 - 1)))
    x = rng.standard_normal((n, *sizes, c_in))
    kernel = rng.standard_normal((*kernel_size, c_in, c_out))
    if spatial_dims == 1:
        strides, dilation = strides[0], dilation[0]
    y = forward(spatial_dims)(x, kernel, strides, padding, dilation)
    dy = rng.standard_normal(y.shape)
    return x, kernel, dy, strides, padding, dilation


def forward(spatial_dims, loop=False):
    name = f"conv{spatial_dims}d" + ("_loop" if loop else "")
    return getattr(conv, name)


def grad_input(spatial_dims, loop=False):
    return getattr(conv, f"conv{spatial_dims}d_grad_input" + ("_loop" if loop else ""))


def grad_kernel(spatial_dims, loop=False):
    return getattr(conv, f"conv{spatial_dims}d_grad_kernel" + ("_loop" if loop else ""))


def reduction_lengths(x, kernel, dy):
    """Products summed per element of y, dx (at most) and dkernel."""
    taps = np.prod(kernel.shape[:-2])
    return taps * x.shape[-1], taps * dy.shape[-1], np.prod(dy.shape[:-1])


CASES_2D = conv_cases(2, ["valid", "same"])
CASES_1D = conv_cases(1, ["valid", "same", "causal"])


def check_loop_equals_vectorised(spatial_dims, case):
    x, kernel, dy, *options = case
    k_y, k_dx, k_dkernel = reduction_lengths(x, kernel, dy)
    f, f_loop = forward(spatial_dims), forward(spatial_dims, loop=True)
    assert_close(f_loop(x, kernel, *options), f(x, kernel, *options),
                 f(abs(x), abs(kernel), *options), k_y)
    g, g_loop = grad_input(spatial_dims), grad_input(spatial_dims, loop=True)
    assert_close(g_loop(dy, kernel, x.shape, *options), g(dy, kernel, x.shape, *options),
                 g(abs(dy), abs(kernel), x.shape, *options), k_dx)
    h, h_loop = grad_kernel(spatial_dims), grad_kernel(spatial_dims, loop=True)
    assert_close(h_loop(x, dy, kernel.shape, *options), h(x, dy, kernel.shape, *options),
                 h(abs(x), abs(dy), kernel.shape, *options), k_dkernel)


@EXAMPLES
@given(CASES_2D)
def test_conv2d_loop_equals_vectorised(case):
    check_loop_equals_vectorised(2, case)


@EXAMPLES
@given(CASES_1D)
def test_conv1d_loop_equals_vectorised(case):
    check_loop_equals_vectorised(1, case)


def check_adjoint_identities(spatial_dims, loop, case):
    """<conv(x), dy> = <x, grad_input(dy)> = <kernel, grad_kernel(x, dy)>.

    Each side sums every product x * kernel * dy once, through a chain of at
    most k + m additions (k inside an element, m over the elements), so each is
    within gamma_(k+m) * <conv(|x|, |kernel|), |dy|> of the exact value.
    """
    x, kernel, dy, *options = case
    f = forward(spatial_dims, loop)
    y = f(x, kernel, *options)
    dx = grad_input(spatial_dims, loop)(dy, kernel, x.shape, *options)
    dkernel = grad_kernel(spatial_dims, loop)(x, dy, kernel.shape, *options)
    magnitude = np.sum(f(abs(x), abs(kernel), *options) * abs(dy))
    k_y, k_dx, k_dkernel = reduction_lengths(x, kernel, dy)
    forward_bound = gamma(k_y + y.size, U64) * magnitude
    for other, chain in [(np.sum(x * dx), k_dx + x.size),
                         (np.sum(kernel * dkernel), k_dkernel + kernel.size)]:
        assert abs(np.sum(y * dy) - other) <= forward_bound + gamma(chain, U64) * magnitude


@pytest.mark.parametrize("loop", [False, True], ids=["vectorised", "loop"])
@EXAMPLES
@given(case=CASES_2D)
def test_conv2d_gradients_are_adjoints(loop, case):
    check_adjoint_identities(2, loop, case)


@pytest.mark.parametrize("loop", [False, True], ids=["vectorised", "loop"])
@EXAMPLES
@given(case=CASES_1D)
def test_conv1d_gradients_are_adjoints(loop, case):
    check_adjoint_identities(1, loop, case)


@pytest.mark.parametrize("loop", [False, True], ids=["vectorised", "loop"])
@EXAMPLES
@given(case=conv_cases(2, ["same"]))
def test_same_is_zero_padding_then_valid(loop, case):
    """Forward: identical numbers. Input gradient: the padded input's gradient, cropped."""
    x, kernel, dy, strides, _, dilation = case
    pads = [same_padding(size, k, s, d) for size, k, s, d
            in zip(x.shape[1:3], kernel.shape[:2], strides, dilation, strict=True)]
    (top, bottom), (left, right) = pads
    x_padded = np.pad(x, [(0, 0), *pads, (0, 0)])
    same = forward(2, loop)(x, kernel, strides, "same", dilation)
    valid = forward(2, loop)(x_padded, kernel, strides, "valid", dilation)
    np.testing.assert_array_equal(same, valid)
    dx_same = grad_input(2, loop)(dy, kernel, x.shape, strides, "same", dilation)
    dx_padded = grad_input(2, loop)(dy, kernel, x_padded.shape, strides, "valid", dilation)
    h, w = x.shape[1:3]
    np.testing.assert_array_equal(dx_same, dx_padded[:, top:top + h, left:left + w])


@pytest.mark.parametrize("name", conv.__all__)
def test_float32_inputs_give_float64_results(name):
    x = np.ones((1, 4, 4, 2), np.float32)
    kernel = np.ones((3, 3, 2, 1), np.float32)
    dy = np.ones((1, 2, 2, 1), np.float32)
    if name.startswith("conv1d"):
        x, kernel, dy = x[:, 0], kernel[0], dy[:, 0]
    args = {"forward": (x, kernel), "input": (dy, kernel, x.shape),
            "kernel": (x, dy, kernel.shape)}[_kind(name)]
    assert getattr(conv, name)(*args).dtype == np.float64


def _kind(name):
    return "input" if "grad_input" in name else "kernel" if "grad_kernel" in name else "forward"


def test_an_int_means_the_same_on_both_axes():
    rng = np.random.default_rng(0)
    x, kernel = rng.standard_normal((2, 9, 8, 3)), rng.standard_normal((3, 2, 3, 4))
    np.testing.assert_array_equal(conv.conv2d(x, kernel, 2, "same", 3),
                                  conv.conv2d(x, kernel, (2, 2), "same", (3, 3)))


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_conv1d_is_conv2d_on_a_height_one_image(padding):
    rng = np.random.default_rng(1)
    x, kernel = rng.standard_normal((2, 11, 3)), rng.standard_normal((4, 3, 2))
    y = conv.conv1d(x, kernel, 2, padding, 2)
    y_2d = conv.conv2d(x[:, None], kernel[None], (1, 2), padding, (1, 2))
    np.testing.assert_array_equal(y, y_2d[:, 0])


# Bad input. Each case changes one thing in a valid call and states the message.
# The valid call is x (2, 5, 6, 3) [1-D: (2, 6, 3)], kernel (3, 2, 3, 4) [(2, 3, 4)],
# dy (2, 3, 5, 4) [(2, 5, 4)], "valid", strides 1, dilation 1.
# {x} and {kernel} stand for the argument holding that shape: input_shape and
# kernel_shape in the gradient functions.
BAD_INPUT = {
    "x rank": ({"x": (6, 3)},
               ["{x} must have rank {rank} ({x_layout}) and positive sizes, got shape (6, 3)"]),
    "kernel rank": ({"kernel": (3, 4)},
                    ["{kernel} must have rank {rank} ({kernel_layout}) and positive sizes, "
                     "got shape (3, 4)"]),
    "channels": ({"kernel_in": 2}, ["{kernel} has 2 input channels", "but {x} has 3",
                                    "they must be equal"]),
    "padding name": ({"padding": "full"}, ["padding must be one of (", "got 'full'"]),
    "stride zero": ({"strides": 0}, ["strides must be a positive int", "got 0"]),
    "stride float": ({"strides": 1.5}, ["strides must be a positive int", "got 1.5"]),
    "dilation negative": ({"dilation": -2}, ["dilation must be a positive int", "got -2"]),
    "empty valid output": ({"dilation": 6},
                           ["{x} of shape", "would be empty",
                            "allowed: spatial sizes >= (kernel_size - 1) * dilation + 1"]),
    "dy shape": ({"dy": "one pixel short"}, ["dy must have the forward output's shape",
                                             "got (2, "]),
}


def bad_call(name, change):
    """The arguments of a valid call of conv.<name> with one change applied."""
    spatial = 1 if name.startswith("conv1d") else 2
    x_shape = (2, 6, 3) if spatial == 1 else (2, 5, 6, 3)
    kernel_shape = (2, 3, 4) if spatial == 1 else (3, 2, 3, 4)
    x_shape = change.get("x", x_shape)
    kernel_shape = change.get("kernel", kernel_shape)
    if "kernel_in" in change:
        kernel_shape = (*kernel_shape[:-2], change["kernel_in"], kernel_shape[-1])
    dy_shape = (2, 5, 4) if spatial == 1 else (2, 3, 5, 4)
    if "dy" in change:
        dy_shape = (dy_shape[0], dy_shape[1] - 1, *dy_shape[2:])
    x, kernel, dy = np.ones(x_shape), np.ones(kernel_shape), np.ones(dy_shape)
    args = {"forward": (x, kernel), "input": (dy, kernel, x_shape),
            "kernel": (x, dy, kernel_shape)}[_kind(name)]
    options = {key: change[key] for key in ("strides", "padding", "dilation") if key in change}
    return args, options


@pytest.mark.parametrize("name, case", [
    (name, case) for name in conv.__all__ for case in BAD_INPUT
    if not (case == "dy shape" and _kind(name) == "forward")  # it takes no dy
])
def test_bad_input_raises_a_message_naming_the_argument(name, case):
    change, fragments = BAD_INPUT[case]
    args, options = bad_call(name, change)
    spatial = 1 if name.startswith("conv1d") else 2
    names = {"x": "input_shape" if _kind(name) == "input" else "x",
             "kernel": "kernel_shape" if _kind(name) == "kernel" else "kernel",
             "rank": spatial + 2,
             "x_layout": "NWC" if spatial == 1 else "NHWC",
             "kernel_layout": "WIO" if spatial == 1 else "HWIO"}
    with pytest.raises(ValueError) as error:
        getattr(conv, name)(*args, **options)
    for fragment in fragments:
        assert fragment.format(**names) in str(error.value)


@pytest.mark.parametrize("name", ["conv2d", "conv2d_loop", "conv2d_grad_input",
                                  "conv2d_grad_kernel_loop"])
def test_2d_refuses_causal_like_keras(name):
    args, _ = bad_call(name, {})
    with pytest.raises(ValueError, match=r"padding must be one of \('valid', 'same'\), "
                                         r"got 'causal'"):
        getattr(conv, name)(*args, padding="causal")


def test_a_pair_of_strides_is_checked_as_a_whole():
    args, _ = bad_call("conv2d", {})
    with pytest.raises(ValueError, match=r"strides must be a positive int or a pair "
                                         r"of them, got \(1, 0\)"):
        conv.conv2d(*args, strides=(1, 0))


def test_each_section_runs_on_its_own_after_the_page_set_up():
    """A page shows one section and runs it in its own namespace: the section
    must define its function using only the documented hidden set-up."""
    path = Path(conv.__file__)
    sections = parse_sections(path.read_text(), "snippets/conv.py")
    # the two 2-D gradient loops are shown as their unchecked inner loops
    shown_loops = {"scatter_then_crop": "conv2d_grad_input_loop",
                   "sum_over_padded_input": "conv2d_grad_kernel_loop"}
    assert set(sections) == set(conv.__all__) - set(shown_loops.values()) | set(shown_loops)
    set_up = ("import numpy as np\nfrom snippets.padding import *\n"
              f"from snippets.conv import {', '.join(conv.PAGE_HELPERS)}")
    rng = np.random.default_rng(2)
    for name, section in sections.items():
        namespace = {}
        exec(set_up, namespace)
        exec(compile(section.code, f"{path} [{name}]", "exec"), namespace)
        function = namespace[name]
        assert function is not getattr(conv, name)
        if name in ("scatter_then_crop", "sum_over_padded_input"):
            # The shown loops take padding amounts, not a padding name: stride 2, lopsided "same".
            x, kernel = rng.standard_normal((2, 7, 6, 3)), rng.standard_normal((2, 3, 3, 2))
            dy = rng.standard_normal(conv.conv2d(x, kernel, 2, "same").shape)
            pads = [same_padding(7, 2, 2), same_padding(6, 3, 2)]
            if name == "scatter_then_crop":
                shown = function(dy, kernel, x.shape, (2, 2), (1, 1), pads)
                wrapped = conv.conv2d_grad_input_loop(dy, kernel, x.shape, 2, "same")
            else:
                shown = function(x, dy, kernel.shape, (2, 2), (1, 1), pads)
                wrapped = conv.conv2d_grad_kernel_loop(x, dy, kernel.shape, 2, "same")
            np.testing.assert_array_equal(shown, wrapped)
            continue
        x, kernel = rng.standard_normal((2, 7, 6, 3)), rng.standard_normal((2, 3, 3, 2))
        if name.startswith("conv1d"):
            x, kernel = x[:, 0], kernel[0]
        dy = rng.standard_normal(forward(kernel.ndim - 2)(x, kernel, 2, "same", 1).shape)
        args = {"forward": (x, kernel), "input": (dy, kernel, x.shape),
                "kernel": (x, dy, kernel.shape)}[_kind(name)]
        np.testing.assert_array_equal(function(*args, 2, "same", 1),
                                      getattr(conv, name)(*args, 2, "same", 1))
