"""Pixels of any Krita colour space as the 8-bit sRGB the engine works in, and back.

RGB/Alpha at 8 or 16 bits an integer channel in sRGB, by far the most common, goes by byte slicing
at C speed: B, G, R, A either way, and a 16-bit value's high byte is its 8-bit value. Any other
colour space (grayscale, CMYK, L*a*b*, floating point, and integer RGB with another profile: Krita
gives new 16-bit images a linear one) is converted by Krita's own colour management, in a scratch
document that the painter never sees: Krita's Python has no numpy, and an ICC transform is not
something to write by hand. Colours outside sRGB, and floating-point values above white, are
clipped on the way to the engine.
"""

from __future__ import annotations

import functools

from .errors import StyleError

DEPTHS = ("U8", "U16")
"""The integer depths of Krita's RGB/Alpha colour space read and written directly, in an sRGB
profile (:func:`is_direct`): an 8-bit value scales to 16 bits by 257."""

ENGINE_SPACE = ("RGBA", "U8", "sRGB-elle-V2-srgbtrc.icc")
"""What the engine reads and writes: Krita's own sRGB profile, 8 bits a channel, B, G, R, A."""

COLOR_MODELS = {
    "RGBA": "RGB/Alpha",
    "GRAYA": "Grayscale/Alpha",
    "CMYKA": "CMYK/Alpha",
    "LABA": "L*a*b*/Alpha",
    "XYZA": "XYZ/Alpha",
    "YCbCrA": "YCbCr/Alpha",
}
COLOR_DEPTHS = {
    "U8": "8-bit integer/channel",
    "U16": "16-bit integer/channel",
    "F16": "16-bit float/channel",
    "F32": "32-bit float/channel",
    "F64": "64-bit float/channel",
}
"""Krita's colour model and depth ids (``Node.colorModel()``) as its Convert Color Space dialog names them."""

Space = tuple  # (model, depth, profile), as ``Node.colorModel()``, ``colorDepth()``, ``colorProfile()`` give them


def color_space_name(model: str, depth: str) -> str:
    """``("GRAYA", "U8")`` -> ``"Grayscale/Alpha, 8-bit integer/channel"``: the names the painter sees."""
    return f"{COLOR_MODELS.get(model, model)}, {COLOR_DEPTHS.get(depth, depth)}"


def space_of(node_or_document) -> Space:
    """A layer's or the image's colour model, depth and profile."""
    return (node_or_document.colorModel(), node_or_document.colorDepth(), node_or_document.colorProfile())


def is_direct(space: Space) -> bool:
    """Whether ``space``'s bytes go to and from 8 bits by slicing alone: integer RGB/Alpha whose
    profile is sRGB's, Krita's own or one that Krita converts to it within a level (asked once per
    colour space, :func:`_like_srgb`). A linear profile (``sRGB-elle-V2-g10.icc``, Krita's default
    for a new 16-bit image) or another set of primaries is not: its values would reach the engine,
    which reads sRGB, as the wrong colours."""
    model, depth, profile = space
    if model != "RGBA" or depth not in DEPTHS:
        return False
    return profile == ENGINE_SPACE[2] or _like_srgb(tuple(space))


@functools.lru_cache(maxsize=None)  # noqa: UP033 - Krita 5.1's Python on Windows is 3.8, without functools.cache
def _like_srgb(space: Space) -> bool:
    """Whether Krita converts ``space`` (integer RGB/Alpha) to the engine's sRGB within a level
    for greys and each primary: then byte slicing is as good as the conversion."""
    ramp = bytes(c for v in range(0, 256, 5) for c in (v, v, v, 255, v, 0, 0, 255, 0, v, 0, 255, 0, 0, v, 255))
    n = len(ramp) // 4
    back = convert(from_8bit(ramp, space[1]), n, 1, space, ENGINE_SPACE)
    return max(abs(a - b) for a, b in zip(back, ramp)) <= 1


def to_8bit(data: bytes, depth: str) -> bytes:
    """Pixel bytes of ``depth`` ("U8" or "U16") as 8 bits a channel. A 16-bit value's high byte
    (the second: little-endian) is its 8-bit value, rounded down: at most one level darker than
    rounding, and an 8-bit value taken to 16 bits by :func:`from_8bit` comes back the same."""
    return data if depth == "U8" else data[1::2]


def from_8bit(data: bytes, depth: str) -> bytes:
    """8-bit pixel bytes as ``depth`` ("U8" or "U16"): a 16-bit value is the 8-bit one times 257,
    whose two bytes are both the 8-bit value."""
    if depth == "U8":
        return data
    wide = bytearray(2 * len(data))
    wide[0::2] = data
    wide[1::2] = data
    return bytes(wide)


def to_engine(data: bytes, w: int, h: int, space: Space) -> bytes:
    """``w`` x ``h`` pixels in ``space`` (a layer's or the image's bytes) as 8-bit sRGB B, G, R, A."""
    if is_direct(space):
        return to_8bit(data, space[1])
    return convert(data, w, h, space, ENGINE_SPACE)


def from_engine(bgra: bytes, w: int, h: int, space: Space) -> bytes:
    """The engine's 8-bit sRGB B, G, R, A pixels as bytes of ``space``, for ``Node.setPixelData``."""
    if is_direct(space):
        return from_8bit(bgra, space[1])
    return convert(bgra, w, h, ENGINE_SPACE, space)


def convert(data: bytes, w: int, h: int, source: Space, target: Space) -> bytes:
    """``w`` x ``h`` pixels from ``source`` to ``target`` by Krita's colour management: written
    into a scratch document of ``source``, which is converted and closed again. The scratch
    document is never shown, and nothing of the painter's changes."""
    from krita import Krita

    painters = tuple(source) if tuple(target) == ENGINE_SPACE else tuple(target)  # the one to name
    scratch = Krita.instance().createDocument(w, h, "Neural style colour conversion", *source, 72.0)
    try:
        if scratch is None or space_of(scratch) != tuple(source) or not scratch.rootNode().childNodes():
            raise _unconvertible(painters)
        layer = scratch.rootNode().childNodes()[0]
        layer.setPixelData(data, 0, 0, w, h)
        if not scratch.setColorSpace(*target):
            raise _unconvertible(painters)
        layer = scratch.rootNode().childNodes()[0]  # the conversion may replace the wrapper's node
        if space_of(layer) != tuple(target):
            raise _unconvertible(painters)
        return bytes(layer.pixelData(0, 0, w, h))
    finally:
        if scratch is not None:
            scratch.close()


def _unconvertible(space: Space) -> StyleError:
    """The painter's colour space ``space`` (not the engine's) that Krita could not convert."""
    name = color_space_name(space[0], space[1])
    return StyleError(
        f"Krita could not convert between the {name} colour space (profile “{space[2]}”) and sRGB: convert "
        "the image to RGB/Alpha with Image ▸ Convert Image Color Space… (one layer: Layer ▸ Convert ▸ "
        "Convert Layer Color Space…) and try again.",
        "unsupported_color_space",
    )
