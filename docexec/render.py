"""Rendering: a parsed page and its results become Markdown lines, with raw HTML handed to
`stash` (which returns a placeholder token). Nothing here runs code or reads files."""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable
from urllib.parse import quote

from .backends import BACKENDS, KERNELS, Backends, backend_title, tab_label
from .checks import scope_text
from .cleaning import clean
from .errors import DocexecError
from .model import Block, BlockRecord, BlockResult, InlineValue, Page, Record, ValueRecord
from .page import claim_id

Stash = Callable[[str], str]


# A line pymdownx.snippets would act on: an include (`--8<-- "file"`, or a bare `--8<--`) or a
# section marker (`--8<-- [start:name]`), which it removes. Its escape is a `;` before the marker.
INCLUDE_MARKER = re.compile(
    r"""^(?P<before>[ \t]*)(?=-+8<-+(?:[ \t]+(?:"|')|$))|(?P<pre>.*?)(?=(?<!;)-+8<-+[ \t]+\[)""", re.IGNORECASE)


def escape_includes(code: str) -> str:
    """`code` with every line that pymdownx.snippets (which runs after docexec) would expand or
    remove escaped, so the code shown is the code that ran (issue 18: a `--8<--` line inside
    a string showed the glossary instead)."""
    # Lines without "8<" skip the pattern, whose lazy prefix makes it quadratic in a line's length.
    return "\n".join(INCLUDE_MARKER.sub(lambda m: (m["before"] or m["pre"] or "") + ";", line, count=1)
                     if "8<" in line else line for line in code.split("\n"))


def render_page(page: Page, record: Record | None, stash: Stash, backends: Backends = BACKENDS,
                escape: bool = False, source: str = "") -> list[str]:
    """The page's lines with each block replaced by its code and output, each `{py}` value by its
    result, directive lines dropped. `escape` (pymdownx.snippets is on): escape include markers in
    shown code. `source`: the URL for links to the lines a claim ran (config.source_url), or ""."""
    results = pair_results(page, record)
    blocks = {item.start: (item, result) for item, result in results if isinstance(item, Block)}
    values: dict[int, list] = {}
    for item, result in results:
        if isinstance(item, InlineValue):
            values.setdefault(item.line - 1, []).append((item, result))
    out, number = [], 0
    while number < len(page.lines):
        if number in blocks:
            block, result = blocks[number]
            setup = hidden_setup_html(page, block, source) if block.options.claim is not None else ""
            out.extend(block_lines(block, result, record, stash, backends, setup, escape, source))
            number = block.end
            continue
        line = page.lines[number]
        for value, result in reversed(values.get(number, [])):  # right to left: spans stay valid
            line = line[: value.start] + stash(value_html(result)) + line[value.end :]
        if number not in page.directives:
            out.append(line)
        number += 1
    return out


def pair_results(page: Page, record: Record | None) -> list[tuple]:
    """Each item with its result, checked to be the result of that item (not of its neighbour)."""
    results = record.results if record else []
    if len(results) != len(page.items):
        raise DocexecError(f"the page has {len(page.items)} executable items but its record holds {len(results)} "
                           "results", "record_count")
    for item, result in zip(page.items, results, strict=True):
        field, what = ("source", "block") if isinstance(item, Block) else ("expression", "value")
        if getattr(result, field, None) != getattr(item, field):
            raise DocexecError(f"the record's result for this {what} is of {_what(result)}", "record", **item.where)
    return list(zip(page.items, results, strict=True))


def _what(result) -> str:
    """What a stored result is of, for a message: 'snippets/x.py:a' or 'x.size'; None when neither."""
    return repr(getattr(result, "source", None) or getattr(result, "expression", None))


def block_lines(block: Block, stored: BlockRecord, record: Record, stash: Stash, backends: Backends,
                setup: str = "", escape: bool = False, source: str = "") -> list[str]:
    """`setup`: a claim's hidden set-up (hidden_setup_html); `escape`, `source`: see render_page."""
    if block.options.hidden:
        return []
    if stored.backends is not None:
        return backend_lines(block, stored.backends, record.backends or {}, stash, backends, setup, escape, source)
    if block.options.claim is not None:
        return claim_box(block, {"": stored.result}, stash, backends, setup, source)
    lines = code_lines(block, escape)
    output = output_html(stored.result, block)
    if output:
        lines += [block.indent + stash(output), ""]
    return lines


