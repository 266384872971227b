"""The stage and tile planner and the memory model (no TensorFlow needed)."""

import os
import sys

import numpy as np
import pytest

from nst_engine import memory, schedule
from nst_engine.errors import BadInputError
from nst_engine.settings import preset

GIB = memory.GIB


def coverage(size, boxes):
    counts = np.zeros(size[::-1], dtype=int)
    for x0, y0, x1, y1 in boxes:
        counts[y0:y1, x0:x1] += 1
    return counts


def seam_centres(size, boxes, overlap):
    """The middles of the strips where neighbouring tiles are blended: where a seam could show."""
    xs = {box[0] + overlap // 2 for box in boxes if box[0] > 0} | {
        box[2] - overlap // 2 for box in boxes if box[2] < size[0]
    }
    ys = {box[1] + overlap // 2 for box in boxes if box[1] > 0} | {
        box[3] - overlap // 2 for box in boxes if box[3] < size[1]
    }
    return xs, ys


@pytest.mark.parametrize("size", [(4096, 3072), (3000, 5000), (1000, 130), (777, 555)])
@pytest.mark.parametrize("tile_pixels", [128**2, 300_000, 2_000_000])
def test_tiles_cover_the_image_fit_the_budget_and_move_between_passes(size, tile_pixels):
    passes, overlap = schedule.tile_grid(size, tile_pixels)
    if size[0] * size[1] <= tile_pixels:
        assert passes == () and overlap == 0
        return
    assert len(passes) == schedule.PASSES
    for boxes in passes:
        assert coverage(size, boxes).min() >= 1
        assert max((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in boxes) <= tile_pixels
        assert min(min(x1 - x0, y1 - y0) for x0, y0, x1, y1 in boxes) >= min(16, *size)
    first_x, first_y = seam_centres(size, passes[0], overlap)
    second_x, second_y = seam_centres(size, passes[1], overlap)
    # The second pass's blend strips lie clear of the first pass's: its tiles straddle those seams.
    assert all(abs(a - b) >= overlap for a in first_x for b in second_x)
    assert all(abs(a - b) >= overlap for a in first_y for b in second_y)


def test_an_image_that_fits_is_one_untiled_stage_as_before():
    (n,) = preset("balanced").iterations
    stages = schedule.plan((1024, 768), [(1024, 640)], preset("balanced"), budget=12 * GIB)
    assert [(s.size, s.iterations, s.tiled, s.evaluations) for s in stages] == [((512, 384), n, False, n)]


def test_full_resolution_doubles_up_to_the_content_size_and_tiles_when_memory_is_short():
    settings = preset("balanced", full_resolution=True)
    stages = schedule.plan((4096, 3072), [(1024, 640)], settings, budget=3 * GIB)
    assert [s.size for s in stages] == [(512, 384), (1024, 768), (2048, 1536), (4096, 3072)]
    assert [s.tiled for s in stages] == [False, True, True, True]
    # Evaluations per pixel halve with each doubling; tiled stages split them over two passes.
    assert [s.iterations for s in stages] == [settings.iterations[0], 20, 10, 5]
    # The style never grows past its own pixels (that would only blur its Gram matrices).
    assert [s.style_sizes for s in stages] == [((512, 320),), ((1024, 640),), ((1024, 640),), ((1024, 640),)]
    tile_pixels = stages[-1].tile_pixels
    for stage in stages:
        assert all((x1 - x0) * (y1 - y0) <= tile_pixels for p in stage.boxes() for x0, y0, x1, y1 in p)
    # Without full resolution, the same canvas is one 512 px stage.
    plain = schedule.plan((4096, 3072), [(1024, 640)], preset("balanced"), budget=3 * GIB)
    assert [s.size for s in plain] == [(512, 384)]


def test_full_resolution_on_a_small_canvas_adds_nothing():
    stages = schedule.plan((400, 300), [(1024, 640)], preset("balanced", full_resolution=True), budget=12 * GIB)
    assert [s.size for s in stages] == [(512, 384)]


def test_tile_size_caps_the_tiles():
    settings = preset("preview", max_size=256, tile_size=96)
    (stage,) = schedule.plan((256, 192), [(256, 160)], settings, budget=12 * GIB)
    assert stage.tiled and stage.tile_pixels == 96 * 96


def test_tile_budget_follows_the_memory_model_and_refuses_too_little():
    canvas = 4096 * 4096
    small, large = (memory.tile_pixels(budget, canvas, "lbfgs", "auto") for budget in (3 * GIB, 12 * GIB))
    assert 0 < small < large
    spent = memory.BASE_BYTES + memory.WHOLE_IMAGE_BYTES_PER_PIXEL * canvas
    assert spent + memory.evaluation_bytes_per_pixel("lbfgs", "auto") * large <= 12 * GIB
    with pytest.raises(BadInputError, match="too little") as caught:
        memory.tile_pixels(1 * GIB, canvas, "lbfgs", "auto")
    assert caught.value.code == "memory_too_small" and caught.value.exit_code == 2


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_only_the_measured_lean_path_gets_the_lean_figures(pretend_cpu, optimizer):
    """oneDNN on an AVX-512 CPU is where the small figures were measured, whatever the gradient
    kernel; with TensorFlow's kernel an AVX2-only CPU, with or without oneDNN, or a CPU whose flags
    we cannot read, is planned with larger ones."""
    canvas = 4096 * 3072

    def plan(onednn, flags, gradient="tensorflow"):
        pretend_cpu(onednn, flags)
        return memory.evaluation_bytes_per_pixel(optimizer, gradient), memory.tile_pixels(
            4 * GIB, canvas, optimizer, gradient
        )

    lean = plan(True, {"avx2", "avx512f", "avx512_vnni"})
    assert lean[0] == memory.EVALUATION_BYTES_PER_PIXEL[optimizer]
    assert plan(True, {"avx2", "avx512f", "avx512_vnni"}, "flipped") == lean
    for onednn, flags in [(True, {"avx2", "avx_vnni"}), (True, ())]:
        other = plan(onednn, flags)
        assert other[0] == memory.OTHER_CPU_EVALUATION_BYTES_PER_PIXEL[optimizer] > lean[0]
        assert other[1] < lean[1]  # smaller tiles for the same ceiling
    for flags in [{"avx2"}, {"avx2", "avx512f"}]:  # Eigen, under the BFC allocator (tensorflow_env.py)
        eigen = plan(False, flags)
        assert eigen[0] == memory.BFC_TENSORFLOW_GRADIENT_BYTES_PER_PIXEL[optimizer]
        assert eigen[0] > memory.OTHER_CPU_EVALUATION_BYTES_PER_PIXEL[optimizer]
        assert eigen[1] < lean[1]


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_the_flipped_gradient_is_planned_with_its_own_figure_only_where_it_was_measured(pretend_cpu, optimizer):
    """Its figure was measured where TensorFlow uses Eigen; 'auto' picks it there, so the plan (made
    before TensorFlow loads) does too. With oneDNN, or where the CPU cannot be read, the safe side."""
    figure = memory.FLIPPED_GRADIENT_BYTES_PER_PIXEL[optimizer]
    tensorflow_figure = memory.OTHER_CPU_EVALUATION_BYTES_PER_PIXEL[optimizer]
    assert figure < tensorflow_figure
    pretend_cpu(False, {"avx2"})
    assert memory.evaluation_bytes_per_pixel(optimizer, "auto") == figure
    assert memory.evaluation_bytes_per_pixel(optimizer, "flipped") == figure
    assert memory.evaluation_bytes_per_pixel(optimizer, "tensorflow") > tensorflow_figure  # BFC
    for onednn, flags in [(True, {"avx2", "avx_vnni"}), (False, ())]:
        pretend_cpu(onednn, flags)
        assert memory.evaluation_bytes_per_pixel(optimizer, "flipped") == tensorflow_figure


def test_presets_on_an_eigen_cpu_get_fewer_larger_tiles_than_the_tutorial_kernel(pretend_cpu):
    """The same canvas and ceiling: `balanced` (flipped gradient there) needs fewer tiles than the
    same run with TensorFlow's gradient kernel, and each still fits the plan's figure."""
    pretend_cpu(False, {"avx2"})
    size, budget = (4000, 3000), 6 * GIB
    flipped = schedule.plan(size, [(800, 600)], preset("balanced", full_resolution=True), budget)
    settings = preset("balanced", full_resolution=True, conv_gradient="tensorflow")
    kept = schedule.plan(size, [(800, 600)], settings, budget)
    tiles = [sum(len(p) for p in stage.boxes()) for stage in (flipped[-1], kept[-1])]
    assert tiles[0] < tiles[1]
    largest = max((x1 - x0) * (y1 - y0) for p in flipped[-1].boxes() for x0, y0, x1, y1 in p)
    spent = memory.BASE_BYTES + memory.WHOLE_IMAGE_BYTES_PER_PIXEL * size[0] * size[1]
    assert spent + memory.evaluation_bytes_per_pixel("lbfgs", "auto") * largest <= budget


@pytest.mark.parametrize(
    "text, expected",
    [("4G", 4 * GIB), ("1500M", 1500 * 1024**2), ("2.5GiB", int(2.5 * GIB)), ("123", 123), ("1t", 1024 * GIB)],
)
def test_memory_sizes_parse(text, expected):
    assert memory.parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "four", "4X", "-1G", "4 G B"])
