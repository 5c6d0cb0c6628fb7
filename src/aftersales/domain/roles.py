"""Who acts, and the named groups of roles the rules speak of: each group is defined here once."""

from __future__ import annotations

BUYER = "buyer"
MERCHANT = "merchant"
AGENT = "agent"  # 平台客服/仲裁员
ADMIN = "admin"
INTEGRATION = "integration"  # the marketplace's own systems 对接系统
SYSTEM = "system"  # the deadline engine

# Roles a bearer token may carry; `system` is never a caller from outside.
TOKEN_ROLES = (BUYER, MERCHANT, AGENT, ADMIN, INTEGRATION)
ROLES = (*TOKEN_ROLES, SYSTEM)

# The two sides of a case, a dispute or a complaint.
PARTIES = frozenset({BUYER, MERCHANT})
# The platform's people: they review, assign, rule and decide.
PLATFORM = frozenset({AGENT, ADMIN})
# Who feeds orders and their payments and logistics in.
MARKETPLACE = frozenset({INTEGRATION, ADMIN})
# Who sees every tenant's rows (buyers see their own, merchants their shop's).
ALL_TENANTS = frozenset({AGENT, ADMIN, INTEGRATION, SYSTEM})
# Whose actions a lapsed deadline locks out: once a step's timer lapsed the system owns it.
# The platform's own SLA lapsing is a breach, not a lock-out, so agents and admins are exempt.
TIMER_BOUND = frozenset({BUYER, MERCHANT, INTEGRATION})
# Who reads disputes, appeals and complaints at all: the parties, the platform, and the system
# that fires their deadlines; never the marketplace's order feed (403, not 404).
AUDIENCE = frozenset({*PARTIES, *PLATFORM, SYSTEM})
