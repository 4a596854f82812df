"""Porting a Keras Conv2D(padding="same") to PyTorch: real Keras on TensorFlow and real
PyTorch side by side in one process, outputs and both gradients compared.

Runs where Keras runs on TensorFlow and PyTorch is installed (the page runs it in the
tf-eigen and tf-onednn workers, which import torch too).
"""

# --8<-- [start:setup]
import warnings

import keras
import numpy as np
import tensorflow as tf
import torch

from docexec.checks import grid, over
from snippets.padding import same_padding

rng = np.random.default_rng(23)
CHANNELS_IN, CHANNELS_OUT = 2, 3
# --8<-- [end:setup]


# --8<-- [start:weights]
def keras_same(x, kernel, stride, dy):
    """Keras's Conv2D(padding="same") on TensorFlow: y, dx and dkernel for the loss sum(y * dy)."""
    layer = keras.layers.Conv2D(kernel.shape[3], kernel.shape[:2], strides=stride,
                                padding="same", use_bias=False)
    layer.build(x.shape)
    layer.kernel.assign(kernel)
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
        loss = tf.reduce_sum(y * dy)
    dx, dkernel = tape.gradient(loss, [x, layer.kernel])
    return y.numpy(), dx.numpy(), dkernel.numpy()


PORTS = {  # three ways to write Keras's convolution in PyTorch (x is NCHW)
    "padding=1": lambda x, w, stride, pads: torch.nn.functional.conv2d(
        x, w, stride=stride, padding=1),
    'padding="same"': lambda x, w, stride, pads: torch.nn.functional.conv2d(
        x, w, stride=stride, padding="same"),
    "F.pad, padding=0": lambda x, w, stride, pads: torch.nn.functional.conv2d(
        torch.nn.functional.pad(x, pads), w, stride=stride),
}


def torch_port(port, x, kernel, stride, dy):
    """The port in PyTorch, given Keras's NHWC x and HWIO kernel: y, dx, dkernel in Keras's layouts."""
    before, after = same_padding(x.shape[1], kernel.shape[0], stride)
    x = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)  # NHWC -> NCHW
    w = torch.tensor(kernel.transpose(3, 2, 0, 1), requires_grad=True)  # HWIO -> OIHW
    y = PORTS[port](x, w, stride, (before, after, before, after))  # (left, right, top, bottom)
    y = y.permute(0, 2, 3, 1)  # back to NHWC
    if y.shape != dy.shape:
        return y.detach().numpy(), None, None
    (y * torch.tensor(dy)).sum().backward()
    return (y.detach().numpy(), x.grad.numpy().transpose(0, 2, 3, 1),
            w.grad.numpy().transpose(2, 3, 1, 0))
# --8<-- [end:weights]


# --8<-- [start:ports]
def agree(got, expected):
    """Equal to float32 round-off, relative to the largest entry."""
    return got is not None and got.shape == expected.shape and bool(
        np.abs(got - expected).max() <= 1e-5 * np.abs(expected).max())


def compare(port, kernel, stride, size):
    """How the port compares with Keras: 'equal' (y, dx and dkernel), 'differs',
    'shape' (another output shape) or 'refused' (PyTorch raised)."""
    x = rng.normal(size=(1, size, size, CHANNELS_IN)).astype("float32")
    weights = rng.normal(size=(kernel, kernel, CHANNELS_IN, CHANNELS_OUT)).astype("float32")
    out = -(-size // stride)
    dy = rng.normal(size=(1, out, out, CHANNELS_OUT)).astype("float32")
    expected = keras_same(x, weights, stride, dy)
    try:
        with warnings.catch_warnings():  # PyTorch warns that an even kernel's "same" may copy x
            warnings.simplefilter("ignore", UserWarning)
            got = torch_port(port, x, weights, stride, dy)
    except RuntimeError:
        return "refused"
    if got[0].shape != expected[0].shape:
        return "shape"
    return "equal" if all(map(agree, got, expected)) else "differs"


print(f"PyTorch {torch.__version__}, Keras {keras.__version__} on TensorFlow {tf.__version__}")
print(f"{'kernel':6} {'stride':6} {'size':4} {'TF pads':8}", *(f"{p:16}" for p in PORTS))
for kernel in (2, 3, 4, 5):
    for stride in (1, 2):
        for size in (7, 8):
            pads = str(same_padding(size, kernel, stride))
            print(f"{kernel:<6} {stride:<6} {size:<4} {pads:8}",
                  *(f"{compare(p, kernel, stride, size):16}" for p in PORTS))
# --8<-- [end:ports]


# --8<-- [start:padding_1_claim]
def padding_1_matches_where_tf_pads_one_each_side(kernel, stride, size):
    one_each_side = same_padding(size, kernel, stride) == (1, 1)
    equal = compare("padding=1", kernel, stride, size) == "equal"
    three_by_three = kernel != 3 or one_each_side == (stride == 1 or size % 2 == 1)
    return equal == one_each_side and three_by_three


over(grid(kernel=(2, 3, 4, 5), stride=(1, 2), size=range(5, 10)),
     padding_1_matches_where_tf_pads_one_each_side)
# --8<-- [end:padding_1_claim]


# --8<-- [start:padding_same_claim]
def padding_same_matches_or_refuses(kernel, stride, size):
    return compare('padding="same"', kernel, stride, size) == (
        "equal" if stride == 1 else "refused")


over(grid(kernel=(2, 3, 4, 5), stride=(1, 2), size=range(5, 10)), padding_same_matches_or_refuses)
# --8<-- [end:padding_same_claim]


# --8<-- [start:explicit_claim]
over(grid(kernel=(2, 3, 4, 5), stride=(1, 2), size=range(5, 10)),
     lambda kernel, stride, size: compare("F.pad, padding=0", kernel, stride, size) == "equal")
# --8<-- [end:explicit_claim]
