"""Shared fixtures: small sample images, the real VGG19 weights, and the engine as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nst_engine import tensorflow_env

tensorflow_env.prepare()  # tests that load TensorFlow in this process get the engine's settings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def require_weights() -> Path:
    """The verified weights file; a failure under NST_REQUIRE_WEIGHTS=1 (CI), else a skip."""
    from nst_engine import weights
    from nst_engine.errors import WeightsError

    try:
        return weights.locate()
    except WeightsError as error:
        if os.environ.get("NST_REQUIRE_WEIGHTS") == "1":
            pytest.fail(f"NST_REQUIRE_WEIGHTS=1 but {error}")
        pytest.skip(f"VGG19 weights not available: {error}")


@pytest.fixture(scope="session")
def weights_path() -> Path:
    return require_weights()


@pytest.fixture
def pretend_cpu(monkeypatch):
    """Make the engine believe it runs on a CPU with these flags, with or without oneDNN."""
    from nst_engine import cpu

    def pretend(onednn: bool, flags) -> None:
        monkeypatch.setattr(cpu, "onednn_enabled", lambda: onednn)
        monkeypatch.setattr(cpu, "flags", lambda: frozenset(flags))

    return pretend


@pytest.fixture(scope="session")
def small_images(tmp_path_factory) -> dict[str, Path]:
    """The bundled samples at 128 px on the longest side (tests run on 2 CPU cores)."""
    folder = tmp_path_factory.mktemp("samples")
    paths = {}
    for name in ("tubingen", "starry_night", "the_scream"):
        image = Image.open(EXAMPLES / f"{name}.jpg").convert("RGB")
        image.thumbnail((128, 128), Image.LANCZOS)
        paths[name] = folder / f"{name}.png"
        image.save(paths[name])
    return paths


@dataclass
class EngineResult:
    returncode: int
    stdout: str
    stderr: str
    events: list[dict] = field(default_factory=list)

    @property
    def last(self) -> dict:
        return self.events[-1]

    def of(self, kind: str) -> list[dict]:
        return [event for event in self.events if event["event"] == kind]


def engine_command(*args: str | os.PathLike) -> list[str]:
    return [sys.executable, "-m", "nst_engine", *map(str, args)]


def parse_events(stdout: str) -> list[dict]:
    """Every stdout line must be one JSON object: that is the protocol."""
    return [json.loads(line) for line in stdout.splitlines()]


def run_engine(*args: str | os.PathLike, env: dict | None = None, timeout: float = 300) -> EngineResult:
    result = subprocess.run(
        engine_command(*args),
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    events = parse_events(result.stdout) if "json" in map(str, args) else []
    return EngineResult(result.returncode, result.stdout, result.stderr, events)


def read_rgba(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGBA"), dtype=np.float32)
