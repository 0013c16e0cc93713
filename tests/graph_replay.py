"""A Microsoft Graph stand-in on loopback: replays the recorded responses in tests/data/graph
(shaped as Graph's documentation shows them) and records each request it gets."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

DATA = Path(__file__).resolve().parent / "data" / "graph"


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class GraphReplay:
    def __init__(self) -> None:
        self.replies: dict[str, list[Reply]] = {}
        self.requests: list[tuple[str, str | None]] = []
        replay = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = unquote(self.path)
                replay.requests.append((path, self.headers.get("Authorization")))
                queue = replay.replies.get(path)
                reply = (queue.pop(0) if len(queue) > 1 else queue[0]) if queue else None
                if reply is None:
                    reply = Reply(404, json.loads((DATA / "errors.json").read_text())["404"])
                time.sleep(reply.delay)
                body = json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    for name, value in {"Content-Type": "application/json", **reply.headers}.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up waiting

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def domain(self, name: str) -> None:
        """Serve ``GET /v1.0/domains/<name>`` and its service records (every recorded page)."""
        recorded = json.loads((DATA / f"{name}.json").read_text().replace("{graph}", self.base))
        self.reply(f"/v1.0/domains/{name}", Reply(200, recorded.pop("domain")))
        for page, body in recorded.items():
            self.reply(unquote(f"/v1.0/domains/{name}/{page}"), Reply(200, body))

    def reply(self, path: str, *replies: Reply) -> None:
        """Answer ``path`` with ``replies`` in turn, the last one from then on."""
        self.replies[path] = list(replies)

    def error(self, path: str, status: int, headers: dict[str, str] | None = None) -> Reply:
        errors = json.loads((DATA / "errors.json").read_text())
        reply = Reply(status, errors[str(status)], headers or {})
        self.reply(path, reply)
        return reply
