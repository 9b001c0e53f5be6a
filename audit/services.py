"""Writing audit records. Call inside the database transaction of the action itself."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import connection

from audit.models import AuditRecord

if TYPE_CHECKING:
    from ledger.users import User


def audit_record_create(
    *,
    action: str,
    target_type: str,
    target_id: object,
    reason: str,
    operator: User | None = None,
    operator_label: str = "",
    ip_address: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditRecord:
    """Record an operator action, in the database transaction of the action itself.

    Refuse (``RuntimeError``) outside a transaction, where the record could outlive a rollback.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("audit records are written inside the action's own database transaction")
    return AuditRecord.objects.create(
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        reason=reason,
        operator=operator,
        operator_label=operator_label or (operator.get_username() if operator is not None else "unknown"),
        ip_address=ip_address,
        details=details or {},
    )
