"""The vending tables as SQLAlchemy Core metadata.

The Alembic migration in ``migrations/versions`` is the schema of record; this module is
the same schema for the code to query with. ``tests/vending/test_vend_schema.py`` checks
that a migrated database and this metadata do not differ.

Text a person types is checked against its column's length before it is written
(``text.field``): ``String(n)`` says n characters, and a ``Text`` column that holds typed
text says its limit in ``info["max_chars"]`` (the database does not enforce that one).
"""
from sqlalchemy import (BigInteger, Column, Date, DateTime, ForeignKey, Integer, MetaData,
                        String, Table, Text, UniqueConstraint, Index, text)

metadata = MetaData()
# Audit actions that change what a customer's meter does (the web console marks them).
SERVICE_CHANGE_ACTIONS = ("meter_add", "meter_move", "meter_status", "meter_tariff", "key_change",
                          "tariff_revise", "debt_set")
# as literals, so that a query with the same words uses the partial index on both databases
SERVICE_CHANGES_WHERE = "action IN (%s)" % ", ".join("'%s'" % a for a in SERVICE_CHANGE_ACTIONS)

settings = Table(
    "settings", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

operators = Table(
    "operators", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),          # clerk | supervisor | admin
    Column("password_hash", String(255), nullable=False),
    Column("active", Integer, nullable=False, default=1),
    Column("created_at", DateTime, nullable=False),
    Column("created_by", String(64)),
    # A supervisor or admin works from approved_at on: a second admin's approval, or the
    # end of the waiting period on a one-admin station (None: awaiting approval).
    Column("approved_by", String(64)),
    Column("approved_at", DateTime),
)

