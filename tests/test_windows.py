"""What Windows does differently, tested where Linux can show it: a quoted path pasted into the
dialog, a file that cannot be replaced for a moment, and a stdout whose encoding is a code page.
(The plugin's UTF-8 pipe to the engine is tested under PyQt6, tests/qt6; a preview that cannot be
written at all, in test_cli_run.py.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import engine_command

PLUGIN_DIR = Path(__file__).resolve().parent.parent / "plugin"
if str(PLUGIN_DIR) not in sys.path:
    sys.path.insert(0, str(PLUGIN_DIR))

from neural_style import config  # noqa: E402 - needs PLUGIN_DIR on sys.path


@pytest.mark.parametrize(
    "typed, path",
    [
        ('"C:\\Program Files\\Krita Neural Style\\python.exe"', "C:\\Program Files\\Krita Neural Style\\python.exe"),
        ('  "C:\\Users\\Zoë\\vgg19.h5"\n', "C:\\Users\\Zoë\\vgg19.h5"),  # pasted with a line break
        ('" /home/zoe/vgg19.h5 "', "/home/zoe/vgg19.h5"),
        ("  /home/zoe/vgg19.h5  ", "/home/zoe/vgg19.h5"),
        ('""', ""),
        ('"', '"'),  # not a pair: left as typed, to be reported as not found
        ('"C:\\a.exe', '"C:\\a.exe'),
        ("'/home/zoe/python3'", "'/home/zoe/python3'"),  # Explorer puts double quotes only
        ("", ""),
    ],
)
def test_a_pasted_path_loses_its_quotes_and_spaces(typed, path):
    assert config.clean_path(typed) == path


class _Fields:
    """The dialog's stored Engine fields, as Krita's settings hand them back."""

    def __init__(self, **values: str) -> None:
        self.values = values

    def get(self, key: str, default: str = "") -> str:
        return self.values.get(key, default)


def test_the_engine_fields_are_used_without_quotes(tmp_path, monkeypatch):
    """As stored by a dialog that did not clean them yet, or as set by hand."""
    monkeypatch.setenv("NST_ENGINE_CONFIG", str(tmp_path / "none.json"))
    monkeypatch.delenv("NST_ENGINE_PYTHON", raising=False)
    monkeypatch.delenv("NST_VGG19_WEIGHTS", raising=False)
    python = tmp_path / "Krita Engine" / "python.exe"
    python.parent.mkdir()
    python.write_text("")
    fields = _Fields(engine_python=f' "{python}" ', engine_weights='"D:\\weights\\vgg19.h5"')
    cfg = config.load_engine_config(fields)
    assert (cfg.python, cfg.python_from) == (str(python), config.FROM_FIELD)
    assert (cfg.weights, cfg.weights_from) == ("D:\\weights\\vgg19.h5", config.FROM_FIELD)
    cfg.check()  # the Python is found
    blank = config.load_engine_config(_Fields(engine_python='""', engine_weights="  "))
    assert blank.python == blank.python_from == blank.weights == ""  # nothing: the installer's, if any


def test_a_file_held_for_a_moment_is_replaced_when_it_is_let_go(tmp_path, monkeypatch):
    """On Windows a file another program has open (Krita reading the last preview, a virus
    scanner) cannot be replaced: the rename is refused with PermissionError until it is let go.
    `save_atomic` tries the output again for a moment; after that the error is the caller's, and
    no temporary file is left either way. A preview is tried once: the next preview is the retry,
    and retrying each one would hold the run up for as long as the file is held."""
    from nst_engine import images

    refusals = []
    replace = os.replace

    def held(times):
        def flaky_replace(source, target):
            if len(refusals) < times:
                refusals.append(target)
                raise PermissionError(13, "The process cannot access the file", str(target))
            replace(source, target)

        return flaky_replace

    image = images.RasterImage(np.full((16, 16, 3), 128, np.float32))
    path = tmp_path / "preview.png"
    monkeypatch.setattr(images.os, "replace", held(images.REPLACE_TRIES - 1))
    images.save_atomic(image, path)
    assert path.is_file() and len(refusals) == images.REPLACE_TRIES - 1
    refusals.clear()
    path.write_bytes(b"the last preview")
    monkeypatch.setattr(images.os, "replace", held(images.REPLACE_TRIES))
    with pytest.raises(PermissionError):
        images.save_atomic(image, path)
    assert len(refusals) == images.REPLACE_TRIES
    assert path.read_bytes() == b"the last preview" and os.listdir(tmp_path) == ["preview.png"]
    refusals.clear()
    monkeypatch.setattr(images.os, "replace", held(1))
    with pytest.raises(PermissionError):
        images.save_atomic(image, path, quick=True)
    assert len(refusals) == 1 and path.read_bytes() == b"the last preview" and os.listdir(tmp_path) == ["preview.png"]


@pytest.mark.weights
def test_a_path_the_stdout_encoding_cannot_hold_is_printed_escaped(weights_path, tmp_path):
    """`nst-engine weights path > file.txt` in cmd.exe: a redirected stdout has the system's code
    page (cp1252 or the like), which has no "日本"; the path comes out escaped, not as a traceback."""
    link = tmp_path / "日本" / "vgg19.h5"
    link.parent.mkdir()
    link.symlink_to(weights_path)
    result = subprocess.run(
        engine_command("weights", "path", "--weights", link),
        capture_output=True,
        env={**os.environ, "PYTHONIOENCODING": "cp1252:strict"},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr.decode("cp1252", "replace")
    assert b"Traceback" not in result.stderr
    assert result.stdout.decode("cp1252").strip() == str(link).replace("日本", "\\u65e5\\u672c")
