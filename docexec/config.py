"""The site's `mkdocs.yml`, read in one place with MkDocs' own YAML loader (which resolves
`!ENV` tags and `INHERIT`), for the engine, the tests and the benchmarks."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

CONFIG_NAME = "mkdocs.yml"


def load_mkdocs_config(root: Path, name: str = CONFIG_NAME) -> dict:
    """The configuration as a plain dict; {} when the project has no such file. Not validated
    (validation loads every plugin and theme, seconds of work the callers don't need)."""
    file = Path(root) / name
    if not file.is_file():
        return {}
    try:
        from mkdocs.utils.yaml import yaml_load
    except ImportError:  # another renderer of these pages (Zensical) may come without MkDocs
        return _plain_yaml(file)
    with file.open(encoding="utf-8") as stream:  # a stream, not text: INHERIT is resolved beside it
        return yaml_load(stream) or {}


def _plain_yaml(file: Path) -> dict:
    """The file read without MkDocs: tags such as !ENV become None, INHERIT is not followed."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    return yaml.load(file.read_text(encoding="utf-8"), Loader=Loader) or {}


def nav_entries(config: dict) -> list[tuple[str | None, str]]:
    """The Markdown (and notebook) files of the navigation in reading order, each with its title
    there ("Home: index.md"; None for a page listed without one)."""
    found: list[tuple[str | None, str]] = []

    def walk(entry, title: str | None = None) -> None:
        if isinstance(entry, str):
            if "://" not in entry:
                found.append((title, entry))
        elif isinstance(entry, dict):
            for key, value in entry.items():
                walk(value, str(key))
        elif isinstance(entry, list):
            for value in entry:
                walk(value)

    walk(config.get("nav") or [])
    return found


def nav_pages(config: dict) -> list[str]:
    """The Markdown (and notebook) files of the navigation, in reading order."""
    return [path for _, path in nav_entries(config)]


def reading_order(root: Path, docs: Path) -> list[str]:
    """The Markdown pages under `docs` (paths inside it) in the order the navigation of the
    project at `root` lists them, then any others by name."""
    listed = nav_pages(load_mkdocs_config(root))
    position = {name: index for index, name in reversed(list(enumerate(listed)))}
    pages = [file.relative_to(docs).as_posix() for file in sorted(docs.rglob("*.md"))]
    return sorted(pages, key=lambda name: position.get(name, len(listed)))


def docs_dir(root: Path, config: dict) -> Path:
    return Path(root) / config.get("docs_dir", "docs")


def base_path(config: dict) -> str:
    """The URL path the site is served under (the path of site_url), slashes both ends."""
    path = urlsplit(config.get("site_url") or "").path.strip("/")
    return f"/{path}/" if path else "/"


def derived_config(root: Path, into: Path, name: str, **overrides) -> Path:
    """A config file at `into/name` that inherits the project's `mkdocs.yml` and replaces
    only the given keys (lists are replaced whole), so its `!ENV` tags keep working."""
    import yaml

    file = Path(into) / name
    parent = Path(root).resolve() / CONFIG_NAME
    # MkDocs resolves these paths beside the config that uses them: point them at the project's.
    inherited = load_mkdocs_config(root)
    for key in ("hooks", "watch"):
        if key in inherited and key not in overrides:
            overrides[key] = [str(Path(root).resolve() / path) for path in inherited[key] or []]
    file.write_text(yaml.safe_dump({"INHERIT": str(parent), **overrides}, sort_keys=False), encoding="utf-8")
    return file


_SOURCE_URLS: dict = {}  # (root, repo_url) -> (when, URL): asked once per page, a git call each (~16 ms)
SOURCE_URL_SECONDS = 10.0  # how long an answer is reused: a build's pages share it, `serve` sees a new commit


def source_url(root: Path, config: dict | None = None) -> str:
    """The URL a project file's path is appended to for a reader to open it as built: `repo_url`
    + "/blob/<HEAD's commit>/", so claim boxes link the lines that ran (uncommitted edits: HEAD's
    version). Outside git, `main`, whose lines may have moved. "" when mkdocs.yml has no repo_url."""
    repo = ((load_mkdocs_config(root) if config is None else config).get("repo_url") or "").rstrip("/")
    if not repo:
        return ""
    key, now = (str(Path(root).resolve()), repo), time.monotonic()
    when, url = _SOURCE_URLS.get(key, (None, ""))
    if when is not None and now - when < SOURCE_URL_SECONDS:
        return url
    url = _source_url(root, repo)
    _SOURCE_URLS[key] = (now, url)
    return url


def _source_url(root: Path, repo: str) -> str:
    try:  # the project's folder inside the repository (a site in a subfolder), then the commit
        found = subprocess.run(["git", "rev-parse", "--show-prefix", "HEAD"], cwd=root, capture_output=True,
                               text=True, timeout=10)
        prefix, commit = found.stdout.split("\n")[:2] if found.returncode == 0 else ("", "")
    except (OSError, subprocess.SubprocessError, ValueError):
        prefix, commit = "", ""
    if len(commit) < 40:  # not in git: the default branch, named here
        prefix, commit = "", "main"
    return f"{repo}/blob/{commit}/{prefix}"
