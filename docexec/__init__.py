"""Build engine of the site: executes the snippets a page includes and freezes their outputs."""

from .errors import DocexecError
from .extension import DocexecExtension, makeExtension

__all__ = ["DocexecError", "DocexecExtension", "makeExtension"]
