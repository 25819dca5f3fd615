"""Type stubs for the native core of dqlitedbapi."""

__version__: str
PROTOCOL_VERSION: int
