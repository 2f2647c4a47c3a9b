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
    # Conditions on facts known at lodging, and a score weight instead of a lane (issue #5).
    Column("declarant_id", String(32), nullable=True),
    Column("valuation_flag", Boolean, nullable=True),
    Column("weight_mismatch", Boolean, nullable=True),
    Column("exemption_use", Boolean, nullable=True),
    Column("hour_from", Integer, nullable=True),
    Column("hour_to", Integer, nullable=True),
    Column("first_declarations", Integer, nullable=True),
    Column("score_weight", ExactDecimal, nullable=True),
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

# -- devices: registry, signed events, gate visits (issue #4; docs/device-events.md) -----------
devices = Table(
    "devices",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("crossing_code", String(8), nullable=False),
    Column("lane", String(16), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("position", String(8), nullable=False),
    _ts("registered_at"),
    Column("registered_by", String(32), nullable=False),
    _ts("revoked_at", nullable=True),
    Column("revoked_by", String(32), nullable=True),
    Column("revoke_reason", Text, nullable=True),
    Index("ix_devices_crossing_code", "crossing_code"),
)

device_keys = Table(
    "device_keys",
    metadata,
    Column("device_id", String(32), ForeignKey("devices.id"), primary_key=True),
    Column("key_id", String(64), primary_key=True),
    Column("public_key", LargeBinary, nullable=False),
    _ts("valid_from"),
    _ts("valid_to", nullable=True),
    Column("added_by", String(32), nullable=False),
    Column("reason", Text, nullable=False),
)

# Append-only: rows are inserted, never updated or deleted. device_time_text is the instant
# exactly as signed, so a stored event can be re-verified byte for byte.
device_events = Table(
    "device_events",
    metadata,
    Column("device_id", String(32), primary_key=True),
    Column("sequence", BigInteger, primary_key=True, autoincrement=False),
    _ts("device_time"),
    Column("device_time_text", String(40), nullable=False),
    _ts("received_at"),
    Column("kind", String(16), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("plate", String(20), nullable=True),
    Column("crossing_code", String(8), nullable=False),
    Column("lane", String(16), nullable=False),
    Column("position", String(8), nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("digest", LargeBinary, nullable=False),
    Column("signature", LargeBinary, nullable=False),
    Index("ix_device_events_crossing_code", "crossing_code", "device_time"),
)

gate_visits = Table(
    "gate_visits",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("crossing_code", String(8), nullable=False),
    Column("lane", String(16), nullable=False),
    Column("plate", String(20), nullable=False),
    _ts("opened_at"),
    Column("opened_by", String(64), nullable=False),
    Column("declaration_id", String(32), nullable=True, index=True),
    Column("entry_gross_kg", Integer, nullable=True),
    Column("tare_kg", Integer, nullable=True),
    Column("tare_source", String(16), nullable=True),
    Column("weight_state", String(16), nullable=False),
    Column("measured_kg", Integer, nullable=True),
    _ts("closed_at", nullable=True),
    Index("ix_gate_visits_plate", "plate", "closed_at"),
)

gate_decisions = Table(
    "gate_decisions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("crossing_code", String(8), nullable=False),
    Column("lane", String(16), nullable=False),
    Column("plate", String(20), nullable=False),
    Column("declaration_id", String(32), nullable=True),
    _ts("at"),
    Column("allowed", Boolean, nullable=False),
    Column("reason", Text, nullable=False),
    Column("actor", String(32), nullable=False),
    _ts("used_at", nullable=True),
    Column("used_by", String(64), nullable=True),
    Index("ix_gate_decisions_crossing_code", "crossing_code", "lane", "used_at"),
)

alarm_steps = Table(
    "alarm_steps",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("alarm_id", String(32), ForeignKey("alarms.id"), nullable=False, index=True),
    Column("step", String(16), nullable=False),
    _ts("at"),
    Column("actor", String(32), nullable=False),
    Column("reason", Text, nullable=False),
)

vehicle_tares = Table(
    "vehicle_tares",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("plate", String(20), nullable=False, index=True),
    Column("tare_kg", Integer, nullable=False),
    _ts("registered_at"),
    Column("registered_by", String(32), nullable=False),
    Column("reason", Text, nullable=False),
)

# A manual weight takes effect only once a second, different supervisor approves it.
manual_weights = Table(
    "manual_weights",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("visit_id", String(32), ForeignKey("gate_visits.id"), nullable=False),
    Column("which", String(8), nullable=False),
    Column("kg", Integer, nullable=False),
    _ts("proposed_at"),
    Column("proposed_by", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    _ts("decided_at", nullable=True),
    Column("decided_by", String(32), nullable=True),
    Column("approved", Boolean, nullable=True),
)

# -- tariff measures (issue #3) ----------------------------------------------------------------
tariff_imports = Table(
    "tariff_imports",
    metadata,
    Column("id", String(32), primary_key=True),
    _ts("imported_at"),
    Column("actor", String(32), nullable=False),
    Column("source", Text, nullable=False),
    Column("measures", Integer, nullable=False),
    _ts("rolled_back_at", nullable=True),
    Column("rolled_back_by", String(32), nullable=True),
    Column("rollback_reason", Text, nullable=True),
    Index("ix_tariff_imports_imported_at", "imported_at"),
)

tariff_measures = Table(
    "tariff_measures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code", String(10), nullable=False, index=True),
    Column("measure_type", String(16), nullable=False),
    Column("origin", String(8), nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date, nullable=True),
    Column("legal_reference", Text, nullable=False),
    Column("expression", Text, nullable=False),
    Column("import_id", String(32), ForeignKey("tariff_imports.id"), nullable=False),
    UniqueConstraint("code", "measure_type", "origin", "valid_from"),
)

# The operations log: every measure created or removed, with the measure as it was, so that an
# import can be rolled back to a date and what was rolled back stays readable.
tariff_operations = Table(
    "tariff_operations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _ts("at"),
    Column("import_id", String(32), ForeignKey("tariff_imports.id"), nullable=False, index=True),
    Column("operation", String(8), nullable=False),  # create | delete
    Column("measure_id", Integer, nullable=False),
    Column("measure", JSON, nullable=False),
)

tariff_origin_groups = Table(
    "tariff_origin_groups",
    metadata,
    Column("group_code", String(8), primary_key=True),
    Column("country", String(2), primary_key=True),
    Column("description", Text, nullable=False),
)

# The exact measures an assessment used, copied, so it can be reproduced whatever changes.
assessment_measures = Table(
    "assessment_measures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("assessment_id", String(32), nullable=False, index=True),
    Column("line_no", Integer, nullable=False),
    Column("measure_id", Integer, nullable=False),
    Column("code", String(10), nullable=False),
    Column("measure_type", String(16), nullable=False),
    Column("origin", String(8), nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date, nullable=True),
    Column("legal_reference", Text, nullable=False),
    Column("expression", Text, nullable=False),
    Column("duty_iqd", Fils, nullable=False),
    Column("exact_iqd", ExactDecimal, nullable=False),
    Column("explanation", Text, nullable=False),
)

# -- exemptions and quotas (issue #3) ----------------------------------------------------------
exemptions = Table(
    "exemptions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("reference", String(40), nullable=False, unique=True),
    Column("beneficiary_kind", String(24), nullable=False),
    Column("beneficiary_name", Text, nullable=False),
    Column("beneficiary_tax_id", String(40), nullable=False, index=True),
    Column("legal_basis", Text, nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date, nullable=True),
    Column("relief_percent", ExactDecimal, nullable=False),
    Column("codes", JSON, nullable=False),
    Column("crossings", JSON, nullable=False),
    Column("state", String(12), nullable=False),
    Column("project_id", String(40), nullable=True),
)

# Quantities are integer grams and values integer fils, so that the ledger's check-and-add is
# one exact SQL update on both databases.
exemption_quotas = Table(
    "exemption_quotas",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("exemption_id", Integer, ForeignKey("exemptions.id"), nullable=False, index=True),
    Column("code", String(10), nullable=False),
    Column("max_grams", BigInteger, nullable=True),
    Column("max_value_iqd", Fils, nullable=True),
    Column("used_grams", BigInteger, nullable=False),
    Column("used_value_iqd", Fils, nullable=False),
)

exemption_events = Table(
    "exemption_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("exemption_id", Integer, ForeignKey("exemptions.id"), nullable=False, index=True),
    Column("action", String(12), nullable=False),
    _ts("at"),
    Column("actor", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("legal_reference", Text, nullable=False),
)

# Every exempted line, with the duty it would have paid: the foregone-revenue ledger.
exemption_uses = Table(
    "exemption_uses",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("assessment_id", String(32), nullable=False, index=True),
    Column("declaration_id", String(32), nullable=False, index=True),
    Column("line_no", Integer, nullable=False),
    Column("exemption_id", Integer, ForeignKey("exemptions.id"), nullable=False, index=True),
    Column("quota_id", Integer, nullable=True),
    Column("hs_code", String(10), nullable=False),
    Column("crossing_code", String(8), nullable=False),
    Column("acceptance_date", Date, nullable=False),
    Column("grams", BigInteger, nullable=False),
    Column("value_iqd", Fils, nullable=False),
    Column("duty_before_iqd", Fils, nullable=False),
    Column("foregone_iqd", Fils, nullable=False),
    Column("released", Boolean, nullable=False, server_default=false()),
)

# -- revenue: the double-entry ledger (issue #7) ----------------------------------------------
ledger_postings = Table(
    "ledger_postings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # One key per business event (order assessed, payment collected, statement entry...):
    # the unique index is what makes counting anything twice impossible.
    Column("key", String(140), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    _ts("at"),
    Column("crossing_code", String(8), nullable=False),
    Column("actor", String(32), nullable=False),
    Column("declaration_id", String(32), nullable=True, index=True),
    Column("order_id", String(32), nullable=True, index=True),
    Column("memo", Text, nullable=False),
)

ledger_lines = Table(
    "ledger_lines",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("posting_id", Integer, ForeignKey("ledger_postings.id"), nullable=False, index=True),
    Column("account", String(48), nullable=False),
    Column("amount_iqd", Fils, nullable=False),  # debit positive, credit negative
)

# Movements per account, crossing, local day and kind of posting, kept up to date in the
# posting's transaction so that reports read a few thousand rows instead of summing millions.
ledger_daily = Table(
    "ledger_daily",
    metadata,
    Column("account", String(48), primary_key=True),
    Column("crossing_code", String(8), primary_key=True),
    Column("day", Date, primary_key=True),  # Iraq's calendar
    Column("kind", String(16), primary_key=True),
    Column("amount_iqd", Fils, nullable=False),
)

# Assessed duty and customs value by HS chapter, origin and trader (importer tax id), per
# crossing and month of acceptance: the latest assessment of each declaration counts, kept up
# to date when an assessment is added (a re-assessment takes the previous one's share back).
revenue_rollup = Table(
    "revenue_rollup",
    metadata,
    Column("dimension", String(8), primary_key=True),  # chapter | origin | trader
    Column("key", String(40), primary_key=True),
    Column("crossing_code", String(8), primary_key=True),
    Column("month", String(7), primary_key=True),  # YYYY-MM
    Column("duty_iqd", Fils, nullable=False),
    Column("customs_value_iqd", Fils, nullable=False),
    Column("item_count", Integer, nullable=False),
    Index("ix_revenue_rollup_dimension_crossing_month", "dimension", "crossing_code", "month"),
)


# -- revenue: bank statements and their reconciliation (issue #7) -----------------------------
bank_statements = Table(
    "bank_statements",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("statement_id", String(70), nullable=False, unique=True),
    Column("account", String(34), nullable=False),
    Column("format", String(16), nullable=False),
    _ts("created_at", nullable=True),
    _ts("imported_at"),
    Column("imported_by", String(32), nullable=False),
    Column("digest", String(64), nullable=False),
)

statement_entries = Table(
    "statement_entries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("statement_pk", Integer, ForeignKey("bank_statements.id"), nullable=False),
    Column("account", String(34), nullable=False),
    Column("entry_ref", String(70), nullable=False, index=True),
    Column("booking_date", Date, nullable=False),
    Column("value_date", Date, nullable=False),
    Column("amount_iqd", Fils, nullable=False),
    Column("credit", Boolean, nullable=False),
    Column("remittance", Text, nullable=False),
    Column("reference", String(25), nullable=True),
    Column("outcome", String(20), nullable=False),
    Column("order_id", String(32), nullable=True, index=True),
    UniqueConstraint("statement_pk", "entry_ref"),
)

reconciliation_exceptions = Table(
    "reconciliation_exceptions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("entry_id", Integer, ForeignKey("statement_entries.id"), nullable=False, index=True),
    Column("kind", String(20), nullable=False),
    Column("state", String(10), nullable=False),
    Column("amount_iqd", Fils, nullable=False),
    Column("held_iqd", Fils, nullable=False),  # what sits in suspense/overpayments because of it
    Column("reference", String(25), nullable=True),
    Column("order_id", String(32), nullable=True),
    Column("crossing_code", String(8), nullable=False),
    _ts("opened_at"),
    _ts("resolved_at", nullable=True),
    Column("resolved_by", String(32), nullable=True),
    Column("resolution", String(16), nullable=True),
    Column("reason", Text, nullable=True),
    Index("ix_reconciliation_exceptions_state_kind", "state", "kind"),
)

# Fees charged with an assessment (per truck, per declaration), with the dated value used.
assessment_charges = Table(
    "assessment_charges",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("assessment_id", String(32), nullable=False, index=True),
    Column("name", String(80), nullable=False),
    Column("units", Integer, nullable=False),
    Column("rate_iqd", ExactDecimal, nullable=False),
    Column("amount_iqd", Fils, nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("legal_reference", Text, nullable=False),
)

# -- valuation control (issue #3) --------------------------------------------------------------
valuation_observations = Table(
    "valuation_observations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("assessment_id", String(32), nullable=False),
    Column("declaration_id", String(32), nullable=False, index=True),
    Column("line_no", Integer, nullable=False),
    Column("hs6", String(6), nullable=False),
    Column("origin", String(2), nullable=False),
    Column("net_kg", ExactDecimal, nullable=False),
    Column("value_iqd", Fils, nullable=False),
    Column("acceptance_date", Date, nullable=False),
)

valuation_references = Table(
    "valuation_references",
    metadata,
    Column("hs6", String(6), primary_key=True),
    Column("origin", String(2), primary_key=True),
    Column("median_per_kg", ExactDecimal, nullable=False),
    Column("p25_per_kg", ExactDecimal, nullable=False),
    Column("p10_per_kg", ExactDecimal, nullable=False),
    Column("sample_size", Integer, nullable=False),
    Column("source", Text, nullable=False),
    _ts("computed_at"),
)

valuation_flags = Table(
    "valuation_flags",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("assessment_id", String(32), nullable=False, index=True),
    Column("declaration_id", String(32), nullable=False, index=True),
    Column("line_no", Integer, nullable=False),
    Column("declared_per_kg", ExactDecimal, nullable=False),
    Column("reference_median_per_kg", ExactDecimal, nullable=False),
    Column("ratio", ExactDecimal, nullable=False),
    Column("threshold", ExactDecimal, nullable=False),
    Column("explanation", Text, nullable=False),
)

# -- investment projects (issue #3) ------------------------------------------------------------
investment_projects = Table(
    "investment_projects",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("licence_number", String(40), nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("sector", String(60), nullable=False),
    Column("tax_id", String(40), nullable=False),
    Column("approved_on", Date, nullable=False),
    Column("window_from", Date, nullable=False),
    Column("window_to", Date, nullable=False),
    Column("goods", JSON, nullable=False),
    Column("exemption_reference", String(40), nullable=False),
)

investment_reports = Table(
    "investment_reports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project_id", Integer, ForeignKey("investment_projects.id"), nullable=False, index=True),
    Column("reported_on", Date, nullable=False),
    Column("rate_percent", ExactDecimal, nullable=False),
    Column("source", Text, nullable=False),
    _ts("recorded_at"),
    Column("recorded_by", String(32), nullable=False),
)

# -- revenue: receipts (issue #7) -------------------------------------------------------------
receipts = Table(
    "receipts",
    metadata,
    # Random, not sequential: knowing one receipt's number tells nothing about another's.
    Column("number", String(24), primary_key=True),
    Column("bank_transaction_id", String(80), nullable=False, unique=True),
    Column("order_reference", String(25), nullable=False),
    Column("declaration_reference", String(32), nullable=False),
    Column("crossing_code", String(8), nullable=False),
    Column("amount_iqd", Fils, nullable=False),
    _ts("paid_at"),
    _ts("issued_at"),
)

# -- revenue: refunds after a reduced assessment (issue #7) -----------------------------------
refunds = Table(
    "refunds",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("declaration_id", String(32), ForeignKey("declarations.id"), nullable=False, index=True),
    Column("crossing_code", String(8), nullable=False),
    Column("amount_iqd", Fils, nullable=False),
    Column("state", String(10), nullable=False),
    Column("proposed_by", String(32), nullable=False),
    _ts("proposed_at"),
    Column("proposal_reason", Text, nullable=False),
    Column("approved_by", String(32), nullable=True),
    _ts("approved_at", nullable=True),
    Column("approval_reason", Text, nullable=True),
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

# -- inspection evidence (issue #8) -------------------------------------------------------------
# What an inspector attached to a result: a photo (its bytes live in the content-addressed store
# under the evidence directory, named by this SHA-256) or a document reference. Append-only.
inspection_evidence = Table(
    "inspection_evidence",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("declaration_id", String(32), ForeignKey("declarations.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # photo | document
    Column("sha256", String(64), nullable=True, index=True),
    Column("media_type", String(32), nullable=True),
    Column("size_bytes", Integer, nullable=True),
    Column("filename", String(200), nullable=False),
    Column("document_reference", String(120), nullable=True),
    Column("recorded_by", String(32), nullable=False),
    _ts("recorded_at"),
)

# Quantities an inspector measured, per declared item, with the result they belong to.
inspection_measurements = Table(
    "inspection_measurements",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("declaration_id", String(32), ForeignKey("declarations.id"), nullable=False, index=True),
    Column("line_no", Integer, nullable=False),
    Column("quantity", ExactDecimal, nullable=True),
    Column("gross_mass_kg", ExactDecimal, nullable=True),
    Column("recorded_by", String(32), nullable=False),
    _ts("recorded_at"),
)

# The live board counts a crossing's open visits every few seconds.
Index("ix_gate_visits_crossing_open", gate_visits.c.crossing_code, gate_visits.c.closed_at)
# -- revenue: deferred-payment accounts backed by a guarantee (issue #7) -----------------------
deferred_accounts = Table(
    "deferred_accounts",
    metadata,
    Column("number", String(20), primary_key=True),
    Column("trader_tax_id", String(40), nullable=False, unique=True),
    Column("trader_name", Text, nullable=False),
    Column("guarantee_reference", String(64), nullable=False),
    Column("guarantee_bank", Text, nullable=False),
    Column("limit_iqd", Fils, nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date, nullable=False),
    Column("state", String(12), nullable=False),
    Column("approved_by", String(32), nullable=False),
    _ts("approved_at"),
    Column("reason", Text, nullable=False),
)

# Every change of an account (approval, suspension, reinstatement) with who, when and why.
deferred_account_events = Table(
    "deferred_account_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "account", String(20), ForeignKey("deferred_accounts.number"), nullable=False, index=True
    ),
    Column("action", String(12), nullable=False),
    _ts("at"),
    Column("actor", String(32), nullable=False),
    Column("reason", Text, nullable=False),
)

# Orders paid from an account; a charge belongs to the statement of its month once issued.
deferred_charges = Table(
    "deferred_charges",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account", String(20), ForeignKey("deferred_accounts.number"), nullable=False),
    Column("order_reference", String(25), nullable=False, unique=True),
    Column("declaration_reference", String(32), nullable=False),
    Column("crossing_code", String(8), nullable=False),
    Column("amount_iqd", Fils, nullable=False),
    _ts("charged_at"),
    Column("charged_by", String(32), nullable=False),
    Column("month", String(7), nullable=False),  # YYYY-MM in Iraq's calendar
    Column("statement_month", String(7), nullable=True),
    Index("ix_deferred_charges_account_month", "account", "month"),
)

deferred_statements = Table(
    "deferred_statements",
    metadata,
    Column("account", String(20), ForeignKey("deferred_accounts.number"), primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("reference", String(25), nullable=False, unique=True),
    Column("amount_iqd", Fils, nullable=False),
    Column("settled_iqd", Fils, nullable=False),
    _ts("issued_at"),
    Column("issued_by", String(32), nullable=False),
)

# "A trader's first declarations" counts an importer's declarations at every lodging.
Index("ix_declaration_versions_importer_tax_id", declaration_versions.c.importer_tax_id)
