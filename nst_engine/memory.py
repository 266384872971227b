"""How much memory a run may use, and how many pixels one optimised tile may then have.

The engine's peak memory is close to linear in the pixels of the largest image it differentiates
through VGG19 at once. We measured it (docs/performance.md, `benchmarks/size_scaling.py`) and plan
tiles from that line, so `--max-memory` bounds the peak whatever the canvas size.
"""

from __future__ import annotations

import math
import os
import re
import subprocess

from . import conv_gradient, cpu
from .errors import BadInputError

MIB = 1024**2
GIB = 1024**3

BASE_BYTES = 1000 * MIB
"""TensorFlow, the VGG19 weights and the interpreter, before any image (measured: about 950 MiB)."""

EVALUATION_BYTES_PER_PIXEL = {"lbfgs": 3400, "adam": 3000}
"""Peak bytes per pixel of the image being optimised on an AVX-512 CPU where TensorFlow convolves
through oneDNN (its default there with AVX512_VNNI, AVX512_BF16 or AMX; `cpu.onednn_enabled`):
activations kept for the gradient, the gradient, and the optimiser's state. Measured at 512–1536 px
in float32 when L-BFGS was SciPy's, with 20 float64 corrections (3100 and 2400–2850 bytes), then
rounded up; bfloat16 convolutions and today's L-BFGS (20 corrections stored in 16 bits) need less,
so the plan errs on the safe side."""

OTHER_CPU_EVALUATION_BYTES_PER_PIXEL = {"lbfgs": 4600, "adam": 4600}
"""The same where TensorFlow convolves through oneDNN on a CPU without AVX-512 (oneDNN forced on
an AVX2-only CPU, or the default on x86 Windows), and where the CPU's flags cannot be read: the
safe side. Measured on an AVX2-only AMD EPYC at 256–1536 px, float32, with TensorFlow's own
gradient kernel through oneDNN's AVX2 convolutions and through Eigen's, then rounded up
(docs/performance.md, "The memory model behind `--max-memory`"). Eigen CPUs whose flags can be
read have figures of their own below."""

FLIPPED_GRADIENT_BYTES_PER_PIXEL = {"lbfgs": 3000, "adam": 2800}
"""The same where TensorFlow uses its Eigen kernels and the gradient through the convolutions is
the forward convolution with the flipped kernel (`auto` there), which does not write out
TensorFlow's 3×3 neighbourhood matrix. Measured on the AVX2-only AMD EPYC, float32
(`benchmarks/memory_per_pixel.py`), with glibc's malloc and with the BFC allocator the engine asks
for there (`tensorflow_env.py`): L-BFGS 2000–2700 bytes at 512–2048 px under malloc (most at 1536 px;
1430–2330 under BFC), Adam 1900–2000 at 512–1536 px under malloc but 2460–2510 at 1024–1536 px
under BFC; rounded up to leave at least 10 % over every point."""


BFC_TENSORFLOW_GRADIENT_BYTES_PER_PIXEL = {"lbfgs": 5400, "adam": 5400}
"""The same where TensorFlow uses its Eigen kernels with its own gradient kernel (`tutorial`), under
the BFC allocator the engine asks for there (`tensorflow_env.py`): faster, but the gradient kernel's
large scratch matrices leave that allocator's memory fragmented. Measured on the AVX2-only AMD EPYC,
float32, 22 evaluations (`benchmarks/memory_per_pixel.py`): L-BFGS 4890 bytes at 1024 px, Adam 4800
at 1024 px and 4810 at 1536 px (malloc: 3500–3700), rounded up to leave at least 10 %."""


def evaluation_bytes_per_pixel(optimizer: str, gradient: str) -> int:
    """Peak bytes per optimised pixel for `optimizer` with the gradient kernel `gradient` (a
    `--conv-gradient` choice; 'auto' is resolved as on the CPU, since the plan is made before
    TensorFlow loads): the figures measured on the path TensorFlow will take on this CPU, the
    largest ones where that path was not measured or the CPU cannot be read."""
    if cpu.onednn_enabled() and "avx512f" in cpu.flags():
        return EVALUATION_BYTES_PER_PIXEL[optimizer]
    if cpu.eigen_convolutions():
        if conv_gradient.resolve(gradient, "CPU") == "flipped":
            return FLIPPED_GRADIENT_BYTES_PER_PIXEL[optimizer]
        return BFC_TENSORFLOW_GRADIENT_BYTES_PER_PIXEL[optimizer]
    return OTHER_CPU_EVALUATION_BYTES_PER_PIXEL[optimizer]


WHOLE_IMAGE_BYTES_PER_PIXEL = 96
"""Arrays kept at the full canvas size while tiles are optimised (content, result, blend, output)."""

MIN_TILE_SIDE = 128
"""The smallest tile side the memory plan makes: in a smaller tile VGG19's deepest layers see
little but the tile's border, so a `--max-memory` that allows less is refused. `--tile-size` may
still ask for tiles down to 64 px (`settings.MIN_TILE_SIZE`), which the tests use for speed."""


