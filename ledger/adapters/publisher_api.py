"""A publisher's HTTP client of this service's API (what `provenance register` uses): the receipt by hash and the
registration upload, with the retries a long bulk run needs (429 and 503 honour ``Retry-After``; connection errors
back off). Never logs the API key."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import httpx

RETRY_STATUSES = (429, 502, 503, 504)
MAX_BACKOFF_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class ApiAnswer:
    status: int
    body: dict[str, Any]

    @property
    def error_code(self) -> str | None:
        error = self.body.get("error") if isinstance(self.body, dict) else None
        return error.get("code") if isinstance(error, dict) else None

    @property
    def message(self) -> str | None:
        error = self.body.get("error") if isinstance(self.body, dict) else None
        return error.get("message") if isinstance(error, dict) else None


class PublisherApi:
    def __init__(self, url: str, api_key: str, attempts: int = 6, timeout: float = 120.0) -> None:
        self.url = url.rstrip("/")
        self.attempts = attempts
        self._client = httpx.Client(headers={"Authorization": f"Bearer {api_key}"}, timeout=timeout)

    def close(self) -> None:
        self._client.close()

    def receipt(self, content_hash: str) -> ApiAnswer:
        return self._call("GET", f"/v1/media/{content_hash}")

    def register(self, name: str, data: bytes, fields: dict[str, str]) -> ApiAnswer:
        return self._call("POST", "/v1/media", files={"file": (name, data)}, data=fields)

    def download(self, path: str) -> tuple[int, bytes]:
        """A file the API keeps for this publisher (``file_url`` of a ``c2pa=true`` registration)."""
        response = self._client.get(self.url + path)
        return response.status_code, response.content

    def receipts(self, content_hashes: list[str]) -> ApiAnswer:
        return self._call("POST", "/v1/media/receipts", json={"content_hashes": content_hashes})

    def register_batch(self, items: list[dict[str, Any]], files: dict[str, tuple[str, bytes]]) -> ApiAnswer:
        """``POST /v1/media/batch``: ``items`` name their parts in ``files`` (part name -> (file name, bytes))."""
        parts = [(part, (name, data)) for part, (name, data) in files.items()]
        return self._call("POST", "/v1/media/batch", data={"items": json.dumps(items)}, files=parts)

    def _call(self, method: str, path: str, **kwargs: Any) -> ApiAnswer:
        delay = 1.0
        for attempt in range(1, self.attempts + 1):
            try:
                response = self._client.request(method, self.url + path, **kwargs)
            except httpx.TransportError as exc:
                if attempt == self.attempts:
                    return ApiAnswer(0, {"error": {"code": "unreachable", "message": f"{type(exc).__name__}: {exc}"}})
                time.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_SECONDS)
                continue
            if response.status_code in RETRY_STATUSES and attempt < self.attempts:
                time.sleep(min(float(response.headers.get("Retry-After") or delay), MAX_BACKOFF_SECONDS))
                delay = min(delay * 2, MAX_BACKOFF_SECONDS)
                continue
            try:
                body = response.json()
            except ValueError:
                body = {"error": {"code": "bad_answer", "message": response.text[:200]}}
            return ApiAnswer(response.status_code, body if isinstance(body, dict) else {})
        raise AssertionError("unreachable")
