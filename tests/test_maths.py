"""maths against real Markdown, with the extensions the site uses."""

import re
import textwrap

import markdown
import pytest

from maths import MathsError, to_mathml

SITE_EXTENSIONS = [
    "admonition",
    "attr_list",
    "md_in_html",
    "pymdownx.highlight",
    "pymdownx.inlinehilite",
    "pymdownx.superfences",
    "pymdownx.tabbed",
    "maths",
]


def render(text: str) -> str:
    md = markdown.Markdown(extensions=SITE_EXTENSIONS)
    return md.convert(textwrap.dedent(text))


def maths_elements(html: str) -> list[str]:
    return re.findall(r"<math\b.*?</math>", html, flags=re.S)


def test_inline_maths_becomes_inline_mathml_inside_the_paragraph():
    html = render("The size is $n + 2p$ here.")
    (element,) = maths_elements(html)
    assert 'display="inline"' in element
    assert "<mi>n</mi>" in element and "<mi>p</mi>" in element
    assert html.startswith("<p>The size is <math") and "$" not in html


def test_display_maths_spanning_lines_becomes_block_mathml():
    html = render(
        """
        Before.

        $$
        \\langle x, y \\rangle = \\sum_i x_i y_i
        $$

        After.
        """
    )
    (element,) = maths_elements(html)
    assert 'display="block"' in element
    assert "<msub>" in element  # x_i reached LaTeX, not Markdown emphasis
    assert "<em>" not in html and "$" not in html


def test_underscores_and_braces_reach_latex_not_markdown():
    html = render("Twice: $a_{i} b_{j}$ and $a_i * b_i * c$.")
    assert "<em>" not in html and "<strong>" not in html
    assert html.count("<msub>") == 4


def test_escaped_dollar_is_a_literal_dollar():
    html = render("It costs \\$5 and \\$6, not maths.")
    assert maths_elements(html) == []
    assert "$5 and $6" in html and "\\$" not in html


def test_prices_without_escapes_stay_text():
    html = render("From $5 to $6 a month.")
    assert maths_elements(html) == []
    assert "From $5 to $6 a month." in html


def test_dollar_in_inline_code_is_untouched():
    html = render("Shell: `echo $HOME $PATH` and maths $k$.")
    assert "<code>echo $HOME $PATH</code>" in html
    assert len(maths_elements(html)) == 1


def test_dollars_in_fenced_code_are_untouched():
    html = render(
        """
        ```python
        price = "$x$ and $$y$$"
        ```
        """
    )
    assert maths_elements(html) == []
    assert "$x$" in html and "$$y$$" in html


def test_maths_inside_admonitions_and_tabs_is_rendered():
    html = render(
        """
        !!! note
            Adjoint: $\\langle a, b \\rangle$.

        === "Maths"

            $$y = x$$
        """
    )
    assert len(maths_elements(html)) == 2


def test_invalid_latex_names_the_latex():
    with pytest.raises(MathsError, match=r"cannot render LaTeX 'x\^'"):
        render("Broken $x^$ here.")


def test_unknown_command_is_an_error_not_text_in_the_page():
    with pytest.raises(MathsError, match=r"unknown command\(s\) \['\\\\conv'\]"):
        render("Typo: $\\conv(x)$.")


def test_to_mathml_rejects_an_unknown_display():
    with pytest.raises(ValueError, match="display='wide'.*'inline' and 'block'"):
        to_mathml("x", "wide")


def test_operator_names_are_upright_identifiers_without_operator_spacing():
    (element,) = maths_elements(render(r"Then $\operatorname{crop}(g) = \max(a, b)$."))
    assert "<mi>crop</mi>" in element and "<mi>max</mi>" in element
    assert "<mo>crop</mo>" not in element


def test_a_maths_error_is_a_docexec_error():
    """So MkDocs prints its message, not a traceback, like every other engine error."""
    from docexec import DocexecError

    with pytest.raises(DocexecError, match=r"^docexec: cannot render LaTeX 'x\^'"):
        to_mathml("x^", "inline")