def parse_size(text: str) -> int:
    """'6G', '1500M', '2.5GiB' or a plain number of bytes, as bytes."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([kKmMgGtT]?)(i?[bB])?\s*", text)
    if not match:
        raise BadInputError(f"--max-memory must be a size such as 4G or 1500M, not {text!r}")
    number, unit = float(match.group(1)), match.group(2).upper()
    return int(number * {"": 1, "K": 1024, "M": MIB, "G": GIB, "T": 1024 * GIB}[unit])


def physical_memory() -> int | None:
    """Installed RAM in bytes, where the OS tells us (Linux, macOS, Windows); None elsewhere."""
    if os.name == "nt":
        return _windows_physical_memory()
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def _windows_physical_memory() -> int | None:
    """Installed RAM in bytes from `GlobalMemoryStatusEx` (its ullTotalPhys: the total, like
    SC_PHYS_PAGES elsewhere, not what is free now); None when the call fails."""
    return _windows_memory_status("ullTotalPhys")


def _windows_memory_status(field: str) -> int | None:
    """One field of `GlobalMemoryStatusEx`, in bytes; None when the call fails."""
    import ctypes

    class MEMORYSTATUSEX(ctypes.Structure):
        _fields_ = [
            ("dwLength", ctypes.c_uint32),  # DWORD: 32 bits (ctypes' c_ulong is 64 on Linux and macOS)
            ("dwMemoryLoad", ctypes.c_uint32),
            ("ullTotalPhys", ctypes.c_ulonglong),
            ("ullAvailPhys", ctypes.c_ulonglong),
            ("ullTotalPageFile", ctypes.c_ulonglong),
            ("ullAvailPageFile", ctypes.c_ulonglong),
            ("ullTotalVirtual", ctypes.c_ulonglong),
            ("ullAvailVirtual", ctypes.c_ulonglong),
            ("ullAvailExtendedVirtual", ctypes.c_ulonglong),
        ]

    try:
        status = MEMORYSTATUSEX()
        status.dwLength = ctypes.sizeof(MEMORYSTATUSEX)
        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        kernel32.GlobalMemoryStatusEx.argtypes = [ctypes.POINTER(MEMORYSTATUSEX)]
        kernel32.GlobalMemoryStatusEx.restype = ctypes.c_int  # BOOL
        if not kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):
            return None
    except (AttributeError, OSError):  # no kernel32 or no such function: not a Windows we know
        return None
    return int(getattr(status, field)) or None


def available_memory() -> int | None:
    """What the machine can give a program now without swapping, in bytes, where the OS says:
    Linux's MemAvailable (free memory plus the caches it can drop), Windows' ullAvailPhys; None
    elsewhere (macOS has no single figure for it)."""
    if os.name == "nt":
        return _windows_memory_status("ullAvailPhys")
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024  # kB
    except (OSError, ValueError, IndexError):
        pass
    return None


AVAILABLE_SHARE = 0.8
"""Of the memory available when a run starts, the most it plans for: the painter goes on painting."""


def ram_budget() -> int:
    """Half the machine's RAM (Krita and the painter's other programs keep the rest), at least 2 GiB."""
    total = physical_memory()
    return max(2 * GIB, total // 2) if total else 4 * GIB


def default_budget() -> int:
    """:func:`ram_budget`, or less where that much is not available now (a large canvas open in
    Krita, a browser): 80 % of what is, counting what this process holds already (a warm engine
    has TensorFlow and the weights loaded); at least 2 GiB. The plan falls back to
    :func:`ram_budget` where this leaves too little for the smallest tile
    (`schedule.plan_for_memory`)."""
    half, available = ram_budget(), available_memory()
    if available and physical_memory():
        half = min(half, max(2 * GIB, int(AVAILABLE_SHARE * (available + own_memory()))))
    return half


def own_memory() -> int:
    """This process's resident memory in bytes where Linux says (/proc/self/statm), else 0."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return 0


def budget(requested: int | None) -> int:
    """The ceiling a run plans for: `--max-memory` if given, else the machine's default."""
    return requested or default_budget()


GPU_SHARE = 0.8
"""Of a GPU's memory, the most a run plans for: Krita's canvas and the desktop keep the rest."""

GPU_FREE_MARGIN = 256 * MIB
"""Left unplanned below what nvidia-smi reports free when the run starts: Krita and the desktop
may take more of a consumer card while the run works."""

GPU_DEFAULT_BYTES = 4 * GIB
"""What a run on a GPU plans for where nvidia-smi gives no reading (no NVIDIA driver tools, a
GPU that reports no memory): the memory of a small card, so that the tiles fit most GPUs."""

GPU_BASE_BYTES = 512 * MIB
"""What TensorFlow keeps on a GPU besides an evaluation's tensors: the weights, cuDNN's workspace
(an estimate, not measured: no GPU with TensorFlow has been available)."""


