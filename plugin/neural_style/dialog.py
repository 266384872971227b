"""The painter's dialog. Thin: it collects options, starts a :class:`StyleJob` and shows progress.

It runs without blocking Krita (non-modal; the engine is a separate process) and remembers every
option between runs. While it is open it keeps a warm engine waiting (see
:meth:`neural_style.engine.EngineProcess.standby`): TensorFlow loads while the painter chooses, so
"Stylise" starts painting at once.
"""

from __future__ import annotations

import os
import time

from .config import (
    DEFAULT_PRESET,
    PRESETS,
    STROKE_SIZES,
    WORKING_SIZES,
    EngineConfig,
    EngineNotConfigured,
    Settings,
    bundled_styles,
    clean_path,
    load_engine_config,
    remember_recent,
    style_label,
)
from .engine import EngineProcess
from .job import JobResult, StyleJob
from .layer_io import animated, document_is_open
from .open_images import is_open_image, style_name
from .qt_compat import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QEvent,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QIcon,
    QImage,
    QLabel,
    QLineEdit,
    QPixmap,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    Qt,
    QToolButton,
    QVBoxLayout,
)

THUMB = 160
LARGE_PREVIEW = 768  # the largest side of the preview's own window (Larger…)
BLEND_THUMB = 64  # the style blended in, next to its controls
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff);;All files (*)"
WORKING_SIZE_TIP = (
    "The longest side, in pixels, the style is worked out at. Preset default: 256 px for Quick preview, "
    "512 px for Balanced and Best. Bigger sizes follow finer detail but cost time and memory roughly with "
    "the square of the size: each step at 1024 px takes about four times as long as at 512 px. The new "
    "layer always has the full pixel size of what is repainted (the layer, or the whole image)."
)
STROKE_SIZE_TIP = (
    "How big the style's brush strokes come out: the style image is worked out at this many times "
    "the working size, so Larger gives bolder, broader strokes and Smaller finer ones. It costs "
    "almost no time."
)
START_FROM_TIP = (
    "Your picture: the result keeps its shapes and is the same every time. "
    "Noise: a looser, more painterly picture that keeps less of yours; each seed gives a "
    "different one, and the same seed with the same options the same one."
)
FULL_RESOLUTION_TIP = (
    "Without this, the style worked out at the working size is scaled up to the full pixel size of what "
    "is repainted (the layer, or the whole image). With it, the engine then refines the result at higher "
    "resolutions, in tiles, up to that size: sharper detail on large pictures, but much slower. On a CPU "
    "a large canvas can take many minutes; the time left is shown below while it runs."
)
BLEND_TIP = (
    "Mix a second style into the first, as two paintings blended into one: the brush strokes, "
    "texture and colours of both. Nothing keeps to the first style alone."
)
MIX_TIP = (
    "How much of the picture comes from the second style: 50 % is half and half, 20 % mostly the "
    "first style with a touch of the second, 80 % mostly the second."
)
BLEND_BROWSE_TIP = "Choose your own image as the second style"
NO_BLEND = "Nothing (one style)"
OPEN_IMAGE = "open-image:"  # + a number: an image open in Krita in the style lists (StyleDialog._open_images)
REPAINT_TIP = (
    "This layer: the active layer (a group with its layers) as it shows, into a new layer above it "
    "and above your earlier results of it. The whole image: the "
    "picture as you see it, all visible layers together, into a new layer at the top of the layer "
    "stack that covers the picture. With a selection, only the selected part."
)
FINISH_TIP = (
    "Happy with the preview? Stop painting now and add the layer from the image as it is: the result "
    "then looks like the preview, at full size. Cancel instead adds nothing."
)


def _format_eta(seconds) -> str:
    try:
        seconds = int(round(float(seconds)))
    except (TypeError, ValueError):
        return ""
    minutes, sec = divmod(max(0, seconds), 60)
    return f"about {minutes} min {sec:02d} s left" if minutes else f"about {sec} s left"


