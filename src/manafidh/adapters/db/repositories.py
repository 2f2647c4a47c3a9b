"""SQL repositories: explicit Core statements that turn rows into domain objects and back."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Row, and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from manafidh.adapters.db import driver_reads, version_cache
from manafidh.adapters.db import tables as t
from manafidh.adapters.db.generation import ReferenceGeneration, database_key
from manafidh.adapters.db.write_queue import later
from manafidh.domain.alarms import Alarm, AlarmKind, Severity
from manafidh.domain.declarations.model import (
    ITEM_FIELDS,
    Content,
    Declaration,
    Item,
    Lane,
    Regime,
    Transition,
    Version,
)
from manafidh.domain.declarations.states import Action, State
from manafidh.domain.devices.gate import ExitRecord, normalise_plate
from manafidh.domain.identity import ApiToken, Role, User
from manafidh.domain.parameters import Parameters, ParameterValue
from manafidh.domain.payments.orders import OrderState, Payment, PaymentOrder
from manafidh.domain.reference import (
    Country,
    Crossing,
    Currency,
    ExchangeRate,
    HsCode,
    Region,
)
from manafidh.domain.risk.lanes import LaneDecision, LaneRule
from manafidh.domain.tariff.assessment import Assessment, AssessmentLine
from manafidh.domain.tariff.rates import TariffRate, TariffSchedule
from manafidh.domain.validity import applies_on


class SqlReferenceRepository:
    """Reference data tables."""

    def __init__(self, conn: Connection, generation: ReferenceGeneration | None = None) -> None:
        self.conn = conn
        self.generation = generation or ReferenceGeneration(conn)

    def _cached(self, kind: str, build: Any) -> Any:
        return self.generation.cached(kind, build)

    def crossing(self, code: str) -> Crossing | None:
        return next((c for c in self.crossings() if c.code == code), None)

    def crossings(self) -> list[Crossing]:
        def build() -> list[Crossing]:
            rows = self.conn.execute(select(t.crossings).order_by(t.crossings.c.code))
            return [_crossing(r) for r in rows]

        result: list[Crossing] = self._cached("crossings", build)
        return result

    def unknown_hs_codes(self, codes: Iterable[str]) -> set[str]:
        known = self._code_set("hs_codes", t.hs_codes.c.code)
        return {c for c in codes if c[:6] not in known}

    def hs_lines(self) -> list[HsCode]:
        def build() -> list[HsCode]:
            rows = self.conn.execute(select(t.hs_codes).order_by(t.hs_codes.c.code))
            return [HsCode(r.code, r.description, r.parent, r.level, r.section) for r in rows]

        result: list[HsCode] = self._cached("hs_lines", build)
        return result

    def unknown_countries(self, codes: Iterable[str]) -> set[str]:
        return set(codes) - self._code_set("countries", t.countries.c.alpha2)

    def _code_set(self, kind: str, column: Any) -> frozenset[str]:
        def build() -> frozenset[str]:
            return frozenset(r[0] for r in self.conn.execute(select(column)))

        result: frozenset[str] = self._cached(kind, build)
        return result

    def currency(self, code: str) -> Currency | None:
        def build() -> dict[str, Currency]:
            rows = self.conn.execute(select(t.currencies))
            return {r.code: Currency(r.code, r.numeric, r.name, r.minor_unit) for r in rows}

        by_code: dict[str, Currency] = self._cached("currencies", build)
        return by_code.get(code)

    def exchange_rate(self, currency: str, day: date) -> ExchangeRate | None:
        def build() -> dict[str, list[ExchangeRate]]:
            by_currency: dict[str, list[ExchangeRate]] = {}
            for r in self.conn.execute(select(t.exchange_rates)):
                by_currency.setdefault(r.currency, []).append(
                    ExchangeRate(r.currency, r.valid_from, r.valid_to, r.iqd_per_unit, r.source)
                )
            return by_currency

        rates: dict[str, list[ExchangeRate]] = self._cached("exchange_rates", build)
        return next((r for r in rates.get(currency, ()) if applies_on(r, day)), None)

    def exchange_rates(self, currency: str) -> list[ExchangeRate]:
        c = t.exchange_rates.c
        rows = self.conn.execute(
            select(t.exchange_rates).where(c.currency == currency).order_by(c.valid_from)
        )
        return [
            ExchangeRate(r.currency, r.valid_from, r.valid_to, r.iqd_per_unit, r.source)
            for r in rows
        ]

    def tariff_schedule(self) -> TariffSchedule:
        def build() -> TariffSchedule:
            rows = self.conn.execute(select(t.tariff_rates))
            return TariffSchedule(
                TariffRate(
                    r.id, r.code_prefix, r.rate_percent, r.valid_from, r.valid_to, r.legal_reference
                )
                for r in rows
            )

        result: TariffSchedule = self._cached("tariff", build)
        return result

    def parameters(self) -> Parameters:
        def build() -> Parameters:
            rows = self.conn.execute(select(t.parameters))
            return Parameters(
                ParameterValue(r.name, r.valid_from, r.valid_to, r.value, r.legal_reference)
                for r in rows
            )

        result: Parameters = self._cached("parameters", build)
        return result

    def lane_rules(self) -> list[LaneRule]:
        def build() -> list[LaneRule]:
            rows = self.conn.execute(select(t.lane_rules).order_by(t.lane_rules.c.id))
            return [
                LaneRule(
                    id=r.id,
                    name=r.name,
                    lane=Lane(r.lane),
                    valid_from=r.valid_from,
                    valid_to=r.valid_to,
                    hs_prefix=r.hs_prefix,
                    origin_country=r.origin_country,
                    crossing_code=r.crossing_code,
                    importer_tax_id=r.importer_tax_id,
                    min_customs_value_iqd=r.min_customs_value_iqd,
                    declarant_id=r.declarant_id,
                    valuation_flag=r.valuation_flag,
                    weight_mismatch=r.weight_mismatch,
                    exemption_use=r.exemption_use,
                    hour_from=r.hour_from,
                    hour_to=r.hour_to,
                    first_declarations=r.first_declarations,
                    score_weight=r.score_weight,
                )
                for r in rows
            ]

        result: list[LaneRule] = self._cached("lane_rules", build)
        return result

    def replace_all(
        self,
        *,
        sections: Sequence[tuple[str, str]],
        hs_codes: Sequence[HsCode],
        countries: Sequence[Country],
        currencies: Sequence[Currency],
        crossings: Sequence[Crossing],
    ) -> None:
        """Upsert the static reference tables (rows not in the new set are kept)."""
        self._upsert(t.hs_sections, "section", [{"section": s, "name": n} for s, n in sections])
        self._upsert(
            t.hs_codes,
            "code",
            [
                {
                    "code": h.code,
                    "description": h.description,
                    "parent": h.parent,
                    "level": h.level,
                    "section": h.section,
                }
                for h in hs_codes
            ],
        )
        self._upsert(t.countries, "alpha2", [vars(c) for c in countries])
        self._upsert(t.currencies, "code", [vars(c) for c in currencies])
        self._upsert(
            t.crossings, "code", [{**vars(c), "region": c.region.value} for c in crossings]
        )
        self.generation.bump()

    def _upsert(self, table: Any, key: str, rows: list[dict[str, Any]]) -> None:
        existing = {r[0] for r in self.conn.execute(select(table.c[key]))}
        new = [r for r in rows if r[key] not in existing]
        old = [r for r in rows if r[key] in existing]
        if new:
            self.conn.execute(insert(table), new)
        for r in old:
            self.conn.execute(update(table).where(table.c[key] == r[key]).values(**r))

    def put_exchange_rates(self, rates: Sequence[ExchangeRate]) -> int:
        """Insert rates not yet stored (same currency and start date); return how many."""
        c = t.exchange_rates.c
        have = {
            (r.currency, r.valid_from) for r in self.conn.execute(select(c.currency, c.valid_from))
        }
        rows = [vars(r) for r in rates if (r.currency, r.valid_from) not in have]
        if rows:
            self.conn.execute(insert(t.exchange_rates), rows)
            self.generation.bump()
        return len(rows)

    def put_tariff_rates(self, rates: Sequence[TariffRate]) -> int:
        c = t.tariff_rates.c
        have = {
            (r.code_prefix, r.valid_from)
            for r in self.conn.execute(select(c.code_prefix, c.valid_from))
        }
        rows = [
            {k: v for k, v in vars(r).items() if k != "id"}
            for r in rates
            if (r.code_prefix, r.valid_from) not in have
        ]
        if rows:
            self.conn.execute(insert(t.tariff_rates), rows)
            self.generation.bump()
        return len(rows)

    def put_parameters(self, values: Sequence[ParameterValue]) -> int:
        c = t.parameters.c
        have = {(r.name, r.valid_from) for r in self.conn.execute(select(c.name, c.valid_from))}
        rows = [vars(v) for v in values if (v.name, v.valid_from) not in have]
        if rows:
            self.conn.execute(insert(t.parameters), rows)
            self.generation.bump()
        return len(rows)

    def add_lane_rule(self, rule: LaneRule, *, actor: str, reason: str, at: datetime) -> int:
        values = {k: v for k, v in vars(rule).items() if k != "id"}
        values["lane"] = rule.lane.value
        result = self.conn.execute(
            insert(t.lane_rules).values(**values, created_by=actor, created_at=at, reason=reason)
        )
        self.generation.bump()
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def counts(self) -> dict[str, int]:
        tables = {
            "hs_codes": t.hs_codes,
            "countries": t.countries,
            "currencies": t.currencies,
            "crossings": t.crossings,
            "exchange_rates": t.exchange_rates,
            "tariff_rates": t.tariff_rates,
            "parameters": t.parameters,
            "lane_rules": t.lane_rules,
        }
        return {
            name: int(self.conn.execute(select(func.count()).select_from(tbl)).scalar() or 0)
            for name, tbl in tables.items()
        }


def _declaration(
    r: Row[Any], versions: list[Version], transitions: list[Transition]
) -> Declaration:
    return Declaration(
        id=r.id,
        reference=r.reference,
        crossing_code=r.crossing_code,
        declarant_id=r.declarant_id,
        created_at=r.created_at,
        state=State(r.state),
        lane=Lane(r.lane) if r.lane else None,
        lodged_at=r.lodged_at,
        acceptance_date=r.acceptance_date,
        checks_done=r.checks_done,
        settled=r.settled,
        finding_open=r.finding_open,
        held_from=State(r.held_from) if r.held_from else None,
        versions=versions,
        transitions=transitions,
    )


def _version(m: Mapping[str, Any], items: list[Item], p: str) -> Version:
    """A version from a row's mapping whose version columns are named ``p`` + column."""
    content = Content(
        regime=Regime(m[p + "regime"]),
        importer_name=m[p + "importer_name"],
        importer_tax_id=m[p + "importer_tax_id"],
        exporter_name=m[p + "exporter_name"],
        vehicle_plates=list(m[p + "vehicle_plates"]),
        trailer_plate=m[p + "trailer_plate"],
        driver_name=m[p + "driver_name"],
        driver_document=m[p + "driver_document"],
        dispatch_country=m[p + "dispatch_country"],
        origin_country=m[p + "origin_country"],
        invoice_currency=m[p + "invoice_currency"],
        freight=m[p + "freight"],
        insurance=m[p + "insurance"],
        items=items,
    )
    return Version(
        m[p + "number"], content, m[p + "created_at"], m[p + "created_by"], m[p + "reason"]
    )


