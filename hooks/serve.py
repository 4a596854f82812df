"""A MkDocs hook for `mkdocs serve` only (mkdocs.yml `hooks:`): after a failed rebuild, every
page request gets a page naming the failure, and the next good save brings the site back.

MkDocs 1.6.1's server holds each page request until a rebuild succeeds ("The server will
appear stuck until build errors are resolved"): its build loop publishes a new site version
only after a build that did not raise, and requests wait for the version being built. Here
the builder never raises: a failed build records the errors MkDocs logged and lets the
version move on, and page requests are answered with those errors (with the live-reload
script, so the browser reloads by itself once a save fixes them). Pages are executed by the
Markdown extension as before; this only changes what `serve` shows while a build is broken.
"""

from __future__ import annotations

import html
import logging

_FAILURE: dict = {"text": None}


class _Collect(logging.Handler):
    """The build's error lines, as MkDocs printed them (a DocexecError says page and line)."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


# Public: `on_serve`, `server.builder` and `server.serve_request` (the WSGI app, swapped with the
# standard `set_app`). Private, because MkDocs offers no way to put its live-reload script into a
# page it did not build: `_epoch_cond`, `_visible_epoch` and `_inject_js_into_html` of MkDocs
# 1.6.1's LiveReloadServer; tests/test_serve.py pins that version and those names.
MKDOCS_VERSION = "1.6.1"


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
            lines = [line for line in collect.lines if line.strip()] or [f"{type(error).__name__}: {error}"]
            _FAILURE["text"] = "\n".join(lines)
            logging.getLogger("mkdocs.docexec").error(
                "The rebuild failed; every page shows why until a save fixes it."
            )
        else:
            _FAILURE["text"] = None
        finally:
            logger.removeHandler(collect)

    def answer(environ, start_response):
        failure = _FAILURE["text"]
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
    server._docexec_guarded = True
    return server


def _error_page(failure: str) -> str:
    return (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Build failed</title></head>"
        "<body><main><h1>The last rebuild failed</h1>"
        "<p>Fix what is named below and save: this page reloads when the site builds again.</p>"
        f"<pre>{html.escape(failure)}</pre></main></body></html>"
    )
