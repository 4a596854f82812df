"""snippets/questions.py: the numbers the short answers quote are Keras's (or PyTorch's); the
collected questions (data/questions.yml) and docs/questions.md agree, entry by entry; and every
link of the built page lands on an anchor that exists."""

import functools
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
from markdown.extensions.toc import slugify

from helpers import REPO, page_module
from snippets import keras_ref
from tools.word_count import prose_words

questions = page_module("questions")  # its grid claims are the check build's

SOURCES = questions.load_sources(REPO / "data" / "questions.yml")
PAGE = (REPO / "docs" / "questions.md").read_text(encoding="utf-8")
ANSWERS = questions.answers(PAGE)
ENTRIES = SOURCES["questions"]


# --- the data file ---------------------------------------------------------------------------

def test_at_least_32_distinct_questions_each_with_its_own_id_heading_and_anchor():
    assert len(ENTRIES) >= 32
    for field in ("id", "question", "anchor"):
        values = [entry[field] for entry in ENTRIES]
        assert len(set(values)) == len(values), f"a repeated {field}"


@pytest.mark.parametrize("entry", ENTRIES, ids=[entry["id"] for entry in ENTRIES])
def test_an_entry_has_every_field_and_a_well_formed_https_source(entry):
    assert set(entry) == {"id", "question", "url", "title", "site", "topic", "anchor"}
    assert all(isinstance(value, str) and value.strip() for value in entry.values())
    url = urlsplit(entry["url"])
    assert url.scheme == "https" and "." in url.netloc and not re.search(r"\s", entry["url"]), entry["url"]
    assert entry["topic"] in SOURCES["topics"]


@pytest.mark.parametrize("entry", ENTRIES, ids=[entry["id"] for entry in ENTRIES])
def test_the_anchor_is_the_id_the_table_of_contents_gives_the_question(entry):
    assert entry["anchor"] == slugify(entry["question"], "-")


# --- the page against the data file ---------------------------------------------------------

def test_the_page_and_the_data_file_agree():
    assert questions.problems(PAGE, SOURCES) == []


def test_every_topic_is_an_h2_of_the_page_in_the_data_file_order():
    h2 = [line[3:].strip() for line in PAGE.splitlines() if line.startswith("## ")]
    used = list(dict.fromkeys(entry["topic"] for entry in ENTRIES))
    assert h2 == [SOURCES["topics"][topic] for topic in used] == list(SOURCES["topics"].values())


@pytest.mark.parametrize("entry", ENTRIES, ids=[entry["id"] for entry in ENTRIES])
def test_an_answer_is_at_most_120_words_and_links_a_claim_or_says_it_was_read(entry):
    topic, answer = ANSWERS[entry["question"]]
    answer, asked = questions.without_source(answer)
    assert f"[{entry['title']}]({entry['url']})" in asked
    assert topic == SOURCES["topics"][entry["topic"]]
    assert 0 < prose_words(answer) <= questions.MAX_WORDS
    assert questions.claim_links(answer) or questions.READ_MARKER in answer


def test_an_answer_about_a_gpu_says_no_gpu_was_run():
    for entry in ENTRIES:
        answer = ANSWERS[entry["question"]][1]
        if re.search(r"\bGPU", answer):
            assert "No GPU was run" in answer or questions.READ_MARKER in answer, entry["id"]


@pytest.mark.parametrize("break_it, expected", [
    (lambda page: page.replace("### Does zero padding require memory?\n", ""), "padding-memory: no H3 heading"),
    (lambda page: page.replace("Nothing there is trained.", "Nothing there is trained. " + "word " * 121),
     "avoid-padded-zones: "),
    (lambda page: page.replace("(read, not run: PyTorch issue 67551)", "")
     .replace("[pad by hand, then `padding=0`]"
              "(#is-there-really-no-paddingsame-in-pytorch-and-how-do-i-decide-which-side-to-pad).", "works."),
     "same-stride-2-fails: links no claim"),
    (lambda page: page + "\n### A question nobody asked?\n\nAn answer.\n", "which data/questions.yml does not list"),
    (lambda page: page.replace("(https://github.com/keras-team/keras/issues/12204)", "(https://example.org/)"),
     "padding-memory: does not link its source"),
])
def test_the_agreement_check_fails_when_the_page_is_broken(break_it, expected):
    broken = break_it(PAGE)
    assert broken != PAGE
    assert any(expected in problem for problem in questions.problems(broken, SOURCES))


def test_the_agreement_check_fails_when_an_entry_moves_topic():
    moved = json.loads(json.dumps(SOURCES))
    moved["questions"][0]["topic"] = "pooling"
    assert any("same-strides: under" in problem for problem in questions.problems(PAGE, moved))


# --- the built page --------------------------------------------------------------------------

