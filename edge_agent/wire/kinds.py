"""The names that cross the wire: every event kind the edge reports and every command the
controller sends. The codec refuses any other, so a typo or a kind one side does not know is
caught where it is made, not as a silently ignored event at the other end.

The JSON form stays the plain string (StrEnum), so stored events and older agents' messages
with known kinds still decode.
"""
from __future__ import annotations

from enum import StrEnum

ALARM_PREFIX = "alarm."


class EventKind(StrEnum):
    """Events that are not alarms; alarms are "alarm.<AlarmKind>"."""

    AGENT_STARTED = "agent.started"
    CONFIG_APPLIED = "config.applied"
    CAMERA_STATE = "camera.state"
    CAMERA_DISCOVERED = "camera.discovered"
    SEGMENT_RECORDED = "segment.recorded"
    SEGMENT_DELETED = "segment.deleted"
    EVIDENCE_DELETED = "evidence.deleted"
    RETENTION_CAPACITY = "retention.capacity"
    RETENTION_HOLD_PLACED = "retention.hold_placed"
    RETENTION_HOLD_RELEASED = "retention.hold_released"
    SEAT_STATE = "seat.state"
    SITE_COVERAGE = "site.coverage"
    COVERAGE_GAP = "coverage.gap"
    GATE_DECISION = "gate.decision"
    GATE_PASSAGE = "gate.passage"
    GATE_GRANT_CANCELLED = "gate.grant_cancelled"
    GATE_PASSBACK_RESET = "gate.passback_reset"
    GATE_STATE = "gate.state"
    NETWORK_CHANGE_REFUSED = "network.change_refused"
    NETWORK_CHANGE_STARTED = "network.change_started"
    NETWORK_CHANGE_PROGRESS = "network.change_progress"
    NETWORK_CHANGE_RESULT = "network.change_result"
    NETWORK_DRIFT = "network.drift"
    VPN_PEER_APPLIED = "vpn.peer_applied"
    VPN_PEER_REFUSED = "vpn.peer_refused"
    VPN_PEER_REVOKED = "vpn.peer_revoked"


class AlarmKind(StrEnum):
    """Alarms the edge raises (and clears, with data["state"] == "cleared")."""

    # access control (access_control.alarms.ALARM_KINDS and the gate service's own)
    PASSBACK = "passback"
    DOOR_FORCED = "door_forced"
    DOOR_HELD = "door_held"
    TAILGATING = "tailgating"
    TAMPER = "tamper"
    FIRE_ALARM = "fire_alarm"
    POWER_LOST = "power_lost"
    GATE_OFFLINE = "gate_offline"
    GATE_SECURE_CHANNEL = "gate_secure_channel"
    GATES_NOT_STARTED = "gates_not_started"
    VPN_NOT_STARTED = "vpn_not_started"
    VPN_PEER_DOWN = "vpn_peer_down"
    GRANTED_NO_ENTRY = "granted_no_entry"
    OSDP_LINE_NOISE = "osdp_line_noise"
    # cameras and recording ("camera_<kind>" for each of camera.tamper.KINDS)
    CAMERA_OFFLINE = "camera_offline"
    CAMERA_BLACKOUT = "camera_blackout"
    CAMERA_COVERED = "camera_covered"
    CAMERA_DEFOCUS = "camera_defocus"
    CAMERA_MOVED = "camera_moved"
    CAMERA_UNREGISTERED = "camera_unregistered"
    DETECTOR_UNAVAILABLE = "detector_unavailable"
    RECORDER_STALLED = "recorder_stalled"
    RECORDING_GAP = "recording_gap"
    SEGMENT_CORRUPT = "segment_corrupt"
    RETENTION_CAPACITY = "retention_capacity"
    RETENTION_DISK_CRITICAL = "retention_disk_critical"
    SEAT_UNCOVERED = "seat_uncovered"
    # site file and network
    CONFIG_REJECTED = "config_rejected"
    NETWORK_CHANGE_REFUSED = "network_change_refused"
    NETWORK_CHANGE_FAILED = "network_change_failed"
    NETWORK_DRIFT = "network_drift"

    @property
    def event(self) -> str:
        """The event kind that reports this alarm."""
        return ALARM_PREFIX + self.value


class CommandName(StrEnum):
    """Commands the controller sends an agent; each has one handler on the edge."""

    PING = "ping"
    STATUS = "status"
    RELOAD_CONFIG = "reload_config"
    SET_CREDENTIALS = "set_credentials"
    RESET_PASSBACK = "reset_passback"
    RELEASE_GATES = "release_gates"
    NETWORK_APPLY = "network_apply"
    NETWORK_DRIFT_CHECK = "network_drift_check"
    VPN_APPLY = "vpn_apply"
    VPN_REVOKE = "vpn_revoke"
    VPN_STATUS = "vpn_status"
    SNAPSHOT = "snapshot"
    SEGMENT_CHUNK = "segment_chunk"
    AUDIT_RECORDINGS = "audit_recordings"
    LEGAL_HOLD = "legal_hold"
    SEAT_FRAME = "seat_frame"


EVENT_KINDS: frozenset[str] = frozenset({k.value for k in EventKind} | {a.event for a in AlarmKind})


def is_known_kind(kind: str) -> bool:
    return kind in EVENT_KINDS
