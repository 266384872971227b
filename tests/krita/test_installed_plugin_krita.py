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
from process_check import process_alive

pytestmark = pytest.mark.krita
INSTALL = ROOT / "installer" / "install.py"


NO_DISPLAY = "could not connect to display"
"""What Qt says when the X server xvfb-run started is not there for Krita. Seen once in CI
(2026-12-07) on a loaded machine and never again; the run is tried once more then, with the X
server's own messages (xvfb-run -e) in the failure."""


def run_krita_gui(env: dict, out: Path, timeout: float = 240) -> dict:
    xvfb = shutil.which("xvfb-run")
    if not shutil.which("krita") or not xvfb:
        _need("krita and xvfb-run are needed for this test", "NST_REQUIRE_KRITA")
    try:
        return _run_krita_once(xvfb, env, out, timeout)
    except AssertionError as failure:
        if NO_DISPLAY not in str(failure):
            raise
    out.unlink(missing_ok=True)
    return _run_krita_once(xvfb, env, out, timeout)


def _run_krita_once(xvfb: str, env: dict, out: Path, timeout: float) -> dict:
    log = out.with_suffix(".stderr.txt")  # a file, not a pipe: a full pipe would block Krita
    xvfb_log = out.with_suffix(".xvfb.txt")
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            [xvfb, "-a", "-e", str(xvfb_log), "-s", "-screen 0 1280x800x24", "krita", "--nosplash"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
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
            proc.wait(timeout=30)  # the self-test asks Krita to quit
        except subprocess.TimeoutExpired:
            pass
        # the engine that was running when Krita quit: checked before the group is killed below
        facts = json.loads(out.read_text()) if out.exists() else facts
        facts["krita_exited"] = proc.poll() is not None
        pid = facts.get("quit_pid")
        facts["quit_engine_alive_after_exit"] = process_alive(pid)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
    if out.exists():  # Krita may have quit between two polls
        facts.update(json.loads(out.read_text()))
    facts["stderr"] = log.read_text(errors="replace")
    if xvfb_log.exists():
        facts["xvfb"] = xvfb_log.read_text(errors="replace")[-2000:]
    if not facts.get("done"):
        raise AssertionError(f"Krita (exit {proc.returncode}) did not finish the self-test: {facts}")
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
    shutil.copy(HERE / "process_check.py", pykrita / "nst_selftest" / "process_check.py")  # one shared copy
    out = base / "selftest.json"
    env.update(NST_SELFTEST_OUT=str(out), NST_SELFTEST_STYLE=str(STYLE))
    for key in ("SCREENSHOTS", "CONTENT", "ITERATIONS", "MAX_SIZE", "BLEND"):  # for the README's screenshots
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
    assert facts["note_in_view"] is True, "the note on the canvas after a run that went on without the dialog"
    assert facts["layers_after"] == facts["layers_before"] + ["Starry Night"] or (
        len(facts["layers_after"]) == len(facts["layers_before"]) + 1
    )
    assert facts["layers_after_undo"] == facts["layers_before"]
    assert facts["source_identical"]


@pytest.mark.weights
def test_action_is_in_tools_scripts_and_filter_menus(installed_run):
    menus = [m.lower() for m in installed_run["menus"]]
    assert "tools/scripts" in menus, menus
    assert "filter" in menus, menus


@pytest.mark.weights
def test_layers_docker_shows_the_new_layer(installed_run):
    """What the result screenshot shows: the docker lists the new layer on top of the source."""
    rows = installed_run["docker_after"]
    assert rows and rows[0] == "Starry Night" and rows[1] == installed_run["layers_before"][-1], rows


@pytest.mark.weights
def test_quitting_krita_mid_run_ends_the_engine(installed_run):
    facts = installed_run
    assert "error" not in facts and "quit_error" not in facts, facts.get("error") or facts.get("quit_error")
    assert facts["quit_progress_seen"], "the engine should have been running when Krita quit"
    assert facts["quit_pid"] and facts["quit_tmpdir"]
    assert facts["quit_warm"] and facts["quit_pid"] == facts["quit_standby_pid"], "the dialog's warm engine ran it"
    assert facts["krita_exited"], "Krita did not exit"
    # the plugin's quit handler ends the engine and removes its files before Krita is gone
    assert facts.get("quit_engine_alive_at_quit") is False, facts
    assert facts.get("quit_tmpdir_exists_at_quit") is False, facts
    assert not facts["quit_engine_alive_after_exit"]
    assert not os.path.exists(facts["quit_tmpdir"])


@pytest.mark.weights
def test_no_plugin_traceback_in_kritas_log(installed_run):
    log = installed_run["stderr"]
    assert "Traceback" not in log or "neural_style" not in log.split("Traceback", 1)[1], log[-3000:]
