"""Serving annotation work: a task only where the site allows it, and never one task twice to
one annotator.

Every step that shows or takes customer content (the next task, its content, its draft, a
submit) first asks ``controller.policy.work_decision`` with the live facts: which seat's
workstation the request comes from, whether an edge on line vouches for that seat's coverage,
whether the address is on the seat customer's VLAN, the project membership, and the person the
login is at the seat's site (training, where the gates put them). A refusal names every rule
that failed.

An address that is no seat's workstation but lies in a customer's remote range (the site file's
``customers[].remote``) is a remote session: the facts are that customer's remote rules and the
customer's active VPN peer at the address, and the person is asked of that peer's site. When the
rules want a watermark, the task answer and the content's header carry its text and an image's
pixels carry it burnt in (``controller.watermark``), so no screenshot of the page comes without.

Assignment claims one of a task's precomputed slots. On PostgreSQL the free (or expired) slot is
locked with ``FOR UPDATE SKIP LOCKED`` so concurrent claimers pass each other; on SQLite the
claim is one write transaction (SQLite has one writer at a time). The unique (task, annotator)
key is the last guard: a claim that collides with it tries the next slot.

Gold tasks (controller/services/gold.py) are outside the k slots: each annotator gets each gold
task once, on a place made for them when they claim it (numbered minus their user id, so two
annotators never collide on a number; the unique (task, annotator) key still guards a double
claim). A draw decides whether the next claim tries gold or ordinary work first, at the
annotator's gold share; the other kind is the fallback, so nobody is told "nothing" while either
is free for them. Nothing in what the annotator receives tells gold apart: the place is shown
numbered among the k like any other, the task's counts as an ordinary task's would read.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import logging
import random
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import and_, case, delete, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from annotation import assignment as A
from annotation.quality.oversight import draw, serve_gold
from annotation.versions import LEAF_KIND, Version
from controller.annotation_tables import (
    Annotation,
    Draft,
    Item,
    Project,
    ProjectMember,
    Task,
    TaskSkip,
    TaskSlot,
)
from controller.domain_errors import Conflict, NotFound, Refused
from controller.ledger import Ledger
from controller.models import Customer, Site, User, VpnPeer, aware, iso, utcnow
from controller.policy import Decision, RemoteFacts, RemotePeer, SeatFacts, WorkFacts, work_decision
from controller.services import gold
from controller.services.pauses import open_pause
from controller.services.seats import live_seat, person_facts
from controller.services.work_refusals import note_refusal
from controller.vpn_peers import SERVING
from controller.watermark import burn_in
from edge_agent.wire.site import SiteConfig

log = logging.getLogger("siteguard.controller.work")

LAPSED = "reservation expired"  # the skip recorded for a holder whose lapsed slot was taken
CLAIM_TRIES = 20
_RANDOM = random.SystemRandom()


def _write(db, stmt):
    """An UPDATE by condition; the rows it touched are refreshed by the caller, not guessed."""
    return db.execute(stmt, execution_options={"synchronize_session": False})


def content_path(data_dir: Path, sha256: str) -> Path:
    """Where an item's bytes lie: the data directory's content store, by their SHA-256."""
    return Path(data_dir) / "content" / sha256[:2] / sha256


@lru_cache(maxsize=32)
def _config(config_hash: str, config_json: str) -> SiteConfig:
    return SiteConfig.model_validate_json(config_json)


def site_config(site: Site) -> SiteConfig:
    return _config(site.config_hash, site.config_json)


@dataclass(frozen=True)
class Check:
    decision: Decision
    seat: str | None  # "<site>/<seat>" of the workstation, or "<site>/vpn:<address>" of a remote peer
    site_id: int | None = None  # the seat's (or remote range's) site, else the site that names the login's person


@dataclass(frozen=True)
class _Known:
    """What the policy check needs of one site: its file, its seats by workstation address, its
    people by platform login and its customers' remote ranges, made once per version of the site
    file."""

    id: int
    slug: str
    config: SiteConfig
    seats: dict[ipaddress.IPv4Address, Any]
    people: dict[str, str]
    remote: tuple[tuple[ipaddress.IPv4Network, Any], ...] = ()  # (range, the customer it is of)


_KNOWN: dict[tuple[int, str], _Known] = {}


def _sites(db) -> list[_Known]:
    """Every site, in id order; a site file's text is read and indexed only when its hash is new."""
    out = []
    for site_id, slug, config_hash in db.execute(select(Site.id, Site.slug, Site.config_hash).order_by(Site.id)):
        known = _KNOWN.get((site_id, config_hash))
        if known is None:
            config = _config(config_hash, db.scalar(select(Site.config_json).where(Site.id == site_id)))
            seats: dict[ipaddress.IPv4Address, Any] = {}
            for seat in config.seats:
                if seat.workstation is not None:
                    seats.setdefault(seat.workstation, seat)
            people: dict[str, str] = {}
            for person in config.people:
                if person.user is not None:
                    people.setdefault(person.user, person.id)
            remote = tuple((c.remote.range, c) for c in config.customers if c.remote is not None)
            known = _Known(site_id, slug, config, seats, people, remote)
            if len(_KNOWN) > 64:
                _KNOWN.clear()
            _KNOWN[(site_id, config_hash)] = known
        out.append(known if known.slug == slug
                   else _Known(site_id, slug, known.config, known.seats, known.people, known.remote))
    return out