def _crossing(r: Row[Any]) -> Crossing:
    return Crossing(
        code=r.code,
        name_en=r.name_en,
        name_ar=r.name_ar,
        name_ckb=r.name_ckb,
        governorate_en=r.governorate_en,
        governorate_ar=r.governorate_ar,
        governorate_ckb=r.governorate_ckb,
        partner_name_en=r.partner_name_en,
        partner_country=r.partner_country,
        region=Region(r.region),
        authority=r.authority,
    )


# -- declarations -----------------------------------------------------------------------------
_VERSION_FIELDS = (
    "regime",
    "importer_name",
    "importer_tax_id",
    "exporter_name",
    "vehicle_plates",
    "trailer_plate",
    "driver_name",
    "driver_document",
    "dispatch_country",
    "origin_country",
    "invoice_currency",
    "freight",
    "insurance",
)


_d = t.declarations.c
_INSERT_DECLARATION = insert(t.declarations)
_UPDATE_DECLARATION = update(t.declarations).where(_d.id == bindparam("key"))
_v = t.declaration_versions.c
_i = t.declaration_items.c
# A declaration with all its versions and their items, in one statement: the declaration's
# columns, then the version's (prefixed "v_") and the item's ("i_"), a row per item.
_FULL = (
    select(
        t.declarations,
        *[c.label(f"v_{c.name}") for c in t.declaration_versions.c],
        *[c.label(f"i_{c.name}") for c in t.declaration_items.c],
    )
    .select_from(
        t.declarations.join(t.declaration_versions, _v.declaration_id == _d.id).outerjoin(
            t.declaration_items, _i.version_id == _v.id
        )
    )
    .order_by(_d.id, _v.number, _i.line_no)
)
_BY_ID = _FULL.where(_d.id == bindparam("key"))
_BY_REFERENCE = _FULL.where(_d.reference == bindparam("key"))
_BY_KEY = _FULL.where(or_(_d.id == bindparam("key"), _d.reference == bindparam("key")))
# Only the declaration's row is locked (PostgreSQL refuses FOR UPDATE on an outer join's side).
_LOCKED = {q: q.with_for_update(of=t.declarations) for q in (_BY_ID, _BY_REFERENCE, _BY_KEY)}
_RELEASED_FOR_PLATE = _FULL.where(
    _d.crossing_code == bindparam("crossing"),
    _d.plate == bindparam("plate"),
    _d.state == "released",
)
_FULL_BY_IDS = _FULL.where(_d.id.in_(bindparam("ids", expanding=True)))
# The declaration's row alone, for a declaration whose versions this process keeps (ADR 0013).
_HEAD_OF = {
    full: select(t.declarations).where(full.whereclause)
    for full in (_BY_ID, _BY_REFERENCE, _BY_KEY, _RELEASED_FOR_PLATE)
}
_LOCKED_HEAD = {q: q.with_for_update() for q in _HEAD_OF.values()}
_INSERT_VERSION = insert(t.declaration_versions).returning(t.declaration_versions.c.id)
# Queued writes (write_queue.later) are inline: no RETURNING of the new row's id.
_INSERT_ITEM = insert(t.declaration_items).inline()
_INSERT_TRANSITION = insert(t.declaration_transitions).inline()
_TRANSITIONS_OF = (
    select(t.declaration_transitions)
    .where(t.declaration_transitions.c.declaration_id == bindparam("id"))
    .order_by(t.declaration_transitions.c.id)
)
_VERSIONS_OF = (
    select(t.declaration_versions)
    .where(t.declaration_versions.c.declaration_id.in_(bindparam("ids", expanding=True)))
    .order_by(t.declaration_versions.c.number)
)
_ITEMS_OF = (
    select(t.declaration_items)
    .where(t.declaration_items.c.version_id.in_(bindparam("ids", expanding=True)))
    .order_by(t.declaration_items.c.version_id, t.declaration_items.c.line_no)
)
_INSERT_ASSESSMENT = insert(t.assessments).inline()
_INSERT_ASSESSMENT_LINE = insert(t.assessment_lines).inline()
_INSERT_LANE_DECISION = insert(t.lane_decisions).inline()
_INSERT_CHECK = insert(t.checks).inline()
_USER_BY_ID = select(t.users).where(t.users.c.id == bindparam("key"))
_TOKEN = select(t.api_tokens).where(t.api_tokens.c.token_hash == bindparam("key"))
# Every request authenticates: the token and its holder in one statement, not two.
_TOKEN_HOLDER = (
    select(*t.api_tokens.c, *(c.label(f"holder_{c.name}") for c in t.users.c))
    .join(t.users, t.users.c.id == t.api_tokens.c.user_id)
    .where(t.api_tokens.c.token_hash == bindparam("key"))
)
_NEXT_NUMBER = (
    update(t.counters)
    .where(t.counters.c.name == bindparam("counter"))
    .values(value=t.counters.c.value + 1)
    .returning(t.counters.c.value)
)


