"""What every vendor CLI shares: modes, prompts, parsing a line, running its handler atomically,
questions that take the next line as their answer, and `| include` style output filters.

A dialect subclass supplies the grammar of each mode (PATTERNS), which mode a sub-mode falls
back to when a line is not one of its own (PARENT: a global command typed inside an interface
runs at the global level, as on the real devices), the prompts and the error texts.
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Callable

from . import acl as aclmod
from .cli import CliError, Grammar, Match, ParseFailure, UNRECOGNIZED, build, tokenize
from .state import SwitchState


class Workspace:
    """What a dialect needs from its switch: the running and saved state and one lock.

    The simulator's device implements this; a bare Workspace is used to load config text."""

    def __init__(self, running: SwitchState, saved: SwitchState | None = None) -> None:
        self.running = running
        self.saved = saved or running.copy()
        self.lock = threading.RLock()

    def save(self, state: SwitchState) -> None:
        self.saved = state.copy()


@dataclass
class Reply:
    lines: list[str]
    prompt: str
    close: bool = False


@dataclass
class _Pending:
    prompt: str
    answer: Callable[[str], list[str]]


class Dialect:
    vendor = ""
    INITIAL_MODE = ""
    CONFIG_ENTRY_MODE = ""   # where loaded config text is applied
    EXEC_MODES: tuple[str, ...] = ()
    PATTERNS: dict[str, list[tuple[str, str]]] = {}
    PARENT: dict[str, str] = {}
    PIPE_FILTERS = ("include", "exclude", "begin")

    def __init__(self, device: Workspace, session: int = 0, username: str = "") -> None:
        self.device, self.session, self.username = device, session, username
        self.mode: str = self.INITIAL_MODE
        self.ctx = None                      # the interface, VLAN(s) or ACL a sub-mode edits
        self.pending: _Pending | None = None
        self.closing = False
        self.st: SwitchState = device.running

    # ---- grammar ---------------------------------------------------------------------------
    @classmethod
    def grammar(cls, key: str) -> Grammar:
        cache = cls.__dict__.get("_grammar_cache")
        if cache is None:
            cache = {}
            setattr(cls, "_grammar_cache", cache)
        if key not in cache:
            cache[key] = build(cls.PATTERNS[key])
        return cache[key]

    def grammar_key(self) -> str:
        return self.mode

    # ---- what subclasses provide -------------------------------------------------------------
    @property
    def hostname(self) -> str:
        return self.st.hostname

    def prompt(self) -> str:
        raise NotImplementedError

    def banner(self) -> list[str]:
        return []

    def failure_lines(self, failure: ParseFailure, line: str) -> list[str]:
        raise NotImplementedError

    def is_comment(self, line: str) -> bool:
        return False

    def resolve_ifname(self, text: str) -> str:
        raise NotImplementedError

    def port_number(self, text: str) -> int:
        return aclmod.port_number(text)

    def ctrl_z(self) -> None:
        """Ctrl+Z: back to the privileged / user view from any configuration mode."""
        if self.in_config():
            self.mode, self.ctx = self.EXEC_MODES[-1], None

    # ---- running a line ---------------------------------------------------------------------
    def in_config(self) -> bool:
        return self.mode not in self.EXEC_MODES

    def handle(self, line: str) -> Reply:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            lines = self._atomic(lambda: pending.answer(line))
        else:
            lines = self.execute(line)
        prompt = self.pending.prompt if self.pending is not None else self.prompt()
        return Reply(lines, "" if self.closing else prompt, self.closing)

    def execute(self, line: str) -> list[str]:
        if not line.strip() or self.is_comment(line):
            return []
        cmd, keep = self._split_pipe(line)
        result, mode = self.parse(cmd)
        if isinstance(result, ParseFailure):
            return self.failure_lines(result, line)
        before = (self.mode, self.ctx)
        if mode is not None:
            self.mode, self.ctx = mode, None
        try:
            out = self._atomic(lambda: getattr(self, "do_" + result.handler)(result) or [])
        except CliError as exc:
            self.mode, self.ctx = before
            return exc.lines
        return [ln for ln in out if keep(ln)] if keep else out

    def _atomic(self, fn: Callable[[], list[str]]) -> list[str]:
        # Every command works on a copy and only a command that completes is kept, so a
        # refused command can never leave half its change behind.
        with self.device.lock:
            work = self.device.running.copy()
            self.st = work
            try:
                out = fn()
            finally:
                self.st = self.device.running
            self.device.running = work
            self.st = work
            return out

    def parse(self, cmd: str) -> tuple[Match | ParseFailure, str | None]:
        first = self.grammar(self.grammar_key()).parse(cmd, self)
        if isinstance(first, Match):
            return first, None
        # Not a command of this sub-mode: the enclosing mode gets a go. When neither knows it,
        # the error is reported where parsing got furthest, as the devices do.
        best = first
        parent = self.PARENT.get(self.mode)
        while parent is not None:
            r = self.grammar(parent).parse(cmd, self)
            if isinstance(r, Match):
                return r, parent
            if r.pos > best.pos:
                best = r
            parent = self.PARENT.get(parent)
        return best, None

    def _split_pipe(self, line: str):
        m = re.match(r"^(.*?\S)\s+\|\s+(\S+)\s+(.*\S)\s*$", line)
        if not m:
            return line, None
        word = m.group(2).lower()
        kinds = [k for k in self.PIPE_FILTERS if k.startswith(word)]
        if len(kinds) != 1:
            return line, None
        try:
            rx = re.compile(m.group(3))
        except re.error:
            return line, None
        kind = kinds[0]
        if kind == "include":
            return m.group(1), lambda ln: bool(rx.search(ln))
        if kind == "exclude":
            return m.group(1), lambda ln: not rx.search(ln)
        started = [False]

        def begin(ln: str) -> bool:
            started[0] = started[0] or bool(rx.search(ln))
            return started[0]
        return m.group(1), begin

    def ask(self, prompt: str, answer: Callable[[str], list[str]]) -> None:
        """The next line received is the answer to `prompt` instead of a command."""
        self.pending = _Pending(prompt, answer)

    def reject_lines(self, line: str) -> list[str]:
        """The error a line gets when a `reject` fault refuses it: unknown at its first word."""
        toks = tokenize(line)
        return self.failure_lines(ParseFailure(UNRECOGNIZED, toks[0].start if toks else 0,
                                               toks[0].text if toks else ""), line)

    # ---- loading config text (control endpoint, tests) ------------------------------------------
    def load(self, text: str) -> list[str]:
        """Apply a whole configuration (as `show running-config` prints it) on top of the
        current state; returns the lines that were refused, each with the reason."""
        self.mode, self.ctx = self.CONFIG_ENTRY_MODE, None
        problems: list[str] = []
        for raw in text.splitlines():
            line = raw.rstrip()
            if self.skip_when_loading(line):
                continue
            out = self.execute(line.strip())
            errors = [o for o in out if self.is_error(o)]
            if errors:
                problems.append(f"{line.strip()}: {errors[-1].strip()}")
            if not self.in_config():
                self.mode, self.ctx = self.CONFIG_ENTRY_MODE, None
        return problems

    def skip_when_loading(self, line: str) -> bool:
        return not line.strip()

    def is_error(self, line: str) -> bool:
        return False


def format_caret(prompt: str, pos: int) -> str:
    return " " * (len(prompt) + pos) + "^"
