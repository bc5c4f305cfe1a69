"""Messages between edge agent and controller, and their strict codec.

One ZeroMQ frame per message, JSON in UTF-8. Anything that does not decode into exactly one of
the models below is refused with a `WireError` the receiver logs; nothing here raises anything
else on hostile input, so neither side crashes on garbage.
"""
from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic_core import PydanticCustomError

from edge_agent.wire.kinds import CommandName, is_known_kind

PROTOCOL_VERSION = 1
# Application limit; the sockets also set ZMQ_MAXMSGSIZE a little above it so an absurd frame
# is dropped by libzmq before it is ever buffered whole.
MAX_MESSAGE_BYTES = 1 << 20
SOCKET_MAX_MESSAGE_BYTES = 4 << 20
MAX_EVENTS_PER_BATCH = 1000
MAX_EVENT_DATA_BYTES = 64 << 10
# Real messages nest a handful of levels; anything deeper is refused before it is parsed.
MAX_NESTING = 32


class WireError(ValueError):
    """A message that cannot be accepted; the text says why, `reason` names the class of fault
    (the label the controller counts refused frames by)."""

    def __init__(self, message: str, reason: str = "malformed") -> None:
        super().__init__(message)
        self.reason = reason


# Refusals counted under their own reason rather than "malformed".
UNKNOWN_KIND = "unknown_kind"
UNKNOWN_COMMAND = "unknown_command"


def _known_kind(kind: str) -> str:
    if not is_known_kind(kind):
        raise PydanticCustomError(UNKNOWN_KIND, "unknown event kind '{kind}'", {"kind": kind})
    return str(kind)  # a member of the enums travels and is stored as its plain string


_COMMANDS = frozenset(c.value for c in CommandName)


def _known_command(name: Any) -> Any:
    if isinstance(name, str) and name not in _COMMANDS:
        raise PydanticCustomError(UNKNOWN_COMMAND, "unknown command '{name}'", {"name": name})
    return name


class _Msg(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    v: Literal[1] = PROTOCOL_VERSION


class Event(BaseModel):
    """One durable event from the agent's outbox; `seq` is unique per agent, forever."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    seq: int = Field(ge=1)
    ts: str = Field(min_length=1, max_length=40)
    kind: Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[a-z0-9_.\-]+$"),
                    AfterValidator(_known_kind)]
    data: dict[str, Any] = Field(default_factory=dict)


# --- agent -> controller ---------------------------------------------------------------------

class Hello(_Msg):
    type: Literal["hello"] = "hello"
    site: str = Field(min_length=1, max_length=64)
    config_hash: str | None = Field(default=None, max_length=64)
    software: str = Field(default="", max_length=64)
    pending: int = Field(default=0, ge=0)


class Heartbeat(_Msg):
    type: Literal["heartbeat"] = "heartbeat"
    ts: str = Field(max_length=40)
    pending: int = Field(default=0, ge=0)
    config_hash: str | None = Field(default=None, max_length=64)
    status: dict[str, Any] = Field(default_factory=dict)


class Events(_Msg):
    type: Literal["events"] = "events"
    events: list[Event] = Field(min_length=1, max_length=MAX_EVENTS_PER_BATCH)


class Reply(_Msg):
    type: Literal["reply"] = "reply"
    id: str = Field(min_length=1, max_length=64)
    ok: bool
    result: dict[str, Any] = Field(default_factory=dict)
    error: str = Field(default="", max_length=2000)


# --- controller -> agent ---------------------------------------------------------------------

class Welcome(_Msg):
    type: Literal["welcome"] = "welcome"
    agent: str = Field(max_length=64)
    config_hash: str | None = None
    config: dict[str, Any] | None = None  # present only when the agent's hash differs


class Ack(_Msg):
    type: Literal["ack"] = "ack"
    seqs: list[int] = Field(max_length=MAX_EVENTS_PER_BATCH)


class Command(_Msg):
    type: Literal["command"] = "command"
    id: str = Field(min_length=1, max_length=64)
    name: Annotated[CommandName, BeforeValidator(_known_command)]
    args: dict[str, Any] = Field(default_factory=dict)


class ConfigPush(_Msg):
    type: Literal["config"] = "config"
    config_hash: str
    config: dict[str, Any]


class Refused(_Msg):
    type: Literal["refused"] = "refused"
    reason: str = Field(max_length=2000)


AgentMessage = Annotated[Union[Hello, Heartbeat, Events, Reply], Field(discriminator="type")]
ControllerMessage = Annotated[
    Union[Welcome, Ack, Command, ConfigPush, Refused], Field(discriminator="type")
]
_agent_adapter: TypeAdapter[Any] = TypeAdapter(AgentMessage)
_controller_adapter: TypeAdapter[Any] = TypeAdapter(ControllerMessage)


def encode(msg: BaseModel) -> bytes:
    raw = msg.model_dump_json().encode()
    if len(raw) > MAX_MESSAGE_BYTES:
        raise WireError(f"message of {len(raw)} bytes exceeds the {MAX_MESSAGE_BYTES}-byte limit")
    return raw


def _decode(raw: bytes, adapter: TypeAdapter[Any]) -> Any:
    try:
        return _decode_strict(raw, adapter)
    except WireError:
        raise
    except Exception as exc:  # RecursionError on deep nesting, anything else hostile input finds
        raise WireError(f"undecodable message: {type(exc).__name__}") from None


def _decode_strict(raw: bytes, adapter: TypeAdapter[Any]) -> Any:
    if len(raw) > MAX_MESSAGE_BYTES:
        raise WireError(f"message of {len(raw)} bytes exceeds the {MAX_MESSAGE_BYTES}-byte limit")
    depth = _nesting_depth(raw)
    if depth > MAX_NESTING:
        raise WireError(f"message nested {depth} levels deep; at most {MAX_NESTING} allowed")
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WireError(f"not UTF-8 JSON: {exc}") from None
    try:
        msg = adapter.validate_python(obj)
    except ValidationError as exc:
        first = exc.errors()[0]
        reason = first["type"] if first["type"] in (UNKNOWN_KIND, UNKNOWN_COMMAND) else "malformed"
        where = ".".join(str(p) for p in first["loc"]) or "message"
        raise WireError(f"{where}: {first['msg']} ({exc.error_count()} problem(s))", reason) from None
    if isinstance(msg, Events):
        for ev in msg.events:
            if len(json.dumps(ev.data)) > MAX_EVENT_DATA_BYTES:
                raise WireError(f"event {ev.seq}: data exceeds {MAX_EVENT_DATA_BYTES} bytes")
    return msg


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def _nesting_depth(raw: bytes) -> int:
    """The deepest bracket nesting outside strings, found without a recursive parser, so a
    hostile frame is refused before json or pydantic walk it. Strings and everything but the
    brackets are dropped in C first; the loop then sees a few bytes per event."""
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    depth = deepest = 0
    for b in brackets:
        if b in b"[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_NESTING:
                    break
        else:
            depth -= 1
    return deepest


def decode_from_agent(raw: bytes) -> Hello | Heartbeat | Events | Reply:
    return _decode(raw, _agent_adapter)


def decode_from_controller(raw: bytes) -> Welcome | Ack | Command | ConfigPush | Refused:
    return _decode(raw, _controller_adapter)
