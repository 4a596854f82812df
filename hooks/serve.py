"""A MkDocs hook for `mkdocs serve` only (mkdocs.yml `hooks:`), with two jobs.

**Fast rebuilds** (`make serve` runs `mkdocs serve --dirty`). A dirty MkDocs build re-renders
a page only when its Markdown file is newer than its HTML. That is not enough here: a page
shows what its code printed, and its code lives in other files. So before each dirty rebuild
this hook also removes the HTML (which makes MkDocs re-render the page) of

- a page one of whose inputs is newer than its HTML (docexec's `PageCache.inputs`: its
  sections' snippet files, the modules its last run loaded, its frozen record);
- the page with the claims index, whose inputs are every other page and theirs;
- every page, when a file they all read changed since the last good build (mkdocs.yml, a
  file under docs/ that is not published, such as the glossary every page includes, this
  hook, or a watched file that is no page's input, such as the engine), or a page came or went.

MkDocs warns that a dirty build "will likely lead to inaccurate navigation": for the reasons
above that one warning is dropped (only under `serve --dirty`); every other warning still
fails the strict build. Plain `mkdocs serve` rebuilds everything, as before.

**A page naming the failure.** MkDocs 1.6.1's server holds each page request until a rebuild
succeeds ("The server will appear stuck until build errors are resolved"). Here the builder
never raises: a failed build records the errors MkDocs logged and lets the version move on,
and page requests are answered with those errors (with the live-reload script, so the
browser reloads by itself once a save fixes them).
"""

from __future__ import annotations

import html
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import BytecodeCache

LOG = logging.getLogger("mkdocs.hooks.serve")
DIRTY_WARNING = "A 'dirty' build is being performed"

# Public: `on_serve`, `server.builder` and `server.serve_request` (the WSGI app, swapped with the
# standard `set_app`), `server.observer`, `watch` and `unwatch`. Private, because MkDocs offers no
# way to put its live-reload script into a page it did not build: `_epoch_cond`, `_visible_epoch`
# and `_inject_js_into_html`; and, because it offers no way to list what is watched,
# `_watched_paths` (of MkDocs 1.6.1's LiveReloadServer). tests/test_serve.py pins that version
# and those names.
MKDOCS_VERSION = "1.6.1"
# MkDocs polls the watched files every 0.5 s: on average a quarter of a second, and up to half
# a second, before a rebuild starts. Polling the ~100 watched files takes well under 1 ms.
POLL_SECONDS = 0.1


@dataclass
class Session:
    """This process's serve session (MkDocs loads a hook once per process and keeps it across
    rebuilds; each rebuild loads the configuration afresh)."""

    dirty: bool = False  # `mkdocs serve --dirty`
    failure: str | None = None  # the last rebuild's errors, shown instead of every page
    built: float | None = None  # when the last good build read its inputs
    starting: float = 0.0  # when this build read them
    pages: frozenset = field(default_factory=frozenset)  # the pages of the last good build
    reading: frozenset = field(default_factory=frozenset)  # the pages of this build
    templates: dict = field(default_factory=dict)  # compiled theme templates (TemplateCache)


SESSION = Session()


def on_startup(command, dirty):
    SESSION.dirty = command == "serve" and dirty
    if SESSION.dirty:
        logging.getLogger("mkdocs.commands.build").addFilter(
            lambda record: not str(record.msg).startswith(DIRTY_WARNING))


def on_files(files, config):
    if not SESSION.dirty:
        return files
    SESSION.starting = time.time()
    pages = list(files.documentation_pages())
    SESSION.reading = frozenset(file.src_uri for file in pages)
    if SESSION.built is None:  # the first build: the site directory is empty, every page renders
        return files
    inputs = page_inputs(pages, config)
    shared = shared_inputs(files, config, set().union(*[found or set() for found in inputs.values()]))
    changed = [path for path in shared if _mtime(path) > SESSION.built]
    if changed or SESSION.reading != SESSION.pages:
        why = f"{_shown(changed[0], config)} changed" if changed else "a page was added or removed"
        stale = {file: why for file in pages}
    else:
        stale = {}
        for file in pages:
            found = inputs.get(file, set())
            output = _mtime(Path(file.abs_dest_path))
            newer = sorted(path for path in (found or ()) if _mtime(path) > output)
            if found is None:
                stale[file] = "it did not parse"
            elif newer:
                more = f" and {len(newer) - 1} more" if newer[1:] else ""
                stale[file] = f"{_shown(newer[0], config)}{more} changed"
            elif file.is_modified():
                stale[file] = "its text changed"
    for file in stale:
        Path(file.abs_dest_path).unlink(missing_ok=True)
    LOG.info("Re-rendering %d of %d pages: %s", len(stale), len(pages),
             "; ".join(f"{file.src_uri} ({why})" for file, why in stale.items()) or "none")
    return files


