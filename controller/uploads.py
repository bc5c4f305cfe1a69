"""A multipart upload streamed straight to a file under the data directory: the body is parsed
as it arrives and the file part's bytes go to disk chunk by chunk, so an upload of any size
allowed costs the same memory. Only the first part named ``file`` with a filename is kept."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from fastapi import Request
from python_multipart.multipart import (
    MultipartParseError,
    MultipartParser,
    parse_options_header,
)

from controller.domain_errors import Invalid


async def receive_file(request: Request, dest_dir: Path, field: str = "file") -> tuple[Path, str]:
    """(the temporary file holding the upload, the name the client gave it). The caller owns the
    file; on any error it is removed here."""
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise Invalid("send the file as multipart/form-data", [f"body: a multipart form with a '{field}' file"])
    dest_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest_dir, prefix="upload-")
    out = os.fdopen(fd, "wb")
    state = {"header": b"", "value": b"", "headers": {}, "writing": False, "done": False, "name": None}

    def on_part_begin() -> None:
        state["headers"] = {}

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["header"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["value"] += data[start:end]

    def on_header_end() -> None:
        state["headers"][state["header"].lower()] = state["value"]
        state["header"] = state["value"] = b""

    def on_headers_finished() -> None:
        disposition, opts = parse_options_header(state["headers"].get(b"content-disposition", b""))
        filename = opts.get(b"filename")
        if (not state["done"] and disposition == b"form-data" and opts.get(b"name") == field.encode()
                and filename is not None):
            state["writing"] = True
            state["name"] = filename.decode("utf-8", "replace")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if state["writing"]:
            out.write(data[start:end])

    def on_part_end() -> None:
        if state["writing"]:
            state["writing"], state["done"] = False, True

    parser = MultipartParser(boundary, {
        "on_part_begin": on_part_begin, "on_header_field": on_header_field, "on_header_value": on_header_value,
        "on_header_end": on_header_end, "on_headers_finished": on_headers_finished,
        "on_part_data": on_part_data, "on_part_end": on_part_end})
    try:
        try:
            async for chunk in request.stream():
                parser.write(chunk)
            parser.finalize()
        except MultipartParseError:
            raise Invalid("the multipart body is malformed", ["body: not a multipart form"]) from None
        finally:
            out.close()
        if not state["done"]:
            raise Invalid(f"no file in the form's '{field}' field", [f"body: a '{field}' file is required"])
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp), state["name"] or "upload"