class SqlDeclarationRepository:
    """Declarations: the row, its immutable versions with items, and its transitions."""

    def __init__(self, conn: Connection, *, lock: bool = True) -> None:
        self.conn = conn
        # In a writing unit of work, loading a declaration locks its row (PostgreSQL FOR UPDATE;
        # SQLite writers are already serialised by BEGIN IMMEDIATE), so two officers acting at
        # once cannot both move it from the same state.
        self.lock = lock and conn.dialect.name == "postgresql"
        # How many versions/transitions each loaded declaration had, to insert only new ones.
        self._seen: dict[str, tuple[int, int]] = {}
        self._database = database_key(conn.engine)  # its key in the version cache

    def add(self, declaration: Declaration) -> None:
        later(self.conn, _INSERT_DECLARATION, self._row(declaration))
        self._seen[declaration.id] = (0, 0)
        self._append(declaration)

    def save(self, declaration: Declaration) -> None:
        row = self._row(declaration)
        del row["id"], row["created_at"], row["reference"], row["declarant_id"]
        seen_transitions = self._seen.get(declaration.id, (0, 0))[1]
        if len(declaration.transitions) == seen_transitions:
            del row["updated_at"]  # nothing happened that moves the declaration in time
        # The SET clause is taken from the parameter names; the key is bound as "key".
        later(self.conn, _UPDATE_DECLARATION, {**row, "key": declaration.id})
        self._append(declaration)

    def _row(self, d: Declaration) -> dict[str, Any]:
        return {
            "id": d.id,
            "reference": d.reference,
            "crossing_code": d.crossing_code,
            "declarant_id": d.declarant_id,
            "regime": d.content.regime.value,
            "state": d.state.value,
            "lane": d.lane.value if d.lane else None,
            "created_at": d.created_at,
            "lodged_at": d.lodged_at,
            "acceptance_date": d.acceptance_date,
            "checks_done": d.checks_done,
            "settled": d.settled,
            "finding_open": d.finding_open,
            "held_from": d.held_from.value if d.held_from else None,
            "version_count": len(d.versions),
            "plate": normalise_plate(d.content.vehicle_plates[0]),
            "updated_at": d.transitions[-1].at if d.transitions else d.created_at,
        }

    def _append(self, d: Declaration) -> None:
        n_versions, n_transitions = self._seen.get(d.id, (0, 0))
        for version in d.versions[n_versions:]:
            values: dict[str, Any] = {f: getattr(version.content, f) for f in _VERSION_FIELDS}
            values["regime"] = version.content.regime.value
            values.update(
                declaration_id=d.id,
                number=version.number,
                created_at=version.created_at,
                created_by=version.created_by,
                reason=version.reason,
            )
            version_id = self.conn.execute(_INSERT_VERSION, values).scalar_one()
            later(
                self.conn,
                _INSERT_ITEM,
                [
                    {"version_id": version_id, **{f: getattr(i, f) for f in ITEM_FIELDS}}
                    for i in version.content.items
                ],
            )
        new_transitions = d.transitions[n_transitions:]
        if new_transitions:
            later(
                self.conn,
                _INSERT_TRANSITION,
                [
                    {
                        "declaration_id": d.id,
                        "at": tr.at,
                        "actor": tr.actor,
                        "action": tr.action.value,
                        "from_state": tr.from_state.value,
                        "to_state": tr.to_state.value,
                        "reason": tr.reason,
                    }
                    for tr in new_transitions
                ],
            )
        self._seen[d.id] = (len(d.versions), len(d.transitions))

    def get(self, declaration_id: str) -> Declaration | None:
        return self._one(_BY_ID, declaration_id)

    def get_by_reference(self, reference: str) -> Declaration | None:
        return self._one(_BY_REFERENCE, reference)

    def get_by_key(self, key: str) -> Declaration | None:
        """A declaration by its id or its reference, in one query."""
        return self._one(_BY_KEY, key)

    def _one(self, query: Any, key: str) -> Declaration | None:
        kept = version_cache.get(self._database, key)
        if kept is not None:
            head = _HEAD_OF[query]
            head = _LOCKED_HEAD[head] if self.lock else head
            row = driver_reads.first(self.conn, head, {"key": key})
            if row is None:
                return None
            if row.id == kept[0] and row.version_count == len(kept[1]):
                return self._from_kept(row, kept[1])
        if self.lock:
            query = _LOCKED[query]
        found = self._load(self.conn.execute(query, {"key": key}))
        return found[0] if found else None

    def _from_kept(self, row: Row[Any], versions: tuple[Version, ...]) -> Declaration:
        """A declaration from its own row and the versions this process keeps of it."""
        d = _declaration(row, list(versions), [])
        self._seen[d.id] = (len(versions), 0)
        return d

    def _keep(self, d: Declaration) -> None:
        # Only versions read back from the database: what a use case wrote may differ in form
        # (10.50 kg as typed, 10.5 as stored), and every process must show the stored form.
        version_cache.keep(self._database, d.id, d.reference, d.versions)

    def _load(self, rows: Iterable[Row[Any]]) -> list[Declaration]:
        """Declarations from the rows of a ``_FULL`` query (a row per item, in order)."""
        out: list[Declaration] = []
        items: list[Item] = []
        decl: Row[Any] | None = None
        version: Row[Any] | None = None
        versions: list[Version] = []

        def close_version() -> None:
            if version is not None:
                versions.append(_version(version._mapping, items, "v_"))

        def close_declaration() -> None:
            if decl is not None:
                d = _declaration(decl, versions, [])
                # Versions and transitions are append-only: save() inserts only what is new.
                self._seen[d.id] = (len(versions), 0)
                self._keep(d)
                out.append(d)

        for r in rows:
            if decl is None or r.id != decl.id:
                close_version()
                close_declaration()
                decl, version, versions, items = r, r, [], []
            elif r.v_id != version.v_id:  # type: ignore[union-attr]
                close_version()
                version, items = r, []
            if r.i_id is not None:
                m = r._mapping
                items.append(Item(**{f: m[f"i_{f}"] for f in ITEM_FIELDS}))
        close_version()
        close_declaration()
        return out

    def transitions(self, declaration_id: str) -> list[Transition]:
        """The full recorded history of a declaration's lifecycle, oldest first."""
        rows = self.conn.execute(_TRANSITIONS_OF, {"id": declaration_id})
        return [
            Transition(
                r.at, r.actor, Action(r.action), State(r.from_state), State(r.to_state), r.reason
            )
            for r in rows
        ]

    def _versions(self, ids: Sequence[str]) -> dict[str, list[Version]]:
        vrows = self.conn.execute(_VERSIONS_OF, {"ids": list(ids)}).all()
        items: dict[int, list[Item]] = {}
        if vrows:
            for r in self.conn.execute(_ITEMS_OF, {"ids": [v.id for v in vrows]}):
                items.setdefault(r.version_id, []).append(
                    Item(**{f: getattr(r, f) for f in ITEM_FIELDS})
                )
        out: dict[str, list[Version]] = {i: [] for i in ids}
        for v in vrows:
            out[v.declaration_id].append(_version(v._mapping, items.get(v.id, []), ""))
        return out

    def released_for_plate(self, crossing_code: str, plate: str) -> list[Declaration]:
        params = {"crossing": crossing_code, "plate": normalise_plate(plate)}
        head = _HEAD_OF[_RELEASED_FOR_PLATE]
        rows = driver_reads.rows(self.conn, _LOCKED_HEAD[head] if self.lock else head, params)
        out: list[Declaration] = []
        missing: list[str] = []
        for row in rows:
            kept = version_cache.get(self._database, row.id)
            if kept is not None and row.version_count == len(kept[1]):
                out.append(self._from_kept(row, kept[1]))
            else:
                missing.append(row.id)
        if missing:  # rows already locked above
            out += self._load(self.conn.execute(_FULL_BY_IDS, {"ids": missing}))
        return sorted(out, key=lambda d: d.id)

    def search(
        self,
        *,
        crossing_codes: Sequence[str] | None,
        declarant_id: str | None,
        state: str | None,
        limit: int,
        offset: int,
    ) -> list[Declaration]:
        c = t.declarations.c
        q = select(t.declarations)
        if crossing_codes is not None:
            q = q.where(c.crossing_code.in_(crossing_codes))
        if declarant_id is not None:
            q = q.where(c.declarant_id == declarant_id)
        if state is not None:
            q = q.where(c.state == state)
        rows = self.conn.execute(
            q.order_by(c.created_at.desc(), c.id).limit(limit).offset(offset)
        ).all()
        versions = self._versions([r.id for r in rows])
        # Listings carry no history: they are read-only summaries, never saved back.
        return [_declaration(r, versions[r.id], []) for r in rows]

    # -- assessments, lanes, checks --
    def add_assessment(self, assessment: Assessment, crossing_code: str) -> None:
        values = {k: v for k, v in vars(assessment).items() if k != "lines"}
        later(self.conn, _INSERT_ASSESSMENT, {**values, "crossing_code": crossing_code})
        later(
            self.conn,
            _INSERT_ASSESSMENT_LINE,
            [{"assessment_id": assessment.id, **vars(line)} for line in assessment.lines],
        )

    def latest_assessment(self, declaration_id: str) -> Assessment | None:
        c = t.assessments.c
        row = self.conn.execute(
            select(t.assessments)
            .where(c.declaration_id == declaration_id)
            .order_by(c.version_number.desc(), c.assessed_at.desc())
            .limit(1)
        ).first()
        if row is None:
            return None
        lc = t.assessment_lines.c
        lines = [
            AssessmentLine(**{k: getattr(r, k) for k in AssessmentLine.__dataclass_fields__})
            for r in self.conn.execute(
                select(t.assessment_lines).where(lc.assessment_id == row.id).order_by(lc.line_no)
            )
        ]
        fields = {k: getattr(row, k) for k in Assessment.__dataclass_fields__ if k != "lines"}
        return Assessment(**fields, lines=lines)

    def add_lane_decision(self, declaration_id: str, decision: LaneDecision, at: datetime) -> None:
        later(
            self.conn,
            _INSERT_LANE_DECISION,
            {
                "declaration_id": declaration_id,
                "decided_at": at,
                "lane": decision.lane.value,
                "reasons": decision.reasons,
                "matched_rule_ids": decision.matched_rule_ids,
                "random_draw": decision.random_draw,
                "random_rate": decision.random_rate,
                "random_selected": decision.random_selected,
            },
        )

    def lane_decision(self, declaration_id: str) -> dict[str, Any] | None:
        c = t.lane_decisions.c
        row = self.conn.execute(
            select(t.lane_decisions)
            .where(c.declaration_id == declaration_id)
            .order_by(c.id)
            .limit(1)
        ).first()
        return dict(row._mapping) if row else None

    def add_check(
        self,
        *,
        declaration_id: str,
        kind: str,
        actor: str,
        at: datetime,
        found: bool,
        fraud_kind: str | None,
        notes: str,
    ) -> None:
        later(
            self.conn,
            _INSERT_CHECK,
            {
                "declaration_id": declaration_id,
                "kind": kind,
                "actor": actor,
                "at": at,
                "found": found,
                "fraud_kind": fraud_kind,
                "notes": notes,
            },
        )

    def checks_of(self, declaration_id: str) -> list[dict[str, Any]]:
        c = t.checks.c
        rows = self.conn.execute(
            select(t.checks).where(c.declaration_id == declaration_id).order_by(c.id)
        )
        return [dict(r._mapping) for r in rows]

    def next_number(self, counter: str) -> int:
        """Atomically take the next value of a named counter (row-locked until commit)."""
        row = driver_reads.first(self.conn, _NEXT_NUMBER, {"counter": counter})
        if row is None:
            # First use of this counter: create it without racing another first use.
            self.conn.execute(_insert_ignore(t.counters, self.conn).values(name=counter, value=0))
            row = driver_reads.first(self.conn, _NEXT_NUMBER, {"counter": counter})
        return int(row.value)


