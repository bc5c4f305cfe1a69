"""What the controller's services refuse with, in their own words; errors.py turns each into an
HTTP answer, the CLI into a message and an exit status."""
from __future__ import annotations

from collections.abc import Sequence


class DomainError(Exception):
    """A refusal a caller can act on; ``message`` is safe to show."""

    def __init__(self, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers


class NotFound(DomainError):
    """No such object, or not the caller's to see (the two read the same)."""


class Forbidden(DomainError):
    """The caller may not do this to an object it may see."""


class Refused(Forbidden):
    """The site's policy says no; ``reasons`` names every rule that failed."""

    def __init__(self, message: str, reasons: Sequence[str]) -> None:
        super().__init__(message)
        self.reasons = list(reasons)


class Conflict(DomainError):
    """The object's state does not allow it now (taken, already decided, stale)."""


class Invalid(DomainError):
    """The input is well formed but wrong; ``problems`` lists each fault when there are several."""

    def __init__(self, message: str, problems: Sequence[str] = (), kind: str = "value_error") -> None:
        super().__init__(message)
        self.problems = list(problems)
        self.kind = kind


class BadProof(DomainError):
    """A signature or other proof that does not verify."""


class Gone(DomainError):
    """The object existed and was removed on purpose (e.g. a recording past its retention)."""


class TooManyAttempts(DomainError):
    """Refused for a while after too many failures; ``retry_after_s`` says how long."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after_s)})
        self.retry_after_s = retry_after_s


class Busy(DomainError):
    """The answer is being made and is not ready yet; ask again after ``retry_after_s``."""

    def __init__(self, message: str, retry_after_s: int = 5) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after_s)})


class EdgeUnavailable(DomainError):
    """The site's edge agent is not connected."""


class EdgeFailed(DomainError):
    """The edge agent answered with an error; ``reason`` is its own words."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class EdgeTimeout(DomainError):
    """The edge agent did not answer in time."""
