"""A real HTTP server on loopback that answers ``POST /v1/chat/completions`` like an OpenAI-compatible
endpoint, from recorded planner answers (``data/*.json``). Test fixture, not product code.

Replies are queued (``ChatServer.push``): a status, a JSON body or raw text, headers (``Retry-After``), and a
delay before answering (to provoke client timeouts). When the queue is empty the ``fallback`` reply is
used. Every request is recorded (path, headers, decoded JSON body).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data"


def recorded(name: str) -> dict[str, Any]:
    """A recorded answer or error body from ``data/NAME.json``."""
    return json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))


def completion(content: str | None, *, finish: str = "stop") -> dict[str, Any]:
    """A chat completion body holding ``content`` (for answers not worth a file)."""
    return {"id": "chatcmpl-test", "object": "chat.completion", "created": 0, "model": "test-planner",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                         "finish_reason": finish}]}


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: dict[str, Any] | str = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the answer is written


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: Any


class ChatServer:
    """``with ChatServer() as server:`` serves on ``server.base_url`` (``http://127.0.0.1:PORT/v1``)."""

    def __init__(self, fallback: Reply | None = None) -> None:
        self.replies: deque[Reply] = deque()
        self.fallback = fallback or Reply(500, {"error": {"message": "no reply queued"}})
        self.models = Reply(200, {"object": "list", "data": [{"id": "planner-test", "object": "model"}]})
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="chat-server", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def push(self, *replies: Reply | str) -> ChatServer:
        """Queue replies; a string names a recorded answer served with status 200."""
        for reply in replies:
            self.replies.append(Reply(200, recorded(reply)) if isinstance(reply, str) else reply)
        return self

    def messages(self, request: int) -> list[dict[str, str]]:
        """The chat messages of the ``request``-th request (0-based)."""
        return self.seen[request].body["messages"]

    def __enter__(self) -> ChatServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def _next(self, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        with self._lock:
            self.seen.append(Seen(path, headers, body))
            if path != "/v1/chat/completions":
                return Reply(404, {"error": {"message": f"no route {path}"}})
            return self.replies.popleft() if self.replies else self.fallback

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # ``/v1/models``: the reachability check
                with server._lock:
                    server.seen.append(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}, None))
                self._send(server.models if self.path == "/v1/models" else Reply(404, {}))

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self._send(server._next(self.path, {k.lower(): v for k, v in self.headers.items()}, raw))

            def _send(self, reply: Reply) -> None:
                time.sleep(reply.delay)
                data = (reply.body if isinstance(reply.body, str) else json.dumps(reply.body)).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
