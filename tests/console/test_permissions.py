"""Who may see and do what in the operator console, through Django's test client.

Anonymous visitors and logged-in non-staff users are sent to the admin login; staff without
a permission get 403; "Ledger auditors" see everything and change nothing; "Ledger
operators" also reverse, freeze and void holds; superusers do all of it. Nobody adds, changes or
deletes a ledger record in the admin.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.db import transaction as db_transaction
from django.db.migrations.executor import MigrationExecutor

from accounts.models import Account, Hold
from audit.models import AuditRecord
from audit.services import audit_record_create
from tests.console.helpers import (
    AUDITORS,
    GROUPS_MIGRATION,
    OPERATORS,
    admin_url,
    logged_in,
    make_user,
    remake_ledger_groups,
)
from transactions.models import Posting, Transaction

pytestmark = pytest.mark.django_db

VIEWS = [
    "accounts.view_account",
    "accounts.view_hold",
    "audit.view_auditrecord",
    "reconciliation.view_reconciliationrun",
    "transactions.view_batch",
    "transactions.view_idempotencyrecord",
    "transactions.view_posting",
    "transactions.view_transaction",
    "webhooks.view_webhookdelivery",
    "webhooks.view_webhookendpoint",
]
OPERATOR_EXTRA = [
    "accounts.change_account_status",
    "accounts.void_hold",
    "transactions.reverse_transaction",
    "webhooks.redeliver_webhookdelivery",
]
# What the groups migration itself granted, before holds.
FIRST_OPERATOR_EXTRA = ["accounts.change_account_status", "transactions.reverse_transaction"]
LEDGER_APPS = {"accounts", "transactions", "audit", "reconciliation", "webhooks"}
LATEST_GRANT = ("audit", "0008_webhook_permissions")  # Migrating back to it re-applies every grant.
# Registered in the admin but no ledger records: users (password hashes) and API tokens
# (credentials). "View everything" in the README means the books; the groups see none of these.
NOT_LEDGER_APPS = {"auth", "authtoken"}


def perm_names(group) -> list[str]:
    return sorted(f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type"))


def assert_groups(groups, views=VIEWS, extra=OPERATOR_EXTRA) -> None:
    """Auditors view every ledger model (those the migrations saw) and nothing else; operators
    may also reverse, change account status and void holds."""
    auditors = perm_names(groups[AUDITORS])
    assert set(views) <= set(auditors)
    assert all(p.split(".")[1].startswith("view_") and p.split(".")[0] in LEDGER_APPS for p in auditors), auditors
    assert perm_names(groups[OPERATORS]) == sorted(auditors + extra)


def test_the_migration_creates_the_auditor_and_operator_groups(ledger_groups):
    assert_groups(ledger_groups)


def test_the_groups_migration_is_reversible(ledger_groups):
    executor = MigrationExecutor(connection)
    executor.migrate([("audit", "0001_audit_record")])
    assert not Group.objects.filter(name__in=[AUDITORS, OPERATORS]).exists()

    executor = MigrationExecutor(connection)
    executor.migrate([GROUPS_MIGRATION])
    later = {"transactions.view_batch", "reconciliation.view_reconciliationrun", "accounts.view_hold"}
    later |= {"webhooks.view_webhookdelivery", "webhooks.view_webhookendpoint"}
    first_views = [v for v in VIEWS if v not in later]
    groups = {g.name: g for g in Group.objects.filter(name__in=[AUDITORS, OPERATORS])}
    assert_groups(groups, first_views, FIRST_OPERATOR_EXTRA)


def test_groups_remade_after_a_flush_hold_what_the_migrations_granted(ledger_groups):
    Group.objects.filter(name__in=[AUDITORS, OPERATORS]).delete()
    remake_ledger_groups()
    assert_groups({g.name: g for g in Group.objects.filter(name__in=[AUDITORS, OPERATORS])})


def test_the_reconciliation_run_grant_is_a_reversible_migration_of_its_own(ledger_groups):
    def groups_viewing_runs() -> set[str]:
        return set(
            Group.objects.filter(
                name__in=[AUDITORS, OPERATORS], permissions__codename="view_reconciliationrun"
            ).values_list("name", flat=True)
        )

    assert groups_viewing_runs() == {AUDITORS, OPERATORS}
    MigrationExecutor(connection).migrate([("audit", "0003_batch_view_permission")])
    assert groups_viewing_runs() == set()
    MigrationExecutor(connection).migrate([("audit", "0004_reconciliation_run_view_permission")])
    assert groups_viewing_runs() == {AUDITORS, OPERATORS}
    MigrationExecutor(connection).migrate([LATEST_GRANT])
    assert_groups({g.name: g for g in Group.objects.filter(name__in=[AUDITORS, OPERATORS])})


def test_the_hold_grant_is_a_reversible_migration_of_its_own(ledger_groups):
    def holders(codename: str) -> set[str]:
        return set(
            Group.objects.filter(name__in=[AUDITORS, OPERATORS], permissions__codename=codename).values_list(
                "name", flat=True
            )
        )

    assert (holders("view_hold"), holders("void_hold")) == ({AUDITORS, OPERATORS}, {OPERATORS})
    MigrationExecutor(connection).migrate([("audit", "0004_reconciliation_run_view_permission")])
    assert (holders("view_hold"), holders("void_hold")) == (set(), set())
    assert holders("view_reconciliationrun") == {AUDITORS, OPERATORS}  # An earlier grant stays.
    MigrationExecutor(connection).migrate([("audit", "0005_hold_permissions")])
    assert (holders("view_hold"), holders("void_hold")) == ({AUDITORS, OPERATORS}, {OPERATORS})
    MigrationExecutor(connection).migrate([LATEST_GRANT])
    assert_groups({g.name: g for g in Group.objects.filter(name__in=[AUDITORS, OPERATORS])})


def test_both_groups_may_view_every_ledger_model_of_the_admin_and_no_other(auditor, operator):
    assert {model._meta.app_label for model in admin.site._registry} == LEDGER_APPS | NOT_LEDGER_APPS
    for user in (auditor, operator):
        for model in admin.site._registry:
            may_view = user.has_perm(f"{model._meta.app_label}.view_{model._meta.model_name}")
            assert may_view == (model._meta.app_label in LEDGER_APPS), (user.username, model._meta.label)


@pytest.mark.parametrize("group", [AUDITORS, OPERATORS])
def test_both_groups_open_the_reconciliation_runs_and_other_staff_cannot(group, ledger_groups, reconciliation_run):
    member = logged_in(make_user("member", groups=[ledger_groups[group]]))
    other_staff = logged_in(make_user("other-staff"))
    list_url = admin_url("reconciliation_reconciliationrun_changelist")
    run_url = admin_url("reconciliation_reconciliationrun_change", reconciliation_run.pk)

    listed, shown = member.get(list_url), member.get(run_url)

    assert (listed.status_code, shown.status_code) == (200, 200)
    assert run_url in listed.content.decode()
    assert "stored balance differs" in shown.content.decode()
    assert 'name="_save"' not in shown.content.decode()
    assert (other_staff.get(list_url).status_code, other_staff.get(run_url).status_code) == (403, 403)


def pages(books, run, hold) -> dict[str, str]:
    return {
        "account list": admin_url("accounts_account_changelist"),
        "transaction list": admin_url("transactions_transaction_changelist"),
        "posting list": admin_url("transactions_posting_changelist"),
        "audit list": admin_url("audit_auditrecord_changelist"),
        "account detail": admin_url("accounts_account_change", books.alice.pk),
        "transaction detail": admin_url("transactions_transaction_change", books.transfer.pk),
        "reverse": admin_url("transactions_transaction_reverse", books.transfer.pk),
        "freeze": admin_url("accounts_account_freeze", books.alice.pk),
        "reconciliation list": admin_url("reconciliation_reconciliationrun_changelist"),
        "reconciliation detail": admin_url("reconciliation_reconciliationrun_change", run.pk),
        "hold list": admin_url("accounts_hold_changelist"),
        "hold detail": admin_url("accounts_hold_change", hold.pk),
        "void": admin_url("accounts_hold_void", hold.pk),
    }


LOGIN = "login"
EVERYTHING = {
    "account list": 200,
    "transaction list": 200,
    "posting list": 200,
    "audit list": 200,
    "account detail": 200,
    "transaction detail": 200,
    "reverse": 200,
    "freeze": 200,
    "reconciliation list": 200,
    "reconciliation detail": 200,
    "hold list": 200,
    "hold detail": 200,
    "void": 200,
}
MATRIX = {
    "anonymous": dict.fromkeys(EVERYTHING, LOGIN),
    "non-staff": dict.fromkeys(EVERYTHING, LOGIN),
    "staff without permissions": dict.fromkeys(EVERYTHING, 403),
    "auditor": EVERYTHING | {"reverse": 403, "freeze": 403, "void": 403},
    "operator": EVERYTHING,
    "superuser": EVERYTHING,
}


@pytest.fixture
def visitor(request, ledger_groups):
    role = request.param
    if role == "anonymous":
        return None
    return {
        "non-staff": lambda: make_user("customer-user", staff=False),
        "staff without permissions": lambda: make_user("bare-staff"),
        "auditor": lambda: make_user("auditor", groups=[ledger_groups[AUDITORS]]),
        "operator": lambda: make_user("operator", groups=[ledger_groups[OPERATORS]]),
        "superuser": lambda: make_user("root", superuser=True),
    }[role]()


@pytest.mark.parametrize("visitor", list(MATRIX), indirect=True)
@pytest.mark.parametrize("page", list(EVERYTHING))
def test_permission_matrix(request, visitor, page, books, reconciliation_run, hold):
    role = request.node.callspec.params["visitor"]
    expected = MATRIX[role][page]
    response = logged_in(visitor).get(pages(books, reconciliation_run, hold)[page])
    if expected == LOGIN:
        assert response.status_code == 302
        assert response["Location"].startswith(admin_url("login"))
    else:
        assert response.status_code == expected, f"{role} on {page}"


@pytest.mark.parametrize("role", ["auditor", "staff without permissions"])
def test_a_reverse_freeze_or_void_posted_without_the_permission_is_refused_and_changes_nothing(
    role, books, hold, ledger_groups
):
    user = make_user(role.replace(" ", "-"), groups=[ledger_groups[AUDITORS]] if role == "auditor" else [])
    client = logged_in(user)
    transactions_before = Transaction.objects.count()

    reverse_response = client.post(
        admin_url("transactions_transaction_reverse", books.transfer.pk),
        {"reason": "try", "token": "6f1c3a38-9d9a-4e57-9a43-3c2f5b1f7b10"},
    )
    freeze_response = client.post(admin_url("accounts_account_freeze", books.alice.pk), {"reason": "try"})
    void_response = client.post(admin_url("accounts_hold_void", hold.pk), {"reason": "try"})

    assert (reverse_response.status_code, freeze_response.status_code, void_response.status_code) == (403, 403, 403)
    hold.refresh_from_db()
    assert (hold.status, books.alice.reserved_minor) == (Hold.Status.PENDING, 1000)
    books.refresh()
    assert books.transfer.status == Transaction.Status.POSTED
    assert books.alice.status == Account.Status.ACTIVE
    assert Transaction.objects.count() == transactions_before
    assert not AuditRecord.objects.exists()


def test_the_operator_sees_the_reverse_and_freeze_buttons(books, operator):
    client = logged_in(operator)
    transaction_page = client.get(admin_url("transactions_transaction_change", books.transfer.pk)).content.decode()
    account_page = client.get(admin_url("accounts_account_change", books.alice.pk)).content.decode()

    assert admin_url("transactions_transaction_reverse", books.transfer.pk) in transaction_page
    assert admin_url("accounts_account_freeze", books.alice.pk) in account_page
    assert admin_url("accounts_account_close", books.alice.pk) in account_page
    assert admin_url("accounts_account_unfreeze", books.alice.pk) not in account_page  # It is active.


def test_the_auditor_sees_no_reverse_or_freeze_button(books, auditor):
    client = logged_in(auditor)
    transaction_page = client.get(admin_url("transactions_transaction_change", books.transfer.pk)).content.decode()
    account_page = client.get(admin_url("accounts_account_change", books.alice.pk)).content.decode()

    assert admin_url("transactions_transaction_reverse", books.transfer.pk) not in transaction_page
    assert admin_url("accounts_account_freeze", books.alice.pk) not in account_page
    assert "Alice" in account_page  # ...but sees the account.


def test_system_accounts_have_no_status_buttons(books, superuser):
    system = Account.objects.get(is_system=True, currency="USD")
    page = logged_in(superuser).get(admin_url("accounts_account_change", system.pk)).content.decode()
    assert admin_url("accounts_account_freeze", system.pk) not in page


READ_ONLY_MODELS = [
    "accounts_account",
    "accounts_hold",
    "transactions_transaction",
    "transactions_posting",
    "audit_auditrecord",
]


def some_record(model_url: str, books, hold):
    if model_url == "accounts_account":
        return books.alice
    if model_url == "accounts_hold":
        return hold
    if model_url == "transactions_transaction":
        return books.transfer
    if model_url == "transactions_posting":
        return Posting.objects.filter(transaction=books.transfer).first()
    with db_transaction.atomic():
        return audit_record_create(action="freeze", target_type="account", target_id=books.alice.public_id, reason="x")


@pytest.mark.parametrize("role", ["operator", "superuser"])
@pytest.mark.parametrize("model_url", READ_ONLY_MODELS)
def test_ledger_records_are_read_only_for_everyone(role, model_url, books, hold, ledger_groups):
    user = make_user(role, superuser=role == "superuser", groups=[ledger_groups[OPERATORS]])
    client = logged_in(user)
    record = some_record(model_url, books, hold)
    before = type(record).objects.filter(pk=record.pk).values().get()
    count = type(record).objects.count()

    add_page = client.get(admin_url(f"{model_url}_add"))
    add_post = client.post(admin_url(f"{model_url}_add"), {"name": "x", "reason": "x"})
    change_post = client.post(admin_url(f"{model_url}_change", record.pk), {"name": "Mallory", "status": "reversed"})
    delete_page = client.get(admin_url(f"{model_url}_delete", record.pk))
    delete_post = client.post(admin_url(f"{model_url}_delete", record.pk), {"post": "yes"})
    view_page = client.get(admin_url(f"{model_url}_change", record.pk))

    assert [add_page.status_code, add_post.status_code, change_post.status_code] == [403, 403, 403]
    assert [delete_page.status_code, delete_post.status_code] == [403, 403]
    assert view_page.status_code == 200
    assert 'name="_save"' not in view_page.content.decode()  # A view, not a form.
    assert type(record).objects.filter(pk=record.pk).values().get() == before
    assert type(record).objects.count() == count


def test_the_admin_lists_offer_no_bulk_actions(books, superuser):
    page = logged_in(superuser).get(admin_url("transactions_transaction_changelist")).content.decode()
    assert "delete_selected" not in page
    assert 'name="action"' not in page


def test_operators_hold_exactly_the_custom_permissions(operator):
    granted = {p for p in OPERATOR_EXTRA if operator.has_perm(p)}
    assert granted == set(OPERATOR_EXTRA)
    assert not operator.has_perm("transactions.change_transaction")
    assert not Permission.objects.filter(group__name=AUDITORS, codename__startswith="change_").exists()
