"""ONVIF device and media services of one simulated camera.

SOAP 1.2 over HTTP at /onvif/device_service and /onvif/media_service (both endpoints accept
every operation, as many cameras do), WS-Security UsernameToken with PasswordDigest on every
operation except GetSystemDateAndTime, and a JPEG snapshot at /onvif/snapshot behind HTTP
Digest. Faults can be switched on to rehearse what a client sees when a camera misbehaves.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import logging
import re
import secrets
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import parse_qs, urlsplit

from lxml import etree

from .discovery import camera_scopes, endpoint_reference

log = logging.getLogger("simulators.camera.onvif")

SOAP_ENV = "http://www.w3.org/2003/05/soap-envelope"
NS = {
    "env": SOAP_ENV,
    "tds": "http://www.onvif.org/ver10/device/wsdl",
    "trt": "http://www.onvif.org/ver10/media/wsdl",
    "tt": "http://www.onvif.org/ver10/schema",
    "ter": "http://www.onvif.org/ver10/error",
}
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"

ONVIF_FAULTS = ("offline", "wrong_credentials", "malformed_soap")
FRAME_FAULTS = ("blackout", "lens_covered", "defocus", "turned", "stall")
FAULTS = ONVIF_FAULTS + FRAME_FAULTS

DEVICE_PATH, MEDIA_PATH, SNAPSHOT_PATH = "/onvif/device_service", "/onvif/media_service", "/onvif/snapshot"
MAX_BODY = 1 << 20
_H264_PROFILES = {"baseline": "Baseline", "main": "Main", "extended": "Extended", "high": "High"}
MANUFACTURER, MODEL, FIRMWARE = "SiteGuard Simulated Devices", "SG-SIM-IPC", "1.0.0"


class SoapFault(Exception):
    """A SOAP 1.2 fault: code Sender/Receiver/VersionMismatch and ONVIF subcodes like ter:NotAuthorized."""

    def __init__(self, code: str, subcodes: tuple[str, ...], reason: str) -> None:
        super().__init__(reason)
        self.code, self.subcodes, self.reason = code, subcodes, reason

    @property
    def http_status(self) -> int:
        # SOAP 1.2 HTTP binding: the sender's fault is a 400, everything else a 500.
        return 400 if self.code == "Sender" else 500


def not_authorized(reason: str) -> SoapFault:
    return SoapFault("Sender", ("ter:NotAuthorized",), reason)


# ---- XML helpers ----------------------------------------------------------------------------

def _q(tag: str) -> str:
    prefix, local = tag.split(":")
    return f"{{{NS[prefix]}}}{local}"


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def sub(parent, tag: str, text=None, **attrs):
    el = etree.SubElement(parent, _q(tag), {k: _text(v) for k, v in attrs.items()})
    if text is not None:
        el.text = _text(text)
    return el


def new_envelope():
    env = etree.Element(_q("env:Envelope"), nsmap=NS)
    return env, sub(env, "env:Body")


def fault_xml(fault: SoapFault) -> bytes:
    env, body = new_envelope()
    f = sub(body, "env:Fault")
    holder = sub(f, "env:Code")
    sub(holder, "env:Value", f"env:{fault.code}")
    for code in fault.subcodes:
        holder = sub(holder, "env:Subcode")
        sub(holder, "env:Value", code)
    reason = sub(sub(f, "env:Reason"), "env:Text", fault.reason)
    reason.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


def child(el, *names):
    """Walk down by local name, ignoring namespaces: clients qualify parameters differently."""
    for name in names:
        if el is None:
            return None
        el = next((c for c in el if isinstance(c.tag, str) and etree.QName(c).localname == name), None)
    return el


def child_text(el, *names) -> str | None:
    found = child(el, *names)
    return None if found is None or found.text is None else found.text.strip()


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def parse_envelope(data: bytes):
    """(header, operation element) of a SOAP 1.2 request, or a SoapFault saying what is wrong."""
    try:
        root = etree.fromstring(data, _PARSER)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise SoapFault("Sender", ("ter:WellFormed",), f"XML is not well-formed: {exc}") from None
    if root.getroottree().docinfo.doctype:
        raise SoapFault("Sender", ("ter:WellFormed",), "a DTD is not allowed in a SOAP message")
    if etree.QName(root).localname != "Envelope":
        raise SoapFault("Sender", ("ter:WellFormed",), "the root element is not a SOAP Envelope")
    if etree.QName(root).namespace != SOAP_ENV:
        raise SoapFault("VersionMismatch", (), "only SOAP 1.2 envelopes are accepted")
    body = root.find(_q("env:Body"))
    op = None if body is None else next((c for c in body if isinstance(c.tag, str)), None)
    if op is None:
        raise SoapFault("Sender", ("ter:InvalidArgVal",), "the SOAP Body holds no operation")
    return root.find(_q("env:Header")), op


def parse_xs_datetime(value: str) -> float:
    stamp = dt.datetime.fromisoformat(value.strip())
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.timezone.utc)
    return stamp.timestamp()


# ---- authentication -------------------------------------------------------------------------

class UsernameTokenAuth:
    """WS-Security UsernameToken with PasswordDigest, with a freshness window and replay check."""

    def __init__(self, clock: Callable[[], float], window_s: float = 300.0) -> None:
        self.clock, self.window_s = clock, window_s
        self._seen: dict[bytes, float] = {}
        self._lock = threading.Lock()

    def check(self, header, username: str, password: str) -> None:
        token = None if header is None else header.find(f"{{{WSSE}}}Security/{{{WSSE}}}UsernameToken")
        if token is None:
            raise not_authorized("a WS-Security UsernameToken is required")
        pw = token.find(f"{{{WSSE}}}Password")
        nonce_b64 = token.findtext(f"{{{WSSE}}}Nonce")
        created = token.findtext(f"{{{WSU}}}Created") or token.findtext(f"{{{WSSE}}}Created")
        if pw is None or not (pw.get("Type") or "").endswith("#PasswordDigest"):
            raise not_authorized("a PasswordDigest is required")
        if not nonce_b64 or not created:
            raise not_authorized("the UsernameToken lacks Nonce or Created")
        try:
            nonce = base64.b64decode(nonce_b64.strip(), validate=True)
            created_at = parse_xs_datetime(created)
        except (binascii.Error, ValueError):
            raise not_authorized("the UsernameToken has a malformed Nonce or Created") from None
        now = self.clock()
        if abs(now - created_at) > self.window_s:
            raise not_authorized("the UsernameToken's Created time is too far from the device clock")
        expected = base64.b64encode(hashlib.sha1(nonce + created.encode() + password.encode()).digest())
        user_ok = hmac.compare_digest((token.findtext(f"{{{WSSE}}}Username") or "").strip(), username)
        if not (hmac.compare_digest((pw.text or "").strip().encode(), expected) and user_ok):
            raise not_authorized("the username or password is not valid")
        with self._lock:
            # Drop nonces older than any Created that could still pass the window check.
            self._seen = {n: t for n, t in self._seen.items() if t > now}
            if nonce in self._seen:
                raise not_authorized("the UsernameToken nonce was already used")
            self._seen[nonce] = now + 2 * self.window_s


_DIGEST_PARAM = re.compile(r'(\w+)\s*=\s*("((?:[^"\\]|\\.)*)"|[^,\s]*)')


class HttpDigestAuth:
    """HTTP Digest (MD5, qop=auth) for the snapshot URL, with stateless signed nonces."""

    def __init__(self, realm: str, clock: Callable[[], float] = time.time, nonce_ttl_s: float = 300.0):
        self.realm, self.clock, self.nonce_ttl_s = realm, clock, nonce_ttl_s
        self._secret = secrets.token_bytes(16)
        self._nc: dict[str, int] = {}
        self._lock = threading.Lock()

    def _sign(self, stamp: str) -> str:
        return hmac.new(self._secret, stamp.encode(), hashlib.sha256).hexdigest()[:32]

    def challenge(self, stale: bool = False) -> str:
        # Time plus randomness: two clients challenged in the same second get distinct nonces,
        # so one's request counter cannot make the other's look replayed.
        stamp = f"{int(self.clock()):x}.{secrets.token_hex(8)}"
        value = (f'Digest realm="{self.realm}", qop="auth", algorithm=MD5, '
                 f'nonce="{stamp}{self._sign(stamp)}", opaque="{self._sign("opaque")}"')
        return value + (", stale=true" if stale else "")

    def check(self, method: str, uri: str, header: str | None, username: str, password: str) -> str:
        """'ok', 'stale' (nonce expired: ask again) or 'denied'."""
        if not header or not header.lower().startswith("digest "):
            return "denied"
        p = {k.lower(): (q if q is not None and v.startswith('"') else v)
             for k, v, q in _DIGEST_PARAM.findall(header[7:])}
        nonce, nc = p.get("nonce", ""), p.get("nc", "")
        stamp, sig = nonce[:-32], nonce[-32:]
        if not stamp or not hmac.compare_digest(sig, self._sign(stamp)):
            return "denied"
        if p.get("qop") != "auth" or p.get("algorithm", "MD5").upper() != "MD5" or p.get("uri") != uri:
            return "denied"
        ha1 = hashlib.md5(f"{username}:{self.realm}:{password}".encode()).hexdigest()
        ha2 = hashlib.md5(f"{method}:{uri}".encode()).hexdigest()
        want = hashlib.md5(f"{ha1}:{nonce}:{nc}:{p.get('cnonce', '')}:auth:{ha2}".encode()).hexdigest()
        if not (hmac.compare_digest(p.get("username", ""), username)
                and hmac.compare_digest(p.get("response", ""), want)):
            return "denied"
        if self.clock() - int(stamp.split(".")[0], 16) > self.nonce_ttl_s:
            return "stale"
        try:
            count = int(nc, 16)
        except ValueError:
            return "denied"
        with self._lock:
            if count <= self._nc.get(nonce, 0):
                return "denied"  # a replayed request
            self._nc[nonce] = count
            if len(self._nc) > 4096:
                self._nc.clear()
        return "ok"


# ---- HTTP plumbing --------------------------------------------------------------------------

class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, handler, camera: "OnvifCameraServer") -> None:
        self.camera = camera
        self.open_connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        super().__init__(addr, handler)

    def process_request(self, request, client_address):
        with self._conn_lock:
            self.open_connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._conn_lock:
            self.open_connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        """Cut every open connection, as pulling the camera's cable would."""
        with self._conn_lock:
            conns = list(self.open_connections)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request, client_address):
        log.debug("connection from %s ended with an error", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server_version = "SimCam-httpd/1.0"
    timeout = 10  # a client that stalls mid-request loses its connection, not a thread forever

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, fmt, *args):
        log.debug("%s %s", self.address_string(), fmt % args)

    def send(self, status: int, body: bytes, content_type: str, extra: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def read_body(self) -> bytes | None:
        """The request body, or None after answering 411/413/400 itself."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            data = bytearray()
            while True:
                size_line = self.rfile.readline(64)
                try:
                    size = int(size_line.split(b";")[0].strip(), 16)
                except ValueError:
                    self.send(400, b"bad chunked encoding\n", "text/plain")
                    return None
                if size == 0:
                    while self.rfile.readline(1024).strip():
                        pass  # trailers
                    return bytes(data)
                if len(data) + size > MAX_BODY:
                    self.send(413, b"request too large\n", "text/plain")
                    return None
                data += self.rfile.read(size)
                self.rfile.readline(8)
        length = self.headers.get("Content-Length")
        if length is None:
            self.send(411, b"Content-Length required\n", "text/plain")
            return None
        try:
            n = int(length)
        except ValueError:
            self.send(400, b"bad Content-Length\n", "text/plain")
            return None
        if n < 0 or n > MAX_BODY:
            self.send(413, b"request too large\n", "text/plain")
            return None
        return self.rfile.read(n)

    def do_POST(self):
        path = urlsplit(self.path).path
        if path not in (DEVICE_PATH, MEDIA_PATH):
            self.send(404, b"not found\n", "text/plain")
            return
        body = self.read_body()
        if body is not None:
            status, reply = self.server.camera.handle_soap(body, self.connection.getsockname()[0])
            self.send(status, reply, "application/soap+xml; charset=utf-8")

    def do_GET(self):
        parts = urlsplit(self.path)
        if parts.path != SNAPSHOT_PATH:
            self.send(404, b"not found\n", "text/plain")
            return
        self.server.camera.handle_snapshot(self, parse_qs(parts.query).get("profile", ["main"])[0])

    do_HEAD = do_GET


# ---- the camera -----------------------------------------------------------------------------

class OnvifCameraServer:
    """ONVIF face of one simulated camera; `media` is its SimulatedCameraMedia (or equivalent).

    `clock_offset_s` shifts the camera's clock, to rehearse clients that must adjust for skew.
    """

    def __init__(self, camera: dict, media, host: str | None = None, port: int | None = None,
                 clock: Callable[[], float] = time.time, clock_offset_s: float = 0.0,
                 auth_window_s: float = 300.0) -> None:
        self.camera = camera
        self.camera_id = str(camera["id"])
        self.media = media
        self.host = host or camera.get("host") or "127.0.0.1"
        self.port = int(camera["onvif_port"] if port is None else port)
        self.username = str(camera.get("username", "admin"))
        self.configured_password = str(camera.get("password") or "")
        self.password = self.configured_password
        self.clock_offset_s = clock_offset_s
        self._clock = clock
        self.fault: str | None = None
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.RLock()
        self.ws_auth = UsernameTokenAuth(self.now, auth_window_s)
        self.http_auth = HttpDigestAuth(f"SimCam {self.camera_id}", self.now)
        self.profiles = self._profile_table()
        self._ops = {
            ("tds", "GetSystemDateAndTime"): self._get_system_date_and_time,
            ("tds", "GetDeviceInformation"): self._get_device_information,
            ("tds", "GetCapabilities"): self._get_capabilities,
            ("tds", "GetServices"): self._get_services,
            ("tds", "GetServiceCapabilities"): self._get_device_service_capabilities,
            ("tds", "GetScopes"): self._get_scopes,
            ("tds", "GetHostname"): self._get_hostname,
            ("trt", "GetServiceCapabilities"): self._get_media_service_capabilities,
            ("trt", "GetProfiles"): self._get_profiles,
            ("trt", "GetProfile"): self._get_profile,
            ("trt", "GetStreamUri"): self._get_stream_uri,
            ("trt", "GetSnapshotUri"): self._get_snapshot_uri,
            ("trt", "GetVideoSources"): self._get_video_sources,
            ("trt", "GetVideoSourceConfigurations"): self._get_video_source_configurations,
            ("trt", "GetVideoEncoderConfigurations"): self._get_video_encoder_configurations,
        }
        self._ops = {(NS[p], name): fn for (p, name), fn in self._ops.items()}

    # -- lifecycle and state --

    def now(self) -> float:
        return self._clock() + self.clock_offset_s

    @property
    def online(self) -> bool:
        return self._httpd is not None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def device_url(self) -> str:
        return self.base_url + DEVICE_PATH

    def snapshot_url(self, profile: str = "main") -> str:
        return f"{self.base_url}{SNAPSHOT_PATH}?profile={profile}"

    def start(self) -> None:
        with self._lock:
            self._listen()

    def stop(self) -> None:
        with self._lock:
            self._close()

    def _listen(self) -> None:
        if self._httpd is not None:
            return
        try:
            httpd = _HTTPServer((self.host, self.port), _Handler, self)
        except OSError as exc:
            raise OSError(exc.errno, f"camera {self.camera_id}: cannot listen on "
                                     f"{self.host}:{self.port}: {exc.strerror}") from exc
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"onvif-{self.camera_id}", daemon=True)
        self._thread.start()

    def _close(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()  # the port now refuses connections
        httpd.drop_connections()
        if self._thread:
            self._thread.join(5)

    def set_fault(self, name: str | None) -> None:
        """Switch to one fault (None clears). Faults do not stack: a new one replaces the old."""
        if name is not None and name not in FAULTS:
            raise ValueError(f"unknown fault {name!r}; expected one of {', '.join(FAULTS)} or null")
        with self._lock:
            self._undo(self.fault)
            self.fault = None
            if name == "offline":
                self.media.set_online(False)
                self._close()
            elif name == "wrong_credentials":
                # Someone changed the camera's password: the configured one stops working.
                self.password = self.configured_password + "-" + secrets.token_urlsafe(6)
                self.media.set_credentials(self.username, self.password)
            elif name in FRAME_FAULTS:
                self.media.set_fault(name)
            self.fault = name
        log.info("camera %s fault -> %s", self.camera_id, name)

    def _undo(self, name: str | None) -> None:
        if name == "offline":
            self._listen()
            self.media.set_online(True)
        elif name == "wrong_credentials":
            self.password = self.configured_password
            self.media.set_credentials(self.username, self.password)
        elif name in FRAME_FAULTS:
            self.media.set_fault(None)

    # -- request handling --

    def handle_soap(self, data: bytes, local_host: str) -> tuple[int, bytes]:
        try:
            status, reply = 200, self._dispatch(data, f"http://{local_host}:{self.port}")
        except SoapFault as fault:
            status, reply = fault.http_status, fault_xml(fault)
        except Exception:
            log.exception("camera %s: SOAP handler failed", self.camera_id)
            status, reply = 500, fault_xml(SoapFault("Receiver", (), "internal error"))
        if self.fault == "malformed_soap":
            # Cut inside the Envelope start tag. A cut further down is no fault to onvif-zeep:
            # it parses with lxml's recover mode and silently returns the partial data.
            start = reply.find(b"<env:Envelope")
            reply = reply[: start + 12] if start >= 0 else reply[: len(reply) // 3]
        return status, reply

    def _dispatch(self, data: bytes, base: str) -> bytes:
        header, op = parse_envelope(data)
        qname = etree.QName(op)
        if (qname.namespace, qname.localname) != (NS["tds"], "GetSystemDateAndTime"):
            # Every other operation needs a valid token, known or not, so that an anonymous
            # caller learns nothing about what the device supports.
            self.ws_auth.check(header, self.username, self.password)
        handler = self._ops.get((qname.namespace, qname.localname))
        if handler is None:
            raise SoapFault("Receiver", ("ter:ActionNotSupported",),
                            f"operation {qname.localname} is not supported by this device")
        env, body = new_envelope()
        handler(op, body, base)
        return etree.tostring(env, xml_declaration=True, encoding="UTF-8")

    def handle_snapshot(self, req: _Handler, profile: str) -> None:
        verdict = self.http_auth.check(req.command, req.path, req.headers.get("Authorization"),
                                       self.username, self.password)
        if verdict != "ok":
            req.send(401, b"authorization required\n", "text/plain",
                     {"WWW-Authenticate": self.http_auth.challenge(stale=verdict == "stale")})
            return
        if profile not in self.media.profiles:
            req.send(404, f"no profile {profile!r}\n".encode(), "text/plain")
            return
        try:
            jpeg = self.media.snapshot_jpeg(profile)
        except Exception:
            log.exception("camera %s: snapshot failed", self.camera_id)
            req.send(503, b"snapshot unavailable\n", "text/plain")
            return
        req.send(200, jpeg, "image/jpeg", {"Cache-Control": "no-store"})

    # -- profiles --

    def _profile_table(self) -> dict[str, dict]:
        """token -> description of each media profile, main first."""
        table = {}
        settings = getattr(self.media, "encoder_settings", None)  # optional: the real encoder's
        for i, (name, (w, h, fps)) in enumerate(self.media.profiles.items(), start=1):
            enc = settings(name) if settings else {}
            fps = max(1, int(round(fps)))
            table[f"Profile_{i}"] = {
                "name": name, "label": f"{name}Stream", "encoder": f"VideoEncoderConfig_{i}",
                "width": w, "height": h, "fps": fps,
                # Fallbacks: a plausible H.264 budget (about 0.1 bit per pixel per frame), 2 s GOP.
                "bitrate_kbps": int(enc.get("bitrate_kbps") or max(128, w * h * fps * 0.1 / 1000)),
                "gov_length": int(enc.get("gop") or fps * 2),
                "h264_profile": _H264_PROFILES.get(str(enc.get("h264_profile", "main")).lower(), "Main"),
            }
        return table

    def _source(self) -> dict:
        return max(self.profiles.values(), key=lambda p: p["width"] * p["height"])

    def _profile(self, token: str | None) -> tuple[str, dict]:
        if token not in self.profiles:
            raise SoapFault("Sender", ("ter:InvalidArgVal", "ter:NoProfile"),
                            f"no media profile with token {token!r}")
        return token, self.profiles[token]

    def _video_source_configuration(self, parent, tag: str) -> None:
        src = self._source()
        vsc = sub(parent, tag, token="VideoSourceConfig_1")
        sub(vsc, "tt:Name", "VideoSourceConfig")
        sub(vsc, "tt:UseCount", len(self.profiles))
        sub(vsc, "tt:SourceToken", "VideoSource_1")
        sub(vsc, "tt:Bounds", x=0, y=0, width=src["width"], height=src["height"])

    def _video_encoder_configuration(self, parent, tag: str, p: dict) -> None:
        vec = sub(parent, tag, token=p["encoder"])
        sub(vec, "tt:Name", p["encoder"])
        sub(vec, "tt:UseCount", 1)
        sub(vec, "tt:Encoding", "H264")
        res = sub(vec, "tt:Resolution")
        sub(res, "tt:Width", p["width"])
        sub(res, "tt:Height", p["height"])
        sub(vec, "tt:Quality", 4)
        rc = sub(vec, "tt:RateControl")
        sub(rc, "tt:FrameRateLimit", p["fps"])
        sub(rc, "tt:EncodingInterval", 1)
        sub(rc, "tt:BitrateLimit", p["bitrate_kbps"])
        h264 = sub(vec, "tt:H264")
        sub(h264, "tt:GovLength", p["gov_length"])
        sub(h264, "tt:H264Profile", p["h264_profile"])
        mc = sub(vec, "tt:Multicast")
        addr = sub(mc, "tt:Address")
        sub(addr, "tt:Type", "IPv4")
        sub(addr, "tt:IPv4Address", "0.0.0.0")
        sub(mc, "tt:Port", 0)
        sub(mc, "tt:TTL", 1)
        sub(mc, "tt:AutoStart", False)
        sub(vec, "tt:SessionTimeout", "PT60S")

    def _profile_xml(self, parent, tag: str, token: str, p: dict) -> None:
        prof = sub(parent, tag, token=token, fixed=True)
        sub(prof, "tt:Name", p["label"])
        self._video_source_configuration(prof, "tt:VideoSourceConfiguration")
        self._video_encoder_configuration(prof, "tt:VideoEncoderConfiguration", p)

    # -- device service operations --

    def _get_system_date_and_time(self, req, body, base) -> None:
        now = dt.datetime.fromtimestamp(self.now(), dt.timezone.utc)
        sdt = sub(sub(body, "tds:GetSystemDateAndTimeResponse"), "tds:SystemDateAndTime")
        sub(sdt, "tt:DateTimeType", "Manual")
        sub(sdt, "tt:DaylightSavings", False)
        sub(sub(sdt, "tt:TimeZone"), "tt:TZ", "UTC0")
        for tag in ("tt:UTCDateTime", "tt:LocalDateTime"):
            holder = sub(sdt, tag)
            t = sub(holder, "tt:Time")
            sub(t, "tt:Hour", now.hour)
            sub(t, "tt:Minute", now.minute)
            sub(t, "tt:Second", now.second)
            d = sub(holder, "tt:Date")
            sub(d, "tt:Year", now.year)
            sub(d, "tt:Month", now.month)
            sub(d, "tt:Day", now.day)

    def _get_device_information(self, req, body, base) -> None:
        r = sub(body, "tds:GetDeviceInformationResponse")
        sub(r, "tds:Manufacturer", MANUFACTURER)
        sub(r, "tds:Model", MODEL)
        sub(r, "tds:FirmwareVersion", FIRMWARE)
        sub(r, "tds:SerialNumber", endpoint_reference(self.camera_id)[-12:].upper())
        sub(r, "tds:HardwareId", "SGSIM-1")

    def _get_capabilities(self, req, body, base) -> None:
        known = {"All", "Analytics", "Device", "Events", "Imaging", "Media", "PTZ"}
        asked = [c.text.strip() for c in req if isinstance(c.tag, str) and c.text] or ["All"]
        bad = [c for c in asked if c not in known]
        if bad:
            raise SoapFault("Sender", ("ter:InvalidArgVal",), f"unknown capability category {bad[0]!r}")
        want_device = bool({"All", "Device"} & set(asked))
        want_media = bool({"All", "Media"} & set(asked))
        if not (want_device or want_media):
            raise SoapFault("Receiver", ("ter:ActionNotSupported", "ter:NoSuchService"),
                            f"the device has no {asked[0]} service")
        caps = sub(sub(body, "tds:GetCapabilitiesResponse"), "tds:Capabilities")
        if want_device:
            dev = sub(caps, "tt:Device")
            sub(dev, "tt:XAddr", base + DEVICE_PATH)
            net = sub(dev, "tt:Network")
            for name in ("IPFilter", "ZeroConfiguration", "IPVersion6", "DynDNS"):
                sub(net, f"tt:{name}", False)
            system = sub(dev, "tt:System")
            for name, value in (("DiscoveryResolve", True), ("DiscoveryBye", True),
                                ("RemoteDiscovery", False), ("SystemBackup", False),
                                ("SystemLogging", False), ("FirmwareUpgrade", False)):
                sub(system, f"tt:{name}", value)
            ver = sub(system, "tt:SupportedVersions")
            sub(ver, "tt:Major", 2)
            sub(ver, "tt:Minor", 60)
            io = sub(dev, "tt:IO")
            sub(io, "tt:InputConnectors", 0)
            sub(io, "tt:RelayOutputs", 0)
            sec = sub(dev, "tt:Security")
            for name in ("TLS1.1", "TLS1.2", "OnboardKeyGeneration", "AccessPolicyConfig",
                         "X.509Token", "SAMLToken", "KerberosToken", "RELToken"):
                sub(sec, f"tt:{name}", False)
        if want_media:
            media = sub(caps, "tt:Media")
            sub(media, "tt:XAddr", base + MEDIA_PATH)
            streaming = sub(media, "tt:StreamingCapabilities")
            sub(streaming, "tt:RTPMulticast", False)
            sub(streaming, "tt:RTP_TCP", True)
            sub(streaming, "tt:RTP_RTSP_TCP", True)
            ext = sub(media, "tt:Extension")
            sub(sub(ext, "tt:ProfileCapabilities"), "tt:MaximumNumberOfProfiles", len(self.profiles))

    def _device_capabilities(self, parent, tag: str) -> None:
        caps = sub(parent, tag)
        sub(caps, "tds:Network", IPFilter=False, ZeroConfiguration=False, IPVersion6=False,
            DynDNS=False, HostnameFromDHCP=False, NTP=0)
        sub(caps, "tds:Security", UsernameToken=True, HttpDigest=False, **{
            "TLS1.0": False, "TLS1.1": False, "TLS1.2": False, "X.509Token": False})
        sub(caps, "tds:System", DiscoveryResolve=True, DiscoveryBye=True, RemoteDiscovery=False,
            SystemBackup=False, SystemLogging=False, FirmwareUpgrade=False)

    def _media_capabilities(self, parent, tag: str) -> None:
        caps = sub(parent, tag, SnapshotUri=True, Rotation=False, VideoSourceMode=False, OSD=False)
        sub(caps, "trt:ProfileCapabilities", MaximumNumberOfProfiles=len(self.profiles))
        sub(caps, "trt:StreamingCapabilities", RTPMulticast=False, RTP_TCP=True, RTP_RTSP_TCP=True,
            NonAggregateControl=False, NoRTSPStreaming=False)

    def _get_services(self, req, body, base) -> None:
        include = (child_text(req, "IncludeCapability") or "false").lower() in ("true", "1")
        r = sub(body, "tds:GetServicesResponse")
        for ns, path, caps in ((NS["tds"], DEVICE_PATH, self._device_capabilities),
                               (NS["trt"], MEDIA_PATH, self._media_capabilities)):
            svc = sub(r, "tds:Service")
            sub(svc, "tds:Namespace", ns)
            sub(svc, "tds:XAddr", base + path)
            if include:
                caps(sub(svc, "tds:Capabilities"),
                     "tds:Capabilities" if ns == NS["tds"] else "trt:Capabilities")
            ver = sub(svc, "tds:Version")
            sub(ver, "tt:Major", 2)
            sub(ver, "tt:Minor", 60)

    def _get_device_service_capabilities(self, req, body, base) -> None:
        self._device_capabilities(sub(body, "tds:GetServiceCapabilitiesResponse"), "tds:Capabilities")

    def _get_scopes(self, req, body, base) -> None:
        r = sub(body, "tds:GetScopesResponse")
        for scope in camera_scopes(self.camera):
            s = sub(r, "tds:Scopes")
            sub(s, "tt:ScopeDef", "Fixed")
            sub(s, "tt:ScopeItem", scope)

    def _get_hostname(self, req, body, base) -> None:
        info = sub(sub(body, "tds:GetHostnameResponse"), "tds:HostnameInformation")
        sub(info, "tt:FromDHCP", False)
        sub(info, "tt:Name", self.camera_id)

    # -- media service operations --

    def _get_media_service_capabilities(self, req, body, base) -> None:
        self._media_capabilities(sub(body, "trt:GetServiceCapabilitiesResponse"), "trt:Capabilities")

    def _get_profiles(self, req, body, base) -> None:
        r = sub(body, "trt:GetProfilesResponse")
        for token, p in self.profiles.items():
            self._profile_xml(r, "trt:Profiles", token, p)

    def _get_profile(self, req, body, base) -> None:
        token, p = self._profile(child_text(req, "ProfileToken"))
        self._profile_xml(sub(body, "trt:GetProfileResponse"), "trt:Profile", token, p)

    def _media_uri(self, parent, uri: str) -> None:
        mu = sub(parent, "trt:MediaUri")
        sub(mu, "tt:Uri", uri)
        sub(mu, "tt:InvalidAfterConnect", False)
        sub(mu, "tt:InvalidAfterReboot", False)
        sub(mu, "tt:Timeout", "PT0S")

    def _get_stream_uri(self, req, body, base) -> None:
        _, p = self._profile(child_text(req, "ProfileToken"))
        stream = child_text(req, "StreamSetup", "Stream") or "RTP-Unicast"
        protocol = child_text(req, "StreamSetup", "Transport", "Protocol") or "RTSP"
        if stream != "RTP-Unicast" or protocol not in ("RTSP", "UDP", "TCP"):
            raise SoapFault("Sender", ("ter:InvalidArgVal", "ter:InvalidStreamSetup"),
                            f"only RTP-Unicast over RTSP is offered, not {stream} over {protocol}")
        self._media_uri(sub(body, "trt:GetStreamUriResponse"), self.media.rtsp_url(p["name"]))

    def _get_snapshot_uri(self, req, body, base) -> None:
        _, p = self._profile(child_text(req, "ProfileToken"))
        self._media_uri(sub(body, "trt:GetSnapshotUriResponse"),
                        f"{base}{SNAPSHOT_PATH}?profile={p['name']}")

    def _get_video_sources(self, req, body, base) -> None:
        src = self._source()
        vs = sub(sub(body, "trt:GetVideoSourcesResponse"), "trt:VideoSources", token="VideoSource_1")
        sub(vs, "tt:Framerate", float(src["fps"]))
        res = sub(vs, "tt:Resolution")
        sub(res, "tt:Width", src["width"])
        sub(res, "tt:Height", src["height"])

    def _get_video_source_configurations(self, req, body, base) -> None:
        r = sub(body, "trt:GetVideoSourceConfigurationsResponse")
        self._video_source_configuration(r, "trt:Configurations")

    def _get_video_encoder_configurations(self, req, body, base) -> None:
        r = sub(body, "trt:GetVideoEncoderConfigurationsResponse")
        for p in self.profiles.values():
            self._video_encoder_configuration(r, "trt:Configurations", p)
