"""snippets/demo.py: the engine's demo page runs section by section, as the page does.

One section raises on purpose (the page marks it raises="ValueError"), so the module is run
with docexec's own runner rather than imported.
"""

import numpy as np
import pytest

from helpers import run_sections

MODULE = "snippets/demo.py"


@pytest.fixture(scope="module")
def demo():
    return run_sections(MODULE)


def test_only_the_marked_section_raises(demo):
    _, results = demo
    raised = {name: type(result.raised) for name, result in results.items() if result.raised}
    assert raised == {"expected_error": ValueError}


def test_the_array_is_shown_with_fixed_precision_and_no_negative_zero(demo):
    names, results = demo
    assert np.allclose(names["x"], np.arange(12).reshape(3, 4) / 3 - 1)
    assert results["array"].value.splitlines()[0] == "[[-1.0000 -0.6667 -0.3333  0.0000]"


def test_the_figure_and_the_claim(demo):
    _, results = demo
    assert len(results["figure"].figures) == 1 and results["figure"].figures[0].lstrip().startswith("<?xml")
    assert results["claim"].raw_value is True


def test_the_script_tag_is_printed_verbatim(demo):
    _, results = demo
    assert results["escaping"].output == "<script>alert(1)</script>\n"
