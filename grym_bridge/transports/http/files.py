"""Clips up from the browser, renders and MIDI files down to it.

Uploads are named by the server (`uploads/web-<random>.<suffix>`; the
browser's file name only chooses among the known suffixes), size-capped by
`http.max_upload_bytes` before and while the bytes arrive, written to a
partial file and moved in place only when complete. Downloads reach only
renders/, results/ and uploads/ under the data directory: the files requests
make, never the store, the token or the config.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, Response

from grym_bridge.errors import BadRequest, MessageTooLarge, NotFound, PathNotAllowed
from grym_bridge.transports.http.api import error_response

if TYPE_CHECKING:
    from grym_bridge.config import Config

UPLOAD_SUFFIXES = (".wav", ".flac", ".aif", ".aiff", ".ogg", ".mp3", ".mid", ".midi")
MEDIA_TYPES = {".wav": "audio/wav", ".flac": "audio/flac", ".aif": "audio/aiff", ".aiff": "audio/aiff",
               ".ogg": "audio/ogg", ".mp3": "audio/mpeg", ".mid": "audio/midi", ".midi": "audio/midi",
               ".json": "application/json"}
PARTIAL_DIR = ".partial"


def upload_suffix(name: str) -> str:
    suffix = Path(name.replace("\\", "/")).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise BadRequest(f"{name!r} is not a clip the bridge reads: send one of {', '.join(UPLOAD_SUFFIXES)}")
    return suffix


async def receive_upload(request: Request, root: Path, max_bytes: int) -> JSONResponse:
    """`POST /api/upload?name=<original name>` with the file as the body: answers {path, size}."""
    try:
        suffix = upload_suffix(request.query_params.get("name", ""))
        declared = request.headers.get("content-length")
        if declared is not None and int(declared) > max_bytes:
            raise MessageTooLarge(f"the clip is {int(declared)} bytes, larger than http.max_upload_bytes "
                                  f"({max_bytes}); send a shorter clip or raise the limit in the config")
    except (BadRequest, MessageTooLarge) as exc:
        return error_response(exc.code, exc.message, "/api/upload")
    except ValueError:
        return error_response("bad_args", "Content-Length must be a byte count", "/api/upload")
    partial_dir = root / PARTIAL_DIR
    await asyncio.to_thread(partial_dir.mkdir, parents=True, exist_ok=True)
    name = f"web-{secrets.token_hex(8)}{suffix}"
    partial = partial_dir / f"{name}.part"
    fh = await asyncio.to_thread(partial.open, "xb")
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_bytes:
                raise MessageTooLarge(f"the clip is larger than http.max_upload_bytes ({max_bytes}); "
                                      "send a shorter clip or raise the limit in the config")
            if chunk:
                await asyncio.to_thread(fh.write, chunk)
        if size == 0:
            raise BadRequest("the upload was empty: send the clip's bytes as the request body")
        await asyncio.to_thread(fh.close)
        final = root / name
        await asyncio.to_thread(os.replace, partial, final)
    except (BadRequest, MessageTooLarge, ClientDisconnect) as exc:
        fh.close()
        partial.unlink(missing_ok=True)
        if isinstance(exc, ClientDisconnect):
            return Response(status_code=400)
        return error_response(exc.code, exc.message, "/api/upload")
    return JSONResponse({"path": str(final), "size": size, "name": name})


def check_download(path: str, roots: Sequence[Path]) -> Path:
    """An existing regular file under one of `roots` (symlinks resolved first), else a clear error."""
    if not path or "\x00" in path:
        raise BadRequest("name the file to download: /files?path=<absolute path>")
    resolved = Path(path).resolve()
    if not any(resolved.is_relative_to(root) for root in roots):
        raise PathNotAllowed(f"{path} cannot be downloaded: only files under {', '.join(map(str, roots))} can")
    if not resolved.is_file():
        raise NotFound(f"{path} is not a file on the bridge (it may have been cleaned up); render it again")
    return resolved


async def send_file(request: Request, roots: Sequence[Path]) -> Response:
    """`GET /files?path=...[&download=1]`: the file, playable in place (ranges) or as an attachment."""
    try:
        path = await asyncio.to_thread(check_download, request.query_params.get("path", ""), roots)
    except (BadRequest, PathNotAllowed, NotFound) as exc:
        return error_response(exc.code, exc.message, "/files")
    disposition = "attachment" if request.query_params.get("download") else "inline"
    return FileResponse(path, media_type=MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream"),
                        filename=path.name, content_disposition_type=disposition)
