"""What a section printed, made safe to store and show (docexec/cleaning.py): pure functions,
no process. The pages that print these through real workers are in test_worker.py."""

from __future__ import annotations

import pytest

from docexec.cleaning import clean, find_address


@pytest.mark.parametrize("text, shown", [
    ("red \x1b[31m", "red \\x1b[31m"),
    ("abc\u202edef", "abc\\u202edef"),
    ("zero\u200bwidth", "zero\\u200bwidth"),
    ("line\u2028break", "line\\u2028break"),
    ("tab\tand newline\n stay", "tab\tand newline\n stay"),
    ("é, ∑ and 🙂 stay", "é, ∑ and 🙂 stay"),
])
def test_what_a_reader_cannot_see_is_written_out(text, shown):
    assert clean(text) == shown


def test_a_memory_address_is_found_on_its_line():
    assert find_address("ok\n<function f at 0x7f3a12>\n") == "<function f at 0x7f3a12>"
    assert find_address("a hex 0x7f3a12 value, at 0x12") is None
