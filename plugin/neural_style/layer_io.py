"""Pixels in and out of Krita, without numpy: a layer's or the whole image's, and the new layer.

The engine reads and writes 8-bit sRGB, B, G, R, A: Krita's own byte order for 8-bit RGBA
layers, and ``QImage.Format.Format_ARGB32``'s (not premultiplied) on little-endian machines, so
those bytes go straight into a QImage and out as a PNG, and the engine's PNG comes back the same
way. Layers and images of other depths and colour spaces are taken there and back by
:mod:`.color_spaces`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from .color_spaces import from_engine, space_of, to_engine
from .errors import StyleError
from .qt_compat import QImage, image_bytes, image_from_bytes

CONTEXT_MARGIN_FRACTION = 0.10
CONTEXT_MARGIN_MIN = 32

if sys.byteorder != "little":  # pragma: no cover - every platform Krita ships on is little-endian
    raise ImportError("neural_style needs a little-endian machine")


@dataclass(frozen=True)
class Region:
    x: int
    y: int
    w: int
    h: int

    def empty(self) -> bool:
        return self.w <= 0 or self.h <= 0

    def intersect(self, other: Region) -> Region:
        x0, y0 = max(self.x, other.x), max(self.y, other.y)
        x1 = min(self.x + self.w, other.x + other.w)
        y1 = min(self.y + self.h, other.y + other.h)
        return Region(x0, y0, max(0, x1 - x0), max(0, y1 - y0))

    def union(self, other: Region) -> Region:
        """The box around both; an empty one adds nothing."""
        if other.empty():
            return self
        if self.empty():
            return other
        x0, y0 = min(self.x, other.x), min(self.y, other.y)
        x1 = max(self.x + self.w, other.x + other.w)
        y1 = max(self.y + self.h, other.y + other.h)
        return Region(x0, y0, x1 - x0, y1 - y0)

    @staticmethod
    def of(rect) -> Region:
        return Region(rect.x(), rect.y(), rect.width(), rect.height())


SHOWN_LAYERS = {
    "grouplayer": "group",
    "vectorlayer": "vector layer",
    "filelayer": "file layer",
    "filllayer": "fill layer",
    "clonelayer": "clone layer",
}
"""Layers repainted as Krita shows them (their projection), by kind, with their names for a
message: a group's visible layers merged, the shapes of a vector layer, a file, fill or clone
layer's pixels. None has pixels of its own to read, and a painter who selects one means what it
shows."""

_TYPE_HINTS = {
    "filterlayer": (
        "is a filter layer, which has no picture of its own: select the group that holds it and the layers "
        "it changes, or choose Repaint: The whole image"
    ),
}


def document_is_open(document) -> bool:
    if document is None:
        return False
    try:
        from krita import Krita

        return any(document == other for other in Krita.instance().documents())
    except Exception:  # noqa: BLE001 - a dead wrapper must not raise into the painter's face
        return False


@dataclass(frozen=True)
class Placement:
    """Where the pixels lie, recorded when they are sent to the engine (:meth:`Source.placement`):
    the result only belongs back in the image if all of it is the same at the end
    (:meth:`Source.check_unchanged`). Their colour space is not recorded: the engine's result is
    8-bit sRGB, and is converted into whatever the image's colour space is when it is added."""

    canvas: tuple[int, int]
    position: tuple[int, int]  # a layer's offset (the Move tool changes it, painting does not); the image's: (0, 0)


def _canvas(document) -> Region:
    return Region(0, 0, document.width(), document.height())


def animated(node) -> bool:
    """Whether ``node`` or a layer inside it (a group's, the image root's) has an animation: what
    it shows then depends on the frame."""
    return node.animated() or any(animated(child) for child in node.childNodes())


def image_busy(document) -> bool:
    """Whether the painter is in the middle of something on the image (a brush stroke, a
    transform waiting for Apply): Krita then refuses the lock that waits for nothing
    (``tryBarrierLock``). A closed image is not busy: the job's checks say it is closed."""
    if not document_is_open(document):
        return False
    if document.tryBarrierLock():
        document.unlock()
        return False
    return True


def in_image(document, node) -> bool:
    """Whether ``node``'s parents lead up to the image's root. A parent alone would not prove it:
    a layer inside a deleted group could keep the detached group as its parent (Krita 5.1 detaches
    it too, but its API does not promise that)."""
    root, parent = document.rootNode(), node.parentNode()
    while parent is not None:
        if parent == root:
            return True
        parent = parent.parentNode()
    return False


