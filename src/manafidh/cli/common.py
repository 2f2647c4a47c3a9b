"""Shared helpers of the command line: the container and one-line errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console

from manafidh.bootstrap import Container, bootstrap
from manafidh.config import get_settings
from manafidh.domain.errors import DomainError

console = Console()
err = Console(stderr=True)


def container() -> Container:
    """The container for the configured database."""
    return bootstrap(get_settings())


@contextmanager
def one_line_errors() -> Iterator[None]:
    """Turn a domain error into a one-line reason and exit code 2."""
    try:
        yield
    except DomainError as exc:
        err.print(
            f"[red]error:[/red] {exc.message}" + (f" {exc.details}" if exc.details else ""),
            highlight=False,
        )
        raise typer.Exit(2) from None
