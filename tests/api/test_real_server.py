"""The body bounds through a real HTTP server (granian, as ``python -m api`` runs it, and uvicorn) over a raw socket: what the
client managed to push before the server answered and closed. (The kernel's socket buffers take a few MB more than
the service reads; the bounds here leave room for them and still fail if the server drained the body.)"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from urllib.parse import urlparse

MB = 1024 * 1024
PIECE = 64 * 1024
FILE_PART = b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n'


def chunked(first: bytes = b"") -> Iterator[bytes]:
    if first:
        yield f"{len(first):x}\r\n".encode() + first + b"\r\n"
    zeros = b"\0" * PIECE
    while True:
        yield f"{PIECE:x}\r\n".encode() + zeros + b"\r\n"


def push(url: str, head: bytes, body: Iterator[bytes], at_most: int = 80 * MB) -> tuple[int, bytes, float]:
    """Send ``head`` then body chunks until the server stops taking them; (bytes sent, the answer, seconds)."""
    address = urlparse(url)
    started = time.monotonic()
    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        sock.sendall(head)
        sent = 0
        try:
            for chunk in body:
                sock.sendall(chunk)
                sent += len(chunk)
                if sent >= at_most:
                    break
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = b""
        try:
            while data := sock.recv(65536):
                answer += data
        except (ConnectionResetError, TimeoutError):
            pass
    return sent, answer, time.monotonic() - started


def request_of(path: str, *headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: test", "Content-Type: multipart/form-data; boundary=xyz", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_no_key_is_401_and_the_connection_closes_without_draining(api_server) -> None:  # type: ignore[no-untyped-def]
    url, _ = api_server
    sent, answer, _ = push(url, request_of("/v1/media", "Transfer-Encoding: chunked"), chunked())
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert b"connection: close" in answer.lower()
    assert sent < 30 * MB, f"the server took {sent / MB:.0f} MB of a body it did not need"


def test_chunked_upload_over_the_limit_is_413_before_30_mb(api_server) -> None:  # type: ignore[no-untyped-def]
    url, _ = api_server
    sent, answer, _ = push(url, request_of("/v1/verify", "Transfer-Encoding: chunked"), chunked(FILE_PART))
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 40 * MB, f"{sent / MB:.0f} MB pushed"  # 25 MB read by the service + socket buffers


def test_both_framings_are_refused_or_read_as_chunked(api_server, request) -> None:  # type: ignore[no-untyped-def]
    """uvicorn hands both headers to the app, which refuses the request (400 ``ambiguous_framing``). granian's HTTP
    layer (hyper) settles it itself as RFC 9112 section 6.3 says: Transfer-Encoding wins, Content-Length is dropped
    before the app sees the request; the body is then read as chunked, never by the length."""
    url, _ = api_server
    head = request_of("/v1/verify", "Content-Length: 50", "Transfer-Encoding: chunked")
    _, answer, _ = push(url, head, iter([b"0\r\n\r\n"]))
    if request.node.callspec.params["api_server"] == "uvicorn":
        assert answer.startswith(b"HTTP/1.1 400") and b"ambiguous_framing" in answer, answer[:200]
    else:  # read as an empty chunked body: no file in it (by a Content-Length of 50 it would still wait for 45 bytes)
        assert answer.startswith(b"HTTP/1.1 422") and b"invalid_request" in answer, answer[:200]
