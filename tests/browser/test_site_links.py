"""No broken internal link or #anchor in the built site (tools/check_links.py, itself tested in
tests/tools/test_check_links.py)."""

from __future__ import annotations

import check_links


def test_built_site_has_no_broken_internal_link_or_anchor(built_site, base_path):
    broken, checked = check_links.check_site(built_site, base_path)
    assert [str(link) for link in broken] == []
    assert checked > 0
