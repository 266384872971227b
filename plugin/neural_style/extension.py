"""The Krita extension: one action in Tools ▸ Scripts, and engine shutdown when Krita quits."""

from __future__ import annotations

from krita import Extension, Krita

from . import engine
from .qt_compat import QApplication, QMessageBox

ACTION_ID = "neural_style_transfer"


class NeuralStyleExtension(Extension):
    def __init__(self, parent) -> None:
        super().__init__(parent)
        self.dialog = None

    def setup(self) -> None:
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self._shutdown)

    def createActions(self, window) -> None:
        action = window.createAction(ACTION_ID, "Neural Style Transfer…", "tools/scripts")
        action.setToolTip("Repaint the active layer or the selection in the style of another image")
        action.triggered.connect(self.show_dialog)

    def show_dialog(self) -> None:
        try:
            from .dialog import StyleDialog

            if self.dialog is None:
                window = Krita.instance().activeWindow()
                self.dialog = StyleDialog(window.qwindow() if window else None)
            self.dialog.refresh_target()
            self.dialog.show()
            self.dialog.raise_()
            self.dialog.activateWindow()
        except Exception as exc:  # noqa: BLE001 - a message, never a traceback
            QMessageBox.warning(None, "Neural Style Transfer", f"The dialog could not be opened: {exc}")

    def _shutdown(self) -> None:
        if self.dialog is not None:
            self.dialog.cancel_run()
        engine.stop_all()
