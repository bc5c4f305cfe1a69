"""A small site with two customers, their remote ranges and a VPN gateway, for the VPN tests."""
from __future__ import annotations

import base64
import textwrap

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from edge_agent.wire.site import SiteConfig, parse_site_text
from network_policy.approval import public_key_text


def wg_keypair() -> tuple[str, str]:
    """(private, public) as `wg genkey | wg pubkey` would print them."""
    key = X25519PrivateKey.generate()
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                            serialization.NoEncryption())
    pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode(), base64.b64encode(pub).decode()


def site_text(acme_key: Ed25519PrivateKey, borealis_key: Ed25519PrivateKey, gateway_private: str,
              interface: str = "sgwg0", acme_allowed: bool = True, listen_port: int = 51820,
              mtu: int = 1420) -> str:
    return textwrap.dedent(f"""\
        site: {{id: vpn-site, name: VPN site, timezone: UTC}}
        controller: {{endpoint: "tcp://127.0.0.1:7700"}}
        customers:
          - id: acme
            name: Acme
            approval_public_key: {public_key_text(acme_key.public_key())}
            vlans: [{{id: 110, name: acme, subnet: 10.110.0.0/24, gateway: 10.110.0.1}}]
            remote: {{allowed: {str(acme_allowed).lower()}, range: 10.200.0.0/24}}
          - id: borealis
            name: Borealis
            approval_public_key: {public_key_text(borealis_key.public_key())}
            vlans: [{{id: 120, name: borealis, subnet: 10.120.0.0/24, gateway: 10.120.0.1}}]
            remote: {{allowed: false, range: 10.201.0.0/24}}
        network:
          platform_vlan: {{id: 100, name: platform, subnet: 10.0.0.0/24, gateway: 10.0.0.1}}
          vpn:
            interface: {interface}
            listen_port: {listen_port}
            mtu: {mtu}
            private_key: "{gateway_private}"
            platform: [10.0.0.10]
        """)


def vpn_site(acme_key: Ed25519PrivateKey, borealis_key: Ed25519PrivateKey, gateway_private: str,
             **kw) -> SiteConfig:
    return parse_site_text(site_text(acme_key, borealis_key, gateway_private, **kw))
