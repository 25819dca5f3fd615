"""Making server-supplied text safe to show and to log."""

import re
from typing import Final

__all__ = ["sanitize_for_log", "sanitize_server_text"]

# C0 and C1 controls but tab and line feed, and the invisible or direction-changing
# characters a hostile server could use to disguise text on a terminal or in a log.
_UNSAFE: Final[re.Pattern[str]] = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u1680\u180e\u200b-\u200f\u2028\u2029"
    "\u202a-\u202e\u202f\u2060\u2066-\u2069\ufeff]"
)


def sanitize_server_text(text: str) -> str:
    """``text`` with control, invisible and bidirectional characters replaced by ``?``.

    Tabs and line feeds are kept; see :func:`sanitize_for_log` for log lines.
    """
    return _UNSAFE.sub("?", text)


def sanitize_for_log(text: str) -> str:
    """Like :func:`sanitize_server_text`, with line feeds and tabs escaped (one log line)."""
    return sanitize_server_text(text).replace("\n", "\\n").replace("\t", "\\t")
