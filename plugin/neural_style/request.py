"""The engine's command line for one run, built without Qt (so it can be tested anywhere).

:class:`EngineRequest` holds everything one engine run needs; :meth:`EngineRequest.arguments` is
the argument list that :class:`neural_style.engine.EngineProcess` hands to ``QProcess`` (never a
shell). The options are the engine's (``python -m nst_engine run --help``, docs/protocol.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field


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
    preserve_colors: bool = False
    max_size: int | None = None  # working size (longest side, px); None = the preset's
    full_resolution: bool = False  # refine up to the content's own pixel size, in tiles
    weights: str = ""
    mask: str = ""
    preview_path: str = ""
    preview_every: int = 10
    extra: dict = field(default_factory=dict)  # any other engine option: max_size=256 -> --max-size 256

    def arguments(self) -> list[str]:
        args = ["-m", "nst_engine", "run", "--content", self.content, "--style", self.style]
        args += ["--output", self.output, "--progress", "json", "--preset", self.preset]
        args += ["--strength", _num(self.strength)]
        if self.seed is not None:
            args += ["--seed", str(int(self.seed))]
        if self.max_size:
            args += ["--max-size", str(int(self.max_size))]
        if self.full_resolution:
            args.append("--full-resolution")
        if self.weights:
            args += ["--weights", self.weights]
        if self.preview_path and self.preview_every > 0:
            args += ["--preview-every", str(int(self.preview_every))]
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


def _num(value: float) -> str:
    return repr(float(value)) if isinstance(value, float) else str(value)
