"""The environment TensorFlow starts with: the engine's defaults, and the user's word over them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import ROOT
from nst_engine import cpu, memory, tensorflow_env

ALLOCATOR = tensorflow_env.BFC_NAME

PROBE = """
from nst_engine import tensorflow_env
tensorflow_env.prepare()
import tensorflow as tf
tf.matmul(tf.ones((64, 64)), tf.ones((64, 64)))
try:
    print("counts", tf.config.experimental.get_memory_info("CPU:0")["peak"])
except ValueError:  # the C library's malloc keeps no statistics
    print("malloc")
"""

COUNTING = {"BFC": "counts", "oneDNN": "counts", "malloc": "malloc"}
"""What the probe sees of each allocator: BFC, alone or inside oneDNN's, counts its bytes."""


def probe_allocator(env: dict[str, str]) -> str:
    """'counts' or 'malloc': whether TensorFlow's allocator for a tensor in a fresh process started
    with `env` keeps statistics (BFC, or oneDNN's, which holds one) or is the C library's malloc."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=True
    )
    return done.stdout.split()[0]


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in (ALLOCATOR, tensorflow_env.BFC_LIMIT_NAME)}


def test_tensorflow_allocates_as_prepare_decided(monkeypatch):
    """BFC where TensorFlow uses its Eigen kernels (an AVX2-only CPU); where it uses oneDNN, oneDNN's
    own allocator; `allocator()`, which the benchmarks print, names the one TensorFlow took."""
    monkeypatch.delenv(ALLOCATOR, raising=False)
    named = tensorflow_env.allocator()
    if cpu.eigen_convolutions():
        assert named == "BFC"
    elif cpu.onednn_enabled():
        assert named == "oneDNN"
    assert probe_allocator(clean_env()) == COUNTING[named]


def test_bfc_only_where_tensorflow_uses_eigen_on_a_known_cpu(pretend_cpu):
    pretend_cpu(False, {"avx2", "fma"})
    assert tensorflow_env.settings()[ALLOCATOR] == "1"
    for onednn, flags in [(True, {"avx512f", "avx512_vnni"}), (False, ())]:  # oneDNN; flags unreadable
        pretend_cpu(onednn, flags)
        assert ALLOCATOR not in tensorflow_env.settings()
        assert tensorflow_env.settings()["TF_CPP_MIN_LOG_LEVEL"] == "2"


def test_allocator_names_what_tensorflow_takes_on_each_kind_of_cpu(pretend_cpu, monkeypatch):
    monkeypatch.delenv(ALLOCATOR, raising=False)
    for onednn, flags, named in [
        (False, {"avx2", "fma"}, "BFC"),  # Eigen: the engine asks for BFC
        (True, {"avx512f", "avx512_vnni"}, "oneDNN"),  # TensorFlow's own choice, left alone
        (False, (), "malloc"),  # a CPU that cannot be read: TensorFlow's default without oneDNN
    ]:
        pretend_cpu(onednn, flags)
        assert tensorflow_env.allocator() == named


def test_the_users_setting_wins(monkeypatch):
    default = tensorflow_env.default_allocator()
    assert default == ("oneDNN" if cpu.onednn_enabled() else "malloc")
    assert probe_allocator({**clean_env(), ALLOCATOR: "0"}) == COUNTING[default]
    assert probe_allocator({**clean_env(), ALLOCATOR: "1"}) == COUNTING["BFC"]
    for value, named in [("0", default), ("1", "BFC"), ("True", "BFC"), ("false", default)]:
        monkeypatch.setenv(ALLOCATOR, value)
        assert tensorflow_env.allocator() == named


def test_prepare_only_fills_in_what_is_unset(monkeypatch):
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    monkeypatch.delenv(ALLOCATOR, raising=False)
    tensorflow_env.prepare()
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"
    assert os.environ.get(ALLOCATOR) == ("1" if cpu.eigen_convolutions() else None)


def test_allocator_limit_follows_ram_above_tensorflows_default(monkeypatch, pretend_cpu):
    pretend_cpu(False, {"avx2"})
    monkeypatch.setattr(memory, "physical_memory", lambda: 256 * memory.GIB)
    assert tensorflow_env.settings()[tensorflow_env.BFC_LIMIT_NAME] == str(256 * 1024)
    monkeypatch.setattr(memory, "physical_memory", lambda: 16 * memory.GIB)
    assert tensorflow_env.BFC_LIMIT_NAME not in tensorflow_env.settings()
    monkeypatch.setattr(memory, "physical_memory", lambda: None)
    assert tensorflow_env.BFC_LIMIT_NAME not in tensorflow_env.settings()


UNSTARTED = """
from nst_engine import conv_gradient, device, objective, optimizers, precision, run, standby, transfer, vgg19
import tensorflow as tf
threads = tf.config.threading.get_intra_op_parallelism_threads()
try:  # refused once TensorFlow's runtime has started, as GPU memory growth would be
    tf.config.threading.set_intra_op_parallelism_threads(threads + 1)
    print("unstarted")
except RuntimeError as error:
    print("started:", error)
"""


def test_importing_the_engine_does_not_start_tensorflow():
    """`device.prepare` lets TensorFlow take GPU memory as it needs it (Krita shares the
    GPU), which TensorFlow refuses once its runtime has started: so importing the engine's modules,
    which `run` and `standby` do just before it, must not start it (a tensor made at import does)."""
    done = subprocess.run(
        [sys.executable, "-c", UNSTARTED], cwd=ROOT, capture_output=True, text=True, timeout=300, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "unstarted", done.stdout


@pytest.mark.parametrize("command", ["run", "standby"])
def test_the_engine_sets_tensorflows_environment_itself(command, weights_path, small_images, tmp_path):
    """This test process already ran `prepare()` (conftest), and engines it starts inherit that:
    so the engine is started here without those settings, and must make them itself before
    TensorFlow loads. What shows it from outside: TensorFlow's info line about CPU instructions,
    which TF_CPP_MIN_LOG_LEVEL=2 hides and a user's own TF_CPP_MIN_LOG_LEVEL=0 brings back. (Lines
    TensorFlow prints before its logging starts, such as the missing CUDA driver, show either way.)"""
    from conftest import engine_command

    env = {k: v for k, v in os.environ.items() if k not in tensorflow_env.settings()}
    args = ["standby", "--weights", weights_path]  # stdin at its end: it loads, then exits
    if command == "run":
        args = ["run", "--content", small_images["tubingen"], "--style", small_images["starry_night"]]
        args += ["--max-size", "32", "--iterations", "1", "--weights", weights_path, "--progress", "none"]
        args += ["--output", tmp_path / "out.png"]

    def info_lines(extra: dict[str, str]) -> list[str]:
        done = subprocess.run(
            engine_command(*args),
            stdin=subprocess.DEVNULL,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        return [line for line in done.stderr.splitlines() if "cpu_feature_guard" in line]

    if not info_lines({"TF_CPP_MIN_LOG_LEVEL": "0"}):
        pytest.skip("this TensorFlow prints no CPU-instruction info line here: nothing to tell the setting by")
    assert info_lines({}) == []
