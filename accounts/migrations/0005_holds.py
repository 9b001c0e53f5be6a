"""Holds: money of a customer account reserved now, captured or voided later.

Creates ``accounts_hold`` with its CHECK constraints (see ``accounts.models.Hold``) and adds
``accounts_account.reserved_minor`` (a constant default: no table rewrite on PostgreSQL). The
account's CHECKs on the reservation follow in 0006, added without blocking writes. On
PostgreSQL, triggers guard what a CHECK cannot say:

- ``hold_guard``: a hold is inserted ``pending`` with nothing captured; it is never deleted;
  it leaves ``pending`` exactly once (a hold that is captured, voided or expired never changes
  again); only its status, ``captured_minor`` (which never decreases), ``resolved_at`` and
  ``resolution_reason`` ever change; an expired hold is resolved at its ``expires_at``.
- ``hold_reservation`` / ``account_reservation``: deferred constraint triggers that check, at
  commit, that the ``reserved_minor`` of every account whose holds or reservation changed
  equals what its pending holds still reserve (``amount_minor - captured_minor``). The
  account trigger fires only when ``reserved_minor`` changes, so a posting pays nothing.

Violations raise SQLSTATE 23514 (check) or 23001 (restrict), which Django reports as
``IntegrityError``. SQLite has the CHECK constraints but not the triggers.
"""

import uuid

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from ledger.migration_operations import run_sql_on_postgresql