def _insert_ignore(table: Any, conn: Connection) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING for the connection's dialect."""
    if conn.dialect.name == "postgresql":
        return pg_insert(table).on_conflict_do_nothing()
    return sqlite_insert(table).on_conflict_do_nothing()


class SqlUserRepository:
    """Users and tokens."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, user: User, at: datetime) -> None:
        self.conn.execute(
            insert(t.users).values(
                id=user.id,
                username=user.username,
                full_name=user.full_name,
                role=user.role.value,
                password_hash=user.password_hash,
                crossings=list(user.crossings),
                active=user.active,
                tax_id=user.tax_id,
                created_at=at,
            )
        )

    def _user(self, row: Row[Any] | None) -> User | None:
        if row is None:
            return None
        return User(
            id=row.id,
            username=row.username,
            full_name=row.full_name,
            role=Role(row.role),
            password_hash=row.password_hash,
            crossings=list(row.crossings),
            active=row.active,
            tax_id=row.tax_id,
        )

    def get(self, user_id: str) -> User | None:
        return self._user(self.conn.execute(_USER_BY_ID, {"key": user_id}).first())

    def by_username(self, username: str) -> User | None:
        return self._user(
            self.conn.execute(select(t.users).where(t.users.c.username == username)).first()
        )

    def all(self) -> list[User]:
        rows = self.conn.execute(select(t.users).order_by(t.users.c.username))
        return [u for u in (self._user(r) for r in rows) if u is not None]

    def add_token(self, token: ApiToken) -> None:
        self.conn.execute(insert(t.api_tokens).values(**vars(token)))

    def token(self, token_hash: str) -> ApiToken | None:
        row = self.conn.execute(_TOKEN, {"key": token_hash}).first()
        if row is None:
            return None
        return ApiToken(**{k: getattr(row, k) for k in ApiToken.__dataclass_fields__})

    def token_holder(self, token_hash: str) -> tuple[ApiToken, User] | None:
        """A token and the user it was issued to, in one read."""
        row = self.conn.execute(_TOKEN_HOLDER, {"key": token_hash}).first()
        if row is None:
            return None
        token = ApiToken(**{k: getattr(row, k) for k in ApiToken.__dataclass_fields__})
        m = row._mapping
        user = User(
            id=m["holder_id"],
            username=m["holder_username"],
            full_name=m["holder_full_name"],
            role=Role(m["holder_role"]),
            password_hash=m["holder_password_hash"],
            crossings=list(m["holder_crossings"]),
            active=m["holder_active"],
            tax_id=m["holder_tax_id"],
        )
        return token, user

    def revoke_token(self, token_hash: str) -> None:
        self.conn.execute(
            update(t.api_tokens).where(t.api_tokens.c.token_hash == token_hash).values(revoked=True)
        )

    def revoke_tokens_of(self, user_id: str) -> int:
        """Revoke every live token of a user; return how many."""
        c = t.api_tokens.c
        result = self.conn.execute(
            update(t.api_tokens)
            .where(c.user_id == user_id, c.revoked.is_(False))
            .values(revoked=True)
        )
        return int(result.rowcount)

    def save(self, user: User) -> None:
        """Store a user's role, crossings and whether the account is active."""
        self.conn.execute(
            update(t.users)
            .where(t.users.c.id == user.id)
            .values(role=user.role.value, crossings=list(user.crossings), active=user.active)
        )


