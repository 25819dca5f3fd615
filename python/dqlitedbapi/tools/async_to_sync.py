"""Generates dqlitedbapi's blocking modules from their asyncio sources.

The asyncio classes are the source: ``src/dqlitedbapi/aio/connection.py`` gives
``src/dqlitedbapi/connection.py``, ``aio/cursor.py`` gives ``cursor.py``, and
``tests/test_api_async.py`` gives ``tests/test_api_sync.py``. The transformation, on the
source text (comments and layout are kept), is:

* ``await`` is removed; ``async def``, ``async with`` and ``async for`` lose ``async``;
* names are mapped (``AsyncConnection`` -> ``Connection``, ``aexecute`` -> ``execute``,
  ``__aenter__`` -> ``__enter__``, ...; see ``RENAMES``), in code, docstrings and comments,
  and ``dqlitedbapi.aio.`` module paths lose ``aio.``;
* ``if True:  # ASYNC`` keeps its body in the asyncio source only; the blocking module
  gets the ``else:`` body (or nothing);
* any other statement whose first line ends with ``# ASYNC`` (with its body) is dropped
  (a decorator line so marked drops the decorated definition);
* a docstring paragraph that starts with ``asyncio:`` or ``Source of`` is dropped.

The result is formatted with ruff. ``--check`` exits with status 1 and prints a diff when a
generated file is not what the tool would write (the test command runs it).

Usage: python tools/async_to_sync.py [--check]  (from python/dqlitedbapi)
"""

from __future__ import annotations

import difflib
import io
import re
import shutil
import subprocess
import sys
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PAIRS = [
    ("src/dqlitedbapi/aio/connection.py", "src/dqlitedbapi/connection.py"),
    ("src/dqlitedbapi/aio/cursor.py", "src/dqlitedbapi/cursor.py"),
    ("tests/test_api_async.py", "tests/test_api_sync.py"),
]

RENAMES = {
    "AsyncConnection": "Connection",
    "AsyncCursor": "Cursor",
    "AsyncIterator": "Iterator",
    "AsyncGenerator": "Generator",
    "StopAsyncIteration": "StopIteration",
    "asynccontextmanager": "contextmanager",
    "__aenter__": "__enter__",
    "__aexit__": "__exit__",
    "__aiter__": "__iter__",
    "__anext__": "__next__",
    "aconnect": "connect",
    "aexecute": "execute",
    "aexecutemany": "executemany",
    "aexecutescript": "executescript",
    "aend_transaction": "end_transaction",
    "afetch": "fetch",
    "aclose": "close",
    "connect_async": "connect",
    "asyncio API": "blocking API",
    # tests
    "aconn": "conn",
    "acursor": "cursor",
}

HEADER = "# Generated from {source} by tools/async_to_sync.py: do not edit.\n"

_MARKER = "# ASYNC"
_ASYNC_OF = ("def", "with", "for")
_ASYNC_PARAGRAPH = re.compile(
    r"\n\n[ \t]*(?:asyncio:|Source of )(?:.|\n)*?(?=\n\n|\n[ \t]*\"\"\"$)"
)
_WORD = re.compile(r"\b(" + "|".join(re.escape(k) for k in RENAMES) + r")\b")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _block_end(lines: list[str], start: int) -> int:
    """The index after the statement starting at ``lines[start]`` (with its body).

    A decorator line takes the decorated definition with it.
    """
    while lines[start].lstrip().startswith("@") and start + 1 < len(lines):
        start += 1
    base = _indent(lines[start])
    end = start + 1
    # A bracketed first line continues until its brackets close.
    depth = sum(lines[start].count(c) for c in "([{") - sum(lines[start].count(c) for c in ")]}")
    while depth > 0 and end < len(lines):
        depth += sum(lines[end].count(c) for c in "([{") - sum(lines[end].count(c) for c in ")]}")
        end += 1
    while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > base):
        end += 1
    # Trailing blank lines belong to what follows.
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    return end


