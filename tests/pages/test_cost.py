"""snippets/cost.py: what padding costs in memory, from TensorFlow's traced graph, the
kernels it ran (on this process's kernel path) and XLA's optimised HLO.

The page's own outputs and claims are the check build's (`stored_outputs`): these tests load only the
module's definitions (`helpers.definitions`) and call its functions on cases of their own."""

import pytest

from helpers import definitions, stored_outputs


@pytest.fixture(scope="module")
def page():
    return definitions("cost")


def test_padded_shape_and_bytes(page):
    assert page.padded_shape(32, 3, 1) == (1, 34, 34, page.CHANNELS)
    assert page.padded_shape(32, 3, 2) == (1, 33, 33, page.CHANNELS)  # (0, 1): lopsided
    assert page.nbytes((1, 34, 34, 16)) == 73984


def test_the_grid_leaves_out_only_what_same_does_not_pad(page):
    assert len(page.GRID) == 15
    assert {"kernel": 2, "stride": 2, "size": 32} not in page.GRID  # pads (0, 0)


def test_the_two_models_share_their_kernel(page):
    fused, explicit = page.models(9, 4, 2)
    assert [w.shape for w in fused.get_weights()] == [(4, 4, page.CHANNELS, page.CHANNELS)]
    assert (fused.get_weights()[0] == explicit.get_weights()[0]).all()


def test_the_fused_layer_traces_no_pad_and_the_explicit_one_one_pad(page):
    fused, explicit = page.models(7, 5, 1)
    assert not [op for op, _, _ in page.traced_tensors(fused, 7) if op in ("Pad", "Slice")]
    explicit_ops = page.traced_tensors(explicit, 7)
    assert ("Pad", (1, 11, 11, page.CHANNELS), 11 * 11 * page.CHANNELS * 4) in explicit_ops
    assert [op for op, _, _ in page.traced_tensors(explicit, 7, training=False)] == ["Pad", "Conv2D"]


def test_the_kernels_that_ran_follow_this_process_kernel_path(page, tensorflow_cpu_path):
    fused, explicit = page.models(9, 3, 1)
    assert page.onednn == (tensorflow_cpu_path == "onednn")
    fused_kernels = page.kernels_ran(fused, 9)
    assert fused_kernels == (["_MklNativeConv2D"] if page.onednn else ["Conv2D"])


def test_a_bias_makes_the_convolution_kernels_fused_ones(page):
    fused, explicit = page.models(9, 3, 1, bias=True)
    assert [w.shape for w in fused.get_weights()] == [(3, 3, page.CHANNELS, page.CHANNELS), (page.CHANNELS,)]
    if page.onednn:
        assert page.kernels_ran(explicit, 9) == ["_MklNativePadWithFusedConv2D"]
    else:
        assert page.kernels_ran(explicit, 9) == ["Pad", "_FusedConv2D"]
    assert page.pad_kernel_runs(3, 1, 9, True) and page.pad_kernel_runs(3, 1, 9, False)


@pytest.mark.parametrize("training", [True, False])
def test_padded_buffers_reads_the_entry_computation_only(page, training):
    fused, explicit = page.models(9, 3, 1)
    assert page.padded_buffers(fused, 9, 3, 1, training) == []
    names = [name for name, _, _ in page.padded_buffers(explicit, 9, 3, 1, training)]
    assert len(names) == (2 if training else 0)
    assert not any(name.startswith("Pad") for name in names)  # the pad inside a fusion is not one


def test_the_claims_hold_on_the_page_grid(page, built_site):
    """The check build ran each claim over GRID on its backends and stored what it found."""
    blocks, _ = stored_outputs("in-practice.md")
    assert len(page.GRID) == 15
    for section, backends, count in [("traced_claim", ["tf-eigen", "tf-onednn"], 15),
                                     ("inference_claim", ["tf-eigen", "tf-onednn"], 30),  # with and without bias
                                     ("xla_claim", ["tf-xla", "jax"], 15)]:
        assert sorted(blocks[section]) == sorted(backends), section
        for backend, result in blocks[section].items():
            assert result["error"] is None and result["value"][0].startswith(f"True on {count} configurations"), backend
            assert result["scope"]["count"] == count
