"""Protocol exceptions; every one is a :class:`ProtocolError`."""

__all__ = [
    "ContinuationError",
    "DecodeError",
    "EncodeError",
    "HandshakeError",
    "PoisonedError",
    "ProtocolError",
    "ServerFailure",
    "StreamError",
]


class ProtocolError(Exception):
    """Base of the protocol errors; ``dqliteclient.ProtocolError`` derives from it too."""


class EncodeError(ProtocolError):
    """A value cannot be put on the wire."""


class DecodeError(ProtocolError):
    """Bytes from the server cannot be decoded."""


class StreamError(ProtocolError):
    """The byte stream is at an unknown position; the connection must be dropped.

    ``frame_count`` and ``total_rows`` tell how much of a result had been read.
    """

    frame_count: int
    total_rows: int

    def __init__(self, msg: str, *, frame_count: int = 0, total_rows: int = 0) -> None:
        super().__init__(msg)
        self.frame_count = frame_count
        self.total_rows = total_rows


class PoisonedError(StreamError):
    """An earlier failure left the stream unusable; ``__cause__`` holds that failure."""


class HandshakeError(ProtocolError):
    """The protocol handshake is missing, repeated, or names an unknown version."""


class ContinuationError(ProtocolError):
    """The frames of a result were read out of order."""


class ServerFailure(ProtocolError):
    """The server answered with a failure in the middle of a result.

    ``code`` is the server's error code and ``message`` its text.
    """

    code: int
    message: str

    def __init__(self, code: int, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(code, message)

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"
