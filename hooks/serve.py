"""A MkDocs hook for `mkdocs serve` only (mkdocs.yml `hooks:`), with two jobs.

**Fast rebuilds** (`make serve` runs `mkdocs serve --dirty`). A dirty MkDocs build re-renders
a page only when its Markdown file is newer than its HTML. That is not enough here: a page
shows what its code printed, and its code lives in other files. So before each dirty rebuild
this hook removes the HTML (which makes MkDocs re-render the page) of

- a page one of whose inputs changed since the last good build (docexec's `PageCache.inputs`:
  its sections' snippet files, the modules its last run loaded, its frozen record; and the
  page's own file);
- the page with the claims index, whose inputs are every other page and theirs;
- every page, when a file they all read changed (mkdocs.yml, a file under docs/ that is not
  published, such as the glossary every page includes, this hook, the project's theme files
  (overrides/, which this hook watches), or a watched file that is no page's input, such as
  the engine), or a page came or went.

MkDocs watches only docs/, mkdocs.yml and `watch:`; this hook also watches the folder of
every file a page's run read (a data file, a module outside snippets/), so saving one
rebuilds, under plain `mkdocs serve` too.

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
    # {path: mtime} of every file the last good build read (pages, their inputs, the files every
    # page reads), taken as the build began, so a save during a build counts at the next one;
    # then, for the frozen records the build itself wrote, as it ended. And that build's pages.
    # A build that fails (strict warnings included) leaves it as it was (on_serve).
    seen: tuple[dict, frozenset] | None = None
    reading: tuple[dict, frozenset] = ({}, frozenset())  # the same, for the build under way
    written: tuple = ()  # the frozen records the build under way may write
    templates: dict = field(default_factory=dict)  # compiled theme templates (TemplateCache)
    server: object = None  # MkDocs' LiveReloadServer, once on_serve has run
    read: set = field(default_factory=set)  # the files the pages' last runs read (resolved)
    watching: set = field(default_factory=set)  # folders this hook asked the server to watch


SESSION = Session()


def on_startup(command, dirty):
    SESSION.dirty = command == "serve" and dirty
    if SESSION.dirty:
        logging.getLogger("mkdocs.commands.build").addFilter(
            lambda record: not str(record.msg).startswith(DIRTY_WARNING))


def on_files(files, config):
    if not SESSION.dirty:
        return files
    pages = list(files.documentation_pages())
    inputs, SESSION.written = page_inputs(pages, config)
    shared = shared_inputs(files, config, set().union(*[found or set() for found in inputs.values()]))
    own = {file: Path(file.abs_src_path).resolve() for file in pages}
    reads = _mtimes({*own.values(), *shared, *[path for found in inputs.values() for path in found or ()]})
    SESSION.reading = (reads, frozenset(file.src_uri for file in pages))
    if SESSION.seen is None:  # the first build: the site directory is empty, every page renders
        return files
    changed = _differ(SESSION.seen[0], reads)
    everywhere = sorted(changed & set(shared))
    if everywhere or SESSION.reading[1] != SESSION.seen[1]:
        why = f"{_shown(everywhere[0], config)} changed" if everywhere else "a page was added or removed"
        stale = {file: why for file in pages}
    else:
        stale = {}
        for file in pages:
            newer = sorted(changed & (inputs.get(file) or set()))
            if inputs.get(file, set()) is None:
                stale[file] = "it did not parse"
            elif own[file] in changed and not newer:
                stale[file] = "its text changed"
            elif newer:
                more = f" and {len(newer) - 1} more" if newer[1:] else ""
                stale[file] = f"{_shown(newer[0], config)}{more} changed"
            elif not os.path.exists(file.abs_dest_path):
                stale[file] = "it has not been rendered"
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
    read = read_by_runs()
    if SESSION.dirty:
        reads, pages = SESSION.reading
        # Files a run read for the first time in this build (none had a record before): as they are now.
        SESSION.seen = ({**_mtimes(read - reads.keys()), **reads, **_mtimes(SESSION.written)}, pages)
    SESSION.read = read
    watch_folders(config)


def read_by_runs() -> set[Path]:
    """Every project file the pages' last runs read (docexec's records of this process)."""
    from docexec.cache import PageCache

    return {(root / file).resolve() for (root, _), record in PageCache.memory.items() for file in record.modules}


def watch_folders(config) -> None:
    """Make MkDocs watch the folder of every file a page's run read that it does not watch
    already (a data file, a module outside snippets/), so that saving one rebuilds."""
    server = SESSION.server
    if server is None:
        return
    covered = [Path(path) for path in [config.docs_dir, *config.watch, *server._watched_paths]
               if str(path) not in SESSION.watching]
    for folder in sorted({path.parent for path in SESSION.read}):
        if str(folder) not in SESSION.watching and not any(folder == c or c in folder.parents for c in covered):
            server.watch(str(folder), recursive=False)
            SESSION.watching.add(str(folder))


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


def page_inputs(pages, config) -> tuple[dict, tuple]:
    """Each docexec page's inputs besides itself (None if it does not parse); and the paths of
    the pages' frozen records, which a build writes."""
    if "docexec" not in config.markdown_extensions:
        return {}, ()
    from docexec import DocexecExtension
    from docexec.extension import page_cache

    cache = page_cache(DocexecExtension(**config.mdx_configs.get("docexec", {})).getConfigs())
    found = {name: None if paths is None else {path.resolve() for path in paths}
             for name, paths in cache.inputs().items()}
    return ({file: found[file.src_uri] for file in pages if file.src_uri in found},
            tuple(cache.store.path(file.src_uri).resolve() for file in pages if file.src_uri in found))