FORWARD = """
CREATE FUNCTION ledger_guard_hold_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status = 'pending' AND NEW.captured_minor = 0 AND NEW.resolved_at IS NULL THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'a hold is created pending, with nothing captured'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'hold_created_pending';
    END IF;
    IF TG_OP = 'UPDATE'
       AND OLD.status = 'pending'
       AND NEW.captured_minor >= OLD.captured_minor
       AND (to_jsonb(NEW) - 'status' - 'captured_minor' - 'resolved_at' - 'resolution_reason')
           = (to_jsonb(OLD) - 'status' - 'captured_minor' - 'resolved_at' - 'resolution_reason')
       AND (NEW.status <> 'expired' OR NEW.resolved_at = OLD.expires_at)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'a hold leaves pending once and is otherwise unchangeable: % of hold % (%) refused',
        TG_OP, OLD.id, OLD.status
        USING ERRCODE = 'restrict_violation', CONSTRAINT = 'hold_guard';
END $$;

CREATE TRIGGER hold_guard
    BEFORE INSERT OR UPDATE OR DELETE ON accounts_hold
    FOR EACH ROW EXECUTE FUNCTION ledger_guard_hold_change();

CREATE FUNCTION ledger_assert_reservation(account_pk bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    stored bigint;
    held numeric;
BEGIN
    SELECT a.reserved_minor INTO stored FROM accounts_account a WHERE a.id = account_pk;
    SELECT coalesce(sum(h.amount_minor - h.captured_minor), 0) INTO held
      FROM accounts_hold h WHERE h.account_id = account_pk AND h.status = 'pending';
    IF stored <> held THEN
        RAISE EXCEPTION 'account % reserves % but its pending holds reserve %', account_pk, stored, held
            USING ERRCODE = 'check_violation', CONSTRAINT = 'account_reservation_matches_holds';
    END IF;
END $$;

CREATE FUNCTION ledger_hold_reservation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ledger_assert_reservation(NEW.account_id);
    RETURN NULL;
END $$;

CREATE FUNCTION ledger_account_reservation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ledger_assert_reservation(NEW.id);
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER hold_reservation
    AFTER INSERT OR UPDATE ON accounts_hold DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_hold_reservation();

CREATE CONSTRAINT TRIGGER account_reservation
    AFTER UPDATE OF reserved_minor ON accounts_account DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (OLD.reserved_minor IS DISTINCT FROM NEW.reserved_minor)
    EXECUTE FUNCTION ledger_account_reservation();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS account_reservation ON accounts_account;
DROP TRIGGER IF EXISTS hold_reservation ON accounts_hold;
DROP FUNCTION IF EXISTS ledger_account_reservation();
DROP FUNCTION IF EXISTS ledger_hold_reservation();
DROP FUNCTION IF EXISTS ledger_assert_reservation(bigint);
DROP TRIGGER IF EXISTS hold_guard ON accounts_hold;
DROP FUNCTION IF EXISTS ledger_guard_hold_change();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_system_accounts_keep_no_balance"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Hold",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("public_id", models.UUIDField(default=uuid.uuid4, editable=False, unique=True, verbose_name="id")),
                ("currency", models.CharField(max_length=3)),
                ("amount_minor", models.BigIntegerField(help_text="Amount held, in minor units; always positive.")),
                (
                    "captured_minor",
                    models.BigIntegerField(default=0, help_text="Amount captured so far, in minor units."),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Pending"),
                            ("captured", "Captured"),
                            ("voided", "Voided"),
                            ("expired", "Expired"),
                        ],
                        default="pending",
                        max_length=8,
                    ),
                ),
                ("description", models.CharField(blank=True, default="", max_length=500)),
                ("reference", models.CharField(blank=True, default="", max_length=200)),
                ("metadata", models.JSONField(blank=True, default=dict)),
                (
                    "expires_at",
                    models.DateTimeField(
                        help_text="From this instant the hold reserves nothing and cannot be captured."
                    ),
                ),
                ("created_at", models.DateTimeField()),
                ("resolved_at", models.DateTimeField(blank=True, help_text="When it left pending.", null=True)),
                (
                    "resolution_reason",
                    models.CharField(blank=True, default="", help_text="Why it was voided.", max_length=500),
                ),
            ],
            options={
                "permissions": [("void_hold", "Can void a pending hold")],
            },
        ),
        migrations.AddField(
            model_name="account",
            name="reserved_minor",
            field=models.BigIntegerField(
                db_default=0,
                default=0,
                editable=False,
                help_text="What the account's pending holds still reserve, in minor units.",
            ),
        ),
        migrations.AddField(
            model_name="hold",
            name="account",
            field=models.ForeignKey(
                help_text="The account whose money is held.",
                on_delete=django.db.models.deletion.PROTECT,
                related_name="holds",
                to="accounts.account",
            ),
        ),
        migrations.AddField(
            model_name="hold",
            name="created_by",
            field=models.ForeignKey(
                help_text="The client who placed it.",
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="hold",
            name="destination_account",
            field=models.ForeignKey(
                blank=True,
                help_text="Where a capture sends the money; empty: a capture is a withdrawal.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="accounts.account",
            ),
        ),
        migrations.AddIndex(
            model_name="hold",
            index=models.Index(fields=["account", "-id"], name="hold_account_newest_idx"),
        ),
        migrations.AddIndex(
            model_name="hold",
            index=models.Index(fields=["status", "-id"], name="hold_status_newest_idx"),
        ),
        migrations.AddIndex(
            model_name="hold",
            index=models.Index(fields=["reference"], name="hold_reference_idx"),
        ),
        migrations.AddIndex(
            model_name="hold",
            index=models.Index(
                condition=models.Q(("status", "pending")),
                fields=["account", "expires_at"],
                name="hold_account_pending_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="hold",
            index=models.Index(
                condition=models.Q(("status", "pending")), fields=["expires_at"], name="hold_pending_expiry_idx"
            ),
        ),
        migrations.AddConstraint(
            model_name="hold",
            constraint=models.CheckConstraint(condition=models.Q(("amount_minor__gt", 0)), name="hold_amount_positive"),
        ),
        migrations.AddConstraint(
            model_name="hold",
            constraint=models.CheckConstraint(
                condition=models.Q(("captured_minor__gte", 0), ("captured_minor__lte", models.F("amount_minor"))),
                name="hold_captured_within_amount",
            ),
        ),
        migrations.AddConstraint(
            model_name="hold",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", ["pending", "captured", "voided", "expired"])),
                name="hold_status_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="hold",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("captured_minor__lt", models.F("amount_minor")),
                        ("resolved_at__isnull", True),
                        ("status", "pending"),
                    ),
                    models.Q(models.Q(("status", "pending"), _negated=True), ("resolved_at__isnull", False)),
                    _connector="OR",
                ),
                name="hold_resolved_iff_not_pending",
            ),
        ),
        migrations.AddConstraint(
            model_name="hold",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("status", "captured"), _negated=True), ("captured_minor__gt", 0), _connector="OR"
                ),
                name="hold_captured_took_money",
            ),
        ),
        migrations.AddConstraint(
            model_name="hold",
            constraint=models.CheckConstraint(
                condition=models.Q(("expires_at__gt", models.F("created_at"))), name="hold_expires_after_creation"
            ),
        ),
        migrations.AddConstraint(
            model_name="hold",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("resolved_at__isnull", True), ("resolved_at__lte", models.F("expires_at")), _connector="OR"
                ),
                name="hold_resolved_by_expiry",
            ),
        ),
        migrations.AddConstraint(
            model_name="hold",
            constraint=models.CheckConstraint(
                condition=models.Q(("account", models.F("destination_account")), _negated=True),
                name="hold_distinct_accounts",
            ),
        ),
        run_sql_on_postgresql(FORWARD, BACKWARD),
    ]