# Failed logins, per operator name ("operator:NAME") and per client address ("address:IP").
login_failures = Table(
    "login_failures", metadata,
    Column("key", String(200), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_at", DateTime, nullable=False),
    Column("blocked_until", DateTime),
)

# The vending server's sessions (host/vending/sessions.py): one per operator, the token's
# SHA-256 only, so that a copy of the database opens no session.
operator_sessions = Table(
    "operator_sessions", metadata,
    Column("operator_id", Integer, ForeignKey("operators.id"), primary_key=True, autoincrement=False),
    Column("token_hash", String(64), nullable=False),
    Column("opened_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("address", String(120)),
    UniqueConstraint("token_hash", name="uq_operator_sessions_token_hash"),
)

customers = Table(
    "customers", metadata,
    Column("id", Integer, primary_key=True),
    Column("account", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("address", Text, info={"max_chars": 500}),
    Column("phone", String(40)),
    Column("contact_person", String(200)),
    Column("id_number", String(64)),
    Column("settlement_day", Integer, nullable=False, default=1),   # 1..28
    Column("debt_cents", BigInteger, nullable=False, default=0),
    Column("debt_recovery_bp", Integer, nullable=False, default=0),  # basis points of each purchase
    Column("created_at", DateTime, nullable=False),
)

tariffs = Table(
    "tariffs", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("created_at", DateTime, nullable=False),
)

tariff_versions = Table(
    "tariff_versions", metadata,
    Column("id", Integer, primary_key=True),
    Column("tariff_id", Integer, ForeignKey("tariffs.id"), nullable=False),
    Column("effective_from", DateTime, nullable=False),
    # JSON list of [upto_tenths or null, price_micro]: block steps over the month's purchases
    Column("blocks", Text, nullable=False),
    Column("service_cents", BigInteger, nullable=False, default=0),
    Column("service_period", String(8), nullable=False, default="none"),  # none|month|day
    Column("vat_bp", Integer, nullable=False, default=0),
    Column("free_tenths", BigInteger, nullable=False, default=0),      # free basic units / month
    Column("min_amount_cents", BigInteger, nullable=False, default=100),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("tariff_id", "effective_from", name="uq_tariff_version_from"),
)

vending_keys = Table(
    "vending_keys", metadata,
    Column("id", Integer, primary_key=True),
    Column("sgc", Integer, nullable=False),
    Column("krn", Integer, nullable=False),
    Column("dkga", String(2), nullable=False),            # "02" | "04"
    Column("nonce", String(32), nullable=False),          # hex, AES-GCM ("" in a PKCS#11 module)
    Column("ciphertext", Text, nullable=False),           # hex, AES-GCM (key + tag); "pkcs11:<id>"
    Column("expires_on", Date),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("sgc", "krn", name="uq_vending_key_sgc_krn"),
)

meters = Table(
    "meters", metadata,
    Column("id", Integer, primary_key=True),
    Column("pan", String(18), nullable=False, unique=True),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
    Column("utility", String(12), nullable=False),        # electricity|water|gas|time
    Column("credit_mode", String(8), nullable=False),     # unit|currency
    Column("sgc", Integer, nullable=False),
    Column("ti", Integer, nullable=False),
    Column("krn", Integer, nullable=False),
    Column("kt", Integer, nullable=False),
    Column("algorithm", String(8), nullable=False),       # sta (EA07) | misty1 (EA11)
    Column("dkga", String(2), nullable=False),
    Column("base_year", Integer, nullable=False),
    Column("ken", Integer, nullable=False, default=255),
    Column("last_tid", BigInteger, nullable=False, default=0),
    Column("tariff_id", Integer, ForeignKey("tariffs.id"), nullable=False),
    Column("status", String(12), nullable=False, default="active"),  # active|blocked|removed
    Column("service_paid_through", Date),                 # daily service charge collected up to
    Column("created_at", DateTime, nullable=False),
)

meter_commissionings = Table(                         # host/vending/commissioning.py
    "meter_commissionings", metadata,
    Column("id", Integer, primary_key=True),
    Column("meter_id", Integer, ForeignKey("meters.id"), nullable=False, index=True),
    Column("serial", String(64), nullable=False),
    Column("firmware_hash", String(64), nullable=False),  # sha256 over boot.py, main.py, lib/
    Column("config_hash", String(64), nullable=False),    # sha256 of meter.json without secrets
    Column("self_test", Text, nullable=False),            # JSON: each step's result
    Column("technician", String(64), nullable=False),
    Column("at", DateTime, nullable=False),
)

meter_assignments = Table(
    "meter_assignments", metadata,
    Column("id", Integer, primary_key=True),
    Column("meter_id", Integer, ForeignKey("meters.id"), nullable=False),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
    Column("from_at", DateTime, nullable=False),
    Column("to_at", DateTime),
)

sales = Table(
    "sales", metadata,
    Column("id", Integer, primary_key=True),                   # the receipt number
    Column("meter_id", Integer, ForeignKey("meters.id"), nullable=False),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
    Column("operator_id", Integer, ForeignKey("operators.id"), nullable=False),
    Column("tariff_version_id", Integer, ForeignKey("tariff_versions.id"), nullable=False),
    Column("channel", String(8), nullable=False),               # cash|bank|mobile|card
    Column("reference", String(128), unique=True),              # idempotency key, optional
    Column("sold_at", DateTime, nullable=False),
    Column("amount_cents", BigInteger, nullable=False),         # tendered
    Column("debt_cents", BigInteger, nullable=False),           # debt recovered
    Column("service_cents", BigInteger, nullable=False),        # service charge, excl. VAT
    Column("vat_cents", BigInteger, nullable=False),
    Column("energy_cents", BigInteger, nullable=False),         # buys units, excl. VAT
    Column("units_tenths", BigInteger, nullable=False),         # computed (unit meters)
    Column("credit_value", BigInteger, nullable=False),         # carried by the token: tenths or e5
    Column("free_tenths", BigInteger, nullable=False),
    Column("detail", Text, nullable=False),                     # JSON: blocks, balances
    Index("ix_sales_customer_sold_at", "customer_id", "sold_at"),
    Index("ix_sales_meter_sold_at", "meter_id", "sold_at"),
    Index("ix_sales_sold_at", "sold_at"),
)

key_changes = Table(
    "key_changes", metadata,
    Column("id", Integer, primary_key=True),
    Column("meter_id", Integer, ForeignKey("meters.id"), nullable=False),
    Column("operator_id", Integer, ForeignKey("operators.id"), nullable=False),
    Column("issued_at", DateTime, nullable=False),
    Column("detail", Text, nullable=False),                     # JSON: from/to key identity
    Column("delivered_sale_id", Integer, ForeignKey("sales.id")),
)

tokens = Table(
    "tokens", metadata,
    Column("id", Integer, primary_key=True),
    Column("meter_id", Integer, ForeignKey("meters.id"), nullable=False),
    Column("sale_id", Integer, ForeignKey("sales.id")),
    Column("key_change_id", Integer, ForeignKey("key_changes.id")),
    Column("operator_id", Integer, ForeignKey("operators.id"), nullable=False),
    Column("kind", String(24), nullable=False),   # credit|free_basic|key_change|power_limit|...
    Column("tid", BigInteger),                    # NULL for key change and test tokens
    Column("base_year", Integer, nullable=False),  # TID memory resets on a base-date change
    Column("digits", String(20), nullable=False),
    Column("value", BigInteger),
    Column("issued_at", DateTime, nullable=False),
    UniqueConstraint("meter_id", "base_year", "tid", name="uq_tokens_meter_tid"),
    Index("ix_tokens_sale", "sale_id"),
)

adjustments = Table(
    "adjustments", metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(12), nullable=False),                 # refund|offset|credit
    Column("sale_id", Integer, ForeignKey("sales.id")),
    Column("meter_id", Integer, ForeignKey("meters.id")),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
    Column("amount_cents", BigInteger, nullable=False, default=0),
    Column("units_tenths", BigInteger, nullable=False, default=0),
    Column("reason", Text, nullable=False, info={"max_chars": 500}),
    Column("status", String(12), nullable=False),               # pending|confirmed|rejected
    Column("requested_by", Integer, ForeignKey("operators.id"), nullable=False),
    Column("requested_at", DateTime, nullable=False),
    Column("confirmed_by", Integer, ForeignKey("operators.id")),
    Column("confirmed_at", DateTime),
    Column("token_id", Integer, ForeignKey("tokens.id")),
)

payments = Table(
    "payments", metadata,
    Column("id", Integer, primary_key=True),
    Column("source", String(64), nullable=False),
    Column("line_ref", String(128), nullable=False),
    Column("account_ref", String(64), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("paid_at", DateTime, nullable=False),
    Column("channel", String(8), nullable=False),
    Column("status", String(12), nullable=False),               # vended|unmatched|failed
    Column("note", Text),
    Column("sale_id", Integer, ForeignKey("sales.id")),
    UniqueConstraint("source", "line_ref", name="uq_payments_source_line"),
)

# A customer's self-service password (web console, host/vending/selfservice.py).
customer_logins = Table(
    "customer_logins", metadata,
    Column("customer_id", Integer, ForeignKey("customers.id"), primary_key=True, autoincrement=False),
    Column("password_hash", String(255), nullable=False),
    Column("set_at", DateTime, nullable=False),
    Column("set_by", String(64), nullable=False),
)

# Browser sessions of the web console (host/web/auth.py): the cookie's SHA-256 only, one
# per operator or customer; kept here so a restart logs nobody out and processes share them.
browser_sessions = Table(
    "browser_sessions", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("kind", String(8), nullable=False),                  # operator | customer
    Column("subject_id", Integer, nullable=False),              # operators.id or customers.id
    Column("expires_at", DateTime, nullable=False),
    UniqueConstraint("kind", "subject_id", name="uq_browser_sessions_subject"),
)

audit_log = Table(
    "audit_log", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # chain position, 1..n
    Column("at", DateTime, nullable=False),
    Column("operator", String(64), nullable=False),
    Column("action", String(32), nullable=False),
    Column("subject", String(64), nullable=False),
    Column("payload", Text, nullable=False),                    # canonical JSON
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("mac", String(64)),                                  # HMAC of hash under the audit key
    Column("state", Text),                                      # JSON {"table:id": row digest}
    # The dashboard's "service changed" list (reports.service_changes): a partial index, so
    # it never scans the sales' entries and costs a sale nothing.
    Index("ix_audit_log_service_changes", "at", sqlite_where=text(SERVICE_CHANGES_WHERE),
          postgresql_where=text(SERVICE_CHANGES_WHERE)),
)

# One row (id 1): the chain's head. Locking it serialises appends to the chain.
audit_head = Table(
    "audit_head", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("last_id", Integer, nullable=False),
    Column("last_hash", String(64), nullable=False),
)

# The head-end (host/headend/, migration 0006): online meters over MQTT. Meters are named by
# PAN, not by ``meters.id``: a meter may report before the ledger knows it.
online_meters = Table(                                # each meter's last state
    "online_meters", metadata,
    Column("pan", String(18), primary_key=True),
    Column("status", String(8), nullable=False, default="unknown"),   # online|offline|unknown
    Column("status_at", DateTime),
    Column("last_seen", DateTime),                    # head-end's clock, any message
    Column("last_seq", BigInteger),
    Column("reading_at", DateTime),                   # meter's clock of the newest reading (in readings)
    Column("credit_milli", BigInteger),               # available credit, thousandths of its unit
    Column("supply_state", Integer),                  # 0-0:128.3.11
    Column("supply_reason", Integer),                 # 0-0:128.3.10
    Column("alarm_bits", Integer),                    # 0-0:128.97.0
    Column("last_purchase_milli", BigInteger),        # 0-0:128.40.2
    Column("command_ctr", BigInteger, nullable=False, default=0),   # last counter signed
)

readings = Table(                                     # PostgreSQL: partitioned by range of t
    "readings", metadata,
    Column("pan", String(18), primary_key=True),
    Column("t", DateTime, primary_key=True),          # meter's clock, naive UTC
    Column("seq", BigInteger, primary_key=True),
    Column("period_s", Integer, nullable=False),
    Column("received_at", DateTime, nullable=False),
    Column("energy_milli", BigInteger),               # the main cumulative register
    Column("credit_milli", BigInteger),
    Column("values", Text, nullable=False),           # JSON as the meter sent it
    postgresql_partition_by="RANGE (t)",
)

meter_events = Table(
    "meter_events", metadata,
    Column("pan", String(18), primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("t", DateTime, nullable=False),
    Column("code", String(40), nullable=False),
    Column("data", Text, nullable=False),
    Column("received_at", DateTime, nullable=False),
)

alarms = Table(
    "alarms", metadata,
    Column("id", Integer, primary_key=True),
    Column("pan", String(18), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("state", String(12), nullable=False),      # raised|notified|acknowledged|cleared
    Column("open_key", String(64), unique=True),      # "pan:kind" while not cleared, else NULL
    Column("raised_at", DateTime, nullable=False),
    Column("detail", Text, nullable=False),           # JSON
    Column("notified_at", DateTime),
    Column("reminded_at", DateTime),
    Column("acknowledged_at", DateTime),
    Column("acknowledged_by", String(64)),
    Column("note", Text, info={"max_chars": 500}),
    Column("cleared_at", DateTime),
    Column("cleared_why", String(200)),
    Index("ix_alarms_pan", "pan"),
    Index("ix_alarms_state", "state"),
)

notification_contacts = Table(                        # who hears of which alarms, and how
    "notification_contacts", metadata,
    Column("id", Integer, primary_key=True),
    Column("customer_id", Integer, ForeignKey("customers.id")),   # NULL: staff, every meter
    Column("channel", String(16), nullable=False),    # email|webhook|file|console
    Column("address", String(500), nullable=False),
    Column("kinds", String(400), nullable=False, default="*"),     # comma-separated, or *
    Column("reminder_days", Integer, nullable=False, default=0),   # 0: no reminders
    Column("active", Integer, nullable=False, default=1),
)

notifications = Table(                                # the outbox: written with the alarm
    "notifications", metadata,
    Column("id", Integer, primary_key=True),
    Column("alarm_id", Integer, ForeignKey("alarms.id"), nullable=False),
    Column("contact_id", Integer, ForeignKey("notification_contacts.id")),
    Column("channel", String(16), nullable=False),
    Column("address", String(500), nullable=False),
    Column("what", String(12), nullable=False),       # raised|reminder|cleared
    Column("state", String(8), nullable=False),       # pending|sent|failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_at", DateTime, nullable=False),
    Column("last_error", String(200)),
    Column("sent_at", DateTime),
    Index("ix_notifications_state_next", "state", "next_at"),
)

command_batches = Table(                              # bulk disconnections: two people
    "command_batches", metadata,
    Column("id", Integer, primary_key=True),
    Column("cmd", String(16), nullable=False),
    Column("args", Text, nullable=False),
    Column("pans", Text, nullable=False),             # JSON list
    Column("reason", Text, nullable=False, info={"max_chars": 500}),
    Column("state", String(12), nullable=False),      # pending|confirmed|rejected
    Column("requested_by", String(64), nullable=False),
    Column("requested_at", DateTime, nullable=False),
    Column("confirmed_by", String(64)),
    Column("confirmed_at", DateTime),
)

meter_commands = Table(
    "meter_commands", metadata,
    Column("id", Integer, primary_key=True),
    Column("pan", String(18), nullable=False),
    Column("ctr", BigInteger, nullable=False),
    Column("cmd", String(16), nullable=False),
    Column("payload", Text, nullable=False),          # the two signed lines as published
    Column("expires_at", DateTime, nullable=False),
    Column("state", String(12), nullable=False),      # queued|sent|done|refused|expired|bad-result
    Column("reason", Text, info={"max_chars": 500}),
    Column("requested_by", String(64), nullable=False),
    Column("requested_at", DateTime, nullable=False),
    Column("batch_id", Integer, ForeignKey("command_batches.id")),
    Column("token_id", Integer, ForeignKey("tokens.id"), unique=True),   # a sale's delivery
    Column("sent_at", DateTime),
    Column("result_code", String(24)),
    Column("result_data", Text),
    Column("result_at", DateTime),
    UniqueConstraint("pan", "ctr", name="uq_meter_commands_pan_ctr"),
    Index("ix_meter_commands_state", "state"),
)
