"""Whether a process still runs: shared by the pytest side and the scenarios run inside Krita.

Standard library only, so that Krita's own Python can import it too.
"""

from __future__ import annotations

import os


def process_alive(pid: int | None) -> bool:
    """True while ``pid`` runs; a zombie (ended, not yet reaped) counts as ended."""
    if not pid:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
