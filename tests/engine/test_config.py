"""mkdocs.yml read once, by MkDocs' own loader (docexec/config.py)."""

from __future__ import annotations

from docexec.config import base_path, derived_config, docs_dir, load_mkdocs_config, nav_pages
from helpers import REPO


def test_the_real_config_loads():
    config = load_mkdocs_config(REPO)
    assert nav_pages(config)[0] == "index.md" and "claims.md" in nav_pages(config)
    assert base_path(config) == "/keras-padding-backprop/"
    assert docs_dir(REPO, config) == REPO / "docs"


def test_env_tags_are_resolved(tmp_path, monkeypatch):
    (tmp_path / "mkdocs.yml").write_text("site_name: x\nplugins:\n  - p:\n      run: !ENV [CI, false]\n")
    monkeypatch.setenv("CI", "true")
    assert load_mkdocs_config(tmp_path)["plugins"][0]["p"]["run"] is True
    monkeypatch.delenv("CI")
    assert load_mkdocs_config(tmp_path)["plugins"][0]["p"]["run"] is False


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


def test_no_plugin_writes_a_cache_into_the_project_tree():
    """Probe 69: mkdocs-jupyter's cache (.cache/ under the tree, on by default) made a build of
    a read-only checkout fail; docexec itself writes nothing in auto mode."""
    config = load_mkdocs_config(REPO)
    jupyter = next(plugin["mkdocs-jupyter"] for plugin in config["plugins"]
                   if isinstance(plugin, dict) and "mkdocs-jupyter" in plugin)
    assert jupyter.get("cache") is False
