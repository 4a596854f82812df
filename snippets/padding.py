"""How many zeros TensorFlow adds around an input, and how long the output is.

All sizes are along one spatial axis; a 2-D convolution applies the same rules to
height and width independently.
"""

__all__ = ["same_padding", "causal_padding", "output_size", "padding_amounts", "PADDINGS"]

# --8<-- [start:checks]
import numbers

PADDINGS = ("valid", "same", "causal")


def _check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def _check_window(size, kernel_size, stride, dilation):
    for name, value in [("size", size), ("kernel_size", kernel_size),
                        ("stride", stride), ("dilation", dilation)]:
        _check_positive_int(name, value)


def _check_padding_name(padding, allowed=PADDINGS):
    if padding not in allowed:
        raise ValueError(f"padding must be one of {allowed}, got {padding!r}")
# --8<-- [end:checks]


# --8<-- [start:same_padding]
def same_padding(size, kernel_size, stride=1, dilation=1):
    """TensorFlow's "same" padding along one axis, as (before, after).

    The output has ceil(size / stride) positions. The zeros needed to fit the
    last window are split in two; when the total is odd, the extra zero goes
    after the input.
    """
    _check_window(size, kernel_size, stride, dilation)
    span = (kernel_size - 1) * dilation + 1
    out_size = -(-size // stride)
    total = max((out_size - 1) * stride + span - size, 0)
    before = total // 2
    return before, total - before
# --8<-- [end:same_padding]


# --8<-- [start:causal_padding]
def causal_padding(kernel_size, dilation=1):
    """Keras's "causal" padding (1-D only), as (before, after).

    All zeros go before the input, so output t sees inputs up to t and no later.
    """
    _check_window(1, kernel_size, 1, dilation)
    span = (kernel_size - 1) * dilation + 1
    return span - 1, 0
# --8<-- [end:causal_padding]


# --8<-- [start:padding_amounts]
def padding_amounts(size, kernel_size, stride=1, padding="valid", dilation=1):
    """Zeros before and after the input for a padding name."""
    _check_padding_name(padding)
    if padding == "same":
        return same_padding(size, kernel_size, stride, dilation)
    if padding == "causal":
        _check_window(size, kernel_size, stride, dilation)
        return causal_padding(kernel_size, dilation)
    _check_window(size, kernel_size, stride, dilation)
    return 0, 0
# --8<-- [end:padding_amounts]


# --8<-- [start:output_size]
def output_size(size, kernel_size, stride=1, padding="valid", dilation=1):
    """Number of output positions along one axis (0 if no window fits).

    Every padding mode is "valid" applied to the zero-padded input: count the
    windows of span (kernel_size - 1) * dilation + 1 that fit, stepping by stride.
    """
    before, after = padding_amounts(size, kernel_size, stride, padding, dilation)
    span = (kernel_size - 1) * dilation + 1
    padded_size = before + size + after
    if padded_size < span:
        return 0
    return (padded_size - span) // stride + 1
# --8<-- [end:output_size]