def theme_folders(config) -> list[str]:
    """The theme's folders inside the project (custom_dir: overrides/), resolved; not the
    installed theme's own (Material's 14,000 files, which `--watch-theme` would poll)."""
    project = Path(config.config_file_path or ".").resolve().parent
    return [str(Path(folder).resolve()) for folder in config.theme.dirs
            if Path(folder).resolve() == project or project in Path(folder).resolve().parents]


def shared_inputs(files, config, page_inputs: set) -> list[Path]:
    """What every page reads: the config, unpublished files under docs/, the hooks, the
    project's theme files, and every watched file that is no page's input (`page_inputs`,
    resolved); resolved."""
    shared = [Path(config.config_file_path)] if config.config_file_path else []
    shared += [Path(file.abs_src_path) for file in files if file.inclusion.is_excluded() and file.abs_src_path]
    shared += [Path(hook.__file__) for hook in config.hooks.values() if getattr(hook, "__file__", None)]
    for watched in [*config.watch, *theme_folders(config)]:
        if os.path.isfile(watched):
            shared.append(Path(watched))
        for folder, _, names in os.walk(watched):
            # not editors' swap and backup files, nor Python's caches
            shared += [Path(folder, name) for name in names
                       if "__pycache__" not in folder and not name.startswith(".") and not name.endswith("~")]
    return [path for path in {path.resolve() for path in shared} if path not in page_inputs]


def _mtimes(paths) -> dict[Path, int | None]:
    found = {}
    for path in paths:
        try:
            found[path] = path.stat().st_mtime_ns
        except OSError:
            found[path] = None
    return found


def _differ(before: dict, now: dict) -> set[Path]:
    """The paths whose modification time differs, or that only one of the two has."""
    return {path for path in before.keys() | now.keys() if before.get(path) != now.get(path)}


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
        last_good = SESSION.seen
        try:
            build()
        except Exception as error:  # MkDocs' Abort, a plugin's error, a DocexecError...
            # MkDocs runs post_build before strict mode aborts on warnings: a page whose warning
            # failed this build must not count as done, or the next save would leave it alone
            # and the build would pass with the warning's cause still there.
            SESSION.seen = last_good
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
    SESSION.server = server
    for folder in theme_folders(config):  # probe 29: an edit of overrides/ rebuilt nothing
        server.watch(folder)
    watch_folders(config)
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