def test_bad_memory_sizes_are_refused(text):
    with pytest.raises(BadInputError, match="--max-memory"):
        memory.parse_size(text)


@pytest.mark.parametrize(
    "ram, available, own, budget",
    [
        (16 * GIB, None, 0, 8 * GIB),
        (3 * GIB, None, 0, 2 * GIB),
        (None, None, 0, 4 * GIB),
        (16 * GIB, 12 * GIB, 0, 8 * GIB),  # plenty available: half the RAM
        (16 * GIB, 5 * GIB, 0, 4 * GIB),  # a big canvas open in Krita: 80 % of what is available
        (16 * GIB, 4 * GIB, 1 * GIB, 4 * GIB),  # a warm engine counts what it holds already
        (16 * GIB, 1 * GIB, 0, 2 * GIB),  # never under 2 GiB
    ],
)
def test_the_default_budget_is_half_the_ram_or_less_when_less_is_available(monkeypatch, ram, available, own, budget):
    monkeypatch.setattr(memory, "physical_memory", lambda: ram)
    monkeypatch.setattr(memory, "available_memory", lambda: available)
    monkeypatch.setattr(memory, "own_memory", lambda: own)
    assert memory.default_budget() == budget


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="MemAvailable is Linux's")
def test_the_memory_available_now_is_read_from_the_system():
    available, total, own = memory.available_memory(), memory.physical_memory(), memory.own_memory()
    assert available is not None and 0 < available <= total
    assert 10 * memory.MIB < own < total, "this test process's own resident memory"


