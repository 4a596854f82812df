"""Rendering: a parsed page and its results become Markdown lines, with raw HTML handed to
`stash` (which returns a placeholder token). Nothing here runs code or reads files."""

from __future__ import annotations

import base64
import functools
import html
import re
from collections.abc import Callable

from .backends import BACKENDS, KERNELS, Backends, backend_title
from .checks import scope_text
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
                escape: bool = False) -> list[str]:
    """The page's lines with each block replaced by its code and output, each `{py}` value by
    its result, and directive lines dropped; spliced by the spans the parser recorded. With
    `escape` (pymdownx.snippets is on), include markers in shown code are escaped."""
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
            setup = hidden_setup_html(page, block) if block.options.claim is not None else ""
            out.extend(block_lines(block, result, record, stash, backends, setup, escape))
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
        raise DocexecError(
            f"the page has {len(page.items)} executable items but its record holds {len(results)} results")
    for item, result in zip(page.items, results, strict=True):
        if isinstance(item, Block) and getattr(result, "source", None) != item.source:
            raise DocexecError(f"the record's result for this block is of {_what(result)}", **item.where)
        if isinstance(item, InlineValue) and getattr(result, "expression", None) != item.expression:
            raise DocexecError(f"the record's result for this value is of {_what(result)}", **item.where)
    return list(zip(page.items, results, strict=True))


def _what(result) -> str:
    """What a stored result is of, for a message: 'snippets/x.py:a' or 'x.size'; None when neither."""
    return repr(getattr(result, "source", None) or getattr(result, "expression", None))


def block_lines(block: Block, stored: BlockRecord, record: Record, stash: Stash, backends: Backends,
                setup: str = "", escape: bool = False) -> list[str]:
    """`setup`: a claim's hidden set-up (hidden_setup_html); `escape`: see render_page."""
    if block.options.hidden:
        return []
    if stored.backends is not None:
        return backend_lines(block, stored.backends, record.backends or {}, stash, backends, setup, escape)
    result = stored.result
    if block.options.claim is not None:
        return claim_lines(block, result, record.versions, stash, setup)
    lines = code_lines(block, escape)
    output = output_html(result, block)
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


def output_html(result: BlockResult, block: Block) -> str:
    text = "\n".join(result.output + (result.value or []) + ([result.error] if result.error else []))
    parts = []
    if text.strip():
        label = "Raised" if result.error and not result.output and not result.value else "Output"
        parts.append(
            f'<div class="docexec-output" role="group" aria-label="{label}" data-search-exclude>'
            f'<span class="docexec-label" aria-hidden="true">{label}</span>'
            f"<pre><code>{html.escape(text)}</code></pre></div>"
        )
    alt, count = block.options.alt, len(result.figures)
    for number, svg in enumerate(result.figures, start=1):
        if not alt:
            raise DocexecError(
                'the block draws a figure but has no alt text; add alt="..." to its fence', **block.where)
        text_alt = alt if count == 1 else f"{alt} ({number} of {count})"
        data = base64.b64encode("\n".join(svg).encode()).decode()
        parts.append(
            f'<figure class="docexec-figure"><img alt="{html.escape(text_alt)}" '
            f'src="data:image/svg+xml;base64,{data}"></figure>'
        )
    return "\n".join(parts)


def hidden_setup_html(page: Page, claim: Block) -> str:
    """The hidden blocks that ran before `claim` in its worker(s), each with its file:lines and
    code, for the claim's "Checked by" box: hidden code can change what a check computes
    (`np.allclose = lambda *a, **k: True`), so a reader must be able to see it (issue 18)."""
    ran_on = set(claim.options.backends or ("",))
    shown = []
    for block in page.blocks:
        if block is claim:
            break
        if not block.options.hidden or not set(block.options.backends or ("",)) & ran_on:
            continue
        section = block.section
        last = section.first_line + len(section.code.splitlines()) - 1
        # The code is not highlighted: repeated in every claim box after it, its colour spans
        # were half of data-padding's HTML (2,870 of 5,583 tags), which each build and search reads.
        shown.append(
            f'<p class="docexec-setup-source"><code>{html.escape(section.path)}:{section.first_line}-{last}</code>, '
            f"section <code>{html.escape(section.name)}</code></p>"
            f'<div class="highlight"><pre><code>{html.escape(section.code)}</code></pre></div>'
        )
    if not shown:
        return ""
    return (f'<details class="docexec-setup"><summary>and the hidden set-up it ran after '
            f'({len(shown)} section{"s" if len(shown) > 1 else ""})</summary>{"".join(shown)}</details>')


