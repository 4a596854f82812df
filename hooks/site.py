"""A MkDocs hook (mkdocs.yml `hooks:`) for what a reader meets in the built pages.

- **Links stay on their host.** A link in a page to the site itself (under `site_url`, as the
  notebook writes them so that they work from Colab) becomes relative in the rendered page, so a
  preview or `make serve` keeps the reader there. The `.ipynb` file keeps its absolute links, and
  a link to a notebook file gets a `download` attribute.
- **The notebook page** (mkdocs-jupyter) inlines about 575 kB of JupyterLab CSS in every build of
  it. Here the rules no element of the page can match are dropped, with the custom properties
  nothing uses, and the rest goes to one stylesheet, `assets/stylesheets/notebook.css`, that a
  browser caches. Its prompts ("In [4]:"), copy buttons, code cells (shown and hidden copy) and
  printed outputs are kept out of the search index (its prose is searched), its figure gets the
  notebook's own words as alt text (nbconvert's placeholder says there is none) and is shown as a
  PNG of 256 colours (a third of the bytes), and nbconvert's Mermaid renderer is dropped when the
  notebook has no diagram.
- **Search reads the prose.** Code blocks and the claims' checks carry `data-search-exclude`,
  as outputs do (docexec): they were 60% of the index every page loads.
- **glightbox loads on the first tap on a figure**, not with every page (18 kB gzipped): the
  plugin's `<link>` and `<script>` tags are dropped, its options kept as JSON in
  `#init-glightbox`, and `assets/site.js` loads its files and opens the figure.
- **The glossary page** (`docs/glossary.md`) is drawn from `docs/includes/glossary.md`, the same
  lines that give every page its tooltips: one source for the definitions.
- **Figures open full size** with the glightbox plugin, which wraps each image in a link to its
  `src`. The build's figures are `data:` URIs, so a link holding a second copy would double each
  page's weight: the link is left without an `href`, and `assets/site.js` points it at the
  image's own `src` when the page loads.
- **Page dates come from git or not at all.** Outside a git checkout (a source archive, the tests'
  throwaway projects) the date plugin would stamp each page with the moment of the build, so two
  builds of the same files would differ: there the plugin is switched off.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
import subprocess
from pathlib import Path

from mkdocs.utils import get_relative_url

NOTEBOOK_CSS = "assets/stylesheets/notebook.css"
GLOSSARY_MARKER = "<!-- glossary: the definitions of docs/includes/glossary.md -->"
GLOSSARY_LINE = re.compile(r"^\*\[([^\]]+)\]:\s*(.+)$", re.MULTILINE)
PLACEHOLDER_ALT = 'alt="No description has been provided for this image"'

# Elements of a notebook page that search should not index (Material honours this attribute).
SEARCH_EXCLUDED = re.compile(
    r'<div class="(clipboard-copy-txt|zeroclipboard-container|jp-InputPrompt jp-InputArea-prompt'
    r'|jp-OutputPrompt jp-OutputArea-prompt|highlight-ipynb hl-python|jp-RenderedText jp-OutputArea-output)"'
)

# nbconvert's template loads a Mermaid renderer (a module script and its style) on every notebook.
MERMAID = re.compile(r'<script type="module">\s*document\.addEventListener\("DOMContentLoaded", async \(\) => {\s*'
                     r'const diagrams = document\.querySelectorAll\("\.jp-Mermaid.*?</script>'
                     r'|<style>\s*\.jp-Mermaid:not\(\.jp-RenderedMermaid\).*?</style>', re.S)

# What mkdocs-glightbox adds to every page: its stylesheet, its script and the script that starts it.
GLIGHTBOX_FILES = re.compile(r'<link href="[^"]*glightbox\.min\.css" rel="stylesheet">'
                             r'|<script src="[^"]*glightbox\.min\.js"></script>')
GLIGHTBOX_INIT = re.compile(r'<script id="init-glightbox">const lightbox = GLightbox\((\{.*?\})\);.*?</script>', re.S)

# A PNG a notebook cell drew, inlined by nbconvert.
NOTEBOOK_PNG = re.compile(r'(<img\b[^>]*\bsrc="data:image/png;base64,)([A-Za-z0-9+/=]+)')

# Every page's code blocks and claim checks (the search index held each twice as much code
# as prose: 234 of 397 kB; issue 24, finding 18). Outputs are excluded where docexec draws them.
CODE_NOT_SEARCHED = re.compile(r'<div class="(?:language-\w+ )?highlight"|<details class="docexec-check"')

# ---------- page dates ----------

DATE_PLUGIN = "git-revision-date-localized"


def in_git_work_tree(folder: Path) -> bool:
    try:
        answer = subprocess.run(["git", "rev-parse", "--is-inside-work-tree"], cwd=folder,
                                capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return answer.returncode == 0 and answer.stdout.strip() == "true"


def on_config(config):
    plugin = config.plugins.get(DATE_PLUGIN)
    if plugin is not None and not in_git_work_tree(Path(config.config_file_path).parent):
        plugin.config["enabled"] = False
    return config


# ---------- the glossary page ----------

def glossary_entries(text: str) -> list[tuple[list[str], str]]:
    """(terms, definition) for each term of the abbreviation lines, a plural ("taps",
    "machineries") listed with its singular and the singular's definition."""
    definitions = dict(GLOSSARY_LINE.findall(text))
    entries, merged = [], set()
    for term, definition in definitions.items():
        if term in merged:
            continue
        plurals = [p for p in (term + "s", term[:-1] + "ies" if term.endswith("y") else None)
                   if p and p in definitions]
        merged.update(plurals)
        entries.append(([term, *plurals], definition))
    return sorted(entries, key=lambda entry: entry[0][0].lower())


