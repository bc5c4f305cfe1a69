"""WS-Discovery target service for the simulated cameras (SOAP over UDP, 2005/04 draft as ONVIF uses).

One responder answers for every camera of the fleet: each Probe that matches gets one
ProbeMatches message per camera, sent unicast back to the prober, as separate devices would.
Hello goes out on start and Bye on stop. The socket is bound to the WS-Discovery port on all
addresses and joined to 239.255.255.250 on one interface (127.0.0.1 by default; the loopback
device accepts multicast on Linux with IP_MULTICAST_IF/IP_MULTICAST_LOOP, no route needed),
so it also answers Probes sent unicast to that port.
"""
from __future__ import annotations

import logging
import socket
import struct
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Iterable
from urllib.parse import quote, urlsplit

from lxml import etree

log = logging.getLogger("simulators.camera.discovery")

MULTICAST_GROUP = "239.255.255.250"
DISCOVERY_PORT = 3702

SOAP_ENV = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
WSD = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
DN = "http://www.onvif.org/ver10/network/wsdl"
TDS = "http://www.onvif.org/ver10/device/wsdl"
NSMAP = {"env": SOAP_ENV, "wsa": WSA, "wsd": WSD, "dn": DN, "tds": TDS}

ANONYMOUS = WSA + "/role/anonymous"
DISCOVERY_URN = "urn:schemas-xmlsoap-org:ws:2005:04:discovery"
ACTION = {name: f"{WSD}/{name}" for name in ("Hello", "Bye", "Probe", "ProbeMatches", "Resolve",
                                             "ResolveMatches")}
MATCH_RFC3986 = WSD + "/rfc3986"
MATCH_STRCMP0 = WSD + "/strcmp0"

# What a camera offers: the ONVIF device and its role as a network video transmitter.
DEVICE_TYPES = ((DN, "NetworkVideoTransmitter"), (TDS, "Device"))
TYPES_TEXT = "dn:NetworkVideoTransmitter tds:Device"
MAX_DATAGRAM = 65535


def endpoint_reference(camera_id: str) -> str:
    """The camera's stable WS-Addressing endpoint address, the same across restarts."""
    return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"siteguard-simulated-camera/{camera_id}"))


def camera_scopes(camera: dict) -> list[str]:
    """ONVIF scopes a camera announces (and returns from GetScopes)."""
    base = "onvif://www.onvif.org/"
    scopes = [base + "type/video_encoder", base + "type/Network_Video_Transmitter",
              base + "Profile/Streaming", base + "hardware/SG-SIM-IPC",
              base + "name/" + quote(str(camera["id"]), safe="")]
    where = camera.get("name") or camera["id"]
    scopes.append(base + "location/" + quote(str(where), safe=""))
    return scopes


@dataclass(frozen=True)
class DiscoveryTarget:
    """One camera as WS-Discovery sees it."""
    camera_id: str
    xaddrs: tuple[str, ...]
    scopes: tuple[str, ...]
    metadata_version: int = 1

    @property
    def address(self) -> str:
        return endpoint_reference(self.camera_id)


# ---- matching (pure) ------------------------------------------------------------------------

def types_match(requested: Iterable[tuple[str, str]]) -> bool:
    """A Probe matches when every type it asks for is one the camera offers (none asked: all)."""
    return all(t in DEVICE_TYPES for t in requested)


def _scope_matches(wanted: str, offered: str, rule: str) -> bool:
    if rule == MATCH_STRCMP0:
        return wanted == offered
    # RFC 3986 rule: same scheme and authority (case-insensitive), path a segment-wise prefix.
    w, o = urlsplit(wanted), urlsplit(offered)
    if (w.scheme.lower(), w.netloc.lower()) != (o.scheme.lower(), o.netloc.lower()):
        return False
    wseg = [s for s in w.path.split("/") if s]
    oseg = [s for s in o.path.split("/") if s]
    return oseg[:len(wseg)] == wseg


