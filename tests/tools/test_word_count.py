"""tools/word_count.py: what counts (prose and claim sentences, explanation pages only), the table, the
budget's exit code, and the site itself within budget."""
from __future__ import annotations

import subprocess
import sys

import pytest

import word_count
from helpers import REPO

PAGE = """# A title of four

Two words.

```python exec
--8<-- "snippets/demo.py:array"
one two three four five
```

<!-- docexec timeout=300 -->
<div class="x" data-y="z">inside</div>
A [link text](https://example.org/many/words/here) and `inline code here` end.

    ~~~
    indented fence words
    ~~~
"""


def test_only_prose_counts():
    # "A title of four" 4, "Two words." 2, "inside" 1, "A link text and x end." 6
    assert word_count.prose_words(PAGE) == 13


def test_claim_sentences_count_once_with_inline_code_as_one_word():
    page = 'Prose here.\n\n```python exec claim="The `conv` output is exact."\n--8<-- "snippets/demo.py:a"\n```\n'
    # "Prose here." 2, "The x output is exact." 5
    assert word_count.prose_words(page) == 7


def test_reference_pages_are_left_out(tmp_path):
    pages = {name: "one two three" for name in ("questions", "appendix", "claims", "demo")}
    docs = write_site(tmp_path, {**pages, "index": "one"})
    assert word_count.page_counts(docs) == {"index": 1}


def write_site(tmp_path, pages):
    for name, text in pages.items():
        (tmp_path / f"{name}.md").write_text(text, encoding="utf-8")
    return tmp_path


def run(*arguments):
    return subprocess.run([sys.executable, str(REPO / "tools" / "word_count.py"), *arguments],
                          capture_output=True, text=True, cwd=REPO)


def test_table_lists_each_page_and_the_total_and_passes_within_budget(tmp_path):
    docs = write_site(tmp_path, {"short": "one two", "long": "one two three four five"})
    result = run("--docs", str(docs), "--budget", "7")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["long", "5"] and lines[1].split() == ["short", "2"]
    assert lines[2].split() == ["total", "7"]


def test_over_budget_exits_non_zero_and_says_by_how_much(tmp_path):
    docs = write_site(tmp_path, {"page": "one two three"})
    result = run("--docs", str(docs), "--budget", "2")
    assert result.returncode == 1
    assert "3 words, 1 more than 2" in result.stderr


def test_a_folder_without_pages_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no explanation pages"):
        word_count.page_counts(tmp_path)
    with pytest.raises(FileNotFoundError, match="no explanation pages"):
        word_count.page_counts(write_site(tmp_path, {"questions": "one"}))


def test_a_negative_budget_is_refused(tmp_path):
    result = run("--docs", str(write_site(tmp_path, {"page": "one"})), "--budget", "-1")
    assert result.returncode == 2 and "--budget must be 0 or more" in result.stderr


def test_the_site_is_within_the_default_budget():
    counts = word_count.page_counts(REPO / "docs")
    total = sum(counts.values())
    assert total <= word_count.DEFAULT_BUDGET, word_count.table(counts)