class Anchors(HTMLParser):
    """The ids of a built page and the targets of its links."""

    def __init__(self):
        super().__init__()
        self.ids, self.links = set(), []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])


@functools.cache  # a page is read once, not once per link to it (each answer links several claims)
def parsed(path: Path) -> Anchors:
    anchors = Anchors()
    anchors.feed(path.read_text(encoding="utf-8"))
    return anchors


def article_links(page: Path) -> list[str]:
    """The links inside the page's article (the answers), not the theme's navigation."""
    html = page.read_text(encoding="utf-8")
    anchors = Anchors()
    anchors.feed(html[html.index("<article"):html.index("</article>")])
    return anchors.links


def test_every_question_has_its_anchor_on_the_built_page(built_site):
    ids = parsed(built_site / "questions" / "index.html").ids
    assert [entry["anchor"] for entry in ENTRIES if entry["anchor"] not in ids] == []


def test_every_link_of_the_built_page_lands_on_an_existing_anchor(built_site):
    page = built_site / "questions" / "index.html"
    dangling, checked = [], 0
    for href in article_links(page):
        target = urlsplit(href)
        if target.scheme or not target.fragment:
            continue
        file = (page.parent / target.path / "index.html") if target.path else page
        file = file.resolve()
        checked += 1
        if not file.is_file() or target.fragment not in parsed(file).ids:
            dangling.append(href)
    assert checked >= len(ENTRIES)
    assert dangling == []


def test_every_claim_anchor_an_answer_links_is_listed_for_the_report(built_site):
    """The claims the answers rely on, each resolved (printed with -s, for re-pointing after merges)."""
    linked = sorted({href for href in article_links(built_site / "questions" / "index.html") if "#claim-" in href})
    print("\n".join(linked))
    assert linked


def test_the_search_index_has_a_section_for_every_answer(built_site):
    index = json.loads((built_site / "search" / "search_index.json").read_text(encoding="utf-8"))
    locations = {doc["location"] for doc in index["docs"]}
    assert [entry["id"] for entry in ENTRIES if f"questions/#{entry['anchor']}" not in locations] == []


# --- the numbers the answers quote -------------------------------------------------------------

def test_porting_padding_is_what_keras_same_pads_at_stride_two():
    rng = np.random.default_rng(0)
    x, kernel = rng.normal(size=(1, 6, 6, 1)), rng.normal(size=(3, 3, 1, 1))
    pads = (questions.port_before, questions.port_after)
    np.testing.assert_allclose(keras_ref.conv2d(x, kernel, strides=2, padding="same"),
                               keras_ref.conv2d(np.pad(x, [(0, 0), pads, pads, (0, 0)]), kernel, strides=2), atol=1e-5)
    assert pads == (0, 1)


@pytest.mark.parametrize("size, kernel_size, stride, dilation, pads", [
    (100, 4, 1, 1, (questions.side_before, questions.side_after)),
    (64, 4, 2, 1, questions.strides_pads),
    (2, 3, 2, 1, questions.two_pads),
    (32, 3, 1, 2, questions.dilated_pads),
    (5, 2, 2, 1, questions.onnx_pads),
])
def test_the_quoted_amounts_are_what_keras_same_pads(size, kernel_size, stride, dilation, pads):
    rng = np.random.default_rng(size)
    x, kernel = rng.normal(size=(1, size, 3, 1)), rng.normal(size=(kernel_size, 1, 1, 1))
    padded = np.pad(x, [(0, 0), pads, (0, 0), (0, 0)])
    np.testing.assert_allclose(
        keras_ref.conv_with_gradients(x, kernel, strides=(stride, 1), padding="same", dilation=(dilation, 1))[0],
        keras_ref.conv_with_gradients(padded, kernel, strides=(stride, 1), dilation=(dilation, 1))[0], atol=1e-5)


def test_the_other_quoted_numbers():
    assert questions.side_after == questions.side_before + 1
    assert questions.forum_corner == questions.forum_corner_pixels == 1 + 2 + 4 + 5
    assert questions.stride_1_pads == (1, 1)
    assert (questions.cv_out, questions.cv_full) == (7, 8)
    assert questions.quiz_out == 13 and questions.quiz_unread == [27]
    assert questions.reach == {"same": (4, 6, 9), "valid": (1, 3, 9)}
    assert questions.causal_zeros == 4
    assert (questions.transposed_0, questions.transposed_none) == (25, 26)
    assert questions.conv2d_sizes == {7: 4, 8: 4}
    assert questions.pool_shapes == {"same": (1, 2), "valid": (1, 1)}
    assert float(questions.pool_same[-1, -1]) == -2.0
    assert questions.fit_jit_here is False


