"""``manafidh audit``: the key, signed tree heads, verification and proofs."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from sqlalchemy.exc import OperationalError, ProgrammingError

from manafidh.adapters import audit_keys
from manafidh.cli.common import container, one_line_errors
from manafidh.config import get_settings
from manafidh.domain.audit.tree_head import TreeHead
from manafidh.domain.errors import NotFound, ValidationFailed
from manafidh.services import audit

app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


@contextmanager
def _database() -> Iterator[None]:
    """A missing schema is a one-line error, not a traceback."""
    try:
        yield
    except (OperationalError, ProgrammingError) as exc:
        raise ValidationFailed(
            f"database not ready ({type(exc.orig).__name__}): run `manafidh db upgrade` first"
        ) from None


def _write(data: dict[str, Any], output: Path | None) -> None:
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"written to {output}")


@app.command("init-key")
def init_key() -> None:
    """Create the deployment's Ed25519 audit key (MANAFIDH_AUDIT_KEY_FILE) if it is missing."""
    path = get_settings().audit_key_file
    with one_line_errors():
        try:
            keys, created = audit_keys.create(path)
        except audit_keys.AuditKeyError as exc:
            raise ValidationFailed(str(exc)) from None
    typer.echo(f"{'created' if created else 'already there:'} {path} (key id {keys.key_id})")


@app.command("public-key")
def public_key() -> None:
    """Print the public key that verifies tree heads (PEM)."""
    typer.echo(container().audit_keys.public_key_pem(), nl=False)


@app.command("checkpoint")
def checkpoint() -> None:
    """Sign a tree head for the log as it stands now."""
    c = container()
    with one_line_errors(), _database(), c.uow() as uow:
        head = audit.checkpoint(uow=uow)
    typer.echo(
        f"signed tree head: size {head.tree_size}, root {head.root_hash.hex()}, {head.timestamp}"
    )


@app.command("verify")
def verify(
    heads: Path | None = typer.Option(
        None, help="Tree heads a witness kept (from export-heads), checked too"
    ),
    records: bool = typer.Option(
        True, help="Also check payments, lanes, masses... against entries"
    ),
    workers: int = typer.Option(os.cpu_count() or 1, help="Processes that check the log"),
) -> None:
    """Recompute the log and check it; exit 1 and list the findings when anything is wrong."""
    c = container()
    with one_line_errors(), _database():
        witness = _read_heads(heads) if heads else []
        with c.uow(readonly=True) as uow:
            report = audit.verify_log(
                uow=uow,
                keys=c.audit_keys,
                witness_heads=witness,
                records=records,
                workers=workers,
            )
    typer.echo(f"{report.summary()} in {report.seconds:.2f} s")
    for finding in report.findings:
        typer.echo(f"  {finding.line()}")
    if not report.ok:
        raise typer.Exit(1)


def _read_heads(path: Path) -> list[TreeHead]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [TreeHead.from_json(h) for h in data["tree_heads"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValidationFailed(f"cannot read tree heads from {path}: {exc}") from None


@app.command("prove")
def prove(
    index: int = typer.Argument(..., min=0, help="Index of the entry"),
    size: int | None = typer.Option(None, min=1, help="Size of a signed tree head"),
    output: Path | None = typer.Option(None, help="Write the proof here instead of stdout"),
) -> None:
    """Print the inclusion proof of an entry (JSON), signing a tree head first if needed."""
    c = container()
    with one_line_errors(), _database():
        try:
            with c.uow(readonly=True) as uow:
                proof = audit.prove(uow=uow, keys=c.audit_keys, index=index, size=size)
        except NotFound:
            if size is not None:
                raise
            with c.uow() as uow:
                audit.checkpoint(uow=uow)
            with c.uow(readonly=True) as uow:
                proof = audit.prove(uow=uow, keys=c.audit_keys, index=index)
    _write(proof.as_json(), output)


@app.command("consistency")
def consistency(
    first: int = typer.Argument(..., min=1, help="Size of the older signed tree head"),
    second: int = typer.Argument(..., min=1, help="Size of the newer signed tree head"),
    output: Path | None = typer.Option(None, help="Write the proof here instead of stdout"),
) -> None:
    """Print the proof that one signed tree head extends another (JSON)."""
    c = container()
    with one_line_errors(), _database(), c.uow(readonly=True) as uow:
        proof = audit.consistency(uow=uow, keys=c.audit_keys, first=first, second=second)
    _write(proof.as_json(), output)


@app.command("export-heads")
def export_heads(
    output: Path | None = typer.Option(None, help="Write the heads here instead of stdout"),
) -> None:
    """Write every signed tree head and the public key as JSON, for outside witnesses."""
    c = container()
    with one_line_errors(), _database(), c.uow(readonly=True) as uow:
        data = audit.export_heads(uow=uow, keys=c.audit_keys)
    _write(data, output)
