"""Cross-modal consistency: a project links items of different modalities into groups (an image
and its caption, a clip and its transcript's intent, a clip and its text) and declares
constraints between the members' labels. A group is consistent when every constraint holds;
consistency = consistent groups / groups.

A group names its members by role (``"image"``, ``"caption"``...), each holding its stored
result (annotation/export_formats.py's shapes). Constraint kinds:

- ``boxes_named`` (a = the image, b = the text): every class boxed in a is named in b, and every
  object named in b has a box in a. The names of b are its ``label``, its ``labels`` and its
  spans' labels (entities). When ``classes`` is given, only names among them are objects (a
  caption may carry other labels, such as its sentiment).
- ``same_intent`` (a, b): both results have a ``label`` (a classification; the intent) and the
  two are equal.
- ``times_agree`` (a, b): both have ``segments``; taken in order of start, they are as many, and
  each pair's starts and ends differ by at most ``tolerance_s`` (default 0.2 s; 1e-9 s is
  allowed over it so that a decimal difference such as 2.2 − 2.0 is not refused for its binary
  rounding).

A member missing from a group (or with no result) fails every constraint that names it."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from annotation.quality.image_metrics import boxes_of

Kind = Literal["boxes_named", "same_intent", "times_agree"]
KINDS = ("boxes_named", "same_intent", "times_agree")
TOLERANCE_S = 0.2
_EPS = 1e-9


@dataclass(frozen=True)
class Constraint:
    kind: Kind
    a: str  # role of the first member
    b: str  # role of the second
    tolerance_s: float = TOLERANCE_S
    classes: frozenset[str] | None = None  # boxes_named: which names are objects
    name: str = ""  # shown when it fails; kind(a, b) when empty

    @property
    def title(self) -> str:
        return self.name or f"{self.kind}({self.a}, {self.b})"


@dataclass(frozen=True)
class Group:
    id: str
    results: Mapping[str, Mapping[str, Any] | None]  # role -> stored result


@dataclass(frozen=True)
class Failure:
    constraint: str  # its title
    reason: str


@dataclass(frozen=True)
class GroupCheck:
    group: str
    failures: tuple[Failure, ...]

    @property
    def holds(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class Consistency:
    checks: tuple[GroupCheck, ...]

    @property
    def consistent(self) -> int:
        return sum(c.holds for c in self.checks)

    @property
    def share(self) -> float | None:
        """Consistent groups / groups; None without groups."""
        return self.consistent / len(self.checks) if self.checks else None


def names_of(result: Mapping[str, Any]) -> set[str]:
    out = set()
    if isinstance(result.get("label"), str):
        out.add(result["label"])
    if isinstance(result.get("labels"), list):
        out.update(x for x in result["labels"] if isinstance(x, str))
    if isinstance(result.get("spans"), list):
        out.update(s["label"] for s in result["spans"] if isinstance(s, Mapping) and isinstance(s.get("label"), str))
    return out


def _boxes_named(c: Constraint, a: Mapping[str, Any], b: Mapping[str, Any]) -> str | None:
    boxed = {x["label"] for x in boxes_of(a)}
    named = names_of(b)
    if c.classes is not None:
        boxed &= c.classes
        named &= c.classes
    problems = []
    if boxed - named:
        problems.append(f"boxed but not named: {', '.join(sorted(boxed - named))}")
    if named - boxed:
        problems.append(f"named but not boxed: {', '.join(sorted(named - boxed))}")
    return "; ".join(problems) or None


def _same_intent(c: Constraint, a: Mapping[str, Any], b: Mapping[str, Any]) -> str | None:
    x, y = a.get("label"), b.get("label")
    if not isinstance(x, str) or not isinstance(y, str):
        return f"no intent on {c.a if not isinstance(x, str) else c.b}"
    return None if x == y else f"{c.a} says {x}, {c.b} says {y}"


def _segments(result: Mapping[str, Any]) -> list[tuple[float, float]]:
    segs = result.get("segments")
    if not isinstance(segs, list):
        return []
    return sorted((s["start"], s["end"]) for s in segs if isinstance(s, Mapping)
                  and isinstance(s.get("start"), (int, float)) and isinstance(s.get("end"), (int, float)))


def _times_agree(c: Constraint, a: Mapping[str, Any], b: Mapping[str, Any]) -> str | None:
    sa, sb = _segments(a), _segments(b)
    if len(sa) != len(sb):
        return f"{len(sa)} segments against {len(sb)}"
    for n, ((s1, e1), (s2, e2)) in enumerate(zip(sa, sb)):
        gap = max(abs(s1 - s2), abs(e1 - e2))
        if gap > c.tolerance_s + _EPS:
            return f"segment {n} differs by {gap:.3f} s (more than {c.tolerance_s:g} s)"
    return None


_CHECKS = {"boxes_named": _boxes_named, "same_intent": _same_intent, "times_agree": _times_agree}


def check(constraint: Constraint, group: Group) -> Failure | None:
    if constraint.kind not in _CHECKS:
        raise ValueError(f"constraint kind must be one of {', '.join(KINDS)}")
    for role in (constraint.a, constraint.b):
        if not isinstance(group.results.get(role), Mapping):
            return Failure(constraint.title, f"{role} has no result")
    reason = _CHECKS[constraint.kind](constraint, group.results[constraint.a], group.results[constraint.b])
    return None if reason is None else Failure(constraint.title, reason)


def consistency(groups: Sequence[Group], constraints: Sequence[Constraint]) -> Consistency:
    """Each group checked against every constraint, in the order given."""
    checks = []
    for g in groups:
        failures = tuple(f for f in (check(c, g) for c in constraints) if f is not None)
        checks.append(GroupCheck(g.id, failures))
    return Consistency(tuple(checks))
