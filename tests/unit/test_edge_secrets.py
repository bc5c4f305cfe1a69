"""Credentials read where they are used: inline, from the environment or from a file."""
from __future__ import annotations

import os

import pytest

from edge_agent.secrets import MAX_SECRET_BYTES, SecretError, read_secret, secret_of
from edge_agent.wire.site import Camera, Switch


def cam(**source) -> Camera:
    return Camera(id="cam-01", name="c", host="127.0.0.1", username="admin", **source)


def switch(**sources) -> Switch:
    return Switch(id="sw-core", name="s", vendor="cisco_ios", host="127.0.0.1", username="admin", **sources)


def test_inline_env_and_file(tmp_path):
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "cam").write_text("from-file pw\n")
    assert secret_of(cam(password="inline"), "password", tmp_path) == "inline"
    assert secret_of(cam(password_env="CAM_PW"), "password", tmp_path, {"CAM_PW": "from-env"}) == "from-env"
    # Relative to the site file's folder; only the final line ending is dropped.
    assert secret_of(cam(password_file="secrets/cam"), "password", tmp_path) == "from-file pw"
    absolute = str(tmp_path / "secrets" / "cam")
    assert secret_of(cam(password_file=absolute), "password", tmp_path / "elsewhere") == "from-file pw"


def test_file_is_read_again_at_each_use(tmp_path):
    path = tmp_path / "pw"
    path.write_text("old")
    c = cam(password_file="pw")
    assert secret_of(c, "password", tmp_path) == "old"
    path.write_text("new\r\n")
    assert secret_of(c, "password", tmp_path) == "new"


def test_optional_enable_secret(tmp_path):
    (tmp_path / "enable").write_text("en-secret\n")
    assert secret_of(switch(password="pw"), "secret", tmp_path) is None
    assert secret_of(switch(password="pw", secret_file="enable"), "secret", tmp_path) == "en-secret"
    assert secret_of(switch(password="pw", secret_env="EN"), "secret", tmp_path, {"EN": "e"}) == "e"


@pytest.mark.parametrize("source, environ, message", [
    ({"password_env": "CAM_PW"}, {}, "camera cam-01: password_env: environment variable CAM_PW is not set"),
    ({"password_env": "CAM_PW"}, {"CAM_PW": ""}, "camera cam-01: password_env: environment variable CAM_PW is empty"),
    ({"password_file": "missing"}, {}, "camera cam-01: password_file: {tmp}/missing does not exist"),
    ({"password_file": "empty"}, {}, "camera cam-01: password_file: {tmp}/empty is empty"),
    ({"password_file": "binary"}, {}, "camera cam-01: password_file: {tmp}/binary is not UTF-8 text"),
    ({"password_file": "huge"}, {}, f"camera cam-01: password_file: {{tmp}}/huge is over {MAX_SECRET_BYTES} bytes"),
    ({"password_file": "."}, {}, "camera cam-01: password_file: cannot read {tmp}"),
])
def test_errors_name_the_device_and_the_field(tmp_path, source, environ, message):
    (tmp_path / "empty").write_text("\n")
    (tmp_path / "binary").write_bytes(b"\xff\xfe")
    (tmp_path / "huge").write_bytes(b"x" * (MAX_SECRET_BYTES + 1))
    with pytest.raises(SecretError) as info:
        secret_of(cam(**source), "password", tmp_path, environ)
    assert message.format(tmp=tmp_path) in str(info.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path):
    path = tmp_path / "locked"
    path.write_text("pw")
    path.chmod(0)
    with pytest.raises(SecretError, match="switch sw-core: secret_file: cannot read .*locked: Permission denied"):
        secret_of(switch(password="pw", secret_file=str(path)), "secret", tmp_path)


def test_an_error_never_carries_the_value(tmp_path):
    (tmp_path / "pw").write_bytes("s3cret-value\xff".encode("latin-1"))
    with pytest.raises(SecretError) as info:
        read_secret("camera x", "password", None, None, "pw", tmp_path)
    assert "s3cret" not in str(info.value)


def test_the_edge_logs_in_to_a_switch_with_its_password_and_enable_secret(tmp_path, monkeypatch):
    import network_policy.netmiko_device as netmiko_device
    from edge_agent.network import netmiko_connect
    from edge_agent.wire.site import parse_site_text
    from tests.unit.test_site_file import BASE, edit

    seen = []
    monkeypatch.setattr(netmiko_device, "NetmikoDevice", seen.append)
    (tmp_path / "enable.txt").write_text("en-Secret-1\n")
    site = parse_site_text(edit(57, "    password_env: SWITCH_PASSWORD\n    secret_file: enable.txt"))
    monkeypatch.setenv("SWITCH_PASSWORD", "sw-Pw-1")
    netmiko_connect(site, timeout=5, site_dir=tmp_path)("sw-core")
    access = seen[0]
    assert (access.username, access.password, access.secret) == ("admin", "sw-Pw-1", "en-Secret-1")
    assert "en-Secret-1" not in repr(access)
    site = parse_site_text(BASE)  # no enable secret: an empty one, as Netmiko expects
    netmiko_connect(site, timeout=5, site_dir=tmp_path)("sw-core")
    assert seen[1].secret == ""


def test_a_camera_whose_password_file_is_missing_is_in_error_until_the_file_appears(tmp_path):
    from edge_agent.cameras import CameraWorker
    from edge_agent.store import EdgeStore
    from tests.conftest import free_port, wait_for

    outbox = EdgeStore(tmp_path / "edge.db")
    camera = Camera(id="cam-01", name="c", host="127.0.0.1", onvif_port=free_port(), username="admin",
                    password_file="cam.pw")  # nothing listens there: with a password, it is offline
    worker = CameraWorker(camera, 4, None, outbox, tmp_path / "work", tmp_path / "evidence", site_dir=tmp_path)
    worker.start()
    try:
        states = lambda: [e.data for e in outbox.pending(1000) if e.kind == "camera.state"]  # noqa: E731
        alarms = lambda: [e.data for e in outbox.pending(1000) if e.kind == "alarm.camera_offline"]  # noqa: E731
        assert "password_file" in wait_for(alarms, timeout=10, what="an alarm")[0]["message"]
        assert (states()[0]["state"], states()[0]["detail"]) == (
            "error", f"camera cam-01: password_file: {tmp_path}/cam.pw does not exist")
        (tmp_path / "cam.pw").write_text("pw\n")
        worker._wake.set()  # probe now instead of after the back-off
        wait_for(lambda: states()[-1]["state"] == "offline", timeout=20, what="the camera probed with its password")
    finally:
        worker.stop()
        outbox.close()
