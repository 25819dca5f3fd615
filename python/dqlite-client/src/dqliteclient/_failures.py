"""The native layer's failures as the client's exceptions.

``dqlitedbapi._native.ClientFailure`` carries data; the exceptions are worded as the
pure-Python client words them.
"""

from dqliteclient.exceptions import (
    ClusterError,
    ClusterPolicyError,
    DataError,
    DqliteConnectionError,
    DqliteError,
    InterfaceError,
    OperationalError,
    OutcomeUnknownError,
    ProtocolError,
)
from dqlitedbapi._native import ClientFailure
from dqlitewire import WIRE_DECODE_FAILED_PREFIX, sanitize_for_log

__all__ = ["ClientFailure", "connect_error", "request_error"]

# Kinds whose failure is the server's answer to a request (it carries a code).
_ANSWERS = frozenset({"sql", "busy", "constraint", "not_leader", "outcome_unknown"})


def connect_error(
    failure: ClientFailure, address: str, dial_timeout: float, attempt_timeout: float
) -> DqliteError:
    """The exception for ``failure`` while dialing, handshaking and opening ``address``."""
    where = sanitize_for_log(address)
    kind, code, text = failure.kind, failure.code, failure.message
    if kind == "timeout":
        return DqliteConnectionError(
            f"Connection to {where} timed out (dial_timeout={dial_timeout}s)"
        )
    if kind == "attempt_timeout":
        return DqliteConnectionError(
            f"Handshake with {where} timed out (attempt_timeout={attempt_timeout}s)"
        )
    if kind == "transport":
        return DqliteConnectionError(f"Failed to connect to {where}: {text}")
    if kind in ("not_leader", "outcome_unknown") and code is not None:
        return DqliteConnectionError(
            f"Node {where} is no longer leader: {text}", code=code, raw_message=failure.raw_message
        )
    if kind == "protocol":
        return DqliteConnectionError(
            f"{WIRE_DECODE_FAILED_PREFIX} during handshake to {where}: {text}",
            raw_message=failure.raw_message or text,
        )
    return request_error(failure, address)


def request_error(failure: ClientFailure, address: str | None = None) -> DqliteError:
    """The exception for ``failure`` of a request (to ``address``, when known)."""
    kind, code, text = failure.kind, failure.code, failure.message
    suffix = f" to {sanitize_for_log(address)}" if address else ""
    if kind in _ANSWERS and code is not None:
        body = text if text.strip() else "(no diagnostic from server)"
        return OperationalError(body + suffix, code, raw_message=failure.raw_message)
    if kind in ("row_cap", "protocol", "invalid_data"):
        return ProtocolError(f"{text}{suffix}")
    if kind in ("encode", "invalid_input"):
        return DataError(text)
    if kind == "policy":
        target = failure.address or ""
        return ClusterPolicyError(
            f"redirect to {sanitize_for_log(target)!r} rejected by the redirect policy"
        )
    if kind == "refused":
        # The client's own refusal (the last voter's vote taken away): nothing was sent.
        return ClusterPolicyError(text)
    if kind in ("no_nodes", "config"):
        return ClusterError(text)
    if kind == "no_leader":
        return ClusterError(f"Could not find leader. Errors: {sanitize_for_log(text)}")
    if kind == "unsupported":
        return InterfaceError(text)
    if kind == "outcome_unknown":
        # A transport failure or a deadline after the request was sent (no server code).
        return OutcomeUnknownError(f"{text}{suffix}", raw_message=failure.raw_message)
    return DqliteConnectionError(f"{text}{suffix}", code=code, raw_message=failure.raw_message)
