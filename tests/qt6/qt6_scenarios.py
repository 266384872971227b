"""The plugin's Qt code under PyQt6, the binding Krita 6 embeds, outside Krita.

Krita 6 is not in Debian, so this cannot drive the plugin inside Krita 6 the way
tests/krita/krita_scenarios.py drives it inside Krita 5. What differs between Krita 5 and 6 for
this plugin is the Qt binding (PyQt5 → PyQt6: scoped enums, ``exec``, ``QAction.menu``,
``sip.voidptr``), and all the plugin's Qt code that does not call Krita's own API can run here under
the real PyQt6: the dialog, the engine process and its protocol, the pixel conversions, the menus.

Run as ``python qt6_scenarios.py`` with ``QT_QPA_PLATFORM=offscreen`` and the spec's path in
``$NST_SCENARIO_SPEC`` (tests/krita/krita_helpers.py, ``run_scenario_process``): it names the cases,
the engine and where to write the facts (JSON, by case name) for the tests to check.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import traceback

from PyQt6 import QtCore, QtGui, QtWidgets  # first, as Krita 6 loads it before any plugin

APP = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["qt6_scenarios"])

from memory_settings import MemorySettings  # noqa: E402 - after the binding, like in Krita
from neural_style import color_spaces, layer_io, qt_compat  # noqa: E402
from neural_style.engine import EngineProcess, EngineRequest  # noqa: E402


def _wait(signal, seconds: float) -> list:
    """Run Qt's event loop until ``signal`` fires; the signal's arguments, or [] after ``seconds``."""
    loop, fired = QtCore.QEventLoop(), []
    signal.connect(lambda *args: (fired.append(args), loop.quit()))
    QtCore.QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    return list(fired[0]) if fired else []


def case_binding(spec: dict) -> dict:
    return {"qt_api": qt_compat.QT_API, "qt_version": QtCore.qVersion()}


class _Pixels:
    """Stands in for a Krita paint layer where ``layer_io.export_layer`` only asks it for its
    pixels, name, kind, visibility and colour space: the QImage work after that is what runs under PyQt6 here
    (the real layers are tested inside Krita 5, tests/krita)."""

    def __init__(self, data: bytes, depth: str) -> None:
        self.data, self.depth = data, depth

    def name(self) -> str:
        return "Paint"

    def type(self) -> str:
        return "paintlayer"

    def visible(self) -> bool:
        return True

    def colorModel(self) -> str:  # noqa: N802 - Krita's API
        return "RGBA"

    def colorDepth(self) -> str:  # noqa: N802 - Krita's API
        return self.depth

    def colorProfile(self) -> str:  # noqa: N802 - Krita's API
        return "sRGB-elle-V2-srgbtrc.icc"

    def projectionPixelData(self, x: int, y: int, w: int, h: int) -> bytes:  # noqa: N802 - Krita's API
        return self.data


def case_pixels(spec: dict) -> dict:
    """The layer ↔ PNG conversions, on a 3 px wide region: a width whose grey rows are not a
    multiple of 4 bytes, where Qt pads each scanline. A layer's pixels go out as the engine's
    content PNG (8 and 16 bits) and an 8-bit PNG comes back as the layer's bytes."""
    folder = tempfile.mkdtemp()
    region = layer_io.Region(0, 0, 3, 2)
    bgra = bytes(
        [10, 20, 30, 255, 40, 50, 60, 128, 70, 80, 90, 0, 100, 110, 120, 255, 130, 140, 150, 64, 160, 170, 180, 255]
    )
    png = os.path.join(folder, "content.png")
    layer_io.export_layer(_Pixels(bgra, "U8"), region, png)
    saved = os.path.isfile(png)
    back = layer_io.read_result(png, region)

    deep = bytes(b for v in bgra for b in (v * 7 % 256, v))  # 16 bits: v·256 + something, not v·257
    png16 = os.path.join(folder, "content16.png")
    layer_io.export_layer(_Pixels(deep, "U16"), region, png16)
    back16 = layer_io.read_result(png16, region)

    mask = bytes([0, 128, 255, 255, 7, 0])
    mask_png = os.path.join(folder, "mask.png")
    layer_io.export_mask(mask, region, mask_png)
    grey = qt_compat.QImage(mask_png)
    mask_back = [grey.pixelColor(x, y).red() for y in range(2) for x in range(3)]

    codes = {}
    for name, path, wrong_region in (
        ("wrong_size", png, layer_io.Region(0, 0, 4, 2)),
        ("missing", os.path.join(folder, "nothing.png"), region),
    ):
        try:
            layer_io.read_result(path, wrong_region)
            codes[name] = None
        except layer_io.StyleError as error:
            codes[name] = error.code
    return {
        "saved": saved,
        "bgra_back": list(back),
        "bgra_sent": list(bgra),
        "bgra_back_from_16_bits": list(back16),
        "as_16_bits": list(color_spaces.from_8bit(bgra, "U16")),
        "mask_back": mask_back,
        "mask_sent": list(mask),
        "error_codes": codes,
    }


