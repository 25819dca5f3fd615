"""The constants and helpers of dqlitewire."""

from __future__ import annotations

import pytest

import dqlitewire
from dqlitewire import NodeInfo, NodeRole


def test_codes_and_helpers() -> None:
    assert dqlitewire.primary_sqlite_code(dqlitewire.SQLITE_IOERR_NOT_LEADER) == 10
    assert dqlitewire.primary_sqlite_code(dqlitewire.DQLITE_PARSE) == dqlitewire.DQLITE_PARSE
    assert dqlitewire.is_dqlite_namespace_code(1001)
    assert not dqlitewire.is_dqlite_namespace_code(10250)
    assert dqlitewire.SQLITE_IOERR_LEADERSHIP_LOST in dqlitewire.LEADER_ERROR_CODES


def test_node_info_checks_and_coerces() -> None:
    assert NodeInfo(1, "a:1", 2).role is NodeRole.SPARE  # type: ignore[arg-type]
    with pytest.raises(dqlitewire.EncodeError):
        NodeInfo(0, "a:1", NodeRole.VOTER)
    with pytest.raises(dqlitewire.EncodeError):
        NodeInfo(1, "", NodeRole.VOTER)
    with pytest.raises(dqlitewire.EncodeError):
        NodeInfo(1, "a:1", 7)  # type: ignore[arg-type]


def test_text_helpers() -> None:
    assert dqlitewire.sanitize_server_text("a\x1b[31mb\u202ec\n\td") == "a?[31mb?c\n\td"
    assert dqlitewire.sanitize_for_log("a\nb\tc") == "a\\nb\\tc"
    assert dqlitewire.cap_raw_message("abcdef", 3) == "abc... [raw_message truncated, 3 codepoints]"
    assert dqlitewire.cap_raw_message(None, 3) is None