@pytest.mark.weights
def test_too_little_available_memory_falls_back_to_the_rams_plan(monkeypatch, weights_path, small_images, tmp_path):
    """What is available now only ever makes tiles smaller: where it leaves too little for the
    smallest tile, the run plans for half the RAM, as on an idle machine, instead of failing."""
    from nst_engine import run

    monkeypatch.setattr(memory, "physical_memory", lambda: 64 * GIB)
    monkeypatch.setattr(memory, "available_memory", lambda: 1 * GIB)
    monkeypatch.setattr(memory, "own_memory", lambda: 0)
    request = _large_request((6000, 4000), weights_path, small_images, tmp_path)  # 24 MP: over 2 GiB of arrays
    with pytest.raises(BadInputError) as caught:
        schedule.plan((6000, 4000), [(64, 64)], preset("balanced", full_resolution=True), memory.default_budget())
    assert caught.value.code == "memory_too_small", "the available memory alone is too little"
    prepared = run.prepare(request)
    assert prepared.budget == memory.ram_budget() == 32 * GIB, prepared.budget


@pytest.mark.parametrize("size, tile_pixels", [((700, 500), 200 * 200), ((1000, 130), 128 * 128)])
def test_blend_ramps_of_a_pass_add_up_to_one_everywhere(size, tile_pixels):
    """Each pass is a partition of unity: tiles fade into each other and no pixel is lost or doubled."""
    passes, overlap = schedule.tile_grid(size, tile_pixels)
    for boxes in passes:
        total = np.zeros(size[::-1], dtype=np.float64)
        for box in boxes:
            x0, y0, x1, y1 = box
            weight = schedule.blend_ramp(box, size, overlap)
            assert weight.shape == (y1 - y0, x1 - x0)
            total[y0:y1, x0:x1] += weight
        np.testing.assert_allclose(total, 1.0, atol=1e-6)
        # Weights fall to almost nothing at a tile's inner edges, so no tile edge shows as a line.
        inner = [box for box in boxes if box[0] > 0]
        assert all(schedule.blend_ramp(box, size, overlap)[:, 0].max() <= 1 / overlap for box in inner)


