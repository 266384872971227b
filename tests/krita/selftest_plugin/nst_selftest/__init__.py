"""Test-only Krita plugin: once Krita's window is up, checks that the installed neural_style
plugin was loaded, runs it on a new document in a real view, undoes it, optionally grabs
screenshots, then starts a long run from the dialog and quits Krita while the engine works. The
facts go to ``$NST_SELFTEST_OUT``."""

import json
import os
import sys
import traceback

from krita import Extension, Krita

from .process_check import process_alive  # copied here by the test that installs this plugin

try:
    from PyQt6.QtCore import QTimer
except ImportError:
    from PyQt5.QtCore import QTimer

OUT = os.environ.get("NST_SELFTEST_OUT", "")
SHOTS = os.environ.get("NST_SELFTEST_SCREENSHOTS", "")
STYLE = os.environ.get("NST_SELFTEST_STYLE", "")
BLEND = os.environ.get("NST_SELFTEST_BLEND", "")  # screenshots: a second style shown blended in
CONTENT = os.environ.get("NST_SELFTEST_CONTENT", "")  # screenshots: a real picture to repaint
ITERATIONS = int(os.environ.get("NST_SELFTEST_ITERATIONS", "20"))
MAX_SIZE = int(os.environ.get("NST_SELFTEST_MAX_SIZE", "128"))
facts = {}


def dump():
    if OUT:
        with open(OUT + ".tmp", "w", encoding="utf-8") as fh:
            json.dump(facts, fh)
        os.replace(OUT + ".tmp", OUT)


def settle(seconds=1.5):
    """Let Krita repaint (dockers, canvas) before a screenshot."""
    import time

    from neural_style.qt_compat import QApplication

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.02)


def names(doc):
    return [n.name() for n in doc.rootNode().childNodes()]


STATE = {}


def run():
    """Stage 1: load checks, dialog screenshot, stylise. Stages are chained through the main event
    loop (QTimer), because Krita's Layers docker only catches up there, not in nested loops."""
    k = Krita.instance()
    try:
        module = sys.modules.get("neural_style")
        facts["plugin_file"] = getattr(module, "__file__", None)
        action = k.action("neural_style_transfer")
        facts["action_text"] = action.text() if action else None
        facts["extensions"] = [type(e).__name__ for e in k.extensions()]
        window = k.activeWindow() or k.windows()[0]
        facts["menus"] = menus_with(window.qwindow().menuBar(), action)
        w, h = 320, 200
        data = bytearray()
        if CONTENT:
            from neural_style.qt_compat import QImage, image_bytes

            image = QImage(CONTENT).convertToFormat(QImage.Format.Format_ARGB32)
            w, h = image.width(), image.height()
            data = bytearray(image_bytes(image))
        else:
            for y in range(h):
                for x in range(w):
                    data += bytes(((x * 3) % 256, (y * 5) % 256, 200 - (x + y) % 120, 255))
        doc = k.createDocument(w, h, "selftest", "RGBA", "U8", "", 72.0)
        STATE["doc"] = doc
        window.addView(doc)
        layer = doc.createNode("Photo" if CONTENT else "Sketch", "paintlayer")
        layer.setPixelData(bytes(data), 0, 0, w, h)
        doc.rootNode().addChildNode(layer, doc.rootNode().childNodes()[0])
        doc.setActiveNode(layer)
        doc.waitForDone()
        STATE.update(layer=layer, w=w, h=h, before=bytes(layer.pixelData(0, 0, w, h)))
        facts["layers_before"] = names(doc)
        ext = next((e for e in k.extensions() if type(e).__name__ == "NeuralStyleExtension"), None)
        STATE["ext"] = ext
        if SHOTS and ext is not None:
            os.makedirs(SHOTS, exist_ok=True)
            settle()
            action.trigger()
            dlg = ext.dialog
            dlg.set_target(doc, layer)  # Krita's active node lags behind in this nested call
            if STYLE:
                dlg.set_style(STYLE)
            if BLEND:
                dlg.set_blend_style(BLEND)
            dlg.adjustSize()
            settle()
            dlg.grab().save(os.path.join(SHOTS, "dialog.png"))
            dlg.close()
        from neural_style import api

        new = api.stylize(doc, layer, STYLE, preset="preview", seed=1, max_size=MAX_SIZE, iterations=ITERATIONS)
        doc.waitForDone()
        STATE["new"] = new
        facts["new_layer"] = new.name()
        from neural_style.dialog import _tell_in_view

        facts["note_in_view"] = _tell_in_view("Done: added the layer.", doc)  # as after Close mid-run
        facts["layers_after"] = names(doc)
        if SHOTS:
            k.activeWindow().qwindow().resize(1100, 700)
            doc.refreshProjection()
            doc.setActiveNode(new)
    except Exception:  # noqa: BLE001
        facts["error"] = traceback.format_exc()
        finish()
        return
    QTimer.singleShot(2500 if SHOTS else 200, undo_stage)