def _today(config: SiteConfig) -> dt.date:
    """The date on the site's own calendar (as ``credentials.site_today``), from the parsed file."""
    return utcnow().astimezone(config.site.tzinfo()).date()


def _find_seat(db, address: str) -> tuple[_Known, SiteConfig, Any] | None:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    for known in _sites(db):
        seat = known.seats.get(ip)
        if seat is not None:
            return known, known.config, seat
    return None


def _find_remote(db, address: str) -> tuple[_Known, Any] | None:
    """The site and customer whose remote range holds the address (the first site's, in id order)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    for known in _sites(db):
        for network, customer in known.remote:
            if ip.version == network.version and ip in network:
                return known, customer
    return None


def _remote_facts(db, site: _Known, customer: Any, address: str) -> RemoteFacts:
    """The customer's remote rules and its peer served at the address on the site (active, or
    rotating: a pending key rotation keeps the address and the rules until it runs)."""
    peer = db.execute(select(VpnPeer.person, VpnPeer.public_key, VpnPeer.address)
                      .join(Customer, Customer.id == VpnPeer.customer_id)
                      .where(VpnPeer.site_id == site.id, VpnPeer.address == address, VpnPeer.status.in_(SERVING),
                             Customer.slug == customer.id).order_by(VpnPeer.id).limit(1)).first()
    rules = customer.remote
    return RemoteFacts(customer.id, rules.allowed, tuple(rules.modalities), rules.watermark,
                       None if peer is None else RemotePeer(*peer))


def _person_site(db, username: str, site: _Known | None) -> tuple[_Known, SiteConfig, str] | None:
    """The site's person this login is: at the seat's (or remote range's) site, or else the first
    site that names it."""
    for known in [site] if site else _sites(db):
        person_id = known.people.get(username)
        if person_id is not None:
            return known, known.config, person_id
    return None


def check(db, user: User, project: Project, address: str, offline_after_s: float) -> Check:
    """The policy's answer for this login, at this address, for this project, now."""
    found = _find_seat(db, address)
    remote_at = _find_remote(db, address) if found is None else None
    membership = (select(ProjectMember.id).where(ProjectMember.project_id == project.id,
                                                 ProjectMember.user_id == user.id).exists())
    row = db.execute(select(Customer.slug, membership, open_pause(project.id, user.id))
                     .where(Customer.id == project.customer_id)).first()
    customer_slug, member, paused = (row[0], bool(row[1]), bool(row[2])) if row is not None else ("", False, False)
    seat_facts, subnets, seat_name = None, (), None
    if found is not None:
        site, config, seat = found
        covered, reasons = live_seat(db, site.id, seat.id, offline_after_s)
        seat_facts = SeatFacts(seat.id, seat.customer, covered, reasons)
        subnets = tuple(v.subnet for c in config.customers if c.id == seat.customer for v in c.vlans)
        seat_name = f"{site.slug}/{seat.id}"
    remote = None
    if remote_at is not None:
        remote = _remote_facts(db, remote_at[0], remote_at[1], address)
        seat_name = f"{remote_at[0].slug[:44]}/vpn:{address}"  # fits the 64 characters a seat is kept in
    at_site = found[0] if found is not None else (remote_at[0] if remote_at is not None else None)
    at = _person_site(db, user.username, at_site)
    person, inside, today = None, frozenset(), dt.date.today()
    if at_site is not None:
        inside, today = frozenset(g.area_in for g in at_site.config.gates), _today(at_site.config)
    if at is not None:
        site, config, person_id = at
        person = person_facts(db, site.id, person_id)
        inside, today = frozenset(g.area_in for g in config.gates), _today(config)
    facts = WorkFacts(address=address, project_customer=customer_slug, member=member,
                      seat=seat_facts, subnets=subnets, person=person, inside=inside, today=today, paused=paused,
                      remote=remote, modality=project.modality)
    site_id = at_site.id if at_site is not None else (at[0].id if at is not None else None)
    return Check(work_decision(facts), seat_name, site_id)


def _allowed(db, user: User, project: Project, address: str, offline_after_s: float) -> Check:
    c = check(db, user, project, address, offline_after_s)
    if not c.decision.allowed:
        note_refusal(db, c.site_id, c.decision.reasons)  # counted for the daily report
        raise Refused("the site's policy does not allow work here now: " + ", ".join(c.decision.reasons),
                      c.decision.reasons)
    return c


def _project(db, user: User, project_id: int) -> Project:
    """The project, unless it is missing or another customer's than the login's (the same 404)."""
    project = db.get(Project, project_id)
    if project is None or (user.customer_id is not None and project.customer_id != user.customer_id):
        raise NotFound("no such project")
    return project


def _view(slot: TaskSlot) -> A.SlotView:
    return A.SlotView(slot.task_id, slot.slot, slot.state, slot.annotator_id, aware(slot.reserved_until))


def shown_slot(slot: int, k: int) -> int:
    """The place number an annotator is shown: a gold place (below zero) as one of the k."""
    return slot if slot >= 0 else (-slot) % max(1, k)


def _task_answer(db, slot: TaskSlot, watermark: str | None = None) -> dict[str, Any]:
    item, k = db.execute(select(Item, Project.annotators_per_task).join(Task, Task.item_id == Item.id)
                         .join(Project, Project.id == Task.project_id).where(Task.id == slot.task_id)).one()
    return {"task": slot.task_id, "project": slot.project_id, "slot": shown_slot(slot.slot, k), "state": slot.state,
            "reserved_until": iso(slot.reserved_until), "seat": slot.seat,
            # Never the gold flag or answer, nor the source file's name: only what labelling needs.
            "item": {"id": item.id, "media_type": item.media_type, "size": item.size, "meta": item.meta},
            "content": f"/api/work/tasks/{slot.task_id}/content", "watermark": watermark}


def _barred(project_id: int, annotator: int):
    held = select(TaskSlot.task_id).where(TaskSlot.project_id == project_id, TaskSlot.annotator_id == annotator)
    skipped = select(TaskSkip.task_id).where(TaskSkip.annotator_id == annotator)
    return held, skipped


def _draws(project_id: int, annotator: int, served: int, seed: str) -> tuple[float, float]:
    """Two uniform draws for the next claim: gold or not, and which gold task."""
    if not seed:
        return _RANDOM.random(), _RANDOM.random()
    mac = hmac.new(seed.encode(), f"{project_id}:{annotator}:{served}".encode(), hashlib.sha256).hexdigest()
    return draw(mac[:16]), draw(mac[16:32])


def _claim_gold(db, project_id: int, annotator: int, seat: str | None, now: dt.datetime, pick: float,
                unseen, n_unseen: int) -> TaskSlot | None:
    """A place made for the annotator on one of the ``n_unseen`` gold tasks of the query
    ``unseen`` (those they never held nor skipped): the one at ``pick`` of the way along."""
    if not n_unseen:
        return None
    task_id = db.scalar(unseen.order_by(Task.id).offset(min(n_unseen - 1, int(pick * n_unseen))).limit(1))
    if task_id is None:
        return None
    slot = TaskSlot(project_id=project_id, task_id=task_id, slot=-annotator, state=A.RESERVED, annotator_id=annotator,
                    reserved_until=A.expires_at(now), seat=seat)
    db.add(slot)
    db.flush()  # a second claim of the same task by the same annotator fails here, on the unique key
    return slot


def _unseen_gold(project_id: int, annotator: int):
    """The query of the project's gold tasks the annotator never held nor skipped, by id. Read
    as a count and one row at an offset: a project may hold thousands of gold tasks, and every
    claim would otherwise fetch them all."""
    held, skipped = _barred(project_id, annotator)
    return (select(Task.id).join(Item, Item.id == Task.item_id)
            .where(Item.project_id == project_id, Item.is_gold.is_(True),
                   Task.id.not_in(held), Task.id.not_in(skipped)))


def _claim_once(db, project_id: int, annotator: int, seat: str | None, now: dt.datetime,
                gold_seed: str = "") -> TaskSlot | None:
    """One try: pick a slot the annotator may claim and take it, in the caller's transaction.
    None: nothing is free for them."""
    postgres = db.get_bind().dialect.name == "postgresql"
    if not postgres:  # take SQLite's write lock first, so what is read next is what is written on
        db.execute(text("UPDATE task_slots SET state = state WHERE 0"))
    unseen = _unseen_gold(project_id, annotator)
    n_unseen = db.scalar(select(func.count()).select_from(unseen.subquery()))
    if not n_unseen:
        return _claim_work(db, project_id, annotator, seat, now, postgres)
    project = db.get(Project, project_id)
    served = db.scalar(select(func.count()).select_from(TaskSlot).where(
        TaskSlot.project_id == project_id, TaskSlot.annotator_id == annotator)) if gold_seed else 0
    u, pick = _draws(project_id, annotator, served, gold_seed)
    if serve_gold(u, gold.gold_share_for(db, project, annotator)):
        return (_claim_gold(db, project_id, annotator, seat, now, pick, unseen, n_unseen)
                or _claim_work(db, project_id, annotator, seat, now, postgres))
    return (_claim_work(db, project_id, annotator, seat, now, postgres)
            or _claim_gold(db, project_id, annotator, seat, now, pick, unseen, n_unseen))


def _claim_work(db, project_id: int, annotator: int, seat: str | None, now: dt.datetime,
                postgres: bool) -> TaskSlot | None:
    """One of the k places of an ordinary (not gold) task."""
    held, skipped = _barred(project_id, annotator)
    lapsed = and_(TaskSlot.state == A.RESERVED, TaskSlot.reserved_until <= now)
    open_ = or_(TaskSlot.state == A.FREE, lapsed)
    # The place's task is open and not gold, asked per candidate place (a join made PostgreSQL
    # merge the whole task list in order, reading every done task before the first open one).
    workable = (select(Task.id).join(Item, Item.id == Task.item_id)
                .where(Task.id == TaskSlot.task_id, Task.status == "open", Item.is_gold.is_not(True)).exists())
    base = (select(TaskSlot)
            .where(TaskSlot.project_id == project_id, workable,
                   TaskSlot.task_id.not_in(held), TaskSlot.task_id.not_in(skipped))
            .order_by(TaskSlot.task_id, TaskSlot.slot).limit(1))
    # Lapsed places (work someone abandoned, on older tasks) first, then free ones: two queries,
    # each walking the claim index (project, state, task, slot) in order. One query with "free or
    # lapsed" made PostgreSQL walk the task order through every taken place of the project
    # instead: 100,000 rows read per claim once 50,000 tasks were done.
    passes = [base.where(lapsed), base.where(TaskSlot.state == A.FREE)]
    slot = None
    if postgres:
        # Pass the rows other claimers hold locked; only when every candidate is locked, wait for
        # them: a claim that fails (its unique key) leaves its row free, and "nothing free" must
        # then not be the answer.
        for stmt in passes:
            slot = db.scalar(stmt.with_for_update(skip_locked=True, of=TaskSlot))
            if slot is not None:
                break
        else:
            for stmt in passes:
                slot = db.scalar(stmt.with_for_update(of=TaskSlot))
                if slot is not None:
                    break
    else:
        for stmt in passes:
            slot = db.scalar(stmt)
            if slot is not None:
                break
    if slot is None:
        return None
    view = _view(slot)
    if not A.open_to_claim(view, now):  # the rule itself, over what the row says now
        return None
    lapsed_holder = slot.annotator_id if A.expired(view, now) else None
    taken = {"state": A.RESERVED, "annotator_id": annotator, "reserved_until": A.expires_at(now), "seat": seat}
    done = _write(db, update(TaskSlot).where(TaskSlot.id == slot.id, open_).values(**taken))
    if done.rowcount != 1:
        return None
    for key, value in taken.items():  # what was just written, without reading it back
        set_committed_value(slot, key, value)
    if lapsed_holder is not None and lapsed_holder != annotator:
        # The lapsed holder never gets this task again: its passing is recorded as a skip.
        db.add(TaskSkip(task_id=slot.task_id, annotator_id=lapsed_holder, reason=LAPSED, at=now))
    db.flush()
    return slot


def claim(db, project_id: int, annotator: int, seat: str | None, now: dt.datetime,
          gold_seed: str = "") -> TaskSlot | None:
    """Claim the next slot for the annotator and commit. Collisions on the unique keys (two
    claims by one annotator at once) roll back and try again; None only when nothing is free
    for them."""
    for _ in range(CLAIM_TRIES):
        try:
            slot = _claim_once(db, project_id, annotator, seat, now, gold_seed)
            db.commit()
            return slot
        except IntegrityError:
            db.rollback()
            log.debug("claim by %s collided; trying the next slot", annotator)
    raise Conflict("too many concurrent claims; try again")


def _own_reservation(db, project_id: int, annotator: int) -> TaskSlot | None:
    return db.scalar(select(TaskSlot).where(TaskSlot.project_id == project_id, TaskSlot.annotator_id == annotator,
                                            TaskSlot.state == A.RESERVED).order_by(TaskSlot.task_id).limit(1))


def next_task(db, user: User, project_id: int, address: str, offline_after_s: float,
              now: dt.datetime | None = None, gold_seed: str = "") -> dict[str, Any] | None:
    """The annotator's task in the project: the one they hold (renewed), else a newly claimed
    one. None: nothing is free for them."""
    now = now or utcnow()
    project = _project(db, user, project_id)
    c = _allowed(db, user, project, address, offline_after_s)
    own = _own_reservation(db, project.id, user.id)
    if own is not None:
        own.reserved_until, own.seat = A.expires_at(now), c.seat
        db.commit()
        return _task_answer(db, own, c.decision.watermark)
    slot = claim(db, project.id, user.id, c.seat, now, gold_seed)
    return None if slot is None else _task_answer(db, slot, c.decision.watermark)


def _my_slot(db, user: User, task_id: int) -> tuple[Task, Project, TaskSlot]:
    """The task and the login's slot on it (reserved or submitted); anything else reads as missing.
    One query brings the task, its project, the slot and the item (kept in the session)."""
    found = db.execute(select(Task, Project, TaskSlot, Item).join(Project, Project.id == Task.project_id)
                       .join(Item, Item.id == Task.item_id)
                       .outerjoin(TaskSlot, and_(TaskSlot.task_id == Task.id, TaskSlot.annotator_id == user.id,
                                                 TaskSlot.state.in_((A.RESERVED, A.SUBMITTED))))
                       .where(Task.id == task_id)).first()
    task, project, slot, _ = found if found is not None else (None, None, None, None)
    if task is None or slot is None:
        if task is not None and db.scalar(select(TaskSkip.id).where(
                TaskSkip.task_id == task.id, TaskSkip.annotator_id == user.id, TaskSkip.reason == LAPSED)):
            raise Conflict("the reservation expired and the task went to someone else")
        raise NotFound("no such task")
    if user.customer_id is not None and project.customer_id != user.customer_id:
        raise NotFound("no such task")  # as _project: another customer's reads as missing
    return task, project, slot


@dataclass(frozen=True)
class Content:
    body: bytes
    media_type: str
    watermark: str | None  # the text the page overlays (and an image already carries in its pixels)


def content(db, user: User, task_id: int, address: str, offline_after_s: float, data_dir: Path) -> Content:
    """The item's bytes and media type, to the slot's holder while the policy allows; an image
    of a session the policy watermarks comes with the watermark burnt into its pixels."""
    task, project, slot = _my_slot(db, user, task_id)
    c = _allowed(db, user, project, address, offline_after_s)
    return item_content(data_dir, db.get(Item, task.item_id), c.decision.watermark)


def item_content(data_dir: Path, item: Item, watermark: str | None) -> Content:
    """An item's bytes from the store as a session the policy allowed sees them: with
    ``watermark`` burnt into an image's pixels."""
    try:
        body = content_path(data_dir, item.sha256).read_bytes()
    except FileNotFoundError:
        log.error("content %s of item %s is missing from the store", item.sha256, item.id)
        raise NotFound("the item's content is not in the store") from None
    if watermark is not None and item.media_type.startswith("image/"):
        body = burn_in(body, item.media_type, watermark)
    return Content(body, item.media_type, watermark)


def heartbeat(db, user: User, task_id: int, address: str, offline_after_s: float,
              now: dt.datetime | None = None) -> dict[str, Any]:
    """The page's periodic re-check: the policy's answer now, and, while it allows, the
    reservation renewed. A refusal keeps the draft; the page hides the content."""
    now = now or utcnow()
    task, project, slot = _my_slot(db, user, task_id)
    c = check(db, user, project, address, offline_after_s)
    if c.decision.allowed and slot.state == A.RESERVED:
        renewed = A.renew(_view(slot), user.id, now)
        if renewed is not None:
            slot.reserved_until = renewed.reserved_until
    db.commit()
    return {"task": task.id, "allowed": c.decision.allowed, "reasons": list(c.decision.reasons),
            "watermark": c.decision.watermark, "state": slot.state, "reserved_until": iso(slot.reserved_until), "checked_at": iso(now)}


def get_draft(db, user: User, task_id: int, address: str, offline_after_s: float) -> dict[str, Any]:
    task, project, _ = _my_slot(db, user, task_id)
    _allowed(db, user, project, address, offline_after_s)  # a draft may quote the content
    d = db.scalar(select(Draft).where(Draft.task_id == task.id, Draft.annotator_id == user.id))
    return {"task": task.id, "result": d.result if d else None, "saved_at": iso(d.saved_at) if d else None}


def put_draft(db, user: User, task_id: int, result: dict[str, Any], now: dt.datetime | None = None) -> dict[str, Any]:
    """Autosave; kept even while the policy says no (the page saves what it has, then hides)."""
    now = now or utcnow()
    task, _, _ = _my_slot(db, user, task_id)
    d = db.scalar(select(Draft).where(Draft.task_id == task.id, Draft.annotator_id == user.id))
    if d is None:
        d = Draft(task_id=task.id, annotator_id=user.id)
        db.add(d)
    d.result, d.saved_at = result, now
    try:
        db.commit()
    except IntegrityError:  # two autosaves at once: the other one's row is there now
        db.rollback()
        d = db.scalar(select(Draft).where(Draft.task_id == task.id, Draft.annotator_id == user.id))
        d.result, d.saved_at = result, now
        db.commit()
    return {"task": task.id, "saved_at": iso(now)}


def save_version(db, ledger: Ledger, task: Task, item: Item, annotator: User, prev: Annotation | None,
                 result: dict[str, Any], seat: str | None, now: dt.datetime, clash: str) -> Annotation:
    """The next version of ``annotator``'s chain on the task, chained to ``prev``, with its ledger
    leaf in the same transaction. Two saves racing for one version number: Conflict(clash)."""
    v = Version(project=task.project_id, task=task.id, item_sha256=item.sha256, annotator=annotator.username,
                seat=seat, version=(prev.version + 1) if prev else 1, at=now.astimezone(dt.timezone.utc).isoformat(),
                result=result, prev_hash=prev.hash if prev else None)
    row = Annotation(project_id=task.project_id, task_id=task.id, annotator_id=annotator.id, version=v.version,
                     result=dict(result), item_sha256=item.sha256, seat=seat, prev_hash=v.prev_hash,
                     hash=v.hash(), created_at=now)
    db.add(row)
    try:
        db.flush()
    except IntegrityError:
        db.rollback()
        raise Conflict(clash) from None
    ledger.record(db, LEAF_KIND, v.leaf(row.id))
    return row


def submit(db, ledger: Ledger, user: User, task_id: int, result: dict[str, Any], address: str,
           offline_after_s: float, now: dt.datetime | None = None) -> dict[str, Any]:
    """A new version of the annotator's annotation, chained to the one before, and its ledger
    leaf, in one transaction; the first one also fills the slot and counts toward k."""
    now = now or utcnow()
    task, project, slot = _my_slot(db, user, task_id)
    c = _allowed(db, user, project, address, offline_after_s)
    item = db.get(Item, task.item_id)
    prev = db.scalar(select(Annotation).where(Annotation.task_id == task.id, Annotation.annotator_id == user.id)
                     .order_by(Annotation.version.desc()).limit(1))
    row = save_version(db, ledger, task, item, user, prev, result, c.seat, now,
                 "another version of this annotation was saved at the same moment; try again")
    if slot.state == A.RESERVED:
        first = _write(db, update(TaskSlot).where(TaskSlot.id == slot.id, TaskSlot.state == A.RESERVED)
                           .values(state=A.SUBMITTED, reserved_until=None, seat=c.seat))
        if first.rowcount == 1:
            counted = _write(db, update(Task).where(Task.id == task.id).values(
                submitted=Task.submitted + 1,
                status=case((Task.submitted + 1 >= Task.wanted, "complete"), else_=Task.status))
                .returning(Task.submitted, Task.status)).one()
            set_committed_value(task, "submitted", counted[0])
            set_committed_value(task, "status", counted[1])
    if item.is_gold and row.version == 1:
        gold.judge_after_gold(db, ledger, project, user, now)
    db.execute(delete(Draft).where(Draft.task_id == task.id, Draft.annotator_id == user.id))
    db.commit()
    # A gold task counts every annotator's answer; it reads as an ordinary task of k would.
    shown = min(task.submitted, task.wanted)
    return {"task": task.id, "annotation": row.id, "version": row.version, "hash": row.hash,
            "prev_hash": row.prev_hash, "task_submitted": shown,
            "task_status": "complete" if shown >= task.wanted else "open"}


def skip(db, user: User, task_id: int, reason: str, now: dt.datetime | None = None) -> dict[str, Any]:
    """Pass on a held task: the skip is recorded (it is never offered again) and the slot is free."""
    now = now or utcnow()
    task, _, slot = _my_slot(db, user, task_id)
    if slot.state != A.RESERVED:
        raise Conflict("a submitted task cannot be skipped")
    db.add(TaskSkip(task_id=task.id, annotator_id=user.id, reason=reason, at=now))
    _write(db, update(TaskSlot).where(TaskSlot.id == slot.id).values(
        state=A.FREE, annotator_id=None, reserved_until=None, seat=None))
    db.execute(delete(Draft).where(Draft.task_id == task.id, Draft.annotator_id == user.id))
    db.commit()
    return {"task": task.id, "skipped": True}
