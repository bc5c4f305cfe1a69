"""The JSON control endpoint both hardware simulators serve: a threaded loopback HTTP server
around a fleet, with a handler class of the simulator's own."""
from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log = logging.getLogger("simulators.control")


class RequestError(ValueError):
    """A request (or scenario step) that cannot be applied; ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class JsonHandler(BaseHTTPRequestHandler):
    """Request handler base: JSON bodies in, JSON replies out, requests logged at debug level."""

    sys_version = ""
    max_body = 64 * 1024

    def _json_body(self) -> dict:
        """The request's JSON object; an empty body is ``{}``."""
        try:
            n = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise RequestError("bad Content-Length") from None
        if n > self.max_body:
            raise RequestError("request body too large", 413)
        raw = self.rfile.read(n) if n > 0 else b""
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise RequestError(f"body is not valid JSON: {exc}") from None
        if not isinstance(body, dict):
            raise RequestError("body must be a JSON object")
        return body

    def log_message(self, fmt, *args):
        log.debug("%s %s", self.address_string(), fmt % args)

    def _route(self, method: str) -> None:
        """Answer one request; raise RequestError for what the client got wrong."""
        raise RequestError(f"{method} is not supported", 405)

    def _handle(self, method: str) -> None:
        try:
            self._route(method)
        except RequestError as exc:
            self._reply(exc.status, {"error": str(exc)})
        except Exception as exc:  # the simulator keeps serving whatever one request did
            log.exception("control request failed")
            self._reply(500, {"error": f"{type(exc).__name__}: {exc}"})

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_PUT(self):
        self._handle("PUT")

    def do_DELETE(self):
        self._handle("DELETE")

    def _reply(self, status: int, payload) -> None:
        body = json.dumps(payload, indent=1).encode() + b"\n"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class ControlServer:
    handler: type[BaseHTTPRequestHandler]  # set by each simulator
    thread_name = "control"

    def __init__(self, fleet, host: str = "127.0.0.1", port: int = 0) -> None:
        self.fleet, self.host, self.port = fleet, host, port
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        httpd = ThreadingHTTPServer((self.host, self.port), self.handler)
        httpd.daemon_threads = True
        httpd.fleet = self.fleet  # the handler reaches the fleet through its server
        self.port = httpd.server_address[1]
        self._httpd = httpd
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1},
                         name=self.thread_name, daemon=True).start()

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