def glossary_html(text: str) -> str:
    rows = []
    for terms, definition in glossary_entries(text):
        anchor = re.sub(r"[^a-z0-9]+", "-", terms[0].lower()).strip("-")
        rows.append(f'<dt id="{anchor}">{html.escape(", ".join(terms))}</dt>\n'
                    f"<dd>{html.escape(definition)}</dd>")
    return '<dl class="glossary">\n' + "\n".join(rows) + "\n</dl>"


def on_page_markdown(markdown, page, config, files):
    if GLOSSARY_MARKER in markdown:
        source = Path(config["docs_dir"]) / "includes" / "glossary.md"
        markdown = markdown.replace(GLOSSARY_MARKER, glossary_html(source.read_text(encoding="utf-8")))
    return markdown


# ---------- page content (before search indexes it) ----------

def on_page_content(html_text, page, config, files):
    # glightbox's link to a data: figure: no second copy (assets/site.js sets the href).
    html_text = re.sub(r'(<a\b[^>]*class="glightbox"[^>]*?)\s+href="data:[^"]*"', r"\1", html_text)
    # Code and the claims' checks stay out of the search index: a reader searches the prose.
    html_text = CODE_NOT_SEARCHED.sub(lambda m: m[0] + " data-search-exclude", html_text)
    if page.file.src_uri.endswith(".ipynb"):
        # A long line scrolls: the scroller must take the keyboard focus (axe-core's rule).
        html_text = html_text.replace('<div class="highlight-ipynb hl-python"><pre>',
                                      '<div class="highlight-ipynb hl-python"><pre tabindex="0">')
        html_text = SEARCH_EXCLUDED.sub(lambda m: m[0] + " data-search-exclude", html_text)
        alts = notebook_figure_alts(Path(page.file.abs_src_path))
        for alt in alts:
            html_text = html_text.replace(PLACEHOLDER_ALT, f'alt="{html.escape(alt)}"', 1)
        html_text = NOTEBOOK_PNG.sub(lambda m: m[1] + palette_png(m[2]), html_text)
    return html_text


def palette_png(encoded: str) -> str:
    """A notebook figure (base64 PNG, Matplotlib's flat colours and their anti-aliasing) as a
    PNG of at most 256 colours: the same picture at a third of the bytes (38.6 kB to 13.2 kB
    for the walk-through's one figure), and base64 does not gzip. The .ipynb keeps its own."""
    from PIL import Image

    image = Image.open(io.BytesIO(base64.b64decode(encoded)))
    smaller = io.BytesIO()
    image.convert("RGB").quantize(256).save(smaller, "PNG", optimize=True)
    return base64.b64encode(smaller.getvalue()).decode() if smaller.tell() < len(encoded) * 3 // 4 else encoded