def code_lines(block: Block, escape: bool = False) -> list[str]:
    """The section's code as a fenced block titled with its file (fenced with more backticks
    than any run in the code); with `escape`, its include markers escaped (escape_includes)."""
    indent, code = block.indent, escape_includes(block.code) if escape else block.code
    ticks = "`" * max(3, 1 + max((len(run) for run in re.findall("`+", code)), default=0))
    lines = ["", f'{indent}{ticks}python title="{block.section.path}"']
    lines += [indent + code_line if code_line else "" for code_line in code.splitlines()]
    return lines + [indent + ticks, ""]


def output_html(result: BlockResult, block: Block, value: bool = True) -> str:
    """What a block printed (and, with `value`, its final value) and the figures it drew."""
    text = "\n".join(result.output + ((result.value or []) if value else []) + ([result.error] if result.error else []))
    parts = []
    if text.strip():
        label = "Raised" if result.error and not result.output and not (value and result.value) else "Output"
        parts.append(
            f'<div class="docexec-output" role="group" aria-label="{label}" data-search-exclude>'
            f'<span class="docexec-label" aria-hidden="true">{label}</span>'
            f"<pre><code>{html.escape(text)}</code></pre></div>"
        )
    alt, count = block.options.alt, len(result.figures)
    dark = result.dark_figures if len(result.dark_figures) == count else [None] * count
    for number, (svg, dark_svg) in enumerate(zip(result.figures, dark, strict=True), start=1):
        if not alt:
            raise DocexecError(
                'the block draws a figure but has no alt text; add alt="..." to its fence', "no_alt", **block.where)
        text_alt = html.escape(alt if count == 1 else f"{alt} ({number} of {count})")
        # Both variants carry the alt text; the palette shows one (docexec.css), and the
        # hidden one (display: none) is out of the accessibility tree, so it is not read twice.
        images = [f'<img class="docexec-light" alt="{text_alt}" src="{svg_data(svg)}">'] if dark_svg else [
            f'<img alt="{text_alt}" src="{svg_data(svg)}">']
        if dark_svg:
            images.append(f'<img class="docexec-dark" alt="{text_alt}" src="{svg_data(dark_svg)}">')
        parts.append(f'<figure class="docexec-figure">{"".join(images)}</figure>')
    return "\n".join(parts)


# Left as is in a figure's data: URI; the rest (`"`, `&`, `<`, `#`, `%`, newlines) is percent-encoded.
SVG_URI_SAFE = " /:=;,.-_()'!*~?@$+[]{}"


def svg_data(svg: list[str]) -> str:
    """A figure's SVG as text in a data: URI, not base64, so the page's gzip shrinks it (-25%)."""
    return "data:image/svg+xml," + quote("\n".join(svg), safe=SVG_URI_SAFE)


def plain(text: str) -> str:
    """Text from a worker (a scope's keys and values, a final value) as one line of HTML text:
    unsafe characters, newlines and tabs written as escapes, then HTML-escaped, so it can end
    neither the element nor the line it is shown in (reliability probe 3, items 9-11)."""
    return html.escape(clean(str(text)).replace("\n", "\\n").replace("\t", "\\t"), quote=True)


def source_link(section, source: str) -> str:
    """`snippets/x.py`, lines 10–20, linked to those lines at the built commit when `source` is set."""
    last = section.first_line + len(section.code.splitlines()) - 1
    lines = f"line {section.first_line}" if last == section.first_line else f"lines {section.first_line}–{last}"
    text = f"<code>{html.escape(section.path)}</code>, {lines}"
    if not source:
        return text
    anchor = f"#L{section.first_line}" + (f"-L{last}" if last != section.first_line else "")
    return f'<a href="{html.escape(source + quote(section.path) + anchor)}">{text}</a>'


