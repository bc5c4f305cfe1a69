"""Load an nftables ruleset into a namespace, all or nothing."""
from __future__ import annotations

import subprocess

NFT_TIMEOUT_S = 20


class RulesetError(Exception):
    """nft refused the ruleset; the one loaded before stays in force."""


def _nft(nsname: str, args: list[str], text: str | None = None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["ip", "netns", "exec", nsname, "nft", *args], input=text,
                              capture_output=True, text=True, timeout=NFT_TIMEOUT_S)
    except FileNotFoundError as exc:
        raise RulesetError(f"cannot run nft: {exc}") from None


def load(nsname: str, text: str) -> None:
    """Replace the namespace's whole ruleset with `text` in one nft transaction.

    `flush ruleset` shares the first line with the caller's text, so nft's error positions
    (`<stdin>:LINE:COL`) still point at the caller's lines; a failed transaction changes nothing.
    """
    proc = _nft(nsname, ["-f", "-"], "flush ruleset; " + text)
    if proc.returncode != 0:
        msg = (proc.stderr or proc.stdout).strip() or f"nft exited {proc.returncode}"
        raise RulesetError(f"nft rejected the ruleset for {nsname}:\n{msg}")


def current(nsname: str) -> str:
    proc = _nft(nsname, ["list", "ruleset"])
    if proc.returncode != 0:
        raise RulesetError(f"nft list ruleset in {nsname}: {proc.stderr.strip()}")
    return proc.stdout
