"""Runs INSIDE Krita (``kritarunner -s krita_scenarios``); not collected by pytest.

Reads the spec named by ``$NST_SCENARIO_SPEC`` (``{"cases": [...], "out": path, "engine": {...},
"style": path}``), runs each case on fresh documents through the plugin's real code, and writes
plain facts (sizes, counts, hashes) as JSON for the pytest side to assert on.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
import traceback

from krita import InfoObject, Krita, ManagedColor, Selection
from memory_settings import MemorySettings
from process_check import process_alive

W, H = 96, 64


def _spec() -> dict:
    with open(os.environ["NST_SCENARIO_SPEC"], encoding="utf-8") as fh:
        return json.load(fh)


# -- documents -----------------------------------------------------------------------------------
SRGB = "sRGB-elle-V2-srgbtrc.icc"  # Krita's sRGB: new 16-bit images get a linear profile unless told


def new_doc(w=W, h=H, depth="U8", name="test", profile=SRGB):
    doc = Krita.instance().createDocument(w, h, name, "RGBA", depth, profile, 72.0)
    return doc


def pixel_bytes(rect, pixel, depth="U8") -> bytes:
    """A layer's bytes over ``rect`` (x, y, w, h) from ``pixel(x, y) -> (r, g, b, a)``, each value
    one byte ("U8") or two, little-endian ("U16"): Krita's RGBA layers are B, G, R, A."""
    x0, y0, w, h = rect
    size = 1 if depth == "U8" else 2
    data = bytearray()
    for y in range(y0, y0 + h):
        for x in range(x0, x0 + w):
            r, g, b, a = pixel(x, y)
            data += b"".join(v.to_bytes(size, "little") for v in (b, g, r, a))
    return bytes(data)


def add_paint_layer(doc, name, rect, pixel, depth=None):
    """A paint layer on top, filled over ``rect`` (x, y, w, h) by ``pixel(x, y) -> (r, g, b, a)``;
    ``depth`` ("U8", "U16") converts it from the image's first (RGBA, Krita's sRGB)."""
    x0, y0, w, h = rect
    layer = doc.createNode(name, "paintlayer")
    root = doc.rootNode()
    root.addChildNode(layer, root.childNodes()[-1])
    if depth is not None and layer.colorDepth() != depth:
        layer.setColorSpace("RGBA", depth, SRGB)
        doc.waitForDone()
    layer.setPixelData(pixel_bytes(rect, pixel, depth or "U8"), x0, y0, w, h)
    doc.waitForDone()
    return layer


def red_only(x, y):
    return (120 + (x * 7 + y * 3) % 136, 0, 0, 255)


def colourful(x, y):
    return ((x * 5) % 256, (y * 7) % 256, (x * y) % 256, 255)


def snapshot(doc) -> dict:
    """Everything that must not change: the layer tree and every layer's bytes."""
    nodes = []

    def walk(node, depth):
        for child in node.childNodes():
            b = child.bounds()
            data = bytes(child.pixelData(0, 0, doc.width(), doc.height())) if child.type() == "paintlayer" else b""
            nodes.append(
                [
                    depth,
                    child.name(),
                    child.type(),
                    [b.x(), b.y(), b.width(), b.height()],
                    hashlib.sha256(data).hexdigest(),
                ]
            )
            walk(child, depth + 1)

    walk(doc.rootNode(), 0)
    sel = doc.selection()
    return {"nodes": nodes, "selection": None if sel is None else [sel.x(), sel.y(), sel.width(), sel.height()]}


def leftovers() -> list[str]:
    return sorted(n for n in os.listdir(tempfile.gettempdir()) if n.startswith("krita-neural-style-"))


def layer_facts(doc, layer, source) -> dict:
    """Per-pixel statistics of a result layer against its source, over the whole canvas."""
    w, h = doc.width(), doc.height()
    out = bytes(layer.pixelData(0, 0, w, h))
    src = bytes(source.pixelData(0, 0, w, h))
    b = layer.bounds()
    siblings = [c.name() for c in layer.parentNode().childNodes()]
    return {
        "name": layer.name(),
        "type": layer.type(),
        "bounds": [b.x(), b.y(), b.width(), b.height()],
        "position": [layer.position().x(), layer.position().y()],
        "siblings": siblings,
        "alpha": list(out[3::4]),
        "changed": [int(sum(abs(out[i + k] - src[i + k]) for k in range(3)) > 6) for i in range(0, len(out), 4)],
        "mean_rgb": _mean_rgb(out),
        "source_mean_rgb": _mean_rgb(src),
    }


def _mean_rgb(bgra: bytes) -> list[float]:
    n = 0
    r = g = b = 0
    for i in range(0, len(bgra), 4):
        if bgra[i + 3]:
            n += 1
            b += bgra[i]
            g += bgra[i + 1]
            r += bgra[i + 2]
    return [r / max(n, 1), g / max(n, 1), b / max(n, 1)]


def engine_config(spec):
    from neural_style.config import EngineConfig

    e = spec["engine"]
    return EngineConfig(python=e["python"], weights=e.get("weights", ""))


FAST = {"max_size": 64, "iterations": 5}


# -- cases ---------------------------------------------------------------------------------------
def case_whole_layer(spec):
    from neural_style import api

    doc = new_doc()
    source = add_paint_layer(doc, "Paint", (8, 8, 80, 48), red_only)
    before = snapshot(doc)
    src_before = bytes(source.pixelData(0, 0, W, H))
    t0 = time.monotonic()
    layer = api.stylize(doc, source, spec["style"], preset="preview", seed=1, engine=engine_config(spec), **FAST)
    facts = layer_facts(doc, layer, source)
    after = snapshot(doc)
    facts.update(
        seconds=time.monotonic() - t0,
        source_bounds=[8, 8, 80, 48],
        layers_before=len(before["nodes"]),
        layers_after=len(after["nodes"]),
        source_identical=bytes(source.pixelData(0, 0, W, H)) == src_before,
        others_identical=[n for n in after["nodes"] if n[1] != layer.name()] == before["nodes"],
        leftovers=leftovers(),
    )
    return facts


def _selection_case(spec, make_selection):
    from neural_style import api

    doc = new_doc(128, 96)
    source = add_paint_layer(doc, "Paint", (0, 0, 128, 96), colourful)
    doc.setSelection(make_selection())
    sel = doc.selection()
    mask = list(bytes(sel.pixelData(0, 0, 128, 96)))
    before = snapshot(doc)
    layer = api.stylize(doc, source, spec["style"], preset="preview", seed=1, engine=engine_config(spec), **FAST)
    facts = layer_facts(doc, layer, source)
    after = snapshot(doc)
    facts.update(
        mask=mask,
        layers_before=len(before["nodes"]),
        layers_after=len(after["nodes"]),
        others_identical=[n for n in after["nodes"] if n[1] != layer.name()] == before["nodes"],
        leftovers=leftovers(),
    )
    return facts


def case_rect_selection(spec):
    def make():
        s = Selection()
        s.select(40, 30, 40, 30, 255)
        return s

    return _selection_case(spec, make)


def case_ellipse_selection(spec):
    def make():
        w, h, cx, cy, rx, ry = 128, 96, 64, 48, 34, 24
        data = bytes(255 if ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1 else 0 for y in range(h) for x in range(w))
        s = Selection()
        s.setPixelData(data, 0, 0, w, h)
        s.feather(6)
        return s

    return _selection_case(spec, make)


def case_cancel(spec):
    from neural_style.job import StyleJob
    from neural_style.qt_compat import QEventLoop, QTimer

    doc = new_doc()
    source = add_paint_layer(doc, "Paint", (0, 0, W, H), colourful)
    before = snapshot(doc)
    job = StyleJob(doc, source, spec["style"], "preview", engine=engine_config(spec), max_size=64, iterations=500)
    seen = {"progress": 0, "cancel_at": None}

    def on_progress(event):
        seen["progress"] += 1
        if seen["cancel_at"] is None:
            seen["cancel_at"] = time.monotonic()
            seen["tmp_during"] = leftovers()
            job.cancel()

    job.progress.connect(on_progress)
    loop = QEventLoop()
    job.finished.connect(lambda _r: loop.quit())
    guard = QTimer()
    guard.setSingleShot(True)
    guard.timeout.connect(job.cancel)
    guard.start(90_000)
    job.start()
    if job.result is None:
        loop.exec()
    ended = time.monotonic()
    pid = job.process.pid if job.process else None
    time.sleep(0.3)
    return {
        "ok": job.result.ok,
        "code": job.result.code,
        "message": job.result.message,
        "progress_events": seen["progress"],
        "tmp_during": seen.get("tmp_during", []),
        "cancel_seconds": (ended - seen["cancel_at"]) if seen["cancel_at"] else None,
        "pid": pid,
        "pid_alive": process_alive(pid),
        "identical": snapshot(doc) == before,
        "leftovers": leftovers(),
    }


def case_stubborn_engine(spec):
    """An engine that ignores SIGTERM is killed CANCEL_GRACE_MS after the first Cancel; pressing
    Cancel again halfway must not put the kill off."""
    import shutil

    from neural_style.engine import CANCEL_GRACE_MS, EngineProcess
    from neural_style.request import EngineRequest

    folder = tempfile.mkdtemp(prefix="stubborn-engine-")
    stubborn = _script_engine(
        folder,
        "import pathlib, signal, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\npathlib.Path(sys.argv[0] + '.ready').touch()\n"
        "time.sleep(60)\n",
    )
    proc = EngineProcess(EngineRequest(python=stubborn, content="c.png", style="s.png", output="o.png"))
    ended = []
    proc.finished.connect(lambda result: ended.append((time.monotonic(), result)))
    proc.start()
    deadline = time.monotonic() + 30  # until it has set its signal handler
    while not os.path.exists(stubborn + ".ready") and time.monotonic() < deadline:
        _wait(proc.finished, 0.05)
    first = time.monotonic()
    proc.cancel()
    _wait(proc.finished, CANCEL_GRACE_MS / 2000)
    proc.cancel()
    _wait(proc.finished, CANCEL_GRACE_MS / 1000 + 5)
    # stop(): cancel, wait, then kill, blocking, for shutdown paths
    again = EngineProcess(EngineRequest(python=stubborn, content="c.png", style="s.png", output="o.png"))
    again_ended = []
    again.finished.connect(lambda result: again_ended.append(result))
    os.remove(stubborn + ".ready")
    again.start()
    deadline = time.monotonic() + 30
    while not os.path.exists(stubborn + ".ready") and time.monotonic() < deadline:
        time.sleep(0.05)
    t0 = time.monotonic()
    again.stop(300)
    stop_s = time.monotonic() - t0
    _wait(again.finished, 1)
    shutil.rmtree(folder)
    return {
        "stop_s": stop_s,
        "stop_ended": not process_alive(again.pid),
        "stop_code": again_ended[0].code if again_ended else None,
        "grace_s": CANCEL_GRACE_MS / 1000,
        "ended_after_s": (ended[0][0] - first) if ended else None,
        "code": ended[0][1].code if ended else None,
        "pid_alive": process_alive(proc.pid),
    }


def _script_engine(folder: str, body: str) -> str:
    """A stand-in for the engine's Python: an executable Python script in ``folder`` (the Python
    that runs it needs only the standard library)."""
    path = os.path.join(folder, "python3")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("#!/usr/bin/env python3\n" + body)
    os.chmod(path, 0o755)
    return path


def _quitting_engine(folder: str) -> str:
    """One that exits at once, as a warm engine does after its idle time (or when it crashes)."""
    return _script_engine(folder, "import sys\nsys.exit(0)\n")


def _dialog_with_engine(python: str):
    """The dialog on a new document's small red layer, with ``python`` as the engine's Python."""
    from neural_style.dialog import StyleDialog

    settings = MemorySettings()
    settings.set("engine_python", python)
    doc = new_doc()
    layer = add_paint_layer(doc, "Paint", (0, 0, 16, 16), red_only)
    return StyleDialog(document=doc, node=layer, settings=settings)


def case_ended_standby(spec):
    """A warm engine that has ended on its own is let go when the dialog starts another and when
    it closes: its Qt objects are deleted, not kept for as long as Krita runs."""
    import shutil

    from neural_style.qt_compat import QEvent, QtCore

    sip = _sip()
    folder = tempfile.mkdtemp(prefix="ended-standby-")
    dlg = _dialog_with_engine(_quitting_engine(folder))
    dlg.show()
    first = dlg.standby
    facts = {"started": first is not None}
    if first is None:
        return facts
    facts["first_ended"] = not first.is_running() or _wait(first.finished, 30)
    dlg.warm_up()  # as after a run: the ended engine cannot take one, so another starts
    second = dlg.standby
    facts["replaced"] = second is not None and second is not first
    if second is not None and second.is_running():
        _wait(second.finished, 30)
    dlg.close()
    QtCore.QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    facts.update(
        first_deleted=sip.isdeleted(first),
        second_deleted=second is not None and sip.isdeleted(second),
        standby_after_close=dlg.standby is not None,
    )
    shutil.rmtree(folder)
    return facts


def case_activation_refresh(spec):
    """A dialog opened from the menu follows Krita's active layer: coming back to it (activating
    its window) shows the layer Stylise will take. kritarunner has no window, so that is none."""
    from neural_style.dialog import StyleDialog
    from neural_style.qt_compat import QApplication, QtWidgets

    doc = new_doc()
    layer = add_paint_layer(doc, "Paint", (0, 0, 16, 16), red_only)
    dlg = StyleDialog(settings=MemorySettings())
    dlg.show()
    other = QtWidgets.QWidget()
    other.show()
    other.activateWindow()
    QApplication.processEvents()
    dlg.document, dlg.node = doc, layer  # what it showed before the painter went to the canvas
    dlg._show_target()
    facts = {"before": dlg.target_label.text(), "dialog_active_before": dlg.isActiveWindow()}
    dlg.activateWindow()
    deadline = time.monotonic() + 5
    while not dlg.isActiveWindow() and time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.01)
    QApplication.processEvents()
    facts.update(dialog_active=dlg.isActiveWindow(), after=dlg.target_label.text())
    facts["node"] = None if dlg.node is None else dlg.node.name()
    dlg.close()
    other.close()
    return facts