def case_alpha_box(spec: dict) -> dict:
    """layer_io.alpha_box and the alpha read from raw pixels of several colour spaces (pure Python)."""
    region = layer_io.Region(10, 20, 5, 4)
    empty = bytes(20)
    one = bytearray(20)
    one[2 * 5 + 3] = 7  # the pixel at x=3, y=2
    rows = bytearray(20)
    rows[5:10] = b"\xff" * 5  # all of row 1
    rows[15] = 1  # and x=0 of row 3
    pixels = {  # two pixels each, the second transparent: 16-bit RGBA (alpha's low byte only set), float grey, CMYK
        "RGBA_U16": bytes([0, 0, 0, 0, 0, 0, 1, 0]) + bytes(8),
        "GRAYA_F32": bytes(4) + bytes([0, 0, 128, 63]) + bytes(8),
        "CMYKA_U8": bytes([9, 9, 9, 9, 255]) + bytes([9, 9, 9, 9, 0]),
    }
    alphas = {}
    for key, data in pixels.items():
        model, depth = key.split("_")
        alphas[key] = list(layer_io._alpha_shown(data, 2, 1, (model, depth, "")))
    boxes = {
        "empty": layer_io.alpha_box(empty, region),
        "one": layer_io.alpha_box(bytes(one), region),
        "rows": layer_io.alpha_box(bytes(rows), region),
    }
    from neural_style import open_images

    return {
        "open_image_limits": [open_images.ENGINE_PIXELS, open_images.ENGINE_SIDE],
        "boxes": {k: [b.x, b.y, b.w, b.h] for k, b in boxes.items()},
        "alphas": alphas,
        "union": list(layer_io.Region(0, 0, 2, 2).union(layer_io.Region(5, -1, 1, 1)).__dict__.values()),
        "union_empty": list(layer_io.Region(3, 3, 0, 0).union(layer_io.Region(1, 1, 2, 2)).__dict__.values()),
    }


def case_menus(spec: dict) -> dict:
    """The action filed under Tools ▸ Scripts and Filter of a main window whose menus are named
    the way Krita's (KXMLGUI) are: the menu and the action that opens it carry the object name."""
    from neural_style.menus import add_to_menu

    window = QtWidgets.QMainWindow()
    menus = {}
    for name, parent in (("tools", None), ("scripts", "tools"), ("Filter", None)):
        menu = QtWidgets.QMenu(name.title(), window)
        menu.setObjectName(name)
        menu.menuAction().setObjectName(name)
        (menus[parent].addMenu(menu) if parent else window.menuBar().addMenu(menu))
        menus[name] = menu
    action = QtGui.QAction("Neural Style", window)  # QAction is in QtGui since Qt 6
    action.setObjectName("Neural Style")
    return {
        "scripts_added": add_to_menu(window, action, "tools/scripts"),
        "in_scripts": action in menus["scripts"].actions(),
        "filter_added": add_to_menu(window, action, "filter"),
        "in_filter": action in menus["Filter"].actions(),
        "missing_added": add_to_menu(window, action, "tools/nowhere"),
        "not_a_menu_added": add_to_menu(window, action, "tools/scripts/Neural Style"),
    }


