"""Where the engine lives, and the painter's remembered settings.

The installer writes ``neural_style_engine.json`` (``{"python": ..., "weights": ...}``) next to the plugin
package, in Krita's ``pykrita`` folder. The dialog's *Engine* fields override it; those overrides
are stored with Krita's own settings (``kritarc``, group ``neural_style``), like every other
remembered option.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

SETTINGS_GROUP = "neural_style"
CONFIG_FILE_NAME = "neural_style_engine.json"
PACKAGE_DIR = Path(__file__).resolve().parent
STYLES_DIR = PACKAGE_DIR / "styles"

PRESETS = [
    # (engine preset, label shown to the painter, hint)
    ("preview", "Quick preview", "256 px: a first image after 2–6 s, done in 12–32 s on a 2-core CPU"),
    ("balanced", "Balanced", "512 px, the default: 4½–13 min on a 2-core CPU, a first image within about 20 s"),
    ("tutorial", "Best (tutorial)", "512 px, the classic reference run: 25–45 min on a 2-core CPU"),
]
"""The hints give the range measured on the project's three 2-core machines (README's Presets, docs/performance.md);
Balanced's first image was measured on the slowest, the AVX2-only one."""
DEFAULT_PRESET = "balanced"
PREVIEW_EVERY = {"preview": 5, "balanced": 5}
"""Evaluations between two preview images in the dialog, where a preset differs from the usual
10: L-BFGS's image is recognisably stylised after 5 evaluations (Quick preview at 256 px and
Balanced at 512 px), so the painter sees it then and can Finish now; Best's Adam steps change the
picture slowly, so 10 of them. `request.PREVIEW_SECONDS` keeps fast GPUs from writing too many."""
DEFAULT_PREVIEW_EVERY = 10


def preview_interval(preset: str) -> int:
    """How often (in evaluations) the engine writes a preview image for this preset."""
    return PREVIEW_EVERY.get(preset, DEFAULT_PREVIEW_EVERY)


STROKE_SIZES = [("Smaller", 0.5), ("Small", 0.75), ("As painted", 1.0), ("Large", 1.5), ("Larger", 2.0)]
"""The dialog's *Stroke size* choices: ``--style-scale``, the style image's size relative to the
working size (jcjohnson/neural-style's ``-style_scale``). Above 2 a style image is mostly blown up
past its own pixels, which blurs its strokes rather than enlarging them."""

WORKING_SIZES = [256, 384, 512, 768, 1024, 1536]
"""The dialog's working-size choices (``--max-size``), besides the preset's own (preview 256 px,
balanced and tutorial 512 px)."""


class EngineNotConfigured(Exception):
    """No usable engine interpreter: the message says how to fix it."""


SMALLER_RUN = "choose a smaller Working size or turn off Full resolution, or close other programs"
"""What a painter can do when memory runs short, in the dialog's terms."""
CANCELLED = "Cancelled: nothing was changed."

ENGINE_BOX = "the dialog's Engine box"  # the dialog's QGroupBox("Engine"), with its Python and VGG19 weights fields
INSTALL_COMMAND = "py installer\\install.py" if os.name == "nt" else "python3 installer/install.py"
"""The installer, as the painter types it in the project's folder: Windows' ``python3`` is the
Microsoft Store's stub, whose Python the installer refuses."""
REINSTALL = f"run {INSTALL_COMMAND} again"
FROM_FIELD, FROM_ENV, FROM_INSTALLER = "field", "env", "installer"  # EngineConfig.python_from/weights_from


@dataclass
class EngineConfig:
    """Where the engine lives. ``python_from``/``weights_from`` say where each value came from
    (``"field"``: the dialog's Engine box, ``"env"``, ``"installer"``; ``""``: a script gave it),
    so a message can say what will actually fix it: re-running the installer cannot help while a
    field of the dialog overrides what it writes."""

    python: str = ""
    weights: str = ""
    python_from: str = ""
    weights_from: str = ""
    problem: str = ""  # the installer's config file is damaged: said when nothing else gives a Python

    def check(self) -> None:
        """Raise :class:`EngineNotConfigured` when no engine interpreter can be started."""
        if not self.python:
            if self.problem:
                raise EngineNotConfigured(self.problem)
            raise EngineNotConfigured(
                f"The style transfer engine is not set up: run the installer ({INSTALL_COMMAND}, in the "
                f"project's folder) or choose the engine's Python in {ENGINE_BOX}."
            )
        if not (Path(self.python).is_file() or shutil.which(self.python)):
            raise EngineNotConfigured(f"The engine's Python was not found at {self.python}: {self.python_advice()}.")

    def python_advice(self) -> str:
        """What fixes a wrong engine Python, for where it came from."""
        if self.python_from == FROM_FIELD:
            return f"clear the Python field in {ENGINE_BOX} to use the installed engine, or choose the right one there"
        if self.python_from == FROM_ENV:
            return f"correct $NST_ENGINE_PYTHON or unset it, or {REINSTALL}"
        if self.python_from == FROM_INSTALLER:
            return f"{REINSTALL} (it sets up the engine's Python), or choose one in {ENGINE_BOX}"
        return f"give the Python of the engine's environment (EngineConfig(python=...)), or {REINSTALL}"

    def weights_advice(self) -> str:
        """What fixes a missing or wrong weights file, for where its path came from."""
        if self.weights_from == FROM_FIELD:
            return (
                f"clear the VGG19 weights field in {ENGINE_BOX} to use the installed weights, "
                "or choose the right file there"
            )
        if self.weights_from == FROM_ENV:
            return f"correct $NST_VGG19_WEIGHTS or unset it, or {REINSTALL}"
        if self.weights_from == FROM_INSTALLER or not self.weights:
            return f"{REINSTALL}: it downloads and checks the weights"
        return f"give the path of the right file (EngineConfig(weights=...)), or {REINSTALL}"


