"""A request's address: the connecting peer, unless it is a configured trusted proxy; only then
is X-Forwarded-For read, from the right, up to the first hop that is not a trusted proxy."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from starlette.requests import Request

from controller.auth import client_address
from controller.settings import Settings


def request(peer: str, forwarded: list[str], trusted: tuple[str, ...]) -> Request:
    app = SimpleNamespace(state=SimpleNamespace(core=SimpleNamespace(settings=SimpleNamespace(trusted_proxies=trusted))))
    headers = [(b"x-forwarded-for", f.encode()) for f in forwarded]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers, "client": (peer, 5000),
                    "app": app})


@pytest.mark.parametrize("peer, forwarded, trusted, expected", [
    ("10.110.0.11", [], (), "10.110.0.11"),
    ("10.110.0.11", ["10.110.0.12"], (), "10.110.0.11"),  # nobody trusted: the header is ignored
    ("10.9.0.5", ["10.110.0.12"], ("10.0.0.0/24",), "10.9.0.5"),  # an untrusted peer's header
    ("10.0.0.2", ["10.110.0.12"], ("10.0.0.0/24",), "10.110.0.12"),
    ("10.0.0.2", ["1.2.3.4, 10.110.0.12, 10.0.0.3"], ("10.0.0.0/24",), "10.110.0.12"),  # spoofed left part
    ("10.0.0.2", ["1.2.3.4", "10.110.0.12"], ("10.0.0.2",), "10.110.0.12"),  # several header lines
    ("10.0.0.2", [], ("10.0.0.2",), "10.0.0.2"),
])
def test_forwarded_only_from_trusted_proxies(peer, forwarded, trusted, expected):
    assert client_address(request(peer, forwarded, trusted)) == expected


def test_trusted_proxies_from_the_environment(monkeypatch):
    monkeypatch.setenv("SITEGUARD_TRUSTED_PROXIES", "10.0.0.2, 10.1.0.0/16")
    assert Settings().trusted_proxies == ("10.0.0.2", "10.1.0.0/16")
    monkeypatch.setenv("SITEGUARD_TRUSTED_PROXIES", "")
    assert Settings().trusted_proxies == ()
    monkeypatch.setenv("SITEGUARD_TRUSTED_PROXIES", "10.0.0.300")
    with pytest.raises(ValueError):
        Settings()
