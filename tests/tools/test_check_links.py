"""tools/check_links.py: on a tiny site broken on purpose, it reports exactly the links that are broken there
and none of the good ones (tests/browser/test_site_links.py runs it on the built site)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import check_links
from helpers import REPO

TINY_SITE = {
    "index.html": """<h1 id="top">Home</h1>
        <a href="guide/">fine: a folder with index.html</a>
        <a href="guide/#setup">fine: anchor on another page</a>
        <a href="#top">fine: anchor on this page</a>
        <a href="https://example.org/missing">fine: another host, not fetched</a>
        <a href="mailto:someone@example.org">fine: not a page</a>
        <a href="/base/guide/">fine: root-absolute under the base path</a>
        <img src="assets/figure.svg" alt="fine">
        <a href="missing/">broken: no such page</a>
        <a href="#nowhere">broken: no such anchor here</a>
        <a href="/elsewhere/guide/">broken: outside the base path</a>""",
    "guide/index.html": """<h2 id="setup">Setup</h2><a name="legacy"></a>
        <a href="../#top">fine</a>
        <a href="../index.html#legacy">broken: the anchor is on guide/, not on the home page</a>
        <a href="../assets/gone.css">broken: no such file</a>
        <a href="../../../outside/">broken: above the site root</a>
        <a href="#legacy">fine: an a name counts as an anchor</a>""",
    "assets/figure.svg": "<svg xmlns='http://www.w3.org/2000/svg'/>",
}

EXPECTED_BROKEN = {
    ("index.html", "missing/"),
    ("index.html", "#nowhere"),
    ("index.html", "/elsewhere/guide/"),
    ("guide/index.html", "../index.html#legacy"),
    ("guide/index.html", "../assets/gone.css"),
    ("guide/index.html", "../../../outside/"),
}


def write_site(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_checker_reports_exactly_the_broken_links(tmp_path):
    site = write_site(tmp_path, TINY_SITE)
    broken, checked = check_links.check_site(site, base_path="/base/")
    assert {(link.page, link.target) for link in broken} == EXPECTED_BROKEN
    assert checked == 13  # the https: and mailto: links are not internal


def test_checker_command_fails_on_a_broken_site_and_passes_a_sound_one(tmp_path):
    sound = {name: text for name, text in TINY_SITE.items() if "broken" not in text}
    sound["index.html"] = '<h1 id="top"></h1><a href="#top">fine</a>'
    command = [sys.executable, str(REPO / "tools" / "check_links.py"), "--base-path", "/base/"]
    broken_run = subprocess.run([*command, str(write_site(tmp_path / "broken", TINY_SITE))],
                                capture_output=True, text=True)
    sound_run = subprocess.run([*command, str(write_site(tmp_path / "sound", sound))],
                               capture_output=True, text=True)
    assert broken_run.returncode == 1 and "6 broken" in broken_run.stdout
    assert sound_run.returncode == 0, sound_run.stdout


def test_links_under_the_site_url_and_in_notebooks_are_checked(tmp_path):
    site = write_site(tmp_path, {
        "index.html": """<h1 id="top"></h1>
            <a href="https://example.org/base/guide/">fine: under the site's address</a>
            <a href="https://example.org/base/gone/">broken: under the site's address, no such page</a>
            <a href="https://example.org/other/">fine: not under the site's address</a>""",
        "guide/index.html": "<p>guide</p>",
        "guide/book.ipynb": json.dumps({"cells": [
            {"cell_type": "markdown", "source": ["[here](https://example.org/base/book.ipynb) and ",
                                                 "[there](https://example.org/base/guide/book.ipynb)"]},
            {"cell_type": "code", "source": ["'[not a link](https://example.org/base/x)'"]},
        ]}),
    })
    broken, checked = check_links.check_site(site, site_url="https://example.org/base/")
    assert {(link.page, link.target) for link in broken} == {
        ("index.html", "https://example.org/base/gone/"),
        ("guide/book.ipynb", "https://example.org/base/book.ipynb"),
    }
    assert checked == 4
