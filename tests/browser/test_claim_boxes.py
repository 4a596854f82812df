"""Claim boxes (docexec/render.py) take little room: as a reader first sees them, closed, at
1280x800, they are at most CLAIM_SHARE_BOUND of any page's height.

Reader review (issue 24, finding 4) measured 18-20 % of every page (explore 38-40 %) when each
box listed the library versions and the check's code path; the boxes are now a one-line title,
the sentence and a closed "Show the check". The share of each page is printed and saved to
test-artifacts/claim-share.json.
"""
from __future__ import annotations

import json
from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CLAIM_SHARE_BOUND = 0.10


def test_claim_boxes_take_at_most_a_tenth_of_each_page(page_reports):
    """Measured by site_visit.visit right after each page loads (CLAIM_VIEWPORT, CLAIM_SHARE_JS)."""
    shares, too_big = {}, {}
    for path, report in page_reports.items():
        measured = report.claim_share
        assert measured["open"] == 0, f"{path}: a claim box is open before the reader opens it"
        if not measured["boxes"]:
            continue
        share = measured["claims"] / measured["page"]
        shares[path or "/"] = {"boxes": measured["boxes"], "share": round(share, 4)}
        if share > CLAIM_SHARE_BOUND:
            too_big[path or "/"] = f"{share:.1%} ({measured['boxes']} boxes)"
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "claim-share.json").write_text(json.dumps(shares, indent=2))
    print("\nclaim boxes' share of each page's height at 1280x800:")
    for path, measured in shares.items():
        print(f"  {path:40} {measured['boxes']:>3} boxes {measured['share']:>7.1%}")
    assert shares, "no page has a claim box"
    assert too_big == {}, f"claim boxes take more than {CLAIM_SHARE_BOUND:.0%} of these pages"
