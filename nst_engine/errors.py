"""Errors that reach the user: each carries a stable code, an exit code and a one-line message.

The CLI turns these into the `error` event of the protocol (docs/protocol.md), so every failure a
painter can cause or fix has a message that says what is wrong and what to do about it.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2
EXIT_WEIGHTS = 3
EXIT_CANCELLED = 4


class EngineError(Exception):
    """Base class: `code` is stable and machine-readable, the message is for people. An error
    about one of the images also says which (`input`: "content", "style" or "mask", its
    `path` where the error concerns the file, and for a style its `index` among the --style
    images), so that a front end need not parse the message to
    tell a file it wrote itself from the user's."""

    code = "internal"
    exit_code = EXIT_INTERNAL

    def __init__(
        self, message: str, code: str | None = None, *, input_role: str = "", path: str = "", index: int | None = None
    ) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.input_role = input_role
        self.path = path
        self.index = index  # which --style, from 0, for a style image

    @property
    def message(self) -> str:
        return str(self)


class BadInputError(EngineError):
    """The arguments or the files are wrong; the user can fix them."""

    code = "bad_option"
    exit_code = EXIT_BAD_INPUT


class WeightsError(EngineError):
    """The VGG19 weights are missing, corrupt or could not be fetched."""

    code = "weights_missing"
    exit_code = EXIT_WEIGHTS


class CancelledError(EngineError):
    """The run was cancelled by a signal or by its parent closing stdin."""

    code = "cancelled"
    exit_code = EXIT_CANCELLED

    def __init__(self, message: str = "cancelled: no output was written") -> None:
        super().__init__(message)