def hidden_setup_html(page: Page, claim: Block, source: str = "") -> str:
    """The hidden blocks that ran before `claim` in its worker(s), each with its file:lines and
    code, for the claim's "Show the check": hidden code can change what a check computes
    (`np.allclose = lambda *a, **k: True`), so a reader must be able to see it (issue 18)."""
    ran_on = set(claim.options.backends or ("",))
    shown = []
    for block in page.blocks:
        if block is claim:
            break
        if not block.options.hidden or not set(block.options.backends or ("",)) & ran_on:
            continue
        section = block.section
        # The code is not highlighted: repeated in every claim box after it, its colour spans
        # were half of data-padding's HTML (2,870 of 5,583 tags), which each build and search reads.
        shown.append(
            f'<p class="docexec-setup-source">{source_link(section, source)}, '
            f"section <code>{html.escape(section.name)}</code></p>"
            f'<div class="highlight"><pre><code>{html.escape(section.code)}</code></pre></div>'
        )
    if not shown:
        return ""
    return (f'<details class="docexec-setup"><summary>and the hidden set-up it ran after '
            f'({len(shown)} section{"s" if len(shown) > 1 else ""})</summary>{"".join(shown)}</details>')


def common_scope(runs: dict[str, BlockResult]) -> str:
    """The configurations a claim's check ran on (scope_text), once if every backend ran the same."""
    scopes = [run.scope for run in runs.values()]
    return scope_text(scopes[0]) if all(other == scopes[0] for other in scopes) else "configurations per backend"


def verified_on(stored: BlockRecord, backends: Backends) -> str:
    """What a claim was verified on, for the claims index (plain text, not escaped): the
    configurations its check ran (docexec.checks) and, for a claim run on backends, which."""
    if not stored.backends:
        return scope_text(stored.result.scope)
    return common_scope(stored.backends) + " on " + ", ".join(tab_label(name, backends) for name in stored.backends)


def listed(names: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]


def claim_box(block: Block, runs: dict[str, BlockResult], stash: Stash, backends: Backends,
              setup: str = "", source: str = "") -> list[str]:
    """A native admonition: the scope as a badge ("Verified on 96 configurations", what varied
    in its tooltip) and the sentence (with the claim's id, which MkDocs' anchor validation sees),
    then a closed "Show the check": its code linked to its lines, the configurations, what it
    printed (once if every backend printed the same), its result, and the hidden set-up it ran
    after. `runs`: backend name -> result ("" for the build's own worker); no library versions
    (the page's stamp has them). Every text from a worker goes through `plain`."""
    sentence = block.options.claim
    scope = common_scope(runs)
    count, _, axes = scope.partition(" (")  # "96 configurations", "size 7, 8; …)"
    on = f" · {len(runs)} backends" if len(runs) > 1 else ""
    badge = (f'<span class="docexec-scope" title="Verified by running the check below on {plain(scope + on)}">'
             f'<span aria-hidden="true">✓ </span>Verified on {plain(count + on)}</span> ')
    on_backends = [name for name in runs if name]
    printed = {name: output_html(run, block, value=False) for name, run in runs.items()}
    if len(set(printed.values())) == 1:
        printed_html = next(iter(printed.values()))
    else:
        printed_html = "".join(f'<p class="docexec-ran-on">Printed on {plain(tab_label(name, backends))}:</p>{part}'
                               for name, part in printed.items() if part)
    check = (
        f'<details class="docexec-check"><summary>Show the check</summary>'
        f'<p class="docexec-check-source">{source_link(block.section, source)}, run when this page was built'
        f"{' on ' + plain(', '.join(tab_label(name, backends) for name in on_backends)) if on_backends else ''}"
        f"{', over ' + plain(scope) if axes else ''}</p>"
        f'<div class="highlight"><pre><code>{highlighted(block.code)}</code></pre></div>'
        f"{printed_html}{result_html(runs, backends)}{setup}</details>"
    )
    body = [stash(badge) + stash(sentence_html(sentence)), f"{{: #{claim_id(sentence)} }}", "", stash(check)]
    indent = block.indent
    body = [f"{indent}    {line}" if line else "" for line in body]
    return ["", f'{indent}!!! success docexec-claim ""', *body, ""]


def result_html(runs: dict[str, BlockResult], backends: Backends) -> str:
    """The check's final value in one line of text, not an output block (nothing to copy):
    "True", "True on 96 configurations (…)"; for several backends that agree, one line
    "True on TF · Eigen, TF · oneDNN, …"; else one line per backend."""
    values = {name: " ".join(run.value or []) for name, run in runs.items()}
    label = '<span class="docexec-label">Result</span> '
    if len(runs) == 1 and "" in runs:
        return f'<p class="docexec-result">{label}<code>{plain(values[""])}</code></p>'
    names = [tab_label(name, backends) for name in runs]
    if len(set(values.values())) == 1:
        value = next(iter(values.values()))
        joined = ", ".join(names)
        text = f"{value} on {joined}" if value == "True" else f"{value}, on each of {joined}"
        return f'<p class="docexec-result">{label}<code>{plain(text)}</code></p>'
    return "".join(f'<p class="docexec-result">{label}<code>{plain(f"{tab}: {values[name]}")}</code></p>'
                   for tab, name in zip(names, runs, strict=True))


