"""Debian's Chromium for Playwright, as the browser tests and benchmark 8 launch it.

Nothing is downloaded: Playwright's own browser download does not work here, so it
drives the system Chromium through ``executable_path`` with these flags.
"""

from __future__ import annotations

import os
import shutil

CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str | None:
    """The Chromium binary to drive: TRYON_CHROMIUM, else chromium on PATH."""
    explicit = os.environ.get("TRYON_CHROMIUM")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    return shutil.which("chromium") or shutil.which("chromium-browser")
