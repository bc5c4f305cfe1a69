"""Registering a site's config: the site row, its customers and VLANs, and a ledger entry."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from controller.models import Customer, Person, Site, TrainingRecord, Vlan, utcnow
from edge_agent.wire.site import SiteConfig


def apply_site_config(s: Session, config: SiteConfig) -> tuple[Site, bool]:
    """Upsert the site and what it names; returns (site, whether the config changed)."""
    digest = config.config_hash()
    site = s.scalar(select(Site).where(Site.slug == config.site.id))
    if site is not None and site.config_hash == digest:
        return site, False
    if site is None:
        site = Site(slug=config.site.id, name=config.site.name, config_json=config.canonical_json(),
                    config_hash=digest, version=1)
        s.add(site)
    else:
        site.name = config.site.name
        site.config_json = config.canonical_json()
        site.config_hash = digest
        site.version += 1
        site.updated_at = utcnow()
    s.flush()
    existing = {c.slug: c for c in s.scalars(select(Customer))}
    wanted_vlans = set()
    for c in config.customers:
        cust = existing.get(c.id)
        if cust is None:
            cust = Customer(slug=c.id, name=c.name)
            s.add(cust)
            s.flush()
        cust.name = c.name
        cust.approval_public_key = c.approval_public_key
        for v in c.vlans:
            wanted_vlans.add(v.id)
            row = s.scalar(select(Vlan).where(Vlan.site_id == site.id, Vlan.vlan_id == v.id))
            if row is None:
                row = Vlan(site_id=site.id, vlan_id=v.id, customer_id=cust.id, name=v.name,
                           subnet=str(v.subnet))
                s.add(row)
            row.customer_id, row.name, row.subnet = cust.id, v.name, str(v.subnet)
    for row in s.scalars(select(Vlan).where(Vlan.site_id == site.id)):
        if row.vlan_id not in wanted_vlans:
            s.delete(row)
    _apply_people(s, site, config)
    return site, True


def _apply_people(s: Session, site: Site, config: SiteConfig) -> None:
    """People and badges follow the file; training records only accumulate (history is kept)."""
    existing = {p.person: p for p in s.scalars(select(Person).where(Person.site_id == site.id))}
    named = set()
    for p in config.people:
        named.add(p.id)
        row = existing.get(p.id)
        if row is None:
            row = Person(site_id=site.id, person=p.id)
            s.add(row)
        row.name, row.role, row.customers, row.active = p.name, p.role, list(p.customers), True
        row.badges = [b.model_dump(mode="json") for b in p.badges]
        s.flush()
        if p.training is not None:
            known = s.scalar(select(TrainingRecord.id).where(
                TrainingRecord.person_id == row.id, TrainingRecord.completed == p.training.completed,
                TrainingRecord.expires == p.training.expires))
            if known is None:
                s.add(TrainingRecord(person_id=row.id, completed=p.training.completed,
                                     expires=p.training.expires, recorded_by="site file"))
    for pid, row in existing.items():
        if pid not in named:
            row.active = False  # removed from the file: no access, history kept