class StyleDialog(QDialog):
    def __init__(self, parent=None, document=None, node=None, settings: Settings | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Neural Style Transfer")
        self.settings = settings or Settings()
        self.document, self.node = document, node
        self.job: StyleJob | None = None
        self.standby: EngineProcess | None = None  # a warm engine, waiting for the next run
        self.last_result: JobResult | None = None
        self.stopping = False  # the painter pressed "Finish now" or "Cancel" during this run
        self.cancelling = False  # the painter pressed "Cancel" during this run
        self.where = ""  # " on the GPU" / " on the CPU", once the engine has said (its start event)
        # A target given by the caller stays; otherwise Stylise takes Krita's active layer then.
        self._pinned = document is not None or node is not None
        self._closing = False  # closed, or its window is going: no new warm engine
        self._stopped = False  # its window is going or Krita is quitting: nothing more to show
        self._closed_mid_run = False  # closed while a run went on: its end must reach the painter
        self._engine_missing = ""  # what the message line says of an engine that is not set up
        self.run_started = time.monotonic()  # when Stylise was pressed, for the progress bar
        self._open_images: dict = {}  # OPEN_IMAGE entry -> the Document it stands for
        self._open_image_names: dict = {}  # OPEN_IMAGE entry -> its name while it was open
        self._open_image_count = 0  # entries made so far: each new one gets the next number
        self._listed: list = []  # the style lists' entries as last filled (refresh_styles)
        self._build()
        self.load_settings()

    # -- layout --------------------------------------------------------------------------------
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        self.target_label = QLabel()
        self.target_label.setWordWrap(True)
        outer.addWidget(self.target_label)

        style_box = QGroupBox("Style")
        style_row = QHBoxLayout(style_box)
        left = QVBoxLayout()
        self.style_combo = QComboBox()
        self.style_combo.setMinimumWidth(220)
        self.style_combo.currentIndexChanged.connect(self._update_thumbnail)
        self.browse_button = QPushButton("Choose image…")
        self.browse_button.clicked.connect(self.browse_style)
        left.addWidget(self.style_combo)
        left.addWidget(self.browse_button)
        # a second style blended in (the engine's second --style and --style-weights)
        blend_label = QLabel("Blend with")
        blend_label.setToolTip(BLEND_TIP)
        self.blend_combo = QComboBox()
        self.blend_combo.setToolTip(BLEND_TIP)
        self.blend_combo.currentIndexChanged.connect(self._update_mix)
        self.blend_combo.currentIndexChanged.connect(self._update_blend_thumbnail)
        self.blend_browse_button = QPushButton("Choose image…")
        self.blend_browse_button.setToolTip(BLEND_BROWSE_TIP)
        self.blend_browse_button.clicked.connect(self.browse_blend_style)
        self.mix_spin = QSpinBox()
        self.mix_spin.setRange(10, 90)
        self.mix_spin.setSingleStep(10)
        self.mix_spin.setSuffix(" %")
        self.mix_spin.setValue(50)
        self.mix_spin.setToolTip(MIX_TIP)
        mix_label = QLabel("Mix")
        mix_label.setToolTip(MIX_TIP)
        mix_label.setBuddy(self.mix_spin)
        blend_row = QHBoxLayout()
        blend_row.addWidget(self.blend_browse_button, 1)
        blend_row.addWidget(mix_label)
        blend_row.addWidget(self.mix_spin)
        blend_controls = QVBoxLayout()
        blend_controls.addWidget(self.blend_combo)
        blend_controls.addLayout(blend_row)
        self.blend_thumbnail = QLabel()  # the second style, smaller; empty for Nothing (one style)
        self.blend_thumbnail.setFixedSize(BLEND_THUMB, BLEND_THUMB)
        self.blend_thumbnail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        blend_box = QHBoxLayout()
        blend_box.addLayout(blend_controls, 1)
        blend_box.addWidget(self.blend_thumbnail)
        left.addSpacing(6)
        left.addWidget(blend_label)
        left.addLayout(blend_box)
        left.addStretch(1)
        self.thumbnail = QLabel()
        self.thumbnail.setFixedSize(THUMB, THUMB)
        self.thumbnail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        style_row.addLayout(left, 1)
        style_row.addWidget(self.thumbnail)
        outer.addWidget(style_box)

        form = QFormLayout()
        self.source_combo = QComboBox()
        self.source_combo.addItem("This layer", "layer")
        self.source_combo.addItem("The whole image (as you see it)", "image")
        self.source_combo.setToolTip(REPAINT_TIP)
        self.source_combo.currentIndexChanged.connect(self._show_target)
        form.addRow("Repaint", self.source_combo)
        self.strength_spin = QDoubleSpinBox()
        self.strength_spin.setRange(0.1, 10.0)
        self.strength_spin.setSingleStep(0.1)
        self.strength_spin.setDecimals(2)
        self.strength_spin.setToolTip("How much style: 1 = the preset's balance, 2 = twice as much style")
        form.addRow("Strength", self.strength_spin)
        self.preset_combo = QComboBox()
        for name, label, hint in PRESETS:
            self.preset_combo.addItem(label, name)
            self.preset_combo.setItemData(self.preset_combo.count() - 1, hint, Qt.ItemDataRole.ToolTipRole)
        form.addRow("Quality", self.preset_combo)
        self.preserve_check = QCheckBox("Keep your colours (take only brush strokes and texture)")
        form.addRow("Colours", self.preserve_check)
        self.stroke_combo = QComboBox()
        for label, scale in STROKE_SIZES:
            self.stroke_combo.addItem(label if scale == 1.0 else f"{label} (×{scale:g})", scale)
        self.stroke_combo.setToolTip(STROKE_SIZE_TIP)
        form.addRow("Stroke size", self.stroke_combo)
        self.start_combo = QComboBox()
        self.start_combo.addItem("Your picture", "content")
        self.start_combo.addItem("Noise", "noise")
        self.start_combo.setToolTip(START_FROM_TIP)
        self.seed_spin = QSpinBox()  # only noise has a seed: a run from the layer has no chance in it
        self.seed_spin.setRange(0, 2_147_483_647)
        self.seed_spin.setPrefix("seed ")
        self.seed_spin.setToolTip("Each seed gives a different picture; the same seed and options, the same one")
        self.start_combo.currentIndexChanged.connect(self._update_seed)
        start_row = QHBoxLayout()
        start_row.addWidget(self.start_combo, 1)
        start_row.addWidget(self.seed_spin)
        form.addRow("Start from", start_row)
        self.size_combo = QComboBox()
        self.size_combo.addItem("Preset default", 0)
        for size in WORKING_SIZES:
            self.size_combo.addItem(f"{size} px", size)
        self.size_combo.setToolTip(WORKING_SIZE_TIP)
        form.addRow("Working size", self.size_combo)
        self.full_res_check = QCheckBox("Refine up to its own pixel size, in tiles (slower)")
        self.full_res_check.setToolTip(FULL_RESOLUTION_TIP)
        form.addRow("Full resolution", self.full_res_check)
        outer.addLayout(form)

        engine_box = QGroupBox("Engine")
        engine_form = QFormLayout(engine_box)
        self.engine_python_edit = QLineEdit()
        self.engine_python_edit.setPlaceholderText("set by the installer")
        engine_form.addRow("Python", self.engine_python_edit)
        self.engine_weights_edit = QLineEdit()
        self.engine_weights_edit.setPlaceholderText("set by the installer")
        engine_form.addRow("VGG19 weights", self.engine_weights_edit)
        outer.addWidget(engine_box)

        progress_row = QHBoxLayout()
        progress_col = QVBoxLayout()
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 100)
        self.progress_bar.setValue(0)
        self.eta_label = QLabel("")
        self.message_label = QLabel("")
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # what went wrong in the engine's own words (and its last lines of stderr or a traceback),
        # for whoever reports it: folded away under the painter's one-line message
        self.details_button = QToolButton()
        self.details_button.setText("Details")
        self.details_button.setCheckable(True)
        self.details_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.details_button.setArrowType(Qt.ArrowType.RightArrow)
        self.details_button.toggled.connect(self._toggle_details)
        self.details_text = QPlainTextEdit()
        self.details_text.setReadOnly(True)
        self.details_text.setMaximumHeight(120)
        progress_col.addWidget(self.progress_bar)
        progress_col.addWidget(self.eta_label)
        progress_col.addWidget(self.message_label)
        progress_col.addWidget(self.details_button)
        progress_col.addWidget(self.details_text)
        progress_col.addStretch(1)
        self._show_details("")
        self.preview_label = QLabel()
        self.preview_label.setFixedSize(THUMB, THUMB)
        self.preview_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.larger_button = QPushButton("Larger…")
        self.larger_button.setToolTip("See the preview larger, in a window of its own that follows the run")
        self.larger_button.setEnabled(False)  # until there is a preview
        self.larger_button.clicked.connect(self.show_larger_preview)
        self.last_preview: QImage | None = None
        self.preview_window: QDialog | None = None
        preview_col = QVBoxLayout()
        preview_col.addWidget(self.preview_label)
        preview_col.addWidget(self.larger_button)
        progress_row.addLayout(progress_col, 1)
        progress_row.addLayout(preview_col)
        outer.addLayout(progress_row)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.run_button = QPushButton("Stylise")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.start_run)
        self.finish_button = QPushButton("Finish now")
        self.finish_button.setEnabled(False)
        self.finish_button.setToolTip(FINISH_TIP)
        self.finish_button.clicked.connect(self.finish_run)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_run)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.close)
        for button in (self.run_button, self.finish_button, self.cancel_button, self.close_button):
            buttons.addWidget(button)
        outer.addLayout(buttons)

    # -- settings ------------------------------------------------------------------------------
    def _style_items(self) -> list[tuple[str, str]]:
        """The styles both lists offer: the recent ones that still exist, the samples, then the
        images open in Krita (last, so that none of them is ever chosen for the painter)."""
        items, seen = [], set()
        for path in self.settings.get_list("recent_styles"):
            if os.path.isfile(path) and path not in seen:
                seen.add(path)
                items.append((f"{style_label(path)} (recent)", path))
        for path in bundled_styles():
            if str(path) not in seen:
                seen.add(str(path))
                items.append((f"{style_label(path)} (sample)", str(path)))
        for entry, document in self._list_open_images().items():
            if document_is_open(document):
                self._open_image_names[entry] = style_name(document)
                items.append((f"{self._open_image_names[entry]} (open image)", entry))
            else:
                items.append((f"{self._open_image_names.get(entry) or 'An image'} (closed)", entry))
        return items

    def _list_open_images(self) -> dict:
        """The images open in Krita now, each under the entry it had before (so that a choice
        survives refilling the lists) or a new one; and one closed since but still chosen, so that
        Stylise says so instead of running with another style the painter did not choose."""
        try:
            from krita import Krita

            documents = Krita.instance().documents()
        except ImportError:  # outside Krita (tests/qt6)
            documents = []
        known, listed = self._open_images, {}
        for document in documents:
            entry = next((e for e, d in known.items() if d == document), None)
            if entry is None:
                self._open_image_count += 1
                entry = f"{OPEN_IMAGE}{self._open_image_count}"
            listed[entry] = document
        for entry in (self.style_path(), self.blend_style_path()):
            if entry in known and entry not in listed:
                listed[entry] = known[entry]
        self._open_images = listed
        return listed

    def _chosen(self, combo: QComboBox):
        """The style ``combo`` shows: a file's path, an open image's Document, or "" (Nothing)."""
        data = str(combo.currentData() or "")
        return self._open_images.get(data, "") if data.startswith(OPEN_IMAGE) else data

    def refresh_styles(self) -> None:
        """Refill both lists, keeping their choices, when images were opened or closed in Krita
        meanwhile (only then: an open image's thumbnail is made from its whole canvas); a chosen
        open image's thumbnail is made again anyway, as the painter may have painted on it. A
        chosen image that was closed stays, marked closed, until another style is chosen."""
        items = self._style_items()  # once, while both lists still show their choices
        if items != self._listed:
            self._fill_styles(self.style_path(), items)
            self._fill_blend_styles(self.blend_style_path(), items)
            return
        if is_open_image(self._chosen(self.style_combo)):
            self._update_thumbnail()
        if is_open_image(self._chosen(self.blend_combo)):
            self._update_blend_thumbnail()

    def _fill_combo(self, combo: QComboBox, selected: str, first: int, items: list | None = None) -> None:
        """Fill ``combo`` (after its first ``first`` items) with the styles, ``selected`` chosen;
        a chosen file that is not among them comes first, one that no longer exists is not chosen."""
        combo.blockSignals(True)
        # made before emptying the list: a closed image is kept while chosen
        self._listed = self._style_items() if items is None else items
        while combo.count() > first:
            combo.removeItem(first)
        for text, path in self._listed:
            combo.addItem(text, path)
        if selected and combo.findData(selected) < 0 and os.path.isfile(selected):
            combo.insertItem(first, style_label(selected), selected)
        index = combo.findData(selected) if selected else 0
        combo.setCurrentIndex(max(0, index))
        combo.blockSignals(False)

    def _fill_styles(self, selected: str = "", items: list | None = None) -> None:
        self._fill_combo(self.style_combo, selected, 0, items)
        self._update_thumbnail()

    def _fill_blend_styles(self, selected: str = "", items: list | None = None) -> None:
        """Nothing (one style), then the same styles as the first list."""
        if self.blend_combo.count() == 0:
            self.blend_combo.addItem(NO_BLEND, "")
        self._fill_combo(self.blend_combo, selected, 1, items)
        self._update_mix()
        self._update_blend_thumbnail()

    def load_settings(self) -> None:
        s = self.settings
        self._fill_styles(s.get("style", ""))
        self._fill_blend_styles(s.get("blend_style", ""))  # a file that is gone: Nothing
        self.mix_spin.setValue(int(round(100 * _float(s.get("blend_mix", "0.5"), 0.5))))
        self.source_combo.setCurrentIndex(max(0, self.source_combo.findData(s.get("source", "layer"))))
        self.strength_spin.setValue(_float(s.get("strength", "1.0"), 1.0))
        preset = s.get("preset", DEFAULT_PRESET)
        self.preset_combo.setCurrentIndex(max(0, self.preset_combo.findData(preset)))
        self.preserve_check.setChecked(s.get("preserve_colors", "false") == "true")
        stroke = self.stroke_combo.findData(_float(s.get("style_scale", "1"), 1.0))
        self.stroke_combo.setCurrentIndex(stroke if stroke >= 0 else self.stroke_combo.findData(1.0))
        self.start_combo.setCurrentIndex(max(0, self.start_combo.findData(s.get("init", "content"))))
        self.seed_spin.setValue(int(_float(s.get("seed", "0"), 0)))
        self._update_seed()
        self.size_combo.setCurrentIndex(max(0, self.size_combo.findData(int(_float(s.get("max_size", "0"), 0)))))
        self.full_res_check.setChecked(s.get("full_resolution", "false") == "true")
        self.engine_python_edit.setText(s.get("engine_python", ""))
        self.engine_weights_edit.setText(s.get("engine_weights", ""))
        installed = load_engine_config(_NoOverrides())
        if installed.python:
            self.engine_python_edit.setPlaceholderText(installed.python)
        if installed.weights:
            self.engine_weights_edit.setPlaceholderText(installed.weights)

    def save_settings(self) -> None:
        s = self.settings
        for key, entry in (("style", self.style_path()), ("blend_style", self.blend_style_path())):
            if not entry.startswith(OPEN_IMAGE):  # an open image is gone by the next session: keep the file
                s.set(key, entry)
        s.set("blend_mix", f"{self.mix_spin.value() / 100:g}")
        s.set("source", self.source_combo.currentData())
        s.set("strength", f"{self.strength_spin.value():.2f}")
        s.set("preset", self.preset_combo.currentData())
        s.set("preserve_colors", "true" if self.preserve_check.isChecked() else "false")
        s.set("style_scale", f"{self.stroke_combo.currentData():g}")
        s.set("init", self.start_combo.currentData())
        s.set("seed", str(self.seed_spin.value()))
        s.set("max_size", str(self.size_combo.currentData() or 0))
        s.set("full_resolution", "true" if self.full_res_check.isChecked() else "false")
        s.set("engine_python", clean_path(self.engine_python_edit.text()))
        s.set("engine_weights", clean_path(self.engine_weights_edit.text()))

    def options(self) -> dict:
        return {
            "style_path": self._chosen(self.style_combo),  # a path, or an open image's Document
            "source": self.source_combo.currentData(),  # "layer" or "image"
            "blend_style": self._chosen(self.blend_combo) or None,  # None: one style
            "blend_mix": self.mix_spin.value() / 100 if self.blend_style_path() else None,
            "preset": self.preset_combo.currentData(),
            "strength": float(self.strength_spin.value()),
            "preserve_colors": self.preserve_check.isChecked(),
            "style_scale": None if self.stroke_combo.currentData() == 1.0 else self.stroke_combo.currentData(),
            "init": "noise" if self._from_noise() else None,  # None: the engine's default, the layer
            "seed": int(self.seed_spin.value()) if self._from_noise() else None,
            "max_size": int(self.size_combo.currentData() or 0) or None,  # None: the preset's own
            "full_resolution": self.full_res_check.isChecked(),
        }

    def engine_config(self) -> EngineConfig:
        """The engine the Engine box's fields (as last saved) and the installer give."""
        return load_engine_config(self.settings)

    # -- style choice --------------------------------------------------------------------------
    def style_path(self) -> str:
        """The Style list's entry: a file's path, or OPEN_IMAGE and a number for an open image."""
        return str(self.style_combo.currentData() or "")

    def set_style(self, path: str) -> None:
        self._fill_styles(path)

    def browse_style(self) -> None:
        chosen = self._chosen(self.style_combo)
        start = os.path.dirname(chosen) if chosen and not is_open_image(chosen) else ""
        path, _ = QFileDialog.getOpenFileName(self, "Choose a style image", start, IMAGE_FILTER)
        if path:
            self.set_style(path)

    def blend_style_path(self) -> str:
        """The second style to blend in; "" for Nothing (one style)."""
        return str(self.blend_combo.currentData() or "")

    def set_blend_style(self, path: str) -> None:
        self._fill_blend_styles(path)

    def browse_blend_style(self) -> None:
        current = self._chosen(self.blend_combo) or self._chosen(self.style_combo)
        start = os.path.dirname(current) if current and not is_open_image(current) else ""
        path, _ = QFileDialog.getOpenFileName(self, "Choose a style image to blend with", start, IMAGE_FILTER)
        if path:
            self.set_blend_style(path)

    def _update_mix(self, *_args) -> None:
        """The mix can be set only with a style to blend with, and not while a run is going."""
        self.mix_spin.setEnabled(bool(self.blend_style_path()) and self.blend_combo.isEnabled())

    def _update_thumbnail(self, *_args) -> None:
        _show_style(self.thumbnail, self._chosen(self.style_combo))

    def _update_blend_thumbnail(self, *_args) -> None:
        """The style blended in, beside its list; nothing for Nothing (one style)."""
        style = self._chosen(self.blend_combo)
        if style:
            _show_style(self.blend_thumbnail, style)
        else:
            self.blend_thumbnail.clear()

    # -- target --------------------------------------------------------------------------------
    def refresh_target(self) -> None:
        """Take the active document and layer from Krita: when the dialog is shown, when the
        painter comes back to it, and at Stylise. The dialog stays open while the painter works,
        so the layer it was opened on may not be the one meant any more."""
        self._pinned = False
        try:
            from krita import Krita

            doc = Krita.instance().activeDocument()
            self.document, self.node = doc, (doc.activeNode() if doc else None)
        except ImportError:
            pass
        self._show_target()

    def set_target(self, document, node) -> None:
        """Style this layer, whichever is active in Krita (scripts and tests)."""
        self.document, self.node, self._pinned = document, node, True
        self._show_target()

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().changeEvent(event)
        if event.type() == QEvent.Type.ActivationChange and self.isActiveWindow() and self.job is None:
            self.refresh_styles()
            if not self._pinned:
                self.refresh_target()

    def _show_target(self, *_args) -> None:
        """Say what Stylise will repaint and where the result goes (Repaint and the selection)."""
        whole_image = self.source_combo.currentData() == "image"
        if self.document is None or (self.node is None and not whole_image):
            self.target_label.setText("Open an image." if whole_image else "Open an image and select a layer.")
            return
        sel = self.document.selection()
        selected = sel is not None and sel.width() > 0
        frame = " Animated: only the frame shown is repainted, into a layer that is not animated."
        if whole_image:
            where = "the selected part of the whole image" if selected else "the whole image"
            text = f"Repaints {where}, as you see it, into a new layer at the top."
            root = self.document.rootNode()  # None once the image is closed
            self.target_label.setText(text + (frame if root is not None and animated(root) else ""))
            return
        name = self.node.name()
        what = f"the selected part of “{name}”" if selected else f"“{name}” (what shows on the canvas)"
        text = f"Repaints {what} into a new layer above it."
        self.target_label.setText(text + (frame if animated(self.node) else ""))

    # -- running -------------------------------------------------------------------------------
    def start_run(self) -> None:
        if self.job is not None:
            return
        if not self._pinned:
            self.refresh_target()
        opts = self.options()
        self.save_settings()
        for style in (opts["blend_style"], opts["style_path"]):  # the first style stays the most recent
            if style and not is_open_image(style):
                remember_recent(self.settings, style)
        self.job = StyleJob(
            self.document,
            self.node,
            opts.pop("style_path"),
            opts.pop("preset"),
            engine=self.engine_config(),
            standby=self.standby,
            parent=self,
            **opts,
        )
        self.job.started.connect(self._on_started)
        self.job.progress.connect(self._on_progress)
        self.job.preview.connect(self._on_preview)
        self.job.waiting.connect(self._on_waiting)
        self.job.finished.connect(self._on_finished)
        self._set_running(True)
        self.message_label.setText("Starting the engine…")
        self.progress_bar.setValue(0)
        self.run_started = time.monotonic()
        self.preview_label.clear()
        self.last_preview = None
        self.larger_button.setEnabled(False)
        if self.preview_window is not None:
            self.preview_window.hide()
        self._show_details("")
        self.job.start()
        if self.job is not None and self.job.warm:
            self.standby = None  # the job owns it now

    # -- the warm engine -----------------------------------------------------------------------
    def warm_up(self) -> None:
        """Have a warm engine waiting for the next run, started with the current engine settings.

        A standby that no longer fits them (the painter changed the Engine fields) or that is
        about to exit for having waited too long is replaced. When the engine is not set up the
        message line says what is missing (unless it shows something else), so a painter fresh from
        installing the plugin alone reads it before pressing Stylise. Nothing happens while a run is going on (it would
        hold a second engine's memory for nothing; the next one starts when the run ends), nor
        once the dialog is closing."""
        if self.job is not None or self._closing:
            return
        try:
            cfg = load_engine_config(self.settings)
            cfg.check()
        except EngineNotConfigured as exc:  # said now, not first when the painter presses Stylise
            shown = self.message_label.text()
            if not shown or shown == self._engine_missing:  # never over another message (a run's end)
                self._engine_missing = str(exc)
                self.message_label.setText(self._engine_missing)
            return
        if self._engine_missing and self.message_label.text() == self._engine_missing:
            self.message_label.setText("")  # set up since (the installer, the Engine box): no longer true
        self._engine_missing = ""
        if self.standby is not None and self.standby.can_take(cfg.python, cfg.weights):
            return
        self.end_standby()
        self.standby = EngineProcess.standby(cfg.python, cfg.weights, self)
        self.standby.start()

    def end_standby(self) -> None:
        """Let the warm engine go (the dialog closes): it exits and frees its memory."""
        if self.standby is not None:
            if self.standby.is_running():
                self.standby.finished.connect(self.standby.deleteLater)  # once it has ended
                self.standby.cancel()
            else:  # it has ended already (idle timeout): its finished signal will not come again
                self.standby.deleteLater()
            self.standby = None

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self._closing = False
        self.warm_up()

    def cancel_run(self) -> None:
        if self.job is not None:
            self.stopping = self.cancelling = True
            self.finish_button.setEnabled(False)  # nothing left to finish
            self.message_label.setText("Cancelling…")
            self.job.cancel()

    def finish_run(self) -> None:
        """The painter likes the preview: stop painting and add the layer from the image as it is."""
        if self.job is not None:
            self.stopping = True
            self.finish_button.setEnabled(False)
            self.message_label.setText("Finishing: adding the layer from the image as it is now…")
            self.job.finish()

    def stop_run(self) -> None:
        """Stop a running job now and wait until the engine has ended, let the warm engine go, and
        keep the settings (its window is closing, or Krita is quitting: no close event comes then).
        No new engine starts after this."""
        self._closing = self._stopped = True
        if self.job is not None:
            self.job.stop()
        self.end_standby()
        self.save_settings()

    def _set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.finish_button.setEnabled(False)  # until the painter has seen a preview
        self.stopping = self.cancelling = False
        self.where = ""
        for widget in (
            self.source_combo,
            self.style_combo,
            self.browse_button,
            self.blend_combo,
            self.blend_browse_button,
            self.strength_spin,
            self.preset_combo,
            self.preserve_check,
            self.stroke_combo,
            self.start_combo,
            self.seed_spin,
            self.size_combo,
            self.full_res_check,
            self.engine_python_edit,
            self.engine_weights_edit,
        ):
            widget.setEnabled(not running)
        self._update_seed()
        self._update_mix()

    def _from_noise(self) -> bool:
        return self.start_combo.currentData() == "noise"

    def _update_seed(self, *_args) -> None:
        """The seed can be set only for a start from noise, and not while a run is going."""
        self.seed_spin.setEnabled(self._from_noise() and self.start_combo.isEnabled())

    def _on_started(self, event: dict) -> None:
        self.where = _device_words(str(event.get("device") or ""))

    def _on_progress(self, event: dict) -> None:
        total = max(1, int(event.get("total") or 1))
        done = int(event.get("iteration") or 0)
        elapsed = event.get("elapsed")
        if not isinstance(elapsed, (int, float)):
            elapsed = time.monotonic() - self.run_started
        self.progress_bar.setValue(
            max(self.progress_bar.value(), _percent_done(done, total, elapsed, event.get("eta")))
        )
        self.eta_label.setText(_format_eta(event.get("eta")))
        if not self.stopping:
            self.message_label.setText(f"Painting{self.where}… step {done} of {total}")

    def _on_waiting(self, text: str) -> None:
        self.finish_button.setEnabled(False)  # nothing left to finish: the result is there
        self.eta_label.setText("")
        self.message_label.setText(text)

    def show_larger_preview(self) -> None:
        """The latest preview at up to LARGE_PREVIEW pixels, in a window of its own that the next
        previews update: 160 px is too small to judge Finish now by."""
        if self.last_preview is None:
            return
        if self.preview_window is None:
            self.preview_window = QDialog(self)
            self.preview_window.setWindowTitle("Preview — Neural Style Transfer")
            QVBoxLayout(self.preview_window).addWidget(QLabel())
        self._show_larger()
        self.preview_window.show()
        self.preview_window.raise_()

    def _show_larger(self) -> None:
        label = self.preview_window.findChild(QLabel)
        image = self.last_preview
        scale = min(1.0, LARGE_PREVIEW / max(image.width(), image.height()))
        label.setFixedSize(max(1, round(image.width() * scale)), max(1, round(image.height() * scale)))
        _show_scaled(label, image)

    def _on_preview(self, path: str) -> None:
        image = QImage(path)
        if not image.isNull():
            self.last_preview = image
            self.larger_button.setEnabled(True)
            if self.preview_window is not None and self.preview_window.isVisible():
                self._show_larger()
            _show_scaled(self.preview_label, image)
            self.finish_button.setEnabled(self.job is not None and not self.stopping)

    def _on_finished(self, result: JobResult) -> None:
        self.last_result = result
        if self.job is not None:
            self.job.deleteLater()  # its process, its events and its hold on the layers go with it
        self.job = None
        self._set_running(False)
        self.eta_label.setText("")
        if result.ok:
            self.progress_bar.setValue(100)
            early = " from the image as it was when you finished" if result.finished_early else ""
            self.message_label.setText(f"Done: added the layer “{result.layer.name()}”{early}.")
        else:
            self.progress_bar.setValue(0)
            self.message_label.setText(result.message)
            self._show_details(result.details)
        closed, self._closed_mid_run = self._closed_mid_run and not self.isVisible(), False
        if self.isVisible():
            self.warm_up()  # for the next run
        elif closed and not self._stopped:  # the run went on after Close: the painter must hear of it
            if result.ok:
                _tell_in_view(self.message_label.text(), self.document)
            elif result.code not in ("cancelled", "document_closed"):  # not news to the painter who did it
                self.show()  # the message, where the painter can read it, and a warm engine again
                self.raise_()

    def _show_details(self, text: str) -> None:
        """Offer ``text`` behind the Details button (folded); no button when there is none."""
        self.details_text.setPlainText(text)
        self.details_button.setChecked(False)
        self.details_button.setVisible(bool(text))
        self._toggle_details(False)

    def _toggle_details(self, shown: bool) -> None:
        """Unfold or fold the details; the dialog grows to make room rather than squeezing the
        message above them, and gives the room back when they are folded."""
        self.details_text.setVisible(shown)
        self.details_button.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        if self.isVisible():
            self.layout().activate()  # the size hints below must count the details as now shown or hidden
            self.resize(self.width(), self.sizeHint().height() if shown else self.minimumSizeHint().height())

    def _wind_down(self) -> None:
        """Closing, by the Close button, the window's button or Esc: keep the settings and let the
        warm engine go. A run goes on (Cancel stops it): minutes of painting are not thrown away
        because the dialog was in the way. Its layer is added when it is done, with a note in
        Krita's canvas; a failure opens the dialog again with its message."""
        self._closing = True
        self._closed_mid_run = self.job is not None and not self.cancelling  # a Cancel under way: let it end unseen
        self.save_settings()
        self.end_standby()

    def reject(self) -> None:
        """Esc: QDialog hides itself here without a close event, so wind down as closing does."""
        self._wind_down()
        super().reject()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self._wind_down()
        super().closeEvent(event)