_o = t.payment_orders.c
_INSERT_ORDER = insert(t.payment_orders)
_INSERT_PAYMENT = insert(t.payments).inline()
_UPDATE_ORDER_STATE = update(t.payment_orders).where(_o.id == bindparam("key"))
_ORDER_BY_ID = select(t.payment_orders).where(_o.id == bindparam("key"))
_ORDER_BY_REFERENCE = select(t.payment_orders).where(_o.reference == bindparam("key"))
_ORDERS_OF_DECLARATION = (
    select(t.payment_orders).where(_o.declaration_id == bindparam("key")).order_by(_o.created_at)
)
_LOCKED_ORDERS = {
    q: q.with_for_update() for q in (_ORDER_BY_ID, _ORDER_BY_REFERENCE, _ORDERS_OF_DECLARATION)
}
_PAYMENTS_OF = (
    select(t.payments)
    .where(t.payments.c.order_id.in_(bindparam("ids", expanding=True)))
    .order_by(t.payments.c.id)
)
# The usual case, one order: an IN list with one value would take SQLAlchemy's full path.
_PAYMENTS_OF_ONE = (
    select(t.payments).where(t.payments.c.order_id == bindparam("id")).order_by(t.payments.c.id)
)
_ORDER_OF_TRANSACTION = select(t.payments.c.order_id).where(
    t.payments.c.bank_transaction_id == bindparam("key")
)


