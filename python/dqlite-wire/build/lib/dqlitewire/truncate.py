"""Capping the verbatim server text that exceptions keep."""

from typing import Final

__all__ = ["DEFAULT_MAX_RAW_MESSAGE", "cap_raw_message"]

DEFAULT_MAX_RAW_MESSAGE: Final[int] = 4 * 1024
"""Default cap, in characters, on the verbatim server text an exception keeps."""


def cap_raw_message(raw_message: str | None, max_chars: int) -> str | None:
    """``raw_message`` cut to ``max_chars`` characters, saying how many were dropped.

    ``None`` and short texts are returned as they are. A length cap only: the text is not
    sanitized. Raises ``ValueError`` for a negative cap.
    """
    if max_chars < 0:
        raise ValueError(f"max_chars must be >= 0, got {max_chars}")
    if raw_message is None or len(raw_message) <= max_chars:
        return raw_message
    dropped = len(raw_message) - max_chars
    return f"{raw_message[:max_chars]}... [raw_message truncated, {dropped} codepoints]"