def notebook_figure_alts(path: Path) -> list[str]:
    """For each figure a code cell draws, the text of the Markdown cell just before it."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    alts, words = [], ""
    for cell in cells:
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            words = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text).replace("`", "").strip()
            continue
        for output in cell.get("outputs", []):
            if "image/png" in output.get("data", {}) or "image/svg+xml" in output.get("data", {}):
                alts.append(" ".join(words.split()) or "A figure the notebook draws")
    return alts


# ---------- the rendered page ----------

def on_post_page(output, page, config):
    output = relative_site_links(output, page.url, config["site_url"] or "")
    output = lazy_glightbox(output)
    if page.file.src_uri.endswith(".ipynb"):
        output = external_notebook_css(output, page.url, Path(config["site_dir"]))
        if 'class="jp-Mermaid' not in output:  # nbconvert's Mermaid renderer, for diagrams the notebook has not
            output = MERMAID.sub("", output)
    return output


def lazy_glightbox(output: str) -> str:
    """The glightbox plugin's files out of the page's head, its options kept for site.js."""
    files = GLIGHTBOX_FILES.findall(output)
    init = GLIGHTBOX_INIT.search(output)
    if not files and not init:
        return output
    if len(files) != 2 or not init:
        raise ValueError("hooks/site.py: mkdocs-glightbox's tags are not as expected (two files and an "
                         "init script); assets/site.js could not load it")
    output = GLIGHTBOX_FILES.sub("", output)
    json.loads(init[1])  # the options, as site.js will read them
    return output.replace(init[0], f'<script id="init-glightbox" type="application/json">{init[1]}</script>')


def relative_site_links(output: str, page_url: str, site_url: str) -> str:
    """`<a href="{site_url}x">` becomes a link relative to the page; `.ipynb` ones download."""
    if not site_url:
        return output
    site_url = site_url.rstrip("/") + "/"

    def anchor(match):
        tag = match[0]
        href = re.search(r'\bhref="([^"]*)"', tag)
        if not href or not href[1].startswith(site_url):
            return tag
        target = href[1][len(site_url):]
        relative = get_relative_url(target or ".", page_url) if target else get_relative_url(".", page_url)
        if target.endswith("/") and not relative.endswith("/"):
            relative += "/"
        tag = tag.replace(href[0], f'href="{relative}"')
        if target.split("#")[0].endswith(".ipynb") and " download" not in tag:
            tag = tag[:-1] + " download>"
        return tag

    return re.sub(r"<a\b[^>]*>", anchor, output)


STYLE = re.compile(r"<style[^>]*>(.*?)</style>", re.DOTALL)


def external_notebook_css(output: str, page_url: str, site_dir: Path) -> str:
    """The page's JupyterLab stylesheets, pruned, in one file; a <link> where the first one was."""
    head_end = output.find("</head>")
    kept, chunks = [], []

    def take(match):
        css = match[1]
        if len(css) < 2000 or ".jupyter-wrapper" not in css or match.start() < head_end:
            return match[0]
        chunks.append(css)
        return "\x00" if len(chunks) == 1 else ""

    output = STYLE.sub(take, output)
    if not chunks:
        return output
    classes = set(re.findall(r'class="([^"]*)"', output))
    used = {name for value in classes for name in value.split()}
    kept = prune_css("\n".join(chunks), used, output)
    target = site_dir / NOTEBOOK_CSS
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(kept, encoding="utf-8")
    link = f'<link rel="stylesheet" href="{get_relative_url(NOTEBOOK_CSS, page_url)}">'
    return output.replace("\x00", link, 1)


# ---------- pruning a stylesheet to what one page can use ----------

def _blocks(css: str):
    """Top-level (prelude, body) pairs of a stylesheet, comments removed."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.DOTALL)
    depth, start, prelude_start = 0, 0, 0
    for index, char in enumerate(css):
        if char == "{":
            if depth == 0:
                start = index
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                yield css[prelude_start:start].strip(), css[start + 1:index]
                prelude_start = index + 1
        elif char == ";" and depth == 0:
            statement = css[prelude_start:index + 1].strip()
            if statement.startswith("@import"):
                yield statement, None
            prelude_start = index + 1


# A custom property's declaration: its name and value (quoted strings and url(...) may hold ";").
DECLARATION = re.compile(
    r"(?<![\w-])(--[\w-]+)\s*:(?:[^;{}()\"']|\((?:[^()]|\([^()]*\))*\)|\"[^\"]*\"|'[^']*')*(?:;|(?=\}))"
)
ELEMENTS_USED = {"body", "html", "pre", "code", "img", "svg", "table", "div", "span", "a", "p"}


def _selector_can_match(selector: str, used: set[str], tags: set[str]) -> bool:
    simple = re.sub(r":(?:not|is|where|has)\([^)]*\)", "", selector)
    simple = re.sub(r"::?[\w-]+(\([^)]*\))?", "", simple)
    if not all(name in used for name in re.findall(r"\.([\w-]+)", simple)):
        return False
    if re.search(r"\[data-jp-|\[data-lm-|\[data-p-", simple):
        return False
    return all(tag in tags for tag in re.findall(r"(?:^|[\s>+~])([a-z][a-z0-9]*)", simple))


def prune_css(css: str, used: set[str], page: str) -> str:
    tags = set(re.findall(r"<([a-z][a-z0-9-]*)", page)) | ELEMENTS_USED
    rules = []

    def walk(text):
        out = []
        for prelude, body in _blocks(text):
            if body is None:
                continue
            if prelude.startswith("@media") or prelude.startswith("@supports"):
                inner = walk(body)
                if inner:
                    out.append(f"{prelude}{{{''.join(inner)}}}")
            elif prelude.startswith("@font-face") or prelude.startswith("@keyframes") or prelude.startswith("@"):
                continue  # JupyterLab's fonts and animations: none of them is used by a static notebook
            else:
                selectors = [s for s in _split_top(prelude, ",") if _selector_can_match(s, used, tags)]
                if selectors:
                    out.append(f"{','.join(selectors)}{{{body}}}")
        return out

    rules = walk(css)
    # Drop custom properties that no kept declaration reads (repeat: variables read variables).
    text = "".join(rules)
    while True:
        defined = set(re.findall(r"(?<![\w-])(--[\w-]+)\s*:", text))
        read = set(re.findall(r"var\(\s*(--[\w-]+)", text))
        unused = defined - read
        if not unused:
            break
        pruned = DECLARATION.sub(lambda m, unused=unused: "" if m[1] in unused else m[0], text)
        if pruned == text:
            break
        text = pruned
    return re.sub(r"(?<=[{}])[^{}]+\{\s*\}", "", text) + "\n"


def _split_top(text: str, separator: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char in "([" and 1 or char in ")]" and -1 or 0
        if char == separator and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    return [*parts, current.strip()] if current.strip() else parts
