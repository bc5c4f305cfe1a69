"""The evidence ledger as inspectors read it: checkpoint, inclusion proofs, the full export."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import sessionmaker

from controller.domain_errors import NotFound
from controller.ledger import Ledger
from controller.login import report_failed_logins


def checkpoint(ledger: Ledger) -> dict[str, Any]:
    return {"checkpoint": ledger.checkpoint(), "public_key": ledger.public_key.hex(), "origin": ledger.origin}


def proof(ledger: Ledger, index: int) -> dict[str, Any]:
    try:
        return ledger.inclusion(index)
    except IndexError:
        raise NotFound("no such entry") from None


def export(sessions: sessionmaker, ledger: Ledger) -> bytes:
    """The whole ledger; the export itself is ledgered. Failed logins are ledgered per burst once
    it goes quiet; an export holds them up to now."""
    report_failed_logins(sessions, ledger, flush_all=True)
    ledger.append("ledger.exported", {"size": ledger.size})
    return ledger.export()
