"""A stand-in for a local LLM server, on a real loopback HTTP socket.

It stands in for Ollama (`POST /api/chat`, non-streaming) and for
OpenAI-compatible servers such as LM Studio (`POST /v1/chat/completions`):
it answers in their documented response shapes, but it runs no model. The
assistant's message is whatever the test scripts (`reply`), which is how the
tests send a good plan, garbage, an unknown step, a slow answer or an HTTP
error. It records every request body so tests can check what the planner sent.

For the attack cases it can also be hostile, as a broken or malicious server
on the LAN could be: `hostile` is a function returning the raw body chunks to
send (without a Content-Length, closing the connection at the end), and
`drip_s` waits that long before each chunk (a server dripping its answer).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable


class LlmStandIn:
    def __init__(self) -> None:
        self.reply: str = "{}"
        self.delay_s = 0.0
        self.status = 200
        self.hostile: Callable[[], Iterable[bytes]] | None = None
        self.drip_s = 0.0
        #: Bytes of hostile bodies actually sent (the planner should stop reading early).
        self.sent_bytes = 0
        self.requests: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append((self.path, body, dict(self.headers)))
                if outer.delay_s:
                    time.sleep(outer.delay_s)
                if outer.hostile is not None:
                    self._send_hostile(outer.hostile())
                    return
                if self.path == "/api/chat":
                    answer: dict[str, Any] = {
                        "model": body["model"], "created_at": "2026-01-01T00:00:00Z",
                        "message": {"role": "assistant", "content": outer.reply},
                        "done": True, "done_reason": "stop", "total_duration": 1000, "eval_count": 10,
                    }
                elif self.path == "/v1/chat/completions":
                    answer = {
                        "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": body["model"],
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": outer.reply},
                                     "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
                    }
                else:
                    self.send_error(404)
                    return
                data = json.dumps(answer if outer.status == 200 else {"error": "model crashed"}).encode()
                try:
                    self.send_response(outer.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
                    pass

            def _send_hostile(self, chunks: Iterable[bytes]) -> None:
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.flush()
                    for chunk in chunks:
                        if outer.drip_s:
                            time.sleep(outer.drip_s)
                        self.wfile.write(chunk)
                        self.wfile.flush()
                        outer.sent_bytes += len(chunk)
                except (BrokenPipeError, ConnectionResetError):  # the planner stopped reading: as it should
                    pass
                self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