def test_the_2d_rule_fails_on_a_wrong_rule():
    """The check can fail: with every row counted as read, stride 3 leaves pixels it calls read at zero."""
    original = questions.read_positions
    try:
        questions.read_positions = lambda size, *rest: set(range(size))
        assert not questions.no_gradient_exactly_off_read_rows_and_columns(1, 3, "valid")
    finally:
        questions.read_positions = original
    assert questions.no_gradient_exactly_off_read_rows_and_columns(1, 3, "valid")


def test_pytorch_padding_matches_tensorflow_same_exactly_when_size_and_kernel_parities_match():
    """Run here with Keras on TensorFlow: PyTorch's symmetric padding against TensorFlow itself
    (expert review of edition 4, W-B: even kernels match on even sizes, not odd ones; edition 5, W1:
    a 1x1 kernel matches on every size, odd and even)."""
    for size in range(4, 12):
        for kernel_size in range(1, 7):
            assert questions.symmetric_padding_is_same_exactly_when_parities_match(size, kernel_size)
    import torch
    assert questions.refusal(ValueError, lambda: torch.nn.Conv2d(1, 1, 3, stride=2, padding="same")) == (
        questions.STRIDED_SAME)
    assert questions.refusal(RuntimeError, lambda: torch.nn.functional.conv2d(
        torch.zeros(1, 1, 5, 5), torch.zeros(1, 1, 3, 3), stride=2, padding="same")) == questions.STRIDED_SAME
    assert questions.refusal(RuntimeError, lambda: torch.nn.Conv2d(1, 1, 3, stride=1, padding="same")) is None



def test_transposed_port_holds_on_its_grid_and_not_with_the_odd_crop_before():
    """The conv_transpose2d recipe on the page's 60 configurations, against Keras on TensorFlow; slicing
    from the larger half instead (the odd cropped position before) fails where the crop total is odd."""
    checked = questions.over(questions.grid(kernel=(1, 2, 3, 4, 5), stride=(1, 2, 3), size=(4, 5, 6, 7)),
                             questions.sliced_transpose_is_keras)
    assert checked and checked.count == 60
    import torch
    draw = np.random.default_rng(0)
    x = draw.normal(size=(1, 5, 5, 2)).astype("float32")
    kernel = draw.normal(size=(4, 4, 3, 2)).astype("float32")  # k=4, s=1: 3 cropped, 1 before, 2 after
    expected = questions.keras_transpose_same(x, kernel, 1)
    full = torch.nn.functional.conv_transpose2d(torch.from_numpy(x.transpose(0, 3, 1, 2)),
                                                torch.from_numpy(kernel.transpose(3, 2, 0, 1))).numpy()
    wrong = full[:, :, 2:7, 2:7].transpose(0, 2, 3, 1)
    right = full[:, :, 1:6, 1:6].transpose(0, 2, 3, 1)
    assert np.allclose(right, expected, atol=1e-4) and not np.allclose(wrong, expected, atol=1e-4)


def test_tf_pad_then_valid_fails_with_the_odd_zero_before():
    """The tf.pad check can fail: the uneven split the other way round (1 before, 0 after) is not "SAME"."""
    original = questions.same_amounts
    try:
        questions.same_amounts = lambda n, k, s, d: original(n, k, s, d)[::-1]
        assert not questions.pad_then_valid_is_same(6, 2, 1, 1)
    finally:
        questions.same_amounts = original
    assert questions.pad_then_valid_is_same(6, 2, 1, 1)
    assert questions.same_amounts(64, 4, 2, 1) == questions.strides_pads


def test_output_padding_0_with_an_even_kernel_raises_on_tensorflow():
    """Expert review 13-D, W1: on TensorFlow the even kernel's layer raises when called; the odd one round-trips."""
    assert questions.output_padding_0_round_trip(kernel_size=4, stride=2, size=6)
    assert questions.output_padding_0_round_trip(kernel_size=3, stride=2, size=6)


def test_the_2d_pooling_references_give_the_reviews_numbers():
    """Expert review 13-D, W2: 1..9 in 3x3, pools (3, 2), strides (1, 2): PyTorch's Keras replicates both axes,
    TensorFlow and JAX average real cells; the two references tell them apart."""
    x = np.arange(1.0, 10.0).reshape(3, 3)
    np.testing.assert_allclose(questions.average_pool_2d(x, (3, 2), (1, 2), replicate=True),
                               [[2.5, 4.0], [4.5, 6.0], [6.5, 8.0]])
    np.testing.assert_allclose(questions.average_pool_2d(x, (3, 2), (1, 2), replicate=False),
                               [[3.0, 4.5], [4.5, 6.0], [6.0, 7.5]])
    assert questions.average_pooling_2d_as_this_backend_does(3, 2, 1, 2)