def scopes_match(requested: list[str], offered: Iterable[str], rule: str = MATCH_RFC3986) -> bool:
    if rule not in (MATCH_RFC3986, MATCH_STRCMP0):
        return False  # an unknown matching rule matches nothing
    offered = list(offered)
    return all(any(_scope_matches(w, o, rule) for o in offered) for w in requested)


# ---- messages -------------------------------------------------------------------------------

def _el(parent, ns: str, tag: str, text: str | None = None):
    e = etree.SubElement(parent, f"{{{ns}}}{tag}")
    if text is not None:
        e.text = text
    return e


def _envelope(action: str, to: str, relates_to: str | None, instance_id: int, number: int):
    env = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap=NSMAP)
    header = _el(env, SOAP_ENV, "Header")
    _el(header, WSA, "MessageID", "urn:uuid:" + str(uuid.uuid4()))
    if relates_to:
        _el(header, WSA, "RelatesTo", relates_to)
    _el(header, WSA, "To", to)
    _el(header, WSA, "Action", action)
    seq = _el(header, WSD, "AppSequence")
    seq.set("InstanceId", str(instance_id))
    seq.set("MessageNumber", str(number))
    return env, _el(env, SOAP_ENV, "Body")


def _describe(parent, target: DiscoveryTarget, full: bool = True) -> None:
    epr = _el(parent, WSA, "EndpointReference")
    _el(epr, WSA, "Address", target.address)
    if full:
        _el(parent, WSD, "Types", TYPES_TEXT)
        _el(parent, WSD, "Scopes", " ".join(target.scopes))
        _el(parent, WSD, "XAddrs", " ".join(target.xaddrs))
    _el(parent, WSD, "MetadataVersion", str(target.metadata_version))


def build_message(kind: str, target: DiscoveryTarget, instance_id: int, number: int,
                  relates_to: str | None = None) -> bytes:
    """Hello, Bye, ProbeMatches or ResolveMatches for one camera."""
    to = DISCOVERY_URN if kind in ("Hello", "Bye") else ANONYMOUS
    env, body = _envelope(ACTION[kind], to, relates_to, instance_id, number)
    if kind in ("Hello", "Bye"):
        _describe(_el(body, WSD, kind), target, full=(kind == "Hello"))
    else:
        single = kind[:-len("es")]  # ProbeMatches -> ProbeMatch
        _describe(_el(_el(body, WSD, kind), WSD, single), target)
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


@dataclass
class Request:
    kind: str                       # "Probe" or "Resolve"
    message_id: str | None
    types: list[tuple[str, str]]
    scopes: list[str]
    match_by: str
    address: str | None = None      # Resolve: the endpoint asked for


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def parse_request(data: bytes) -> Request | None:
    """A Probe or Resolve from a datagram; None for anything else, including garbage."""
    try:
        root = etree.fromstring(data, _PARSER)
    except (etree.XMLSyntaxError, ValueError):
        return None
    if root.tag != f"{{{SOAP_ENV}}}Envelope" or root.getroottree().docinfo.doctype:
        return None
    body = root.find(f"{{{SOAP_ENV}}}Body")
    if body is None:
        return None
    message_id = root.findtext(f"{{{SOAP_ENV}}}Header/{{{WSA}}}MessageID")
    probe = body.find(f"{{{WSD}}}Probe")
    if probe is not None:
        types_el = probe.find(f"{{{WSD}}}Types")
        types: list[tuple[str, str]] = []
        for token in (types_el.text or "").split() if types_el is not None else []:
            prefix, _, local = token.rpartition(":")
            ns = types_el.nsmap.get(prefix or None)
            if ns is None:
                return None  # an undeclared prefix makes the Probe meaningless
            types.append((ns, local))
        scopes_el = probe.find(f"{{{WSD}}}Scopes")
        scopes = (scopes_el.text or "").split() if scopes_el is not None else []
        match_by = scopes_el.get("MatchBy", MATCH_RFC3986) if scopes_el is not None else MATCH_RFC3986
        return Request("Probe", message_id, types, scopes, match_by)
    resolve = body.find(f"{{{WSD}}}Resolve")
    if resolve is not None:
        address = resolve.findtext(f"{{{WSA}}}EndpointReference/{{{WSA}}}Address")
        return Request("Resolve", message_id, [], [], MATCH_RFC3986, (address or "").strip())
    return None


