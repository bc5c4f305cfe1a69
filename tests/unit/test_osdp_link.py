"""The OSDP link supervisor without libosdp: exact commands and events per scenario, plus invariants."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from access_control.osdp_line import LineCounts
from access_control.osdp_link import (
    LIBOSDP_OFFLINE,
    NO_ANSWER_ON_BUS,
    NO_SECURE_CHANNEL,
    STOPPED,
    Backoff,
    DisablePd,
    DropConnection,
    EnablePd,
    EnableRefused,
    LineClean,
    LineConfig,
    LineNoise,
    LineState,
    LinkConfig,
    LinkState,
    NoAnswer,
    Observe,
    ResetConnectBackoff,
    SecureChannelRefused,
    Start,
    Step,
    Stop,
    WentOffline,
    WentOnline,
    line_step,
    step,
)

CONFIG = LinkConfig(silence_timeout=2.0, handshake_timeout=4.0, retry_min=0.2, retry_max=30.0, stable_s=10.0)


def seen(now, *, connected=True, pd_online=False, notes=0, rx=0, last_rx=None, enabled=False, others=False,
         error=""):
    return Observe(now, connected=connected, pd_online=pd_online, offline_notes=notes, rx_bytes=rx,
                   last_rx=now if last_rx is None else last_rx, last_error=error, pd_enabled=enabled,
                   others_online=others)


def run(events, state=None, config=CONFIG):
    state = state or LinkState()
    steps = []
    for event in events:
        result = step(config, state, event)
        steps.append(result)
        state = result.state
    return steps


def online_at(t=1.0, notes=0):
    """A link that came online at ``t`` through one enable and one handshake."""
    return run([seen(t - 0.5, notes=notes), seen(t, pd_online=True, rx=40, notes=notes)])[-1].state


# --- exact scenarios ----------------------------------------------------------


def test_idle_enables_the_pd_once_tcp_is_up_and_goes_online_with_the_handshake():
    down, up, online = run([seen(0.0, connected=False), seen(0.1, rx=7), seen(0.6, pd_online=True, rx=50)])
    assert down == Step(LinkState(clock=0.0))
    assert up == Step(replace(LinkState(), phase="connecting", clock=0.1, attempt_started=0.1, attempt_rx=7),
                      (EnablePd(),))
    assert online.commands == (ResetConnectBackoff(),)
    assert online.events == (WentOnline(),)
    assert online.state.phase == "online" and online.state.online_since == 0.6


def test_refused_enable_stays_idle_and_tries_again_next_look():
    enabled, refused, again = run([seen(1.0), EnableRefused(1.0), seen(1.05)])
    assert enabled.commands == (EnablePd(),)
    assert refused == Step(replace(enabled.state, phase="idle"))
    assert again.commands == (EnablePd(),)


def test_tcp_loss_takes_an_online_gate_offline_without_a_link_error():
    s = online_at(1.0)
    r = step(CONFIG, s, seen(3.0, connected=False, error="connection closed by peer"))
    assert r.events == (WentOffline("connection closed by peer"),)
    assert r.commands == (DisablePd(),)
    assert r.state.phase == "idle" and r.state.link_errors == 0
    assert r.state.online_total == pytest.approx(2.0)
    assert r.state.backoff == 0.2 and r.state.retry_at == pytest.approx(3.2)
    assert step(CONFIG, s, seen(3.0, connected=False)).events == (WentOffline("connection lost"),)


def test_libosdp_offline_bit_or_notification_is_a_link_error():
    s = online_at(1.0, notes=3)
    by_bit = step(CONFIG, s, seen(1.5, pd_online=False, notes=3))
    by_note = step(CONFIG, s, seen(1.5, pd_online=True, notes=4))
    for r in (by_bit, by_note):
        assert r.events == (WentOffline(LIBOSDP_OFFLINE),)
        assert r.commands == (DisablePd(),)
        assert r.state.link_errors == 1


def test_a_silent_pd_goes_offline_after_the_silence_timeout():
    s = online_at(1.0)
    assert step(CONFIG, s, seen(3.0, pd_online=True, last_rx=1.0)).events == ()  # exactly 2.0 s: still fine
    r = step(CONFIG, s, seen(3.1, pd_online=True, last_rx=1.0))
    assert r.events == (WentOffline("PD silent for 2.1 s"),)
    assert r.state.link_errors == 1


def test_a_flapping_link_backs_off_and_a_lasting_session_resets_it():
    s = online_at(1.0)
    delays = []
    t = 1.0
    for _ in range(9):
        s = step(CONFIG, s, seen(t + 1.0, connected=False)).state  # offline after 1 s online
        delays.append(s.backoff)
        t = s.retry_at
        s = run([seen(t), seen(t + 0.1, pd_online=True, rx=40)], s)[-1].state
        assert s.online
    assert delays == [0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0]
    lasting = step(CONFIG, s, seen(s.online_since + 10.5, connected=False)).state
    assert lasting.backoff == 0.2


def test_a_pd_that_answers_without_secure_channel_is_reported_and_retried():
    enabled, answered, timed_out = run([seen(0.0, rx=0), seen(2.0, rx=30), seen(4.1, rx=60)])
    assert answered == Step(replace(enabled.state, clock=2.0))
    assert timed_out.events == (SecureChannelRefused(NO_SECURE_CHANNEL),)
    assert timed_out.commands == (DisablePd(),)
    assert timed_out.state.sc_failures == 1
    assert timed_out.state.phase == "idle" and timed_out.state.retry_at == pytest.approx(4.3)


def test_an_offline_notification_fails_the_handshake_at_once():
    r = run([seen(0.0, notes=5), seen(0.3, notes=6, rx=12)])[-1]
    assert r.events == (SecureChannelRefused(NO_SECURE_CHANNEL),)
    # libosdp's online bit after an offline notification is a later session, not this handshake
    r = run([seen(0.0, notes=5), seen(0.3, notes=6, rx=12, pd_online=True)])[-1]
    assert r.events == (SecureChannelRefused(NO_SECURE_CHANNEL),) and not r.state.online


def test_a_silent_bus_gets_a_fresh_connection_unless_another_gate_talks():
    *_, alone = run([seen(0.0, rx=100), seen(4.5, rx=100)])
    assert alone.events == (NoAnswer(),)
    assert alone.commands == (DisablePd(), DropConnection(NO_ANSWER_ON_BUS))
    *_, shared = run([seen(0.0, rx=100), seen(4.5, rx=100, others=True)])
    assert shared.commands == (DisablePd(),)
    assert shared.state.sc_failures == 0


def test_tcp_loss_while_connecting_disables_without_a_new_backoff():
    enabled, lost = run([seen(0.0), seen(0.5, connected=False)])
    assert lost == Step(replace(enabled.state, phase="idle", clock=0.5, disable_requested_at=0.5), (DisablePd(),))


def test_a_pd_libosdp_still_runs_while_idle_is_disabled_again_after_it_settles():
    s = replace(LinkState(), disable_requested_at=1.0, retry_at=5.0)
    waiting, again, settled = run([seen(1.4, enabled=True), seen(1.6, enabled=True), seen(1.7, enabled=False)], s)
    assert waiting.commands == ()
    assert again.commands == (DisablePd(),) and again.state.disable_requested_at == 1.6
    assert settled.commands == ()  # retry time not yet come


def test_start_with_tcp_up_counts_libosdps_own_enable_as_the_first_attempt():
    s = replace(LinkState(), link_errors=2, sc_failures=1, online_total=7.0, backoff=12.8, retry_at=99.0)
    up = step(CONFIG, s, Start(50.0, enabled=True, offline_notes=4, rx_bytes=0))
    assert up == Step(LinkState(phase="connecting", clock=50.0, attempt_started=50.0, attempt_offline_notes=4,
                                link_errors=2, sc_failures=1, online_total=7.0))
    down = step(CONFIG, s, Start(50.0, enabled=False, offline_notes=4))
    assert down.state.phase == "idle" and down.state.retry_at == 0.0 and down.state.backoff == 0.0


def test_stop_reports_only_an_online_gate():
    s = online_at(1.0)
    r = step(CONFIG, s, Stop(4.0))
    assert r == Step(replace(s, phase="idle", clock=4.0, online_total=3.0), (), (WentOffline(STOPPED),))
    assert step(CONFIG, LinkState(phase="connecting"), Stop(4.0)) == Step(LinkState(clock=4.0))


def test_online_seconds_include_the_running_session():
    s = replace(online_at(10.0), online_total=5.0)
    assert s.online_seconds(12.5) == 7.5
    assert LinkState(online_total=5.0).online_seconds(99.0) == 5.0


def test_a_clock_that_steps_back_cannot_shorten_the_backoff():
    s = step(CONFIG, online_at(1.0), seen(5.0, connected=False)).state
    assert s.retry_at == pytest.approx(5.2)
    back = step(CONFIG, s, seen(0.0))
    assert back.commands == () and back.state.clock == 5.0


@pytest.mark.parametrize("bad", [math.nan, math.inf, "1.0", None, True])
def test_bad_times_are_refused(bad):
    with pytest.raises(ValueError, match="finite number of seconds"):
        step(CONFIG, LinkState(), seen(0.0).__class__(bad, True, False, 0, 0, 0.0))


@pytest.mark.parametrize("kwargs", [{"silence_timeout": 0}, {"retry_min": -1}, {"retry_min": 2, "retry_max": 1},
                                    {"handshake_timeout": math.inf}])
def test_bad_link_config_is_refused(kwargs):
    with pytest.raises(ValueError):
        LinkConfig(**kwargs)


def test_unknown_events_are_refused():
    with pytest.raises(TypeError, match="not a link event"):
        step(CONFIG, LinkState(), LineClean(1.0))  # type: ignore[arg-type]


# --- line quality --------------------------------------------------------------


def test_line_noise_is_reported_at_most_every_report_s_then_cleared_after_quiet_s():
    cfg = LineConfig(report_s=5.0, quiet_s=60.0)
    s = LineState()
    first = line_step(cfg, s, 1.0, LineCounts(frames=10, bad_frames=1, noise_bytes=8))
    assert first.event == LineNoise(noise_bytes=8, bad_frames=1, frames=10)
    soon = line_step(cfg, first.state, 3.0, LineCounts(12, 1, 9))
    assert soon.event is None  # within report_s: held back, counted in the next report
    later = line_step(cfg, soon.state, 6.0, LineCounts(20, 2, 12))
    assert later.event == LineNoise(noise_bytes=4, bad_frames=1, frames=10)
    assert line_step(cfg, later.state, 65.0, LineCounts(90, 2, 12)).event is None
    clean = line_step(cfg, later.state, 66.0, LineCounts(90, 2, 12))
    assert clean.event == LineClean(60.0)
    assert line_step(cfg, clean.state, 200.0, LineCounts(200, 2, 12)).event is None  # said once


def test_a_clean_line_never_reports():
    cfg = LineConfig()
    s = LineState()
    for t in range(0, 500, 7):
        r = line_step(cfg, s, float(t), LineCounts(frames=t * 3))
        assert r.event is None
        s = r.state


def test_line_counts_that_go_backwards_are_refused():
    s = line_step(LineConfig(), LineState(), 1.0, LineCounts(5, 0, 3)).state
    with pytest.raises(ValueError, match="backwards"):
        line_step(LineConfig(), s, 2.0, LineCounts(5, 0, 1))


# --- TCP reconnect backoff -------------------------------------------------------


def test_backoff_doubles_to_its_maximum_and_a_stable_connection_resets_it():
    b = Backoff(minimum=0.2, maximum=10.0, stable_after=10.0)
    attempts = []
    for t in range(8):
        at, b = b.failed(float(t))
        attempts.append(round(at - t, 3))
    assert attempts == [0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 10.0, 10.0]
    at, short = b.dropped(100.0, connected_at=95.0)  # held 5 s: keeps backing off
    assert at == 110.0 and short.next_delay == 10.0
    at, lasting = b.dropped(100.0, connected_at=90.0)  # held 10 s: starts over
    assert at == pytest.approx(100.2) and lasting.next_delay == 0.4
    assert b.reset().next_delay == 0.2


# --- invariants over random histories ----------------------------------------------

observations = st.builds(
    lambda dt, connected, pd_online, note, rx, silent, enabled, others, refuse: (
        dt, connected, pd_online, note, rx, silent, enabled, others, refuse),
    st.floats(-1.0, 6.0), st.booleans(), st.booleans(), st.booleans(), st.integers(0, 50), st.floats(0, 5),
    st.booleans(), st.booleans(), st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(observations, max_size=60), st.sampled_from([None, "start", "stop"]))
def test_invariants(history, lifecycle):
    s = LinkState()
    t, notes, rx = 0.0, 0, 0
    online_events = 0
    sc_events = 0
    for dt, connected, pd_online, note, more_rx, silent, enabled, others, refuse in history:
        t += dt  # may step back
        notes += note
        rx += more_rx
        before = s
        r = step(CONFIG, s, seen(t, connected=connected, pd_online=pd_online, notes=notes, rx=rx,
                                 last_rx=t - silent, enabled=enabled, others=others))
        if refuse and EnablePd() in r.commands:
            r = Step(step(CONFIG, r.state, EnableRefused(t)).state, r.commands, r.events)
        s = r.state
        # the clock never steps back
        assert s.clock >= before.clock and s.clock >= t
        # online only with TCP up and libosdp agreeing, and only from a handshake
        if s.online and not before.online:
            assert connected and pd_online and before.phase == "connecting"
            assert r.events == (WentOnline(),)
        # every session end is reported exactly once and disables the PD
        if before.online and not s.online:
            assert len(r.events) == 1 and isinstance(r.events[0], WentOffline)
            assert r.commands[0] == DisablePd()
        online_events += sum(isinstance(e, WentOnline) for e in r.events)
        online_events -= sum(isinstance(e, WentOffline) for e in r.events)
        assert online_events == int(s.online)
        # the PD is enabled only over a live connection once the retry time has come
        if EnablePd() in r.commands:
            assert connected and before.phase == "idle" and s.clock >= before.retry_at
        # the retry delay stays within its bounds
        assert s.backoff == 0.0 or CONFIG.retry_min <= s.backoff <= CONFIG.retry_max
        sc_events += sum(isinstance(e, SecureChannelRefused) for e in r.events)
        assert s.sc_failures == sc_events
        assert s.online_total >= before.online_total
    if lifecycle == "stop":
        r = step(CONFIG, s, Stop(t))
        assert r.commands == () and not r.state.online
        assert r.events == ((WentOffline(STOPPED),) if s.online else ())
    elif lifecycle == "start":
        r = step(CONFIG, s, Start(t, enabled=True, offline_notes=notes))
        assert r.state.phase == "connecting"
        assert (r.state.link_errors, r.state.sc_failures) == (s.link_errors, s.sc_failures)
