"""Questions readers ask: the numbers the short answers quote, computed when the page is built, the
checks the answers link to where no other page has one, and the check that the page answers every
question of data/questions.yml (the answers link the checked claims behind them)."""

# --8<-- [start:numbers]
import re
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
import yaml

from docexec.checks import grid, over
from snippets import keras_ref
from snippets.padding import causal_padding, output_size, padding_amounts, same_padding
from tools.word_count import prose_words

# "same" at stride 2: the asker's 64x64 input and 4x4 kernel.
strides_out, strides_pads = output_size(64, 4, 2, "same"), same_padding(64, 4, 2)
# Which side gets the odd zero: a 4x1 kernel on 100 rows.
side_before, side_after = same_padding(100, 4)
# "same" keeps the size only at stride 1: 7 positions at stride 2.
same_size_out = output_size(7, 3, 2, "same")
# The padding depends on the input's size: 1 and 2 positions, kernel 3, stride 2.
one_pads, two_pads = same_padding(1, 3, 2), same_padding(2, 3, 2)
# A dilated 3x3 kernel (dilation 2) at stride 1 on 32 positions.
dilated_pads = same_padding(32, 3, 1, 2)
# The forum's 3x4 image and 3x3 kernel of ones, zero-padded by 1: Keras's corner output and
# the sum of the real pixels its window covers.
forum_image = np.array([[1, 2, 3, 4], [4, 5, 6, 7], [7, 8, 9, 10]], float)[None, :, :, None]
forum_corner = int(round(keras_ref.conv2d(forum_image, np.ones((3, 3, 1, 1)), padding="same")[0, 0, 0, 0]))
forum_corner_pixels = int(forum_image[0, :2, :2, 0].sum())
# Porting from PyTorch: a 3x3 kernel at stride 2 on a 6x6 input.
port_before, port_after = same_padding(6, 3, 2)
# Stride 1 with a 3x3 kernel pads one zero each side, whatever the size.
(stride_1_pads,) = {same_padding(n, 3) for n in range(3, 12)}
# The onnx2keras question: a 2x2 kernel at stride 2 on 5x5.
onnx_pads = same_padding(5, 2, 2)
# The backward convolution of the Cross Validated question: 4x4 input padded by 2, 2x2 kernel.
cv_out = output_size(4 + 2 * 2, 2)
cv_full = cv_out + 2 - 1
# Stride 2, "valid", 28 positions, kernel 3: outputs, and the positions Keras gives no gradient.
quiz_out = output_size(28, 3, 2)
quiz_dx = keras_ref.conv1d_grad_input(np.ones((1, quiz_out, 1)), np.ones((3, 1, 1)), (1, 28, 1), strides=2)
quiz_unread = np.flatnonzero(quiz_dx[0, :, 0] == 0).tolist()
# How many output positions read a pixel, 3x3 kernel of ones, dy of ones, 8x8, stride 1.
reach_same = keras_ref.conv2d_grad_input(np.ones((1, 8, 8, 1)), np.ones((3, 3, 1, 1)), (1, 8, 8, 1), padding="same")
reach_valid = keras_ref.conv2d_grad_input(np.ones((1, 6, 6, 1)), np.ones((3, 3, 1, 1)), (1, 8, 8, 1))
reach = {name: (int(counts[0, 0, 0, 0]), int(counts[0, 0, 4, 0]), int(counts[0, 4, 4, 0]))
         for name, counts in (("same", reach_same), ("valid", reach_valid))}
# Causal padding: zeros before the input for a kernel of 3 at dilation 2.
causal_zeros = causal_padding(3, 2)[0]

def transposed_size(size, output_padding):
    """The output height of Keras's Conv2DTranspose(1, 3, strides=2, padding='same') called on a `size` input."""
    layer = keras.layers.Conv2DTranspose(1, 3, strides=2, padding="same", output_padding=output_padding)
    return layer(np.zeros((1, size, size, 1), "float32")).shape[1]

transposed_0, transposed_none = transposed_size(13, 0), transposed_size(13, None)
# Two input sizes that a stride-2 "same" Conv2D, called on them, maps to one output size.
conv2d_sizes = {n: keras.layers.Conv2D(1, 3, strides=2, padding="same")(np.zeros((1, n, n, 1), "float32")).shape[1]
                for n in (7, 8)}
