"""The data spine (docexec/model.py): block options declared once, records that read back
as they were written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from docexec.model import BlockOptions, Record
from helpers import fails

FROZEN = Path(__file__).resolve().parents[2] / "frozen"
KNOWN = ("one", "two")


def test_flags_are_bare_and_the_other_options_take_values():
    options = BlockOptions.parse('hidden backends="two one" alt="A plot"', KNOWN)
    assert options == BlockOptions(hidden=True, backends=("two", "one"), alt="A plot")
    assert options.to_json() == {"hidden": True, "alt": "A plot", "backends": "two one"}
    assert BlockOptions.parse("", KNOWN).to_json() == {}


@pytest.mark.parametrize("text, kind", [
    ('color="red"', "unknown_option"),
    ('hidden="yes"', "written"),
    ("claim", "written"),
    ('hidden claim="It holds."', "claim_options"),
    ('raises="ValueError" claim="It holds."', "claim_options"),
    ('backends="three"', "unknown_backend"),
    ('backends=""', "no_backend"),
    ('backends="one one"', "backend_twice"),
])
def test_option_mistakes_are_named(text, kind):
    with fails(kind):
        BlockOptions.parse(text, KNOWN)


@pytest.mark.parametrize("file", sorted(FROZEN.glob("*.json")), ids=lambda file: file.name)
def test_every_frozen_record_reads_back_to_the_same_json(file):
    data = json.loads(file.read_text(encoding="utf-8"))
    record = Record.from_json(data, len(data["results"]))
    assert {**record.to_json(), "checksum": data["checksum"]} == data
    assert list(record.to_json()) == [key for key in data if key != "checksum"]  # the file's order too


@pytest.mark.parametrize("data, problem", [
    ([], "holds a list, not a record"),
    ({"page": "p.md"}, "lacks the field(s) checksum, key, results, versions"),
    ({"page": "p.md", "key": 1, "versions": {}, "results": [], "checksum": ""}, "a key or versions of the wrong type"),
    ({"page": "p.md", "key": "k", "versions": {}, "results": [{}], "checksum": ""}, "a result of the wrong shape"),
    ({"page": "p.md", "key": "k", "versions": {}, "results": [], "checksum": ""}, "holds 0 results for a page with 1"),
])
def test_a_record_of_the_wrong_shape_says_what_is_wrong(data, problem):
    with pytest.raises(ValueError) as error:
        Record.from_json(data, 1)
    assert problem in str(error.value)