def backend_lines(block: Block, runs: dict[str, BlockResult], versions: dict, stash: Stash,
                  backends: Backends, setup: str = "", escape: bool = False, source: str = "") -> list[str]:
    """A block run on backends: its code once, then one content tab per backend with what that
    backend printed, labelled short ("TF · Eigen"; the page's stamp has the versions); on one
    backend, no tabs but a "Ran on JAX 0.10.2" line (a claim: one box naming every backend);
    `versions` are the record's, backend name -> library versions."""
    indent = block.indent
    if block.options.claim is not None:
        return claim_box(block, runs, stash, backends, setup, source)
    lines = code_lines(block, escape)
    outputs = {name: output_html(run, block) for name, run in runs.items()}
    if not any(outputs.values()):  # a definition: like a block on one backend, nothing under it
        return lines
    if len(outputs) == 1:
        (name, output), = outputs.items()
        ran_on = f'<p class="docexec-ran-on">Ran on {plain(backend_title(name, versions, backends))}</p>'
        return lines + [indent + stash(ran_on + output), ""]
    for name, output in outputs.items():
        output = output or '<p class="docexec-empty">No output.</p>'
        # The label is raw HTML: the glossary's abbr pass would underline "Eigen" in plain text.
        label = stash(f'<span class="docexec-tab">{plain(tab_label(name, backends))}</span>')
        lines += [f'{indent}=== "{label}"', "", f"{indent}    {stash(output)}", ""]
    return lines


def sentence_html(sentence: str) -> str:
    """A claim sentence as plain text: HTML-escaped, so no markup or link in it reaches the
    page; only `code spans` are kept, as <code>."""
    parts = re.split(r"`([^`]+)`", sentence)
    return "".join(
        f"<code>{html.escape(part, quote=False)}</code>" if index % 2 else html.escape(part, quote=False)
        for index, part in enumerate(parts)
    )


def value_html(result: ValueRecord) -> str:
    return f'<span class="docexec-value">{html.escape(result.value)}</span>'


def stamp_html(record: Record | None, versions: dict, backends: Backends = BACKENDS) -> str:
    """The page's one list of library versions: the build's own, and each backend's once
    (backends with the same versions share them: "TF · Eigen, TF · oneDNN and TF · XLA with
    TensorFlow 2.21.0 and Keras 3.15.1")."""
    if record:
        text = f"Every output on this page was produced by running its code with {versions_text(record.versions)}"
        if record.backends:
            groups: dict[tuple, list[str]] = {}
            for name, libraries in record.backends.items():
                groups.setdefault(tuple(libraries.items()), []).append(tab_label(name, backends))
            text += "; outputs by backend, on " + "; ".join(
                f"{listed(names)} with {listed([f'{label} {version}' for label, version in libraries])}"
                for libraries, names in groups.items())
        text += "."
    else:
        text = f"This page runs no code; the site was built with {versions_text(versions)}."
    return f'<p class="docexec-stamp">{html.escape(text)}</p>'


def versions_text(versions: dict) -> str:
    kernels = f" ({versions[KERNELS]} kernels)" if KERNELS in versions else ""  # the default worker's path
    shown = [f"{label} {versions[label]}" + (kernels if label == "TensorFlow" else "")
             for label in ("NumPy", "TensorFlow", "Keras") if label in versions]
    return ", ".join(shown[:-1]) + " and " + shown[-1]


@functools.lru_cache(maxsize=1024)
def highlighted(code: str) -> str:
    from pygments import highlight

    return highlight(code, *_python_lexer_and_formatter())


@functools.lru_cache(maxsize=1)
def _python_lexer_and_formatter():
    """Made once: a formatter builds its style sheet when made (about 0.6 ms each, ~100 a build)."""
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    return PythonLexer(), HtmlFormatter(nowrap=True)