def answers(request: Request, targets: Iterable[DiscoveryTarget]) -> list[tuple[str, DiscoveryTarget]]:
    """Which cameras answer a request, and with what message kind."""
    if request.kind == "Resolve":
        return [("ResolveMatches", t) for t in targets if t.address == request.address]
    if not types_match(request.types):
        return []
    return [("ProbeMatches", t) for t in targets
            if scopes_match(request.scopes, t.scopes, request.match_by)]


# ---- the responder --------------------------------------------------------------------------

class DiscoveryResponder:
    """Answers WS-Discovery Probe/Resolve for the cameras `targets()` returns at that moment.

    `targets` is called per request so a camera that is offline simply stops answering.
    """

    def __init__(self, targets: Callable[[], list[DiscoveryTarget]], interface: str = "127.0.0.1",
                 port: int = DISCOVERY_PORT, group: str = MULTICAST_GROUP) -> None:
        self._targets = targets
        self.interface, self.port, self.group = interface, port, group
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._instance_id = int(time.time())
        self._number = 0
        self._lock = threading.Lock()
        self._recent: OrderedDict[str, None] = OrderedDict()  # MessageIDs seen (UDP repeats)

    def start(self) -> None:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if hasattr(socket, "SO_REUSEPORT"):
            # Several responders (e.g. two simulator processes) may share the port, as
            # several cameras on one LAN would; multicast reaches each of them.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.bind(("", self.port))
        self.port = s.getsockname()[1]
        iface = socket.inet_aton(self.interface)
        try:
            s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                         struct.pack("4s4s", socket.inet_aton(self.group), iface))
        except OSError as exc:
            # Still useful: Probes sent straight to this port are answered all the same.
            log.warning("WS-Discovery: cannot join %s on %s (%s); answering unicast Probes only",
                        self.group, self.interface, exc)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, iface)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        s.settimeout(0.2)
        self._sock = s
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, name="ws-discovery", daemon=True)
        self._thread.start()
        for t in self._targets():
            self.announce("Hello", t)

    def stop(self) -> None:
        if self._sock is None:
            return
        for t in self._targets():
            self.announce("Bye", t)
        self._stop.set()
        if self._thread:
            self._thread.join(2)
        self._sock.close()
        self._sock = None

    def announce(self, kind: str, target: DiscoveryTarget) -> None:
        """Multicast a Hello or Bye for one camera."""
        self._send(build_message(kind, target, self._instance_id, self._next()), (self.group, self.port))

    def _next(self) -> int:
        with self._lock:
            self._number += 1
            return self._number

    def _send(self, data: bytes, addr) -> None:
        try:
            if self._sock is not None:
                self._sock.sendto(data, addr)
        except OSError as exc:
            log.warning("WS-Discovery send to %s failed: %s", addr, exc)

    def _seen(self, message_id: str | None) -> bool:
        if not message_id:
            return False
        with self._lock:
            if message_id in self._recent:
                return True
            self._recent[message_id] = None
            while len(self._recent) > 256:
                self._recent.popitem(last=False)
            return False

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, sender = self._sock.recvfrom(MAX_DATAGRAM)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                request = parse_request(data)
                if request is None or self._seen(request.message_id):
                    continue
                for kind, target in answers(request, self._targets()):
                    msg = build_message(kind, target, self._instance_id, self._next(),
                                        relates_to=request.message_id)
                    self._send(msg, sender)
            except Exception:  # a bad datagram must never end the responder
                log.exception("WS-Discovery: dropped a datagram from %s", sender)
