"""The schema. Alembic migrations in `migrations/` create and evolve it."""

from __future__ import annotations

import sqlalchemy as sa

from .types import UTCDateTime

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)
BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite autoincrements INTEGER only
Money = sa.BigInteger
Text = sa.String

orders = sa.Table(
    "orders",
    metadata,
    sa.Column("id", Text(64), primary_key=True),
    sa.Column("buyer_id", Text(64), nullable=False, index=True),
    sa.Column("merchant_id", Text(64), nullable=False, index=True),
    sa.Column("payment_method", Text(16), nullable=False),
    sa.Column("currency", Text(3), nullable=False),
    sa.Column("shipping_fee", Money, nullable=False),
    sa.Column("items", sa.JSON, nullable=False),
    sa.Column("goods_total", Money, nullable=False),
    sa.Column("status", Text(32), nullable=False),
    sa.Column("policy", Text(64), nullable=False),
    sa.Column("paid_amount", Money, nullable=False, default=0),
    sa.Column("refunded_amount", Money, nullable=False, default=0),
    sa.Column("discount", Money, nullable=False, default=0),
    sa.Column("units", sa.JSON, nullable=False, default=dict),  # domain/lines.py
    sa.Column("carrier", Text(64)),
    sa.Column("tracking_number", Text(64)),
    sa.Column("cancel_reason", Text(500)),
    sa.Column("paid_at", UTCDateTime),
    sa.Column("shipped_at", UTCDateTime),
    sa.Column("delivered_at", UTCDateTime),
    sa.Column("completed_at", UTCDateTime),
    sa.Column("cancelled_at", UTCDateTime),
    sa.Column("deadline_action", Text(40)),
    sa.Column("deadline_due_at", UTCDateTime),
    sa.Column("extra", sa.JSON, nullable=False, default=dict),
    sa.Column("creator_id", Text(64)),  # the live-stream host 达人 it was sold through
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index(None, "created_at", "id"),
    sa.Index(None, "buyer_id", "created_at", "id"),  # a buyer's orders, newest first (the console)
)

after_sales = sa.Table(
    "after_sales",
    metadata,
    sa.Column("id", Text(40), primary_key=True),
    sa.Column("order_id", Text(64), sa.ForeignKey("orders.id"), nullable=False, index=True),
    sa.Column("buyer_id", Text(64), nullable=False, index=True),
    sa.Column("merchant_id", Text(64), nullable=False),
    sa.Column("payment_method", Text(16), nullable=False),
    sa.Column("type", Text(16), nullable=False),
    sa.Column("reason", Text(40), nullable=False),
    sa.Column("amount", Money, nullable=False),
    sa.Column("currency", Text(3), nullable=False),
    sa.Column("status", Text(32), nullable=False),
    sa.Column("policy", Text(64), nullable=False),
    sa.Column("description", Text(2000), nullable=False, default=""),
    sa.Column("evidence", sa.JSON, nullable=False, default=list),
    sa.Column("items", sa.JSON, nullable=False, default=list),
    sa.Column("deadline_action", Text(40)),
    sa.Column("deadline_due_at", UTCDateTime),
    sa.Column("return_address", Text(500)),
    sa.Column("return_address_id", Text(64)),  # the entry of the merchant's book it came from
    sa.Column("return_carrier", Text(64)),
    sa.Column("return_tracking", Text(64)),
    sa.Column("exchange_carrier", Text(64)),
    sa.Column("exchange_tracking", Text(64)),
    sa.Column("reject_reason", Text(64)),
    sa.Column("reject_note", Text(2000)),
    sa.Column("dispute_id", Text(40)),
    sa.Column("ruled_amount", Money),  # a return_refund ruling's refund, paid once the goods are back
    sa.Column("closed_at", UTCDateTime),
    sa.Column("extra", sa.JSON, nullable=False, default=dict),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # Listings page by (created_at, id) (services/pages.py): a merchant's queue by status, all
    # cases by status (staff), a merchant's cases.
    sa.Index(None, "merchant_id", "status", "created_at", "id"),
    sa.Index(None, "status", "created_at", "id"),
    sa.Index(None, "merchant_id", "created_at", "id"),
    # The merchant's queue by urgency (reads.case_queue): its pending deadlines soonest first, then
    # the cases without one (deadline_due_at IS NULL), each walked straight from the index.
    sa.Index(None, "merchant_id", "deadline_due_at", "id"),
    # Listings newest first for the platform (every case) and for one buyer (bench/console.py).
    sa.Index(None, "created_at", "id"),
    sa.Index(None, "buyer_id", "created_at", "id"),
)