@pytest.mark.parametrize("length", [3508, 2480, 262, 100, 37, 31, 16])
@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_gram_pieces_are_never_thinner_than_the_deepest_stride(length, count):
    """A style image just past a multiple of 16 px must not get a last piece of a few pixels: its
    deepest style layers would have no positions there (and the summed Gram matrix a 0/0)."""
    edges = schedule.cut_edges(length, count, grid=16)
    assert edges[0] == 0 and edges[-1] == length and edges == sorted(set(edges))
    assert all(b - a >= 16 for a, b in zip(edges, edges[1:])), edges
    assert all(c % 16 == 0 for c in edges[1:-1]), edges


def test_a_working_size_above_the_content_is_planned_at_the_stage_size():
    """`--max-size` above the content's own size scales the content up: the whole-image arrays
    the plan reserves memory for are the stage's, not the smaller content's."""
    settings = preset("balanced", max_size=4096)
    budget = 8 * GIB
    (stage,) = schedule.plan((1024, 768), [(512, 512)], settings, budget)
    assert stage.size == (4096, 3072)
    planned = memory.tile_pixels(budget, 4096 * 3072, settings.optimizer, settings.conv_gradient)
    from_content = memory.tile_pixels(budget, 1024 * 768, settings.optimizer, settings.conv_gradient)
    assert stage.tile_pixels == planned < from_content


@pytest.fixture
def fake_nvidia_smi(tmp_path, monkeypatch):
    """Put an `nvidia-smi` on PATH that prints `output` and exits with `code`; returns the file
    its arguments are written to."""
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)

    def install(output: str, code: int = 0):
        tool = tmp_path / "bin" / "nvidia-smi"
        tool.parent.mkdir(exist_ok=True)
        arguments = tmp_path / "nvidia-smi-arguments"
        tool.write_text(f"#!/bin/sh\necho \"$@\" > '{arguments}'\nprintf '{output}'\nexit {code}\n")
        tool.chmod(0o755)
        monkeypatch.setenv("PATH", f"{tool.parent}{os.pathsep}{os.environ['PATH']}")
        return arguments

    return install


