"""Helpers for the tests that drive the plugin inside real Krita (``kritarunner``).

Each launch gets a private HOME, XDG folders and TMPDIR, so the user's Krita settings are never
touched and leftover temporary files are easy to see.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_DIR = ROOT / "plugin"
HERE = Path(__file__).resolve().parent
STYLE = ROOT / "plugin" / "neural_style" / "styles" / "starry_night.jpg"
CONTENT = ROOT / "examples" / "tubingen.jpg"
WEIGHTS_NAME = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"


def _need(what: str, env: str = "NST_REQUIRE_WEIGHTS"):
    if os.environ.get(env) == "1":
        pytest.fail(f"{env}=1 but {what}")
    pytest.skip(what)


def engine_python() -> str:
    """The engine's interpreter: $NST_TEST_ENGINE_PYTHON, the repo's .venv, else this Python."""
    env = os.environ.get("NST_TEST_ENGINE_PYTHON")
    if env:
        return env
    venv = ROOT / ".venv" / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    return str(venv) if venv.exists() else sys.executable


def find_weights() -> Path | None:
    """Same look-up order as the engine (docs/protocol.md), evaluated with the real HOME."""
    candidates = []
    if os.environ.get("NST_VGG19_WEIGHTS"):
        candidates.append(Path(os.environ["NST_VGG19_WEIGHTS"]))
    keras_home = os.environ.get("KERAS_HOME")
    candidates.append(Path(keras_home) / "models" / WEIGHTS_NAME if keras_home else None)
    candidates.append(Path.home() / ".keras" / "models" / WEIGHTS_NAME)
    for path in candidates:
        if path is not None and path.is_file():
            return path
    return None


def require_krita() -> str:
    exe = shutil.which("kritarunner")
    if not exe:
        _need("kritarunner is not installed (apt-get install krita)", "NST_REQUIRE_KRITA")
    return exe


def require_weights() -> Path:
    path = find_weights()
    if path is None:
        _need(f"VGG19 weights ({WEIGHTS_NAME}) not found")
    return path


def isolated_env(base: Path) -> dict:
    """Environment for a Krita process that cannot see or change the user's own Krita."""
    env = dict(os.environ)
    dirs = {
        "HOME": base / "home",
        "XDG_CONFIG_HOME": base / "home" / ".config",
        "XDG_DATA_HOME": base / "home" / ".local" / "share",
        "XDG_CACHE_HOME": base / "home" / ".cache",
        "XDG_RUNTIME_DIR": base / "runtime",
        "TMPDIR": base / "tmp",
    }
    for key, path in dirs.items():
        path.mkdir(parents=True, exist_ok=True)
        env[key] = str(path)
    os.chmod(dirs["XDG_RUNTIME_DIR"], 0o700)
    env["QT_QPA_PLATFORM"] = "offscreen"
    env.pop("NST_ENGINE_CONFIG", None)
    env.pop("NST_ENGINE_PYTHON", None)
    # the plugin package, the scenario module, and the repo (so a dev interpreter finds nst_engine)
    env["PYTHONPATH"] = os.pathsep.join([str(PLUGIN_DIR), str(HERE), str(ROOT)])
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    return env


def run_scenario_process(
    command: list[str], env: dict, tmp_path: Path, cases: list[str], weights: Path | None, timeout: int, where: str
) -> dict:
    """Run a scenario module's ``cases`` in one process started with ``command``: it reads its spec
    from $NST_SCENARIO_SPEC and writes its facts, by case name, to the spec's "out" file after each
    case. The facts; an AssertionError with the process's stderr when it stopped before a case."""
    out = tmp_path / "results.json"
    spec = {
        "cases": cases,
        "out": str(out),
        "style": str(STYLE),
        "content": str(CONTENT),
        "engine": {"python": engine_python(), "weights": str(weights) if weights else ""},
    }
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    env["NST_SCENARIO_SPEC"] = str(spec_path)
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, cwd=str(tmp_path))
    results = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    missing = [c for c in cases if c not in results]
    if missing:
        raise AssertionError(f"{where}: stopped before {missing} (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    return results


def run_scenarios(tmp_path: Path, cases: list[str], weights: Path | None, timeout: int = 240) -> dict:
    """Start kritarunner once, run ``cases`` in it, return their facts by case name."""
    exe = require_krita()
    env = isolated_env(tmp_path)
    results = run_scenario_process(
        [exe, "-s", "krita_scenarios"], env, tmp_path, cases, weights, timeout, "Krita (kritarunner)"
    )
    results["_tmpdir_entries"] = sorted(os.listdir(env["TMPDIR"]))
    return results


def case(results: dict, name: str, where: str = "inside Krita") -> dict:
    facts = results[name]
    if "scenario_error" in facts:
        pytest.fail(f"scenario {name} raised {where}:\n{facts['scenario_error']}")
    return facts
