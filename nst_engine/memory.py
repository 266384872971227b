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
"""The same on every other CPU with TensorFlow's own gradient kernel (`conv_gradient.py`): the
AVX2-only kernels keep more per pixel, whether TensorFlow runs its own Eigen convolutions (its
default there) or oneDNN's AVX2 ones. Measured on an AVX2-only AMD EPYC at 256–1536 px, float32,
both paths, then rounded up (docs/performance.md, "The memory model behind `--max-memory`").
Where the CPU cannot be read, these too: the safe side."""

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
"""A smaller tile would leave VGG19's deepest layers almost nothing but the tile's border."""


def parse_size(text: str) -> int:
    """'6G', '1500M', '2.5GiB' or a plain number of bytes, as bytes."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([kKmMgGtT]?)(i?[bB])?\s*", text)
    if not match:
        raise BadInputError(f"--max-memory must be a size such as 4G or 1500M, not {text!r}")
    number, unit = float(match.group(1)), match.group(2).upper()
    return int(number * {"": 1, "K": 1024, "M": MIB, "G": GIB, "T": 1024 * GIB}[unit])


def physical_memory() -> int | None:
    """Installed RAM in bytes, where the OS tells us (Linux, macOS); None elsewhere."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def default_budget() -> int:
    """Half the machine's RAM (Krita and the painter's other programs keep the rest), at least 2 GiB."""
    total = physical_memory()
    return max(2 * GIB, total // 2) if total else 4 * GIB


def budget(requested: int | None) -> int:
    """The ceiling a run plans for: `--max-memory` if given, else the machine's default."""
    return requested or default_budget()


GPU_SHARE = 0.8
"""Of a GPU's memory, the part a run plans for: Krita's canvas and the desktop keep the rest."""

GPU_BASE_BYTES = 512 * MIB
"""What TensorFlow keeps on a GPU besides an evaluation's tensors: the weights, cuDNN's workspace
(an estimate, not measured: no GPU with TensorFlow has been available)."""


def gpu_memory() -> int | None:
    """The smallest NVIDIA GPU's memory in bytes, as `nvidia-smi` (part of the driver) reports it;
    None where there is none. TensorFlow has no public call that says."""
    try:
        done = subprocess.run(
            ["nvidia-smi", "--query-gpu=memory.total", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=20,
        )
        totals = [int(line) for line in done.stdout.split()] if done.returncode == 0 else []
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    return min(totals) * MIB if totals else None


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


def gpu_tile_side(device: str, optimizer: str) -> int | None:
    """On a GPU, the longest tile side whose evaluation fits GPU_SHARE of its memory (None on a
    CPU, or where the GPU's memory is not known). The RAM budget bounds the run as a whole; on a
    GPU an evaluation's tensors live in its own memory, often the tighter limit."""
    total = gpu_memory() if device.startswith("GPU") else None
    if not total:
        return None
    pixels = (total * GPU_SHARE - GPU_BASE_BYTES) / gpu_bytes_per_pixel(optimizer)
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