def current_selection(document):
    """The document's selection, or None when there is none (or it is empty)."""
    selection = document.selection()
    if selection is None or selection.width() <= 0 or selection.height() <= 0:
        return None
    return selection


def plan_region(document, area: Region, selection, where: str) -> Region:
    """The pixels to send: all of ``area`` (a layer's painted pixels, or the canvas), or the
    selection's box plus context, clipped to the canvas and ``area``. ``where`` names ``area`` in
    the message for a selection that misses it ("the image")."""
    if selection is None:
        return area
    canvas = _canvas(document)
    box = Region(selection.x(), selection.y(), selection.width(), selection.height())
    margin = max(CONTEXT_MARGIN_MIN, round(CONTEXT_MARGIN_FRACTION * max(box.w, box.h)))
    grown = Region(box.x - margin, box.y - margin, box.w + 2 * margin, box.h + 2 * margin)
    region = grown.intersect(canvas).intersect(area)
    if region.empty() or box.intersect(area).empty():
        raise StyleError(f"The selection does not touch {where}.", "selection_outside_layer")
    return region


EFFECT_MASKS = ("transparencymask", "filtermask", "transformmask", "colorizemask")
"""The masks that change what a layer shows (a selection mask only holds a selection)."""
_CHANNELS = {"RGBA": 4, "GRAYA": 2, "CMYKA": 5, "LABA": 4, "XYZA": 4, "YCbCrA": 4}
_CHANNEL_BYTES = {"U8": 1, "U16": 2, "F16": 2, "F32": 4, "F64": 8}
_STRIP_BYTES = 32 << 20  # a projection is read in strips of about this size


def shows_through_masks(node) -> bool:
    """Whether a layer has a visible mask that changes what it shows."""
    return any(child.type() in EFFECT_MASKS and child.visible() for child in node.childNodes())


def alpha_box(alpha: bytes, region: Region) -> Region:
    """The box of the pixels of ``region`` whose alpha (one byte each, row by row) is not 0;
    empty when there are none. Row by row at C speed (bytes.strip), no per-pixel loop."""
    w = region.w
    rows = [(y, alpha[y * w : (y + 1) * w]) for y in range(region.h)]
    shown = [(y, row) for y, row in rows if row.strip(b"\x00")]
    if not shown:
        return Region(region.x, region.y, 0, 0)
    x0 = min(w - len(row.lstrip(b"\x00")) for _y, row in shown)
    x1 = max(len(row.rstrip(b"\x00")) for _y, row in shown)
    y0, y1 = shown[0][0], shown[-1][0] + 1
    return Region(region.x + x0, region.y + y0, x1 - x0, y1 - y0)


def _pixel_bytes(space) -> tuple[int, int] | None:
    """(bytes a pixel, bytes its alpha) in ``space``; None for a colour model or depth not known here."""
    if space[0] not in _CHANNELS or space[1] not in _CHANNEL_BYTES:
        return None
    size = _CHANNEL_BYTES[space[1]]
    return _CHANNELS[space[0]] * size, size


def _alpha_shown(data: bytes, w: int, h: int, space) -> bytes:
    """One byte per pixel, 0 where ``data`` (pixels of ``space``) is fully transparent. Alpha is
    the last channel in every Krita colour model: its bytes are ORed together, no conversion."""
    known = _pixel_bytes(space)
    if known is None:
        return to_engine(data, w, h, space)[3::4]
    pixel, size = known
    parts = [data[pixel - size + i :: pixel] for i in range(size)]
    if size == 1:
        return parts[0]
    merged = 0
    for part in parts:
        merged |= int.from_bytes(part, "little")
    return merged.to_bytes(len(parts[0]), "little")