def on_env(env, config, files):
    """Each build makes a new Jinja environment, which compiles Material's templates again
    (about 0.2 s here): under `serve --dirty` they are compiled once, and again when changed."""
    if SESSION.dirty:
        env.bytecode_cache = TemplateCache(SESSION.templates)
    return env


def on_post_build(config):
    if SESSION.dirty:
        SESSION.built, SESSION.pages = SESSION.starting, SESSION.reading


class TemplateCache(BytecodeCache):
    """Jinja's bytecode cache, in memory. Jinja checks each entry's checksum of the template's
    source, so an edited template is compiled again."""

    def __init__(self, store: dict):
        self.store = store

    def load_bytecode(self, bucket):
        if bucket.key in self.store:
            bucket.bytecode_from_string(self.store[bucket.key])

    def dump_bytecode(self, bucket):
        self.store[bucket.key] = bucket.bytecode_to_string()


def page_inputs(pages, config) -> dict:
    """Each docexec page's inputs besides itself (None if it does not parse)."""
    if "docexec" not in config.markdown_extensions:
        return {}
    from docexec import DocexecExtension
    from docexec.extension import page_cache

    cache = page_cache(DocexecExtension(**config.mdx_configs.get("docexec", {})).getConfigs())
    found = cache.inputs()
    return {file: found[file.src_uri] for file in pages if file.src_uri in found}


def shared_inputs(files, config, page_inputs: set) -> list[Path]:
    """What every page reads: the config, unpublished files under docs/, the hooks, and every
    watched file that is no page's input."""
    shared = [Path(config.config_file_path)] if config.config_file_path else []
    shared += [Path(file.abs_src_path) for file in files if file.inclusion.is_excluded() and file.abs_src_path]
    shared += [Path(hook.__file__) for hook in config.hooks.values() if getattr(hook, "__file__", None)]
    for watched in config.watch:
        if os.path.isfile(watched):
            shared.append(Path(watched))
        for folder, _, names in os.walk(watched):
            shared += [Path(folder, name) for name in names if "__pycache__" not in folder]
    read = {found.resolve() for found in page_inputs}
    return [path for path in shared if path.resolve() not in read]


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _shown(path: Path, config) -> str:
    try:
        return Path(path).resolve().relative_to(Path(config.config_file_path).resolve().parent).as_posix()
    except ValueError:
        return str(path)


class _Collect(logging.Handler):
    """The build's warning and error lines, as MkDocs printed them (a DocexecError says page
    and line; under strict mode a warning is what failed the build)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def on_serve(server, config, builder):
    if getattr(server, "_docexec_guarded", False):
        return server
    build, serve_request = server.builder, server.serve_request

    def guarded_build():
        collect = _Collect()
        logger = logging.getLogger("mkdocs")
        logger.addHandler(collect)
        try:
            build()
        except Exception as error:  # MkDocs' Abort, a plugin's error, a DocexecError...
            lines = [line for line in collect.lines if line.strip()]
            if str(error) not in lines:
                lines.append(f"{type(error).__name__}: {error}")
            SESSION.failure = "\n".join(lines)
            logging.getLogger("mkdocs.docexec").error(
                "The rebuild failed; every page shows why until a save fixes it."
            )
        else:
            SESSION.failure = None
        finally:
            logger.removeHandler(collect)

    def answer(environ, start_response):
        failure = SESSION.failure
        path = environ.get("PATH_INFO", "")
        if failure is None or path.startswith("/livereload/") or not (path.endswith("/") or path.endswith(".html")):
            return serve_request(environ, start_response)
        with server._epoch_cond:
            epoch = server._visible_epoch
        content = server._inject_js_into_html(_error_page(failure).encode("utf-8"), epoch)
        start_response("500 Internal Server Error", [
            ("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(content)))])
        return [content]

    server.builder = guarded_build
    server.set_app(answer)
    _poll_every(server, POLL_SECONDS)
    server._docexec_guarded = True
    return server


def _poll_every(server, seconds: float) -> None:
    """The same watches, on a polling observer of `seconds` (not yet started: serve() starts it)."""
    from watchdog.observers.polling import PollingObserver

    watched = list(server._watched_paths)
    for path in watched:
        while path in server._watched_paths:
            server.unwatch(path)
    server.observer = PollingObserver(timeout=seconds)
    for path in watched:
        server.watch(path)


def _error_page(failure: str) -> str:
    return (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Build failed</title></head>"
        "<body><main><h1>The last rebuild failed</h1>"
        "<p>Fix what is named below and save: this page reloads when the site builds again.</p>"
        f"<pre>{html.escape(failure)}</pre></main></body></html>"
    )