disputes = sa.Table(
    "disputes",
    metadata,
    sa.Column("id", Text(40), primary_key=True),
    sa.Column("after_sale_id", Text(40), sa.ForeignKey("after_sales.id"), nullable=False, index=True),
    sa.Column("order_id", Text(64), nullable=False),
    sa.Column("buyer_id", Text(64), nullable=False),
    sa.Column("merchant_id", Text(64), nullable=False, index=True),
    sa.Column("kind", Text(16), nullable=False),
    sa.Column("status", Text(32), nullable=False),
    sa.Column("policy", Text(64), nullable=False),
    sa.Column("opened_by", Text(16), nullable=False),
    sa.Column("reason", Text(64)),
    sa.Column("statements", sa.JSON, nullable=False, default=list),
    sa.Column("assignee", Text(64)),
    sa.Column("ruling_due_at", UTCDateTime),
    sa.Column("deadline_action", Text(40)),
    sa.Column("deadline_due_at", UTCDateTime),
    sa.Column("sla_breached", sa.Boolean, nullable=False, default=False),
    sa.Column("evidence_due", sa.JSON, nullable=False, default=dict),
    sa.Column("outcome", Text(16)),
    sa.Column("amount", Money),
    sa.Column("liable_party", Text(16)),
    sa.Column("rationale", Text(4000)),
    sa.Column("ruled_by", Text(64)),
    sa.Column("ruled_at", UTCDateTime),
    sa.Column("extra", sa.JSON, nullable=False, default=dict),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index(None, "status", "ruling_due_at", "id"),
    sa.Index(None, "status", "created_at", "id"),
    # An agent's own queue (oldest first) and an agent's live load, for assignment.
    sa.Index(None, "assignee", "status", "created_at", "id"),
)

