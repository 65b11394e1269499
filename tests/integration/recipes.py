"""Following a page of the docs word for word: its code blocks, run in a fresh project."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.pipeline import ROOT


def code_blocks(page: str, section: str, until: str | None = None) -> dict[str, list[str]]:
    """The fenced code blocks of ``section`` (a heading) of ``page`` (relative to the
    repository), up to ``until`` when given, by language."""
    text = (ROOT / page).read_text().split(section, 1)[1]
    if until is not None:
        text = text.split(until, 1)[0]
    blocks: dict[str, list[str]] = {}
    for language, body in re.findall(r"```(\w+)\n(.*?)```", text, re.S):
        blocks.setdefault(language, []).append(body)
    return blocks


def run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 120):
    """Run a command of the recipe; it must succeed (its output is in the failure)."""
    proc = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert proc.returncode == 0, f"{args}\n{proc.stdout}\n{proc.stderr}"
    return proc