def config_file() -> Path:
    """The installer's engine config: ``$NST_ENGINE_CONFIG`` or ``<pykrita>/neural_style_engine.json``."""
    env = os.environ.get("NST_ENGINE_CONFIG")
    if env:
        return Path(env)
    return PACKAGE_DIR.parent / CONFIG_FILE_NAME


def read_config_file(path: Path | None = None) -> dict:
    """The installer's file as a dict; ``{}`` when there is none. A file that is there but cannot
    be read or is not a JSON object raises :class:`EngineNotConfigured`: treating it as "not set
    up" would send the painter looking in the wrong place."""
    path = path or config_file()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise EngineNotConfigured(
            f"The engine settings file {path} cannot be read ({exc.strerror or exc}): {REINSTALL}."
        ) from None
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise EngineNotConfigured(
            f"The engine settings file {path} is damaged (it is not the installer's JSON): {REINSTALL}, "
            f"or choose the engine's Python in {ENGINE_BOX}."
        )
    return data


def clean_path(text: str) -> str:
    """A path as typed or pasted into a field: without the spaces around it, nor the one pair of
    double quotes that Windows' *Copy as path* puts around it (no file name can contain ``"``
    there)."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1].strip()
    return text


def load_engine_config(settings: Settings | None = None) -> EngineConfig:
    """Settings override > ``$NST_ENGINE_PYTHON``/``$NST_VGG19_WEIGHTS`` > installer's file."""
    settings = settings or Settings()
    cfg = EngineConfig()
    try:
        data = read_config_file()
    except EngineNotConfigured as exc:
        data, cfg.problem = {}, str(exc)
    if data.get("python"):
        cfg.python, cfg.python_from = str(data["python"]), FROM_INSTALLER
    if data.get("weights"):
        cfg.weights, cfg.weights_from = str(data["weights"]), FROM_INSTALLER
    if os.environ.get("NST_ENGINE_PYTHON"):
        cfg.python, cfg.python_from = os.environ["NST_ENGINE_PYTHON"], FROM_ENV
    if os.environ.get("NST_VGG19_WEIGHTS"):
        cfg.weights, cfg.weights_from = os.environ["NST_VGG19_WEIGHTS"], FROM_ENV
    # cleaned here too: the dialog stored them as typed before it cleaned them
    python, weights = clean_path(settings.get("engine_python")), clean_path(settings.get("engine_weights"))
    if python:
        cfg.python, cfg.python_from = python, FROM_FIELD
    if weights:
        cfg.weights, cfg.weights_from = weights, FROM_FIELD
    if not cfg.weights:
        cfg.weights_from = FROM_INSTALLER  # the engine's own look-up, where the installer puts them
    return cfg


class Settings:
    """Remembered options: Krita's settings when running inside Krita, QSettings otherwise."""

    def __init__(self) -> None:
        self._krita = None
        self._qsettings = None
        try:
            from krita import Krita

            self._krita = Krita.instance()
        except ImportError:
            from .qt_compat import QSettings

            self._qsettings = QSettings("krita-neural-style", "neural_style")

    def get(self, key: str, default: str = "") -> str:
        if self._krita is not None:
            value = self._krita.readSetting(SETTINGS_GROUP, key, default)
        else:
            value = self._qsettings.value(key, default)
        return default if value is None else str(value)

    def set(self, key: str, value) -> None:
        value = "" if value is None else str(value)
        if self._krita is not None:
            self._krita.writeSetting(SETTINGS_GROUP, key, value)
        else:
            self._qsettings.setValue(key, value)

    def get_list(self, key: str) -> list[str]:
        raw = self.get(key, "")
        try:
            value = json.loads(raw) if raw else []
        except ValueError:
            return []
        return [str(v) for v in value] if isinstance(value, list) else []

    def set_list(self, key: str, values: list[str]) -> None:
        self.set(key, json.dumps(list(values)))


def bundled_styles() -> list[Path]:
    return sorted(STYLES_DIR.glob("*.jpg"))


def style_label(path: str | Path) -> str:
    """``starry_night.jpg`` -> ``Starry Night``: the new layer's name and the list entry."""
    stem = Path(path).stem.replace("_", " ").replace("-", " ").strip()
    return stem.title() if stem.islower() else (stem or "Style")


def remember_recent(settings: Settings, style_path: str, keep: int = 5) -> list[str]:
    recent = [p for p in settings.get_list("recent_styles") if p != style_path]
    recent.insert(0, style_path)
    recent = recent[:keep]
    settings.set_list("recent_styles", recent)
    return recent
