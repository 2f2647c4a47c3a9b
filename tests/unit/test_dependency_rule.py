"""The dependency rule of STYLE.md: domain <- services <- {adapters, web, cli}."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[2] / "src" / "manafidh"
FRAMEWORKS = {
    "sqlalchemy",
    "alembic",
    "fastapi",
    "starlette",
    "pydantic",
    "pydantic_settings",
    "typer",
    "rich",
    "jinja2",
    "uvicorn",
    "psycopg",
    "httpx",
    "argon2",
    "babel",
    "cryptography",
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _modules(package: str) -> list[Path]:
    return sorted((SRC / package).rglob("*.py"))


@pytest.mark.parametrize("path", _modules("domain"), ids=lambda p: str(p.relative_to(SRC)))
def test_domain_imports_no_framework_and_no_outer_layer(path):
    for name in _imports(path):
        top = name.split(".")[0]
        assert top not in FRAMEWORKS, f"{path.name} imports {name}"
        assert not name.startswith(
            (
                "manafidh.services",
                "manafidh.adapters",
                "manafidh.web",
                "manafidh.cli",
                "manafidh.config",
                "manafidh.bootstrap",
            )
        )


@pytest.mark.parametrize("path", _modules("services"), ids=lambda p: str(p.relative_to(SRC)))
def test_services_import_only_the_domain(path):
    for name in _imports(path):
        assert name.split(".")[0] not in FRAMEWORKS, f"{path.name} imports {name}"
        assert not name.startswith(
            ("manafidh.adapters", "manafidh.web", "manafidh.cli", "manafidh.bootstrap")
        ), f"{path.name} imports {name}"


def test_only_bootstrap_wires_adapters_into_the_web_and_cli():
    for package in ("web", "cli"):
        for path in _modules(package):
            for name in _imports(path):
                assert not name.startswith("manafidh.adapters.db.repositories"), (
                    f"{path} reaches into the repositories instead of using the services"
                )