# The max-pooling question's 3x3 input, 2x2 pools at stride 2, "same": Keras's last output.
pool_input = np.array([[1, -1, 0], [-1, 2, 1], [0, 2, -2]], "float32")[None, :, :, None]
pool_same = keras.layers.MaxPooling2D(2, 2, padding="same")(pool_input).numpy()[0, :, :, 0]
pool_shapes = {padding: tuple(keras.layers.MaxPooling2D(2, 2, padding=padding)(np.zeros((1, 2, 3, 1))).shape[1:3])
               for padding in ("same", "valid")}
# What this TensorFlow reports for TensorFloat-32 (it matters only on NVIDIA Ampere or newer GPUs).
tf32_enabled = tf.config.experimental.tensor_float_32_execution_enabled()
tf32_bits = 10  # read from TensorFlow's documentation of enable_tensor_float_32_execution, not run
tf32_relative = f"{2.0 ** -(tf32_bits + 1):.1e}"  # the unit round-off of a 10-bit mantissa, rounding to nearest
tf32_truncated = f"{2.0 ** -tf32_bits:.1e}"  # a step of that mantissa: the most truncation can lose
# What Keras's jit_compile="auto" resolves to for model.fit on this machine (CPU only), on TensorFlow only:
# this worker's backend (docs/backends.md runs it on each backend).
fit_model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Conv2D(1, 3, padding="same")])
fit_model.compile(optimizer="sgd", loss="mse")
fit_jit_here = fit_model.jit_compile
# --8<-- [end:numbers]

# --8<-- [start:sources]
READ_MARKER = "read, not run"  # an answer about what cannot run here says it was read
MAX_WORDS = 120
SOURCES = Path("data/questions.yml")
PAGE = Path("docs/questions.md")
HEADING = re.compile(r"^(#{2,3}) (.+?)\s*$")
LINK_TARGET = re.compile(r"\]\(([^)\s]+)\)")

def load_sources(path=SOURCES):
    """The collected questions and the topics they are grouped under."""
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))

def answers(markdown):
    """{H3 heading text: (its H2 heading text, the Markdown under it up to the next heading)}."""
    found, topic, current, lines = {}, None, None, []
    for line in markdown.splitlines() + ["## end"]:
        heading = HEADING.match(line)
        if heading:
            if current is not None:
                found[current] = (topic, "\n".join(lines))
            current, lines = None, []
            if heading.group(1) == "##":
                topic = heading.group(2)
            else:
                current = heading.group(2)
        elif current is not None:
            lines.append(line)
    return found

def without_source(answer):
    """(the answer, its "Asked on" line): the source line is not counted in the answer's words."""
    answer, _, asked = answer.partition("\nAsked on ")
    return answer, asked

def claim_links(answer):
    """The link targets in an answer that point at a claim's anchor."""
    return [target for target in LINK_TARGET.findall(answer) if "#claim-" in target]

def problems(markdown, sources):
    """What is wrong between the page and the collected questions (an empty list: nothing)."""
    found, wrong = answers(markdown), []
    asked = {entry["question"] for entry in sources["questions"]}
    wrong += [f"the page answers {heading!r}, which data/questions.yml does not list"
              for heading in found if heading not in asked]
    for entry in sources["questions"]:
        if entry["question"] not in found:
            wrong.append(f"{entry['id']}: no H3 heading {entry['question']!r}")
            continue
        topic, answer = found[entry["question"]]
        answer, asked = without_source(answer)
        if topic != sources["topics"][entry["topic"]]:
            wrong.append(f"{entry['id']}: under {topic!r}, not {sources['topics'][entry['topic']]!r}")
        if prose_words(answer) > MAX_WORDS:
            wrong.append(f"{entry['id']}: {prose_words(answer)} words, more than {MAX_WORDS}")
        if not claim_links(answer) and READ_MARKER not in answer:
            wrong.append(f"{entry['id']}: links no claim and does not say {READ_MARKER!r}")
        if f"[{entry['title']}]({entry['url']})" not in asked:
            wrong.append(f"{entry['id']}: does not link its source {entry['url']} by its title")
    return wrong