def _running_with(text: str) -> list[int]:
    """The live processes whose command line mentions ``text``."""
    pids = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                if text.encode() in fh.read() and process_alive(int(entry)):
                    pids.append(int(entry))
        except (OSError, ValueError):
            continue
    return pids


def case_quit_while_scripting(spec):
    """Krita quits while a script waits in ``api.stylize``: the quit ends every event loop, the
    script's local one too. The engine is stopped, the script gets a StyleError, and nothing is
    added. Runs alone: after ``QCoreApplication.exit`` no local event loop runs again."""
    import shutil

    from neural_style import api
    from neural_style.config import EngineConfig
    from neural_style.qt_compat import QApplication, QTimer

    folder = tempfile.mkdtemp(prefix="quit-engine-")
    slow = _script_engine(folder, "import time\ntime.sleep(60)\n")  # works long
    doc = new_doc()
    layer = add_paint_layer(doc, "Paint", (0, 0, 16, 16), red_only)
    before = snapshot(doc)
    facts = {}

    def quit_krita():
        facts["engines_at_quit"] = _running_with(slow)
        QApplication.exit(0)

    QTimer.singleShot(1500, quit_krita)
    t0 = time.monotonic()
    try:
        api.stylize(doc, layer, spec["style"], engine=EngineConfig(python=slow), timeout=120)
        facts["raised"] = None
    except api.StyleError as exc:
        facts.update(raised="StyleError", code=exc.code, message=exc.message)
    except Exception as exc:  # noqa: BLE001 - the finding itself: reported, not raised
        facts["raised"] = f"{type(exc).__name__}: {exc}"
    facts["seconds"] = time.monotonic() - t0
    facts["engines_left"] = _running_with(slow)
    facts["identical"] = snapshot(doc) == before
    facts["leftovers"] = leftovers()
    shutil.rmtree(folder)
    return facts


def case_layer_deleted(spec):
    """The painter deletes the source layer while the engine works: nothing is added, and the run
    says so instead of reporting a layer that is not in the image."""
    return _changed_mid_run(spec, lambda doc, source: source.remove(), lambda name: name != "Paint")


