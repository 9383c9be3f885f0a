"""A JSON-RPC proxy on loopback in front of a real node, answering some calls wrongly on purpose.

Tests queue faults per method: a JSON-RPC error, an HTTP error, an answer that arrives after the client gave up,
an answer changed or replaced (one recorded from a branch the chain has since dropped, one from a node behind the
others), or a real change to the chain made right after an honest answer (a reorganisation between two calls).
Everything not faulted is forwarded unchanged, so the node behind is always the real one.

For a fault that lasts a while rather than a number of calls, ``during(fault)`` applies it to every call until
``during(None)``: a backend stuck at an old head (``stale_head``), connections reset in the middle of requests
(``reset_connection``).
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

Request = dict[str, Any]
Answer = dict[str, Any]
Forward = Callable[[Request], Answer]
Fault = Callable[[Request, Forward], Answer]


class HttpFailure(Exception):
    def __init__(self, status: int):
        super().__init__(status)
        self.status = status


class ConnectionDropped(Exception):
    """The proxy resets the client's TCP connection (RST, no HTTP answer at all)."""


@dataclass
class _Queued:
    fault: Fault
    times: int


class FaultyRpc:
    def __init__(self, upstream: str):
        self.upstream = upstream
        self.calls: list[str] = []
        self._faults: dict[str, list[_Queued]] = {}
        self._during: Fault | None = None
        self._lock = threading.Lock()
        self._client = httpx.Client(timeout=60)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                try:
                    answer: Any = [proxy._answer(r) for r in body] if isinstance(body, list) else proxy._answer(body)
                except HttpFailure as failure:
                    self.send_response(failure.status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                except ConnectionDropped:
                    # SO_LINGER 0: close() sends a reset instead of an orderly end, as a dying load balancer does.
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    self.connection.close()
                    return
                except (BrokenPipeError, ConnectionResetError):
                    return
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and left

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the http.server signature
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def inject(self, method: str, fault: Fault, times: int = 1) -> None:
        with self._lock:
            self._faults.setdefault(method, []).append(_Queued(fault, times))

    def during(self, fault: Fault | None) -> None:
        """Apply ``fault`` to every call not faulted otherwise, until ``during(None)``."""
        with self._lock:
            self._during = fault

    def pending(self, method: str) -> int:
        """Faults still queued for ``method`` (a test asserts its faults were actually served)."""
        with self._lock:
            return sum(q.times for q in self._faults.get(method, []))

    def forward(self, request: Request) -> Answer:
        return self._client.post(self.upstream, json=request).json()  # type: ignore[no-any-return]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._client.close()

    def _answer(self, request: Request) -> Answer:
        method = request.get("method", "")
        with self._lock:
            self.calls.append(method)
            queue = self._faults.get(method, [])
            fault = None
            if queue:
                fault = queue[0].fault
                queue[0].times -= 1
                if queue[0].times <= 0:
                    queue.pop(0)
            fault = fault or self._during
        return fault(request, self.forward) if fault else self.forward(request)


# -- faults ---------------------------------------------------------------------------------------------------
def rpc_error(message: str = "upstream busy", code: int = -32000) -> Fault:
    return lambda request, _forward: {"jsonrpc": "2.0", "id": request.get("id"), "error": {"code": code, "message": message}}


def http_status(status: int) -> Fault:
    def fault(_request: Request, _forward: Forward) -> Answer:
        raise HttpFailure(status)

    return fault


def slow(seconds: float) -> Fault:
    """Answer honestly, but only after ``seconds`` (longer than the client waits: a timeout)."""

    def fault(request: Request, forward: Forward) -> Answer:
        time.sleep(seconds)
        return forward(request)

    return fault


def result(change: Callable[[Any], Any]) -> Fault:
    """Forward, then change the result."""

    def fault(request: Request, forward: Forward) -> Answer:
        answer = forward(request)
        return {**answer, "result": change(answer.get("result"))}

    return fault


def replay(recorded: Any) -> Fault:
    """Answer with a result recorded earlier (from a branch the chain has dropped since)."""
    return lambda request, _forward: {"jsonrpc": "2.0", "id": request.get("id"), "result": recorded}


def rewrite(change: Callable[[list[Any]], list[Any]]) -> Fault:
    """Forward with changed params (a node that reads the filter differently)."""
    return lambda request, forward: forward({**request, "params": change(request["params"])})


def then(action: Callable[[], None]) -> Fault:
    """Forward honestly, then change the real chain before the answer reaches the client."""

    def fault(request: Request, forward: Forward) -> Answer:
        answer = forward(request)
        action()
        return answer

    return fault


def reset_connection(after_forwarding: bool) -> Fault:
    """Reset the connection mid-request: before the node saw the call, or after it (the node acted, the answer is
    lost: for eth_sendRawTransaction, a transaction sent that the client never heard of)."""

    def fault(request: Request, forward: Forward) -> Answer:
        if after_forwarding:
            forward(request)
        raise ConnectionDropped

    return fault


# Reads whose block parameter a stale backend answers at its own head, and where that parameter is.
_AT_BLOCK = {"eth_call": 1, "eth_estimateGas": 1, "eth_getTransactionCount": 1, "eth_getBalance": 1, "eth_getCode": 1,
             "eth_getStorageAt": 2, "eth_createAccessList": 1}  # fmt: skip
_NEWEST = ("latest", "pending", "safe", "finalized")


def stale_head(head: int) -> Fault:
    """A backend stuck at block ``head`` while the chain goes on (a load-balanced RPC with one node behind): it
    reports ``head`` as the newest block, answers reads at ``head``, knows no transaction, receipt, block or log
    after it, and still relays the transactions it is sent (the network mines them). Built from the real node's
    answers at that height, so what it says was true of the chain at ``head``."""
    tag = hex(head)

    def unknown_after(result: Any) -> Any:
        if isinstance(result, dict) and (result.get("blockNumber") is None or int(result["blockNumber"], 16) > head):
            return None  # pending in the real node's pool, or mined after this backend's head
        return result

    def fault(request: Request, forward: Forward) -> Answer:
        method, params = request.get("method", ""), list(request.get("params") or [])
        if method == "eth_blockNumber":
            return {"jsonrpc": "2.0", "id": request.get("id"), "result": tag}
        if method == "eth_getBlockByNumber":
            asked = params[0]
            if asked in _NEWEST:
                params[0] = tag
            elif int(asked, 16) > head:
                return {"jsonrpc": "2.0", "id": request.get("id"), "result": None}
            return forward({**request, "params": params})
        if method in _AT_BLOCK:
            at = _AT_BLOCK[method]
            if len(params) <= at or params[at] in _NEWEST:
                params = [*params[:at], tag]
            elif isinstance(params[at], str) and int(params[at], 16) > head:
                return {"jsonrpc": "2.0", "id": request.get("id"), "error": {"code": -32000, "message": "header not found"}}
            return forward({**request, "params": params})
        if method in ("eth_getTransactionByHash", "eth_getTransactionReceipt", "eth_getBlockByHash"):
            answer = forward(request)
            number_key = "number" if method == "eth_getBlockByHash" else "blockNumber"
            found = answer.get("result")
            if isinstance(found, dict) and number_key != "blockNumber":
                found = found if int(found["number"], 16) <= head else None
            else:
                found = unknown_after(found)
            return {**answer, "result": found}
        if method == "eth_getLogs":
            query = dict(params[0])
            if "blockHash" not in query:
                to = query.get("toBlock", "latest")
                query["toBlock"] = tag if to in _NEWEST or int(to, 16) > head else to
                if int(query.get("fromBlock", "0x0") if query.get("fromBlock") not in _NEWEST else tag, 16) > head:
                    return {"jsonrpc": "2.0", "id": request.get("id"), "result": []}
            answer = forward({**request, "params": [query]})
            logs = answer.get("result")
            if isinstance(logs, list):
                answer = {**answer, "result": [e for e in logs if int(e["blockNumber"], 16) <= head]}
            return answer
        return forward(request)

    return fault
