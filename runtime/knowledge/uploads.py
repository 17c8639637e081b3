"""Multipart uploads streamed to disk, file by file, with a size limit per file.

The request body is never held in memory: each file part is written to the job's spool
directory as it arrives. A file over the limit stops being written (and is recorded as
rejected) while the parts after it are still read, so one 200 MB file does not cost the
rest of the batch. Parsing is python-multipart's streaming parser.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import IO, Any

from python_multipart.multipart import MultipartParser, parse_options_header

from runtime.errors import BadRequest
from runtime.knowledge.errors import EmptyFile, FileRejected, FileTooLarge, UnsupportedFileType
from runtime.knowledge.extract import check_supported, too_large_message
from runtime.private_files import private_directory, private_file

MAX_FIELD_BYTES = 64 * 1024
MAX_FILES = 500


@dataclass
class SpooledFile:
    name: str
    size: int = 0
    path: Path | None = None
    error: FileRejected | None = None


@dataclass
class SpooledUpload:
    files: list[SpooledFile] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)


def safe_filename(raw: str) -> str:
    """The base name only (browsers on Windows send full paths), without control chars."""
    name = PureWindowsPath(PurePosixPath(raw).name).name
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip()
    return name[:255] or "unnamed"


class _Spooler:
    def __init__(self, directory: Path, max_file_bytes: int) -> None:
        self.directory = directory
        self.max_file_bytes = max_file_bytes
        self.upload = SpooledUpload()
        self._header_field = b""
        self._header_value = b""
        self._headers: dict[str, bytes] = {}
        self._file: SpooledFile | None = None
        self._handle: IO[bytes] | None = None
        self._field_name: str | None = None
        self._field_value = bytearray()

    # python-multipart callbacks --------------------------------------------------------
    def on_part_begin(self) -> None:
        self._headers = {}

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._header_field.decode("latin-1").lower()] = self._header_value
        self._header_field = self._header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get("content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        if filename is None:
            self._field_name, self._field_value = name, bytearray()
            return
        if len(self.upload.files) >= MAX_FILES:
            raise BadRequest(
                f"at most {MAX_FILES} files per upload; split the batch",
                code="too_many_files",
                max_files=MAX_FILES,
            )
        spooled = SpooledFile(safe_filename(filename.decode("utf-8", "replace")))
        self.upload.files.append(spooled)
        self._file = spooled
        try:
            check_supported(spooled.name)
        except UnsupportedFileType as error:
            spooled.error = error
            return
        spooled.path = self.directory / f"{len(self.upload.files):04d}.upload"
        self._handle = open(private_file(spooled.path), "wb")  # noqa: SIM115 - closed in on_part_end

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._file is None:
            if self._field_name is not None and len(self._field_value) < MAX_FIELD_BYTES:
                self._field_value += data[start:end]
            return
        spooled = self._file
        spooled.size += end - start
        if self._handle is None:
            return
        if spooled.size > self.max_file_bytes:
            self._discard(spooled)
            return
        self._handle.write(data[start:end])

    def on_part_end(self) -> None:
        spooled = self._file
        if spooled is None:
            if self._field_name is not None:
                self.upload.fields[self._field_name] = self._field_value.decode("utf-8", "replace")
            self._field_name = None
            return
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        if spooled.size > self.max_file_bytes:
            spooled.error = FileTooLarge(too_large_message(spooled.size, self.max_file_bytes))
        elif spooled.error is None and spooled.size == 0:
            spooled.error = EmptyFile("the file is empty (0 bytes)")
            self._discard(spooled)
        self._file = None

    def _discard(self, spooled: SpooledFile) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        if spooled.path is not None:
            spooled.path.unlink(missing_ok=True)
            spooled.path = None

    def callbacks(self) -> dict[str, Any]:
        return {
            name: getattr(self, name)
            for name in (
                "on_part_begin",
                "on_header_field",
                "on_header_value",
                "on_header_end",
                "on_headers_finished",
                "on_part_data",
                "on_part_end",
            )
        }

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


async def spool_multipart(
    stream: AsyncIterator[bytes], content_type: str, directory: Path, max_file_bytes: int
) -> SpooledUpload:
    """Read a `multipart/form-data` body into `directory`; one `SpooledFile` per file part."""
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise BadRequest(
            "upload the files as multipart/form-data (one 'files' part per file)", code="multipart_required"
        )
    private_directory(directory)
    spooler = _Spooler(directory, max_file_bytes)
    parser = MultipartParser(boundary, spooler.callbacks())  # type: ignore[arg-type]
    try:
        async for piece in stream:
            if piece:
                parser.write(piece)
        parser.finalize()
    except BadRequest:
        raise
    except Exception as error:  # python-multipart raises its own errors for broken bodies
        raise BadRequest(
            f"the multipart body could not be read: {error}", code="bad_multipart", detail=str(error)
        ) from None
    finally:
        spooler.close()
    return spooler.upload
