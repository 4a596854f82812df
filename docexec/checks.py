"""What a claim's check ran on, for its Verified box: a final `True` certifies "this example";
`over(grid(kernel=range(1, 5), stride=(1, 2, 3)), lambda kernel, stride: ...)` certifies every
configuration it ran, "12 configurations (kernel 1–4; stride 1–3)", a text made from what
ran, so a page cannot state a scope it did not run."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass

FAILURES_KEPT = 5  # failing configurations a false claim's message lists


@dataclass(frozen=True)
class Checked:
    """The outcome of one check run over several configurations.

    count: how many configurations the check ran on.
    axes: each configuration key -> the distinct values it took, as text, in first-seen order.
    failures: up to FAILURES_KEPT configurations (as text) on which the check was False.
    failed: how many configurations the check was False on.
    """

    count: int
    axes: dict[str, tuple[str, ...]]
    failures: tuple[str, ...]
    failed: int

    def __bool__(self) -> bool:
        return self.count > 0 and self.failed == 0

    def __repr__(self) -> str:
        """What the claim's box shows as the check's final value."""
        if self.failed:
            return f"False on {self.failed} of {self.count} configurations, first: {self.failures[0]}"
        return f"{bool(self)} on {scope_text(self.to_json())}"

    def to_json(self) -> dict:
        return {"count": self.count, "axes": {name: list(values) for name, values in self.axes.items()},
                "failures": list(self.failures), "failed": self.failed}


def grid(**axes: Iterable) -> list[dict]:
    """Every combination of the axes' values, as keyword dicts, in order."""
    if not axes:
        raise ValueError("grid() needs at least one axis, e.g. grid(kernel=range(1, 5))")
    names = list(axes)
    for name, axis in axes.items():
        if isinstance(axis, str | bytes):  # iterating it would make an axis of its characters
            raise ValueError(f"grid() axis {name!r} is the string {axis!r}; "
                             f"give its values as a tuple: {name}=({axis!r},)")
    values = [list(axis) for axis in axes.values()]
    for name, axis in zip(names, values, strict=True):
        if not axis:
            raise ValueError(f"grid() axis {name!r} has no values")
    return [dict(zip(names, combination, strict=True)) for combination in itertools.product(*values)]


def over(configurations: Iterable[dict], check: Callable[..., object]) -> Checked:
    """Run `check(**configuration)` on every configuration; each call must return a bool
    (Python's or NumPy's). The result is what the claim's Verified box reports."""
    import numpy

    count, failed, failures = 0, 0, []
    seen: set = set()  # distinct configurations: one repeated is checked, and counted, once
    axes: dict[str, dict[tuple, None]] = {}
    given = list(configurations)  # as given: a check that appends to them or mutates a value changes nothing shown
    for configuration in given:
        if not isinstance(configuration, dict):
            raise TypeError(f"over() takes configurations as dicts of keyword arguments, got {configuration!r}")
    described = [describe(configuration) for configuration in given]
    keys = [tuple((name, _kind(value), text(value)) for name, value in each.items()) for each in given]
    for configuration, description, key in zip(given, described, keys, strict=True):
        outcome = check(**configuration)
        if not isinstance(outcome, bool | numpy.bool_):
            raise TypeError(f"the check returned {type(outcome).__name__}, not a bool, for {description}")
        if key in seen:
            continue
        seen.add(key)
        count += 1
        for name, kind, value_text in key:
            axes.setdefault(name, {})[(kind, value_text)] = None
        if not outcome:
            failed += 1
            if len(failures) < FAILURES_KEPT:
                failures.append(description)
    checked = Checked(count, {name: _distinct(values) for name, values in axes.items()}, tuple(failures), failed)
    MADE[id(checked)] = checked
    return checked


# Every Checked that over() returned in this process, by id: a claim's scope comes only from
# one of them, never from a Checked typed by hand or a subclass (worker.Session.judge).
MADE: dict[int, Checked] = {}


def made_by_over(value) -> bool:
    return type(value) is Checked and MADE.get(id(value)) is value


def text(value) -> str:
    """A configuration value as a reader writes it, on one line: same, 3, (1, 2); a NumPy
    scalar as its number (1, not np.int64(1)); a string with a newline, a control or another
    character that does not print, as its repr ('a\\nb')."""
    if isinstance(value, str):
        return value if value.isprintable() else repr(value)
    item = getattr(value, "item", None)
    if type(value).__module__ == "numpy" and callable(item) and getattr(value, "ndim", None) == 0:
        value = item()  # np.int64(1) -> 1, np.float32(0.5) -> 0.5
    return repr(value)


def _kind(value) -> str:
    """Which of two values that print alike a configuration holds: 1 and '1' are two values."""
    return "str" if isinstance(value, str) else "value"


def _distinct(values: dict[tuple, None]) -> tuple[str, ...]:
    """An axis's values as text, in first-seen order; a string that prints as another value
    of the axis does (1 and '1') is shown as its repr."""
    texts = [value_text for _, value_text in values]
    return tuple(repr(value_text) if kind == "str" and texts.count(value_text) > 1 else value_text
                 for kind, value_text in values)


def describe(configuration: dict) -> str:
    return ", ".join(f"{name}={text(value)}" for name, value in configuration.items())


def scope_text(scope: dict | None) -> str:
    """'this example', or '24 configurations (kernel 1–4; stride 1–3; padding same, valid)'."""
    if not scope:
        return "this example"
    count = scope["count"]
    parts = [f"{name} {values_text(values)}" for name, values in scope["axes"].items() if len(values) > 1]
    noun = "configuration" if count == 1 else "configurations"
    return f"{count} {noun}" + (f" ({'; '.join(parts)})" if parts else "")


def values_text(values: list[str]) -> str:
    """'1–4' for a run of consecutive integers, else the values listed ('same, valid')."""
    try:
        numbers = sorted(int(value) for value in values)
    except ValueError:
        numbers = None
    if numbers and len(numbers) > 2 and numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"{numbers[0]}–{numbers[-1]}"
    if numbers:
        return ", ".join(map(str, numbers))
    return ", ".join(values)