# Agents' own notes on a dispute: never shown to the parties.
dispute_notes = sa.Table(
    "dispute_notes",
    metadata,
    sa.Column("id", Text(40), primary_key=True),
    sa.Column("dispute_id", Text(40), sa.ForeignKey("disputes.id"), nullable=False, index=True),
    sa.Column("agent_id", Text(64), nullable=False),
    sa.Column("body", Text(4000), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

appeals = sa.Table(
    "appeals",
    metadata,
    sa.Column("id", Text(40), primary_key=True),
    sa.Column("dispute_id", Text(40), sa.ForeignKey("disputes.id"), nullable=False, index=True),
    sa.Column("after_sale_id", Text(40), nullable=False),
    sa.Column("buyer_id", Text(64), nullable=False),
    sa.Column("merchant_id", Text(64), nullable=False),
    sa.Column("appellant_role", Text(16), nullable=False),
    sa.Column("appellant_id", Text(64), nullable=False),
    sa.Column("grounds", Text(4000), nullable=False),
    sa.Column("evidence", sa.JSON, nullable=False, default=list),
    sa.Column("status", Text(16), nullable=False),
    sa.Column("decision", Text(16)),
    sa.Column("rationale", Text(4000)),
    sa.Column("decided_by", Text(64)),
    sa.Column("decided_at", UTCDateTime),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

# The parties' profiles (domain/parties.py), upserted by the marketplace: what people read
# instead of ids. A merchant's return-address book is a JSON list, the first entry its default.
merchants = sa.Table(
    "merchants",
    metadata,
    sa.Column("id", Text(64), primary_key=True),
    sa.Column("name", Text(200), nullable=False),
    sa.Column("timezone", Text(64), nullable=False),
    sa.Column("return_addresses", sa.JSON, nullable=False, default=list),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

buyers = sa.Table(
    "buyers",
    metadata,
    sa.Column("id", Text(64), primary_key=True),
    sa.Column("display_name", Text(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# The platform's agents and how many live disputes each may hold (automatic assignment).
agents = sa.Table(
    "agents",
    metadata,
    sa.Column("id", Text(64), primary_key=True),
    sa.Column("name", Text(200), nullable=False),
    sa.Column("capacity", sa.Integer, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# Money between platform and merchant that the buyer never sees: who finally bears a refund.
settlements = sa.Table(
    "settlements",
    metadata,
    sa.Column("id", Text(40), primary_key=True),
    sa.Column("merchant_id", Text(64), nullable=False, index=True),
    sa.Column("order_id", Text(64), nullable=False),
    sa.Column("after_sale_id", Text(40), index=True),
    sa.Column("dispute_id", Text(40)),
    # platform_to_merchant | merchant_to_platform | creator_to_platform
    sa.Column("direction", Text(24), nullable=False),
    sa.Column("bearer", Text(16), nullable=False),  # who finally bears it: merchant | platform | creator
    sa.Column("creator_id", Text(64)),  # the creator who bears it
    sa.Column("amount", Money, nullable=False),
    sa.Column("currency", Text(3), nullable=False),
    sa.Column("cause", Text(500), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

# One pending deadline per subject; fired or superseded rows are deleted (the event keeps the record).
deadlines = sa.Table(
    "deadlines",
    metadata,
    sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
    sa.Column("subject_kind", Text(16), nullable=False),
    sa.Column("subject_id", Text(64), nullable=False),
    sa.Column("action", Text(40), nullable=False),
    sa.Column("due_at", UTCDateTime, nullable=False),
    sa.Column("armed_version", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    # The reminder threshold (hours before due) this arming was last considered at, NULL until
    # the first: services/reminders.py. Re-arming resets it, so a new deadline is reminded anew.
    sa.Column("reminded_hours", sa.Integer),
    sa.UniqueConstraint("subject_kind", "subject_id"),
    sa.Index(None, "due_at", "id"),  # the oldest-first order workers take them in
    sqlite_autoincrement=True,  # never reuse an id: a fired id must not come back as a new deadline
)

# On PostgreSQL events and outbox are partitioned by month (migration 0020, store/partitions.py):
# their primary keys there are (id, at) and (id, created_at), and deadline_id is unique per month.
events = sa.Table(
    "events",
    metadata,
    sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
    sa.Column("subject_kind", Text(16), nullable=False),
    sa.Column("subject_id", Text(64), nullable=False),
    sa.Column("action", Text(40), nullable=False),
    sa.Column("actor_role", Text(16), nullable=False),
    sa.Column("actor_id", Text(64), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("before", sa.JSON),
    sa.Column("after", sa.JSON),
    sa.Column("data", sa.JSON, nullable=False, default=dict),
    # The effect of a deadline firing is unique: a second delivery cannot write a second event.
    sa.Column("deadline_id", sa.BigInteger, unique=True),
    sa.Index(None, "subject_kind", "subject_id", "id"),
    sqlite_autoincrement=True,
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.BigInteger, nullable=False),
    sa.Column("topic", Text(64), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("delivered_at", UTCDateTime),  # fanned out to the webhook endpoints (worker/relay.py)
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("streamed_at", UTCDateTime),  # published on the event stream, when one is configured
    sa.Index(None, "delivered_at", "id"),
    sa.Index(None, "streamed_at", "id"),
    sqlite_autoincrement=True,
)

# Where the marketplace hears events: one shop's (merchant_id) or the platform's (merchant_id NULL).
webhook_endpoints = sa.Table(
    "webhook_endpoints",
    metadata,
    sa.Column("id", Text(40), primary_key=True),
    sa.Column("merchant_id", Text(64), index=True),  # NULL: the platform's (an admin's)
    sa.Column("url", Text(2000), nullable=False),
    sa.Column("events", sa.JSON, nullable=False),  # filters: "*", "after_sale.*", "dispute.ruled"
    sa.Column("description", Text(500)),
    sa.Column("secret", Text(100), nullable=False),  # whsec_…
    # After a rotation the old secret keeps signing beside the new one until it expires.
    sa.Column("previous_secret", Text(100)),
    sa.Column("previous_secret_expires_at", UTCDateTime),
    sa.Column("status", Text(16), nullable=False),  # enabled | disabled
    sa.Column("disabled_reason", Text(200)),
    sa.Column("failure_streak", sa.Integer, nullable=False, default=0),  # deliveries failed in a row
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# One event to one endpoint: retried with backoff until it succeeds or is dead-lettered.
webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
    sa.Column("endpoint_id", Text(40), sa.ForeignKey("webhook_endpoints.id"), nullable=False),
    sa.Column("event_id", sa.BigInteger, nullable=False),
    sa.Column("message_id", Text(40), nullable=False),  # webhook-id: the same on every retry
    sa.Column("type", Text(64), nullable=False),
    sa.Column("subject", Text(120), nullable=False),  # ordering key: deliveries of a subject go in order
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("status", Text(16), nullable=False),  # pending | succeeded | dead
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", UTCDateTime),
    sa.Column("claimed_until", UTCDateTime),  # a relay's lease while it posts
    sa.Column("last_status_code", sa.Integer),
    sa.Column("last_latency_ms", sa.Integer),
    sa.Column("last_error", Text(500)),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("delivered_at", UTCDateTime),
    sa.UniqueConstraint("endpoint_id", "event_id"),
    sa.Index(None, "status", "next_attempt_at"),
    sa.Index(None, "endpoint_id", "id"),
    sa.Index(None, "endpoint_id", "subject", "id"),
    sqlite_autoincrement=True,
)

# The delivery log: every attempt with the receiver's answer and how long it took.
webhook_attempts = sa.Table(
    "webhook_attempts",
    metadata,
    sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
    sa.Column("delivery_id", sa.BigInteger, sa.ForeignKey("webhook_deliveries.id"), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("status_code", sa.Integer),  # NULL: no answer (refused, timed out, blocked address)
    sa.Column("latency_ms", sa.Integer, nullable=False),
    sa.Column("error", Text(500)),
    sa.Index(None, "delivery_id", "id"),
    sqlite_autoincrement=True,
)

# Each background loop's last sign of life, for /healthz and /metrics.
heartbeats = sa.Table(
    "heartbeats",
    metadata,
    sa.Column("name", Text(120), primary_key=True),  # e.g. "deadline-worker:host:pid", "relay:host:pid"
    sa.Column("role", Text(32), nullable=False),  # deadline_worker | relay
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("detail", sa.JSON, nullable=False, default=dict),
)

refunds = sa.Table(
    "refunds",
    metadata,
    sa.Column("id", Text(40), primary_key=True),
    sa.Column("order_id", Text(64), sa.ForeignKey("orders.id"), nullable=False, index=True),
    sa.Column("after_sale_id", Text(40), index=True),
    sa.Column("buyer_id", Text(64), nullable=False),
    sa.Column("merchant_id", Text(64), nullable=False),
    sa.Column("amount", Money, nullable=False),
    sa.Column("currency", Text(3), nullable=False),
    sa.Column("payer", Text(16), nullable=False),
    sa.Column("method", Text(32), nullable=False),
    sa.Column("status", Text(16), nullable=False),  # pending | succeeded | failed (services/payments.py)
    sa.Column("evidence", sa.JSON, nullable=False, default=list),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("completed_at", UTCDateTime),
    # The transfer through the payment provider: its reference once it answered, the tries that
    # did not succeed, when the submitter looks at it next (None: nothing to do), the moment it
    # turns late (the policy's refund_confirm from created_at) and whether it did.
    sa.Column("provider", Text(16)),
    sa.Column("provider_ref", Text(64)),
    sa.Column("attempts", sa.Integer, nullable=False, default=0, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime, index=True),
    sa.Column("confirm_by", UTCDateTime),
    sa.Column("late", sa.Boolean, nullable=False, default=False, server_default=sa.false()),
    sa.Column("last_error", Text(200)),
)

# The simulated payment provider's own books (integrations/payments.py), keyed by our refund id,
# its idempotency key: a resubmission finds the refund it already made.
provider_refunds = sa.Table(
    "provider_refunds",
    metadata,
    sa.Column("refund_id", Text(40), primary_key=True),
    sa.Column("reference", Text(64), nullable=False, unique=True),
    sa.Column("amount", Money, nullable=False),
    sa.Column("currency", Text(3), nullable=False),
    sa.Column("state", Text(16), nullable=False),  # accepted | succeeded | failed
    sa.Column("reason", Text(200)),
    sa.Column("submissions", sa.Integer, nullable=False),  # calls of submit() for this refund
    sa.Column("confirms_at", UTCDateTime),  # an accepted refund succeeds from then (the `slow` fault)
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# The simulated provider's switchable fault (one row; none when absent), shared by every process.
provider_faults = sa.Table(
    "provider_faults",
    metadata,
    sa.Column("provider", Text(16), primary_key=True),
    sa.Column("fault", Text(32), nullable=False),
    sa.Column("delay_seconds", sa.Integer, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

violations = sa.Table(
    "violations",
    metadata,
    sa.Column("id", Text(40), primary_key=True),
    sa.Column("merchant_id", Text(64), nullable=False, index=True),
    sa.Column("kind", Text(32), nullable=False),
    sa.Column("points", sa.Integer, nullable=False),
    sa.Column("status", Text(16), nullable=False),
    sa.Column("cause", Text(500), nullable=False),
    sa.Column("order_id", Text(64)),
    sa.Column("after_sale_id", Text(40)),
    sa.Column("dispute_id", Text(40)),
    sa.Column("amount", Money),  # penalties and recoveries carry money; warnings and points do not
    sa.Column("currency", Text(3)),
    sa.Column("revoked_at", UTCDateTime),
    sa.Column("revoked_reason", Text(500)),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

evidence = sa.Table(
    "evidence",
    metadata,
    sa.Column("id", Text(40), primary_key=True),
    sa.Column("uploader_id", Text(64), nullable=False),
    sa.Column("uploader_role", Text(16), nullable=False),
    # The uploader's shop: staff logins are unique per shop only (two shops may both have "ops").
    sa.Column("uploader_merchant_id", Text(64)),
    sa.Column("kind", Text(32), nullable=False),
    sa.Column("media_type", Text(64), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("sha256", Text(64), nullable=False, index=True),
    sa.Column("filename", Text(255)),
    sa.Column("created_at", UTCDateTime, nullable=False),
    # An image's copy for the other party (EXIF and location stripped) and its thumbnail, each
    # stored under its own hash; NULL for files that are not images. See services/evidence.py.
    sa.Column("stripped_sha256", Text(64), index=True),
    sa.Column("thumbnail_sha256", Text(64), index=True),
)

# Which case cites which evidence: who besides the uploader may read it.
evidence_links = sa.Table(
    "evidence_links",
    metadata,
    sa.Column("evidence_id", Text(40), sa.ForeignKey("evidence.id"), primary_key=True),
    sa.Column("after_sale_id", Text(40), sa.ForeignKey("after_sales.id"), primary_key=True),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("principal", Text(160), primary_key=True),
    sa.Column("key", Text(255), primary_key=True),
    sa.Column("request_hash", Text(64), nullable=False),
    sa.Column("status_code", sa.Integer, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("headers", sa.JSON, nullable=False, default=dict),
    sa.Column("created_at", UTCDateTime, nullable=False, index=True),
)

# The simulated clock's reading, shared by every process on the database.
sim_clock = sa.Table(
    "sim_clock",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("now", UTCDateTime, nullable=False),
)

complaints = sa.Table(
    "complaints",
    metadata,
    sa.Column("id", Text(40), primary_key=True),
    sa.Column("complainant_role", Text(16), nullable=False),
    sa.Column("complainant_id", Text(64), nullable=False),
    sa.Column("buyer_id", Text(64), index=True),
    sa.Column("merchant_id", Text(64), nullable=False),
    sa.Column("order_id", Text(64)),
    sa.Column("dispute_id", Text(40)),
    sa.Column("review_id", Text(40)),
    sa.Column("category", Text(32), nullable=False),
    sa.Column("description", Text(4000), nullable=False),
    sa.Column("evidence", sa.JSON, nullable=False, default=list),
    sa.Column("status", Text(32), nullable=False),
    sa.Column("policy", Text(64), nullable=False),
    sa.Column("reply", Text(4000)),
    sa.Column("solution", Text(4000)),
    sa.Column("decision", Text(32)),
    sa.Column("rationale", Text(4000)),
    sa.Column("decided_by", Text(64)),
    sa.Column("review_breached", sa.Boolean, nullable=False, default=False),
    sa.Column("deadline_action", Text(40)),
    sa.Column("deadline_due_at", UTCDateTime),
    sa.Column("extra", sa.JSON, nullable=False, default=dict),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index(None, "merchant_id", "created_at", "id"),
    sa.Index(None, "status", "created_at", "id"),
)

# Lower prices of an item the marketplace reports (价保): what a price-protection request cites.
price_drops = sa.Table(
    "price_drops",
    metadata,
    sa.Column("id", Text(40), primary_key=True),
    sa.Column("merchant_id", Text(64), nullable=False),
    sa.Column("sku", Text(200), nullable=False),
    sa.Column("price", Money, nullable=False),
    sa.Column("currency", Text(3), nullable=False),
    sa.Column("reported_by", Text(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index(None, "merchant_id", "sku", "created_at"),
)

# The negotiation record 协商记录 of a case: what its parties (and customer service) said, in order.
case_messages = sa.Table(
    "case_messages",
    metadata,
    sa.Column("id", Text(40), primary_key=True),
    sa.Column("after_sale_id", Text(40), sa.ForeignKey("after_sales.id"), nullable=False),
    sa.Column("author_role", Text(16), nullable=False),
    sa.Column("author_id", Text(64), nullable=False),
    sa.Column("body", Text(2000), nullable=False),
    sa.Column("evidence", sa.JSON, nullable=False, default=list),
    # The quick reply it was posted from (kept as a reference: deleting the template keeps the text).
    sa.Column("template_id", Text(40)),
    sa.Column("created_at", UTCDateTime, nullable=False),
    # A case's messages page by (created_at, id), oldest first (services/pages.py).
    sa.Index(None, "after_sale_id", "created_at", "id"),
)

# Merchants' quick replies 话术. Each takes one of its shop's numbered slots, so the cap per shop
# holds under concurrent creations on both databases: two taking the same slot, one loses (409).
reply_templates = sa.Table(
    "reply_templates",
    metadata,
    sa.Column("id", Text(40), primary_key=True),
    sa.Column("merchant_id", Text(64), nullable=False),
    sa.Column("slot", sa.Integer, nullable=False),
    sa.Column("title", Text(100), nullable=False),
    sa.Column("body", Text(2000), nullable=False),
    sa.Column("created_by", Text(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("merchant_id", "slot"),
    sa.Index(None, "merchant_id", "created_at", "id"),
)

# Reviews 评价: one per order, by its buyer, once the order completed (domain/reviews.py).
reviews = sa.Table(
    "reviews",
    metadata,
    sa.Column("id", Text(40), primary_key=True),
    # One review per order: the constraint makes two racing first reviews one winner.
    sa.Column("order_id", Text(64), sa.ForeignKey("orders.id"), nullable=False, unique=True),
    sa.Column("buyer_id", Text(64), nullable=False),
    sa.Column("merchant_id", Text(64), nullable=False),
    sa.Column("rating", sa.SmallInteger, nullable=False),
    sa.Column("text", Text(500), nullable=False),
    sa.Column("evidence", sa.JSON, nullable=False, default=list),
    sa.Column("status", Text(32), nullable=False),
    sa.Column("policy", Text(64), nullable=False),
    sa.Column("reply", Text(500)),
    sa.Column("replied_by", Text(64)),
    sa.Column("deadline_action", Text(40)),
    sa.Column("deadline_due_at", UTCDateTime),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index(None, "merchant_id", "created_at", "id"),
    sa.Index(None, "buyer_id", "created_at", "id"),
)

# Which review shows which photo: who besides the uploader may read it (the review's readers).
review_photos = sa.Table(
    "review_photos",
    metadata,
    sa.Column("evidence_id", Text(40), sa.ForeignKey("evidence.id"), primary_key=True),
    sa.Column("review_id", Text(40), sa.ForeignKey("reviews.id"), primary_key=True),
)

# Console sign-ins (web/session.py): the cookie holds a random token, this row its SHA-256, so a
# copy of the table signs no one in; signing out deletes the row, which ends the session at once.
console_sessions = sa.Table(
    "console_sessions",
    metadata,
    sa.Column("token_hash", Text(64), primary_key=True),
    sa.Column("role", Text(32), nullable=False),
    sa.Column("actor_id", Text(64), nullable=False),
    sa.Column("merchant_id", Text(64)),
    sa.Column("csrf", Text(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False, index=True),
)
