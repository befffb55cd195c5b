"""``/files/blobs/{sha256}``: streamed, verified uploads and downloads for the local store.

Links are signed and expire (``?expires=…&sig=…``), like presigned S3 URLs:
the GraphQL API hands them out to callers it has authorised.

``POST /files/batch`` takes many download links at once (``{"links": [downloadUrl, …]}``) and answers
their blobs' bytes back to back, in order: one request instead of one per small file. Each link is
checked as its own GET would be, all before the first byte is sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from .. import jsontext, refs
from ..config import MiB
from ..errors import BadInput, RegistryError
from ..services import blobs as blob_service
from ..services.runtime import Runtime


BATCH_LINKS = 1000  # links one batch may name
BATCH_BODY = 1 * MiB  # the JSON that names them (a link is ~200 bytes)


class BlobResponse(FileResponse):
    # Starlette reads 64 KiB per thread hop; 1 MiB reads move large files several times faster.
    chunk_size = MiB


def _concatenated(paths: list[Path]) -> Iterator[bytes]:
    """The files' bytes back to back, ~1 MiB per chunk (Starlette runs each step on a worker thread).
    A blob deleted (GC) after the request was checked cuts the stream short: the client, which counts
    bytes against Content-Length, sees it."""
    held: list[bytes] = []
    size = 0
    for path in paths:
        with open(path, "rb") as f:
            while chunk := f.read(MiB):
                held.append(chunk)
                size += len(chunk)
                if size >= MiB:
                    yield b"".join(held)
                    held, size = [], 0
    if held:
        yield b"".join(held)


def error_response(status: int, exc: RegistryError) -> JSONResponse:
    body = {"errors": [{"message": exc.message, "extensions": exc.extensions}]}
    return JSONResponse(body, status_code=status)


def _not_found(sha: str) -> JSONResponse:
    return JSONResponse({"errors": [{"message": f"blob {sha} not found", "extensions": {"code": "NOT_FOUND"}}]},
                        status_code=404)


def _forbidden(message: str) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": "FORBIDDEN"}}]}, status_code=403)


def routes(rt: Runtime) -> list[Route]:
    """Only the local store serves bytes itself; with S3, clients talk to the store directly."""
    if not blob_service.serves_files(rt):
        return []

    def signed(method: str, subject: str, size: int | None, query: Mapping[str, str]) -> bool:
        return blob_service.link_valid(rt, method=method, subject=subject, size=size, expires=query.get("expires"),
                                       sig=query.get("sig"))

    def _sha(request: Request) -> str:
        return refs.check_sha256(request.path_params["sha256"])

    async def put_blob(request: Request) -> Response:
        try:
            sha = _sha(request)
            size_text = request.query_params.get("size", "")
            if not size_text.isdigit():
                raise BadInput("size query parameter missing; use the URL createArtifactVersion returned")
            size = int(size_text)
            if not signed("PUT", sha, size, request.query_params):
                return _forbidden("upload link invalid or expired; call createArtifactVersion again")
            await blob_service.receive_blob(rt, sha256=sha, size=size, chunks=request.stream())
        except BadInput as exc:
            return error_response(400, exc)
        except RegistryError as exc:  # DigestInvalid
            return error_response(422, exc)
        return Response(status_code=201)

    async def get_blob(request: Request) -> Response:
        try:
            sha = _sha(request)
        except BadInput as exc:
            return error_response(400, exc)
        if not signed("GET", sha, None, request.query_params):
            return _forbidden("download link invalid or expired; ask File.downloadUrl again")
        path = blob_service.blob_path(rt, sha256=sha)
        if not path.is_file():
            return _not_found(sha)
        # Content never changes under its address: cache forever, ETag is the sha256.
        headers = {"ETag": f'"{sha}"', "Cache-Control": "private, max-age=31536000, immutable"}
        if request.headers.get("if-none-match") in (f'"{sha}"', sha):
            return Response(status_code=304, headers=headers)
        return BlobResponse(path, media_type="application/octet-stream", headers=headers)

    async def put_part(request: Request) -> Response:
        q = request.query_params
        try:
            upload_id, number = request.path_params["upload_id"], int(request.path_params["part"])
            sha, offset, size = refs.check_sha256(q.get("sha256", "")), q.get("offset", ""), q.get("size", "")
            if not (offset.isdigit() and size.isdigit()):
                raise BadInput("offset and size query parameters missing; use the part URL you were given")
            subject = f"{sha}:{upload_id}:{number}:{offset}"
            if not signed("PUT", subject, int(size), q):
                return _forbidden("part upload link invalid or expired; call createArtifactVersion again")
            etag = await blob_service.receive_part(rt, upload_id=upload_id, sha256=sha, number=number, offset=int(offset),
                                                   length=int(size), chunks=request.stream())
        except (BadInput, ValueError) as exc:
            return error_response(400, exc if isinstance(exc, BadInput) else BadInput(str(exc)))
        except RegistryError as exc:
            return error_response(422, exc)
        return Response(status_code=200, headers={"ETag": f'"{etag}"'})

    async def get_batch(request: Request) -> Response:
        try:
            links = await _batch_links(request)
            shas = []
            for i, link in enumerate(links):
                parts = urlsplit(link)
                sha = refs.check_sha256(parts.path.rpartition("/files/blobs/")[2])
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                if not signed("GET", sha, None, query):
                    return _forbidden(f"links[{i}]: download link invalid or expired; ask File.downloadUrl again")
                shas.append(sha)
        except BadInput as exc:
            return error_response(400, exc)
        paths = [blob_service.blob_path(rt, sha256=sha) for sha in shas]
        try:
            total = await asyncio.to_thread(lambda: sum(p.stat().st_size for p in paths))  # 1,000 stats: off the loop
        except FileNotFoundError as exc:
            return _not_found(Path(str(exc.filename)).name)
        return StreamingResponse(_concatenated(paths), media_type="application/octet-stream",
                                 headers={"Content-Length": str(total), "Cache-Control": "no-store"})

    return [
        Route("/files/batch", get_batch, methods=["POST"]),
        Route("/files/uploads/{upload_id}/{part:int}", put_part, methods=["PUT"]),
        Route("/files/blobs/{sha256}", put_blob, methods=["PUT"]),
        Route("/files/blobs/{sha256}", get_blob, methods=["GET", "HEAD"]),
    ]


async def _batch_links(request: Request) -> list[str]:
    """The ``links`` of a batch request's JSON body, read only up to ``BATCH_BODY`` bytes."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > BATCH_BODY:
            raise BadInput(f"batch body over {BATCH_BODY} bytes; send at most {BATCH_LINKS} links per request")
    try:
        payload = jsontext.loads(body, what="the batch body")
    except BadInput as exc:
        raise BadInput(f'{exc.message}; it must be JSON {{"links": [downloadUrl, ...]}}') from None
    links = payload.get("links") if isinstance(payload, dict) else None
    if not isinstance(links, list) or not all(isinstance(link, str) for link in links):
        raise BadInput('batch body must be JSON {"links": [downloadUrl, ...]}: a list of strings')
    if not 1 <= len(links) <= BATCH_LINKS:
        raise BadInput(f"a batch names 1 to {BATCH_LINKS} links, not {len(links)}; split it")
    return links
