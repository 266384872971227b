"""Every Qt import of the plugin goes through this module.

Krita 5 embeds PyQt5, Krita 6 embeds PyQt6. The rest of the plugin imports Qt names from here and
uses fully scoped enums (``QImage.Format.Format_ARGB32``), which both bindings accept, and
``exec()`` rather than ``exec_()``.
"""

from __future__ import annotations

import sys

if "PyQt6.QtCore" in sys.modules:  # Krita 6 has already loaded its binding: use the same one
    from PyQt6 import QtCore, QtGui, QtWidgets

    QT_API = "PyQt6"
else:
    try:
        from PyQt5 import QtCore, QtGui, QtWidgets

        QT_API = "PyQt5"
    except ImportError:  # pragma: no cover - Krita 6 without PyQt6 loaded yet
        from PyQt6 import QtCore, QtGui, QtWidgets

        QT_API = "PyQt6"

Qt = QtCore.Qt
QEvent = QtCore.QEvent
QObject = QtCore.QObject
QProcess = QtCore.QProcess
QTimer = QtCore.QTimer
QEventLoop = QtCore.QEventLoop
QSettings = QtCore.QSettings
pyqtSignal = QtCore.pyqtSignal

QIcon = QtGui.QIcon
QImage = QtGui.QImage
QPixmap = QtGui.QPixmap

QApplication = QtWidgets.QApplication
QCheckBox = QtWidgets.QCheckBox
QComboBox = QtWidgets.QComboBox
QDialog = QtWidgets.QDialog
QDoubleSpinBox = QtWidgets.QDoubleSpinBox
QFileDialog = QtWidgets.QFileDialog
QFormLayout = QtWidgets.QFormLayout
QGroupBox = QtWidgets.QGroupBox
QHBoxLayout = QtWidgets.QHBoxLayout
QLabel = QtWidgets.QLabel
QLineEdit = QtWidgets.QLineEdit
QMessageBox = QtWidgets.QMessageBox
QPlainTextEdit = QtWidgets.QPlainTextEdit
QProgressBar = QtWidgets.QProgressBar
QPushButton = QtWidgets.QPushButton
QSpinBox = QtWidgets.QSpinBox
QToolButton = QtWidgets.QToolButton
QVBoxLayout = QtWidgets.QVBoxLayout
QWidget = QtWidgets.QWidget


def action_menu(action):
    """The submenu that a menu-bar action opens, or None. PyQt6 has no ``QAction.menu()``
    (Qt 6 moved it to ``QMenu.menuInAction``)."""
    menu = getattr(action, "menu", None)
    if callable(menu):
        return menu()
    return QtWidgets.QMenu.menuInAction(action)


def image_bytes(image: QImage) -> bytes:
    """The raw pixel bytes of ``image`` (rows packed, as ``bytesPerLine`` says)."""
    ptr = image.constBits()
    size = image.sizeInBytes() if hasattr(image, "sizeInBytes") else image.byteCount()
    ptr.setsize(size)
    return bytes(ptr)


def image_from_bytes(data: bytes, width: int, height: int, bytes_per_line: int, fmt) -> QImage:
    """A QImage that owns a copy of ``data`` (QImage would otherwise point into Python memory)."""
    return QImage(data, width, height, bytes_per_line, fmt).copy()