def claim_lines(block: Block, result: BlockResult, versions: dict, stash: Stash, setup: str = "") -> list[str]:
    title = f"Verified on {scope_text(result.scope)}"
    return claim_box(block, title, f"with {versions_text(versions)}", output_html(result, block), stash, setup)


def verified_on(stored: BlockRecord, versions: dict, backends: Backends) -> str:
    """What a claim was verified on, for the claims index: the configurations its check ran
    (docexec.checks) and, for a claim run on backends, which; `versions` are the record's."""
    if not stored.backends:
        return scope_text(stored.result.scope)
    scopes = [run.scope for run in stored.backends.values()]
    scope = scope_text(scopes[0]) if all(other == scopes[0] for other in scopes) else "configurations per backend"
    return f"{scope}, on " + listed([backend_title(name, versions, backends) for name in stored.backends])


def listed(names: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]


def claim_box(block: Block, title: str, checked_with: str, outputs: str, stash: Stash, setup: str = "") -> list[str]:
    """A native admonition whose paragraph carries the claim's id, so that MkDocs' anchor
    validation sees it; the sentence itself goes in as escaped HTML."""
    sentence = block.options.claim
    check = (
        f'<details class="docexec-check"><summary>Checked by <code>{html.escape(block.section.path)}</code> '
        f"when this page was built, {html.escape(checked_with)}</summary>"
        f'<div class="highlight"><pre><code>{highlighted(block.code)}</code></pre></div>'
        f"{outputs}{setup}</details>"
    )
    body = [stash(sentence_html(sentence)), f"{{: #{claim_id(sentence)} }}", "", stash(check)]
    indent = block.indent
    body = [f"{indent}    {line}" if line else "" for line in body]
    return ["", f'{indent}!!! success docexec-claim "{title}"', *body, ""]


def backend_lines(block: Block, runs: dict[str, BlockResult], versions: dict, stash: Stash,
                  backends: Backends, setup: str = "", escape: bool = False) -> list[str]:
    """A block run on several backends: its code once, then one content tab per backend
    with what that backend printed (a claim: one Verified note naming every backend);
    `versions` are the record's, backend name -> library versions."""
    indent = block.indent
    if block.options.claim is not None:
        return backend_claim_lines(block, runs, versions, stash, backends, setup)
    lines = code_lines(block, escape)
    outputs = {name: output_html(run, block) for name, run in runs.items()}
    if not any(outputs.values()):  # a definition: like a block on one backend, nothing under it
        return lines
    for name, output in outputs.items():
        output = output or '<p class="docexec-empty">No output.</p>'
        lines += [f'{indent}=== "{backend_title(name, versions, backends)}"', "", f"{indent}    {stash(output)}", ""]
    return lines


def backend_claim_lines(block: Block, runs: dict[str, BlockResult], versions: dict, stash: Stash,
                        backends: Backends, setup: str = "") -> list[str]:
    titles = [backend_title(name, versions, backends) for name in runs]
    scopes = [run.scope for run in runs.values()]
    same = all(scope == scopes[0] for scope in scopes)
    outputs = "".join(
        f'<p class="docexec-backend">{html.escape(title)}'
        f"{'' if same else html.escape(' (on ' + scope_text(run.scope) + ')')}</p>{output_html(run, block)}"
        for title, run in zip(titles, runs.values(), strict=True)
    )
    scope = scope_text(scopes[0]) if same else "the configurations each lists"
    title = f"Verified on {scope}" + (f", on {len(titles)} backends" if len(titles) > 1 else "")
    return claim_box(block, title, f"on each of {listed(titles)}", outputs, stash, setup)


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
    if record:
        text = f"Every output on this page was produced by running its code with {versions_text(record.versions)}"
        if record.backends:
            titles = [backend_title(name, record.backends, backends) for name in record.backends]
            text += f"; tabbed outputs, on {listed(titles)}"
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