def undo_stage():
    """Stage 2: the result screenshot (the docker has caught up by now), then one Undo."""
    k = Krita.instance()
    doc, layer = STATE["doc"], STATE["layer"]
    try:
        facts["docker_after"] = docker_rows(k.activeWindow().qwindow())
        if SHOTS:
            settle(0.5)
            k.activeWindow().qwindow().grab().save(os.path.join(SHOTS, "result.png"))
        k.action("edit_undo").trigger()
        doc.waitForDone()
        facts["layers_after_undo"] = names(doc)
        facts["source_identical"] = bytes(layer.pixelData(0, 0, STATE["w"], STATE["h"])) == STATE["before"]
        quit_mid_run()
    except Exception:  # noqa: BLE001
        facts["error"] = traceback.format_exc()
        finish()


def quit_mid_run():
    """Stage 3: start a long run from the dialog and quit Krita while the engine works."""
    import time

    from neural_style.qt_compat import QApplication

    ext, doc = STATE["ext"], STATE["doc"]
    ext.show_dialog()
    dlg = ext.dialog
    if STYLE:
        dlg.set_style(STYLE)
    dlg.preset_combo.setCurrentIndex(dlg.preset_combo.findData("preview"))
    seen = []
    facts["quit_standby_pid"] = dlg.standby.pid if dlg.standby is not None else None
    dlg.start_run()
    job = dlg.job
    if job is None:
        facts["quit_error"] = dlg.message_label.text()
        finish()
        return
    job.progress.connect(seen.append)
    deadline = time.monotonic() + 90
    while not seen and job.result is None and time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.05)
    facts["quit_progress_seen"] = bool(seen)
    facts["quit_pid"] = job.process.pid if job.process else None
    facts["quit_warm"] = job.warm
    facts["quit_tmpdir"] = job.tmpdir

    def at_quit():  # connected after the plugin's own handler, so it runs after it
        facts["quit_engine_alive_at_quit"] = process_alive(facts["quit_pid"])
        facts["quit_tmpdir_exists_at_quit"] = bool(job_tmp) and os.path.exists(job_tmp)
        dump()

    job_tmp = job.tmpdir
    QApplication.instance().aboutToQuit.connect(at_quit)
    doc.setModified(False)
    finish(close_doc=False)


def finish(close_doc=True):
    k = Krita.instance()
    doc = STATE.get("doc")
    facts["done"] = True
    dump()
    if doc is not None:
        doc.setModified(False)
        if close_doc:
            doc.close()
    QTimer.singleShot(200, lambda: k.action("file_quit").trigger())


def menus_with(menubar, action):
    """Object names of the menu-bar menus (and submenus) that contain ``action``."""
    found = []

    def walk(menu, path):
        for item in menu.actions():
            if item is action:
                found.append(path)
            elif item.menu() is not None:
                walk(item.menu(), f"{path}/{item.objectName()}")

    for top in menubar.actions():
        if top.menu() is not None:
            walk(top.menu(), top.objectName())
    return found


def docker_rows(qwindow):
    """The layer names the Layers docker shows (top-level rows)."""
    from neural_style.qt_compat import QtWidgets

    for dock in qwindow.findChildren(QtWidgets.QDockWidget):
        if dock.objectName() == "KisLayerBox":
            for view in dock.findChildren(QtWidgets.QAbstractItemView):
                model = view.model()
                if model is not None and view.objectName() == "listLayers":
                    return [model.index(i, 0).data() for i in range(model.rowCount())]
    return None


class SelfTest(Extension):
    def setup(self):
        facts["setup"] = True
        dump()

    def createActions(self, window):
        QTimer.singleShot(2000, run)


Krita.instance().addExtension(SelfTest(Krita.instance()))