def shown_box(node, within: Region) -> Region:
    """The box, within ``within``, of what the painter sees of a visible layer through its masks:
    a filter mask (a blur) or a transform mask shows it beyond the layer's own pixels, and a
    transparency mask may hide some of them. Read from its projection in strips, alpha only."""
    space = space_of(node)
    pixel = (_pixel_bytes(space) or (16, 0))[0]  # an unknown space: as many bytes as RGBA in float
    rows = max(1, _STRIP_BYTES // max(1, within.w * pixel))
    found = Region(within.x, within.y, 0, 0)
    for y in range(within.y, within.y + within.h, rows):
        strip = Region(within.x, y, within.w, min(rows, within.y + within.h - y))
        data = bytes(node.projectionPixelData(strip.x, strip.y, strip.w, strip.h))
        found = found.union(alpha_box(_alpha_shown(data, strip.w, strip.h, space), strip))
    return found


def export_layer(node, region: Region, path: str) -> None:
    """Write what the painter sees of the layer in ``region``: its pixels through its own masks
    (transparency, filter, transform), before its opacity and blending mode. A hidden paint
    layer's projection is not kept up to date by Krita, so there its own pixels, without its
    masks. The :data:`SHOWN_LAYERS` have no pixels of their own: their projection, redrawn
    (:meth:`LayerSource.validate`, which refuses them hidden) before it is read."""
    shown = node.type() in SHOWN_LAYERS
    read = node.projectionPixelData if node.visible() or shown else node.pixelData
    data = to_engine(bytes(read(region.x, region.y, region.w, region.h)), region.w, region.h, space_of(node))
    nothing = (
        f"“{node.name()}” shows nothing there: select a part where it does, and try again."
        if shown
        else f"“{node.name()}” has nothing visible to repaint there (its pixels are transparent or "
        "hidden by its masks): paint there, or select a visible part, and try again."
    )
    _save_png(data, region, path, nothing)


def _save_png(data: bytes, region: Region, path: str, nothing: str) -> None:
    """Write 8-bit B,G,R,A ``data`` of ``region`` as a PNG; ``nothing`` is the message (code
    ``empty_layer``) when every pixel is transparent: the engine would paint nothing there."""
    if not data[3::4].strip(b"\x00"):
        raise StyleError(nothing, "empty_layer")
    image = image_from_bytes(data, region.w, region.h, 4 * region.w, QImage.Format.Format_ARGB32)
    if not image.save(path, "PNG"):
        raise StyleError(unwritable(path), "io")


def unwritable(path: str) -> str:
    return f"Could not write the temporary file {path}: the disk may be full. Free some space and try again."


def selection_mask(selection, region: Region) -> bytes:
    """One byte per pixel of ``region``: 255 = selected, 0 = not, values between = soft edge."""
    data = bytes(selection.pixelData(region.x, region.y, region.w, region.h))
    if not data.strip(b"\x00"):
        raise StyleError("The selection is empty: select something or deselect all.", "empty_selection")
    return data


def export_mask(mask: bytes, region: Region, path: str) -> None:
    image = image_from_bytes(mask, region.w, region.h, region.w, QImage.Format.Format_Grayscale8)
    if not image.save(path, "PNG"):
        raise StyleError(unwritable(path), "io")


def read_result(path: str, region: Region) -> bytes:
    """The engine's PNG as B,G,R,A bytes, checked against the region's size."""
    image = QImage(path)
    if image.isNull():
        raise StyleError(
            f"The engine's result {path} could not be read (missing or damaged, perhaps a full disk): "
            "free some disk space and press Stylise again.",
            "bad_result",
        )
    if (image.width(), image.height()) != (region.w, region.h):
        raise StyleError(
            f"The engine returned {image.width()}x{image.height()} pixels instead of {region.w}x{region.h}.",
            "bad_result",
        )
    image = image.convertToFormat(QImage.Format.Format_ARGB32)
    return image_bytes(image)[: 4 * region.w * region.h]


_HARD = bytes([0] + [255] * 255)


def clear_outside(bgra: bytes, mask: bytes) -> bytes:
    """Force alpha to 0 wherever ``mask`` is 0 (the engine's cutout already does this; this is
    the guarantee). Soft edges are left as the engine blended them. Runs at C speed: big-int AND
    over the alpha bytes, no per-pixel Python loop."""
    alpha = bgra[3::4]
    hard = mask.translate(_HARD)
    n = len(alpha)
    cut = (int.from_bytes(alpha, "little") & int.from_bytes(hard, "little")).to_bytes(n, "little")
    if cut == alpha:
        return bgra
    out = bytearray(bgra)
    out[3::4] = cut
    return bytes(out)


def add_result_layer(document, name: str, region: Region, bgra: bytes, parent, above, like=None):
    """A new paint layer holding ``bgra`` (the engine's 8-bit sRGB) at ``region``, in the image's
    colour space and profile (converted there from sRGB where they are not sRGB), put into
    ``parent`` right above its child ``above``. ``like`` is the layer that was repainted: the new
    layer takes its *Inherit Alpha*; for the whole image (None) it has none. Not its profile:
    assigning one is an undo step of its own (and waits for the painter's stroke to end), and the
    colours come out the same converted.

    The pixels are written before the layer joins the image, so adding it is the only change to
    the document: one undo step removes it again.
    """
    layer = document.createNode(name, "paintlayer")
    if layer is None:
        raise StyleError(
            "Krita could not make the new layer: nothing was added. Press Stylise again.", "add_layer_failed"
        )
    pixels = from_engine(bgra, region.w, region.h, space_of(layer))
    if like is not None:
        layer.setInheritAlpha(like.inheritAlpha())
    layer.setPixelData(pixels, region.x, region.y, region.w, region.h)
    # Krita 5's addChildNode answers True even when it adds nothing: ask the layer where it is.
    if not parent.addChildNode(layer, above) or layer.parentNode() is None:
        perhaps = "the layer's group is locked or the image is busy" if like is not None else "the image is busy"
        raise StyleError(
            f"Krita refused to add the new layer (perhaps {perhaps}): nothing was added. Check the layer "
            "stack and press Stylise again.",
            "add_layer_failed",
        )
    document.refreshProjection()
    return layer


_RESULTS: dict[str, str] = {}
"""The result layers made in this Krita session -> the layer each repaints (``uniqueId``s)."""


def _uid(node) -> str:
    return node.uniqueId().toString()


def top_of_results(parent, node):
    """Where a new result of ``node`` goes: right above it, or above the earlier results of
    ``node`` that sit right above it, so that the painter who tries again with other settings
    sees the new one on top instead of under the last."""
    above, source, passed = node, _uid(node), False
    for child in parent.childNodes():
        if child == node:
            passed = True
        elif passed:
            if _RESULTS.get(_uid(child)) != source:
                break
            above = child
    return above


class Source:
    """What a run repaints and where its result goes: a :class:`LayerSource` or an
    :class:`ImageSource`, made by :meth:`of`. The job asks it, in this order: :meth:`validate`,
    :meth:`placement` (kept for the end), :meth:`plan_region` with the selection, :meth:`export`
    the pixels; when the engine is done, :meth:`check_unchanged` with that placement and
    :meth:`add_result`. ``what`` names it at the start of a message. Either way a selection
    picks the part repainted."""

    what = ""  # "“Paint”" or "The image"
    where = ""  # what a selection must touch, in its message: "any painted pixels of “Paint”", "the image"

    def __init__(self, document) -> None:
        self.document = document

    @staticmethod
    def of(document, node, kind: str) -> Source:
        """``kind`` "layer": ``node``; "image": the whole image, where ``node`` plays no part."""
        if kind == "layer":
            return LayerSource(document, node)
        if kind == "image":
            return ImageSource(document)
        raise StyleError(
            f"source is “layer” (the active layer) or “image” (the whole image as shown), not {kind!r}.",
            "bad_option",
        )

    def area(self) -> Region:
        """All there is to repaint, without a selection."""
        raise NotImplementedError

    def frame(self) -> int | None:
        """The animation frame repainted (the one shown now) where what is repainted is animated,
        else None: the new layer is not animated, so its name says which frame it is."""
        raise NotImplementedError

    def plan_region(self, selection) -> Region:
        return plan_region(self.document, self.area(), selection, self.where)

    def _check_open(self) -> None:
        if not document_is_open(self.document):
            raise StyleError("Open an image first: there is no open document.", "no_document")

    def _check_image(self, before: Placement) -> Placement:
        """The checks of :meth:`check_unchanged` that both kinds share: the image is still open
        and has its size (the region's coordinates move with it). Returns the placement now."""
        if not document_is_open(self.document):
            raise StyleError(
                "The image was closed while the style was being painted: nothing was added.", "document_closed"
            )
        now = self.placement()
        if now.canvas != before.canvas:
            raise StyleError(
                "The image was resized or cropped while the style was being painted: nothing was "
                "added. Press Stylise again to paint it as it is now.",
                "image_resized",
            )
        return now


class LayerSource(Source):
    """A layer as its own masks show it, before its opacity and blending mode: a paint layer's
    pixels, or what a group, vector, file, fill or clone layer shows (:data:`SHOWN_LAYERS`). The
    result goes right above it, with its *Inherit Alpha*."""

    def __init__(self, document, node) -> None:
        super().__init__(document)
        self.node = node
        self._area: Region | None = None
        self._moved = (0, 0)  # how far the painter moved the layer during the run: the result follows

    @property
    def what(self) -> str:
        return f"“{self.node.name()}”"

    @property
    def where(self) -> str:
        if self.node is not None and self.node.type() in SHOWN_LAYERS:
            return f"anything {self.what} shows"
        return f"any painted pixels of {self.what}"

    def validate(self) -> None:
        """Raise :class:`StyleError` with a painter-readable message when the layer cannot be used."""
        self._check_open()
        node = self.node
        if node is None:
            raise StyleError("Select the layer to repaint in the Layers docker.", "no_layer")
        kind = node.type()
        if kind != "paintlayer" and kind not in SHOWN_LAYERS:
            hint = _TYPE_HINTS.get(kind, "is a mask or another kind of node: select a layer")
            raise StyleError(f"{self.what} {hint}.", "unsupported_layer")
        if kind in SHOWN_LAYERS:
            self._check_shown()
        if Region.of(node.bounds()).empty():
            empty = (
                "is empty: paint something first"
                if kind == "paintlayer"
                else "shows nothing: it has nothing visible in it"
            )
            raise StyleError(f"{self.what} {empty}.", "empty_layer")
        if self.area().empty():
            if Region.of(node.bounds()).intersect(_canvas(self.document)).empty():
                raise StyleError(
                    f"{self.what} lies outside the canvas: move it onto the canvas and try again.", "empty_layer"
                )
            hidden = (
                "its masks hide all of it. Change its masks"
                if kind == "paintlayer"
                else "nothing in it is visible. Show it"
            )
            raise StyleError(f"{self.what} has nothing visible to repaint: {hidden} and try again.", "empty_layer")

    def _check_shown(self) -> None:
        """What a :data:`SHOWN_LAYERS` layer shows is read from its projection, which must be there
        and up to date. Krita 5.1 merges no picture for a pass-through group (its layers go
        straight into the image) and keeps no picture of a hidden layer up to date when it has
        masks or is an offset clone; for the rest it redraws the projection here. It redraws a
        group as the painter works, but not for a script's changes to the layers in it (as for the
        whole image, ImageSource.export)."""
        node = self.node
        if node.type() == "grouplayer" and node.passThroughMode():
            raise StyleError(
                f"{self.what} is a pass-through group, which Krita gives no picture of its own: turn Pass "
                "Through off for it, or choose Repaint: The whole image.",
                "unsupported_layer",
            )
        if not node.visible():
            raise StyleError(
                f"{self.what} is hidden, and Krita does not keep what a hidden {SHOWN_LAYERS[node.type()]} shows up "
                "to date: show it (the eye in the Layers docker) and press Stylise again.",
                "hidden_layer",
            )
        self.document.refreshProjection()

    def area(self) -> Region:
        """Within the canvas (what lies beyond it is not seen, and would cost time and working
        size): a paint layer's own pixels; for a visible one with masks, and for the
        :data:`SHOWN_LAYERS` always, the box of what it shows (:func:`shown_box`: a clone's
        bounds take in its source's pixels too), read once. A hidden layer's masks are left
        aside, as in :func:`export_layer`."""
        if self._area is None:
            node, canvas = self.node, _canvas(self.document)
            own = Region.of(node.bounds()).intersect(canvas)
            if node.visible() and shows_through_masks(node):  # a mask may show it beyond its bounds
                own = shown_box(node, canvas)
            elif node.type() in SHOWN_LAYERS:  # within its bounds, which may take in more (a clone's)
                own = shown_box(node, own)
            self._area = own
        return self._area

    def export(self, region: Region, path: str) -> None:
        export_layer(self.node, region, path)

    def placement(self) -> Placement:
        position = self.node.position()
        canvas = _canvas(self.document)
        return Placement((canvas.w, canvas.h), (position.x(), position.y()))

    def check_unchanged(self, before: Placement) -> None:
        """Raise :class:`StyleError` when the layer changed under the run so that the result no
        longer has its place: the image closed, resized or cropped, the layer deleted. Painting on
        it is fine, beyond its old edges too: a soft brush stroke must not throw a run away; so is
        converting its colours or the image's (the result is converted on the way in). A paint
        layer moved with the Move tool takes its result along (:meth:`add_result`); any other
        kind moved adds nothing (a group's offset does not say where its layers went). A
        transform that rewrites the layer's pixels in place (Transform tool, Image ▸ Rotate) is
        not told apart from painting, and one Undo removes the result."""
        now = self._check_image(before)
        if not in_image(self.document, self.node):
            raise StyleError(
                f"{self.what} was deleted while the style was being painted: nothing was added.", "layer_gone"
            )
        (x0, y0), (x1, y1) = before.position, now.position
        if (x1, y1) != (x0, y0) and self.node.type() != "paintlayer":
            raise StyleError(
                f"{self.what} was moved while the style was being painted: nothing was added. "
                "Press Stylise again to paint it as it is now.",
                "layer_moved",
            )
        self._moved = (x1 - x0, y1 - y0)

    def frame(self) -> int | None:
        return self.document.currentTime() if animated(self.node) else None

    def add_result(self, name: str, region: Region, bgra: bytes):
        dx, dy = self._moved
        region = Region(region.x + dx, region.y + dy, region.w, region.h)
        parent = self.node.parentNode()
        above = top_of_results(parent, self.node)
        layer = add_result_layer(self.document, name, region, bgra, parent, above=above, like=self.node)
        _RESULTS[_uid(layer)] = _uid(self.node)
        return layer


class ImageSource(Source):
    """The image as the painter sees it: its projection, every visible layer merged with its
    opacity, blending mode and masks, as *New Layer from Visible* would make it. Repainting one
    layer of a painting alone looks wrong next to the others; this spares the painter that step.
    The result goes at the top of the layer stack, where it covers the picture. The active layer
    plays no part: it may be a group, a vector layer or none."""

    what = "The image"
    where = "the image"

    def validate(self) -> None:
        """Only the image counts. An image that shows nothing is found when its pixels are read
        (:meth:`export`), as a layer hidden by its masks is."""
        self._check_open()

    def area(self) -> Region:
        return _canvas(self.document)

    def export(self, region: Region, path: str) -> None:
        """The image as the painter sees it, redrawn first. Krita redraws it as the painter works,
        but in Krita 5.1 not for a script's ``Node.setPixelData``, ``move``, ``setVisible`` or
        ``Filter.apply``, even after ``waitForDone()``; ``refreshProjection()`` redraws it before it
        returns. No ``waitForDone()``: it would end a stroke the painter has in progress (a
        transform waiting for its Apply), which the plugin never does."""
        document = self.document
        document.refreshProjection()
        pixels = bytes(document.pixelData(region.x, region.y, region.w, region.h))
        data = to_engine(pixels, region.w, region.h, space_of(document))
        nothing = (
            "The image has nothing visible to repaint there (its visible layers are transparent there): "
            "paint there, show a hidden layer, or select a visible part, and try again."
        )
        _save_png(data, region, path, nothing)

    def placement(self) -> Placement:
        canvas = _canvas(self.document)
        return Placement((canvas.w, canvas.h), (0, 0))

    def check_unchanged(self, before: Placement) -> None:
        """Only what would misplace the result counts: the image closed, resized or cropped.
        Whatever happens to the layers (painted, moved, converted, deleted or hidden), the result is
        the picture as it was sent and still goes on top; an image converted to other colours gets
        it converted too. A transform of the whole
        image that keeps its size (Image ▸ Mirror, Rotate 180°) is not told apart from painting:
        the result is added as the picture was, and one Undo removes it."""
        self._check_image(before)

    def frame(self) -> int | None:
        return self.document.currentTime() if animated(self.document.rootNode()) else None

    def add_result(self, name: str, region: Region, bgra: bytes):
        root = self.document.rootNode()
        children = root.childNodes()
        # The root's last child is the topmost layer, or the image's selection mask, which
        # Document.setSelection adds there: right above it is as much the top of the stack.
        last = children[-1] if children else None
        return add_result_layer(self.document, name, region, bgra, root, above=last)
