"""The device a run computes on, and the arithmetic `auto` picks for it (TensorFlow in this process)."""

from __future__ import annotations

import pytest

from nst_engine import device, memory, precision
from nst_engine.progress import Reporter
from nst_engine.settings import preset


class Recorder(Reporter):
    """Keeps the log lines and the `start` event's fields."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.started: dict = {}

    def log(self, message: str) -> None:
        self.lines.append(message)

    def start(self, **info) -> None:
        super().start()
        self.started = info


def test_the_smoke_check_passes_where_the_work_runs():
    """The check itself is sound: on the CPU, in either arithmetic, it finds nothing wrong."""
    assert device.gpu_failure("CPU:0", "float32") is None
    assert device.gpu_failure("CPU:0", "bfloat16") is None


@pytest.mark.weights
def test_a_gpu_that_cannot_run_leaves_the_run_to_the_cpu(
    monkeypatch, pretend_cpu, weights_path, small_images, tmp_path
):
    """TensorFlow lists a GPU whose first convolution fails (a driver and cuDNN that do not match):
    the run still ends with its output, says CPU, and the log says why."""
    import tensorflow as tf

    from nst_engine import run

    def broken(name: str, dtype: str) -> None:
        raise tf.errors.InternalError(None, None, "cuDNN launch failure : input shape ([2,8,8,3])")

    pretend_cpu(False, {"avx2"})  # no native bfloat16 on this CPU
    monkeypatch.setattr(device, "prepare", lambda: "GPU:0")
    monkeypatch.setattr(device, "_exercise", broken)
    monkeypatch.setattr(precision, "gpu_has_native_bfloat16", lambda name: True)
    reporter = Recorder()
    request = run.RunRequest(
        content=small_images["tubingen"],
        styles=[small_images["starry_night"]],
        output=tmp_path / "out.png",
        settings=preset("preview", max_size=32, iterations=(2,)),
        weights=str(weights_path),
    )
    assert run.run(request, reporter) == tmp_path / "out.png"
    assert (tmp_path / "out.png").exists()
    assert reporter.started["device"] == "CPU"
    assert reporter.started["precision"] == "float32"  # the CPU's rule, not the GPU's
    fallback = [line for line in reporter.lines if "running on the CPU" in line]
    assert len(fallback) == 1 and "GPU:0" in fallback[0] and "cuDNN launch failure" in fallback[0]


def test_a_gpu_that_runs_is_kept(monkeypatch):
    monkeypatch.setattr(device, "prepare", lambda: "GPU:0")
    monkeypatch.setattr(device, "_exercise", lambda name, dtype: None)
    monkeypatch.setattr(precision, "gpu_has_native_bfloat16", lambda name: True)
    logged = []
    assert device.select("auto", logged.append) == device.Device("GPU:0", "bfloat16")
    assert logged == []


@pytest.mark.parametrize("visible, hinted", [(None, True), ("-1", False), ("", False), ("0", True)])
def test_a_gpu_only_nvidia_smi_sees_gets_a_hint(monkeypatch, visible, hinted):
    """A CPU-only TensorFlow on a machine with an NVIDIA GPU: say how to use the GPU, unless the
    user hid it on purpose (`CUDA_VISIBLE_DEVICES=-1`)."""
    monkeypatch.setattr(device, "prepare", lambda: "CPU")
    monkeypatch.setattr(memory, "nvidia_gpu_listed", lambda: True)
    if visible is None:
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    else:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    logged = []
    assert device.select("float32", logged.append) == device.Device("CPU", "float32")
    assert logged == ([device.NO_GPU_IN_TENSORFLOW] if hinted else [])
    assert "--gpu" in device.NO_GPU_IN_TENSORFLOW


@pytest.fixture
def an_ampere_gpu(monkeypatch):
    """TensorFlow lists one GPU with the compute capability the test sets."""
    import tensorflow as tf

    capability = {"compute_capability": (8, 6)}
    listed = tf.config.list_physical_devices
    monkeypatch.setattr(
        tf.config, "list_physical_devices", lambda kind=None: ["gpu0"] if kind == "GPU" else listed(kind)
    )
    monkeypatch.setattr(tf.config.experimental, "get_device_details", lambda gpu: capability)
    return capability


def test_auto_precision_follows_the_device_the_run_is_on(an_ampere_gpu, pretend_cpu):
    """A machine's GPU says nothing about its CPU: a run on the CPU takes the CPU's rule."""
    pretend_cpu(False, {"avx2"})
    assert precision.resolve("auto", "GPU:0") == "bfloat16"
    assert precision.resolve("auto", "CPU") == "float32"
    an_ampere_gpu["compute_capability"] = (7, 5)
    pretend_cpu(True, {"avx512f", "avx512_bf16"})
    assert precision.resolve("auto", "GPU:0") == "float32"
    assert precision.resolve("auto", "CPU") == "bfloat16"
    assert precision.resolve("float32", "GPU:0") == "float32"
