"""Text from outside the shop (a provider's reason, a task id, a download's error) made
safe to show on a terminal, in a log line or on a page.

A provider's words are the provider's: a hostile or broken one can send escape sequences
that retitle or clear an operator's terminal, bidirectional overrides that make a line
read backwards, or megabytes of text. ``plain`` keeps the words and drops the rest.
"""

from __future__ import annotations

import re

#: C0 and C1 controls (ESC, BEL, CR ...), DEL, zero-width and bidirectional controls.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def plain(text, limit: int = 500) -> str:
    """``text`` on one line, without control characters, at most ``limit`` characters."""
    words = " ".join(_CONTROLS.sub(" ", str(text)).split())
    return words if len(words) <= limit else words[: limit - 1] + "…"