class _NoOverrides:
    """Settings stand-in that hides the dialog's overrides (to show the installed defaults)."""

    def get(self, key: str, default: str = "") -> str:
        return default


def _percent_done(done: int, total: int, elapsed: float, eta) -> int:
    """How far the run is, in per cent of its time: the time so far (the engine's, else since
    Stylise) over that plus the engine's estimate of the rest, which weighs each step by its
    pixels. Counting steps would run ahead with Full resolution, whose last steps at the full
    size are the slow ones. Steps count until the engine gives an estimate. Never 100 before the
    end."""
    if isinstance(eta, (int, float)) and eta >= 0 and elapsed > 0:
        fraction = elapsed / (elapsed + eta)
    else:
        fraction = done / total
    return min(99, int(100 * fraction))


def _tell_in_view(text: str, document) -> bool:
    """Show ``text`` for a few seconds over the painter's canvas (Krita's floating message): in
    the active view if it shows ``document``, else in a view that does; nothing where there is
    none (a script, the test runner). Whether it was shown."""
    try:
        from krita import Krita

        window = Krita.instance().activeWindow()
        views = [window.activeView()] + list(window.views()) if window is not None else []
        view = next((v for v in views if v is not None and v.document() == document), None)
        if view is not None:
            view.showFloatingMessage(f"Neural Style Transfer: {text}", QIcon(), 6000, 1)
            return True
    except Exception:  # noqa: BLE001 - a note that cannot be shown is no reason for a traceback
        pass
    return False