def case_image_cropped(spec):
    """The painter crops the image while the engine works: the result no longer fits where the
    layer's pixels were taken from, so nothing is added and the run says why."""
    return _changed_mid_run(spec, lambda doc, source: doc.crop(0, 0, W // 2, H // 2), lambda name: True)


def _changed_mid_run(spec, change, kept):
    """Run on a new layer, ``change(doc, source)`` at the first progress event; what came of it."""
    from neural_style import api

    doc = new_doc()
    source = add_paint_layer(doc, "Paint", (0, 0, W, H), colourful)
    seen = []

    def on_progress(event):
        seen.append(event.get("iteration"))
        if len(seen) == 1:
            change(doc, source)
            doc.waitForDone()

    before = snapshot(doc)
    try:
        layer = api.stylize(
            doc, source, spec["style"], preset="preview", engine=engine_config(spec), on_progress=on_progress, **FAST
        )
        result = {"raised": False, "layer_parent": None if layer.parentNode() is None else layer.parentNode().name()}
    except api.StyleError as exc:
        result = {"raised": True, "code": exc.code, "message": exc.message}
    after = snapshot(doc)
    result.update(
        progress=seen,
        nodes_after=[node[1] for node in after["nodes"]],
        expected_nodes=[node[1] for node in before["nodes"] if kept(node[1])],
        canvas=[doc.width(), doc.height()],
        leftovers=leftovers(),
    )
    return result


# -- with a stand-in engine (no weights) ---------------------------------------------------------
STAND_IN = """# Stands in for the engine's Python: a start, a progress and a preview event, then it waits for
# the scenario (the signal file <this script>.go, at most 30 s) and returns the content as the result.
import json, os, shutil, sys, time

args = sys.argv[1:]
if "run" not in args:
    sys.exit(0)  # a warm engine: ends at once, as after its idle time
with open(sys.argv[0] + ".args", "w") as fh:  # what it was asked, for the scenario
    json.dump(args, fh)


def arg(name):
    return args[args.index(name) + 1] if name in args else ""


def say(**event):
    print(json.dumps(event), flush=True)


content, output, preview = arg("--content"), arg("--output"), arg("--preview-path")
say(event="start", protocol=1, device="GPU:0", precision="bfloat16")
say(event="progress", iteration=1, total=2, eta=1.0)
if preview:
    shutil.copy(content, preview)
    say(event="preview", iteration=1, path=preview)
deadline = time.monotonic() + 30
while not os.path.exists(sys.argv[0] + ".go") and time.monotonic() < deadline:
    time.sleep(0.02)
shutil.copy(content, output)
say(event="done", output=output, seconds=0.1)
"""


def _stand_in_engine(folder: str) -> str:
    return _script_engine(folder, STAND_IN)


def _stand_in_run(spec, doc, node, change=None, keep_sent=False, style=None, **options):
    """``api.stylize`` on ``node`` with the stand-in engine (and ``options``; ``style`` or the
    spec's); ``change(doc, node)`` runs at its progress event, while it waits. Returns the new
    layer (or None) and the facts, with the arguments the engine was given and, with
    ``keep_sent``, what it was sent: "sent", the B,G,R,A bytes, and "sent_size"; "sent_styles",
    width, height and bytes of each style file (the bytes to be taken out before the facts go out
    as JSON)."""
    import shutil

    from neural_style import api
    from neural_style.config import EngineConfig

    folder = tempfile.mkdtemp(prefix="stand-in-engine-")
    script = _stand_in_engine(folder)
    before = snapshot(doc)
    facts, layer = {"progress": 0}, None

    def on_progress(_event):
        facts["progress"] += 1
        facts["tmp_during"] = leftovers()
        with open(script + ".args", encoding="utf-8") as fh:
            facts["engine_args"] = json.load(fh)
        if keep_sent:
            args = facts["engine_args"]
            w, h, facts["sent"] = _png_sized(args[args.index("--content") + 1])
            facts["sent_size"] = [w, h]
            styles = [args[i + 1] for i, arg in enumerate(args) if arg == "--style"]
            facts["style_files"] = styles
            facts["sent_styles"] = [_png_sized(path) for path in styles]
        if change is not None:
            change(doc, node)
            doc.waitForDone()
        open(script + ".go", "w").close()

    try:
        cfg = EngineConfig(python=script)
        style = spec["style"] if style is None else style
        layer = api.stylize(doc, node, style, engine=cfg, on_progress=on_progress, **options)
        facts["raised"] = False
    except api.StyleError as exc:
        facts.update(raised=True, code=exc.code, message=exc.message)
    shutil.rmtree(folder)
    facts.update(
        nodes_before=[n[1] for n in before["nodes"]],
        nodes_after=[n[1] for n in snapshot(doc)["nodes"]],
        leftovers=leftovers(),
    )
    return layer, facts


def case_group_deleted(spec):
    """The painter deletes the group the source layer is in while the engine works."""
    doc = new_doc()
    group = doc.createGroupLayer("Group")
    doc.rootNode().addChildNode(group, None)
    source = doc.createNode("Paint", "paintlayer")
    source.setPixelData(bytes([0, 0, 200, 255]) * (W * H), 0, 0, W, H)
    group.addChildNode(source, None)
    doc.waitForDone()
    _layer, facts = _stand_in_run(spec, doc, source, lambda doc, source: group.remove())
    facts["expected_nodes"] = [n for n in facts["nodes_before"] if n not in ("Group", "Paint")]
    return facts


def case_color_space_changed(spec):
    """The painter converts the image to another 8-bit RGB profile while the engine works: the
    result (8-bit sRGB) is added all the same, converted into the image's new profile; and so for
    a whole-image run."""
    out = {}
    for kind in ("layer", "image"):
        doc = new_doc()
        source = add_paint_layer(doc, "Paint", (0, 0, W, H), colourful)
        other = _other_profile(doc)
        facts = {"profile_before": source.colorProfile()}
        layer, run = _stand_in_run(
            spec,
            doc,
            source,
            lambda doc, source, other=other: doc.setColorSpace("RGBA", "U8", other),
            keep_sent=True,
            source=kind,
        )
        run.pop("sent", None), run.pop("sent_styles", None)
        facts.update(run, profile_after=source.colorProfile(), other=other)
        if layer is not None:  # against the source, which the image's conversion took along
            facts["layer_profile"] = layer.colorProfile()
            both = _as_srgb(doc, [layer.name(), "Paint"])
            facts["as_source"] = _largest_difference(both[layer.name()], both["Paint"])
        out[kind] = facts
    return out


def _other_profile(doc) -> str:
    """An 8-bit RGB profile other than ``doc``'s, with primaries far enough from sRGB's that a
    conversion changes the values: Adobe RGB's, as Krita ships it."""
    profiles = Krita.instance().profiles("RGBA", "U8")
    return next((p for p in profiles if p.startswith("ClayRGB")), next(p for p in profiles if p != doc.colorProfile()))


def case_sixteen_bit(spec):
    """16-bit integer RGB, with the stand-in engine (it returns the layer as it was sent): a 16-bit
    layer in a 16-bit image, an 8-bit layer in a 16-bit image and a 16-bit layer in an 8-bit image.
    The new layer takes the image's depth; the pixels make the trip through 8 bits."""

    def wide(v):  # an 8-bit pattern taken to 16 bits (× 257), and a 16-bit value that is not
        return v * 257

    def pattern16(x, y):
        return [wide(x * 9 % 256), wide(y * 13 % 256), 40000 + 97 * x + 31 * y, 65535]

    facts = {}
    rect = (0, 0, 24, 16)
    for key, image_depth, layer_depth, pixel in (
        ("both_16", "U16", "U16", pattern16),
        ("layer_8_image_16", "U16", "U8", colourful),
        ("layer_16_image_8", "U8", "U16", pattern16),
    ):
        doc = new_doc(depth=image_depth)
        source = add_paint_layer(doc, "Paint", rect, pixel, layer_depth)
        layer, run = _stand_in_run(spec, doc, source)
        run["source_depth"] = source.colorDepth()
        if layer is not None:
            run["layer_depth"] = layer.colorDepth()
            run["layer_bytes"] = list(bytes(layer.pixelData(*rect)))
            run["source_bytes"] = list(bytes(source.pixelData(*rect)))
        facts[key] = run
    return facts


def _default_profile(model: str, depth: str) -> str:
    """The profile Krita gives a new image of ``model`` and ``depth`` when none is named."""
    probe = Krita.instance().createDocument(1, 1, "probe", model, depth, "", 72.0)
    profile = probe.colorProfile()
    probe.close()
    return profile


def _as_srgb(doc, names) -> dict:
    """The layers ``names`` of ``doc`` as 8-bit sRGB B,G,R,A over the canvas, converted by Krita in
    a copy of the whole image (the route of Image ▸ Convert Image Color Space…, not the plugin's)."""
    copy = doc.clone()
    copy.setColorSpace("RGBA", "U8", "sRGB-elle-V2-srgbtrc.icc")
    copy.waitForDone()
    found = {n.name(): n for n in copy.rootNode().childNodes()}
    out = {name: bytes(found[name].pixelData(0, 0, doc.width(), doc.height())) for name in names}
    copy.close()
    return out


def _largest_difference(a: bytes, b: bytes) -> dict:
    """The largest difference of any colour channel where both pixels are at least half opaque,
    the largest of alpha anywhere, and how many pixels are opaque in ``a``."""
    colour = alpha = shown = 0
    for i in range(0, len(a), 4):
        alpha = max(alpha, abs(a[i + 3] - b[i + 3]))
        if a[i + 3] >= 128 and b[i + 3] >= 128:
            shown += 1
            colour = max(colour, *(abs(a[i + k] - b[i + k]) for k in range(3)))
    return {"colour": colour, "alpha": alpha, "shown": shown}


def _half_transparent_on_the_right(x, y):
    r, g, b, _a = colourful(x, y)
    return (r, g, b, 255 if x < 30 else 160)


def case_other_color_spaces(spec):
    """Grayscale, CMYK, L*a*b* and floating-point images, with the stand-in engine (it returns what
    it was sent): the image is made in 8-bit sRGB and converted by Krita; the plugin sends its
    pixels as sRGB and the new layer, in the image's colour space, holds them back."""
    from neural_style import color_spaces

    before = Krita.instance().documents()  # those of earlier cases may close meanwhile, when Python lets them go
    facts = {}
    rect = (8, 4, 48, 40)
    for key, model, depth, profile in (
        ("GRAYA_U8", "GRAYA", "U8", None),
        ("GRAYA_U16", "GRAYA", "U16", None),
        ("RGBA_F32", "RGBA", "F32", None),
        ("RGBA_F16", "RGBA", "F16", None),
        ("CMYKA_U8", "CMYKA", "U8", None),
        ("LABA_U16", "LABA", "U16", None),
        ("RGBA_U16_linear", "RGBA", "U16", "sRGB-elle-V2-g10.icc"),  # Krita's default for a new 16-bit image
        ("RGBA_U8_clay", "RGBA", "U8", "ClayRGB-elle-V2-g22.icc"),  # Adobe RGB's primaries
    ):
        doc = new_doc()
        source = add_paint_layer(doc, "Paint", rect, _half_transparent_on_the_right)
        converted = doc.setColorSpace(model, depth, profile or _default_profile(model, depth))
        doc.waitForDone()
        layer, run = _stand_in_run(spec, doc, source, keep_sent=True)
        sent = run.pop("sent", b"")
        run.pop("sent_styles", None)
        run.update(converted=converted, image_space=list(color_spaces.space_of(doc)))
        run["source_space"] = list(color_spaces.space_of(source))
        if layer is not None:
            run["layer_space"] = list(color_spaces.space_of(layer))
            shown = _as_srgb(doc, ["Paint", layer.name()])
            region = _crop(shown["Paint"], rect)
            run["result_vs_source"] = _largest_difference(shown[layer.name()], shown["Paint"])
            run["sent_vs_source"] = _largest_difference(sent, region)
            run["sent_grey"] = all(sent[i] == sent[i + 1] == sent[i + 2] for i in range(0, len(sent), 4))
        facts[key] = run
        doc.close()

    # an 8-bit RGB layer in a floating-point image: the new layer is a floating-point one
    doc = new_doc(depth="F32")
    source = add_paint_layer(doc, "Paint", rect, colourful, "U8")
    layer, run = _stand_in_run(spec, doc, source)
    run["source_space"] = list(color_spaces.space_of(source))
    if layer is not None:
        run["layer_space"] = list(color_spaces.space_of(layer))
        shown = _as_srgb(doc, ["Paint", layer.name()])
        run["result_vs_source"] = _largest_difference(shown[layer.name()], shown["Paint"])
    facts["layer_8_image_float"] = run
    doc.close()

    # the whole of a grayscale image
    doc, _layers = _layered_document()
    doc.setColorSpace("GRAYA", "U8", _default_profile("GRAYA", "U8"))
    doc.waitForDone()
    doc.refreshProjection()
    layer, run, projection = _whole_image_run(spec, doc, None)
    if layer is not None:
        run["layer_space"] = list(color_spaces.space_of(layer))
        back = bytes(layer.pixelData(0, 0, doc.width(), doc.height()))
        run["largest_grey_difference"] = max(abs(a - b) for a, b in zip(back, projection))
    facts["whole_grey_image"] = run
    doc.close()

    try:
        color_spaces.convert(b"\0" * 4, 1, 1, ("RGBA", "U8", "No such profile.icc"), color_spaces.ENGINE_SPACE)
        facts["unknown_profile"] = {"raised": False}
    except color_spaces.StyleError as exc:
        facts["unknown_profile"] = {"raised": True, "code": exc.code, "message": exc.message}
    misses = color_spaces._like_srgb.cache_info().misses
    builtin = ("RGBA", "U8", "sRGB built-in")  # lcms's own sRGB: not Krita's, but the same curve
    facts["builtin_listed"] = builtin[2] in Krita.instance().profiles("RGBA", "U8")
    facts["builtin_direct"] = [color_spaces.is_direct(builtin), color_spaces.is_direct(builtin)]
    facts["probes"] = color_spaces._like_srgb.cache_info().misses - misses
    facts["documents_left"] = [d.name() for d in Krita.instance().documents() if not any(d == b for b in before)]
    return facts


def case_open_image_styles(spec):
    """Styles from images open in Krita, with the stand-in engine: the style files it is sent are
    those images as they look (merged, in sRGB, at most STYLE_LONGEST px), the new layer is named
    after them, and a closed one is named in the message. The dialog lists them last."""
    from neural_style.dialog import OPEN_IMAGE, StyleDialog
    from neural_style.open_images import STYLE_LONGEST

    facts = {}
    doc = new_doc()
    source = add_paint_layer(doc, "Paint", (0, 0, 32, 24), colourful)
    reference = Krita.instance().createDocument(40, 30, "Reference", "RGBA", "U8", "", 72.0)
    reference.rootNode().childNodes()[0].setPixelData(pixel_bytes((0, 0, 40, 30), colourful), 0, 0, 40, 30)
    grey = Krita.instance().createDocument(30, 20, "Grey sketch", "GRAYA", "U8", "", 72.0)
    grey.rootNode().childNodes()[0].setPixelData(bytes(v for i in range(600) for v in (i % 251, 255)), 0, 0, 30, 20)
    reference.refreshProjection()
    grey.refreshProjection()
    expected = bytes(reference.pixelData(0, 0, 40, 30))

    layer, run = _stand_in_run(spec, doc, source, keep_sent=True, style=reference, blend_style=grey)
    sent = run.pop("sent_styles", [])
    run.pop("sent", None)
    if sent:
        (w, h, first), (gw, gh, second) = sent
        run["first_size"], run["second_size"] = [w, h], [gw, gh]
        run["first_largest_difference"] = max(abs(a - b) for a, b in zip(first, expected))
        run["second_grey"] = all(second[i] == second[i + 1] == second[i + 2] for i in range(0, len(second), 4))
        run["second_levels"] = [second[4 * i] for i in (0, 1, 250, 599)]
    run["layer_name"] = layer.name() if layer is not None else None
    facts["two_open_images"] = run

    wide = Krita.instance().createDocument(4200, 60, "Wide", "RGBA", "U8", "", 72.0)
    _layer, run = _stand_in_run(spec, doc, source, keep_sent=True, style=wide)
    run["sizes"] = [[w, h] for w, h, _data in run.pop("sent_styles", [])]
    run.pop("sent", None)
    facts["wide"] = dict(run, longest=STYLE_LONGEST)
    wide.close()

    closed = Krita.instance().createDocument(20, 20, "Gone now", "RGBA", "U8", "", 72.0)
    closed.close()
    _layer, facts["closed"] = _stand_in_run(spec, doc, source, style=spec["style"], blend_style=closed)
    from neural_style.config import EngineConfig
    from neural_style.job import StyleJob

    folder = tempfile.mkdtemp(prefix="error-engine-")
    for code in ("input_unreadable", "image_too_small"):  # the engine's words about the copy it was given
        about = {"input": "style", "path": "<style>"}
        os.mkdir(os.path.join(folder, code))
        cfg = EngineConfig(python=_error_engine(os.path.join(folder, code), code, "style image is wrong", about))
        facts[f"engine_{code}"] = _stylize_facts(dict(spec, style=reference), doc, source, cfg)
    named = Krita.instance().createDocument(20, 20, "Closed later", "RGBA", "U8", "", 72.0)
    job = StyleJob(doc, source, named, engine=EngineConfig(python="/nonexistent/python3"))
    named.close()  # after Stylise was pressed, before the job reads it
    job.start()
    facts["closed_later"] = {"code": job.result.code, "message": job.result.message}

    dlg = StyleDialog(document=doc, node=source, settings=MemorySettings())
    dlg.set_style(spec["style"])
    dlg.save_settings()  # the style file the painter used last
    dlg.refresh_styles()
    texts = [dlg.style_combo.itemText(i) for i in range(dlg.style_combo.count())]
    facts["dialog_entries"] = texts
    index = texts.index("Reference (open image)") if "Reference (open image)" in texts else -1
    dlg.style_combo.setCurrentIndex(index)
    chosen = dlg.options()["style_path"]
    facts["dialog_choice_is_reference"] = chosen == reference
    facts["dialog_thumbnail"] = _thumbnail_facts(dlg.thumbnail)
    entry = dlg.style_path()
    dlg.save_settings()
    facts["saved_style"] = dlg.settings.get("style", "")
    dlg.style_combo.setCurrentIndex(0)
    dlg.refresh_styles()  # the same image keeps its entry when the lists are filled again
    facts["entry_kept"] = dlg.style_combo.findData(entry) >= 0 and entry.startswith(OPEN_IMAGE)
    reference.close()
    dlg.refresh_styles()
    facts["entries_after_close"] = [dlg.style_combo.itemText(i) for i in range(dlg.style_combo.count())]
    # a chosen image closed while the dialog waits: still chosen, marked closed, and Stylise says so
    irises = Krita.instance().createDocument(20, 20, "Irises", "RGBA", "U8", "", 72.0)
    dlg.refresh_styles()
    dlg.style_combo.setCurrentIndex(dlg.style_combo.findText("Irises (open image)"))
    irises.close()
    dlg.refresh_styles()
    facts["closed_choice"] = dlg.style_combo.currentText()
    facts["closed_run"] = _dialog_run(dlg, 5)
    dlg.style_combo.setCurrentIndex(0)
    dlg.refresh_styles()
    facts["after_another_choice"] = [dlg.style_combo.itemText(i) for i in range(dlg.style_combo.count())]
    grey.close()
    return facts


def _png_sized(path: str) -> tuple:
    """A PNG's width, height and B,G,R,A bytes (read as the plugin reads the engine's result)."""
    from neural_style.layer_io import Region, read_result
    from neural_style.qt_compat import QImage

    image = QImage(path)
    return image.width(), image.height(), read_result(path, Region(0, 0, image.width(), image.height()))


def _png_bgra(path: str) -> bytes:
    return _png_sized(path)[2]


def _crop(bgra: bytes, rect) -> bytes:
    """``rect`` (x, y, w, h) of the whole canvas's B,G,R,A bytes."""
    x0, y0, w, h = rect
    return b"".join(bgra[4 * (y * W + x0) : 4 * (y * W + x0 + w)] for y in range(y0, y0 + h))


def _moved_or_painted(spec, change):
    doc = new_doc()
    source = add_paint_layer(doc, "Paint", (0, 0, 40, 30), colourful)
    layer, facts = _stand_in_run(spec, doc, source, change)
    b = source.bounds()
    facts["source_bounds_after"] = [b.x(), b.y(), b.width(), b.height()]
    if layer is not None:
        facts.update(layer_facts(doc, layer, source))
    return facts


def case_layer_moved(spec):
    """The painter moves the source layer while the engine works (the canvas keeps its size): the
    result follows it."""
    return _moved_or_painted(spec, lambda doc, source: source.move(10, 5))


def case_painted_mid_run(spec):
    """The painter paints on the source while the engine works, inside its edges and beyond them
    (a soft brush's edge): that is fine, and the result lies where the layer's pixels were sent."""

    def paint(doc, source):
        source.setPixelData(bytes([0, 255, 0, 255]) * 100, 5, 5, 10, 10)
        source.setPixelData(bytes([0, 255, 0, 255]) * 100, 60, 40, 10, 10)

    return _moved_or_painted(spec, paint)


def _tiles(w: int, h: int, pixel_size: int, pixel) -> bytes:
    """A paint device in Krita's tiled file format (version 2): raw 64x64 tiles, flag byte 0."""
    tiles = []
    for ty in range(0, h, 64):
        for tx in range(0, w, 64):
            data = b"".join(
                pixel(x, y) if x < w and y < h else bytes(pixel_size)
                for y in range(ty, ty + 64)
                for x in range(tx, tx + 64)
            )
            tiles.append(f"{tx},{ty},LZF,{len(data) + 1}\n".encode() + b"\0" + data)
    head = f"VERSION 2\nTILEWIDTH 64\nTILEHEIGHT 64\nPIXELSIZE {pixel_size}\nDATA {len(tiles)}\n"
    return head.encode() + b"".join(tiles)


KRA = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE DOC PUBLIC '-//KDE//DTD krita 2.0//EN' 'http://www.calligra.org/DTD/krita-2.0.dtd'>
<DOC xmlns="http://www.calligra.org/DTD/krita" syntaxVersion="2.0" editor="Krita" kritaVersion="5.1.5">
 <IMAGE width="{w}" height="{h}" name="{name}" mime="application/x-kra" colorspacename="RGBA"
  profile="sRGB-elle-V2-srgbtrc.icc" x-res="72" y-res="72">
  <layers>
{layers}
  </layers>
 </IMAGE>
</DOC>
"""


def _open_kra(name: str, layers: str, members: dict):
    """Write a .kra file of W x H pixels whose layer stack is the XML ``layers`` and whose other
    files are ``members`` (paths below the document's folder ``name``), and open it in Krita:
    for what Krita 5.1's scripting API cannot make."""
    import zipfile

    path = os.path.join(tempfile.mkdtemp(prefix=f"{name}-"), f"{name}.kra")
    with zipfile.ZipFile(path, "w") as kra:
        kra.writestr("mimetype", "application/x-krita")
        kra.writestr("maindoc.xml", KRA.format(w=W, h=H, name=name, layers=layers))
        for member, data in members.items():
            kra.writestr(f"{name}/{member}", data)
    doc = Krita.instance().openDocument(path)
    doc.waitForDone()
    return doc


MASKED_LAYERS = """\
   <layer name="Paint" nodetype="paintlayer" filename="layer1" x="0" y="0" visible="1" opacity="255"
    compositeop="normal" colorspacename="RGBA" locked="0" uuid="{6f6e6c79-0000-4000-8000-000000000001}">
    <masks>
     <mask name="Hide" nodetype="transparencymask" filename="mask1" x="0" y="0" visible="1" locked="0"
      uuid="{6f6e6c79-0000-4000-8000-000000000002}"/>
    </masks>
   </layer>"""


def _masked_document(hidden):
    """A document whose layer "Paint" has a transparency mask hiding the pixels where
    ``hidden(x, y)``. Krita 5.1's scripting API cannot fill a transparency mask."""
    pixels = _tiles(W, H, 4, lambda x, y: bytes((40, 200, 90, 255)))
    mask = _tiles(W, H, 1, lambda x, y: bytes([0 if hidden(x, y) else 255]))
    doc = _open_kra("masked", MASKED_LAYERS, {"layers/layer1": pixels, "layers/mask1.pixelselection": mask})
    return doc, doc.rootNode().childNodes()[0]


def case_masked_layer(spec):
    """A layer with a transparency mask hiding its right half, and Inherit Alpha on: the result
    is what the painter sees of the layer, and inherits alpha too."""
    doc, source = _masked_document(lambda x, y: x >= W // 2)
    source.setInheritAlpha(True)
    facts = {"tree": [[n[0], n[1], n[2]] for n in snapshot(doc)["nodes"]]}
    layer, run = _stand_in_run(spec, doc, source)
    facts.update(run)
    if layer is not None:
        facts.update(_alpha_by_half(layer), inherit_alpha=layer.inheritAlpha())
    source.setVisible(False)  # hidden: Krita stops updating its projection, so its own pixels count
    doc.waitForDone()
    layer, facts["layer_hidden"] = _stand_in_run(spec, doc, source)
    if layer is not None:
        facts["layer_hidden"].update(_alpha_by_half(layer))
    hidden_doc, hidden = _masked_document(lambda x, y: True)
    _layer, facts["all_hidden"] = _stand_in_run(spec, hidden_doc, hidden)
    return facts


def _blurred_square(x: int, y: int):
    """A document whose layer "Paint" is a 20 px red square at (x, y) under a blur filter mask."""
    doc = new_doc()
    source = add_paint_layer(doc, "Paint", (x, y, 20, 20), lambda x, y: (250, 40, 10, 255))
    blur = Krita.instance().filter("blur")
    config = blur.configuration()
    config.setProperty("halfWidth", 8)
    config.setProperty("halfHeight", 8)
    blur.setConfiguration(config)
    everywhere = Selection()
    everywhere.select(-40, -40, W + 80, H + 80, 255)
    source.addChildNode(doc.createFilterMask("Blur", blur, everywhere), None)
    doc.waitForDone()
    doc.refreshProjection()
    return doc, source


def _bounds(node) -> list[int]:
    b = node.bounds()
    return [b.x(), b.y(), b.width(), b.height()]


def case_spread_by_a_mask(spec):
    """A blur filter mask spreads a 20 px square beyond the layer's own pixels: the new layer
    holds all that the painter sees, the halo included, not only the layer's own box; also off
    the canvas (cut at its edge, as a layer without masks is), and for a selection of the halo
    alone. A hidden layer's masks are left aside."""
    doc, source = _blurred_square(30, 20)
    shown = bytes(source.projectionPixelData(0, 0, W, H))[3::4]
    layer, facts = _stand_in_run(spec, doc, source)
    facts["own_bounds"] = _bounds(source)
    facts["shown_outside_own"] = sum(
        1 for y in range(H) for x in range(W) if shown[y * W + x] and not (30 <= x < 50 and 20 <= y < 40)
    )
    if layer is not None:
        facts["layer_bounds"] = _bounds(layer)
        back = bytes(layer.pixelData(0, 0, W, H))[3::4]
        facts["alpha_matches_shown"] = max(abs(a - b) for a, b in zip(back, shown))

    doc, source = _blurred_square(-10, 20)  # half off the canvas on the left
    layer, facts["off_canvas"] = _stand_in_run(spec, doc, source)
    facts["off_canvas"]["layer_bounds"] = _bounds(layer) if layer is not None else None
    doc = new_doc()
    plain = add_paint_layer(doc, "Plain", (-10, 20, 20, 20), red_only)  # no masks, half off the canvas
    layer, facts["plain_off_canvas"] = _stand_in_run(spec, doc, plain, keep_sent=True)
    facts["plain_off_canvas"].pop("sent", None), facts["plain_off_canvas"].pop("sent_styles", None)
    facts["plain_off_canvas"]["layer_bounds"] = _bounds(layer) if layer is not None else None
    plain.move(-40, 20)  # wholly off the canvas
    doc.waitForDone()
    _layer, facts["outside"] = _stand_in_run(spec, doc, plain)

    doc, source = _blurred_square(30, 20)
    halo = Selection()
    halo.select(22, 28, 4, 4, 255)  # left of the square, in its halo only
    doc.setSelection(halo)
    layer, facts["halo_selected"] = _stand_in_run(spec, doc, source)
    facts["halo_selected"]["layer_bounds"] = _bounds(layer) if layer is not None else None

    doc, source = _blurred_square(30, 20)
    source.setVisible(False)
    doc.waitForDone()
    layer, facts["hidden"] = _stand_in_run(spec, doc, source)
    facts["hidden"]["layer_bounds"] = _bounds(layer) if layer is not None else None
    return facts


def _alpha_by_half(layer) -> dict:
    alpha = bytes(layer.pixelData(0, 0, W, H))[3::4]
    return {
        "left_alpha": sorted(set(alpha[y * W + x] for y in range(H) for x in range(W // 2))),
        "right_alpha": sorted(set(alpha[y * W + x] for y in range(H) for x in range(W // 2, W))),
    }


def case_blend(spec):
    """A second style blended in, by a script and by the dialog (stand-in engine): both styles and
    their weights reach the engine and the new layer is named after both; a blend style that is
    gone stops the run before the engine starts, and nothing is added."""
    import shutil

    scream = os.path.join(os.path.dirname(spec["style"]), "the_scream.jpg")
    doc = new_doc()
    source = add_paint_layer(doc, "Paint", (0, 0, 32, 32), red_only)
    facts = {}
    layer, facts["script"] = _stand_in_run(spec, doc, source, blend_style=scream, blend_mix=0.3)
    facts["script"]["name"] = layer.name() if layer is not None else None
    _layer, facts["missing"] = _stand_in_run(spec, doc, source, blend_style="/nonexistent/blend.jpg")
    folder = tempfile.mkdtemp(prefix="stand-in-engine-")
    script = _stand_in_engine(folder)
    open(script + ".go", "w").close()  # no waiting: the stand-in returns the layer at once
    dlg = _dialog_with_engine(script)
    dlg.set_style(spec["style"])
    dlg.set_blend_style(scream)
    dlg.mix_spin.setValue(40)
    facts["dialog"] = _dialog_run(dlg)
    result = dlg.last_result
    facts["dialog"].update(
        name=result.layer.name() if result is not None and result.ok else None,
        recent=dlg.settings.get_list("recent_styles"),
    )
    with open(script + ".args", encoding="utf-8") as fh:
        facts["dialog"]["engine_args"] = json.load(fh)
    # the painter's own image, chosen with the row's Choose image…, then deleted before Stylise
    own = os.path.join(folder, "my_blend.jpg")
    shutil.copy(scream, own)
    dlg.set_blend_style(own)
    facts["own_item"] = [dlg.blend_combo.currentIndex(), dlg.blend_combo.currentText()]
    os.remove(own)
    before = snapshot(dlg.document)
    facts["dialog_missing"] = _dialog_run(dlg)
    facts["dialog_missing"]["unchanged"] = snapshot(dlg.document) == before
    shutil.rmtree(folder)
    facts["leftovers"] = leftovers()
    return facts


BLUE_OPACITY = 128


def _layered_document(depth="U8", group=None):
    """A painting in layers over the white background: "Red" (the active layer in the cases) on
    the left and "Blue" on the right, its pixels 200/255 opaque and the layer at opacity 128/255,
    both leaving a white strip at the bottom, and a hidden "Green" over everything. The image shows
    red and light blue (the layer's opacity merged), never green. With ``group`` (a name) the three
    are inside a group of that name at opacity 100/255, which ``layers`` holds too."""
    one = 257 if depth == "U16" else 1  # in 16 bits, values that are not 8-bit ones × 257 too

    def value(v, x):
        return v * one + (x % 200 if depth == "U16" and v < 255 else 0)

    doc = new_doc(depth=depth)
    layers = {}
    parent = doc.rootNode()
    if group is not None:
        parent = layers[group] = doc.createGroupLayer(group)
        doc.rootNode().addChildNode(parent, doc.rootNode().childNodes()[-1])
        parent.setOpacity(100)
    for name, rect, rgba in (
        ("Red", (0, 0, W // 2, H - 8), lambda x, y: (120 + (x * 7 + y * 3) % 136, 20, 10, 255)),
        ("Blue", (W // 2, 0, W // 2, H - 8), lambda x, y: (10, 20, 100 + (x * 5 + y) % 150, 200)),
        ("Green", (0, 0, W, H), lambda x, y: (0, 220, 0, 255)),
    ):
        layer = doc.createNode(name, "paintlayer")
        pixel = lambda x, y, rgba=rgba: [value(v, x) for v in rgba(x, y)]  # noqa: E731
        layer.setPixelData(pixel_bytes(rect, pixel, depth), *rect)
        children = parent.childNodes()
        parent.addChildNode(layer, children[-1] if children else None)
        layers[name] = layer
    layers["Green"].setVisible(False)
    layers["Blue"].setOpacity(BLUE_OPACITY)
    doc.waitForDone()
    doc.refreshProjection()  # Krita 5.1's setVisible does not redraw the image by itself
    return doc, layers


def _bgra_facts(data: bytes) -> dict:
    """Where the 8-bit B,G,R,A ``data`` of the whole canvas is red, blue or green."""

    def at(x, y):
        i = 4 * (y * W + x)
        return list(data[i : i + 4])

    green = sum(1 for i in range(0, len(data), 4) if data[i + 1] > max(data[i], data[i + 2]))
    return {"left": at(5, 5), "right": at(W - 5, 5), "bottom": at(W // 2, H - 2), "green_pixels": green}


def _whole_image_run(spec, doc, node, change=None, **options) -> tuple:
    """A whole-image run with the stand-in engine: the new layer, the facts, and the projection
    (``doc.pixelData``) before the run, which the new layer must hold."""
    projection = bytes(doc.pixelData(0, 0, doc.width(), doc.height()))
    before = snapshot(doc)
    layer, facts = _stand_in_run(spec, doc, node, change, source="image", **options)
    if layer is not None:
        after = snapshot(doc)
        b = layer.bounds()
        facts.update(
            name=layer.name(),
            top=[c.name() for c in doc.rootNode().childNodes()][-1],
            bounds=[b.x(), b.y(), b.width(), b.height()],
            depth=layer.colorDepth(),
            others_identical=[n for n in after["nodes"] if n[1] != layer.name()] == before["nodes"],
            same_as_projection=bytes(layer.pixelData(0, 0, doc.width(), doc.height())) == projection,
        )
    return layer, facts, projection


def case_whole_image(spec):
    """Repaint: the whole image, with the stand-in engine (it returns what it was sent): the new
    layer holds the image as shown and goes on top; the active layer's kind does not matter."""
    facts = {}
    doc, layers = _layered_document()
    facts["projection"] = _bgra_facts(bytes(doc.pixelData(0, 0, W, H)))
    layer, run, projection = _whole_image_run(spec, doc, layers["Red"])
    if layer is not None:
        run.update(_bgra_facts(bytes(layer.pixelData(0, 0, W, H))))
    facts["plain"] = run
    facts["blue_opacity"] = layers["Blue"].opacity()

    # no active layer and no selection
    doc, layers = _layered_document()
    _layer, facts["no_layer"], _projection = _whole_image_run(spec, doc, None)

    # a script paints a layer and asks for the whole image at once, without redrawing it itself
    doc, layers = _layered_document()
    layers["Blue"].setPixelData(bytes([0, 255, 0, 255]) * 100, 60, 10, 10, 10)  # a green square
    layer, run, _projection = _whole_image_run(spec, doc, layers["Red"])
    if layer is not None:
        run.update(_bgra_facts(bytes(layer.pixelData(0, 0, W, H))))
    facts["script_painted"] = run

    # a selection, and no active layer at all
    doc, layers = _layered_document()
    s = Selection()
    s.select(30, 20, 30, 20, 255)
    doc.setSelection(s)
    mask = bytes(doc.selection().pixelData(0, 0, W, H))
    layer, run, projection = _whole_image_run(spec, doc, None)
    if layer is not None:
        pixels = bytes(layer.pixelData(0, 0, W, H))
        inside = [i for i, m in enumerate(mask) if m]
        run.update(
            outside_alpha=sorted({pixels[4 * i + 3] for i, m in enumerate(mask) if m == 0}),
            inside_same=all(pixels[4 * i : 4 * i + 4] == projection[4 * i : 4 * i + 4] for i in inside),
            inside=len(inside),
        )
    facts["selection"] = run

    # a group active: fine for the whole image; as the layer, this one shows nothing
    doc, layers = _layered_document()
    group = doc.createGroupLayer("Group")
    doc.rootNode().addChildNode(group, None)
    inner = doc.createNode("Inner", "paintlayer")
    group.addChildNode(inner, None)
    doc.waitForDone()
    _layer, facts["group"], _projection = _whole_image_run(spec, doc, group)
    _layer, facts["group_as_layer"] = _stand_in_run(spec, doc, group, source="layer")
    vector = doc.createVectorLayer("Shapes")
    doc.rootNode().addChildNode(vector, None)
    _layer, facts["vector"], _projection = _whole_image_run(spec, doc, vector)

    _layer, facts["bad_source"] = _stand_in_run(spec, doc, layers["Red"], source="canvas")

    # nothing shows: the background hidden, the layers transparent
    blank = new_doc()
    blank.rootNode().childNodes()[0].setVisible(False)
    blank.refreshProjection()
    _layer, facts["nothing_visible"], _projection = _whole_image_run(spec, blank, None)
    return facts


def case_whole_image_changes(spec):
    """What happens to the image during a whole-image run: only what misplaces the result counts."""
    facts = {}
    doc, layers = _layered_document()

    shown_after_change = {}

    def delete_and_paint(doc, node):
        layers["Blue"].setPixelData(bytes([0, 255, 0, 255]) * 100, 60, 40, 10, 10)
        node.remove()
        doc.waitForDone()
        doc.refreshProjection()
        shown_after_change["pixels"] = bytes(doc.pixelData(0, 0, W, H))

    layer, run, _projection = _whole_image_run(spec, doc, layers["Red"], delete_and_paint)
    if layer is not None:
        run["same_as_after_change"] = bytes(layer.pixelData(0, 0, W, H)) == shown_after_change.get("pixels")
    facts["active_layer_deleted"] = run
    doc, layers = _layered_document()
    _layer, facts["layer_moved"], _projection = _whole_image_run(
        spec, doc, layers["Red"], lambda doc, node: layers["Blue"].move(10, 5)
    )
    facts["layer_moved"]["blue_position"] = [layers["Blue"].position().x(), layers["Blue"].position().y()]
    doc, layers = _layered_document()
    profile = doc.colorProfile()  # sRGB, in 16 bits too
    _layer, facts["layer_converted"], _projection = _whole_image_run(
        spec, doc, layers["Red"], lambda doc, node: layers["Blue"].setColorSpace("RGBA", "U16", profile)
    )
    facts["layer_converted"]["blue_depth"] = layers["Blue"].colorDepth()
    doc, layers = _layered_document()
    _layer, facts["cropped"], _projection = _whole_image_run(
        spec, doc, layers["Red"], lambda doc, node: doc.crop(0, 0, W // 2, H // 2)
    )
    # 16 bits: sent as each value's high byte, back as that byte × 257 in a 16-bit layer
    doc, layers = _layered_document("U16")
    layer, run, projection = _whole_image_run(spec, doc, layers["Red"])
    if layer is not None:
        high = projection[1::2]
        run["as_sent"] = bytes(layer.pixelData(0, 0, W, H)) == bytes(b for v in high for b in (v, v))
        run["image_depth"] = doc.colorDepth()
    facts["sixteen_bit"] = run
    facts["leftovers"] = leftovers()
    return facts


VECTOR_LAYERS = """\
   <layer name="Shapes" nodetype="shapelayer" filename="layer1" x="0" y="0" visible="1" opacity="255"
    compositeop="normal" locked="0" uuid="{6f6e6c79-0000-4000-8000-000000000003}"/>"""

VECTOR_SVG = """<?xml version="1.0" standalone="no"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{w}pt" height="{h}pt" viewBox="0 0 {w} {h}">
<rect x="10" y="8" width="30" height="20" fill="#20e040"/>
</svg>
"""


def _wait_drawn(node) -> None:
    """Let Krita's event loop run until ``node``'s projection shows something (10 s at most):
    Krita draws the shapes of a vector layer and the fill of a fill layer there, not at once."""
    from PyQt5.QtWidgets import QApplication

    deadline = time.monotonic() + 10
    while not bytes(node.projectionPixelData(0, 0, W, H))[3::4].strip(b"\0") and time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.02)


def _vector_document():
    """A document whose only layer, the vector layer "Shapes", holds a 30x20 px green rectangle
    at (10, 8). Krita 5.1 cannot add shapes without a window (``addShapesFromSvg`` crashes the
    runner)."""
    svg = VECTOR_SVG.format(w=W, h=H)
    doc = _open_kra("shapes", VECTOR_LAYERS, {"layers/layer1.shapelayer/content.svg": svg})
    vector = doc.rootNode().childNodes()[0]
    _wait_drawn(vector)
    return doc, vector


def _seen(bgra: bytes) -> bytes:
    """8-bit B,G,R,A ``bgra`` with every fully transparent pixel made 0, 0, 0, 0: the colour of
    a pixel nobody sees differs between Krita's layers (a fill layer's is white)."""
    return b"".join(bgra[i : i + 4] if bgra[i + 3] else bytes(4) for i in range(0, len(bgra), 4))


def _shown_run(spec, doc, node, change=None) -> dict:
    """A stand-in run on ``node``: the facts, with the pixel size sent to the engine, where the
    new layer went and whether its pixels (over the canvas) are what ``node`` shows now (its
    projection, as the run redrew it)."""
    layer, facts = _stand_in_run(spec, doc, node, change, keep_sent=True)
    facts.pop("sent", None), facts.pop("sent_styles", None)
    if layer is not None:
        pixels = bytes(layer.pixelData(0, 0, W, H))
        b = layer.bounds()
        facts.update(
            _bgra_facts(pixels),
            name=layer.name(),
            beside=layer.parentNode() == node.parentNode(),
            siblings=[c.name() for c in layer.parentNode().childNodes()],
            bounds=[b.x(), b.y(), b.width(), b.height()],
            same_as_shown=_seen(pixels) == _seen(bytes(node.projectionPixelData(0, 0, W, H))),
            pixels_sha=hashlib.sha256(pixels).hexdigest(),
        )
    return facts


def case_shown_layers(spec):
    """A group, a clone, a file, a fill or a vector layer as the layer to repaint: what it shows
    is repainted, into a new layer right above it (the stand-in engine returns what it was sent)."""
    facts = {}
    doc, layers = _layered_document(group="Painting")
    group = layers["Painting"]
    # a script paints in the group and asks at once, without redrawing it itself
    layers["Blue"].setPixelData(bytes([0, 255, 0, 255]) * 100, 60, 10, 10, 10)
    facts["group"] = _shown_run(spec, doc, group)
    facts["group"]["group_opacity"] = group.opacity()
    _layer, facts["moved_group"] = _stand_in_run(spec, doc, group, lambda doc, group: group.move(10, 5))

    doc, layers = _layered_document(group="Painting")
    group = layers["Painting"]
    group.setVisible(False)
    doc.waitForDone()
    _layer, facts["hidden_group"] = _stand_in_run(spec, doc, group)
    group.setVisible(True)
    group.setPassThroughMode(True)
    doc.waitForDone()
    _layer, facts["pass_through"] = _stand_in_run(spec, doc, group)
    empty = doc.createGroupLayer("Empty group")
    doc.rootNode().addChildNode(empty, None)
    _layer, facts["empty_group"] = _stand_in_run(spec, doc, empty)

    doc, layers = _layered_document(group="Painting")
    clone = doc.createCloneLayer("Red clone", layers["Red"])
    doc.rootNode().addChildNode(clone, None)
    clone.move(20, 4)  # a clone's bounds take in its source's pixels too
    doc.waitForDone()
    facts["clone"] = _shown_run(spec, doc, clone)
    layer = doc.rootNode().childNodes()[-1]
    facts["clone"]["moved_red"] = bytes(layer.pixelData(20, 4, W // 2, H - 8)) == bytes(
        layers["Red"].pixelData(0, 0, W // 2, H - 8)
    )

    from PyQt5.QtGui import QColor, QImage

    picture = os.path.join(tempfile.mkdtemp(prefix="file-layer-"), "picture.png")
    image = QImage(30, 20, QImage.Format.Format_ARGB32)
    image.fill(QColor(200, 40, 160))
    image.save(picture)
    file_layer = doc.createFileLayer("Picture", picture, "None")
    doc.rootNode().addChildNode(file_layer, None)
    doc.waitForDone()
    facts["file"] = _shown_run(spec, doc, file_layer)

    square = Selection()
    square.select(5, 30, 30, 20, 255)
    colour = InfoObject()
    colour.setProperty("color", ManagedColor.fromQColor(QColor(230, 30, 20)).toXML())
    fill = doc.createFillLayer("Fill", "color", colour, square)
    doc.rootNode().addChildNode(fill, None)
    _wait_drawn(fill)
    facts["fill"] = _shown_run(spec, doc, fill)
    facts["fill"]["pixel"] = list(bytes(doc.rootNode().childNodes()[-1].pixelData(10, 35, 1, 1)))

    doc, vector = _vector_document()
    facts["vector"] = _shown_run(spec, doc, vector)

    filter_layer = doc.createFilterLayer("Blur", Krita.instance().filter("blur"), Selection())
    doc.rootNode().addChildNode(filter_layer, None)
    _layer, facts["filter"] = _stand_in_run(spec, doc, filter_layer)
    return facts


def case_results_stack(spec):
    """The painter tries a layer again with other settings: each new result goes above the
    earlier ones right above the layer, hidden or not, so the newest is seen; with a layer of the
    painter's own right above the layer, the result goes right above the layer, as before."""
    doc = new_doc()
    source = add_paint_layer(doc, "Paint", (8, 8, 80, 48), red_only)
    for name in ("First", "Second", "Third"):
        _layer, facts = _stand_in_run(spec, doc, source, layer_name=name)
        assert not facts["raised"], facts
    out = {"after_three": [c.name() for c in doc.rootNode().childNodes()]}
    second = next(c for c in doc.rootNode().childNodes() if c.name() == "Second")
    second.setVisible(False)  # hidden or not, a result is a result
    _stand_in_run(spec, doc, source, layer_name="Fourth")
    out["after_four"] = [c.name() for c in doc.rootNode().childNodes()]

    doc = new_doc()
    source = add_paint_layer(doc, "Paint", (8, 8, 80, 48), red_only)
    _stand_in_run(spec, doc, source, layer_name="First")
    own = add_paint_layer(doc, "Own", (0, 0, 8, 8), red_only)  # on top: above "First"
    root = doc.rootNode()
    own.remove()
    root.addChildNode(own, source)  # the painter's own layer, right above "Paint"
    doc.waitForDone()
    _stand_in_run(spec, doc, source, layer_name="Second")
    out["own_between"] = [c.name() for c in doc.rootNode().childNodes()]
    return out


def case_animated(spec):
    """An animated layer: the frame shown is repainted into a layer that is not animated, named
    after that frame; so for the whole image of an animated document. The dialog says so."""
    from neural_style.dialog import StyleDialog

    doc = new_doc()
    source = add_paint_layer(doc, "Walk", (8, 8, 40, 30), red_only)
    still = add_paint_layer(doc, "Still", (50, 8, 20, 20), red_only)
    dlg = StyleDialog(document=doc, node=still, settings=MemorySettings())
    facts = {"label_still": dlg.target_label.text()}
    source.enableAnimation()
    doc.setCurrentTime(3)
    facts["time_switched"] = _time_switched(doc, 3, 20)
    dlg.set_target(doc, source)
    facts["label_animated"] = dlg.target_label.text()
    dlg.source_combo.setCurrentIndex(dlg.source_combo.findData("image"))
    facts["label_image"] = dlg.target_label.text()
    dlg.close()
    for key, node, kind in (("layer", source, "layer"), ("still", still, "layer"), ("image", None, "image")):
        layer, run = _stand_in_run(spec, doc, node, source=kind)
        facts[key] = {
            "raised": run["raised"],
            "name": layer.name() if layer else None,
            "animated": layer and layer.animated(),
        }
    return facts


def case_closed_mid_run(spec):
    """Close during a run: the run goes on and its layer is added; when a run that went on after
    Close fails, the dialog comes back with the message. Cancel still stops a run."""
    import shutil

    folder = tempfile.mkdtemp(prefix="stand-in-engine-")
    script = _stand_in_engine(folder)
    facts = {}
    for key, change in (
        ("done", None),
        ("failed", lambda dlg: dlg.node.remove()),
        ("cancelled", None),
        ("finished_now", None),
    ):
        dlg = _dialog_with_engine(script)
        dlg.set_style(spec["style"])
        dlg.show()
        dlg.end_standby()  # the stand-in's warm engine ends at once: the run starts its own
        dlg.start_run()
        job = dlg.job
        _wait(job.preview, 20)  # the stand-in is painting; the dialog is in the painter's way
        if key == "cancelled":
            dlg.cancel_run()  # Cancel, then Close at once: the cancel ends unseen
        if key == "finished_now":
            dlg.finish_run()  # Finish now, then Close: the layer still comes
        dlg.close()
        run = {"visible_after_close": dlg.isVisible(), "running_after_close": dlg.job is not None}
        run["closed_mid_run"] = dlg._closed_mid_run  # its end is to reach the painter
        if change is not None:
            change(dlg)
        open(script + ".go", "w").close()
        finished = _wait(job.finished, 20)
        os.remove(script + ".go")
        result = dlg.last_result
        run.update(
            finished=finished,
            ok=result is not None and result.ok,
            code=result.code if result is not None else None,
            visible_at_end=dlg.isVisible(),
            message=dlg.message_label.text(),
            layers=[c.name() for c in dlg.document.rootNode().childNodes()],
        )
        dlg.stop_run()
        dlg.close()
        facts[key] = run
    shutil.rmtree(folder)
    facts["leftovers"] = leftovers()
    return facts


def case_no_engine_at_open(spec):
    """A painter who copied the plugin but never ran the installer opens the dialog: it says at
    once what is missing, before Stylise."""
    from neural_style.dialog import StyleDialog

    doc = new_doc()
    layer = add_paint_layer(doc, "Paint", (0, 0, 16, 16), red_only)
    dlg = StyleDialog(document=doc, node=layer, settings=MemorySettings())
    before = dlg.message_label.text()
    dlg.show()
    facts = {"before_show": before, "at_show": dlg.message_label.text(), "standby": dlg.standby is not None}
    dlg.close()
    folder = tempfile.mkdtemp(prefix="stand-in-engine-")
    dlg.settings.set("engine_python", _stand_in_engine(folder))  # the painter fills in the Engine box
    dlg.show()
    facts["after_setting_up"] = dlg.message_label.text()
    dlg.stop_run()
    dlg.close()
    return facts


def case_waits_for_the_stroke(spec):
    """The result arrives while the painter is in the middle of a stroke (Krita refuses the
    lock): it waits, says so, and is added once the stroke has ended; Cancel while it waits adds
    nothing. Krita's scripting cannot hold a stroke open, so the first answers are made busy."""
    import shutil

    from neural_style import api, layer_io
    from neural_style.config import EngineConfig
    from neural_style.job import StyleJob

    real, answers = layer_io.image_busy, []
    facts = {}
    folder = tempfile.mkdtemp(prefix="stand-in-engine-")
    script = _stand_in_engine(folder)
    open(script + ".go", "w").close()  # no waiting in the engine: the result comes at once
    try:
        for key, busy_answers in (("waited", 3), ("cancelled", 10**6)):
            answers.clear()

            def busy(doc, limit=busy_answers):
                answers.append(real(doc))  # Krita's own answer, for an idle image
                return len(answers) <= limit

            layer_io.image_busy = busy
            doc = new_doc()
            source = add_paint_layer(doc, "Paint", (8, 8, 40, 30), red_only)
            job = StyleJob(doc, source, spec["style"], "preview", engine=EngineConfig(python=script))
            said = []
            job.waiting.connect(said.append)
            if key == "cancelled":
                job.waiting.connect(lambda _text, job=job: job.cancel())
            result = api.run_job(job, 30)
            facts[key] = {
                "ok": result.ok,
                "code": result.code,
                "said": said,
                "checks": len(answers),
                "krita_says_idle": not any(answers),
                "layers": [c.name() for c in doc.rootNode().childNodes()],
            }
    finally:
        layer_io.image_busy = real
        shutil.rmtree(folder)
    facts["leftovers"] = leftovers()
    return facts


def case_progress_bar(spec):
    """The bar follows the engine's time estimate, not its step count (with Full resolution the
    last steps are the slow ones); it never goes back, and shows 100 only at the end."""
    from neural_style.dialog import StyleDialog

    doc = new_doc()
    dlg = StyleDialog(
        document=doc, node=add_paint_layer(doc, "Paint", (0, 0, 16, 16), red_only), settings=MemorySettings()
    )
    bar = []
    for event in (
        {"iteration": 60, "total": 100, "elapsed": 30.0, "eta": 90.0},  # 60 % of the steps, a quarter of the time
        {"iteration": 61, "total": 100, "elapsed": 31.0, "eta": 200.0},  # the estimate grew: the bar stays
        {"iteration": 99, "total": 100, "elapsed": 1000.0, "eta": 0.01},
    ):
        dlg._on_progress(event)
        bar.append(dlg.progress_bar.value())
    dlg.progress_bar.setValue(0)
    dlg._on_progress({"iteration": 5, "total": 100})  # no estimate yet: the steps
    bar.append(dlg.progress_bar.value())
    dlg.close()
    return {"bar": bar}


def case_dialog_source(spec):
    """The dialog's Repaint choice: what the top line says, greyed out while running, remembered,
    and a Stylise press with The whole image adds the image's layer on top (stand-in engine)."""
    import shutil

    from neural_style.dialog import StyleDialog

    folder = tempfile.mkdtemp(prefix="stand-in-engine-")
    script = _stand_in_engine(folder)
    open(script + ".go", "w").close()  # no waiting: the stand-in returns the content at once
    dlg = _dialog_with_engine(script)
    dlg.set_style(spec["style"])
    doc, layer = dlg.document, dlg.node
    dlg.set_target(doc, layer)  # as the menu's refresh_target does when it shows the dialog
    facts = {
        "choices": [dlg.source_combo.itemData(i) for i in range(dlg.source_combo.count())],
        "labels": [dlg.source_combo.itemText(i) for i in range(dlg.source_combo.count())],
        "tooltip": dlg.source_combo.toolTip(),
        "default": dlg.options()["source"],
        "target_layer": dlg.target_label.text(),
    }
    dlg.source_combo.setCurrentIndex(dlg.source_combo.findData("image"))
    facts["target_image"] = dlg.target_label.text()
    selected = new_doc()
    s = Selection()
    s.select(2, 2, 8, 8, 255)
    selected.setSelection(s)
    dlg.set_target(selected, selected.rootNode().childNodes()[0])
    facts["target_image_selection"] = dlg.target_label.text()
    dlg.set_target(doc, None)  # no active layer: the whole image needs none
    facts["target_image_no_layer"] = dlg.target_label.text()
    dlg.set_target(doc, layer)
    dlg._set_running(True)
    facts["enabled_while_running"] = dlg.source_combo.isEnabled()
    dlg._set_running(False)
    facts["enabled_after"] = dlg.source_combo.isEnabled()
    dlg.save_settings()
    again = StyleDialog(document=doc, node=layer, settings=dlg.settings)
    facts["remembered"] = again.options()["source"]
    facts["remembered_target"] = again.target_label.text()
    facts["run"] = _dialog_run(dlg)
    result = dlg.last_result
    if result is not None and result.ok:
        b = result.layer.bounds()
        facts["run"].update(
            name=result.layer.name(),
            top=[c.name() for c in doc.rootNode().childNodes()][-1],
            bounds=[b.x(), b.y(), b.width(), b.height()],
        )
    shutil.rmtree(folder)
    facts["leftovers"] = leftovers()
    return facts


def case_finish_disabled_by_cancel(spec):
    """Cancel greys out Finish now: there is nothing to finish any more."""
    import shutil

    folder = tempfile.mkdtemp(prefix="stand-in-engine-")
    dlg = _dialog_with_engine(_stand_in_engine(folder))
    dlg.set_style(spec["style"])
    dlg.start_run()
    job, facts = dlg.job, {}

    def on_preview(_path):  # connected after the dialog's own handler, which enables Finish now
        facts["message_at_preview"] = dlg.message_label.text()
        facts["enabled_at_preview"] = dlg.finish_button.isEnabled()
        dlg.cancel_button.click()
        facts["enabled_after_cancel"] = dlg.finish_button.isEnabled()

    job.preview.connect(on_preview)
    _wait(job.finished, 30)
    facts.update(code=dlg.last_result.code if dlg.last_result else None, message=dlg.message_label.text())
    shutil.rmtree(folder)
    return facts


def case_settings_saved_when_krita_quits(spec):
    """Krita quitting with the dialog open calls ``stop_run`` but no close event: the options the
    painter changed are kept all the same."""
    from neural_style.dialog import StyleDialog

    doc = new_doc()
    layer = add_paint_layer(doc, "Paint", (0, 0, 16, 16), red_only)
    settings = MemorySettings()
    dlg = StyleDialog(document=doc, node=layer, settings=settings)
    dlg.strength_spin.setValue(3.5)
    dlg.stop_run()
    return {"strength": settings.get("strength")}


def case_stale_tmpdirs(spec):
    """Temporary folders left by a Krita that crashed (its process id in the name, no longer
    running, unchanged for a day) are removed when a job starts; those of a running Krita, of
    another user, or changed lately (a Krita elsewhere whose pid is free here) stay."""
    import shutil
    import subprocess

    ended = subprocess.Popen(["true"])
    ended.wait()
    tmp = tempfile.gettempdir()
    stale = os.path.join(tmp, f"krita-neural-style-{ended.pid}-x1y2z3_a")
    live = os.path.join(tmp, f"krita-neural-style-{os.getppid()}-abcd_123")
    foreign = os.path.join(tmp, f"krita-neural-style-{ended.pid}-other_99")
    recent = os.path.join(tmp, f"krita-neural-style-{ended.pid}-recent_1")
    for path in (stale, live, foreign, recent):
        os.makedirs(os.path.join(path, "inside"))
    two_days_ago = time.time() - 2 * 24 * 3600
    for path in (stale, live, foreign):
        os.utime(path, (two_days_ago, two_days_ago))
    can_chown = hasattr(os, "getuid") and os.getuid() == 0
    if can_chown:
        os.chown(foreign, 65534, 65534)
    doc = new_doc()
    source = add_paint_layer(doc, "Paint", (0, 0, 16, 16), red_only)
    _layer, facts = _stand_in_run(spec, doc, source)
    facts.update(
        stale_removed=not os.path.exists(stale),
        live_kept=os.path.isdir(live),
        foreign_kept=os.path.isdir(foreign) if can_chown else None,
        recent_kept=os.path.isdir(recent),
        pid=os.getpid(),
    )
    for path in (live, foreign, recent):
        shutil.rmtree(path, ignore_errors=True)
    facts["leftovers"] = leftovers()
    return facts


def case_weights_missing(spec):
    from neural_style import api
    from neural_style.config import EngineConfig

    doc = new_doc()
    source = add_paint_layer(doc, "Paint", (0, 0, W, H), colourful)
    s = Selection()
    s.select(10, 10, 30, 30, 255)
    doc.setSelection(s)
    before = snapshot(doc)
    cfg = EngineConfig(python=spec["engine"]["python"], weights="/nonexistent/vgg19_missing.h5")
    try:
        api.stylize(doc, source, spec["style"], preset="preview", engine=cfg, **FAST)
        result = {"raised": False}
    except api.StyleError as exc:
        result = {"raised": True, "code": exc.code, "message": exc.message, "details": exc.details}
    result.update(identical=snapshot(doc) == before, leftovers=leftovers())
    return result


def case_invalid(spec):
    """Every unusable target gives a StyleError with a code; nothing is added."""
    from neural_style import api
    from neural_style.config import EngineConfig

    cfg = engine_config(spec)
    style = spec["style"]
    out = {}

    def attempt(key, doc, node, engine=cfg):
        before = snapshot(doc) if doc is not None and key != "closed_document" else None
        try:
            api.stylize(doc, node, style, preset="preview", engine=engine, **FAST)
            out[key] = {"raised": False}
        except api.StyleError as exc:
            out[key] = {"raised": True, "code": exc.code, "message": exc.message}
        except Exception:  # noqa: BLE001
            out[key] = {"raised": False, "traceback": traceback.format_exc()}
        if before is not None:
            out[key]["identical"] = snapshot(doc) == before

    doc = new_doc()
    group = doc.createGroupLayer("Group")
    doc.rootNode().addChildNode(group, None)
    attempt("empty_group", doc, group)
    blur = doc.createFilterLayer("Blur", Krita.instance().filter("blur"), Selection())
    doc.rootNode().addChildNode(blur, None)
    attempt("filter_layer", doc, blur)
    empty = doc.createNode("Empty", "paintlayer")
    doc.rootNode().addChildNode(empty, None)
    attempt("empty_layer", doc, empty)
    attempt("no_layer", doc, None)
    attempt("no_document", None, None)

    doc2 = new_doc()
    small = add_paint_layer(doc2, "Corner", (0, 0, 16, 16), red_only)
    s = Selection()
    s.select(60, 40, 20, 20, 255)
    doc2.setSelection(s)
    attempt("selection_outside_layer", doc2, small)

    attempt("engine_missing", doc2, small, EngineConfig(python="/nonexistent/python3"))
    attempt("no_engine_configured", doc2, small, EngineConfig())

    doc3 = new_doc()
    layer3 = add_paint_layer(doc3, "Paint", (0, 0, 16, 16), red_only)
    doc3.close()
    attempt("closed_document", doc3, layer3)
    out["leftovers"] = leftovers()
    return out


def case_bgra_roundtrip(spec):
    """layer_io alone (no engine): export a red layer to PNG and read it back."""
    from neural_style import layer_io
    from neural_style.qt_compat import QImage

    doc = new_doc(8, 4)
    layer = add_paint_layer(doc, "Red", (0, 0, 8, 4), lambda x, y: (250, 10 * x, 5, 255 - 20 * y))
    region = layer_io.Region(0, 0, 8, 4)
    path = os.path.join(tempfile.mkdtemp(prefix="nst-test-"), "c.png")
    layer_io.export_layer(layer, region, path)
    image = QImage(path)
    c = image.pixelColor(3, 2)
    back = layer_io.read_result(path, region)
    return {
        "png_rgba": [c.red(), c.green(), c.blue(), c.alpha()],
        "expected": [250, 30, 5, 255 - 40],
        "roundtrip_identical": back == bytes(layer.pixelData(0, 0, 8, 4)),
    }


def _wait(signal, seconds: float) -> bool:
    """Run Qt's event loop until ``signal`` fires; False after ``seconds`` without it."""
    from neural_style.qt_compat import QEventLoop, QTimer

    loop, fired = QEventLoop(), []
    signal.connect(lambda *_args: (fired.append(True), loop.quit()))
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    return bool(fired)


def _time_switched(doc, frame: int, seconds: float) -> bool:
    """Wait until the image shows ``frame``: Krita switches time asynchronously, so
    ``currentTime()`` may still give the old frame just after ``setCurrentTime`` (seen once in CI
    on a loaded machine, 2026-12-07). Whether it did within ``seconds``."""
    from neural_style.qt_compat import QApplication

    deadline = time.monotonic() + seconds
    doc.waitForDone()
    while doc.currentTime() != frame and time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.02)
    return doc.currentTime() == frame


def _ended_within(pid, seconds: float) -> bool:
    from neural_style.qt_compat import QApplication

    deadline = time.monotonic() + seconds
    while process_alive(pid) and time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.05)
    return not process_alive(pid)


def _sip():
    from neural_style.qt_compat import QT_API

    if QT_API == "PyQt6":
        from PyQt6 import sip
    else:
        from PyQt5 import sip
    return sip


def _dialog_on_a_new_layer(spec, preset: str):
    """A new document with one colourful layer, and the dialog on it with the test's engine and style."""
    from neural_style.dialog import StyleDialog

    doc = new_doc()
    layer = add_paint_layer(doc, "Paint", (0, 0, W, H), colourful)
    settings = MemorySettings()
    settings.set("engine_python", spec["engine"]["python"])
    settings.set("engine_weights", spec["engine"]["weights"])
    settings.set("preset", preset)
    dlg = StyleDialog(document=doc, node=layer, settings=settings)
    dlg.set_style(spec["style"])
    return doc, layer, dlg


def case_warm_engine(spec):
    """The dialog keeps a warm engine: shown, it starts one; Stylise runs in it; another waits for
    the next run; closing the dialog ends that one, and so does Krita's quit handler."""
    from neural_style import engine
    from neural_style.qt_compat import QEvent, QtCore

    QCoreApplication = QtCore.QCoreApplication
    sip = _sip()
    doc, layer, dlg = _dialog_on_a_new_layer(spec, "preview")
    dlg.show()
    first = dlg.standby
    facts = {"standby_started": first is not None}
    if first is None:
        return facts
    facts["ready"] = _wait(first.ready, 120)
    before = snapshot(doc)
    t0 = time.monotonic()
    dlg.start_run()
    job = dlg.job
    facts.update(warm=job.warm, job_pid=job.process.pid, standby_pid=first.pid, handed_over=dlg.standby is None)
    if dlg.job is not None:
        _wait(job.finished, 120)
    result = dlg.last_result
    facts.update(seconds=time.monotonic() - t0, ok=result.ok, message=result.message, code=result.code)
    after = snapshot(doc)
    facts.update(layers_before=len(before["nodes"]), layers_after=len(after["nodes"]))
    facts["first_ended"] = _ended_within(first.pid, 10)
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    facts["job_deleted"] = sip.isdeleted(job)  # with its process and its hold on the layers
    second = dlg.standby
    facts["second_pid"] = second.pid if second else None
    facts["second_alive"] = process_alive(facts["second_pid"])
    dlg.close()
    facts["standby_after_close"] = dlg.standby is not None
    facts["second_ended_after_close"] = _ended_within(facts["second_pid"], 10)
    dlg.show()  # shown again: a new warm engine, which Krita's quit handler must end too
    third = dlg.standby
    facts["third_pid"] = third.pid if third else None
    engine.stop_all()
    facts["third_ended_at_quit"] = _ended_within(facts["third_pid"], 10)
    dlg.close()
    dlg.show()  # and once more: Esc (QDialog.reject hides it without a close event) must end it too
    fourth = dlg.standby
    facts["fourth_pid"] = fourth.pid if fourth else None
    dlg.reject()
    facts["standby_after_esc"] = dlg.standby is not None
    facts["fourth_ended_after_esc"] = _ended_within(facts["fourth_pid"], 10)
    facts["leftovers"] = leftovers()
    return facts


def case_finish_now(spec):
    """The dialog's "Finish now": enabled once a preview is shown; pressed, the run stops and the
    layer is made from the image as it is."""
    doc, layer, dlg = _dialog_on_a_new_layer(spec, "balanced")
    before = snapshot(doc)
    dlg.start_run()
    job = dlg.job
    facts = {"enabled_at_start": dlg.finish_button.isEnabled(), "progress": []}

    def on_progress(event):
        if not facts["progress"]:
            facts["enabled_before_a_preview"] = dlg.finish_button.isEnabled()
        facts["progress"].append([event.get("iteration"), event.get("total")])

    def on_preview(_path):
        if "enabled_at_preview" not in facts:
            facts["enabled_at_preview"] = dlg.finish_button.isEnabled()
            dlg.finish_button.click()
            facts["enabled_after_press"] = dlg.finish_button.isEnabled()
            facts["message_after_press"] = dlg.message_label.text()

    job.progress.connect(on_progress)
    job.preview.connect(on_preview)
    if dlg.job is not None:
        _wait(job.finished, 180)
    result = dlg.last_result
    after = snapshot(doc)
    added = [node for node in after["nodes"] if node not in before["nodes"]]
    facts.update(
        ok=result.ok,
        finished_early=result.finished_early,
        message=dlg.message_label.text(),
        layers_before=len(before["nodes"]),
        layers_after=len(after["nodes"]),
        added=added,
        others_identical=[n for n in after["nodes"] if n not in added] == before["nodes"],
        enabled_after_end=dlg.finish_button.isEnabled(),
        leftovers=leftovers(),
    )
    if result.ok:
        facts.update(layer_facts(doc, result.layer, layer))
    return facts


def case_dialog(spec):
    """The dialog's widgets (Qt offscreen): presets, samples, thumbnail, remembered settings."""
    from neural_style.dialog import StyleDialog

    doc = new_doc()
    layer = add_paint_layer(doc, "Paint", (0, 0, 16, 16), red_only)
    settings = MemorySettings()
    dlg = StyleDialog(document=doc, node=layer, settings=settings)
    dlg.set_target(doc, layer)
    facts = {
        "presets": [dlg.preset_combo.itemData(i) for i in range(dlg.preset_combo.count())],
        "default_preset": dlg.preset_combo.currentData(),
        "working_sizes": [dlg.size_combo.itemData(i) for i in range(dlg.size_combo.count())],
        "working_size_labels": [dlg.size_combo.itemText(i) for i in range(dlg.size_combo.count())],
        "default_options": dlg.options(),
        "start_choices": [dlg.start_combo.itemData(i) for i in range(dlg.start_combo.count())],
        "stroke_labels": [dlg.stroke_combo.itemText(i) for i in range(dlg.stroke_combo.count())],
        "seed_enabled_from_layer": dlg.seed_spin.isEnabled(),
        "size_tooltip": dlg.size_combo.toolTip(),
        "full_res_text": dlg.full_res_check.text(),
        "full_res_tooltip": dlg.full_res_check.toolTip(),
        "styles": [dlg.style_combo.itemText(i) for i in range(dlg.style_combo.count())],
        "blend_styles": [dlg.blend_combo.itemText(i) for i in range(dlg.blend_combo.count())],
        "blend_data": [dlg.blend_combo.itemData(i) for i in range(dlg.blend_combo.count())],
        "style_data": [dlg.style_combo.itemData(i) for i in range(dlg.style_combo.count())],
        "blend_tooltips": [dlg.blend_combo.toolTip(), dlg.mix_spin.toolTip(), dlg.blend_browse_button.toolTip()],
        "mix_range": [dlg.mix_spin.minimum(), dlg.mix_spin.maximum(), dlg.mix_spin.value()],
        "mix_enabled_with_nothing": dlg.mix_spin.isEnabled(),
        "thumbnail": dlg.thumbnail.pixmap() is not None and not dlg.thumbnail.pixmap().isNull(),
        "target": dlg.target_label.text(),
        "cancel_enabled": dlg.cancel_button.isEnabled(),
    }
    dlg.set_style(spec["style"])
    dlg.strength_spin.setValue(2.5)
    dlg.preset_combo.setCurrentIndex(dlg.preset_combo.findData("tutorial"))
    dlg.preserve_check.setChecked(True)
    dlg.stroke_combo.setCurrentIndex(dlg.stroke_combo.findData(1.5))
    dlg.start_combo.setCurrentIndex(dlg.start_combo.findData("noise"))
    facts["seed_enabled_from_noise"] = dlg.seed_spin.isEnabled()
    dlg.seed_spin.setValue(42)
    dlg.size_combo.setCurrentIndex(dlg.size_combo.findData(768))
    dlg.full_res_check.setChecked(True)
    scream = os.path.join(os.path.dirname(spec["style"]), "the_scream.jpg")
    dlg.blend_combo.setCurrentIndex(dlg.blend_combo.findData(scream))
    facts["mix_enabled_with_a_blend"] = dlg.mix_spin.isEnabled()
    dlg.mix_spin.setValue(30)
    dlg._set_running(True)  # as during a run
    facts["blend_enabled_while_running"] = [
        w.isEnabled() for w in (dlg.blend_combo, dlg.blend_browse_button, dlg.mix_spin)
    ]
    dlg._set_running(False)
    facts["mix_enabled_after_run"] = dlg.mix_spin.isEnabled()
    dlg.engine_python_edit.setText("/opt/engine/bin/python")
    dlg.save_settings()
    again = StyleDialog(document=doc, node=layer, settings=settings)
    facts["remembered"] = again.options()
    facts["remembered_engine"] = again.engine_python_edit.text()
    facts["engine_arguments"] = _dialog_arguments(again, doc, layer, spec)
    again.size_combo.setCurrentIndex(0)
    again.full_res_check.setChecked(False)
    again.start_combo.setCurrentIndex(again.start_combo.findData("content"))
    again.blend_combo.setCurrentIndex(0)  # Nothing (one style)
    facts["mix_enabled_after_nothing"] = again.mix_spin.isEnabled()
    again.save_settings()
    facts["preset_default_options"] = StyleDialog(document=doc, node=layer, settings=settings).options()
    facts["preset_default_arguments"] = _dialog_arguments(again, doc, layer, spec)
    # a blend style whose file is gone by the next time: Nothing, without an error
    gone = MemorySettings()
    gone.values.update(settings.values, blend_style="/nonexistent/blend.jpg", blend_mix="0.3")
    lost = StyleDialog(document=doc, node=layer, settings=gone)
    facts["gone_blend"] = {
        "path": lost.blend_style_path(),
        "text": lost.blend_combo.currentText(),
        "options": [lost.options()["blend_style"], lost.options()["blend_mix"]],
        "mix_enabled": lost.mix_spin.isEnabled(),
        "message": lost.message_label.text(),
    }
    facts["preview_intervals"] = {}
    for name in ("preview", "balanced", "tutorial"):
        again.preset_combo.setCurrentIndex(again.preset_combo.findData(name))
        args = _dialog_arguments(again, doc, layer, spec)
        facts["preview_intervals"][name] = args[args.index("--preview-every") + 1]
    # A dialog opened from the menu (no target given) keeps no layer of its own: at Stylise it
    # takes Krita's active one. kritarunner has no window, so that is none, whatever it saw before.
    loose = StyleDialog(settings=settings)
    loose.document, loose.node = doc, layer  # what it showed when it was opened
    before = snapshot(doc)
    loose.start_run()
    facts["loose_message"] = loose.message_label.text()
    facts["loose_target"] = loose.target_label.text()
    facts["loose_unchanged"] = snapshot(doc) == before and loose.job is None
    dlg.engine_python_edit.setText("/nonexistent/python")
    saved_python = settings.get("engine_python")
    dlg.engine_config()
    facts["engine_config_saved_nothing"] = settings.get("engine_python") == saved_python
    dlg.start_run()
    facts["bad_engine_message"] = dlg.message_label.text()
    facts["run_enabled_after_error"] = dlg.run_button.isEnabled()
    facts["recent"] = settings.get_list("recent_styles")
    return facts


def case_dialog_thumbnails(spec):
    """The style thumbnails (Qt offscreen): the blended-in style's beside *Blend with*, empty for
    Nothing, and for images the painter chooses with Choose image… (the file dialog stood in for):
    a readable one, then a file that is not an image."""
    import shutil

    from neural_style import dialog as dialog_module
    from neural_style.dialog import StyleDialog

    folder = tempfile.mkdtemp(prefix="thumbnails-")
    scream = os.path.join(os.path.dirname(spec["style"]), "the_scream.jpg")
    own = os.path.join(folder, "my_blend.jpg")
    shutil.copy(scream, own)
    broken = os.path.join(folder, "broken.jpg")
    with open(broken, "w", encoding="utf-8") as fh:
        fh.write("not an image")
    chosen = []

    class FileDialog:  # the painter picks the next file in ``chosen``
        @staticmethod
        def getOpenFileName(*_args):  # noqa: N802 - Qt API
            return chosen.pop(0), ""

    real, dialog_module.QFileDialog = dialog_module.QFileDialog, FileDialog
    facts = {}
    try:
        dlg = StyleDialog(settings=MemorySettings())
        dlg.set_style(spec["style"])
        facts["with_nothing"] = _thumbnail_facts(dlg.blend_thumbnail)
        dlg.blend_combo.setCurrentIndex(dlg.blend_combo.findData(scream))
        facts["with_a_blend"] = _thumbnail_facts(dlg.blend_thumbnail)
        facts["first_with_a_blend"] = _thumbnail_facts(dlg.thumbnail)
        dlg.blend_combo.setCurrentIndex(0)  # Nothing (one style)
        facts["after_nothing"] = _thumbnail_facts(dlg.blend_thumbnail)
        chosen.append(own)
        dlg.browse_blend_style()
        facts["own"] = _thumbnail_facts(dlg.blend_thumbnail)
        facts["own_path"] = dlg.blend_style_path()
        chosen.append(broken)
        dlg.browse_blend_style()
        facts["broken"] = _thumbnail_facts(dlg.blend_thumbnail)
        facts["broken_path"] = dlg.blend_style_path()
        chosen.append(broken)
        dlg.browse_style()
        facts["broken_style"] = _thumbnail_facts(dlg.thumbnail)
        facts["broken_style_path"] = dlg.style_path()
    finally:
        dialog_module.QFileDialog = real
        shutil.rmtree(folder)
    return facts


def _thumbnail_facts(label) -> dict:
    """What a thumbnail label shows: its picture's size (None without one), its text, its size."""
    pixmap = label.pixmap()  # PyQt5: None without a picture; PyQt6: a null QPixmap
    shown = pixmap is not None and not pixmap.isNull()
    return {
        "pixmap": [pixmap.width(), pixmap.height()] if shown else None,
        "text": label.text(),
        "size": [label.width(), label.height()],
        "fixed": [label.maximumWidth(), label.maximumHeight()],
        "hidden": label.isHidden(),
    }


def _dialog_arguments(dlg, doc, layer, spec) -> list[str]:
    """The engine command line a Stylise press would use (as ``start_run`` builds the job), without
    starting the engine."""
    from neural_style.job import StyleJob

    opts = dlg.options()
    job = StyleJob(doc, layer, opts.pop("style_path"), opts.pop("preset"), engine=engine_config(spec), **opts)
    try:
        job._prepare()
        return job.process.request.arguments()
    finally:
        job.cleanup()


def _detail(bgra: bytes, w: int, h: int) -> float:
    """Mean absolute difference of horizontally and vertically adjacent RGB values: sharpness."""
    total = n = 0
    row = 4 * w
    for y in range(h - 1):
        for x in range(w - 1):
            i = y * row + 4 * x
            for k in range(3):
                total += abs(bgra[i + k] - bgra[i + 4 + k]) + abs(bgra[i + k] - bgra[i + row + k])
            n += 6
    return total / max(n, 1)


def case_full_resolution(spec):
    """A layer larger than the working size, refined up to its own size (--full-resolution),
    against the same run without refinement (the working-size result scaled up)."""
    from neural_style import api

    cw, ch, rect = 320, 220, (10, 10, 300, 200)
    x0, y0, w, h = rect
    doc = new_doc(cw, ch)
    source = add_paint_layer(doc, "Paint", rect, colourful)
    before = snapshot(doc)
    src_before = bytes(source.pixelData(0, 0, cw, ch))
    common = dict(preset="preview", seed=1, engine=engine_config(spec), max_size=128, iterations=4)
    t0 = time.monotonic()
    events = []
    full = api.stylize(
        doc, source, spec["style"], full_resolution=True, layer_name="Full", on_progress=events.append, **common
    )
    t1 = time.monotonic()
    after_full = snapshot(doc)
    siblings = [c.name() for c in full.parentNode().childNodes()]
    plain = api.stylize(doc, source, spec["style"], layer_name="Plain", **common)
    t2 = time.monotonic()
    fb, pb = full.bounds(), plain.bounds()
    full_px = bytes(full.pixelData(x0, y0, w, h))
    plain_px = bytes(plain.pixelData(x0, y0, w, h))
    src_px = bytes(source.pixelData(x0, y0, w, h))
    canvas = bytes(full.pixelData(0, 0, cw, ch))
    outside_alpha = [
        canvas[4 * (y * cw + x) + 3]
        for y in range(ch)
        for x in range(cw)
        if not (x0 <= x < x0 + w and y0 <= y < y0 + h)
    ]
    differs = [
        int(sum(abs(full_px[i + k] - plain_px[i + k]) for k in range(3)) > 12) for i in range(0, len(full_px), 4)
    ]
    changed = [int(sum(abs(full_px[i + k] - src_px[i + k]) for k in range(3)) > 6) for i in range(0, len(full_px), 4)]
    return {
        "source_rect": list(rect),
        "full_bounds": [fb.x(), fb.y(), fb.width(), fb.height()],
        "plain_bounds": [pb.x(), pb.y(), pb.width(), pb.height()],
        "full_seconds": t1 - t0,
        "plain_seconds": t2 - t1,
        "inside_alpha_min": min(full_px[3::4]),
        "outside_alpha_max": max(outside_alpha),
        "differs_from_plain": sum(differs) / len(differs),
        "mean_abs_diff_from_plain": sum(abs(a - b) for a, b in zip(full_px, plain_px)) / len(full_px),
        "changed_from_source": sum(changed) / len(changed),
        "detail": {"full": _detail(full_px, w, h), "plain": _detail(plain_px, w, h), "source": _detail(src_px, w, h)},
        "layers_before": len(before["nodes"]),
        "layers_after_full": len(after_full["nodes"]),
        "others_identical": [n for n in after_full["nodes"] if n[1] != "Full"] == before["nodes"],
        "source_identical": bytes(source.pixelData(0, 0, cw, ch)) == src_before,
        "siblings": siblings,
        "progress": [[e.get("iteration"), e.get("total"), e.get("eta")] for e in events],
        "leftovers": leftovers(),
    }


# -- what the painter reads when the engine fails (stand-in engines, no weights) ------------------
ERROR_ENGINE = """import json, sys
args = sys.argv[1:]
if "run" not in args:
    sys.exit(0)
about = ABOUT
if about.get("path") == "<style>":  # the style file it was given: a copy of an open image
    about["path"] = args[args.index("--style") + 1]
print(json.dumps({"event": "error", "code": CODE, "exit_code": 2, "message": MESSAGE, **about}), flush=True)
print("engine stderr line", file=sys.stderr, flush=True)
sys.exit(2)
"""

ENGINE_CLI_MESSAGES = {  # as the engine words them for its command line
    "image_too_small": "content image is 10x40 pixels: it needs at least 16 pixels on each side",
    "memory_too_small": "--max-memory 0.50 GiB is too little for this image: allow more memory or lower --max-size",
    "output_unwritable": "could not write the preview /x/p.png (No space left on device): give another --preview-path",
    "out_of_memory": "out of memory: lower --max-size or close other programs",
    "input_unreadable": "style image /x/s.png is not an image Pillow can read: save it as PNG or JPEG",
    "bad_option": "--iterations must be greater than 0, not 0",
}
UNREADABLE_MESSAGES = {  # input_unreadable for each image the engine reads, as images.open_checked words it
    "style": "style image /x/s.png is not an image Pillow can read: save it as PNG or JPEG",
    "content": "content image /tmp/krita-neural-style-1-x/content.png is truncated or damaged (EOF): export it again",
    "mask": "mask image /tmp/krita-neural-style-1-x/mask.png cannot be read: permission denied",
}


ABOUT_AN_IMAGE = {  # errors whose event says which image (its "input" and "path" fields), worded otherwise
    "copy_missing": ("input_missing", {"input": "content", "path": "/tmp/krita-neural-style-1-x/content.png"}),
    "mask_unreadable": ("input_unreadable", {"input": "mask", "path": "/tmp/krita-neural-style-1-x/mask.png"}),
    "style_missing": ("input_missing", {"input": "style", "path": "/x/My Styles/gone.jpg"}),
    "style_too_small": ("image_too_small", {"input": "style", "path": "/x/tiny.png"}),
    "style_too_narrow_when_scaled": ("image_too_small", {"input": "style"}),
    "content_too_small": ("image_too_small", {"input": "content", "path": "/tmp/krita-neural-style-1-x/content.png"}),
    "content_too_large": ("image_too_large", {"input": "content", "path": "/tmp/krita-neural-style-1-x/content.png"}),
}


def _error_engine(folder: str, code: str, message: str, about: dict | None = None) -> str:
    body = ERROR_ENGINE.replace("CODE", json.dumps(code)).replace("MESSAGE", json.dumps(message))
    return _script_engine(folder, body.replace("ABOUT", json.dumps(about or {})))


def _stylize_facts(spec, doc, source, cfg, **options) -> dict:
    from neural_style import api

    try:
        api.stylize(doc, source, spec["style"], engine=cfg, **options)
        return {"raised": False}
    except api.StyleError as exc:
        return {"raised": True, "code": exc.code, "message": exc.message, "details": exc.details}


def _dialog_run(dlg, seconds: float = 20) -> dict:
    """Press Stylise and wait for the end; what the dialog shows then."""
    dlg.start_run()
    if dlg.job is not None:
        _wait(dlg.job.finished, seconds)
    result = dlg.last_result
    return {
        "code": result.code if result else None,
        "message": dlg.message_label.text(),
        "details_offered": not dlg.details_button.isHidden(),
        "details_folded": dlg.details_text.isHidden(),
        "details": dlg.details_text.toPlainText(),
    }


def _unfold_details(dlg) -> dict:
    """Unfold and fold the shown dialog's Details: whether the text shows, the dialog grows so the
    message above keeps its lines, and gives the room back."""
    from neural_style.qt_compat import QApplication

    dlg.show()
    QApplication.processEvents()
    folded = dlg.height()
    dlg.details_button.setChecked(True)
    QApplication.processEvents()
    label = dlg.message_label
    facts = {
        "shown": not dlg.details_text.isHidden(),
        "grew": dlg.height() > folded,
        "message_fits": label.height() >= label.heightForWidth(label.width()),
    }
    dlg.details_button.setChecked(False)
    QApplication.processEvents()
    facts["gave_back"] = dlg.height() <= folded and dlg.details_text.isHidden()
    dlg.hide()
    return facts


def case_engine_codes(spec):
    """The engine's error codes reach the painter in the dialog's words, the engine's own in the
    details; a weights problem says what fixes it for where the weights path came from."""
    import shutil

    from neural_style.config import EngineConfig

    folder = tempfile.mkdtemp(prefix="error-engine-")
    doc = new_doc()
    source = add_paint_layer(doc, "Paint", (0, 0, 32, 32), red_only)
    facts = {}
    for code, message in ENGINE_CLI_MESSAGES.items():
        sub = os.path.join(folder, code)
        os.mkdir(sub)
        facts[code] = _stylize_facts(spec, doc, source, EngineConfig(python=_error_engine(sub, code, message)))
        facts[code]["engine_message"] = message
    for role, message in UNREADABLE_MESSAGES.items():
        sub = os.path.join(folder, f"unreadable_{role}")
        os.mkdir(sub)
        cfg = EngineConfig(python=_error_engine(sub, "input_unreadable", message))
        facts[f"input_unreadable_{role}"] = _stylize_facts(spec, doc, source, cfg)
    for key, (code, about) in ABOUT_AN_IMAGE.items():
        sub = os.path.join(folder, key)
        os.mkdir(sub)
        cfg = EngineConfig(python=_error_engine(sub, code, "an image is wrong (worded for the command line)", about))
        facts[key] = _stylize_facts(spec, doc, source, cfg)
    # the style blended in (the second sent: index 1) becomes too small once scaled: named by its place
    sub = os.path.join(folder, "blend_too_narrow")
    os.mkdir(sub)
    about = {"input": "style", "index": 1}
    cfg = EngineConfig(python=_error_engine(sub, "image_too_small", "style image 400x20 becomes 64x3", about))
    scream = os.path.join(os.path.dirname(spec["style"]), "the_scream.jpg")
    facts["blend_too_narrow"] = _stylize_facts(spec, doc, source, cfg, blend_style=scream)
    # a refused option: the plugin's own (the dialog's, or a script's init) are a version mismatch;
    # a script's own option keeps the engine's words, which name it
    refusing = _error_engine(folder, "bad_option", ENGINE_CLI_MESSAGES["bad_option"])
    dlg = _dialog_with_engine(refusing)
    dlg.set_style(spec["style"])
    facts["bad_option_dialog"] = _dialog_run(dlg)
    dlg.start_combo.setCurrentIndex(dlg.start_combo.findData("noise"))
    facts["bad_option_dialog_noise"] = _dialog_run(dlg)
    facts["bad_option_dialog_noise"]["init"] = dlg.options()["init"]
    for name, options in {
        "script_init": {"init": "noise", "seed": 3},
        "script_unset": {"iterations": None, "fast": False},
        "script_option": {"iterations": 5},
    }.items():
        facts[f"bad_option_{name}"] = _stylize_facts(spec, doc, source, EngineConfig(python=refusing), **options)
    # the same code through the dialog: the message, and the details behind a folded Details button
    weights_engine = _error_engine(folder, "weights_missing", "weights not found: run `nst-engine weights fetch`")
    dlg = _dialog_with_engine(weights_engine)
    dlg.set_style(spec["style"])
    dlg.settings.set("engine_weights", "/my/own/vgg19.h5")
    dlg.load_settings()
    facts["weights_from_field"] = _dialog_run(dlg)
    facts["details_unfolded"] = _unfold_details(dlg)
    # weights set by the installer (its config file), no field: run the installer again
    config = os.path.join(folder, "neural_style_engine.json")
    with open(config, "w", encoding="utf-8") as fh:
        json.dump({"python": weights_engine, "weights": "/installed/vgg19.h5"}, fh)
    os.environ["NST_ENGINE_CONFIG"] = config
    try:
        plain = _dialog_with_engine("")
        plain.set_style(spec["style"])
        facts["weights_from_installer"] = _dialog_run(plain)
    finally:
        del os.environ["NST_ENGINE_CONFIG"]
    facts["leftovers"] = leftovers()
    shutil.rmtree(folder)
    return facts


CRASHING_ENGINE = """import os, resource, signal, sys
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file
print("Fatal error in the stand-in", file=sys.stderr, flush=True)
signal.signal(signal.SIGNAL, signal.SIG_DFL)
os.kill(os.getpid(), signal.SIGNAL)
"""


def case_engine_ends(spec):
    """An engine that ends without ``done`` or ``error``: killed by the system (SIGKILL, as the
    out-of-memory killer does, or 137 from a shell wrapper), crashed by another signal, a Python
    that is not the engine's environment, anything else (exit code 9 too)."""
    import shutil
    import sys

    from neural_style.config import EngineConfig

    folder = tempfile.mkdtemp(prefix="ending-engine-")
    doc = new_doc()
    source = add_paint_layer(doc, "Paint", (0, 0, 32, 32), red_only)
    scripts = {
        "killed": "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n",
        # a real Python without the engine: -I leaves out PYTHONPATH, where the tests put nst_engine
        "wrong_python": "import subprocess, sys\nsys.exit(subprocess.call([sys.executable, '-I'] + sys.argv[1:]))\n",
        "other": "import sys\nprint('something broke', file=sys.stderr)\nsys.exit(5)\n",
        "segfault": CRASHING_ENGINE.replace("SIGNAL", "SIGSEGV"),
        "abort": CRASHING_ENGINE.replace("SIGNAL", "SIGABRT"),
        "exit_9": "import sys\nprint('nine', file=sys.stderr)\nsys.exit(9)\n",  # a normal exit, not a kill
        "shell_killed": "import sys\nsys.exit(137)\n",  # a shell wrapper whose child was killed
    }
    facts = {}
    for name, body in scripts.items():
        sub = os.path.join(folder, name)
        os.mkdir(sub)
        script = _script_engine(sub, body)
        facts[name] = _stylize_facts(spec, doc, source, EngineConfig(python=script))
        if name == "wrong_python":  # the same through the dialog's Python field
            dlg = _dialog_with_engine(script)
            dlg.set_style(spec["style"])
            facts["wrong_python_field"] = _dialog_run(dlg)
    facts["python"] = sys.version
    facts["leftovers"] = leftovers()
    shutil.rmtree(folder)
    return facts


def case_unexpected_errors(spec):
    """Failures nobody foresaw: a temporary folder that cannot be written says so and where; any
    other exception names its type even without a message, with the traceback as details."""
    from neural_style import layer_io

    doc = new_doc()
    source = add_paint_layer(doc, "Paint", (0, 0, 32, 32), red_only)
    cfg = engine_config(spec)
    facts = {}
    saved = tempfile.tempdir
    tempfile.tempdir = "/nonexistent-nst-tmp"
    try:
        facts["no_tmp"] = _stylize_facts(spec, doc, source, cfg)
    finally:
        tempfile.tempdir = saved
    plan = layer_io.plan_region

    def broken(*_args):
        raise ValueError()

    layer_io.plan_region = broken
    try:
        facts["no_text"] = _stylize_facts(spec, doc, source, cfg)
    finally:
        layer_io.plan_region = plan
    facts["leftovers"] = leftovers()
    return facts


def case_small_messages(spec):
    """Messages for a missing style, other layer kinds, a closed image, an
    unreadable result and a damaged engine settings file."""
    from neural_style import layer_io
    from neural_style.config import EngineNotConfigured, load_engine_config

    facts = {}
    doc = new_doc()
    source = add_paint_layer(doc, "Paint", (0, 0, 32, 32), red_only)
    cfg = engine_config(spec)

    def raised(fn, *args):
        try:
            fn(*args)
            return None
        except (layer_io.StyleError, EngineNotConfigured) as exc:
            return str(exc)

    from neural_style import api

    def style(path):
        return raised(lambda: api.stylize(doc, source, path, engine=cfg))

    facts["no_style"] = style("")
    facts["missing_style"] = style("/nonexistent/style.jpg")
    blur = doc.createFilterLayer("Blur", Krita.instance().filter("blur"), Selection())
    doc.rootNode().addChildNode(blur, None)
    facts["filter_layer"] = raised(layer_io.LayerSource(doc, blur).validate)
    before = layer_io.LayerSource(doc, source).placement()
    closed = new_doc()
    closed_layer = add_paint_layer(closed, "Paint", (0, 0, 16, 16), red_only)
    closed_before = layer_io.LayerSource(closed, closed_layer).placement()
    closed.close()
    facts["closed"] = raised(layer_io.LayerSource(closed, closed_layer).check_unchanged, closed_before)
    facts["unchanged"] = raised(layer_io.LayerSource(doc, source).check_unchanged, before)
    facts["bad_result"] = raised(layer_io.read_result, "/nonexistent/result.png", layer_io.Region(0, 0, 4, 4))
    folder = tempfile.mkdtemp(prefix="damaged-config-")
    config = os.path.join(folder, "neural_style_engine.json")
    with open(config, "w", encoding="utf-8") as fh:
        fh.write('{"python": "/x/python"')  # cut off
    os.environ["NST_ENGINE_CONFIG"] = config
    try:
        facts["damaged_config"] = raised(lambda: load_engine_config(MemorySettings()).check())
        facts["damaged_config_path"] = config
        facts["damaged_but_field"] = load_engine_config(_field_settings(cfg.python)).python
    finally:
        del os.environ["NST_ENGINE_CONFIG"]
    import shutil

    shutil.rmtree(folder)
    return facts


def _field_settings(python: str):
    settings = MemorySettings()
    settings.set("engine_python", python)
    return settings


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}


def __main__(args):  # noqa: N807 - kritarunner calls MODULE.__main__(args)
    Krita.instance().setBatchmode(True)
    spec = _spec()
    results = {}
    for name in spec["cases"]:
        t0 = time.monotonic()
        try:
            results[name] = CASES[name](spec)
        except Exception:  # noqa: BLE001 - reported to pytest, which fails the test
            results[name] = {"scenario_error": traceback.format_exc()}
        results[name]["case_seconds"] = time.monotonic() - t0
        with open(spec["out"], "w", encoding="utf-8") as fh:
            json.dump(results, fh)