def test_on_a_gpu_tiles_fit_the_gpus_memory(fake_nvidia_smi):
    """Tiles are planned before TensorFlow loads, for the RAM; on a GPU an evaluation's tensors
    live in the GPU's own memory, which caps the tile once the device is known."""
    fake_nvidia_smi("8192, 8000, NVIDIA A\n4096, 4000, NVIDIA B\n")  # two GPUs (total, free in MiB, name)
    assert memory.gpu_memory("NVIDIA A") == int(8 * GIB * memory.GPU_SHARE)
    plannable = memory.gpu_memory()  # no name (or one nvidia-smi does not know): the tighter card counts
    assert plannable == memory.gpu_memory("NVIDIA C") == int(4 * GIB * memory.GPU_SHARE)
    side = memory.gpu_tile_side(plannable, "lbfgs")
    per_pixel = memory.gpu_bytes_per_pixel("lbfgs")
    assert per_pixel >= max(memory.evaluation_bytes_per_pixel("lbfgs", g) for g in ("tensorflow", "flipped"))
    assert memory.GPU_BASE_BYTES + per_pixel * side**2 <= plannable
    assert memory.GPU_BASE_BYTES + per_pixel * (side + 1) ** 2 > plannable
    settings = preset("balanced", full_resolution=True)
    on_ram = schedule.plan((6000, 4000), [(1024, 640)], settings, 16 * GIB)
    on_gpu = schedule.plan(
        (6000, 4000), [(1024, 640)], preset("balanced", full_resolution=True, tile_size=side), 16 * GIB
    )
    assert on_gpu[-1].tile_pixels == side**2 < on_ram[-1].tile_pixels


def test_a_gpu_half_taken_by_other_programs_plans_for_what_is_free(fake_nvidia_smi):
    """Krita and the desktop hold part of a consumer card: the plan stays a margin under its free memory."""
    fake_nvidia_smi("8192, 3000, NVIDIA A\n")
    assert memory.gpu_memory() == 3000 * memory.MIB - memory.GPU_FREE_MARGIN


@pytest.mark.parametrize(
    "output, expected",
    [
        ("WARNING: infoROM is corrupted at gpu 0000:01:00.0\n6144, 6000, NVIDIA A\n", 6 * GIB),
        ("[N/A], [N/A], NVIDIA A\n6144, 6000, NVIDIA A\n", 6 * GIB),
        ("6144, [N/A], NVIDIA A\n", 6 * GIB),  # no free figure: the share of the total alone
    ],
)
def test_unreadable_lines_leave_the_readable_ones(fake_nvidia_smi, output, expected):
    fake_nvidia_smi(output)
    assert memory.gpu_memory() == int(expected * memory.GPU_SHARE)


def test_the_gpu_the_run_is_on_is_found_by_its_name(fake_nvidia_smi):
    """A desktop with a display card and a compute card: CUDA puts the fastest first, nvidia-smi
    numbers them by bus, so the run's GPU is found by the name TensorFlow gives it (names may
    hold commas)."""
    fake_nvidia_smi("2048, 300, NVIDIA Display\n24576, 24000, NVIDIA RTX A5000, rev 2\n")
    assert memory.gpu_memory("NVIDIA RTX A5000, rev 2") == int(24 * GIB * memory.GPU_SHARE)
    assert memory.gpu_memory() == 300 * memory.MIB - memory.GPU_FREE_MARGIN
    assert memory.nvidia_gpu_listed()


@pytest.mark.parametrize(
    "order, visible, option",
    [
        ("PCI_BUS_ID", None, None),
        ("PCI_BUS_ID", "1,0", "--id=1,0"),
        ("PCI_BUS_ID", "2,GPU-x,0", "--id=2"),
        ("PCI_BUS_ID", "GPU-5f1c", None),
        (None, "1,0", None),  # CUDA's default order is not nvidia-smi's: the name tells instead
    ],
)
def test_only_the_gpus_tensorflow_may_use_are_asked_about(fake_nvidia_smi, monkeypatch, order, visible, option):
    arguments = fake_nvidia_smi("4096, 4000, NVIDIA A\n")
    if order is None:
        monkeypatch.delenv("CUDA_DEVICE_ORDER", raising=False)
    else:
        monkeypatch.setenv("CUDA_DEVICE_ORDER", order)
    if visible is not None:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    memory.gpu_memory()
    asked = arguments.read_text().split()
    assert "--query-gpu=memory.total,memory.free,name" in asked
    assert [a for a in asked if a.startswith("--id")] == ([option] if option else [])


