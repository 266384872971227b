"""The dialog's settings store, in memory, for tests inside and outside Krita."""

from __future__ import annotations

import json


class MemorySettings:
    """The dialog's settings store, in memory: the tests never touch Krita's own settings."""

    def __init__(self):
        self.values = {}

    def get(self, key, default=""):
        return self.values.get(key, default)

    def set(self, key, value):
        self.values[key] = "" if value is None else str(value)

    def get_list(self, key):
        return json.loads(self.values.get(key, "[]"))

    def set_list(self, key, values):
        self.values[key] = json.dumps(list(values))
