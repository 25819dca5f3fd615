"""dqlitewire against the native extension, and the client's exceptions."""

from __future__ import annotations

import pickle

import dqlitewire
from dqliteclient import OperationalError, ProtocolError
from dqlitedbapi import _native


def test_protocol_version_is_the_native_one() -> None:
    assert dqlitewire.PROTOCOL_VERSION == _native.PROTOCOL_VERSION


def test_client_exceptions_are_wire_protocol_errors_and_pickle() -> None:
    assert issubclass(ProtocolError, dqlitewire.ProtocolError)
    exc = OperationalError("x\x00y", 19, raw_message="raw")
    copy = pickle.loads(pickle.dumps(exc))
    assert (copy.message, copy.code, copy.raw_message) == ("x?y", 19, "raw")