def _strip_async_blocks(text: str) -> str:
    """Applies the ``# ASYNC`` markers."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.rstrip().endswith(_MARKER):
            out.append(line)
            i += 1
            continue
        end = _block_end(lines, i)
        if line.strip() == "if True:  " + _MARKER:
            base = _indent(line)
            if end < len(lines) and lines[end].strip() == "else:" and _indent(lines[end]) == base:
                else_end = _block_end(lines, end)
                for body in lines[end + 1 : else_end]:
                    out.append(body[4:] if body.strip() else body)
                end = else_end
        i = end
        # A dropped method leaves its blank separator line: keep one only.
        if out and not out[-1].strip() and i < len(lines) and not lines[i].strip():
            i += 1
    return "".join(out)


def _transform_tokens(text: str) -> str:
    """Removes ``await``/``async`` and maps names."""
    lines = text.splitlines(keepends=True)
    edits: list[tuple[int, int, int, str]] = []  # (row, col_start, col_end, replacement)
    tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    for i, tok in enumerate(tokens):
        (row, col), (end_row, end_col) = tok.start, tok.end
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if (
            tok.type == tokenize.NAME
            and nxt is not None
            and (tok.string == "await" or (tok.string == "async" and nxt.string in _ASYNC_OF))
        ):
            edits.append((row, col, nxt.start[1], ""))
        elif tok.type == tokenize.NAME and tok.string in RENAMES:
            edits.append((row, col, end_col, RENAMES[tok.string]))
        elif (
            tok.type == tokenize.NAME
            and tok.string == "aio"
            and i >= 2
            and tokens[i - 1].string == "."
            and tokens[i - 2].string == "dqlitedbapi"
            and nxt is not None
        ):
            # dqlitedbapi.aio.x -> dqlitedbapi.x; from dqlitedbapi.aio import -> from dqlitedbapi
            if nxt.string == ".":
                edits.append((row, col, nxt.end[1], ""))
            else:
                edits.append((row, tokens[i - 1].start[1], end_col, ""))
        elif tok.type in (tokenize.STRING, tokenize.COMMENT) and row == end_row:
            new = _WORD.sub(lambda m: RENAMES[m.group(1)], tok.string)
            new = new.replace("dqlitedbapi.aio.", "dqlitedbapi.")
            if new != tok.string:
                edits.append((row, col, end_col, new))
        elif tok.type == tokenize.STRING:
            # A multi-line string (docstring): map its words line by line.
            new = _ASYNC_PARAGRAPH.sub("", tok.string)
            new = _WORD.sub(lambda m: RENAMES[m.group(1)], new)
            new = new.replace("dqlitedbapi.aio.", "dqlitedbapi.")
            if new != tok.string:
                first = lines[row - 1][:col]
                last = lines[end_row - 1][end_col:]
                lines[row - 1] = first + new + last
                for r in range(row, end_row):
                    lines[r] = ""
    for row, start, end, replacement in sorted(edits, reverse=True):
        line = lines[row - 1]
        lines[row - 1] = line[:start] + replacement + line[end:]
    return "".join(lines)


def _ruff() -> str:
    found = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if found is None:
        raise SystemExit("async_to_sync: ruff is needed (pip install ruff)")
    return found


def _format(text: str, target: Path) -> str:
    ruff = _ruff()
    name = str(target.relative_to(ROOT))
    fixed = subprocess.run(
        [ruff, "check", "--quiet", "--fix-only", "--stdin-filename", name],
        input=text,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    return subprocess.run(
        [ruff, "format", "--quiet", "--stdin-filename", name],
        input=fixed,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout


def generate(source: Path, target: Path) -> str:
    """The blocking module generated from ``source``."""
    text = _transform_tokens(_strip_async_blocks(source.read_text()))
    header = HEADER.format(source=source.relative_to(ROOT))
    return _format(header + text, target)


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for source_name, target_name in PAIRS:
        source, target = ROOT / source_name, ROOT / target_name
        text = generate(source, target)
        current = target.read_text() if target.exists() else ""
        if text == current:
            continue
        if check:
            stale.append(target_name)
            sys.stdout.writelines(
                difflib.unified_diff(
                    current.splitlines(keepends=True),
                    text.splitlines(keepends=True),
                    fromfile=f"{target_name} (committed)",
                    tofile=f"{target_name} (generated from {source_name})",
                )
            )
        else:
            target.write_text(text)
            print(f"async_to_sync: wrote {target_name}")
    if stale:
        print(f"async_to_sync: stale: {', '.join(stale)}; run python tools/async_to_sync.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
