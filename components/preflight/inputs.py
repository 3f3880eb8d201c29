"""Reading the preflight's input files: text in any encoding YAML allows, YAML documents, JSON.

Every way a file can fail to be read (missing, a directory, not text, an encoding error, bad
syntax) is a PreflightError naming the file, so the command exits 2 with a message, never a
traceback. YAML 1.2 allows UTF-8, UTF-16 and UTF-32; with a byte-order mark the encoding is
unambiguous and the file is simply decoded (editors on Windows save UTF-16 with one).
"""

from __future__ import annotations

import codecs
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from .errors import PreflightError

# Longest mark first: the UTF-32 LE mark begins with the UTF-16 LE one.
_BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"),
)
STDIN = "-"


def decode(data: bytes, name: str) -> str:
    """Text of a file's bytes: by its byte-order mark if it has one, else strict UTF-8."""
    mark, encoding, shown = next((found for found in _BYTE_ORDER_MARKS if data.startswith(found[0])),
                                 (b"", "utf-8", "UTF-8"))
    try:
        text = data[len(mark):].decode(encoding)
    except UnicodeDecodeError as error:
        offset = len(mark) + error.start
        hint = ("; NUL bytes suggest UTF-16 without a byte-order mark, or a binary file" if not mark and b"\x00" in data
                else "")
        raise PreflightError(
            f"{name}: cannot read: not {shown} text (byte 0x{data[offset]:02x} at offset "
            f"{offset}: {error.reason}){hint}; save it as UTF-8") from None
    if "\x00" in text:
        raise PreflightError(f"{name}: cannot read: it holds NUL characters, so it is a binary file (or UTF-16 "
                             "without a byte-order mark), not YAML or JSON text")
    return text


def read_text(path: str) -> str:
    """A file's text (`-` is standard input), or a PreflightError saying why it cannot be read."""
    name = "standard input" if path == STDIN else path
    try:
        if path == STDIN:
            buffer = getattr(sys.stdin, "buffer", None)
            data: bytes | str = buffer.read() if buffer is not None else sys.stdin.read()
        else:
            data = Path(path).read_bytes()
    except OSError as error:
        raise PreflightError(f"{name}: cannot read: {error.strerror or error}") from None
    except UnicodeDecodeError as error:  # a text-mode stdin replaced by the caller
        raise PreflightError(f"{name}: cannot read: not UTF-8 text ({error.reason})") from None
    return decode(data, name) if isinstance(data, bytes) else data


def read_yaml_documents(path: str) -> list[Any]:
    """The YAML documents of a file, or a PreflightError saying why not."""
    text = read_text(path)
    try:
        return list(yaml.safe_load_all(text))
    # ValueError: PyYAML builds dates and timestamps with datetime, which refuses e.g. 2026-13-01.
    except (yaml.YAMLError, ValueError, RecursionError) as error:
        raise PreflightError(f"{path}: not valid YAML: {error}") from None


def read_json(path: str) -> Any:
    text = read_text(path)
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        raise PreflightError(f"{path}: not JSON: {error}") from None