class SqlPaymentRepository:
    """Payment orders and payments."""

    def __init__(self, conn: Connection, *, lock: bool = True) -> None:
        self.conn = conn
        # Orders are locked when loaded for writing, so that two partial payments arriving at
        # once both count towards settlement.
        self.lock = lock and conn.dialect.name == "postgresql"
        self._seen: dict[str, int] = {}

    def add_order(self, order: PaymentOrder) -> None:
        later(
            self.conn,
            _INSERT_ORDER,
            {
                "id": order.id,
                "reference": order.reference,
                "declaration_id": order.declaration_id,
                "amount_iqd": order.amount_iqd,
                "created_at": order.created_at,
                "state": order.state.value,
            },
        )
        self._seen[order.id] = 0

    def _orders(self, query: Any, key: str) -> list[PaymentOrder]:
        if self.lock:
            query = _LOCKED_ORDERS[query]
        rows = driver_reads.rows(self.conn, query, {"key": key})
        if not rows:
            return []
        pays: dict[str, list[Payment]] = {}
        found = (
            driver_reads.rows(self.conn, _PAYMENTS_OF_ONE, {"id": rows[0].id})
            if len(rows) == 1
            else self.conn.execute(_PAYMENTS_OF, {"ids": [r.id for r in rows]})
        )
        for p in found:
            pays.setdefault(p.order_id, []).append(
                Payment(p.bank_transaction_id, p.amount_iqd, p.paid_at, p.received_at, p.channel)
            )
        out = []
        for r in rows:
            order = PaymentOrder(
                id=r.id,
                reference=r.reference,
                declaration_id=r.declaration_id,
                amount_iqd=r.amount_iqd,
                created_at=r.created_at,
                state=OrderState(r.state),
                payments=pays.get(r.id, []),
            )
            self._seen[order.id] = len(order.payments)
            out.append(order)
        return out

    def order_by_reference(self, reference: str) -> PaymentOrder | None:
        found = self._orders(_ORDER_BY_REFERENCE, reference)
        return found[0] if found else None

    def orders_for(self, declaration_id: str) -> list[PaymentOrder]:
        return self._orders(_ORDERS_OF_DECLARATION, declaration_id)

    def order_of_transaction(self, bank_transaction_id: str) -> PaymentOrder | None:
        row = driver_reads.first(self.conn, _ORDER_OF_TRANSACTION, {"key": bank_transaction_id})
        if row is None:
            return None
        found = self._orders(_ORDER_BY_ID, row.order_id)
        return found[0] if found else None

    def save_order(self, order: PaymentOrder, crossing_code: str) -> None:
        later(self.conn, _UPDATE_ORDER_STATE, {"key": order.id, "state": order.state.value})
        new = order.payments[self._seen.get(order.id, 0) :]
        if new:
            later(
                self.conn,
                _INSERT_PAYMENT,
                [
                    {
                        "order_id": order.id,
                        "bank_transaction_id": p.bank_transaction_id,
                        "amount_iqd": p.amount_iqd,
                        "paid_at": p.paid_at,
                        "received_at": p.received_at,
                        "channel": p.channel,
                        "crossing_code": crossing_code,
                    }
                    for p in new
                ],
            )
        self._seen[order.id] = len(order.payments)


