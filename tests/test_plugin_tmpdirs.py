"""What ``neural_style.job.remove_stale_tmpdirs`` leaves alone, without Krita (the Krita test
``stale_tmpdirs`` covers removing a crashed Krita's folder and keeping a running or recent one's)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

if not (importlib.util.find_spec("PyQt5") or importlib.util.find_spec("PyQt6")):
    if os.environ.get("NST_REQUIRE_PYQT6") == "1":
        pytest.fail("NST_REQUIRE_PYQT6=1 but neither PyQt6 nor PyQt5 is installed", pytrace=False)
    pytest.skip("neural_style.job imports Qt (PyQt5 or PyQt6)", allow_module_level=True)

PLUGIN_DIR = Path(__file__).resolve().parent.parent / "plugin"
if str(PLUGIN_DIR) not in sys.path:
    sys.path.insert(0, str(PLUGIN_DIR))

from neural_style import job  # noqa: E402 - needs PLUGIN_DIR on sys.path

TWO_DAYS_AGO = time.time() - 2 * 24 * 3600


@pytest.fixture
def ended():
    """A process that has ended (held by its Popen, so that Windows does not reuse its id)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process


@pytest.fixture
def tmp(tmp_path, monkeypatch):
    """tempfile's folder, for remove_stale_tmpdirs() only to look in."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def old_folder(path: Path) -> Path:
    (path / "inside").mkdir(parents=True)
    os.utime(path, (TWO_DAYS_AGO, TWO_DAYS_AGO))
    return path


def test_a_process_that_ended_is_not_alive(ended):
    """On Windows this is kernel32's answer (OpenProcess, GetExitCodeProcess)."""
    assert job._alive(os.getpid())
    assert not job._alive(ended.pid)


def test_only_names_of_our_making_are_removed(tmp, ended):
    stale = old_folder(tmp / f"krita-neural-style-{ended.pid}-x1y2z3_a")
    others = [
        old_folder(tmp / name)
        for name in (
            f"krita-neural-style-{ended.pid}",
            f"krita-neural-style-{ended.pid}-Upper",
            f"krita-neural-style-{ended.pid}-a.b",
            f"my-krita-neural-style-{ended.pid}-abc",
            "krita-neural-style-x-abc",
            "krita-neural-style-99999999999999999999999-abc",
        )
    ]
    job.remove_stale_tmpdirs()
    assert not stale.exists()
    assert all((path / "inside").is_dir() for path in others)


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="user ids (Windows: a temporary folder per user)")
def test_another_users_folder_is_kept(tmp, ended, monkeypatch):
    """The Krita test can only check this as root; here this user becomes another one."""
    folder = old_folder(tmp / f"krita-neural-style-{ended.pid}-abc_12")
    owner = folder.stat().st_uid
    monkeypatch.setattr(job.os, "getuid", lambda: owner + 1)
    job.remove_stale_tmpdirs()
    assert (folder / "inside").is_dir()
    monkeypatch.setattr(job.os, "getuid", lambda: owner)
    job.remove_stale_tmpdirs()
    assert not folder.exists()


@pytest.mark.skipif(os.name != "posix" or os.utime not in os.supports_follow_symlinks, reason="POSIX symbolic links")
def test_a_link_with_our_name_is_not_followed(tmp, ended, tmp_path_factory):
    """Only the link could go, never what it points to. A stale folder of ours beside it shows
    that the clean-up did look in this folder."""
    target = old_folder(tmp_path_factory.mktemp("elsewhere") / "kept")
    link = tmp / f"krita-neural-style-{ended.pid}-link_1"
    link.symlink_to(target, target_is_directory=True)
    os.utime(link, (TWO_DAYS_AGO, TWO_DAYS_AGO), follow_symlinks=False)
    stale = old_folder(tmp / f"krita-neural-style-{ended.pid}-stale_1")
    job.remove_stale_tmpdirs()
    assert not stale.exists(), "the clean-up did not run here"
    assert (target / "inside").is_dir()
