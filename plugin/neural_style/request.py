"""The engine's command line for one run, built without Qt (so it can be tested anywhere).

:class:`EngineRequest` holds everything one engine run needs; :meth:`EngineRequest.arguments` is
the argument list that :class:`neural_style.engine.EngineProcess` hands to ``QProcess`` (never a
shell), and :meth:`EngineRequest.run_arguments` the job line that a warm engine
(:func:`standby_arguments`) receives on stdin. The options are the engine's
(``python -m nst_engine run --help``, docs/protocol.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

PREVIEW_SECONDS = 2.0
"""At most one preview image this often. On a CPU the preset's interval in evaluations
(`config.PREVIEW_EVERY`) is longer anyway: the 5 evaluations between two previews of `balanced`
take about 4½ to 14 s. On a fast GPU 10 evaluations take about 40 ms (the PyTorch port on an H200,
docs/performance.md), and writing a 512 px preview about 30: every 5 or 10 evaluations, previews
would nearly double the run."""


@dataclass
class EngineRequest:
    """Everything one engine run needs; :meth:`arguments` builds the command line."""

    python: str
    content: str
    style: str
    output: str
    preset: str = "balanced"
    strength: float = 1.0
    seed: int | None = None
    init: str | None = None  # "noise": start from noise made from ``seed``; None = the engine's, the layer
    style_scale: float | None = None  # the style's brush strokes, bigger above 1 (``--style-scale``); None = 1
    blend_style: str | None = None  # a second style blended in (a second ``--style``); None = one style
    blend_mix: float = 0.5  # the second style's share of the blend, 0..1 (``--style-weights 1-mix,mix``)
    preserve_colors: bool = False
    max_size: int | None = None  # working size (longest side, px); None = the preset's
    full_resolution: bool = False  # refine up to the content's own pixel size, in tiles
    weights: str = ""
    mask: str = ""
    preview_path: str = ""
    preview_every: int = 10
    preview_seconds: float = PREVIEW_SECONDS
    extra: dict = field(default_factory=dict)  # any other engine option: iterations=50 -> --iterations 50

    def arguments(self) -> list[str]:
        """The whole command line after the interpreter: ``-m nst_engine run ...``."""
        return ["-m", "nst_engine", "run", *self.run_arguments()]

    def run_arguments(self) -> list[str]:
        """The ``run`` options alone: what a standby engine receives as its job line."""
        args = ["--content", self.content, "--style", self.style]
        if self.blend_style:
            mix = float(self.blend_mix)
            args += ["--style", self.blend_style, "--style-weights", f"{_share(1.0 - mix)},{_share(mix)}"]
        args += ["--output", self.output, "--progress", "json", "--preset", self.preset]
        args += ["--strength", _num(self.strength)]
        if self.seed is not None:
            args += ["--seed", str(int(self.seed))]
        if self.init:
            args += ["--init", str(self.init)]
        if self.style_scale is not None:
            args += ["--style-scale", _num(float(self.style_scale))]
        if self.max_size:
            args += ["--max-size", str(int(self.max_size))]
        if self.full_resolution:
            args.append("--full-resolution")
        if self.weights:
            args += ["--weights", self.weights]
        if self.preview_path and self.preview_every > 0:
            args += ["--preview-every", str(int(self.preview_every))]
            args += ["--preview-seconds", _num(float(self.preview_seconds))]
            args += ["--preview-path", self.preview_path]
        if self.preserve_colors:
            args.append("--preserve-colors")
        if self.mask:
            args += ["--mask", self.mask, "--mask-output", "cutout"]
        for key, value in self.extra.items():
            flag = "--" + key.replace("_", "-")
            if value is True:
                args.append(flag)
            elif value is not None and value is not False:
                args += [flag, _num(value) if isinstance(value, float) else str(value)]
        return args


def standby_arguments(weights: str, idle_timeout: float) -> list[str]:
    """The command line of a warm engine that loads now and waits for its job on stdin for up to
    ``idle_timeout`` seconds (the caller's policy: ``engine.STANDBY_IDLE_S``)."""
    args = ["-m", "nst_engine", "standby", "--idle-timeout", _num(float(idle_timeout))]
    return args + (["--weights", weights] if weights else [])


def _share(value: float) -> str:
    """A blend weight without float noise: 1 - 0.7 is ``0.3``, not ``0.30000000000000004``."""
    return f"{round(value, 6):g}"


def _num(value: float) -> str:
    return repr(float(value)) if isinstance(value, float) else str(value)
