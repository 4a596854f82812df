"""Whether an executed output is the frozen one, up to float32 round-off and nothing else
(TensorFlow's CPU kernel paths sum in different orders). Text is compared token by token: a
number with a decimal point or exponent within `RELATIVE`, plus one unit in its last written
digit when that unit is at most `LAST_DIGIT` of it (so `0.5` against `0.6` is drift, probe 42);
integers and other text exactly, but runs of spaces, and spaces next to numbers, are free.
Figures are SVG text, compared the same way. The README states the rule and its measurements."""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from decimal import Decimal

RELATIVE = 1e-5  # ~80 float32 epsilons; the measured spread between paths is in the README
LAST_DIGIT = 1e-3  # the largest share of a number its last digit's round-off may be
TOLERANCE_TEXT = (
    f"numbers with a decimal point or exponent match within {RELATIVE:g} relative, plus one unit "
    f"in their last written digit where that unit is at most {LAST_DIGIT:g} of the number; integers "
    "and all other text must match exactly"
)

NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.])")
SPACES = re.compile(r"[ \t]+")


@dataclass
class Mismatch:
    """The first place where two texts differ beyond round-off."""

    frozen: str
    executed: str

    def __str__(self) -> str:
        return f"{self.frozen!r} (frozen) vs {self.executed!r} (executed now)"


def tokens(text: str) -> list[str]:
    """Text split into alternating non-number and number tokens (texts start with text)."""
    parts, position = [], 0
    for match in NUMBER.finditer(text):
        parts += [text[position:match.start()], match.group()]
        position = match.end()
    parts.append(text[position:])
    return parts


def last_digit_unit(number: str) -> Decimal:
    """The value of one unit in the last digit written: '0.250' -> 0.001, '1.5e-07' -> 1e-08."""
    exponent = Decimal(number).as_tuple().exponent
    return Decimal(1).scaleb(exponent)


def is_integer(number: str) -> bool:
    return not any(mark in number for mark in ".eE")


def numbers_match(frozen: str, executed: str) -> bool:
    if is_integer(frozen) or is_integer(executed):
        return frozen == executed
    a, b = Decimal(frozen), Decimal(executed)
    largest, unit = max(abs(a), abs(b)), max(last_digit_unit(frozen), last_digit_unit(executed))
    allowed = Decimal(RELATIVE) * largest + (unit if unit <= Decimal(LAST_DIGIT) * largest else 0)
    return abs(a - b) <= allowed


def text_mismatch(frozen: str, executed: str) -> Mismatch | None:
    """None if the texts match up to round-off; otherwise the first pair of tokens that differ."""
    if frozen == executed:
        return None
    old, new = tokens(frozen), tokens(executed)
    if len(old) != len(new):  # a number appeared or vanished: show the first differing line
        return _first_line_difference(frozen, executed)
    last = len(old) - 1
    for index, (a, b) in enumerate(zip(old, new, strict=True)):
        if index % 2:
            same = numbers_match(a, b)
        else:
            same = _spaced(a, index > 0, index < last) == _spaced(b, index > 0, index < last)
        if not same:
            return Mismatch(a, b)
    return None


def _spaced(text: str, after_number: bool, before_number: bool) -> str:
    """Text between numbers, with its padding next to them dropped and runs of spaces made one."""
    if after_number:
        text = text.lstrip(" ")
    if before_number:
        text = text.rstrip(" ")
    return SPACES.sub(" ", text)


def _first_line_difference(frozen: str, executed: str) -> Mismatch:
    for a, b in zip(frozen.splitlines(), executed.splitlines(), strict=False):  # lengths may differ
        if a != b:
            return Mismatch(a, b)
    old, new = frozen.splitlines(), executed.splitlines()
    return Mismatch(f"{len(old)} lines", f"{len(new)} lines")


def mismatch(frozen, executed) -> Mismatch | None:
    """Compare two stored results (JSON values) leaf by leaf: strings up to round-off,
    everything else (structure, lengths, booleans, None) exactly."""
    if isinstance(frozen, str) and isinstance(executed, str):
        return text_mismatch(frozen, executed)
    if isinstance(frozen, list) and isinstance(executed, list):
        if all(isinstance(x, str) for x in frozen + executed):  # lines of one text
            return text_mismatch("\n".join(frozen), "\n".join(executed))
        if len(frozen) != len(executed):
            return Mismatch(f"{len(frozen)} entries", f"{len(executed)} entries")
        return next(filter(None, map(mismatch, frozen, executed)), None)
    if isinstance(frozen, dict) and isinstance(executed, dict):
        if frozen.keys() != executed.keys():
            return Mismatch(f"fields {sorted(frozen)}", f"fields {sorted(executed)}")
        return next(filter(None, (mismatch(frozen[key], executed[key]) for key in frozen)), None)
    if type(frozen) is not type(executed) or frozen != executed:
        return Mismatch(json.dumps(frozen), json.dumps(executed))
    return None


def unified_diff(frozen, executed) -> str:
    def lines(result):
        return json.dumps(result, indent=1, ensure_ascii=False).splitlines() if result is not None else []

    return "\n".join(difflib.unified_diff(lines(frozen), lines(executed), "frozen", "executed now", lineterm=""))
