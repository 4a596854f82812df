"""docs/more-layers.md on every machinery it names, with tests/pages/test_backends.py's workers: one
subprocess per backend runs the page's blocks in page order, as the build does. Every claim holds, and the
printed facts are the ones the prose describes; snippets/more_layers.py's checks fail where they should."""

from __future__ import annotations

import pytest

from pages.test_backends import assert_claims_hold_and_failures_fail_as_stated, by_source, page_blocks, run_workers

PAGE = "more-layers.md"
MACHINERIES = ["tf-eigen", "tf-onednn", "jax", "torch", "tf-keras2"]


@pytest.fixture(scope="module")
def reports() -> dict:
    return run_workers(PAGE, MACHINERIES)


def test_the_page_names_these_machineries_and_each_starts_with_the_set_up():
    blocks = page_blocks(PAGE)
    assert sorted({name for block in blocks for name in block["backends"]}) == sorted(MACHINERIES)
    assert all(block["backends"] for block in blocks)  # no block runs in the default worker
    for backend in MACHINERIES:
        first = next(block for block in blocks if backend in block["backends"])
        assert first["source"] == "snippets/more_layers.py:setup" and first["options"].hidden


@pytest.mark.parametrize("backend", MACHINERIES)
def test_every_claim_holds(reports, backend):
    assert_claims_hold_and_failures_fail_as_stated(reports, backend, PAGE)


def test_pooling_gradients_as_the_review_measured(reports):
    # review content-edition-3, section 5.7: d sum(AveragePooling1D(3, 2, "same")([0, 1, 2, 3]))/dx
    real_cells, edge_repeated = "[0.3333 0.3333 0.8333 0.5   ]", "[0.3333 0.3333 0.6667 0.6667]"
    for backend, average in [("tf-eigen", real_cells), ("tf-onednn", real_cells), ("jax", real_cells),
                             ("torch", edge_repeated)]:
        printed = by_source(reports[backend])["pooling"]["output"].splitlines()
        assert printed[2].endswith(average), (backend, printed)
        assert printed[5].endswith("[1. 0. 1. 0.]"), (backend, printed)  # the max never takes the padded 0


def test_grouped_layers_trace_to_xla_and_depthwise_to_its_own_ops(reports):
    for backend in ("tf-eigen", "tf-onednn"):
        printed = by_source(reports[backend])["traced"]["output"]
        assert "Conv2D(groups=2), padding='same': convolution ops []" in printed
        assert printed.count("compiled by XLA") == 2
        assert "('DepthwiseConv2dNativeBackpropFilter', 'SAME')" in printed


def test_lower_precision_rounds_more(reports):
    for backend in ("tf-eigen", "tf-onednn", "jax", "torch"):
        errors = reports[backend]["facts"]["errors"]
        assert max(errors["float32"]) < 1e-6 < min(errors["mixed_float16"]), backend
        assert max(errors["mixed_float16"]) < max(errors["mixed_bfloat16"]) < 0.1, backend


def test_the_keras_2_tab_ran_keras_2(reports):
    facts = reports["tf-keras2"]["facts"]["keras"]
    assert facts["legacy"] is True and facts["version"].startswith("2.") and facts["module"].startswith("tf_keras.")
    for backend in ("tf-eigen", "tf-onednn"):
        facts = reports[backend]["facts"]["keras"]
        assert facts["legacy"] is False and facts["version"].startswith("3.") and facts["module"].startswith("keras.")
