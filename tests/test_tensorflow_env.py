"""The environment TensorFlow starts with: the engine's defaults, and the user's word over them."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import ROOT
from nst_engine import cpu, memory, tensorflow_env

ALLOCATOR = tensorflow_env.BFC_NAME

PROBE = """
from nst_engine import tensorflow_env
tensorflow_env.prepare()
import tensorflow as tf
tf.matmul(tf.ones((64, 64)), tf.ones((64, 64)))
try:
    print("bfc", tf.config.experimental.get_memory_info("CPU:0")["peak"])
except ValueError:  # the C library's malloc keeps no statistics
    print("malloc")
"""


def probe_allocator(env: dict[str, str]) -> str:
    """Which allocator TensorFlow used for a tensor in a fresh process started with `env`."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=True
    )
    return done.stdout.split()[0]


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in (ALLOCATOR, tensorflow_env.BFC_LIMIT_NAME)}


def test_tensorflow_allocates_as_prepare_decided(monkeypatch):
    """BFC where TensorFlow uses its Eigen kernels (an AVX2-only CPU), malloc where it uses oneDNN;
    `allocator()`, which the benchmarks print, names the same one."""
    used = probe_allocator(clean_env())
    assert used == ("bfc" if cpu.eigen_convolutions() else "malloc")
    monkeypatch.delenv(ALLOCATOR, raising=False)
    assert tensorflow_env.allocator().lower() == used


def test_bfc_only_where_tensorflow_uses_eigen_on_a_known_cpu(pretend_cpu):
    pretend_cpu(False, {"avx2", "fma"})
    assert tensorflow_env.settings()[ALLOCATOR] == "1"
    for onednn, flags in [(True, {"avx512f", "avx512_vnni"}), (False, ())]:  # oneDNN; flags unreadable
        pretend_cpu(onednn, flags)
        assert ALLOCATOR not in tensorflow_env.settings()
        assert tensorflow_env.settings()["TF_CPP_MIN_LOG_LEVEL"] == "2"


def test_the_users_setting_wins(monkeypatch):
    assert probe_allocator({**clean_env(), ALLOCATOR: "0"}) == "malloc"
    assert probe_allocator({**clean_env(), ALLOCATOR: "1"}) == "bfc"
    for value, named in [("0", "malloc"), ("1", "BFC"), ("True", "BFC"), ("false", "malloc")]:
        monkeypatch.setenv(ALLOCATOR, value)
        assert tensorflow_env.allocator() == named


def test_prepare_only_fills_in_what_is_unset(monkeypatch):
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    monkeypatch.delenv(ALLOCATOR, raising=False)
    tensorflow_env.prepare()
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"
    assert os.environ[ALLOCATOR] == "1"


def test_allocator_limit_follows_ram_above_tensorflows_default(monkeypatch, pretend_cpu):
    pretend_cpu(False, {"avx2"})
    monkeypatch.setattr(memory, "physical_memory", lambda: 256 * memory.GIB)
    assert tensorflow_env.settings()[tensorflow_env.BFC_LIMIT_NAME] == str(256 * 1024)
    monkeypatch.setattr(memory, "physical_memory", lambda: 16 * memory.GIB)
    assert tensorflow_env.BFC_LIMIT_NAME not in tensorflow_env.settings()
    monkeypatch.setattr(memory, "physical_memory", lambda: None)
    assert tensorflow_env.BFC_LIMIT_NAME not in tensorflow_env.settings()
