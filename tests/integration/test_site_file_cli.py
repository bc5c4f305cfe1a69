"""A wrong site file stops everything from starting, and says file, line and field."""
from __future__ import annotations

from tests.conftest import DEMO_SITE, cli


def broken_copy(tmp_path, old: str, new: str):
    text = DEMO_SITE.read_text()
    assert old in text
    path = tmp_path / "broken-site.yaml"
    path.write_text(text.replace(old, new, 1))
    line = text[: text.index(old)].count("\n") + 1
    return path, line


def test_edge_refuses_a_broken_site_file(tmp_path):
    path, line = broken_copy(tmp_path, "onvif_port: 8083", "onvif_port: eighty")
    res = cli("edge", "--site", str(path), "--data", str(tmp_path / "edge"), check=False)
    assert res.returncode == 2
    assert f"broken-site.yaml:{line}:" in res.stderr
    assert "cameras[2].onvif_port" in res.stderr
    assert not (tmp_path / "edge" / "edge.db").exists()  # nothing started


def test_controller_refuses_a_broken_site_file(tmp_path):
    path, line = broken_copy(tmp_path, "customer: acme", "customer: nobody")
    res = cli("controller", "--site", str(path), "--data", str(tmp_path / "ctl"), check=False,
              env={"SITEGUARD_HTTP_PORT": "1"})
    assert res.returncode == 2
    assert f"broken-site.yaml:{line}:" in res.stderr and "nobody" in res.stderr


def test_check_site_accepts_the_demo():
    res = cli("check-site", str(DEMO_SITE))
    assert "site demo-floor3 is valid" in res.stdout and "9 cameras" in res.stdout
