"""Investment projects and their implementation reports."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, insert, select

from manafidh.adapters.db import tables as t
from manafidh.domain.tariff.investment import (
    ApprovedGoods,
    ImplementationReport,
    InvestmentProject,
)


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


class SqlInvestmentRepository:
    """Projects, reports, and what their exemptions relieved."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _project(self, r: Any) -> InvestmentProject:
        c = t.investment_reports.c
        reports = tuple(
            ImplementationReport(x.reported_on, x.rate_percent, x.source)
            for x in self.conn.execute(
                select(c.reported_on, c.rate_percent, c.source)
                .where(c.project_id == r.id)
                .order_by(c.reported_on, c.id)
            )
        )
        return InvestmentProject(
            licence_number=r.licence_number,
            name=r.name,
            sector=r.sector,
            tax_id=r.tax_id,
            approved_on=r.approved_on,
            window_from=r.window_from,
            window_to=r.window_to,
            goods=tuple(
                ApprovedGoods(g["code"], _dec(g["max_kg"]), _dec(g["max_value_iqd"]))
                for g in r.goods
            ),
            reports=reports,
        )

    def add(self, p: InvestmentProject, exemption_reference: str) -> None:
        """Store a project."""
        self.conn.execute(
            insert(t.investment_projects).values(
                licence_number=p.licence_number,
                name=p.name,
                sector=p.sector,
                tax_id=p.tax_id,
                approved_on=p.approved_on,
                window_from=p.window_from,
                window_to=p.window_to,
                goods=[
                    {
                        "code": g.code,
                        "max_kg": None if g.max_kg is None else str(g.max_kg),
                        "max_value_iqd": None if g.max_value_iqd is None else str(g.max_value_iqd),
                    }
                    for g in p.goods
                ],
                exemption_reference=exemption_reference,
            )
        )

    def get(self, licence_number: str) -> tuple[InvestmentProject, str] | None:
        """A project and its exemption's reference."""
        c = t.investment_projects.c
        r = self.conn.execute(
            select(t.investment_projects).where(c.licence_number == licence_number)
        ).first()
        return None if r is None else (self._project(r), r.exemption_reference)

    def all(self) -> list[tuple[InvestmentProject, str]]:
        """Every project with its exemption's reference."""
        rows = self.conn.execute(
            select(t.investment_projects).order_by(t.investment_projects.c.id)
        ).all()
        return [(self._project(r), r.exemption_reference) for r in rows]

    def add_report(
        self, licence_number: str, report: ImplementationReport, *, at: datetime, actor: str
    ) -> None:
        """Append an implementation report."""
        c = t.investment_projects.c
        project_id = self.conn.execute(
            select(c.id).where(c.licence_number == licence_number)
        ).scalar_one()
        self.conn.execute(
            insert(t.investment_reports).values(
                project_id=project_id,
                reported_on=report.reported_on,
                rate_percent=report.rate_percent,
                source=report.source,
                recorded_at=at,
                recorded_by=actor,
            )
        )

    def exempted(self, exemption_reference: str) -> list[tuple[str, Decimal, Decimal]]:
        """(code, kg, IQD value) of every current line the project's exemption relieved."""
        u, e = t.exemption_uses.c, t.exemptions.c
        rows = self.conn.execute(
            select(u.hs_code, func.sum(u.grams), func.sum(u.value_iqd))
            .join(t.exemptions, e.id == u.exemption_id)
            .where(e.reference == exemption_reference, u.released.is_(False))
            .group_by(u.hs_code)
        )
        return [(r[0], Decimal(int(r[1])) / 1000, r[2]) for r in rows]
