"""Which files a load reads, what kind of file each one is, and facts about its bytes.

A load is given one path: a file, or a folder whose supported files (searched recursively,
hidden ones ignored) are all loaded. Each file has a *container* (CSV text, an Excel workbook
or Parquet), taken from ``--format`` or the file extension and checked against the file's
first bytes, so that a file that is not what its extension says is an error, not garbage.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from segmentation.loading.errors import LoadError

Container = Literal["csv", "excel", "parquet"]

# --format values: two known column layouts (container from the extension) and three containers
# (column layout detected from the header, or given by a mapping).
FORMAT_CHOICES: tuple[str, ...] = ("uci", "uci2", "csv", "parquet", "excel")
LAYOUT_FORMATS: tuple[str, ...] = ("uci", "uci2")

EXTENSIONS: dict[str, Container] = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".parquet": "parquet",
    ".pq": "parquet",
}

CHUNK_BYTES = 1 << 20
HEAD_BYTES = 1 << 16
ZIP_MAGIC = b"PK\x03\x04"
PARQUET_MAGIC = b"PAR1"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls (and other old Office files)
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


@dataclass(frozen=True)
class SourceFile:
    """One file of a load.

    ``name`` is the path as the user gave it (joined with the path inside a given folder),
    normalised and with forward slashes: it is what ``raw.load_log.file_path`` and
    ``raw.transactions.source_file`` record, so it does not depend on the machine.
    """

    path: Path
    name: str
    container: Container


@dataclass(frozen=True)
class FileFacts:
    """What the bytes of a file say: checksum, size and (for text) its encoding."""

    checksum: str
    size: int
    encoding: str | None
    encoding_guessed: bool = False


def display_name(path: Path) -> str:
    """``path`` as given, normalised (no ``./``, forward slashes), never resolved."""
    return Path(os.path.normpath(path)).as_posix()


def container_for(path: Path, fmt: str | None) -> Container:
    """The container of ``path``: stated by ``fmt`` (csv/excel/parquet) or from its extension."""
    if fmt in ("csv", "excel", "parquet"):
        return fmt  # type: ignore[return-value]
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise LoadError(
            f"{display_name(path)}: legacy Excel .xls workbooks are not supported; "
            "save it as .xlsx or CSV"
        )
    if suffix not in EXTENSIONS:
        known = ", ".join(sorted(EXTENSIONS))
        raise LoadError(
            f"{display_name(path)}: unknown file type {suffix or '(no extension)'!r}; "
            f"supported extensions are {known}, or state the type with --format csv|excel|parquet"
        )
    return EXTENSIONS[suffix]


def discover_files(path: Path, fmt: str | None = None) -> tuple[list[SourceFile], list[str]]:
    """The files a load of ``path`` reads, sorted by name, and the names it ignores.

    A file path is always read (its container must be known); in a folder, files with a
    supported extension are read (every non-hidden file when ``fmt`` states a container) and
    the others are listed as ignored.
    """
    if not path.exists():
        raise LoadError(f"{display_name(path)}: no such file or folder")
    if path.is_file():
        return [SourceFile(path, display_name(path), container_for(path, fmt))], []
    if not path.is_dir():
        raise LoadError(f"{display_name(path)}: not a regular file or folder")
    files: list[SourceFile] = []
    ignored: list[str] = []
    for child in sorted(p for p in path.rglob("*") if p.is_file()):
        relative = child.relative_to(path)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if fmt in ("csv", "excel", "parquet") or child.suffix.lower() in EXTENSIONS:
            files.append(SourceFile(child, display_name(child), container_for(child, fmt)))
        else:
            ignored.append(display_name(child))
    if not files:
        raise LoadError(
            f"{display_name(path)}: the folder holds no loadable files "
            f"(looked for {', '.join(sorted(EXTENSIONS))})"
        )
    return files, ignored


def inspect_file(source: SourceFile, encoding: str | None = None) -> FileFacts:
    """Checksum the file and check that its bytes match its container.

    For CSV text the encoding is also settled: ``encoding`` when given (checked to decode),
    else UTF-8 (with or without a byte-order mark), UTF-16 when a UTF-16 byte-order mark is
    present, else Windows-1252, else Latin-1, with a note saying which was used.
    """
    digest = hashlib.sha256()
    size = 0
    head = b""
    tail = b""
    decoder = _decoder_for(encoding) if encoding else None
    utf8 = codecs.getincrementaldecoder("utf-8")()
    is_utf8 = True
    with source.path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
            if len(head) < HEAD_BYTES:
                head += chunk[: HEAD_BYTES - len(head)]
            tail = (tail + chunk)[-8:]
            size += len(chunk)
            if source.container != "csv":
                continue
            if decoder is not None:
                _decode_or_fail(decoder, chunk, source, encoding, size - len(chunk))
            elif is_utf8:
                try:
                    utf8.decode(chunk)
                except UnicodeDecodeError:
                    is_utf8 = False
    if decoder is not None and source.container == "csv":
        _decode_or_fail(decoder, b"", source, encoding, size, final=True)
    if source.container == "csv" and is_utf8 and decoder is None:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            is_utf8 = False
    _check_signature(source, head, tail, size)
    if source.container != "csv":
        return FileFacts(digest.hexdigest(), size, None)
    if encoding:
        return FileFacts(digest.hexdigest(), size, _canonical_encoding(encoding))
    if head.startswith(UTF16_BOMS):
        return FileFacts(digest.hexdigest(), size, "utf-16")
    if is_utf8:
        return FileFacts(digest.hexdigest(), size, "utf-8")
    fallback = "cp1252" if _decodes(source.path, "cp1252") else "latin-1"
    return FileFacts(digest.hexdigest(), size, fallback, encoding_guessed=True)


def _decoder_for(encoding: str) -> codecs.IncrementalDecoder:
    try:
        return codecs.getincrementaldecoder(encoding)()
    except LookupError as error:
        raise LoadError(f"unknown text encoding {encoding!r} (--encoding)") from error


def _canonical_encoding(encoding: str) -> str:
    return codecs.lookup(encoding).name


def _decode_or_fail(
    decoder: codecs.IncrementalDecoder,
    chunk: bytes,
    source: SourceFile,
    encoding: str | None,
    offset: int,
    final: bool = False,
) -> None:
    try:
        decoder.decode(chunk, final=final)
    except UnicodeDecodeError as error:
        raise LoadError(
            f"{source.name}: not valid {encoding} text: byte "
            f"0x{error.object[error.start]:02x} at offset {offset + error.start:,} "
            "cannot be decoded; state the file's encoding with --encoding"
        ) from error


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK_BYTES):
                decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _looks_like(head: bytes) -> str:
    """A short guess at what a file is, from its first bytes, for error messages."""
    if head.startswith(ZIP_MAGIC):
        return "a zip archive (an Excel .xlsx workbook?)"
    if head.startswith(PARQUET_MAGIC):
        return "a Parquet file"
    if head.startswith(OLE_MAGIC):
        return "a legacy Office file (an Excel .xls workbook?)"
    if b"\x00" in head and not head.startswith(UTF16_BOMS):
        return "binary data"
    return "text (a CSV file?)"


def _check_signature(source: SourceFile, head: bytes, tail: bytes, size: int) -> None:
    """Raise when the file is empty or its first bytes contradict its container."""
    if size == 0 or (source.container == "csv" and size <= len(head) and not head.strip()):
        raise LoadError(f"{source.name}: the file is empty")
    what = _looks_like(head)
    if source.container == "csv":
        if not what.startswith("text"):
            raise LoadError(f"{source.name}: expected CSV text but the file is {what}")
        return
    if source.container == "parquet":
        if not (head.startswith(PARQUET_MAGIC) and tail.endswith(PARQUET_MAGIC) and size >= 12):
            raise LoadError(f"{source.name}: expected a Parquet file but the file is {what}")
        return
    if not head.startswith(ZIP_MAGIC):
        raise LoadError(f"{source.name}: expected an Excel .xlsx workbook but the file is {what}")
    try:
        with zipfile.ZipFile(source.path) as archive:
            names = set(archive.namelist())
    except zipfile.BadZipFile as error:
        raise LoadError(f"{source.name}: not a readable .xlsx workbook ({error})") from error
    if "xl/workbook.xml" not in names:
        raise LoadError(f"{source.name}: a zip archive but not an Excel .xlsx workbook")
