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

PLUGIN_NAME = "neural_style"
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


WORKING_SIZES = [256, 384, 512, 768, 1024, 1536]
"""The dialog's working-size choices (``--max-size``), besides the preset's own (preview 256 px,
balanced and tutorial 512 px)."""


class EngineNotConfigured(Exception):
    """No usable engine interpreter: the message says how to fix it."""


@dataclass
class EngineConfig:
    python: str = ""
    weights: str = ""
    source: str = ""  # where the values came from, for messages

    def check(self) -> None:
        if not self.python:
            raise EngineNotConfigured(
                "The style transfer engine is not set up. Run the installer "
                "(python3 installer/install.py) or choose the engine's Python in the dialog's "
                "Engine settings."
            )
        if not (Path(self.python).is_file() or shutil.which(self.python)):
            raise EngineNotConfigured(
                f"The engine's Python was not found at {self.python} ({self.source}). Run the "
                "installer again or choose the engine's Python in the dialog's Engine settings."
            )


def config_file() -> Path:
    """The installer's engine config: ``$NST_ENGINE_CONFIG`` or ``<pykrita>/neural_style_engine.json``."""
    env = os.environ.get("NST_ENGINE_CONFIG")
    if env:
        return Path(env)
    return PACKAGE_DIR.parent / CONFIG_FILE_NAME


def read_config_file(path: Path | None = None) -> dict:
    path = path or config_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def load_engine_config(settings: Settings | None = None) -> EngineConfig:
    """Settings override > ``$NST_ENGINE_PYTHON``/``$NST_VGG19_WEIGHTS`` > installer's file."""
    settings = settings or Settings()
    cfg = EngineConfig()
    data = read_config_file()
    if data.get("python"):
        cfg.python, cfg.source = str(data["python"]), f"from {config_file()}"
    if data.get("weights"):
        cfg.weights = str(data["weights"])
    if os.environ.get("NST_ENGINE_PYTHON"):
        cfg.python, cfg.source = os.environ["NST_ENGINE_PYTHON"], "from $NST_ENGINE_PYTHON"
    if os.environ.get("NST_VGG19_WEIGHTS"):
        cfg.weights = os.environ["NST_VGG19_WEIGHTS"]
    if settings.get("engine_python"):
        cfg.python, cfg.source = settings.get("engine_python"), "from the plugin's settings"
    if settings.get("engine_weights"):
        cfg.weights = settings.get("engine_weights")
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
