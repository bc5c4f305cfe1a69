"""Each customer's remote-work rules as plain data, and the guard that keeps a replaced site
file from changing them (only a change the customer signs may: controller/services/remote_rules.py)."""
from __future__ import annotations

from typing import Any

from edge_agent.wire.site import SiteConfig


def rules_of(config: SiteConfig) -> dict[str, dict[str, Any]]:
    """Each customer's remote rules as a plain dict (absent: remote work denied)."""
    return {c.id: {"allowed": c.remote.allowed, "modalities": sorted(c.remote.modalities),
                   "watermark": c.remote.watermark}
            for c in config.customers if c.remote is not None}


def check_unchanged(old: SiteConfig, new: SiteConfig) -> None:
    """A replaced site file keeps every existing customer's remote rules as they are."""
    before, after = rules_of(old), rules_of(new)
    existing = {c.id for c in old.customers}
    denied = {"allowed": False}
    for customer in sorted(existing & {c.id for c in new.customers}):
        b, a = before.get(customer), after.get(customer)
        if (b or denied).get("allowed") is False and (a or denied).get("allowed") is False:
            continue  # denied before and after: the other rules do not apply yet
        if b != a:
            raise ValueError(f"customer {customer}'s remote-work rules change only by a change that customer "
                             "approves (POST /api/sites/{id}/remote-rules)")
