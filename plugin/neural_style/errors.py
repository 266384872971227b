"""The one exception the plugin raises for the painter."""

from __future__ import annotations


class StyleError(Exception):
    """A problem the painter can understand: ``code`` for programs, the message for people, and
    ``details`` (the engine's own words, a traceback) for whoever reports it."""

    def __init__(self, message: str, code: str = "invalid", details: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.details = details

    @property
    def message(self) -> str:
        return str(self)
