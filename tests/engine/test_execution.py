"""The verdicts on a worker's answer (docexec/execution.py): pure functions, tested without
starting a process. The pages that reach them through real workers are in test_worker.py
and test_namespace.py."""

from __future__ import annotations

import pytest

from docexec.errors import PageFailed
from docexec.execution import check_claim, combine, decide, decide_value, refuse_address
from docexec.model import Block, BlockOptions, BlockRecord, BlockResult, InlineValue, ValueRecord
from docexec.pool import Limits
from docexec.protocol import BlockAnswer, Raised, Truth, ValueAnswer
from docexec.sections import Section

LIMIT = 200_000


def block(code: str = "x = 1\nx", **options) -> Block:
    return Block(0, 3, "", Section("snippets/s.py", "a", 4, code), BlockOptions(**options))


def raised(kind: str = "ValueError", text: str = "ValueError: no") -> Raised:
    return Raised(kind, text, "snippets/s.py:5", "Traceback (most recent call last):\n  ...")


def test_an_answer_becomes_its_lines_cleaned():
    answer = BlockAnswer(output="a\x1b[31m\nb\n", value="[1 2]\n[3 4]", figures=["<svg>\n</svg>"])
    assert decide(block(), answer, LIMIT) == BlockResult(["a\\x1b[31m", "b"], ["[1 2]", "[3 4]"], None,
                                                         [["<svg>", "</svg>"]])


def test_every_text_field_and_figure_is_cleaned_and_counted():
    answer = BlockAnswer(output="a\x00", value="\x07", figures=["<svg>\x1b</svg>"], dark_figures=["<svg>\u202e</svg>"])
    assert decide(block(), answer, LIMIT) == BlockResult(["a\\x00"], ["\\x07"], None, [["<svg>\\x1b</svg>"]], None,
                                                         False, [["<svg>\\u202e</svg>"]])
    with pytest.raises(PageFailed, match="produced 0 kB of output, over the limit of 0.009 kB"):
        decide(block(), BlockAnswer(output="é", value="12", figures=["<svg/>"]), 9)  # bytes: 2 + 2 + 6


def test_an_expected_exception_is_shown_and_any_other_fails_naming_where():
    assert decide(block(raises="ValueError"), BlockAnswer(raised=raised()), LIMIT).error == "ValueError: no"
    with pytest.raises(PageFailed, match=r"failed at snippets/s.py:5 on x \(the page expected KeyError\)"):
        decide(block(raises="KeyError"), BlockAnswer(raised=raised()), LIMIT, " on x")
    with pytest.raises(PageFailed, match='marked raises="KeyError" but raised nothing'):
        decide(block(raises="KeyError"), BlockAnswer(), LIMIT)


@pytest.mark.parametrize("answer, message", [
    (BlockAnswer(threads=["Thread-1"]), r"left 1 thread\(s\) running \(Thread-1\)"),
    (BlockAnswer(output="x" * 300), "produced 0 kB of output, over the limit of 0.1 kB"),
    (BlockAnswer(truncated=True, size=5_000_000), "produced 5000 kB of output"),
    (BlockAnswer(output="<f at 0x7f00aa>", address_at="snippets/s.py:5"),
     r"memory address.*\(printed by snippets/s.py:5\)"),
    (BlockAnswer(value="<f at 0x7f00aa>"), r"memory address.*\(the final expression at snippets/s.py:5\)"),
])
def test_what_no_page_may_show_fails_the_block(answer, message):
    with pytest.raises(PageFailed, match=message):
        decide(block(), answer, 100)


def test_a_hidden_block_must_stay_quiet():
    assert decide(block(hidden=True), BlockAnswer(output=" \n"), LIMIT).output == [" "]
    with pytest.raises(PageFailed, match="hidden but printed or drew something"):
        decide(block(hidden=True), BlockAnswer(figures=["<svg/>"]), LIMIT)


def test_a_claim_holds_only_when_its_check_ends_in_true():
    claim = block(claim="One is one.")
    check_claim(claim, Truth(truth=True), "")
    with pytest.raises(PageFailed, match='claim is false: "One is one."\n  its check ends at snippets/s.py:5'):
        decide(claim, BlockAnswer(truth=Truth(truth=False)), LIMIT)
    with pytest.raises(PageFailed, match=r"True or False, or in docexec.checks.over\(...\); it ended in int"):
        decide(claim, BlockAnswer(truth=Truth(value_type="int")), LIMIT)


def test_a_claim_over_configurations_stores_its_scope_or_names_where_it_failed():
    claim = block(claim="Always.")
    checked = {"count": 4, "axes": {"k": ["1", "2"]}, "failures": [], "failed": 0}
    result = decide(claim, BlockAnswer(truth=Truth(checked=checked)), LIMIT)
    assert result.scope == {"count": 4, "axes": {"k": ["1", "2"]}} and result.to_json()["scope"] == result.scope
    assert decide(claim, BlockAnswer(truth=Truth(True)), LIMIT).to_json()["scope"] is None  # one example: null
    with pytest.raises(PageFailed, match="false on 1 of 4 configurations on x(.|\n)*    k=2"):
        decide(claim, BlockAnswer(truth=Truth(checked={**checked, "failed": 1, "failures": ["k=2"]})), LIMIT, " on x")
    with pytest.raises(PageFailed, match="ran over no configurations"):
        decide(claim, BlockAnswer(truth=Truth(checked={**checked, "count": 0})), LIMIT)


def test_an_address_is_refused_wherever_it_shows():
    refuse_address(block(), "at 0x12", "printed")  # three digits: not an address
    with pytest.raises(PageFailed, match="'<object at 0xdeadbeef>'"):
        refuse_address(block(), "fine\n<object at 0xdeadbeef>\n", "printed")


def test_an_inline_value_is_its_cleaned_text_or_its_failure():
    value = InlineValue("x.size", 3, 0, 12)
    assert decide_value(value, ValueAnswer("12\u202e")) == ValueRecord("x.size", "12\\u202e")
    with pytest.raises(PageFailed, match=r"`\{py\} x.size` raised NameError: x"):
        decide_value(value, ValueAnswer(raised=raised("NameError", "NameError: x")))


def test_an_inline_value_gets_a_blocks_thread_and_size_checks():
    value = InlineValue("x", 1, 5, 12)
    with pytest.raises(PageFailed, match=r"the inline value left 1 thread\(s\) running \(Thread-1\)"):
        decide_value(value, ValueAnswer("1", threads=["Thread-1"]))
    with pytest.raises(PageFailed, match="the inline value is 5 kB, over the limit of 1 kB"):
        decide_value(value, ValueAnswer("a" * 5000), output_limit=1000)


def test_a_memory_error_names_the_pages_memory_limit():
    answer = BlockAnswer(raised=raised("MemoryError", "MemoryError: "))
    with pytest.raises(PageFailed, match=r"ran out of memory at snippets/s.py:5: the page's memory limit is 300 MB"):
        decide(block(), answer, LIMIT, limits=Limits(300, 64))


def test_results_are_stored_per_worker_that_ran_them():
    result = BlockResult(["hi"], None, None, [])
    assert combine(block(), {"default": result}) == BlockRecord("snippets/s.py:a", result)
    on_two = combine(block(backends=("one", "two"), claim="C."), {"one": result, "two": result})
    assert on_two == BlockRecord("snippets/s.py:a", backends={"one": result, "two": result}, claim="C.")