_INSERT_EXIT = insert(t.gate_exits).inline()


class SqlGateRepository:
    """Exit records and alarms."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add_exit(self, record: ExitRecord) -> None:
        later(self.conn, _INSERT_EXIT, vars(record))

    def add_alarm(self, alarm: Alarm) -> None:
        values = vars(alarm).copy()
        values["kind"] = alarm.kind.value
        values["severity"] = alarm.severity.value
        self.conn.execute(insert(t.alarms).values(**values))

    def alarms(self, crossing_codes: Sequence[str] | None, state: str | None) -> list[Alarm]:
        c = t.alarms.c
        q = select(t.alarms)
        if crossing_codes is not None:
            q = q.where(c.crossing_code.in_(crossing_codes))
        if state is not None:
            q = q.where(c.state == state)
        rows = self.conn.execute(q.order_by(c.raised_at.desc()).limit(500))
        return [
            Alarm(
                id=r.id,
                crossing_code=r.crossing_code,
                kind=AlarmKind(r.kind),
                severity=Severity(r.severity),
                raised_at=r.raised_at,
                subject=r.subject,
                message=r.message,
                details=dict(r.details),
                state=r.state,
            )
            for r in rows
        ]


class SqlReportRepository:
    """Aggregates for the dashboard."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def trucks_by_state_and_lane(
        self, day_start: datetime, day_end: datetime
    ) -> list[tuple[str, str, str | None, int]]:
        """Declarations touched in the period, per crossing, state and lane."""
        c = t.declarations.c
        active = or_(
            and_(c.updated_at >= day_start, c.updated_at < day_end),
            c.state.in_(
                [
                    s.value
                    for s in (
                        State.LODGED,
                        State.ASSESSED,
                        State.LANE_SELECTED,
                        State.INSPECTED,
                        State.PAID,
                        State.RELEASED,
                        State.HELD,
                    )
                ]
            ),
        )
        rows = self.conn.execute(
            select(c.crossing_code, c.state, c.lane, func.count())
            .where(c.state != State.DRAFT.value)
            .where(active)
            .group_by(c.crossing_code, c.state, c.lane)
        )
        return [(r[0], r[1], r[2], int(r[3])) for r in rows]

    def duty_assessed(self, day_start: datetime, day_end: datetime) -> dict[str, Decimal]:
        c = t.assessments.c
        rows = self.conn.execute(
            select(c.crossing_code, func.sum(t.assessments.c.duty_iqd))
            .where(c.assessed_at >= day_start, c.assessed_at < day_end)
            .group_by(c.crossing_code)
        )
        # SUM over a Fils column is read back through the column type: already dinars.
        return {r[0]: r[1] if r[1] is not None else Decimal("0.000") for r in rows}

    def duty_collected(self, day_start: datetime, day_end: datetime) -> dict[str, Decimal]:
        c = t.payments.c
        rows = self.conn.execute(
            select(c.crossing_code, func.sum(c.amount_iqd))
            .where(c.received_at >= day_start, c.received_at < day_end)
            .group_by(c.crossing_code)
        )
        # SUM over a Fils column is read back through the column type: already dinars.
        return {r[0]: r[1] if r[1] is not None else Decimal("0.000") for r in rows}


__all__ = [
    "SqlDeclarationRepository",
    "SqlGateRepository",
    "SqlPaymentRepository",
    "SqlReferenceRepository",
    "SqlReportRepository",
    "SqlUserRepository",
    "applies_on",
    "delete",
]
