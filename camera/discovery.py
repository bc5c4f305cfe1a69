"""Finding ONVIF cameras on the site network with WS-Discovery (SOAP over UDP multicast).

A Probe for NetworkVideoTransmitter devices goes to 239.255.255.250:3702; every camera answers
with a ProbeMatch naming its device service address (XAddrs) and scopes. Answers are parsed
strictly and anything else arriving on the socket is ignored.
"""
from __future__ import annotations

import socket
import time
import uuid
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from lxml import etree

MULTICAST_GROUP = "239.255.255.250"
PORT = 3702
MAX_DATAGRAM = 65535

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "d": "http://schemas.xmlsoap.org/ws/2005/04/discovery",
    "dn": "http://www.onvif.org/ver10/network/wsdl",
}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                          remove_blank_text=True)


@dataclass(frozen=True)
class DiscoveredCamera:
    endpoint: str                 # the device's stable urn:uuid
    xaddrs: tuple[str, ...]       # device service URLs
    scopes: tuple[str, ...]
    types: tuple[str, ...]

    @property
    def host_port(self) -> tuple[str, int] | None:
        for x in self.xaddrs:
            parts = urlsplit(x)
            if parts.hostname:
                return parts.hostname, parts.port or 80
        return None

    def scope(self, kind: str) -> str | None:
        """The value of an ONVIF scope such as 'name' or 'location'."""
        prefix = f"onvif://www.onvif.org/{kind}/"
        for s in self.scopes:
            if s.startswith(prefix):
                return unquote(s[len(prefix):])
        return None


def probe_message(message_id: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<s:Envelope xmlns:s="{NS['s']}" xmlns:a="{NS['a']}" xmlns:d="{NS['d']}" xmlns:dn="{NS['dn']}">
 <s:Header>
  <a:Action s:mustUnderstand="1">{NS['d']}/Probe</a:Action>
  <a:MessageID>{message_id}</a:MessageID>
  <a:ReplyTo><a:Address>{NS['a']}/role/anonymous</a:Address></a:ReplyTo>
  <a:To s:mustUnderstand="1">urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To>
 </s:Header>
 <s:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></s:Body>
</s:Envelope>""".encode()


def parse_probe_matches(datagram: bytes, message_id: str) -> list[DiscoveredCamera]:
    """The cameras in one ProbeMatches answer to `message_id`; [] for anything else."""
    try:
        root = etree.fromstring(datagram, _PARSER)
    except (etree.XMLSyntaxError, ValueError):
        return []
    if root.find("s:Body/d:ProbeMatches", NS) is None:
        return []
    if (root.findtext("s:Header/a:RelatesTo", namespaces=NS) or "").strip() != message_id:
        return []  # an answer to someone else's probe
    found = []
    for match in root.iterfind("s:Body/d:ProbeMatches/d:ProbeMatch", NS):
        endpoint = (match.findtext("a:EndpointReference/a:Address", namespaces=NS) or "").strip()
        xaddrs = tuple((match.findtext("d:XAddrs", namespaces=NS) or "").split())
        if not endpoint or not xaddrs:
            continue
        found.append(DiscoveredCamera(
            endpoint=endpoint, xaddrs=xaddrs,
            scopes=tuple((match.findtext("d:Scopes", namespaces=NS) or "").split()),
            types=tuple((match.findtext("d:Types", namespaces=NS) or "").split())))
    return found


def discover(timeout: float = 2.0, port: int = PORT, interface: str = "0.0.0.0",
             targets: tuple[str, ...] = (MULTICAST_GROUP,)) -> list[DiscoveredCamera]:
    """Probe and collect answers for `timeout` seconds; one entry per device endpoint."""
    message_id = f"urn:uuid:{uuid.uuid4()}"
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    try:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 2)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
        if interface != "0.0.0.0":
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(interface))
        sock.bind((interface, 0))
        msg = probe_message(message_id)
        for target in targets:
            sock.sendto(msg, (target, port))
        devices: dict[str, DiscoveredCamera] = {}
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                data, _ = sock.recvfrom(MAX_DATAGRAM)
            except socket.timeout:
                break
            for cam in parse_probe_matches(data, message_id):
                devices.setdefault(cam.endpoint, cam)
        return sorted(devices.values(), key=lambda c: c.xaddrs)
    finally:
        sock.close()



def unregistered(discovered: list[DiscoveredCamera],
                 registered: set[tuple[str, int]]) -> list[DiscoveredCamera]:
    """Devices that answered but are not in the site file (matched by ONVIF host and port)."""
    return [d for d in discovered if d.host_port is not None and d.host_port not in registered]
