"""Faults a test can switch on per switch: a slow CPU, a session that drops mid-change, a
command the device refuses. Read by the SSH session before it runs each received line."""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

KINDS = ("slow", "drop_after", "reject", "clear")


@dataclass
class Faults:
    slow: float = 0.0                  # seconds to wait before each reply
    drop_after: int | None = None      # drop the session on the Nth config line from now
    drop_sticky: bool = False          # re-arm after firing instead of firing once
    config_lines_seen: int = 0         # config lines received since drop_after was armed
    drops: int = 0                     # how many sessions were dropped
    reject: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def set(self, kind: str, body: dict) -> None:
        """Apply one control request; ValueError says what is wrong with it."""
        with self.lock:
            if kind == "clear":
                self.slow, self.drop_after, self.reject = 0.0, None, []
                self.drop_sticky, self.config_lines_seen = False, 0
                return
            if kind == "slow":
                seconds = body.get("seconds")
                if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) \
                        or not 0 <= seconds <= 120:
                    raise ValueError("slow needs 'seconds', a number from 0 to 120")
                self.slow = float(seconds)
                return
            if kind == "drop_after":
                lines = body.get("lines")
                if isinstance(lines, bool) or not isinstance(lines, int) or lines < 1:
                    raise ValueError("drop_after needs 'lines', a whole number of at least 1")
                self.drop_after, self.config_lines_seen = lines, 0
                self.drop_sticky = bool(body.get("sticky", False))
                return
            if kind == "reject":
                match = body.get("match")
                if not isinstance(match, str) or not match:
                    raise ValueError("reject needs 'match', a regular expression or substring")
                self.reject.append(match)
                return
            raise ValueError(f"no fault {kind!r}; faults: {', '.join(KINDS)}")

    def rejects(self, line: str) -> bool:
        if not line.strip():
            return False
        for pattern in list(self.reject):
            try:
                if re.search(pattern, line):
                    return True
            except re.error:
                if pattern in line:
                    return True
        return False

    def count_config_line(self) -> bool:
        """Count one non-empty config line; True when this one must drop the session."""
        with self.lock:
            if self.drop_after is None:
                return False
            self.config_lines_seen += 1
            if self.config_lines_seen < self.drop_after:
                return False
            self.drops += 1
            self.config_lines_seen = 0
            if not self.drop_sticky:
                self.drop_after = None
            return True

    def to_dict(self) -> dict:
        return {"slow": self.slow, "drop_after": self.drop_after, "sticky": self.drop_sticky,
                "config_lines_seen": self.config_lines_seen, "drops": self.drops,
                "reject": list(self.reject)}
