"""Build engine of the site: executes the snippets a page includes and freezes their outputs."""

from .extension import DocexecError, DocexecExtension, makeExtension

__all__ = ["DocexecError", "DocexecExtension", "makeExtension"]
