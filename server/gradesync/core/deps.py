"""FastAPI dependencies for the app's shared resources (``Annotated`` aliases)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from gradesync.core.crypto import SecretBox
from gradesync.core.db import Database
from gradesync.core.settings import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_database(request: Request) -> Database:
    return request.app.state.db


def get_secret_box(request: Request) -> SecretBox:
    return request.app.state.secret_box


def get_session(db: Annotated[Database, Depends(get_database)]) -> Iterator[Session]:
    """A read session for the request (a service opens its own write session)."""
    with db.read_session() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
SecretBoxDep = Annotated[SecretBox, Depends(get_secret_box)]
SessionDep = Annotated[Session, Depends(get_session)]