def _device_words(device: str) -> str:
    """Where the engine computes, for the progress line: a painter with a GPU sees whether it is
    used (the engine leaves a run to the CPU when its GPU fails a first test, docs/protocol.md)."""
    if device.startswith("GPU"):
        return " on the GPU"
    return " on the CPU" if device == "CPU" else ""


def _show_style(label: QLabel, style) -> None:
    """Show the style (an image file's path, or an image open in Krita) in ``label``; "no image"
    when there is none or it cannot be read."""
    if is_open_image(style):
        size = label.size()
        image = style.thumbnail(size.width(), size.height()) if document_is_open(style) else QImage()
    else:
        image = QImage(style) if style else QImage()
    if image.isNull():
        label.setText("no image")  # a QLabel shows text or a picture: this takes away the last one
        return
    _show_scaled(label, image)


def _show_scaled(label: QLabel, image: QImage) -> None:
    """Show ``image`` in ``label`` scaled to fit the label's (fixed) size, keeping its proportions,
    in the screen's own pixels: on a HiDPI screen (device pixel ratio 2) at twice the size, so the
    preview the painter judges Finish now by is sharp, not blown up."""
    size, ratio = label.size(), label.devicePixelRatioF()
    scaled = image.scaled(
        round(size.width() * ratio),
        round(size.height() * ratio),
        Qt.AspectRatioMode.KeepAspectRatio,
        Qt.TransformationMode.SmoothTransformation,
    )
    pixmap = QPixmap.fromImage(scaled)
    pixmap.setDevicePixelRatio(ratio)
    label.setPixmap(pixmap)


def _float(text, default: float) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return default