def case_dialog(spec: dict) -> dict:
    """The dialog without a document or an engine: its options, the blend controls, the progress
    line, and a failure shown with folded details."""
    from neural_style.dialog import StyleDialog
    from neural_style.job import JobResult

    dialog = StyleDialog(settings=MemorySettings())
    facts = {"options": dialog.options()}
    dialog.show()
    APP.processEvents()
    facts["target"] = dialog.target_label.text()  # shown: the dialog has asked for Krita's active layer
    dialog.source_combo.setCurrentIndex(dialog.source_combo.findData("image"))  # Repaint: The whole image
    facts["target_whole_image"] = dialog.target_label.text()
    facts["source_option"] = dialog.options()["source"]
    dialog.source_combo.setCurrentIndex(0)
    facts["standby_started"] = dialog.standby is not None  # no engine set up: none
    pixmap = dialog.thumbnail.pixmap()
    facts["thumbnail"] = [pixmap.width(), pixmap.height()] if pixmap is not None and not pixmap.isNull() else None
    facts["mix_enabled_alone"] = dialog.mix_spin.isEnabled()
    second = next(i for i in range(dialog.blend_combo.count()) if dialog.blend_combo.itemData(i))
    dialog.blend_combo.setCurrentIndex(second)
    facts["mix_enabled_blend"] = dialog.mix_spin.isEnabled()
    facts["blend_options"] = {k: dialog.options()[k] for k in ("blend_style", "blend_mix")}

    dialog._set_running(True)
    facts["running"] = {"run": dialog.run_button.isEnabled(), "cancel": dialog.cancel_button.isEnabled()}
    dialog._on_started({"event": "start", "device": "CPU"})
    # 9 of 12 steps (75 %) but a quarter of the time: the bar follows the time
    dialog._on_progress({"event": "progress", "iteration": 9, "total": 12, "elapsed": 10.0, "eta": 30})
    facts["progress"] = {"text": dialog.message_label.text(), "bar": dialog.progress_bar.value()}
    facts["hidpi_preview"] = _hidpi_preview()
    facts["larger_preview"] = _larger_preview(dialog)

    folded = dialog.height()
    dialog._on_finished(JobResult(False, code="input_missing", message="The style image is gone.", details="tail"))
    facts["failure"] = {
        "message": dialog.message_label.text(),
        "details_button": dialog.details_button.isVisible(),
        "details_shown": dialog.details_text.isVisible(),
        "run_enabled": dialog.run_button.isEnabled(),
    }
    dialog.details_button.click()
    APP.processEvents()
    facts["unfolded"] = {"shown": dialog.details_text.isVisible(), "grew_by": dialog.height() - folded}
    dialog.close()
    return facts


def _larger_preview(dialog) -> dict:
    """Larger…: greyed out until a preview exists; then the preview in a window of its own, at up
    to 768 px and never blown up past its own size, updated by the next preview."""
    from neural_style.qt_compat import QImage, QLabel

    facts = {"enabled_before": dialog.larger_button.isEnabled()}
    folder = tempfile.mkdtemp(prefix="previews-")
    paths = []
    for w, h in ((1000, 500), (300, 200)):
        image = QImage(w, h, QImage.Format.Format_ARGB32)
        image.fill(0xFF336699)
        paths.append(os.path.join(folder, f"{w}.png"))
        image.save(paths[-1])
    dialog._on_preview(paths[0])
    facts["enabled_after"] = dialog.larger_button.isEnabled()
    dialog.larger_button.click()
    window = dialog.preview_window
    label = window.findChild(QLabel)
    facts["shown"] = window.isVisible()
    facts["first"] = [label.width(), label.height()]
    dialog._on_preview(paths[1])
    facts["second"] = [label.width(), label.height()]
    window.close()
    return facts


def _hidpi_preview() -> dict:
    """The preview on a screen with twice as many pixels: the pixmap has them, marked as such."""
    from neural_style import dialog as dialog_module
    from neural_style.qt_compat import QImage, QLabel

    given = []

    class HiDpiLabel(QLabel):  # Qt 6's QLabel.pixmap() renders at the real ratio: keep what was set
        def devicePixelRatioF(self) -> float:  # noqa: N802 - Qt API
            return 2.0

        def setPixmap(self, pixmap) -> None:  # noqa: N802 - Qt API
            given.append(pixmap)
            super().setPixmap(pixmap)

    label = HiDpiLabel()
    label.setFixedSize(160, 160)
    image = QImage(1000, 500, QImage.Format.Format_ARGB32)
    image.fill(0xFF336699)
    dialog_module._show_scaled(label, image)
    return {"size": [given[0].width(), given[0].height()], "ratio": given[0].devicePixelRatio()}


def case_warm_engine(spec: dict) -> dict:
    """The dialog, shown with an engine set up, starts a warm engine; closed, it lets it go."""
    from neural_style.dialog import StyleDialog

    settings = MemorySettings()
    settings.set("engine_python", spec["engine"]["python"])
    settings.set("engine_weights", spec["engine"]["weights"])
    dialog = StyleDialog(settings=settings)
    dialog.show()
    APP.processEvents()
    standby = dialog.standby
    facts = {"started": standby is not None, "ready": bool(standby is not None and _wait(standby.ready, 120))}
    dialog.close()
    facts["let_go"] = bool(standby is not None and (not standby.is_running() or _wait(standby.finished, 30)))
    facts["ended"] = bool(standby is not None and standby.process.state() == qt_compat.QProcess.ProcessState.NotRunning)
    return facts


