"""The database schema (SQLAlchemy Core). Alembic migrations are checked against it."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

from manafidh.adapters.db.types import ExactDecimal, Fils, UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _ts(name: str, nullable: bool = False) -> Column[object]:
    return Column(name, UtcDateTime, nullable=nullable)


# -- reference data ---------------------------------------------------------------------------
crossings = Table(
    "crossings",
    metadata,
    Column("code", String(8), primary_key=True),
    Column("name_en", String(100), nullable=False),
    Column("name_ar", String(100), nullable=False),
    Column("name_ckb", String(100), nullable=False),
    Column("governorate_en", String(100), nullable=False),
    Column("governorate_ar", String(100), nullable=False),
    Column("governorate_ckb", String(100), nullable=False),
    Column("partner_name_en", String(100), nullable=False),
    Column("partner_country", String(2), nullable=False),
    Column("region", String(16), nullable=False),
    Column("authority", String(16), nullable=False),
)

hs_sections = Table(
    "hs_sections",
    metadata,
    Column("section", String(8), primary_key=True),
    Column("name", Text, nullable=False),
)

hs_codes = Table(
    "hs_codes",
    metadata,
    Column("code", String(10), primary_key=True),
    Column("description", Text, nullable=False),
    Column("parent", String(10), nullable=True),
    Column("level", Integer, nullable=False),
    Column("section", String(8), nullable=False),
)

countries = Table(
    "countries",
    metadata,
    Column("alpha2", String(2), primary_key=True),
    Column("alpha3", String(3), nullable=False),
    Column("numeric", String(3), nullable=False),
    Column("name_en", String(100), nullable=False),
    Column("name_ar", String(200), nullable=False),
    Column("currency", String(3), nullable=True),
)

currencies = Table(
    "currencies",
    metadata,
    Column("code", String(3), primary_key=True),
    Column("numeric", String(3), nullable=False),
    Column("name", String(100), nullable=False),
    Column("minor_unit", Integer, nullable=True),
)

exchange_rates = Table(
    "exchange_rates",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("currency", String(3), ForeignKey("currencies.code"), nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date, nullable=True),
    Column("iqd_per_unit", ExactDecimal, nullable=False),
    Column("source", Text, nullable=False),
    UniqueConstraint("currency", "valid_from"),
)

tariff_rates = Table(
    "tariff_rates",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code_prefix", String(10), nullable=False, index=True),
    Column("rate_percent", ExactDecimal, nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date, nullable=True),
    Column("legal_reference", Text, nullable=False),
    UniqueConstraint("code_prefix", "valid_from"),
)

parameters = Table(
    "parameters",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(80), nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date, nullable=True),
    Column("value", ExactDecimal, nullable=False),
    Column("legal_reference", Text, nullable=False),
    UniqueConstraint("name", "valid_from"),
)

lane_rules = Table(
    "lane_rules",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("lane", String(8), nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date, nullable=True),
    Column("hs_prefix", String(10), nullable=True),
    Column("origin_country", String(2), nullable=True),
    Column("crossing_code", String(8), nullable=True),
    Column("importer_tax_id", String(40), nullable=True),
    Column("min_customs_value_iqd", Fils, nullable=True),
    Column("created_by", String(32), nullable=False),
    _ts("created_at"),
    Column("reason", Text, nullable=False),
)

counters = Table(
    "counters",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

# -- identity ---------------------------------------------------------------------------------
users = Table(
    "users",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("full_name", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("crossings", JSON, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("tax_id", String(40), nullable=True),
    _ts("created_at"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_id", String(32), ForeignKey("users.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    _ts("created_at"),
    _ts("expires_at", nullable=True),
    Column("revoked", Boolean, nullable=False),
)

# -- declarations -----------------------------------------------------------------------------
declarations = Table(
    "declarations",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("reference", String(32), nullable=False, unique=True),
    Column("crossing_code", String(8), ForeignKey("crossings.code"), nullable=False),
    Column("declarant_id", String(32), ForeignKey("users.id"), nullable=False, index=True),
    Column("regime", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("lane", String(8), nullable=True),
    _ts("created_at"),
    _ts("lodged_at", nullable=True),
    Column("acceptance_date", Date, nullable=True),
    Column("checks_done", Boolean, nullable=False),
    Column("settled", Boolean, nullable=False),
    Column("finding_open", Boolean, nullable=False, server_default=false()),
    Column("held_from", String(16), nullable=True),
    Column("version_count", Integer, nullable=False),
    Column("plate", String(20), nullable=False),
    _ts("updated_at"),
    Index("ix_declarations_crossing_state", "crossing_code", "state"),
    Index("ix_declarations_plate_state", "plate", "state"),
)

declaration_versions = Table(
    "declaration_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("declaration_id", String(32), ForeignKey("declarations.id"), nullable=False),
    Column("number", Integer, nullable=False),
    _ts("created_at"),
    Column("created_by", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("regime", String(16), nullable=False),
    Column("importer_name", String(200), nullable=False),
    Column("importer_tax_id", String(40), nullable=False),
    Column("exporter_name", String(200), nullable=True),
    Column("vehicle_plates", JSON, nullable=False),
    Column("trailer_plate", String(20), nullable=True),
    Column("driver_name", String(200), nullable=False),
    Column("driver_document", String(64), nullable=False),
    Column("dispatch_country", String(2), nullable=False),
    Column("origin_country", String(2), nullable=False),
    Column("invoice_currency", String(3), nullable=False),
    Column("freight", ExactDecimal, nullable=False),
    Column("insurance", ExactDecimal, nullable=False),
    UniqueConstraint("declaration_id", "number"),
)

declaration_items = Table(
    "declaration_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("version_id", Integer, ForeignKey("declaration_versions.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("hs_code", String(10), nullable=False),
    Column("description", Text, nullable=False),
    Column("origin_country", String(2), nullable=False),
    Column("quantity", ExactDecimal, nullable=False),
    Column("unit", String(16), nullable=False),
    Column("net_mass_kg", ExactDecimal, nullable=False),
    Column("gross_mass_kg", ExactDecimal, nullable=False),
    Column("invoice_value", ExactDecimal, nullable=False),
    UniqueConstraint("version_id", "line_no"),
)

declaration_transitions = Table(
    "declaration_transitions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("declaration_id", String(32), ForeignKey("declarations.id"), nullable=False, index=True),
    _ts("at"),
    Column("actor", String(32), nullable=False),
    Column("action", String(32), nullable=False),
    Column("from_state", String(16), nullable=False),
    Column("to_state", String(16), nullable=False),
    Column("reason", Text, nullable=False),
)

assessments = Table(
    "assessments",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("declaration_id", String(32), ForeignKey("declarations.id"), nullable=False, index=True),
    Column("version_number", Integer, nullable=False),
    _ts("assessed_at"),
    Column("acceptance_date", Date, nullable=False),
    Column("crossing_code", String(8), nullable=False),
    Column("invoice_currency", String(3), nullable=False),
    Column("exchange_rate", ExactDecimal, nullable=False),
    Column("exchange_rate_source", Text, nullable=False),
    Column("exchange_rate_valid_from", Date, nullable=False),
    Column("customs_value_iqd", Fils, nullable=False),
    Column("duty_iqd", Fils, nullable=False),
    Column("total_due_iqd", Fils, nullable=False),
    Index("ix_assessments_crossing_at", "crossing_code", "assessed_at"),
)

assessment_lines = Table(
    "assessment_lines",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("assessment_id", String(32), ForeignKey("assessments.id"), nullable=False, index=True),
    Column("line_no", Integer, nullable=False),
    Column("hs_code", String(10), nullable=False),
    Column("invoice_value", ExactDecimal, nullable=False),
    Column("customs_value_iqd", Fils, nullable=False),
    Column("rate_id", Integer, nullable=False),
    Column("rate_percent", ExactDecimal, nullable=False),
    Column("rate_valid_from", Date, nullable=False),
    Column("rate_valid_to", Date, nullable=True),
    Column("legal_reference", Text, nullable=False),
    Column("duty_iqd", Fils, nullable=False),
    Column("explanation", Text, nullable=False),
)

lane_decisions = Table(
    "lane_decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("declaration_id", String(32), ForeignKey("declarations.id"), nullable=False, index=True),
    _ts("decided_at"),
    Column("lane", String(8), nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("matched_rule_ids", JSON, nullable=False),
    Column("random_draw", ExactDecimal, nullable=False),
    Column("random_rate", ExactDecimal, nullable=False),
    Column("random_selected", Boolean, nullable=False),
)

checks = Table(
    "checks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("declaration_id", String(32), ForeignKey("declarations.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # document_check | inspection
    Column("actor", String(32), nullable=False),
    _ts("at"),
    Column("found", Boolean, nullable=False),
    Column("fraud_kind", String(32), nullable=True),
    Column("notes", Text, nullable=False),
)

# -- payments ---------------------------------------------------------------------------------
payment_orders = Table(
    "payment_orders",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("reference", String(25), nullable=False, unique=True),
    Column("declaration_id", String(32), ForeignKey("declarations.id"), nullable=False, index=True),
    Column("amount_iqd", Fils, nullable=False),
    _ts("created_at"),
    Column("state", String(16), nullable=False),
)

payments = Table(
    "payments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", String(32), ForeignKey("payment_orders.id"), nullable=False, index=True),
    Column("bank_transaction_id", String(64), nullable=False, unique=True),
    Column("amount_iqd", Fils, nullable=False),
    _ts("paid_at"),
    _ts("received_at"),
    Column("channel", String(32), nullable=False),
    Column("crossing_code", String(8), nullable=False),
    Index("ix_payments_crossing_received", "crossing_code", "received_at"),
)

# -- the gate and alarms ----------------------------------------------------------------------
gate_exits = Table(
    "gate_exits",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("crossing_code", String(8), nullable=False),
    Column("plate", String(20), nullable=False),
    Column("declaration_id", String(32), nullable=True),
    _ts("at"),
    Column("actor", String(32), nullable=False),
    Column("allowed", Boolean, nullable=False),
    Column("reason", Text, nullable=False),
)

alarms = Table(
    "alarms",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("crossing_code", String(8), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("severity", String(16), nullable=False),
    _ts("raised_at"),
    Column("subject", String(64), nullable=False),
    Column("message", Text, nullable=False),
    Column("details", JSON, nullable=False),
    Column("state", String(16), nullable=False),
    Index("ix_alarms_crossing_state", "crossing_code", "state"),
)

# -- simulator ground truth (never read by the clearance rules) -------------------------------
simulation_truth = Table(
    "simulation_truth",
    metadata,
    Column("declaration_id", String(32), ForeignKey("declarations.id"), primary_key=True),
    Column("misdeclaration", String(32), nullable=True),
    Column("details", JSON, nullable=False),
)

# -- the audit log (issue #6; docs/adr/0005-audit-log.md, docs/audit-format.md) ----------------
# Columns hold exactly what is hashed: the instant as canonical text, the payload as canonical
# JSON text, so verification reads bytes and never re-encodes a typed value.
audit_entries = Table(
    "audit_entries",
    metadata,
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("at", String(27), nullable=False, index=True),
    Column("actor", String(32), nullable=False),
    Column("role", String(16), nullable=False),
    Column("crossing", String(8), nullable=False),
    Column("action", String(40), nullable=False),
    Column("subject", String(100), nullable=False, index=True),
    Column("payload", Text, nullable=False),
    Column("leaf", LargeBinary(32), nullable=False),
    Column("mac", LargeBinary(32), nullable=False),
    Index("ix_audit_entries_actor_idx", "actor", "idx"),
)

# One row (id 1): the log's size and Merkle frontier with their MAC, updated in the transaction of
# each append (its row lock serialises appenders), and when the last tree head was signed. Tree
# heads are signed from the frontier, so it is MAC'd: an insider cannot make the log sign a root
# of rows they changed.
audit_state = Table(
    "audit_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("size", BigInteger, nullable=False),
    Column("frontier", LargeBinary, nullable=False),
    Column("mac", LargeBinary(32), nullable=False),  # of size and frontier, under the MAC key
    Column("head_size", BigInteger, nullable=False),
    Column("head_at", String(27), nullable=True),
)

audit_tree_heads = Table(
    "audit_tree_heads",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tree_size", BigInteger, nullable=False, index=True),
    Column("root_hash", LargeBinary(32), nullable=False),
    Column("timestamp", String(27), nullable=False),
    Column("signature", LargeBinary(64), nullable=False),
    Column("key_id", String(64), nullable=False),
)

# -- risk management (issue #5) ---------------------------------------------------------------
# A trained risk model: the model file itself (JSON, with its own checksum), and what it was
# trained on, so any score can be traced to the model, its window and its validation figures.
risk_models = Table(
    "risk_models",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    _ts("created_at"),
    Column("created_by", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("train_from", Date, nullable=False),
    Column("train_to", Date, nullable=False),
    Column("outcomes", Integer, nullable=False),
    Column("findings", Integer, nullable=False),
    Column("metrics", JSON, nullable=False),
    Column("features", JSON, nullable=False),
    Column("params", JSON, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("model", Text, nullable=False),
)

# The score of each lodged declaration: the model version and the factors shown to the officer,
# or, when no model could be used, why (the lane then came from the rules alone).
risk_scores = Table(
    "risk_scores",
    metadata,
    Column("declaration_id", String(32), ForeignKey("declarations.id"), primary_key=True),
    _ts("scored_at"),
    Column("model_version", Integer, nullable=True),
    Column("score", Float, nullable=True),
    Column("factors", JSON, nullable=False),
    Column("inputs", JSON, nullable=False),  # the model inputs as scored: training reuses them
    Column("fallback", Text, nullable=True),
)

# Extra duty an inspection found (after a finding: the difference the supplementary assessment
# or the inspector's own computation shows), kept apart from the check so that the check row
# stays as the inspector first recorded it.
inspection_results = Table(
    "inspection_results",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("declaration_id", String(32), ForeignKey("declarations.id"), nullable=False, index=True),
    Column("extra_duty_iqd", Fils, nullable=False),
    Column("recorded_by", String(32), nullable=False),
    _ts("recorded_at"),
    Column("notes", Text, nullable=False),
)

# Who inspects a red declaration: the system's draw, then any supervisor's reassignment (a new
# row each time, with who and why; the latest row is the current assignment).
inspection_assignments = Table(
    "inspection_assignments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("declaration_id", String(32), ForeignKey("declarations.id"), nullable=False, index=True),
    Column("crossing_code", String(8), nullable=False),
    Column("importer_tax_id", String(40), nullable=False, index=True),
    Column("inspector_id", String(32), nullable=False),
    _ts("assigned_at"),
    Column("assigned_by", String(32), nullable=False),
    Column("reasons", JSON, nullable=False),
)
