"""Inside a worker (docexec/worker.py) only: runs a page's code in one namespace and captures
what a reader should see, at the stream level (sys.stdout/sys.stderr: prints in imported
functions and warnings too), normalised (fixed NumPy precision, no -0, no machine paths) so
two machines print the same bytes; figures as SVG, light and dark."""

from __future__ import annotations

import ast
import contextlib
import io
import os
import random
import re
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from .protocol import FIXED_ENVIRONMENT, project_code

# A worker has these already; a test running Namespace in its own process may not (PYTHONHASHSEED
# only counts when a process starts).
for _name in ("MPLBACKEND", "TF_CPP_MIN_LOG_LEVEL"):
    os.environ.setdefault(_name, FIXED_ENVIRONMENT[_name])

PRECISION = 4
NEGATIVE_ZERO = re.compile(rf"(?<![\w.])-(0\.0{{{PRECISION}}})(?!\d)")
SVG_RC = {"svg.fonttype": "none", "svg.hashsalt": "docexec"}


@dataclass
class Execution:
    """What running one block did, in the worker (which turns it into a protocol.BlockAnswer)."""

    output: str = ""  # stdout and stderr, interleaved as printed, normalised
    value: str | None = None  # the final expression, when it is not None and not a plot object
    figures: list[str] = field(default_factory=list)  # SVG documents
    dark_figures: list[str] = field(default_factory=list)  # each figure redrawn for the dark palette
    raised: Exception | None = None  # what the code raised, expected or not
    raw_value: object = None  # what the final expression evaluated to (a claim's check)
    stream: object = None  # what the output was captured in


class Namespace:
    """One page's globals, seeded the same way each time the page runs."""

    def __init__(self, root: Path, package: str, uses_keras: bool = False, stream_class=io.StringIO):
        self.stream_class = stream_class  # what a block's prints are written to (the worker's Capture counts them)
        self.root = root
        forget_modules(package, root)
        self.globals: dict = {"__name__": "__docexec__", "__builtins__": __builtins__}
        seed_everything(uses_keras)

    def run(self, code: str, filename: str, first_line: int) -> Execution:
        """Execute `code` (which starts at `first_line` of `filename`), capturing everything."""
        path = str(self.root / filename)
        result = Execution()
        stream = result.stream = self.stream_class()
        try:
            tree = ast.parse("\n" * (first_line - 1) + code, filename=path)
            final = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
            with _captured(stream):
                exec(compile(tree, path, "exec"), self.globals)
                if final is not None:
                    value = eval(compile(ast.Expression(final.value), path, "eval"), self.globals)
                    result.raw_value = value
                    if value is not None and not _is_plot_object(value):
                        result.value = self.normalise(format_value(value))
        except Exception as error:  # the caller decides whether the page expected it
            result.raised = error
        finally:
            result.figures, result.dark_figures = collect_figures()
            result.output = self.normalise(stream.getvalue())
        return result

    def evaluate(self, expression: str) -> str:
        """An inline value's text, formatted as a block's final value would be."""
        with _captured(io.StringIO()):
            value = eval(compile(expression, "<inline value>", "eval"), self.globals)
            return self.normalise(format_value(value))

    def normalise(self, text: str) -> str:
        text = NEGATIVE_ZERO.sub(r" \1", text)
        return text.replace(str(self.root) + os.sep, "")


def seed_everything(uses_keras: bool) -> None:
    """The same random state at the start of every page: Python's, NumPy's global one (even
    before the page's first `import numpy`) and, for pages that use Keras, Keras's."""
    import numpy

    random.seed(0)
    numpy.random.seed(0)
    if uses_keras:
        import keras

        keras.utils.set_random_seed(0)


def forget_modules(package: str, root: Path) -> None:
    """Drop the project's own modules from the import cache, so a page that runs again
    (mkdocs serve, after an edit) imports their current source, not the first one it saw."""
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if name.split(".")[0] == package and file and project_code(file, root) is not None:
            del sys.modules[name]


@contextlib.contextmanager
def _captured(stream: io.StringIO):
    import numpy

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"{category.__name__}: {message}", file=sys.stderr)

    with contextlib.ExitStack() as stack:
        stack.enter_context(contextlib.redirect_stdout(stream))
        stack.enter_context(contextlib.redirect_stderr(stream))
        stack.enter_context(warnings.catch_warnings())
        warnings.simplefilter("default")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=PendingDeprecationWarning)
        # As Python's default: shown, they name a pid or a file that changes on every run (probe 63).
        warnings.filterwarnings("ignore", category=ResourceWarning)
        warnings.showwarning = show
        stack.enter_context(
            numpy.printoptions(precision=PRECISION, suppress=True, floatmode="fixed", legacy="1.25")
        )
        yield


def format_value(value) -> str:
    """How a final expression is shown: arrays with fixed precision, everything else as repr."""
    import numpy

    if isinstance(value, str):
        return value
    if isinstance(value, numpy.ndarray):
        return numpy.array2string(value, separator=" ")
    return repr(value)


