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
from helpers import fails

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
    counted = BlockAnswer(output="é", value="12", figures=["<svg/>"])  # bytes: 2 + 2 + 6
    decide(block(), counted, 10)
    with fails("too_much_output", error=PageFailed):
        decide(block(), counted, 9)


def test_an_expected_exception_is_shown_and_any_other_fails_naming_where():
    assert decide(block(raises="ValueError"), BlockAnswer(raised=raised()), LIMIT).error == "ValueError: no"
    with fails("code_failed", match=r"snippets/s.py:5 on x .*KeyError", error=PageFailed):
        decide(block(raises="KeyError"), BlockAnswer(raised=raised()), LIMIT, " on x")
    with fails("raised_nothing", match="KeyError", error=PageFailed):
        decide(block(raises="KeyError"), BlockAnswer(), LIMIT)


@pytest.mark.parametrize("answer, kind, detail", [
    (BlockAnswer(threads=["Thread-1"]), "threads_left", r"\(Thread-1\)"),
    (BlockAnswer(output="x" * 300), "too_much_output", " 0 kB"),
    (BlockAnswer(truncated=True, size=5_000_000), "too_much_output", " 5000 kB"),
    (BlockAnswer(output="<f at 0x7f00aa>", address_at="snippets/s.py:5"), "address", r"\(printed by snippets/s.py:5\)"),
    (BlockAnswer(value="<f at 0x7f00aa>"), "address", r"\(the final expression at snippets/s.py:5\)"),
])
def test_what_no_page_may_show_fails_the_block(answer, kind, detail):
    with fails(kind, match=detail, error=PageFailed):
        decide(block(), answer, 100)


def test_a_hidden_block_must_stay_quiet():
    assert decide(block(hidden=True), BlockAnswer(output=" \n"), LIMIT).output == [" "]
    with fails("hidden_shows", error=PageFailed):
        decide(block(hidden=True), BlockAnswer(figures=["<svg/>"]), LIMIT)


def test_a_claim_holds_only_when_its_check_ends_in_true():
    claim = block(claim="One is one.")
    check_claim(claim, Truth(truth=True), "")
    with fails("claim_false", match=r'"One is one."(.|\n)*snippets/s.py:5', error=PageFailed):
        decide(claim, BlockAnswer(truth=Truth(truth=False)), LIMIT)
    with fails("claim_not_bool", match=" int$", error=PageFailed):
        decide(claim, BlockAnswer(truth=Truth(value_type="int")), LIMIT)


def test_a_claim_over_configurations_stores_its_scope_or_names_where_it_failed():
    claim = block(claim="Always.")
    checked = {"count": 4, "axes": {"k": ["1", "2"]}, "failures": [], "failed": 0}
    result = decide(claim, BlockAnswer(truth=Truth(checked=checked)), LIMIT)
    assert result.scope == {"count": 4, "axes": {"k": ["1", "2"]}} and result.to_json()["scope"] == result.scope
    assert decide(claim, BlockAnswer(truth=Truth(True)), LIMIT).to_json()["scope"] is None  # one example: null
    with fails("claim_false_on", match=" 1 of 4 configurations on x(.|\n)*    k=2", error=PageFailed):
        decide(claim, BlockAnswer(truth=Truth(checked={**checked, "failed": 1, "failures": ["k=2"]})), LIMIT, " on x")
    with fails("claim_ran_on_nothing", error=PageFailed):
        decide(claim, BlockAnswer(truth=Truth(checked={**checked, "count": 0})), LIMIT)


def test_an_address_is_refused_wherever_it_shows():
    refuse_address(block(), "at 0x12", "printed")  # three digits: not an address
    with fails("address", match="'<object at 0xdeadbeef>'", error=PageFailed):
        refuse_address(block(), "fine\n<object at 0xdeadbeef>\n", "printed")


def test_an_inline_value_is_its_cleaned_text_or_its_failure():
    value = InlineValue("x.size", 3, 0, 12)
    assert decide_value(value, ValueAnswer("12\u202e")) == ValueRecord("x.size", "12\\u202e")
    with fails("inline_raised", match=r"x.size.*NameError: x", error=PageFailed):
        decide_value(value, ValueAnswer(raised=raised("NameError", "NameError: x")))


def test_an_inline_value_gets_a_blocks_thread_and_size_checks():
    value = InlineValue("x", 1, 5, 12)
    with fails("inline_threads", match=r"\(Thread-1\)", error=PageFailed):
        decide_value(value, ValueAnswer("1", threads=["Thread-1"]))
    with fails("inline_too_big", match=" 5 kB.* 1 kB", error=PageFailed):
        decide_value(value, ValueAnswer("a" * 5000), output_limit=1000)


def test_a_memory_error_names_the_pages_memory_limit():
    answer = BlockAnswer(raised=raised("MemoryError", "MemoryError: "))
    with fails("out_of_memory", match=r"snippets/s.py:5\b.* 300 MB", error=PageFailed):
        decide(block(), answer, LIMIT, limits=Limits(300, 64))


def test_results_are_stored_per_worker_that_ran_them():
    result = BlockResult(["hi"], None, None, [])
    assert combine(block(), {"default": result}) == BlockRecord("snippets/s.py:a", result)
    on_two = combine(block(backends=("one", "two"), claim="C."), {"one": result, "two": result})
    assert on_two == BlockRecord("snippets/s.py:a", backends={"one": result, "two": result}, claim="C.")
