"""What routers get from the running controller, as FastAPI dependencies: the settings, the
ledger, the database sessions and the channel to the edges. Only this module reads the app's
state; a test swaps any of them with ``app.dependency_overrides``."""
from __future__ import annotations

import threading
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import sessionmaker

from controller.core import Core
from controller.ledger import Ledger
from controller.services.edge import EdgeChannel, NoEdge
from controller.services.quality import QualityBoard
from controller.settings import Settings


def get_core(request: Request) -> Core:
    return request.app.state.core


CoreDep = Annotated[Core, Depends(get_core)]


def get_settings(core: CoreDep) -> Settings:
    return core.settings


def get_ledger(core: CoreDep) -> Ledger:
    return core.ledger


def get_sessions(core: CoreDep) -> sessionmaker:
    return core.sessions


def get_edge(request: Request) -> EdgeChannel:
    """The link as it is now: the in-process link is replaced when it restarts, so it is looked
    up per request. No link at all (the app is not being served) reads as every edge offline."""
    return getattr(request.app.state, "wire", None) or NoEdge()


_board_lock = threading.Lock()


def get_quality_board(request: Request) -> QualityBoard:
    """The app's one board of quality reports, made on first use."""
    state = request.app.state
    with _board_lock:
        board = getattr(state, "quality_board", None)
        if board is None:
            core = state.core
            board = state.quality_board = QualityBoard(core.sessions, database_url=core.settings.database_url)
    return board


SettingsDep = Annotated[Settings, Depends(get_settings)]
LedgerDep = Annotated[Ledger, Depends(get_ledger)]
SessionsDep = Annotated[sessionmaker, Depends(get_sessions)]
EdgeDep = Annotated[EdgeChannel, Depends(get_edge)]
QualityBoardDep = Annotated[QualityBoard, Depends(get_quality_board)]
