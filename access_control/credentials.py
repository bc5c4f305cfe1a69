"""The local credential cache a gate decides from: badges and the people holding them.

It is plain immutable data so a gate keeps deciding when the controller is
away; the edge agent rebuilds it whenever a new site file or controller sync
arrives. ``build_credential_db`` takes the site file's people as plain
mappings (e.g. ``[p.model_dump() for p in site.people]``), so this package
needs nothing but the standard library.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Any, Literal, Protocol

from .cards import ANY_FACILITY, credential_key, parse_credential_key

__all__ = [
    "BadgeRecord",
    "CredentialDB",
    "PersonRecord",
    "TrainingRecord",
    "TrainingStatus",
    "build_credential_db",
    "training_status",
]

TrainingStatus = Literal["none", "current", "expired"]


class TrainingDates(Protocol):
    @property
    def completed(self) -> date: ...

    @property
    def expires(self) -> date: ...


@dataclass(frozen=True)
class TrainingRecord:
    """Confidentiality training: current from ``completed`` up to, not including, ``expires``."""

    completed: date
    expires: date

    def current_on(self, day: date) -> bool:
        return training_status(self, day) == "current"


def training_status(training: TrainingDates | None, day: date) -> TrainingStatus:
    """The one rule for confidentiality training on a site-local ``day``: "none" without a
    record or before it was completed, "current" from ``completed`` up to, not including,
    ``expires``, "expired" from then on."""
    if training is None or day < training.completed:
        return "none"
    return "current" if day < training.expires else "expired"


@dataclass(frozen=True)
class PersonRecord:
    id: str
    role: str
    enabled: bool = True
    training: TrainingRecord | None = None


@dataclass(frozen=True)
class BadgeRecord:
    """One card held by one person; validity dates are inclusive site-local days."""

    key: str
    person_id: str
    valid_from: date | None = None
    valid_until: date | None = None
    revoked: bool = False


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class CredentialDB:
    """Badges by credential key and people by id."""

    badges: Mapping[str, BadgeRecord] = field(default_factory=dict)
    people: Mapping[str, PersonRecord] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key, badge in self.badges.items():
            if key != badge.key:
                raise ValueError(f"badge stored under {key!r} but its key is {badge.key!r}")
        for pid, person in self.people.items():
            if pid != person.id:
                raise ValueError(f"person stored under {pid!r} but its id is {person.id!r}")
        object.__setattr__(self, "badges", _frozen(self.badges))
        object.__setattr__(self, "people", _frozen(self.people))

    def find_badge(self, key: str) -> BadgeRecord | None:
        """The badge for a read's key; a badge enrolled without facility code matches any facility."""
        badge = self.badges.get(key)
        if badge is not None:
            return badge
        try:
            fmt, facility, number = parse_credential_key(key)
        except ValueError:
            return None
        if facility is None:
            return None
        return self.badges.get(credential_key(fmt, None, number))


def _date(value: Any, what: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value)  # JSON from the controller carries ISO dates
    raise ValueError(f"{what} must be a date or ISO date string, got {value!r}")


def build_credential_db(people: Iterable[Mapping[str, Any]]) -> CredentialDB:
    """Build the cache from site-file people (``id``, ``role``, ``badges``, ``training``, optional ``enabled``).

    Raises ``ValueError`` on a duplicate person or on two people sharing one card.
    """
    badges: dict[str, BadgeRecord] = {}
    persons: dict[str, PersonRecord] = {}
    for entry in people:
        pid = entry["id"]
        if pid in persons:
            raise ValueError(f"duplicate person id {pid!r}")
        training = entry.get("training")
        persons[pid] = PersonRecord(
            id=pid,
            role=entry["role"],
            enabled=bool(entry.get("enabled", True)),
            training=None
            if training is None
            else TrainingRecord(_date(training["completed"], "completed"), _date(training["expires"], "expires")),
        )
        for badge in entry.get("badges") or ():
            key = credential_key(badge.get("format", "wiegand26"), badge.get("facility"), badge["number"])
            if key in badges:
                raise ValueError(f"card {key} belongs to both {badges[key].person_id!r} and {pid!r}")
            badges[key] = BadgeRecord(
                key=key,
                person_id=pid,
                valid_from=_date(badge.get("valid_from"), "valid_from"),
                valid_until=_date(badge.get("valid_until"), "valid_until"),
                revoked=bool(badge.get("revoked", False)),
            )
    _refuse_ambiguous_wildcards(badges)
    return CredentialDB(badges, persons)


def _refuse_ambiguous_wildcards(badges: Mapping[str, BadgeRecord]) -> None:
    # A read matches its exact key first; a facility-less badge of another
    # person with the same number would silently be shadowed, so refuse it.
    for key, badge in badges.items():
        fmt, facility, number = parse_credential_key(key)
        if facility is None:
            continue
        other = badges.get(f"{fmt}:{ANY_FACILITY}:{number}")
        if other is not None and other.person_id != badge.person_id:
            raise ValueError(f"card {key} of {badge.person_id!r} overlaps {other.key} of {other.person_id!r}")
