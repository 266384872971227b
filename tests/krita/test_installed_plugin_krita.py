"""The installer's result, loaded by the real Krita GUI (under Xvfb): the plugin is found and
enabled, its action exists, it styles a layer in a real view, and one Undo removes the layer."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from krita_helpers import HERE, ROOT, STYLE, _need, engine_python, isolated_env, require_weights

pytestmark = pytest.mark.krita
INSTALL = ROOT / "installer" / "install.py"


def run_krita_gui(env: dict, out: Path, timeout: float = 150) -> dict:
    xvfb = shutil.which("xvfb-run")
    if not shutil.which("krita") or not xvfb:
        _need("krita and xvfb-run are needed for this test", "NST_REQUIRE_KRITA")
    proc = subprocess.Popen(
        [xvfb, "-a", "-s", "-screen 0 1280x800x24", "krita", "--nosplash"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    facts = {}
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if out.exists():
                facts = json.loads(out.read_text())
                if facts.get("done"):
                    break
            time.sleep(0.5)
        try:
            proc.wait(timeout=15)  # the self-test asks Krita to quit
        except subprocess.TimeoutExpired:
            pass
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
    if out.exists():  # Krita may have quit between two polls
        facts = json.loads(out.read_text())
    if not facts.get("done"):
        raise AssertionError(
            f"Krita (exit {proc.returncode}) did not finish the self-test: {facts}\n{proc.stderr.read()[-3000:]}"
        )
    return facts


@pytest.fixture(scope="module")
def installed_run(tmp_path_factory):
    weights = require_weights()
    base = tmp_path_factory.mktemp("krita-gui")
    env = isolated_env(base)
    env.pop("QT_QPA_PLATFORM")  # the GUI runs on Xvfb's X server
    home = Path(env["HOME"])
    kritarc = home / ".config" / "kritarc"
    kritarc.write_text("[python]\nenable_nst_selftest=true\n")
    install = subprocess.run(
        [sys.executable, str(INSTALL), "--engine-python", engine_python(), "--weights", str(weights)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    pykrita = home / ".local" / "share" / "krita" / "pykrita"
    shutil.copy(HERE / "selftest_plugin" / "nst_selftest.desktop", pykrita)
    shutil.copytree(HERE / "selftest_plugin" / "nst_selftest", pykrita / "nst_selftest")
    out = base / "selftest.json"
    env.update(NST_SELFTEST_OUT=str(out), NST_SELFTEST_STYLE=str(STYLE))
    for key in ("SCREENSHOTS", "CONTENT", "ITERATIONS", "MAX_SIZE"):  # for the README's screenshots
        if os.environ.get(f"NST_SELFTEST_{key}"):
            env[f"NST_SELFTEST_{key}"] = os.environ[f"NST_SELFTEST_{key}"]
    env["PYTHONPATH"] = str(ROOT)  # only for the engine interpreter of a dev checkout
    facts = run_krita_gui(env, out)
    facts["pykrita"] = str(pykrita)
    facts["kritarc"] = kritarc.read_text()
    return facts


@pytest.mark.weights
def test_krita_loads_the_installed_plugin(installed_run):
    facts = installed_run
    assert "error" not in facts, facts.get("error")
    assert facts["plugin_file"] and facts["plugin_file"].startswith(facts["pykrita"])
    assert "NeuralStyleExtension" in facts["extensions"]
    assert facts["action_text"] == "Neural Style Transfer…"
    assert "enable_neural_style=true" in facts["kritarc"]


@pytest.mark.weights
def test_one_undo_removes_the_new_layer(installed_run):
    facts = installed_run
    assert "error" not in facts, facts.get("error")
    assert facts["new_layer"] == "Starry Night"
    assert facts["layers_after"] == facts["layers_before"] + ["Starry Night"] or (
        len(facts["layers_after"]) == len(facts["layers_before"]) + 1
    )
    assert facts["layers_after_undo"] == facts["layers_before"]
    assert facts["source_identical"]
