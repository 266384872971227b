"""Scripting entry point, for Krita's Scripter and for tests.

    from krita import Krita
    from neural_style import api
    doc = Krita.instance().activeDocument()
    layer = api.stylize(doc, doc.activeNode(), "/path/to/style.jpg", preset="preview")
    picture = api.stylize(doc, None, "/path/to/style.jpg", source="image")  # everything you see

:func:`stylize` runs the same flow as the dialog without showing it. It blocks the script but not
Krita (a local event loop keeps the interface alive), honours the document's current selection,
and returns the new layer. Any problem raises :class:`StyleError` (``.code``, ``.message``, and
``.details``: the engine's own message and its last lines of stderr, or a traceback).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .config import EngineConfig
from .errors import StyleError
from .job import JobResult, StyleJob
from .qt_compat import QEventLoop, QTimer

if TYPE_CHECKING:
    from krita import Node

__all__ = ["EngineConfig", "StyleError", "stylize", "run_job"]


def run_job(job: StyleJob, timeout: float | None = None) -> JobResult:
    """Start ``job`` and wait for it while Qt keeps processing events; cancel on timeout."""
    loop = QEventLoop()
    job.finished.connect(lambda _result: loop.quit())
    job.start()
    if job.result is None:
        timer = None
        if timeout:
            timer = QTimer()
            timer.setSingleShot(True)
            timer.timeout.connect(job.cancel)
            timer.start(int(timeout * 1000))
        loop.exec()
        if timer is not None:
            timer.stop()
    if job.result is None:  # the loop was ended from outside (Krita is quitting): stop the engine
        job.stop()
    return job.result


def stylize(
    document,
    node,
    style_path,
    preset: str = "balanced",
    *,
    strength: float = 1.0,
    seed: int | None = None,
    init: str | None = None,
    style_scale: float | None = None,
    blend_style=None,
    blend_mix: float = 0.5,
    preserve_colors: bool = False,
    max_size: int | None = None,
    full_resolution: bool = False,
    engine: EngineConfig | None = None,
    layer_name: str | None = None,
    source: str = "layer",
    timeout: float | None = None,
    on_progress=None,
    **options,
) -> Node:
    """Repaint ``node``, or the whole image, in the style of ``style_path``: an image file, or an
    image open in Krita (a ``Document``, as it looks when the run starts, every visible layer
    merged), and so for ``blend_style``.

    ``source="layer"`` (the default) repaints ``node``, as its masks show it, into a new layer
    right above it: a paint layer, or a group, vector, file, fill or clone layer as it shows
    (redrawn first, as below). ``source="image"`` repaints the whole image as it is shown, every visible
    layer merged (the dialog's *Repaint: The whole image*), into a new layer at the top of the
    layer stack, where it covers the picture, named "Starry Night (whole image)"; ``node`` then
    plays no part (None, a group or a vector layer will do). The image is redrawn first, so the
    script's own changes (``setPixelData``, ``move``, ``setVisible``) are in it. Any other value
    raises a StyleError with the code ``bad_option``. With a selection, either repaints the
    selected part only.

    ``preset`` is ``"preview"``, ``"balanced"`` or ``"tutorial"``. ``max_size`` is the working
    size (the longest side, in pixels, the style is worked out at; None = the preset's), and
    ``full_resolution=True`` then refines the result up to the full pixel size of what is
    repainted (the layer, or the whole image), in tiles (slower). The new layer always has that
    pixel size. ``init="noise"`` starts from noise made from ``seed`` (the dialog's *Start from:
    Noise*); from the picture itself, the default, the seed changes nothing. ``style_scale``
    sizes the style's brush strokes (the dialog's *Stroke size*: 1.5 works the style image out
    at 1.5 times the working size, so its strokes come out bigger; None = 1). ``blend_style``
    blends a second style image in (the dialog's *Blend with*), with ``blend_mix`` its share,
    between 0 and 1 (the dialog's *Mix*: 0.3 takes 70 % of ``style_path`` and 30 % of
    ``blend_style``); the new layer is then named after both, ``"Starry Night + The Scream"``.
    Extra keyword arguments become engine options (``iterations=50`` → ``--iterations 50``;
    ``True`` → a bare flag; ``None`` and ``False`` → nothing); if the engine refuses one, the
    StyleError has the engine's own words, which name it. ``engine`` overrides the installed
    engine (``EngineConfig(python=..., weights=...)``). ``on_progress`` is called with each
    progress event (a dict with ``iteration``, ``total``, ``eta``).
    """
    job = StyleJob(
        document,
        node,
        style_path,
        preset,
        strength=strength,
        seed=seed,
        init=init,
        style_scale=style_scale,
        blend_style=blend_style,
        blend_mix=blend_mix,
        preserve_colors=preserve_colors,
        max_size=max_size,
        full_resolution=full_resolution,
        engine=engine,
        layer_name=layer_name,
        source=source,
        **options,
    )
    if on_progress is not None:
        job.progress.connect(on_progress)
    result = run_job(job, timeout)
    if not result.ok:
        raise StyleError(result.message, result.code, result.details)
    return result.layer
