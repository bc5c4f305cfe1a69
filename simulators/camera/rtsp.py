"""A small RTSP 1.0 server (RFC 2326) for live H.264 (RFC 6184) over interleaved TCP.

It does what NVR-style clients (ffmpeg, OpenCV, VLC) need from an IP camera and no more:
OPTIONS, DESCRIBE with SDP, SETUP over RTP/AVP/TCP (UDP is answered 461 so clients fall back),
PLAY from the next keyframe, PAUSE, TEARDOWN, GET/SET_PARAMETER keep-alives, session timeouts,
and Digest authentication as cameras do it (RFC 2617 without qop). One thread reads each
connection; while playing, a second one writes the media.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Protocol
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

SERVER_NAME = "SiteGuard-SimCam/1.0"
SESSION_TIMEOUT_S = 60
MAX_HEAD_BYTES = 8192
MAX_BODY_BYTES = 4096
MAX_CLIENTS = 16
RTP_MAX_PAYLOAD = 1400       # keeps every packet under a 1500-byte Ethernet MTU
PAYLOAD_TYPE = 96
TRACK = "trackID=0"
METHODS = ("OPTIONS", "DESCRIBE", "SETUP", "PLAY", "PAUSE", "TEARDOWN", "GET_PARAMETER",
           "SET_PARAMETER")
KNOWN_UNSUPPORTED = ("ANNOUNCE", "RECORD", "REDIRECT")

REASONS = {
    200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
    405: "Method Not Allowed", 413: "Request Entity Too Large", 454: "Session Not Found",
    455: "Method Not Valid in This State", 459: "Aggregate Operation Not Allowed",
    461: "Unsupported Transport", 500: "Internal Server Error", 501: "Not Implemented",
    503: "Service Unavailable", 505: "RTSP Version Not Supported",
}


class MediaSource(Protocol):
    """What the server needs from a stream (H264Encoder provides it)."""

    width: int
    height: int
    fps: float
    bitrate_kbps: int

    @property
    def parameter_sets(self) -> tuple[bytes, bytes] | None: ...

    def wait_parameter_sets(self, timeout: float) -> tuple[bytes, bytes] | None: ...

    def subscribe(self, max_seconds: float = 2.0): ...


# --- RTP packetization (RFC 3550 header, RFC 6184 single NAL unit and FU-A) ----------------

def rtp_header(seq: int, timestamp: int, ssrc: int, marker: bool,
               payload_type: int = PAYLOAD_TYPE) -> bytes:
    return struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | payload_type,
                       seq & 0xFFFF, timestamp & 0xFFFFFFFF, ssrc & 0xFFFFFFFF)


def packetize_h264(nals, seq: int, timestamp: int, ssrc: int,
                   max_payload: int = RTP_MAX_PAYLOAD) -> tuple[list[bytes], int]:
    """RTP packets for one access unit, and the next sequence number.

    NAL units that fit go whole; larger ones are cut into FU-A fragments. The marker bit is
    set on the very last packet of the access unit, as RFC 6184 section 5.1 asks.
    """
    packets: list[bytes] = []
    last_index = len(nals) - 1
    for i, nal in enumerate(nals):
        if not nal:
            continue
        if len(nal) <= max_payload:
            packets.append(rtp_header(seq, timestamp, ssrc, i == last_index) + bytes(nal))
            seq = (seq + 1) & 0xFFFF
            continue
        indicator = (nal[0] & 0xE0) | 28          # keep F and NRI, type 28 = FU-A
        kind = nal[0] & 0x1F
        body = memoryview(nal)[1:]                # the NAL header travels in the FU header
        step = max_payload - 2
        for off in range(0, len(body), step):
            start, end = off == 0, off + step >= len(body)
            fu = (0x80 if start else 0) | (0x40 if end else 0) | kind
            packets.append(rtp_header(seq, timestamp, ssrc, end and i == last_index)
                           + bytes((indicator, fu)) + body[off:off + step].tobytes())
            seq = (seq + 1) & 0xFFFF
    return packets, seq


def interleave(channel: int, packet: bytes) -> bytes:
    """RFC 2326 section 10.12 framing: '$', channel, 16-bit length."""
    return struct.pack("!cBH", b"$", channel, len(packet)) + packet


def rtcp_sender_report(ssrc: int, wall: float, rtp_ts: int, packets: int, octets: int,
                       cname: str) -> bytes:
    """SR + SDES(CNAME) compound packet; lets clients map RTP time to wall-clock time."""
    ntp = wall + 2208988800.0
    sec = int(ntp)
    frac = int((ntp - sec) * (1 << 32)) & 0xFFFFFFFF
    sr = struct.pack("!BBHIIIIII", 0x80, 200, 6, ssrc, sec & 0xFFFFFFFF, frac,
                     rtp_ts & 0xFFFFFFFF, packets & 0xFFFFFFFF, octets & 0xFFFFFFFF)
    name = cname.encode()[:255]
    chunk = struct.pack("!IBB", ssrc, 1, len(name)) + name + b"\x00"
    chunk += b"\x00" * (-len(chunk) % 4)
    sdes = struct.pack("!BBH", 0x81, 202, len(chunk) // 4) + chunk
    return sr + sdes


# --- SDP (RFC 4566 / RFC 6184 section 8) ---------------------------------------------------

def build_sdp(source: MediaSource, title: str, origin_host: str, session_id: int) -> str:
    params = source.parameter_sets
    fmtp = "packetization-mode=1"
    if params:
        sps, pps = params
        fmtp += f";profile-level-id={sps[1:4].hex().upper()}"
        fmtp += (";sprop-parameter-sets=" + base64.b64encode(sps).decode() + ","
                 + base64.b64encode(pps).decode())
    lines = [
        "v=0",
        f"o=- {session_id} 1 IN IP4 {origin_host}",
        f"s={title}",
        "c=IN IP4 0.0.0.0",
        "t=0 0",
        "a=control:*",
        f"m=video 0 RTP/AVP {PAYLOAD_TYPE}",
        f"b=AS:{int(source.bitrate_kbps)}",
        f"a=rtpmap:{PAYLOAD_TYPE} H264/90000",
        f"a=fmtp:{PAYLOAD_TYPE} {fmtp}",
        f"a=framerate:{source.fps:g}",
        f"a=x-dimensions:{source.width},{source.height}",
        f"a=control:{TRACK}",
    ]
    return "\r\n".join(lines) + "\r\n"


# --- Digest authentication (RFC 2617, the way IP cameras challenge) ------------------------

_AUTH_PARAM = re.compile(r'([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


def parse_auth_params(value: str) -> dict[str, str]:
    return {m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3))
            for m in _AUTH_PARAM.finditer(value)}


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


class DigestAuth:
    """Issues and checks Digest challenges. Nonces are signed timestamps, so no state."""

    NONCE_LIFETIME_S = 24 * 3600

    def __init__(self, realm: str, username: str, password: str):
        self.realm = realm
        self._secret = secrets.token_bytes(16)
        self._lock = threading.Lock()
        self._creds = (username, password)

    def set_credentials(self, username: str, password: str) -> None:
        with self._lock:
            self._creds = (username, password)

    @property
    def credentials(self) -> tuple[str, str]:
        with self._lock:
            return self._creds

    def _sign(self, stamp: str) -> str:
        return hmac.new(self._secret, stamp.encode(), hashlib.sha256).hexdigest()[:24]

    def challenge(self, stale: bool = False) -> str:
        stamp = f"{int(time.time()):08x}"
        value = f'Digest realm="{self.realm}", nonce="{stamp}{self._sign(stamp)}"'
        return value + (", stale=TRUE" if stale else "")

    def check(self, method: str, header: str | None) -> str:
        """'ok', 'stale' (right password, old nonce) or 'denied'."""
        if not header or not header[:7].lower() == "digest ":
            return "denied"
        p = parse_auth_params(header[7:])
        user, password = self.credentials
        nonce = p.get("nonce", "")
        if p.get("username") != user or p.get("realm") != self.realm or len(nonce) != 32:
            return "denied"
        if p.get("algorithm", "MD5").upper() != "MD5":
            return "denied"
        stamp = nonce[:8]
        if not hmac.compare_digest(nonce[8:], self._sign(stamp)):
            return "denied"
        ha1 = _md5(f"{user}:{self.realm}:{password}")
        ha2 = _md5(f"{method}:{p.get('uri', '')}")
        if p.get("qop"):
            expected = _md5(f"{ha1}:{nonce}:{p.get('nc', '')}:{p.get('cnonce', '')}:"
                            f"{p['qop']}:{ha2}")
        else:
            expected = _md5(f"{ha1}:{nonce}:{ha2}")
        if not hmac.compare_digest(expected, (p.get("response") or "").lower()):
            return "denied"
        try:
            age = time.time() - int(stamp, 16)
        except ValueError:
            return "denied"
        return "ok" if age < self.NONCE_LIFETIME_S else "stale"


# --- requests ---------------------------------------------------------------------------

class BadRequest(Exception):
    def __init__(self, message: str, cseq: str | None = None, close: bool = True):
        super().__init__(message)
        self.cseq = cseq
        self.close = close


@dataclass
class Request:
    method: str
    url: str
    version: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


_REQUEST_LINE = re.compile(r"^([A-Z_]{1,32}) (\S{1,2048}) (RTSP/\d\.\d)$")


def parse_head(head: bytes) -> Request:
    """Parse the request line and headers (everything before the blank line)."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest("request is not UTF-8 text") from exc
    lines = text.replace("\r\n", "\n").split("\n")
    match = _REQUEST_LINE.match(lines[0].strip())
    if not match:
        raise BadRequest(f"malformed request line {lines[0][:60]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line.strip():
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip() or " " in name.strip():
            raise BadRequest(f"malformed header line {line[:60]!r}", headers.get("cseq"))
        headers[name.strip().lower()] = value.strip()
    return Request(match.group(1), match.group(2), match.group(3), headers)


def _looks_like_request_start(data: bytes) -> bool:
    """Whether a partial message can still become a request line; rejects garbage early."""
    line_end = data.find(b"\n")
    if line_end >= 0:
        line = data[:line_end].rstrip(b"\r").decode("latin-1")
        return _REQUEST_LINE.match(line) is not None
    method = data.split(b" ", 1)[0]
    return re.fullmatch(rb"[A-Z_]{1,32}", method) is not None if method else False


# --- server -----------------------------------------------------------------------------

class RtspServer:
    """Serves each named stream at rtsp://host:port/<name>, behind Digest authentication."""

    def __init__(self, streams: dict[str, MediaSource], host: str = "127.0.0.1", port: int = 0,
                 username: str = "admin", password: str = "", realm: str = "IP Camera",
                 title: str = "SiteGuard simulated camera"):
        self.streams = dict(streams)
        self.host = host
        self.port = port
        self.title = title
        self.auth = DigestAuth(realm, username, password)
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._clients: set[_Connection] = set()
        self._online = False
        self._stopped = True
        self._sdp_session = int(time.time())

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        self._stopped = False
        self.set_online(True)

    def stop(self) -> None:
        self._stopped = True
        self.set_online(False)

    @property
    def online(self) -> bool:
        return self._online

    def set_online(self, online: bool) -> None:
        """Offline closes every connection and the listening socket, as a dead camera would."""
        with self._lock:
            if online and not self._stopped:
                if self._listener is None:
                    self._listener = self._listen()
                    threading.Thread(target=self._accept_loop, args=(self._listener,),
                                     daemon=True, name=f"rtsp-accept-{self.port}").start()
                self._online = True
                return
            self._online = False
            listener, self._listener = self._listener, None
            clients = list(self._clients)
        if listener is not None:
            _close_socket(listener)
        for client in clients:
            client.close()

    def _listen(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(16)
        sock.settimeout(0.5)  # lets the loop notice the listener was closed
        self.port = sock.getsockname()[1]
        return sock

    def _accept_loop(self, listener: socket.socket) -> None:
        while True:
            with self._lock:
                if self._listener is not listener:
                    return
            try:
                sock, addr = listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                full = len(self._clients) >= MAX_CLIENTS
                if not self._online or full:
                    _close_socket(sock)
                    continue
                client = _Connection(self, sock, addr)
                self._clients.add(client)
            threading.Thread(target=client.run, daemon=True,
                             name=f"rtsp-client-{addr[1]}").start()

    def _forget(self, client: "_Connection") -> None:
        with self._lock:
            self._clients.discard(client)

    # -- controls -------------------------------------------------------------------------
    def set_credentials(self, username: str, password: str) -> None:
        self.auth.set_credentials(username, password)

    @property
    def connection_count(self) -> int:
        with self._lock:
            return len(self._clients)


def _close_socket(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


def _parse_transport(value: str) -> tuple[int, int] | None:
    """The interleaved channel pair of the first RTP/AVP/TCP spec offered, else None."""
    for spec in value.split(","):
        parts = [p.strip() for p in spec.split(";")]
        if parts[0].upper() != "RTP/AVP/TCP":
            continue
        for part in parts[1:]:
            if part.lower().startswith("interleaved="):
                m = re.fullmatch(r"(\d{1,3})(?:-(\d{1,3}))?", part.split("=", 1)[1])
                if not m:
                    return None
                first = int(m.group(1))
                second = int(m.group(2)) if m.group(2) else first + 1
                return (first, second) if max(first, second) <= 255 else None
        return 0, 1
    return None


class _Connection:
    """One client TCP connection and the (single) session it may set up."""

    def __init__(self, server: RtspServer, sock: socket.socket, addr):
        self.server = server
        self.sock = sock
        self.addr = addr
        self._send_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._closed = False
        self.session_id: str | None = None
        self.stream_name: str | None = None
        self.channels = (0, 1)
        self.ssrc = secrets.randbits(32)
        self.seq = secrets.randbits(16)
        self.ts_offset = secrets.randbits(32)
        self.ts_origin: float | None = None   # capture time that maps to ts_offset
        self._subscription = None
        self._sender: threading.Thread | None = None

    # -- plumbing -------------------------------------------------------------------------
    def send(self, data: bytes) -> bool:
        with self._send_lock:
            if self._closed:
                return False
            try:
                self.sock.sendall(data)
                return True
            except OSError:
                pass
        self.close()
        return False

    def close(self) -> None:
        with self._state_lock:
            if self._closed:
                return
            self._closed = True
        _close_socket(self.sock)   # first, so a send blocked on a stuck client fails now
        self._stop_media()
        self.server._forget(self)

    def respond(self, code: int, cseq: str | None, headers: list[tuple[str, str]] = (),
                body: bytes = b"") -> None:
        lines = [f"RTSP/1.0 {code} {REASONS.get(code, 'Error')}"]
        if cseq is not None:
            lines.append(f"CSeq: {cseq}")
        lines.append(f"Server: {SERVER_NAME}")
        lines.append(f"Date: {formatdate(usegmt=True)}")
        lines += [f"{k}: {v}" for k, v in headers]
        if body:
            lines.append(f"Content-Length: {len(body)}")
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode() + body)

    # -- reading --------------------------------------------------------------------------
    def run(self) -> None:
        # Any bytes from the client (requests or RTCP) keep the session alive; silence for
        # the session timeout ends it, as RFC 2326 section 12.37 describes.
        self.sock.settimeout(SESSION_TIMEOUT_S)
        buf = bytearray()
        try:
            while not self._closed:
                try:
                    data = self.sock.recv(65536)
                except (socket.timeout, OSError):
                    break
                if not data:
                    break
                buf += data
                if not self._drain(buf):
                    break
        except Exception:  # a bug here must cost one connection, never the server
            log.exception("rtsp connection from %s failed", self.addr)
        finally:
            self.close()

    def _drain(self, buf: bytearray) -> bool:
        """Handle every complete message in buf; False means close the connection."""
        while buf:
            if buf[0] == 0x24:                    # '$': interleaved RTCP from the client
                if len(buf) < 4:
                    return True
                size = struct.unpack("!H", buf[2:4])[0]
                if len(buf) < 4 + size:
                    return True
                del buf[:4 + size]
                continue
            if buf[0] in (0x0D, 0x0A):            # stray line ends between requests
                del buf[:1]
                continue
            # Headers end at a blank line; accept bare LF line ends too, whichever comes first.
            ends = [(i, n) for i, n in ((buf.find(b"\r\n\r\n"), 4), (buf.find(b"\n\n"), 2))
                    if i >= 0]
            end, sep = min(ends) if ends else (-1, 0)
            if end < 0:
                if len(buf) > MAX_HEAD_BYTES or not _looks_like_request_start(bytes(buf)):
                    self.respond(400, None)
                    return False
                return True
            if end > MAX_HEAD_BYTES:
                self.respond(400, None)
                return False
            try:
                request = parse_head(bytes(buf[:end]))
            except BadRequest as exc:
                log.info("rtsp %s: %s", self.addr, exc)
                self.respond(400, exc.cseq)
                return False
            length_text = request.header("content-length") or "0"
            if not length_text.isdigit():
                self.respond(400, request.header("cseq"))
                return False
            length = int(length_text)
            if length > MAX_BODY_BYTES:
                self.respond(413, request.header("cseq"))
                return False
            if len(buf) < end + sep + length:
                return True
            request.body = bytes(buf[end + sep:end + sep + length])
            del buf[:end + sep + length]
            if not self._handle(request):
                return False
        return True

    # -- methods --------------------------------------------------------------------------
    def _handle(self, req: Request) -> bool:
        cseq = req.header("cseq")
        if cseq is None or not cseq.strip().isdigit():
            self.respond(400, None)
            return True
        if req.version != "RTSP/1.0":
            self.respond(505, cseq)
            return True
        if req.method in KNOWN_UNSUPPORTED:
            self.respond(405, cseq, [("Allow", ", ".join(METHODS))])
            return True
        if req.method not in METHODS:
            self.respond(501, cseq)
            return True
        if req.method == "OPTIONS":
            self.respond(200, cseq, [("Public", ", ".join(METHODS))])
            return True
        verdict = self.server.auth.check(req.method, req.header("authorization"))
        if verdict != "ok":
            self.respond(401, cseq, [("WWW-Authenticate",
                                      self.server.auth.challenge(stale=verdict == "stale"))])
            return True
        handler = getattr(self, "_on_" + req.method.lower())
        return handler(req, cseq)

    def _resolve(self, url: str) -> tuple[str | None, bool]:
        """(stream name, whether the URL names the track) for a request URL."""
        try:
            path = urlsplit(url).path if "://" in url else url
        except ValueError:
            return None, False
        parts = [p for p in path.split("/") if p]
        if not parts or parts[0] not in self.server.streams:
            return None, False
        if len(parts) == 1:
            return parts[0], False
        if len(parts) == 2 and parts[1] == TRACK:
            return parts[0], True
        return None, False

    def _check_session(self, req: Request, cseq: str) -> bool:
        given = (req.header("session") or "").split(";")[0].strip()
        if self.session_id is None or given != self.session_id:
            self.respond(454, cseq)
            return False
        return True

    def _on_describe(self, req: Request, cseq: str) -> bool:
        name, _ = self._resolve(req.url)
        if name is None:
            self.respond(404, cseq)
            return True
        source = self.server.streams[name]
        source.wait_parameter_sets(3.0)   # the SDP should carry SPS/PPS when they exist
        sdp = build_sdp(source, f"{self.server.title} {name}", self.server.host,
                        self.server._sdp_session).encode()
        base = urlsplit(req.url)._replace(query="", fragment="").geturl().rstrip("/") + "/"
        self.respond(200, cseq, [("Content-Base", base), ("Content-Type", "application/sdp")],
                     sdp)
        return True

    def _on_setup(self, req: Request, cseq: str) -> bool:
        name, _ = self._resolve(req.url)
        if name is None:
            self.respond(404, cseq)
            return True
        if req.header("session") is not None and not self._check_session(req, cseq):
            return True
        if self.stream_name is not None and self.stream_name != name:
            self.respond(459, cseq)
            return True
        channels = _parse_transport(req.header("transport") or "")
        if channels is None:
            self.respond(461, cseq)
            return True
        self.stream_name = name
        self.channels = channels
        if self.session_id is None:
            self.session_id = secrets.token_hex(8).upper()
        transport = (f"RTP/AVP/TCP;unicast;interleaved={channels[0]}-{channels[1]};"
                     f"ssrc={self.ssrc:08X};mode=\"PLAY\"")
        self.respond(200, cseq, [("Transport", transport),
                                 ("Session", f"{self.session_id};timeout={SESSION_TIMEOUT_S}")])
        return True

    def _on_play(self, req: Request, cseq: str) -> bool:
        if not self._check_session(req, cseq):
            return True
        if self.stream_name is None:
            self.respond(455, cseq)
            return True
        base = urlsplit(req.url)._replace(query="", fragment="").geturl().rstrip("/")
        track_url = base if base.endswith(TRACK) else f"{base}/{TRACK}"
        self.respond(200, cseq, [("Session", f"{self.session_id};timeout={SESSION_TIMEOUT_S}"),
                                 ("Range", "npt=0.000-"),
                                 ("RTP-Info", f"url={track_url};seq={self.seq}")])
        self._start_media()
        return True

    def _on_pause(self, req: Request, cseq: str) -> bool:
        if not self._check_session(req, cseq):
            return True
        self._stop_media()
        self.respond(200, cseq, [("Session", self.session_id)])
        return True

    def _on_teardown(self, req: Request, cseq: str) -> bool:
        if not self._check_session(req, cseq):
            return True
        self._stop_media()
        self.respond(200, cseq)
        self.session_id, self.stream_name = None, None
        return True

    def _on_get_parameter(self, req: Request, cseq: str) -> bool:
        if req.header("session") is not None and not self._check_session(req, cseq):
            return True
        self.respond(200, cseq)
        return True

    def _on_set_parameter(self, req: Request, cseq: str) -> bool:
        return self._on_get_parameter(req, cseq)

    # -- media ----------------------------------------------------------------------------
    def _start_media(self) -> None:
        if self._sender is not None:
            return
        source = self.server.streams[self.stream_name]
        self._subscription = source.subscribe(max_seconds=2.0)
        self._sender = threading.Thread(target=self._send_media,
                                        args=(source, self._subscription), daemon=True,
                                        name=f"rtsp-media-{self.addr[1]}")
        self._sender.start()

    def _stop_media(self) -> None:
        sub, self._subscription = self._subscription, None
        sender, self._sender = self._sender, None
        if sub is not None:
            sub.close()
        if sender is not None and sender is not threading.current_thread():
            sender.join(timeout=2)

    def _send_media(self, source: MediaSource, sub) -> None:
        rtp_ch, rtcp_ch = self.channels
        sent_params = False
        packets = octets = 0
        last_report = 0.0
        cname = f"simcam@{self.server.host}"
        while not sub.closed and not self._closed:
            unit = sub.get(timeout=0.5)
            if unit is None:
                continue
            nals = list(unit.nals)
            if not sent_params:
                # Start with the parameter sets even if this keyframe came without them.
                kinds = {n[0] & 0x1F for n in nals}
                params = source.parameter_sets
                if params and not {7, 8} <= kinds:
                    nals = list(params) + nals
                sent_params = True
            if self.ts_origin is None:
                self.ts_origin = unit.capture
            # 90 kHz clock from the render time, so a stall shows up as a gap in RTP time too.
            ts = (self.ts_offset + int(round((unit.capture - self.ts_origin) * 90000))) & 0xFFFFFFFF
            rtp, self.seq = packetize_h264(nals, self.seq, ts, self.ssrc)
            out = []
            now = time.monotonic()
            if now - last_report >= 5.0:
                # Sent ahead of the frame it describes, so a client knows the wall-clock time
                # of the very first frame (counts cover what was sent before it).
                wall = time.time() - (now - unit.capture)
                out.append(interleave(rtcp_ch, rtcp_sender_report(
                    self.ssrc, wall, ts, packets, octets, cname)))
                last_report = now
            out += [interleave(rtp_ch, p) for p in rtp]
            packets += len(rtp)
            octets += sum(len(p) - 12 for p in rtp)
            if not self.send(b"".join(out)):
                return
