"""Domain errors: each carries a stable snake_case `code`; the API maps codes to HTTP once."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "domain_error"

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        self.extra = extra


class NotFound(DomainError):
    code = "not_found"


class Forbidden(DomainError):
    """The caller's role may never take this action."""

    code = "forbidden"


class Unauthenticated(DomainError):
    code = "unauthenticated"


class Unavailable(DomainError):
    """Something the service relies on does not answer (503 with Retry-After): the caller may retry."""

    code = "service_unavailable"


class NotConfigured(DomainError):
    """This deployment lacks something a feature needs (503 without Retry-After: retrying will not
    help until an operator installs or configures it; the detail says what)."""

    code = "not_configured"


class IllegalTransition(DomainError):
    """The action is not allowed in the current state."""

    code = "illegal_transition"


class DeadlinePassed(DomainError):
    code = "deadline_passed"


class Conflict(DomainError):
    """Generic state conflict (duplicate id, case already open, ...)."""

    code = "conflict"


class VersionConflict(DomainError):
    """Someone else changed the aggregate first (lost compare-and-set)."""

    code = "version_conflict"


class PreconditionFailed(DomainError):
    """A stale If-Match."""

    code = "precondition_failed"


class ValidationFailed(DomainError):
    code = "validation_error"


class AmountExceedsRefundable(ValidationFailed):
    code = "amount_exceeds_refundable"