def _is_plot_object(value) -> bool:
    """A final `axes.set_title(...)` returns an artist, `axes.plot(...)` a list of them; the
    figure shows them, and their repr holds a memory address that changes on every run."""
    if isinstance(value, (list, tuple)) and value:
        return all(_is_plot_object(element) for element in value)
    return type(value).__module__.startswith("matplotlib")


def collect_figures() -> tuple[list[str], list[str]]:
    """Every open matplotlib figure as an SVG document, and again recoloured for the site's
    dark palette (dark_variant); the figures are closed."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is None:
        return [], []
    import matplotlib

    figures, dark = [], []
    for number in pyplot.get_fignums():
        figure = pyplot.figure(number)
        with matplotlib.rc_context(SVG_RC):
            figures.append(_svg(figure))
            dark_variant(figure)
            dark.append(_svg(figure))
        pyplot.close(figure)
    return figures, dark


def _svg(figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    return buffer.getvalue()


# The dark palette's page background (Material's slate: hsl(232, 15%, 14%)) and its text colour.
DARK_BACKGROUND, DARK_TEXT = (0.118, 0.129, 0.161), (0.886, 0.894, 0.914)


def dark_for(colour):
    """A grey (black, #555, white) for the dark palette: its lightness inverted between the
    page's dark background and its light text, so black text turns light and white cell
    borders turn into the background; a colour with a hue is kept, as are its readers' cues."""
    if not _grey(colour):
        return colour
    from matplotlib.colors import to_rgba

    red, green, blue, alpha = to_rgba(colour)
    lightness = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    mixed = tuple(dark + (light - dark) * (1 - lightness)
                  for dark, light in zip(DARK_BACKGROUND, DARK_TEXT, strict=True))
    return (*mixed, alpha)


def _grey(colour) -> bool:
    from matplotlib.colors import to_rgba

    try:
        red, green, blue, alpha = to_rgba(colour)
    except (ValueError, TypeError):
        return False
    return max(red, green, blue) - min(red, green, blue) <= 0.12


def dark_variant(figure) -> None:
    """Recolour `figure` in place for the dark palette: a transparent background, and its greys
    inverted (dark_for): text, ticks, spines, legends, lines, cell borders, grey cells. What
    carries data keeps its colours: images, cells with a hue and the numbers on them, and an
    axes that shows an image keeps its white ground (under a translucent image, as in light)."""
    from matplotlib.text import Text

    figure.patch.set_facecolor("none")
    figure.patch.set_edgecolor("none")
    recoloured = set()
    for axes in figure.axes:
        if not axes.images:
            axes.patch.set_facecolor("none")
        axes.patch.set_edgecolor(dark_for(axes.patch.get_edgecolor()))
        ground = [*axes.images,
                  *(patch for patch in axes.patches if _filled(patch) and not _grey(patch.get_facecolor()))]
        for text in axes.texts:
            recoloured.add(text)
            box = text.get_bbox_patch()
            if box is not None:
                if _grey(box.get_facecolor()):
                    box.set_facecolor(dark_for(box.get_facecolor()))
                    text.set_color(dark_for(text.get_color()))
                box.set_edgecolor(dark_for(box.get_edgecolor()))
            elif not _over(text, ground):
                text.set_color(dark_for(text.get_color()))
        for line in axes.lines:
            line.set_color(dark_for(line.get_color()))
            line.set_markeredgecolor(dark_for(line.get_markeredgecolor()))
        for patch in axes.patches:
            _dark_patch(patch)
    for artist in figure.findobj(Text):
        if artist not in recoloured:  # titles, labels, ticks, legends
            artist.set_color(dark_for(artist.get_color()))
    for artist in figure.findobj(lambda found: hasattr(found, "spines")):
        for spine in artist.spines.values():
            spine.set_edgecolor(dark_for(spine.get_edgecolor()))
    for axes in figure.axes:
        for axis in (axes.xaxis, axes.yaxis):
            axis.set_tick_params(which="both", color=dark_for(_tick_colour(axis)))
    for legend in [*figure.legends, *(axes.get_legend() for axes in figure.axes)]:
        if legend is not None:
            legend.get_frame().set_facecolor(DARK_BACKGROUND)
            legend.get_frame().set_edgecolor(dark_for(legend.get_frame().get_edgecolor()))
            for patch in legend.get_patches():
                _dark_patch(patch)
            for line in legend.get_lines():
                line.set_color(dark_for(line.get_color()))


def _dark_patch(patch) -> None:
    patch.set_edgecolor(dark_for(patch.get_edgecolor()))
    if _filled(patch):
        patch.set_facecolor(dark_for(patch.get_facecolor()))


def _filled(patch) -> bool:
    return bool(patch.get_fill() and patch.get_visible() and patch.get_facecolor()[3] > 0)


def _over(text, ground) -> bool:
    """Whether `text`'s anchor lies on an image or a filled patch (a number on a cell)."""
    point = text.get_transform().transform(text.get_position())
    for artist in ground:
        if hasattr(artist, "get_extent"):
            if artist.get_window_extent().contains(*point):
                return True
        elif artist.contains_point(point):
            return True
    return False


def _tick_colour(axis):
    ticks = axis.get_major_ticks()
    return ticks[0].tick1line.get_color() if ticks else "black"
