"""The Krita extension: one action, in Tools ▸ Scripts and in the Filter menu, and engine shutdown
when Krita quits."""

from __future__ import annotations

from krita import Extension, Krita

from . import engine, job
from .menus import add_to_menu
from .qt_compat import QApplication, QMessageBox, QTimer

ACTION_ID = "neural_style_transfer"
ACTION_TEXT = "Neural Style Transfer…"


class NeuralStyleExtension(Extension):
    def __init__(self, parent) -> None:
        super().__init__(parent)
        self.dialog = None
        self._dialog_window = None  # the main window that owns (and will delete) the dialog

    def setup(self) -> None:
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self._shutdown)

    def createActions(self, window) -> None:
        qwindow = window.qwindow() if window is not None else None
        if qwindow is not None:
            # Krita deletes a closed main window, and the dialog with it, *before* aboutToQuit:
            # stop the dialog's engine while the dialog still exists (``destroyed`` comes first).
            qwindow.destroyed.connect(lambda *_args, w=qwindow: self._window_gone(w))
        action = window.createAction(ACTION_ID, ACTION_TEXT, "tools/scripts")
        action.setToolTip("Repaint the active layer or the selection in the style of another image")
        action.triggered.connect(self.show_dialog)
        if qwindow is not None:
            # Krita fills the window's menus from menuLocation after createActions returns
            QTimer.singleShot(0, lambda: add_to_menu(qwindow, action, "filter"))

    def show_dialog(self) -> None:
        try:
            from .dialog import StyleDialog

            if self.dialog is None:
                window = Krita.instance().activeWindow()
                self._dialog_window = window.qwindow() if window else None
                self.dialog = StyleDialog(self._dialog_window)
            if self.dialog.job is None:  # else: back to the run that went on after Close
                self.dialog.refresh_target()
            self.dialog.show()
            self.dialog.raise_()
            self.dialog.activateWindow()
        except Exception as exc:  # noqa: BLE001 - a message, never a traceback
            QMessageBox.warning(
                None, "Neural Style Transfer", f"The dialog could not be opened: {job.exception_text(exc)}"
            )

    def _window_gone(self, qwindow) -> None:
        if self.dialog is None or qwindow is not self._dialog_window:
            return
        try:
            self.dialog.stop_run()
        except RuntimeError:  # already deleted
            pass
        self.dialog = self._dialog_window = None

    def _shutdown(self) -> None:
        """Krita is quitting: end every engine still running and remove its temporary files."""
        try:
            if self.dialog is not None:
                self.dialog.stop_run()  # ends its run and its warm engine, and starts no new one
        except RuntimeError:  # the dialog went with its window
            self.dialog = None
        engine.stop_all()
        job.remove_leftovers()
