"""A reader who types a collected question (data/questions.yml) into the site's search box, in
Chromium, with Material's own search: the answer's section on the questions page is among the
results for every question, and among the first 3 for 10 questions drawn with a fixed seed.

Material groups its results by page: an item shows the page's title, then its best-matching
section, then "N more on this page" (collapsed). The results a reader sees, in order, are the
sections shown open: "among the first 3" means the answer is one of the first 3 of those.
"""
from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from helpers import REPO

ENTRIES = yaml.safe_load((REPO / "data" / "questions.yml").read_text(encoding="utf-8"))["questions"]
SEED = 23  # issue 23, step 2
DRAWN = 10
TOP = 3

# The result list as shown: for each item, the section links shown open and every link it holds.
RESULTS_JS = """
() => Array.from(document.querySelectorAll('.md-search-result__list > .md-search-result__item')).map((item) => ({
  open: Array.from(item.querySelectorAll(':scope > a.md-search-result__link')).map((a) => a.href),
  all: Array.from(item.querySelectorAll('a.md-search-result__link')).map((a) => a.href),
}))
"""


def search(page, text: str, attempts: int = 10) -> list[dict]:
    """Put `text` in the search box and release a key, as a reader's last keystroke does
    (Material searches on key-up); again if the search worker had no index yet. The items."""
    box = page.locator("input.md-search__input")
    first = page.locator(".md-search-result__item .md-search-result__link").first
    for _ in range(attempts):
        box.fill(text)
        box.press("End")
        try:
            first.wait_for(state="attached", timeout=2_000)
        except PlaywrightTimeoutError:
            continue
        page.wait_for_timeout(200)  # the last key-up's results replace any earlier ones
        return page.evaluate(RESULTS_JS)
    raise AssertionError(f"search for {text!r} showed no result in {attempts} attempts")


def section_of(href: str, base_path: str) -> str:
    """'questions/#anchor' for a result link (the site's path and the ?h= highlight dropped)."""
    path, _, anchor = href.partition("#")
    path = path.split("?")[0]
    return path[path.index(base_path) + len(base_path):] + "#" + anchor


def answer_ranks(browser_context, site_server, base_path, field: str) -> dict[str, int | None]:
    """Each question's answer, searched for by the entry's `field`: its index among the sections
    shown open (0 is the first result), the number of those if it is only in a collapsed "more"
    list, None if it is not shown."""
    page = browser_context.new_page()
    found = {}
    try:
        page.goto(site_server.root, wait_until="networkidle")
        for entry in ENTRIES:
            items = search(page, entry[field])
            wanted = f"questions/#{entry['anchor']}"
            shown_open = [section_of(link, base_path) for item in items for link in item["open"] if "#" in link]
            shown = {section_of(link, base_path) for item in items for link in item["all"]}
            if wanted in shown_open:
                found[entry["id"]] = shown_open.index(wanted)
            else:
                found[entry["id"]] = len(shown_open) if wanted in shown else None
    finally:
        page.close()
    print(f"\nsearch rank of each answer by its {field} (0 = first result):",
          ", ".join(f"{name} {rank}" for name, rank in found.items()))
    return found


@pytest.fixture(scope="module")
def ranks(browser_context, site_server, base_path) -> dict[str, int | None]:
    """Searched for by the question as the page's heading words it."""
    return answer_ranks(browser_context, site_server, base_path, "question")


@pytest.fixture(scope="module")
def title_ranks(browser_context, site_server, base_path) -> dict[str, int | None]:
    """Searched for by the thread's own title: the asker's words, which the page's heading shortens
    or rewords (code such as padding='same', error messages, 'atrous' for dilated)."""
    return answer_ranks(browser_context, site_server, base_path, "title")


def test_search_shows_every_answer_for_its_own_question(ranks):
    assert [name for name, rank in ranks.items() if rank is None] == []


def test_ten_drawn_questions_find_their_answer_in_the_first_three_results(ranks):
    drawn = random.Random(SEED).sample([entry["id"] for entry in ENTRIES], DRAWN)
    assert {name: ranks[name] for name in drawn if ranks[name] is None or ranks[name] >= TOP} == {}


def test_each_thread_s_own_title_shows_its_answer(title_ranks):
    assert [name for name, rank in title_ranks.items() if rank is None] == []


def test_the_data_file_is_the_one_the_site_was_built_from(built_site: Path):
    index = (built_site / "questions" / "index.html").read_text(encoding="utf-8")
    assert all(f'id="{entry["anchor"]}"' in index for entry in ENTRIES)
