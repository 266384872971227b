"""Filing an action into Krita's menus by their object names: plain Qt, no Krita API, so it can be
tested with either Qt binding outside Krita."""

from __future__ import annotations

from .qt_compat import action_menu


def add_to_menu(qwindow, action, location: str) -> bool:
    """Add ``action`` to the menu at ``location``, a "/"-separated path of the menu bar's menu
    object names compared case-insensitively — the same look-up as ``Window.createAction``'s
    ``menuLocation`` ("tools/scripts"; the Filter menu's object name is "Filter"). Krita 5.1's
    ``createAction`` makes a *new* action on every call (and only files it into the menus after
    ``createActions`` returns), so the second menu is added here instead: one action, one
    shortcut, in both menus."""
    try:
        candidates, menu = qwindow.menuBar().actions(), None
        for name in location.split("/"):
            found = next((c for c in candidates if c.objectName().lower() == name.lower() and action_menu(c)), None)
            if found is None:
                return False
            menu = action_menu(found)
            candidates = menu.actions()
        menu.addAction(action)
        return True
    except Exception:  # noqa: BLE001 - run from a timer: a missing second menu entry is no reason for a traceback
        return False