@pytest.mark.parametrize("output, code", [("[N/A], [N/A], NVIDIA A\n", 0), ("", 9), ("NVIDIA-SMI has failed\n", 0)])
def test_no_gpu_memory_reading_gives_none(fake_nvidia_smi, output, code):
    fake_nvidia_smi(output, code)
    assert memory.gpu_memory() is None
    assert not memory.nvidia_gpu_listed()


@pytest.fixture
def large_run(weights_path, small_images, tmp_path):
    """A 3000x2000 content at full resolution, prepared (tiles planned for the RAM)."""
    from nst_engine import run

    return run.prepare(_large_request((3000, 2000), weights_path, small_images, tmp_path))


def _large_request(size, weights_path, small_images, tmp_path):
    """A run of `balanced` at full resolution on a flat content of `size`, in Starry Night's style."""
    from PIL import Image

    from nst_engine import run

    content = tmp_path / "large.png"
    Image.new("RGB", size, (90, 120, 200)).save(content)
    return run.RunRequest(
        content=content,
        styles=[small_images["starry_night"]],
        output=tmp_path / "out.png",
        settings=preset("balanced", full_resolution=True),
        weights=str(weights_path),
    )


@pytest.mark.weights
def test_a_run_on_a_gpu_plans_its_tiles_again_for_the_gpu(fake_nvidia_smi, large_run):
    from nst_engine import run

    fake_nvidia_smi("2048, 2000, NVIDIA A\n")
    on_gpu = run.fit_to_device(large_run, memory.gpu_memory())
    side = memory.gpu_tile_side(memory.gpu_memory(), "lbfgs")
    assert large_run.stages[-1].tile_pixels > side**2 == on_gpu.stages[-1].tile_pixels
    assert [s.size for s in on_gpu.stages] == [s.size for s in large_run.stages]
    assert run.fit_to_device(large_run, None) is large_run  # the CPU: the RAM's plan


@pytest.mark.weights
@pytest.mark.parametrize("output, code", [("[N/A], [N/A], NVIDIA A\n", 0), ("", 9)])
def test_a_gpu_without_a_reading_gets_a_cautious_plan_not_the_rams(fake_nvidia_smi, large_run, output, code):
    """The RAM's plan can be many times what the GPU holds: without a reading, plan for a small card."""
    from nst_engine import device, run

    fake_nvidia_smi(output, code)
    logged = []
    plannable = device.gpu_plannable_bytes("GPU:0", logged.append)
    assert plannable == memory.GPU_DEFAULT_BYTES
    assert len(logged) == 1 and "nvidia-smi" in logged[0] and "4 GiB" in logged[0]
    on_gpu = run.fit_to_device(large_run, plannable)
    side = memory.gpu_tile_side(memory.GPU_DEFAULT_BYTES, "lbfgs")
    assert large_run.stages[-1].tile_pixels > side**2 == on_gpu.stages[-1].tile_pixels


@pytest.mark.parametrize("scale, longest", [(0.5, 256), (1.0, 512), (1.5, 768), (2.0, 1024)])
def test_style_scale_sizes_the_style_image_against_the_working_size(scale, longest):
    """`--style-scale` (the plugin's *Stroke size*): the style is worked out at that many times the
    working size, so its strokes come out that much bigger or smaller; the content is untouched."""
    (stage,) = schedule.plan((1024, 768), [(1024, 640)], preset("balanced", style_scale=scale), 16 * GIB)
    assert stage.size == (512, 384)
    assert max(stage.style_sizes[0]) == longest
