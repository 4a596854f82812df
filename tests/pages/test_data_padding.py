"""snippets/data_padding.py: what Keras 3 does with padded, variable-length sequences, and the fixes."""

import numpy as np


def test_batch_is_zero_padded_after_the_real_steps(page):
    assert page.x.shape == (2, 5, 1)
    assert page.lengths.tolist() == [5, 3]
    assert np.all(page.x[1, 3:] == 0)
    assert page.step_mask.tolist() == [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]


def test_conv1d_warns_and_drops_the_mask_of_a_masking_layer(page):
    assert len(page.destroys_mask_warning) == 1
    assert "will therefore destroy the mask information" in page.destroys_mask_warning[0]
    assert "'conv'" in page.destroys_mask_warning[0]  # the explicit name: output must not depend on layer counters
    assert np.array_equal(np.asarray(page.mask_before_conv), page.step_mask.astype(bool))
    assert page.mask_after_conv is None


def test_conv1d_output_ignores_the_mask(page):
    assert np.array_equal(np.asarray(page.y_after_mask), np.asarray(page.conv_masked(page.x)))


def test_pooling_uses_the_mask_only_when_it_survives(page):
    assert np.allclose(page.pooled_masked, page.mean_over_real_steps, atol=1e-6)
    assert np.allclose(page.pooled_after_conv, page.conv_values.mean(axis=1), atol=1e-6)
    real_mean = (page.conv_values * page.step_mask).sum(axis=1) / page.lengths
    assert not np.allclose(page.pooled_after_conv[1], real_mean[1], atol=1e-3)


def test_padded_steps_carry_the_bias_after_one_layer(page):
    bias = page.two_layers[0].bias.numpy()
    assert np.allclose(page.hidden[1, 4], bias, atol=1e-6)
    assert not np.allclose(page.hidden[1, 3], bias, atol=1e-3)  # still within reach of the last real step
    # ... which it holds: the bias plus the first tap times the last real step (W3 of review 3)
    kernel = page.two_layers[0].kernel.numpy()
    assert np.allclose(page.hidden[1, 3], bias + kernel[0, 0] * page.x[1, 2, 0], atol=1e-5)
    assert page.reach


def test_the_masking_warning_is_a_user_warning(page):
    assert [warning.category for warning in page.caught] == [UserWarning]


def test_one_layer_is_clean_but_two_layers_leak(page):
    assert np.allclose(page.in_batch(page.one_layer, 1), page.alone(page.one_layer, 1), atol=1e-6)
    difference = np.abs(page.in_batch(page.two_layers, 1) - page.alone(page.two_layers, 1))
    assert np.all(difference[:-1] < 1e-6) and difference[-1] > 1e-3
    # The long sequence has no padding, so it is unaffected either way.
    assert np.allclose(page.in_batch(page.two_layers, 0), page.alone(page.two_layers, 0), atol=1e-6)


def test_fixes_against_the_per_sequence_reference(page):
    assert page.results == {
        "one layer, plain loss": (False, False),
        "one layer, masked loss": (True, True),
        "two layers, plain loss": (False, False),
        "two layers, masked loss": (False, False),
        "two layers, masked loss, mask after each": (True, True),
    }
    assert np.allclose(
        page.in_batch(page.two_layers, 1, page.step_mask), page.alone(page.two_layers, 1), atol=1e-6
    )


def test_causal_stack_with_post_padding_never_sees_the_padding(page):
    assert np.allclose(page.in_batch(page.causal_layers, 1), page.alone(page.causal_layers, 1), atol=1e-6)


def test_masking_by_value_drops_a_real_zero(page):
    assert page.mask_from_values.tolist() == [True, False, True, False]
    assert page.mask_from_length.tolist() == [True, True, True, False]


def test_a_trainable_embedding_row_for_padding_gets_gradient_unless_masked(page):
    unmasked, real_as_alone = page.embedding_through_fix_2(False)
    assert unmasked.shape == (1,) and np.all(unmasked != 0) and not real_as_alone
    masked, real_as_alone = page.embedding_through_fix_2(True)
    assert np.all(masked == 0) and real_as_alone


def test_stride_2_windows_shift_when_the_sequence_is_padded(page):
    from snippets.conv import conv1d
    kernel = page.strided.kernel.numpy()
    bias = page.strided.bias.numpy()
    np.testing.assert_allclose(page.y_alone, conv1d(page.short, kernel, 2, "same")[0, :, 0] + bias, atol=1e-5)
    np.testing.assert_allclose(page.y_padded_to_4, conv1d(page.padded_to_4, kernel, 2, "same")[0, :, 0] + bias,
                               atol=1e-5)
    # padded to 4 steps, the windows start on x0 and x2 instead of one zero before x0
    np.testing.assert_allclose(page.y_padded_to_4[0], page.short[0, :3, 0] @ kernel[:, 0, 0] + bias[0], atol=1e-5)
    assert page.as_many_outputs and np.all(~np.isclose(page.y_alone, page.y_padded_to_4))


def test_pre_padding_is_the_default_and_causal_layers_read_it(page):
    assert page.pad_sequences_default == "pre"
    before = page.keras.utils.pad_sequences(page.sequences, dtype="float32")
    assert np.array_equal(before, page.x_pre)
    real_steps = page.forward(before, page.causal_layers).numpy()[1, -page.lengths[1]:, 0]
    assert not np.allclose(real_steps, page.alone(page.causal_layers, 1), atol=1e-3)
    # one causal layer reads the leading zeros as its own causal zeros, bias and all
    assert np.allclose(page.one_layer_real, page.one_layer_alone, atol=1e-5)


def test_the_hand_attached_mask_reaches_the_layer(page):
    # the layer warns only when a mask reaches it: the "ignores it" check is not vacuous
    assert page.mask_delivered and not page.warned_without_mask
    assert page.ignores_mask


def test_later_padded_steps_are_exactly_the_bias(page):
    assert page.over(page.grid(padded_steps=range(2, 8)), page.later_padded_steps_hold_the_bias)
    assert page.later_padded_steps_hold_the_bias(5)
