"""FastAPI dependencies: the container, the unit of work, the authenticated user."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from manafidh.adapters.db.uow import SqlUnitOfWork
from manafidh.bootstrap import Container
from manafidh.domain.errors import Unauthenticated
from manafidh.domain.identity import User
from manafidh.services import identity

SESSION_COOKIE = "manafidh_session"
bearer = HTTPBearer(auto_error=False, description="API token or session token")


def container(request: Request) -> Container:
    """The app's container."""
    c: Container = request.app.state.container
    return c


# Requests that only read get a read-only unit of work: no writer lock on SQLite (many pages
# can be read while a declaration is being lodged), no row locks on PostgreSQL.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def uow(request: Request, c: Annotated[Container, Depends(container)]) -> Iterator[SqlUnitOfWork]:
    """A unit of work for the request (rolled back unless a service commits)."""
    with c.uow(readonly=request.method in SAFE_METHODS) as unit:
        yield unit


def current_user(
    request: Request,
    unit: Annotated[SqlUnitOfWork, Depends(uow)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User:
    """The user of a bearer token or of the session cookie, read in the request's transaction."""
    token = credentials.credentials if credentials else request.cookies.get(SESSION_COOKIE)
    if not token:
        raise Unauthenticated("sign in or send an API token")
    return identity.authenticate(uow=unit, token=token)


ContainerDep = Annotated[Container, Depends(container)]
UowDep = Annotated[SqlUnitOfWork, Depends(uow)]
UserDep = Annotated[User, Depends(current_user)]
