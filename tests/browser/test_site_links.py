"""No broken link or #anchor in the built site (tools/check_links.py, itself tested in
tests/tools/test_check_links.py): relative links, root-absolute ones, absolute ones under
site_url (as the notebook writes them, for Colab), and the links inside the notebook file a
reader downloads. The notebook's "Download" link names that file."""

from __future__ import annotations

import re

import check_links
from docexec import config
from helpers import REPO


def site_url() -> str:
    return config.load_mkdocs_config(REPO)["site_url"]


def test_built_site_has_no_broken_link_or_anchor(built_site, base_path):
    broken, checked = check_links.check_site(built_site, base_path, site_url())
    assert [str(link) for link in broken] == []
    assert checked > 0


def test_the_notebook_download_link_is_the_notebook_file(built_site):
    page = (built_site / "walkthrough" / "index.html").read_text(encoding="utf-8")
    links = re.findall(r'<a\b[^>]*href="([^"]*\.ipynb)"[^>]*>\s*Download', page)
    assert links, "the notebook page has no Download link to an .ipynb file"
    for link in links:
        assert not link.startswith(("http:", "https:")), f"{link}: links to the site stay relative in the page"
        assert (built_site / "walkthrough" / link).is_file(), link


def test_links_to_the_site_stay_on_the_host_that_serves_it(built_site):
    """In the rendered pages a link to the site is relative (a preview or `make serve` keeps the
    reader there); only the notebook file keeps site_url, for Colab."""
    absolute, url = {}, site_url()  # read once: loading mkdocs.yml per link took most of a minute
    for page in built_site.rglob("*.html"):
        found = [href for href in re.findall(r'<a\b[^>]*\bhref="([^"]*)"', page.read_text(encoding="utf-8"))
                 if href.startswith(url)]
        if found:
            absolute[page.relative_to(built_site).as_posix()] = found
    assert absolute == {}
    notebook = (built_site / "walkthrough" / "walkthrough.ipynb").read_text(encoding="utf-8")
    assert url in notebook
