"""Sending a command to a site's edge agent through the link, whichever process holds it."""
from __future__ import annotations

from typing import Any, Protocol

from controller.domain_errors import EdgeFailed, EdgeUnavailable, Invalid
from controller.wire_server import BadCommand, CommandError, command_args
from edge_agent.wire.kinds import CommandName

NOT_CONNECTED = "the site's edge agent is not connected"


class EdgeChannel(Protocol):
    """The link's face: the in-process link (role "all") and an HTTP worker's LinkClient both
    offer it; a test may stand in its own."""

    def agent_for_site(self, site_id: int) -> int | None: ...

    def send_command(self, agent_id: int, name: CommandName, args: dict[str, Any], timeout: float) -> dict: ...

    def push_config(self, site_id: int, config_json: str, config_hash: str) -> int: ...

    def reload_keys(self) -> None: ...


class NoEdge:
    """No link in this process (an app used without serving it): every site's edge is offline."""

    def agent_for_site(self, site_id: int) -> int | None:
        return None

    def send_command(self, agent_id: int, name: CommandName, args: dict[str, Any], timeout: float) -> dict:
        raise EdgeUnavailable("the agent is not connected")

    def push_config(self, site_id: int, config_json: str, config_hash: str) -> int:
        return 0

    def reload_keys(self) -> None:
        return None


def checked_args(name: CommandName, args: Any) -> dict[str, Any]:
    """The command's arguments as its wire model accepts them; arguments that do not fit are the
    caller's mistake (422), never sent."""
    try:
        return command_args(name, args)
    except BadCommand as exc:
        raise Invalid(str(exc), [str(exc)]) from None


def send_to_edge(edge: EdgeChannel, site_id: int, name: CommandName, args: dict[str, Any],
                 timeout: float) -> dict:
    """The site's edge agent's answer to one command. Raises EdgeUnavailable when no agent of the
    site is connected, EdgeFailed when the agent (or the link) answers with an error."""
    agent_id = edge.agent_for_site(site_id)
    if agent_id is None:
        raise EdgeUnavailable(NOT_CONNECTED)
    checked = checked_args(name, args)
    try:
        return edge.send_command(agent_id, name, checked, timeout)
    except CommandError as exc:
        raise EdgeFailed(f"edge agent: {exc}", str(exc)) from None
