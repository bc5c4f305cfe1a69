"""The daily report's remote-work section: every device connectable at some moment of the day
(not those ended before it, nor those asked for after it, nor those never let on), and
each down alarm counted for the device that held its address at the time, how it ended,
and its down alarms with how long the tunnel was down inside the day; in both languages."""
from __future__ import annotations

import datetime as dt
import json

from controller.event_text import describe
from controller.ingest import customer_ids, store_events
from controller.models import Alarm, Customer, Site, VpnPeer
from controller.services import daily_report as svc
from edge_agent.wire.messages import Event as WireEvent
from tests.conftest import app_with_demo_site

DAY = dt.date(2026, 11, 20)  # Asia/Shanghai: 2026-11-19T16:00Z .. 2026-11-20T16:00Z
START = dt.datetime(2026, 11, 19, 16, 0, tzinfo=dt.timezone.utc)
END = START + dt.timedelta(days=1)


def at(hours: float) -> dt.datetime:
    return START + dt.timedelta(hours=hours)


def test_the_report_lists_the_days_remote_devices_and_their_down_time(tmp_path):
    app, site_id, agent_id = app_with_demo_site(tmp_path, f"sqlite:///{tmp_path / 'c.db'}")
    with app.state.core.sessions() as s:
        site = s.get(Site, site_id)
        doc = json.loads(site.config_json)
        doc["customers"][0]["remote"] = {"allowed": True, "range": "10.200.0.0/24"}
        doc["network"]["vpn"] = {"interface": "sgwg0", "listen_port": 51820, "platform": ["10.0.0.10"],
                                 "private_key_env": "SITEGUARD_WG_KEY"}
        site.config_json = json.dumps(doc)
        acme = s.query(Customer).filter_by(slug="acme").one().id

        def peer(addr, status, created, active=None, ended=None, **kw):
            s.add(VpnPeer(site_id=site_id, customer_id=acme, person="p-003", label="laptop", public_key=addr.ljust(43, "A")[:43] + "=",
                          address=addr, status=status, created_by="off", created_at=created, active_since=active,
                          ended_at=ended, **kw))
        peer("10.200.0.1", "active", at(-48), at(-47))  # all day
        peer("10.200.0.2", "revoked", at(-48), at(-47), at(10), ended_by="off", end_reason="laptop lost")
        peer("10.200.0.3", "removed", at(-48), at(-47), at(-2), ended_by="off")  # gone before the day
        peer("10.200.0.4", "active", at(30), at(30))  # asked for after the day
        peer("10.200.0.5", "rejected", at(3), None, at(4))  # never let on
        peer("10.200.0.6", "requested", at(3))  # asked for, not yet let on
        peer("10.200.0.2", "active", at(11), at(12))  # the lost laptop's replacement, at the same address
        down = dict(kind="vpn_peer_down", severity="warning", message="silent", site_id=site_id)
        s.add(Alarm(source="vpn:10.200.0.1", raised_at=at(-1), cleared_at=at(1), state="cleared", **down))  # 1 h inside
        s.add(Alarm(source="vpn:10.200.0.1", raised_at=at(5), cleared_at=at(5.5), state="cleared", **down))
        # The lost laptop went silent at 9 and was revoked at 10 (the edge never cleared it): 1 h is
        # the lost laptop's; the replacement went silent at 23, to the day's end: 1 h is its own.
        s.add(Alarm(source="vpn:10.200.0.2", raised_at=at(9), state="active", **down))
        s.add(Alarm(source="vpn:10.200.0.2", raised_at=at(23), state="active", **down))
        s.commit()

        report, html, pdf = svc.build(s, site_id, DAY, "en")
        vpn = report.sections["vpn"]
        rows = {(p["address"], p["status"]): p for p in vpn["peers"]}
        assert sorted(rows) == [("10.200.0.1", "active"), ("10.200.0.2", "active"), ("10.200.0.2", "revoked")]
        down = {k: (r["down_alarms"], r["down_s"]) for k, r in rows.items()}
        assert down == {("10.200.0.1", "active"): (1, 3600 + 1800), ("10.200.0.2", "revoked"): (1, 3600),
                        ("10.200.0.2", "active"): (1, 3600)}
        assert rows[("10.200.0.2", "revoked")]["end_reason"] == "laptop lost"
        assert (vpn["count"], vpn["down_alarms"], vpn["revoked"]) == (3, 3, 1)
        assert report.summary["vpn_peers"] == 3 and report.summary["vpn_down_alarms"] == 3
        assert 'id="vpn"' in html and "laptop lost" in html and "Remote work (VPN)" in html
        _, zh_html, _ = svc.build(s, site_id, DAY, "zh_CN")
        assert 'id="vpn"' in zh_html and "远程" in zh_html


def test_a_down_device_is_its_customers_alarm_and_reads_as_a_sentence(tmp_path):
    app, site_id, agent_id = app_with_demo_site(tmp_path, f"sqlite:///{tmp_path / 'c.db'}")
    data = {"source": "vpn:10.200.0.7", "severity": "warning", "customer": "acme", "address": "10.200.0.7",
            "message": "VPN peer 10.200.0.7 of acme has been silent for 200 s (down after 180 s)"}
    with app.state.core.sessions() as s:
        store_events(s, agent_id, site_id, [
            WireEvent(seq=1, ts="2026-11-25T00:00:00Z", kind="alarm.vpn_peer_down", data=data),
            WireEvent(seq=2, ts="2026-11-25T00:05:00Z", kind="alarm.vpn_peer_down",
                      data={"source": "vpn:10.200.0.7", "address": "10.200.0.7", "state": "cleared"})],
            customer_ids(s))
        s.commit()
        [alarm] = s.query(Alarm).filter_by(kind="vpn_peer_down").all()
        acme = s.query(Customer).filter_by(slug="acme").one().id
        assert (alarm.customer_id, alarm.source, alarm.state) == (acme, "vpn:10.200.0.7", "cleared")
    sentence = describe("alarm.vpn_peer_down", data)
    assert sentence.severity == "warning" and "silent for 200 s" in sentence.params["message"]