def _run(request: EngineRequest, seconds: float, *, cancel_at_first_progress: bool = False) -> dict:
    """One engine run through EngineProcess (QProcess), as the plugin starts it."""
    process = EngineProcess(request)
    events = []
    process.started.connect(lambda event: events.append("start"))
    process.progress.connect(lambda event: events.append("progress"))
    process.preview.connect(lambda path: events.append("preview"))
    if cancel_at_first_progress:
        process.progress.connect(lambda event: process.cancel())
    t0 = time.monotonic()
    process.start()
    args = _wait(process.finished, seconds) if process.result is None else [process.result]
    result = args[0] if args else None
    return {
        "ok": bool(result and result.ok),
        "code": result.code if result else "timeout",
        "message": result.message if result else "",
        "stderr": result.stderr_tail if result else "",
        "events": sorted(set(events)),
        "output_exists": os.path.isfile(request.output),
        "ended": process.process.state() == qt_compat.QProcess.ProcessState.NotRunning,
        "seconds": time.monotonic() - t0,
    }


def case_engine_errors(spec: dict) -> dict:
    """The engine's error line and a failed start, read through QProcess (no weights needed)."""
    folder = tempfile.mkdtemp()
    python = spec["engine"]["python"]
    missing_style = EngineRequest(
        python=python,
        content=spec["content"],
        style=os.path.join(folder, "no_such_style.jpg"),
        output=os.path.join(folder, "out.png"),
    )
    no_python = EngineRequest(
        python=os.path.join(folder, "no_such_python"),
        content=spec["content"],
        style=spec["style"],
        output=os.path.join(folder, "out.png"),
    )
    return {"missing_style": _run(missing_style, 120), "no_python": _run(no_python, 30)}


NOT_UTF8 = {"LC_ALL": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0", "PYTHONIOENCODING": "cp1252"}
"""Krita's environment where the system's encoding is not UTF-8, as on Windows (cp1252 or the like):
in the C locale Python would turn to UTF-8 of itself, which these settings prevent."""


def case_engine_encoding(spec: dict) -> dict:
    """What the engine prints beyond ASCII (a path with "é", a message about a folder named in
    Japanese) reaches the plugin as it was: the engine is a stand-in that prints such text on
    stdout (a protocol line) and stderr, with the encoding its streams have."""
    folder = tempfile.mkdtemp()
    probe = os.path.join(folder, "python3")
    with open(probe, "w", encoding="utf-8") as fh:
        fh.write(
            f"#!{sys.executable}\n"
            "import json, sys\n"
            "text = 'Zoë 日本'\n"
            "print(f'{text} on stderr, {sys.stderr.encoding}', file=sys.stderr)\n"
            "message = f'{text} on stdout, {sys.stdout.encoding}'\n"
            "print(json.dumps({'event': 'error', 'code': 'probe', 'message': message}, ensure_ascii=False))\n"
            "sys.exit(2)\n"
        )
    os.chmod(probe, 0o755)
    saved = {name: os.environ.get(name) for name in NOT_UTF8}
    os.environ.update(NOT_UTF8)
    try:
        return _run(EngineRequest(python=probe, content="c.png", style="s.png", output="o.png"), 60)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def case_engine_runs(spec: dict) -> dict:
    """A small real run to its result, and one cancelled at its first progress line."""
    folder = tempfile.mkdtemp()

    def request(name: str, iterations: int) -> EngineRequest:
        return EngineRequest(
            python=spec["engine"]["python"],
            content=spec["content"],
            style=spec["style"],
            output=os.path.join(folder, f"{name}.png"),
            preset="preview",
            max_size=64,
            weights=spec["engine"]["weights"],
            preview_path=os.path.join(folder, f"{name}_preview.png"),
            preview_every=1,
            preview_seconds=0.0,
            extra={"iterations": iterations},
        )

    return {
        "done": _run(request("done", 3), 240),
        "cancelled": _run(request("cancelled", 500), 240, cancel_at_first_progress=True),
    }


CASES = {name[len("case_") :]: fn for name, fn in globals().items() if name.startswith("case_")}


def main() -> None:
    with open(os.environ["NST_SCENARIO_SPEC"], encoding="utf-8") as fh:
        spec = json.load(fh)
    results = {}
    for name in spec["cases"]:
        try:
            results[name] = CASES[name](spec)
        except Exception:  # noqa: BLE001 - reported to pytest, which fails the test
            results[name] = {"scenario_error": traceback.format_exc()}
        with open(spec["out"], "w", encoding="utf-8") as fh:
            json.dump(results, fh)


if __name__ == "__main__":
    main()
