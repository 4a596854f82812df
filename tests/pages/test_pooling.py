"""snippets/pooling.py: the two NumPy references for "same" pooling, held against Keras on TensorFlow (the real
cells) and against PyTorch's own replicate padding; and snippets/appendix.py's check of Keras on PyTorch, as the
check build ran it on that backend, and failing on TensorFlow in this process."""

import keras
import numpy as np
import pytest
import torch

from helpers import definitions, stored_outputs
from snippets import pooling


@pytest.mark.parametrize("kind", ["average", "max"])
def test_real_cells_reference_is_keras_on_tensorflow(kind):
    for size, pool, stride in [(4, 3, 2), (5, 4, 1), (6, 2, 3), (1, 4, 1), (7, 3, 3)]:
        x = pooling.signed_input(size, pool, stride)
        np.testing.assert_allclose(pooling.pool_real_cells(kind, x, pool, stride),
                                   pooling.keras_pool(kind, x, pool, stride), atol=1e-5)


def test_edge_replicated_reference_is_torch_replicate_padding():
    for size, pool, stride in [(4, 3, 2), (5, 4, 1), (6, 2, 1)]:
        x = pooling.signed_input(size, pool, stride)
        before, after = pooling.same_padding(size, pool, stride)
        padded = torch.nn.functional.pad(torch.tensor(x)[None, None], (before, after), mode="replicate")
        expected = torch.nn.functional.avg_pool1d(padded, pool, stride)[0, 0].numpy()
        np.testing.assert_allclose(pooling.pool_edge_replicated("average", x, pool, stride), expected, atol=1e-6)


def test_the_two_references_differ_where_the_padding_is_lopsided():
    x = [0, 1, 2, 3]
    assert pooling.is_lopsided(4, 3, 2)
    assert pooling.pool_real_cells("average", x, 3, 2).tolist() == [1.0, 2.5]
    assert np.allclose(pooling.pool_edge_replicated("average", x, 3, 2), [1.0, 8 / 3])


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="kind must be one of"):
        pooling.keras_pool("median", [1.0], 1, 1)


def test_appendix_check_holds_on_torch_and_fails_on_tensorflow(built_site):
    """On PyTorch the check build ran the appendix's claim over its grid (stored); here, in this process's
    Keras on TensorFlow, the same check is False on a lopsided window, so over() of that grid would fail."""
    blocks, _ = stored_outputs("appendix.md")
    torch_run = blocks["pooling_torch_claim"]
    assert list(torch_run) == ["torch"] and torch_run["torch"]["error"] is None
    # the 38 of the 96 grid configurations where averaging the real cells and the edge-replicated input differ
    assert torch_run["torch"]["value"][0].startswith("True on 38 configurations")
    appendix = definitions("appendix")
    assert keras.backend.backend() == "tensorflow"
    assert pooling.is_lopsided(4, 3, 2) and appendix.pools_like_keras_on_torch_today(4, 3, 2) is False
