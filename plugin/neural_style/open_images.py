"""Styles taken from the images open in Krita, besides style files: a painter often keeps the
painting whose style they want open beside their own, perhaps unsaved, perhaps a .kra that no
image library reads. Such a style is a Krita ``Document``; when the run starts it is written to
a PNG in the job's temporary folder, as it looks then (every visible layer merged)."""

from __future__ import annotations

import math
import os

from .config import style_label
from .errors import StyleError
from .layer_io import document_is_open, unwritable

STYLE_LONGEST = 4096
"""The longest side an open image is written at, unless a run with Full resolution asks for
more (``StyleJob._style_longest``). Without it the engine works a style out at most at the
largest Working size (1536 px) times the largest Stroke size (2): 3072 px; a larger canvas would
only cost time and memory to write."""


ENGINE_PIXELS = 100_000_000  # the engine refuses a larger image (images.MAX_INPUT_PIXELS)
ENGINE_SIDE = 16  # and one narrower than this (images.MIN_SIDE)


def is_open_image(style) -> bool:
    """Whether ``style`` is an open image (a Krita ``Document``) rather than a file's path."""
    return not isinstance(style, (str, bytes, os.PathLike)) and hasattr(style, "thumbnail")


def style_name(style) -> str:
    """What the style is called in the list and in the new layer's name: ``starry_night.jpg`` ->
    ``Starry Night``; an open image by its file's name, or by its title while it is unsaved; ""
    for an image closed already, which has no name any more."""
    if not is_open_image(style):
        return style_label(style)
    if not document_is_open(style):
        return ""
    path = style.fileName()
    return style_label(path) if path else (style.name() or "Untitled")


def check_open(document, what: str) -> None:
    """Raise ``style_missing`` when ``document``, chosen as ``what`` (“the style, “Irises””, named
    while it was open), was closed."""
    if not document_is_open(document):
        raise StyleError(
            f"The image chosen as {what} was closed in Krita: open it again, or choose another style.",
            "style_missing",
        )


def export_open_image(document, path: str, what: str, longest: int = STYLE_LONGEST) -> None:
    """Write ``document`` as the painter sees it to ``path`` (PNG), at most ``longest`` pixels on
    its longest side. Krita's thumbnail does the merging, the scaling and the conversion from any
    colour space to sRGB in one call."""
    check_open(document, what)
    document.refreshProjection()  # as ImageSource.export: a script's changes are in it too
    w, h = document.width(), document.height()
    scale = min(1.0, longest / max(w, h, 1), math.sqrt(ENGINE_PIXELS / max(w * h, 1)))
    scale = min(1.0, max(scale, ENGINE_SIDE / max(min(w, h), 1)))  # a narrow strip keeps 16 px
    image = document.thumbnail(max(1, round(w * scale)), max(1, round(h * scale)))
    if image.isNull():
        raise StyleError(
            f"Krita could not give the pixels of the image chosen as {what}; choose another style.", "style_missing"
        )
    if not image.save(path, "PNG"):
        raise StyleError(unwritable(path), "io")