found_problems = problems(PAGE.read_text(encoding="utf-8"), load_sources())
if found_problems:
    raise ValueError("docs/questions.md and data/questions.yml disagree:\n" + "\n".join(found_problems))
# --8<-- [end:sources]

# --8<-- [start:same_size_claim]
def same_gives_ceil(size, kernel_size, stride, dilation):
    """A "same" Conv2D called on a size x size input returns ceil(size / stride) positions per axis."""
    layer = keras.layers.Conv2D(1, kernel_size, strides=stride, padding="same", dilation_rate=dilation)
    return bool(layer(np.zeros((1, size, size, 1), "float32")).shape[1] == -(-size // stride))

# Keras refuses a stride above 1 together with a dilation above 1.
over([c for c in grid(size=range(1, 10), kernel_size=range(1, 5), stride=(1, 2, 3), dilation=(1, 2))
      if c["stride"] == 1 or c["dilation"] == 1], same_gives_ceil)
# --8<-- [end:same_size_claim]

# --8<-- [start:torch_setup]
# The build runs this section and the PyTorch claims after it in a worker of their own, on the PyTorch backend.
import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from docexec.checks import grid, over  # noqa: E402
# --8<-- [end:torch_setup]

# --8<-- [start:torch_padding_claim]
# Runs in the tf-eigen and tf-onednn workers: Keras on TensorFlow, the "same" a port from TensorFlow
# must match, and real PyTorch in one process.
import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402, F811

from docexec.checks import grid, over  # noqa: E402

assert keras.backend.backend() == "tensorflow", "Keras's 'same' here must be TensorFlow's"


def pytorch_conv2d(x, kernel, stride, padding):
    """torch.nn.functional.conv2d on NHWC input and an HWIO kernel, returned NHWC."""
    y = torch.nn.functional.conv2d(torch.from_numpy(x.transpose(0, 3, 1, 2)),
                                   torch.from_numpy(kernel.transpose(3, 2, 0, 1)), stride=stride, padding=padding)
    return y.numpy().transpose(0, 2, 3, 1)


def keras_same(x, kernel, stride):
    """Keras's "same" convolution on TensorFlow (tf.nn.convolution)."""
    return keras.ops.convert_to_numpy(keras.ops.conv(x, kernel, strides=stride, padding="same"))


def symmetric_padding_is_same_exactly_when_parities_match(size, kernel_size):
    """PyTorch's padding=(k - 1) // 2 at stride 2 against Keras's "same": equal iff the input size
    and the kernel size are both odd or both even, or the kernel is 1x1 (no padding in either)."""
    seeded = np.random.default_rng([size, kernel_size])
    x = seeded.normal(size=(1, size, size, 1)).astype("float32")
    kernel = seeded.normal(size=(kernel_size, kernel_size, 1, 1)).astype("float32")
    ours, theirs = keras_same(x, kernel, 2), pytorch_conv2d(x, kernel, 2, (kernel_size - 1) // 2)
    equal = ours.shape == theirs.shape and np.allclose(ours, theirs, atol=1e-5)
    return bool(equal == (size % 2 == kernel_size % 2 or kernel_size == 1))

over(grid(size=range(4, 12), kernel_size=range(1, 7)), symmetric_padding_is_same_exactly_when_parities_match)
# --8<-- [end:torch_padding_claim]

# --8<-- [start:torch_refuses_claim]
def refusal(kind, call):
    """The message of the `kind` exception that call() raises, or None if it raises none."""
    try:
        call()
    except kind as error:
        return str(error)
    return None

STRIDED_SAME = "padding='same' is not supported for strided convolutions"
(refusal(ValueError, lambda: torch.nn.Conv2d(1, 1, 3, stride=2, padding="same")) == STRIDED_SAME
 and refusal(RuntimeError, lambda: torch.nn.functional.conv2d(
     torch.zeros(1, 1, 5, 5), torch.zeros(1, 1, 3, 3), stride=2, padding="same")) == STRIDED_SAME)
# --8<-- [end:torch_refuses_claim]

# --8<-- [start:pad_then_valid_claim]
# Runs in the tf-eigen and tf-onednn workers: TensorFlow's own ops, no Keras layer.
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from docexec.checks import grid, over  # noqa: E402


def same_amounts(n, k, s, d):
    """TensorFlow's "same" zeros (before, after) on an axis of n, kernel k, stride s, dilation d."""
    out = -(-n // s)  # ceil(n / s) positions
    total = max((out - 1) * s + d * (k - 1) + 1 - n, 0)
    return total // 2, total - total // 2


def pad_then_valid_is_same(size, kernel_size, stride, dilation):
    """tf.pad by same_amounts, then a "VALID" convolution, against "SAME", on a size x (size - 1) input: the outputs,
    both gradients, and the gradient at the padded input, cropped to the input, against SAME's input gradient."""
    draw = np.random.default_rng([size, kernel_size, stride, dilation])
    x = tf.constant(draw.normal(size=(1, size, size - 1, 2)).astype("float32"))
    kernel = tf.constant(draw.normal(size=(kernel_size, kernel_size, 2, 3)).astype("float32"))
    (top, bottom), (left, right) = (same_amounts(n, kernel_size, stride, dilation) for n in (size, size - 1))
    conv = tf.nn.conv2d if dilation == 1 else tf.nn.convolution  # Eigen refuses tf.nn.conv2d's dilated gradients
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([x, kernel])
        same = conv(x, kernel, stride, "SAME", dilations=dilation)
        padded = tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]])
        valid = conv(padded, kernel, stride, "VALID", dilations=dilation)
    if valid.shape != same.shape:
        return False
    dy = tf.constant(draw.normal(size=same.shape).astype("float32"))
    dx_same, dkernel_same = tape.gradient(same, [x, kernel], output_gradients=dy)
    dx_valid, dkernel_valid, dpadded = tape.gradient(valid, [x, kernel, padded], output_gradients=dy)
    cropped = dpadded[:, top:top + size, left:left + size - 1]
    pairs = ((same, valid), (dx_same, dx_valid), (dkernel_same, dkernel_valid), (dx_same, cropped))
    return bool(all(np.allclose(ours, theirs, atol=1e-5) for ours, theirs in pairs))


# Keras and TensorFlow refuse a stride above 1 together with a dilation above 1.
over([c for c in grid(size=(5, 6, 7), kernel_size=range(1, 6), stride=(1, 2, 3), dilation=(1, 2, 3))
      if c["stride"] == 1 or c["dilation"] == 1], pad_then_valid_is_same)
# --8<-- [end:pad_then_valid_claim]

# --8<-- [start:unread_2d_claim]
def read_positions(size, kernel_size, stride, padding):
    """The positions along one axis that some tap of some window reads."""
    before, _ = padding_amounts(size, kernel_size, stride, padding)
    windows = output_size(size, kernel_size, stride, padding)
    return {i * stride + tap - before for i in range(windows) for tap in range(kernel_size)} & set(range(size))

def no_gradient_exactly_off_read_rows_and_columns(kernel_size, stride, padding, height=7, width=8):
    """Keras's input gradient of a 2-D layer, random x, kernel and dy: zero exactly at the pixels
    whose row or whose column no window reads."""
    seeded = np.random.default_rng([kernel_size, stride, len(padding)])
    outputs = output_size(height, kernel_size, stride, padding), output_size(width, kernel_size, stride, padding)
    x = seeded.normal(size=(1, height, width, 1))
    kernel = seeded.normal(size=(kernel_size, kernel_size, 1, 1))
    dy = seeded.normal(size=(1, *outputs, 1))
    dx = keras_ref.conv_with_gradients(x, kernel, dy, stride, padding)[1]
    rows = np.isin(np.arange(height), sorted(read_positions(height, kernel_size, stride, padding)))
    columns = np.isin(np.arange(width), sorted(read_positions(width, kernel_size, stride, padding)))
    return bool(np.array_equal(dx[0, :, :, 0] != 0, rows[:, None] & columns[None, :]))

over(grid(kernel_size=range(1, 5), stride=(1, 2, 3), padding=("same", "valid")),
     no_gradient_exactly_off_read_rows_and_columns)
# --8<-- [end:unread_2d_claim]

# --8<-- [start:circular_claim]
def circular_gradient_counts_copies(size, pad):
    """PyTorch's circular padding under an all-ones upstream gradient: each pixel gets 1 for
    itself plus 1 for each copy the padding makes of it (the left pad copies the last `pad`
    pixels, the right pad the first `pad`)."""
    x = torch.arange(float(size)).reshape(1, 1, size).requires_grad_()
    torch.nn.functional.pad(x, (pad, pad), mode="circular").sum().backward()
    copies = [*range(size - pad, size), *range(pad)]
    return bool(np.array_equal(x.grad.numpy().ravel(), 1 + np.bincount(copies, minlength=size)))

over([c for c in grid(size=range(3, 8), pad=range(1, 4)) if c["pad"] <= c["size"]],
     circular_gradient_counts_copies)
# --8<-- [end:circular_claim]

# --8<-- [start:pre_padding]
def random_conv1d(kernel_size, dilation, seeded, filters=1, channels=1):
    """A stride-1 "same" Conv1D with a random kernel and a random (non-zero) bias."""
    layer = keras.layers.Conv1D(filters, kernel_size, padding="same", dilation_rate=dilation)
    layer.build((None, None, channels))
    layer.kernel.assign(seeded.normal(size=(kernel_size, channels, filters)))
    layer.bias.assign(seeded.normal(size=(filters,)))
    return layer

def run(layers, x):
    for layer in layers:
        x = layer(x)
    return np.asarray(x)

sequences_rng = np.random.default_rng(7)
short = sequences_rng.normal(size=(3, 1)).astype("float32")
pre_padded = keras.utils.pad_sequences([sequences_rng.normal(size=(6, 1)), short], padding="pre", dtype="float32")

def pre_padded_real_steps_as_alone(layers):
    """The short sequence's real steps (the last 3 of the pre-padded row) against it run alone."""
    return np.allclose(run(layers, pre_padded)[1, -len(short):], run(layers, short[None])[0], atol=1e-5)
# --8<-- [end:pre_padding]

# --8<-- [start:pre_padding_one_layer_claim]
def one_layer_on_pre_padded(kernel_size, dilation):
    return bool(pre_padded_real_steps_as_alone(
        [random_conv1d(kernel_size, dilation, np.random.default_rng([kernel_size, dilation]))]))

over(grid(kernel_size=range(1, 6), dilation=(1, 2)), one_layer_on_pre_padded)
# --8<-- [end:pre_padding_one_layer_claim]

# --8<-- [start:pre_padding_two_layers_claim]
two_layers_rng = np.random.default_rng(11)
two_layers = [random_conv1d(3, 1, two_layers_rng, filters=4), random_conv1d(3, 1, two_layers_rng, channels=4)]
not pre_padded_real_steps_as_alone(two_layers)
# --8<-- [end:pre_padding_two_layers_claim]

# --8<-- [start:transposed_even_claim]
# Runs on TensorFlow (Eigen and oneDNN kernels), JAX and PyTorch: the layers called, not their shape formulas.
import keras  # noqa: E402
import numpy as np  # noqa: E402

from docexec.checks import grid, over  # noqa: E402

TENSORFLOW_REFUSALS = ("InvalidArgumentError", "AbortedError")  # Eigen's and oneDNN's


def output_padding_0_round_trip(kernel_size, stride, size):
    """Conv2DTranspose(padding="same", output_padding=0) called on size x size, then Conv2D(padding="same") of the
    same stride called on its output: back to size for an odd kernel; for an even one TensorFlow raises, and
    JAX and PyTorch return an output that the Conv2D maps to size - 1."""
    odd, on_tensorflow = kernel_size % 2 == 1, keras.backend.backend() == "tensorflow"
    transpose = keras.layers.Conv2DTranspose(1, kernel_size, strides=stride, padding="same", output_padding=0)
    try:
        y = transpose(np.ones((1, size, size, 1), "float32"))
    except Exception as error:
        return bool(not odd and on_tensorflow and type(error).__name__ in TENSORFLOW_REFUSALS)
    back = keras.layers.Conv2D(1, kernel_size, strides=stride, padding="same")(y).shape[1]
    return bool((odd and back == size) or (not odd and not on_tensorflow and back == size - 1))


over(grid(kernel_size=range(1, 6), stride=(1, 2, 3), size=(6, 7)), output_padding_0_round_trip)
# --8<-- [end:transposed_even_claim]

# --8<-- [start:transpose_port_claim]
# Runs in the tf-eigen and tf-onednn workers: Keras on TensorFlow and real PyTorch in one process.
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import torch  # noqa: E402, F811

from docexec.checks import grid, over  # noqa: E402


def keras_transpose_same(x, kernel, stride):
    """Keras's Conv2DTranspose(padding="same") on TensorFlow; kernel is (height, width, out, in)."""
    layer = keras.layers.Conv2DTranspose(kernel.shape[2], kernel.shape[:2], strides=stride, padding="same",
                                         use_bias=False)
    layer.build(x.shape)
    layer.kernel.assign(kernel)
    return np.asarray(layer(tf.constant(x)))


def torch_transpose_sliced(x, kernel, stride):
    """conv_transpose2d with padding=0, output_padding=max(s - k, 0), sliced from max(k - s, 0) // 2."""
    k, size = kernel.shape[0], x.shape[1]
    full = torch.nn.functional.conv_transpose2d(
        torch.from_numpy(x.transpose(0, 3, 1, 2)),  # NHWC -> NCHW
        torch.from_numpy(kernel.transpose(3, 2, 0, 1)),  # (height, width, out, in) -> (in, out, height, width)
        stride=stride, output_padding=max(stride - k, 0))
    start = max(k - stride, 0) // 2
    return full[:, :, start:start + size * stride, start:start + size * stride].numpy().transpose(0, 2, 3, 1)


def sliced_transpose_is_keras(kernel, stride, size):
    draw = np.random.default_rng([kernel, stride, size])
    x = draw.normal(size=(1, size, size, 2)).astype("float32")
    weights = draw.normal(size=(kernel, kernel, 3, 2)).astype("float32")
    expected, got = keras_transpose_same(x, weights, stride), torch_transpose_sliced(x, weights, stride)
    return bool(got.shape == expected.shape
                and np.abs(got - expected).max() <= 1e-5 * np.abs(expected).max())


over(grid(kernel=(1, 2, 3, 4, 5), stride=(1, 2, 3), size=(4, 5, 6, 7)), sliced_transpose_is_keras)
# --8<-- [end:transpose_port_claim]

# --8<-- [start:average_pool_2d_claim]
# Runs on TensorFlow (Eigen and oneDNN kernels), JAX and PyTorch.
import keras  # noqa: E402
import numpy as np  # noqa: E402

from docexec.checks import grid, over  # noqa: E402
from snippets.padding import same_padding  # noqa: E402


def average_pool_2d(x, pool, stride, replicate):
    """Each "same" window of the 2-D x averaged over the input edge-replicated on both axes (replicate=True),
    or over its real cells only (the padded cells are NaN, and nanmean leaves them out)."""
    pads = [same_padding(n, p, s) for n, p, s in zip(x.shape, pool, stride)]
    padded = np.pad(x, pads, mode="edge") if replicate else np.pad(x, pads, constant_values=np.nan)
    rows, columns = (range(0, n + sum(pad) - p + 1, s) for n, pad, p, s in zip(x.shape, pads, pool, stride))
    return np.array([[np.nanmean(padded[i:i + pool[0], j:j + pool[1]]) for j in columns] for i in rows])


def average_pooling_2d_as_this_backend_does(pool_height, pool_width, stride_height, stride_width):
    """Keras's AveragePooling2D(padding="same") on a 5x6 input: on PyTorch, where "same" pads either axis
    unevenly, the average of the input edge-replicated on both axes; otherwise the real cells' average."""
    pool, stride = (pool_height, pool_width), (stride_height, stride_width)
    x = np.random.default_rng([*pool, *stride]).normal(size=(5, 6)).astype("float32")
    uneven = any(before != after for before, after in map(same_padding, x.shape, pool, stride))
    expected = average_pool_2d(x.astype("float64"), pool, stride, keras.backend.backend() == "torch" and uneven)
    layer = keras.layers.AveragePooling2D(pool, strides=stride, padding="same")
    got = keras.ops.convert_to_numpy(layer(x[None, :, :, None]))[0, :, :, 0]
    return bool(got.shape == expected.shape and np.allclose(got, expected, atol=1e-5))


over(grid(pool_height=range(1, 5), pool_width=range(1, 5), stride_height=(1, 2, 3), stride_width=(1, 2, 3)),
     average_pooling_2d_as_this_backend_does)
# --8<-- [end:average_pool_2d_claim]