def _visible_gpu_ids() -> list[str]:
    """The GPU ids `CUDA_VISIBLE_DEVICES` leaves to TensorFlow, where they are nvidia-smi's own:
    numeric ids (those after the first that is not one are hidden) with `CUDA_DEVICE_ORDER=PCI_BUS_ID`.
    CUDA's default order puts the fastest GPU first, which nvidia-smi's numbering does not follow,
    so otherwise none (and the GPU is found by its name, `gpu_memory`)."""
    if os.environ.get("CUDA_DEVICE_ORDER") != "PCI_BUS_ID":
        return []
    ids = []
    for part in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(","):
        if not part.strip().isdigit():
            break
        ids.append(part.strip())
    return ids


def _nvidia_smi_rows(fields: list[str]) -> list[list[str]] | None:
    """nvidia-smi's answer for `fields`, one row of stripped values per GPU; the last field may
    hold commas (a GPU's name). Lines with fewer values (a warning, a failure notice) are left
    out. None where nvidia-smi is missing or fails."""
    command = ["nvidia-smi", f"--query-gpu={','.join(fields)}", "--format=csv,noheader,nounits"]
    ids = _visible_gpu_ids()
    if ids:
        command.append(f"--id={','.join(ids)}")
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    rows = [[value.strip() for value in line.split(",", len(fields) - 1)] for line in done.stdout.splitlines()]
    return [row for row in rows if len(row) == len(fields)]


def _mib(value: str) -> int | None:
    """A memory figure from nvidia-smi in bytes; None for '[N/A]' and anything else unreadable."""
    return int(value) * MIB if value.isdigit() else None


_MEMORY_FIELDS = ["memory.total", "memory.free", "name"]


def nvidia_gpu_listed() -> bool:
    """Whether nvidia-smi lists an NVIDIA GPU with its memory, whatever TensorFlow makes of it."""
    return any(_mib(total) for total, _free, _name in _nvidia_smi_rows(_MEMORY_FIELDS) or [])


def gpu_memory(model: str = "") -> int | None:
    """The bytes a run may plan for on the NVIDIA GPU named `model` (as TensorFlow names it), as
    nvidia-smi (part of the driver) reports it: GPU_SHARE of its memory, and no more than
    GPU_FREE_MARGIN under what is free now. Where no GPU has that name, the tightest of them all.
    GPUs whose figures cannot be read are left out; None when none can be. TensorFlow has no
    public call that says."""
    rows = _nvidia_smi_rows(_MEMORY_FIELDS) or []
    plannable = []
    for total, free, _name in [row for row in rows if model and row[2] == model] or rows:
        total_bytes, free_bytes = _mib(total), _mib(free)
        if total_bytes is None:
            continue
        limits = [int(total_bytes * GPU_SHARE)]
        if free_bytes is not None:
            limits.append(max(0, free_bytes - GPU_FREE_MARGIN))
        plannable.append(min(limits))
    return min(plannable) if plannable else None


def gpu_minimum_bytes(optimizer: str) -> int:
    """What a GPU must have for a run's smallest tile (MIN_TILE_SIDE): less, and the run is left
    to the CPU rather than cut into hundreds of tiles or run out of the GPU's memory."""
    return GPU_BASE_BYTES + gpu_bytes_per_pixel(optimizer) * MIN_TILE_SIDE**2


def gpu_bytes_per_pixel(optimizer: str) -> int:
    """Peak bytes per optimised pixel on a GPU: not measured there, so the largest figure measured
    on any CPU with any gradient kernel."""
    tables = (
        EVALUATION_BYTES_PER_PIXEL,
        OTHER_CPU_EVALUATION_BYTES_PER_PIXEL,
        FLIPPED_GRADIENT_BYTES_PER_PIXEL,
        BFC_TENSORFLOW_GRADIENT_BYTES_PER_PIXEL,
    )
    return max(table[optimizer] for table in tables)


def gpu_tile_side(plannable: int, optimizer: str) -> int:
    """The longest tile side whose evaluation fits `plannable` bytes of a GPU (`gpu_memory`). The
    RAM budget bounds the run as a whole; on a GPU an evaluation's tensors live in its own memory,
    often the tighter limit."""
    pixels = (plannable - GPU_BASE_BYTES) / gpu_bytes_per_pixel(optimizer)
    return max(MIN_TILE_SIDE, math.isqrt(max(0, int(pixels))))


def tile_pixels(budget: int, canvas_pixels: int, optimizer: str, gradient: str) -> int:
    """The most pixels one tile may have so that the whole run stays within `budget` bytes."""
    free = budget - BASE_BYTES - WHOLE_IMAGE_BYTES_PER_PIXEL * canvas_pixels
    per_pixel = evaluation_bytes_per_pixel(optimizer, gradient)
    pixels = free // per_pixel
    if pixels < MIN_TILE_SIDE**2:
        need = BASE_BYTES + WHOLE_IMAGE_BYTES_PER_PIXEL * canvas_pixels
        need += per_pixel * MIN_TILE_SIDE**2
        raise BadInputError(
            f"--max-memory {budget / GIB:.2f} GiB is too little for this image: it needs at least "
            f"{need / GIB:.2f} GiB; allow more memory or lower --max-size",
            "memory_too_small",
        )
    return int(pixels)
