"""Test-only Krita plugin: once Krita's window is up, checks that the installed neural_style
plugin was loaded, runs it on a new document in a real view, undoes it, optionally grabs
screenshots, writes the facts to ``$NST_SELFTEST_OUT`` and quits Krita."""

import json
import os
import sys
import traceback

from krita import Extension, Krita

try:
    from PyQt6.QtCore import QTimer
except ImportError:
    from PyQt5.QtCore import QTimer

OUT = os.environ.get("NST_SELFTEST_OUT", "")
SHOTS = os.environ.get("NST_SELFTEST_SCREENSHOTS", "")
STYLE = os.environ.get("NST_SELFTEST_STYLE", "")
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


def run():
    k = Krita.instance()
    doc = None
    try:
        module = sys.modules.get("neural_style")
        facts["plugin_file"] = getattr(module, "__file__", None)
        action = k.action("neural_style_transfer")
        facts["action_text"] = action.text() if action else None
        facts["extensions"] = [type(e).__name__ for e in k.extensions()]
        window = k.activeWindow() or k.windows()[0]
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
        window.addView(doc)
        layer = doc.createNode("Photo" if CONTENT else "Sketch", "paintlayer")
        layer.setPixelData(bytes(data), 0, 0, w, h)
        doc.rootNode().addChildNode(layer, doc.rootNode().childNodes()[0])
        doc.setActiveNode(layer)
        doc.waitForDone()
        before = bytes(layer.pixelData(0, 0, w, h))
        facts["layers_before"] = names(doc)
        ext = next((e for e in k.extensions() if type(e).__name__ == "NeuralStyleExtension"), None)
        if SHOTS and ext is not None:
            settle()
            action.trigger()
            dlg = ext.dialog
            if STYLE:
                dlg.set_style(STYLE)
            dlg.adjustSize()
            settle()
            dlg.grab().save(os.path.join(SHOTS, "dialog.png"))
            dlg.close()
        from neural_style import api

        new = api.stylize(doc, layer, STYLE, preset="preview", seed=1, max_size=MAX_SIZE, iterations=ITERATIONS)
        doc.waitForDone()
        facts["new_layer"] = new.name()
        facts["layers_after"] = names(doc)
        if SHOTS:
            k.activeWindow().qwindow().resize(1100, 700)
            doc.refreshProjection()
            doc.setActiveNode(new)
            settle()
            k.activeWindow().qwindow().grab().save(os.path.join(SHOTS, "result.png"))
        k.action("edit_undo").trigger()
        doc.waitForDone()
        facts["layers_after_undo"] = names(doc)
        facts["source_identical"] = bytes(layer.pixelData(0, 0, w, h)) == before
    except Exception:  # noqa: BLE001
        facts["error"] = traceback.format_exc()
    facts["done"] = True
    dump()
    if doc is not None:
        doc.setModified(False)
        doc.close()
    QTimer.singleShot(200, lambda: k.action("file_quit").trigger())


class SelfTest(Extension):
    def setup(self):
        facts["setup"] = True
        dump()

    def createActions(self, window):
        QTimer.singleShot(2000, run)


Krita.instance().addExtension(SelfTest(Krita.instance()))
