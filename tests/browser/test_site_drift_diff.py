"""tools/drift_diff.py: the weekly canary fails with a readable diff, and only on behaviour."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import drift_diff

REPO = Path(__file__).resolve().parents[2]

PAGE = """<p>Built with NumPy {numpy}.</p>
<div class="docexec-output" role="group"><span class="docexec-label">Output</span><pre><code>{array}</code></pre></div>
<p>The output has <span class="docexec-value">{columns}</span> columns.</p>
<figure class="docexec-figure"><img alt="The gradient" src="data:image/svg+xml;base64,{figure}"></figure>
"""
PINNED = dict(numpy="2.4.6", array="[[1. 2.]\n [3. 4.]]", columns="2", figure="AAAA")


def site(root: Path, **changes) -> Path:
    (root / "page").mkdir(parents=True)
    (root / "page" / "index.html").write_text(PAGE.format(**{**PINNED, **changes}), encoding="utf-8")
    return root


def test_version_stamps_alone_are_no_drift(tmp_path):
    assert drift_diff.drift(site(tmp_path / "a"), site(tmp_path / "b", numpy="2.5.0")) == []


def test_changed_output_value_and_figure_each_show_in_the_diff(tmp_path):
    pinned = site(tmp_path / "a")
    changed = site(tmp_path / "b", array="[[1. 2.]\n [3. 5.]]", columns="3", figure="BBBB")
    diff = "\n".join(drift_diff.drift(pinned, changed))
    assert "-     [3. 4.]]" in diff and "+     [3. 5.]]" in diff
    assert "-    2" in diff and "+    3" in diff
    assert diff.count("figure 'The gradient'") == 2


def test_a_page_gone_from_the_newest_build_is_drift(tmp_path):
    newest = tmp_path / "b"
    newest.mkdir()
    assert drift_diff.drift(site(tmp_path / "a"), newest)[0] == "--- pinned/page/index.html"


def test_command_exits_1_with_the_diff_and_0_without(tmp_path):
    command = [sys.executable, str(REPO / "tools" / "drift_diff.py"), str(site(tmp_path / "a"))]
    drifted = subprocess.run([*command, str(site(tmp_path / "b", columns="3"))],
                             capture_output=True, text=True)
    same = subprocess.run([*command, str(site(tmp_path / "c"))], capture_output=True, text=True)
    assert drifted.returncode == 1 and "+    3" in drifted.stdout
    assert same.returncode == 0 and "No drift" in same.stdout
