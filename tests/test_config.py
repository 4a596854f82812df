"""mkdocs.yml read once, by MkDocs' own loader (docexec/config.py)."""

from __future__ import annotations

from pathlib import Path

from docexec.config import base_path, derived_config, docs_dir, load_mkdocs_config, nav_pages

REPO = Path(__file__).resolve().parents[1]


def test_the_real_config_loads_with_its_env_tags(monkeypatch):
    monkeypatch.setenv("CI", "true")
    config = load_mkdocs_config(REPO)
    jupyter = next(plugin["mkdocs-jupyter"] for plugin in config["plugins"] if isinstance(plugin, dict))
    assert jupyter["execute"] is True  # `!ENV [CI, false]`, resolved
    assert nav_pages(config)[0] == "index.md" and "claims.md" in nav_pages(config)
    assert base_path(config) == "/keras-padding-backprop/"
    assert docs_dir(REPO, config) == REPO / "docs"


def test_a_derived_config_inherits_and_replaces_keys(tmp_path):
    (tmp_path / "mkdocs.yml").write_text("site_name: x\nstrict: true\nnav:\n  - a.md\n")
    derived_config(tmp_path, tmp_path, "other.yml", strict=False, nav=["b.md"])
    config = load_mkdocs_config(tmp_path, "other.yml")
    assert config == {"site_name": "x", "strict": False, "nav": ["b.md"]}


def test_no_config_is_an_empty_one(tmp_path):
    assert load_mkdocs_config(tmp_path) == {} and base_path({}) == "/"


def test_without_mkdocs_the_nav_is_still_read(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "mkdocs.utils.yaml", None)  # as if MkDocs were not installed
    config = load_mkdocs_config(REPO)
    assert nav_pages(config)[0] == "index.md" and base_path(config) == "/keras-padding-backprop/"
