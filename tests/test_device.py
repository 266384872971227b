"""The device a run computes on, and the arithmetic `auto` picks for it (TensorFlow in this process)."""

from __future__ import annotations

import contextlib
import sys

import pytest

from nst_engine import device, memory, objective, precision, transfer
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
    # On this machine everything lands on the CPU anyway: what is checked is that the run's work
    # is built and run inside the chosen device's scope, and that the scope is the CPU's.
    scopes, inside = [], []
    real_scope = device.Device.scope

    @contextlib.contextmanager
    def recorded_scope(self):
        scopes.append(self.name)
        with real_scope(self):
            inside.append(self.name)
            try:
                yield
            finally:
                inside.pop()

    def noting(function, calls):
        def wrapper(*args, **kwargs):
            calls.append(list(inside))
            return function(*args, **kwargs)

        return wrapper

    built, stylized = [], []
    monkeypatch.setattr(device.Device, "scope", recorded_scope)
    monkeypatch.setattr(objective, "build_extractor", noting(objective.build_extractor, built))
    monkeypatch.setattr(transfer, "stylize", noting(transfer.stylize, stylized))
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
    assert scopes == ["CPU"] and built == [["CPU"]] and stylized == [["CPU"]]


def test_a_gpu_with_too_little_free_memory_leaves_the_run_to_the_cpu(monkeypatch):
    """Krita and the desktop hold nearly all of a small card: rather than hundreds of 128 px tiles
    or running out of the GPU's memory, the CPU."""
    monkeypatch.setattr(device, "prepare", lambda: "GPU:0")
    monkeypatch.setattr(device, "_exercise", lambda name, dtype: None)
    monkeypatch.setattr(precision, "gpu_has_native_bfloat16", lambda name: False)
    monkeypatch.setattr(memory, "gpu_memory", lambda model="": 100 * memory.MIB)
    logged = []
    assert device.select("auto", logged.append, "lbfgs") == device.Device("CPU", precision.resolve("auto", "CPU"))
    assert len(logged) == 1 and "100 MiB" in logged[0] and "running on the CPU" in logged[0]
    monkeypatch.setattr(memory, "gpu_memory", lambda model="": 6 * memory.GIB)
    logged.clear()
    assert device.select("auto", logged.append, "lbfgs") == device.Device("GPU:0", "float32", 6 * memory.GIB)
    assert logged == []
    assert device.select("auto", logged.append) == device.Device("GPU:0", "float32")  # a standby: no plan


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
    monkeypatch.setattr(sys, "platform", "linux")
    logged = []
    assert device.select("float32", logged.append) == device.Device("CPU", "float32")
    assert logged == ([device.NO_GPU_IN_TENSORFLOW] if hinted else [])
    assert "--gpu" in device.NO_GPU_IN_TENSORFLOW


def test_outside_linux_the_hint_does_not_offer_the_installers_gpu_option(monkeypatch):
    """The installer refuses --gpu where TensorFlow has no GPU support: say that instead."""
    monkeypatch.setattr(device, "prepare", lambda: "CPU")
    monkeypatch.setattr(memory, "nvidia_gpu_listed", lambda: True)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setattr(sys, "platform", "win32")
    logged = []
    device.select("float32", logged.append)
    assert len(logged) == 1 and "--gpu" not in logged[0] and "WSL2" in logged[0]


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


def test_only_the_first_gpu_is_made_visible_and_grows_its_memory(monkeypatch):
    """Two GPUs (a compute card and the one driving the screen): the run uses the first, so
    TensorFlow opens no context and takes no memory on the other."""
    import tensorflow as tf

    class Logical:
        name = "/device:GPU:0"

    physical = ["gpu0", "gpu1"]
    visible, growing = [], []
    monkeypatch.setattr(tf.config.experimental, "enable_tensor_float_32_execution", lambda enabled: None)
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: physical)
    monkeypatch.setattr(tf.config, "set_visible_devices", lambda devices, kind=None: visible.append((devices, kind)))
    monkeypatch.setattr(tf.config.experimental, "set_memory_growth", lambda gpu, on: growing.append((gpu, on)))
    monkeypatch.setattr(tf.config, "list_logical_devices", lambda kind=None: [Logical()])
    assert device.prepare() == "GPU:0"
    assert visible == [(["gpu0"], "GPU")] and growing == [("gpu0", True)]
