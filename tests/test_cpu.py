"""Which convolution path TensorFlow will take, decided before it loads (the memory plan needs it)."""

import pytest

from nst_engine import cpu


@pytest.fixture
def linux_cpu(monkeypatch):
    """A Linux x86 machine whose CPU flags the test chooses, with TF_ENABLE_ONEDNN_OPTS unset."""
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    monkeypatch.setattr(cpu.platform, "system", lambda: "Linux")
    monkeypatch.setattr(cpu.platform, "machine", lambda: "x86_64")

    def with_flags(*names):
        monkeypatch.setattr(cpu, "flags", lambda: frozenset(names))

    return with_flags


@pytest.mark.parametrize("feature", sorted(cpu.ONEDNN_DEFAULT_FLAGS))
def test_onednn_is_on_by_default_with_a_neural_network_feature(linux_cpu, feature):
    linux_cpu("sse4_2", "avx2", "fma", feature)
    assert cpu.onednn_enabled()


def test_an_avx2_or_plain_avx512_cpu_gets_eigen_by_default(linux_cpu):
    linux_cpu("sse4_2", "avx", "avx2", "fma")
    assert not cpu.onednn_enabled()
    linux_cpu("avx2", "avx512f", "avx512bw", "avx512vl")
    assert not cpu.onednn_enabled()


@pytest.mark.parametrize("value, expected", [("1", True), ("TRUE", True), ("0", False), ("false", False)])
def test_the_environment_variable_decides_when_tensorflow_would_read_it(linux_cpu, monkeypatch, value, expected):
    # A CPU whose default is the opposite, so that only the variable can give `expected`.
    if expected:
        linux_cpu("avx2")
    else:
        linux_cpu("avx2", "avx512_vnni")
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", value)
    assert cpu.onednn_enabled() is expected


def test_a_value_tensorflow_rejects_leaves_its_default(linux_cpu, monkeypatch):
    linux_cpu("avx2")
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "yes")
    assert not cpu.onednn_enabled()


def test_native_bfloat16_needs_the_bfloat16_instructions(linux_cpu):
    linux_cpu("avx2", "avx512f", "avx512_vnni")
    assert not cpu.has_native_bfloat16()
    linux_cpu("avx2", "avx512f", "avx512_bf16")
    assert cpu.has_native_bfloat16()


def test_this_machine_reports_what_its_cpuinfo_says():
    """The real /proc/cpuinfo parses: on Linux x86 every CPU TensorFlow runs on has SSE."""
    if cpu.platform.system() != "Linux" or cpu.platform.machine() != "x86_64":
        pytest.skip("reads /proc/cpuinfo flags of an x86 Linux machine")
    assert {"sse", "sse2"} <= cpu.flags()
