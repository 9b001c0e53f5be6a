"""Holds in the operator console: the list and its filters, a hold's page, the account's holds, voiding.

A hold is shown as it is at the instant of the page: a pending hold past its expiry is
expired (and reserves nothing) before anything records it so, in its status, in the status
filter and in the account's available balance. Voiding goes through the hold service with a
reason: the reservation is released and an audit record written in the same transaction; a
refusal changes nothing; auditors see holds but cannot void them.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.utils import timezone

from accounts.models import Account, Hold
from audit.models import AuditRecord
from console import holds as console_holds
from console.holds import HoldAdmin
from harness.books import assert_books_balance
from ledger.atomic import OUTCOME_UNKNOWN_DETAIL
from ledger.errors import Unavailable
from tests.console.helpers import admin_url, logged_in, messages_of
from tests.factories import AccountFactory, UserFactory
from tests.holds import lapse
from transactions import holds as hold_services
from transactions import services
from transactions.holds import hold_capture, hold_create, hold_void

pytestmark = pytest.mark.django_db

IP = "203.0.113.9"


@pytest.fixture
def root(superuser):
    return logged_in(superuser)


def listed(client, query: str = "") -> list[Hold]:
    response = client.get(admin_url("accounts_hold_changelist") + query)
    assert response.status_code == 200, response
    return list(response.context["cl"].result_list)


def place(books, amount="1.00", *, days=1.0, destination=True, reference=""):
    return hold_create(
        actor=books.client_user,
        account_id=books.alice.public_id,
        destination_account_id=books.bob.public_id if destination else None,
        amount=amount,
        expires_at=timezone.now() + datetime.timedelta(days=days),
        reference=reference,
    )


def void(client, hold, reason="Order cancelled by phone", follow=True):
    return client.post(admin_url("accounts_hold_void", hold.pk), {"reason": reason}, follow=follow, REMOTE_ADDR=IP)


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


# --- the list ------------------------------------------------------------------------------


def test_the_list_shows_each_hold_with_its_amounts_in_its_currency(books, hold, root):
    hold_capture(actor=books.client_user, hold_id=hold.public_id, amount="2.50")
    html = root.get(admin_url("accounts_hold_changelist")).content.decode()

    assert admin_url("accounts_hold_change", hold.pk) in html
    assert str(hold.public_id)[:8] in html
    assert f"Alice · {str(books.alice.public_id)[:8]}" in html
    assert f"Bob · {str(books.bob.public_id)[:8]}" in html
    assert "10.00 USD" in html  # amount
    assert "2.50 USD" in html  # captured
    assert "7.50 USD" in html  # remaining
    assert ">Pending<" in html  # The status's label.


def test_a_hold_past_its_expiry_is_listed_as_expired_before_it_is_recorded(books, hold, root):
    lapsed = place(books, "3.00")
    lapse(lapsed)
    assert lapsed.status == Hold.Status.PENDING  # As recorded.

    html = root.get(admin_url("accounts_hold_changelist")).content.decode()
    row = html[html.index(str(lapsed.public_id)[:8]) :]
    row = row[: row.index("</tr>")]
    assert "Expired (not yet recorded)" in row
    assert "0.00 USD" in row  # It reserves nothing any more.


def test_the_status_filter_tells_pending_from_expired_at_this_instant(books, hold, root):
    lapsed = place(books, "3.00")
    lapse(lapsed)
    recorded = place(books, "1.00")
    lapse(recorded)
    hold_services.holds_expire()  # Now recorded as expired.
    captured = place(books, "2.00")
    hold_capture(actor=books.client_user, hold_id=captured.public_id)
    voided = place(books, "4.00")
    hold_void(actor=books.client_user, hold_id=voided.public_id)
    lapsed_later = place(books, "0.50")
    lapse(lapsed_later)  # Past expiry, not recorded yet.

    assert listed(root, "?status=pending") == [hold]
    assert listed(root, "?status=expired") == [lapsed_later, recorded, lapsed]
    assert listed(root, "?status=captured") == [fresh(captured)]
    assert listed(root, "?status=voided") == [fresh(voided)]
    assert len(listed(root)) == 6


def test_the_expiry_filter(books, hold, root):
    later = place(books, "2.00", days=3)
    much_later = place(books, "2.00", days=20)
    voided = place(books, "1.00")
    hold_void(actor=books.client_user, hold_id=voided.public_id)
    lapsed = place(books, "1.00")
    lapse(lapsed)  # Last: every write on the account records the expiry of its lapsed holds.

    assert listed(root, "?expiry=24h") == [hold]
    assert listed(root, "?expiry=7d") == [later, hold]
    assert listed(root, "?expiry=passed") == [lapsed]
    assert listed(root, "?expiry=unrecorded") == [lapsed]
    assert much_later in listed(root)


def test_holds_are_found_by_hold_id_account_id_and_reference(books, hold, root):
    other = place(books, "1.00", destination=False, reference="CART-1")

    assert listed(root, f"?q={hold.public_id}") == [hold]
    assert listed(root, f"?q={books.alice.public_id}") == [other, hold]
    assert listed(root, f"?q={books.bob.public_id}") == [hold]  # Bob is its destination.
    assert listed(root, "?q=ORDER-9") == [hold]
    assert listed(root, "?q=+CART-1+") == [other]
    assert listed(root, "?q=order") == [hold]  # Any part, any case.
    assert listed(root, "?q=cart") == [other]
    assert listed(root, f"?q={str(hold.public_id)[:8]}") == [hold]  # A short id.
    assert listed(root, "?q=bob") == [hold]  # An account's name: Bob is its destination.
    assert listed(root, "?q=00000000-0000-0000-0000-000000000000") == []


def test_the_holds_of_one_account(books, hold, root):
    assert listed(root, f"?account={books.alice.pk}") == [hold]
    assert listed(root, f"?account={books.bob.pk}") == []  # Held on Alice's account, not Bob's.


def test_the_list_offers_no_bulk_actions_and_no_add_button(hold, root):
    html = root.get(admin_url("accounts_hold_changelist")).content.decode()
    assert 'name="action"' not in html
    assert admin_url("accounts_hold_add") not in html


def test_the_list_pages_without_counting(books, hold, root, monkeypatch):
    for _ in range(3):
        place(books, "1.00")
    monkeypatch.setattr(HoldAdmin, "list_per_page", 2)
    first, second = listed(root), listed(root, "?p=2")
    assert len(first) == len(second) == 2
    assert second[-1] == hold


# --- a hold's page -------------------------------------------------------------------------


def test_a_holds_page_shows_it_and_links_its_captures(books, hold, root):
    first = hold_capture(actor=books.client_user, hold_id=hold.public_id, amount="4.00")
    second = hold_capture(actor=books.client_user, hold_id=hold.public_id, amount="1.00", final=True)

    page = root.get(admin_url("accounts_hold_change", hold.pk))

    assert page.status_code == 200
    html = page.content.decode()
    assert str(hold.public_id) in html
    assert "ORDER-9" in html
    assert "acme" in html  # Placed by the client.
    assert admin_url("accounts_account_change", books.alice.pk) in html
    assert admin_url("accounts_account_change", books.bob.pk) in html
    table = html[html.index('id="hold-captures"') :]
    assert table.index(str(first.public_id)) < table.index(str(second.public_id))
    assert admin_url("transactions_transaction_change", first.pk) in table
    assert admin_url("transactions_transaction_change", second.pk) in table
    assert "5.00 USD" in html  # captured
    assert "captured" in html
    assert 'name="_save"' not in html  # A view, not a form.
    assert admin_url("accounts_hold_void", hold.pk) not in html  # Captured: nothing to void.


def test_a_holds_page_without_captures(hold, root):
    html = root.get(admin_url("accounts_hold_change", hold.pk)).content.decode()
    assert "Nothing captured." in html


# --- the account's page --------------------------------------------------------------------


def test_the_account_page_shows_its_holds_and_what_it_may_spend(books, hold, root):
    voided = place(books, "5.00", destination=False)
    hold_void(actor=books.client_user, hold_id=voided.public_id)
    newer = place(books, "2.00")
    lapse(newer)  # Past expiry: reserves nothing, though the account still records it.

    html = root.get(admin_url("accounts_account_change", books.alice.pk)).content.decode()

    assert Account.objects.get(pk=books.alice.pk).reserved_minor == 1200  # As recorded.
    balance = html[html.index("field-balance") :]
    assert balance.index("70.00 USD") < balance.index("10.00 USD") < balance.index("60.00 USD")
    assert 'class="readonly">10.00 USD' in html  # reserved
    assert 'class="readonly">60.00 USD' in html  # available
    table = html[html.index('id="latest-holds"') :]
    # Newest first, linking to each hold.
    assert table.index(str(newer.public_id)[:8]) < table.index(str(voided.public_id)[:8])
    assert table.index(str(voided.public_id)[:8]) < table.index(str(hold.public_id)[:8])
    for held in (newer, voided, hold):
        assert admin_url("accounts_hold_change", held.pk) in table
    assert "Expired (not yet recorded)" in table
    assert "Voided" in table
    assert admin_url("accounts_hold_changelist") + f"?account={books.alice.pk}" in html


def test_an_account_without_holds_says_so(books, root):
    html = root.get(admin_url("accounts_account_change", books.bob.pk)).content.decode()
    assert "No holds yet." in html
    assert 'class="readonly">30.00 USD' in html  # available: all of it


# --- voiding -------------------------------------------------------------------------------


def test_the_void_page_asks_for_a_reason_and_shows_what_it_releases(books, hold, operator_client):
    hold_capture(actor=books.client_user, hold_id=hold.public_id, amount="4.00")
    page = operator_client.get(admin_url("accounts_hold_void", hold.pk))

    assert page.status_code == 200
    assert next(t.name for t in page.templates) == "admin/accounts/hold/void_confirmation.html"
    html = page.content.decode()
    assert 'name="reason"' in html
    assert '<strong id="void-releases">6.00 USD</strong>' in html
    assert fresh(hold).status == Hold.Status.PENDING  # Looking changes nothing.


def test_the_operator_sees_the_void_button(hold, operator_client):
    html = operator_client.get(admin_url("accounts_hold_change", hold.pk)).content.decode()
    assert admin_url("accounts_hold_void", hold.pk) in html


def test_an_operator_voids_a_hold_through_the_hold_service(books, hold, operator, operator_client):
    response = void(operator_client, hold, reason="Order cancelled by phone")

    voided = fresh(hold)
    assert (voided.status, voided.resolution_reason) == (Hold.Status.VOIDED, "Order cancelled by phone")
    books.refresh()
    assert (books.alice.balance_minor, books.alice.reserved_minor) == (7000, 0)  # Released, nothing moved.
    assert books.alice.available_balance_minor == 7000
    record = AuditRecord.objects.get()
    assert (record.operator, record.action, record.reason, record.ip_address) == (
        operator,
        "void_hold",
        "Order cancelled by phone",
        IP,
    )
    assert (record.target_type, record.target_id) == ("hold", str(hold.public_id))
    assert record.details == {"released": 1000, "via": "admin"}
    entry = LogEntry.objects.get()
    assert (entry.user, entry.action_flag, entry.object_id) == (operator, CHANGE, str(hold.pk))
    assert "Order cancelled by phone" in entry.get_change_message()
    assert response.redirect_chain[-1][0] == admin_url("accounts_hold_change", hold.pk)
    assert messages_of(response) == [f"Hold {hold.public_id} voided: 10.00 USD released."]
    assert admin_url("accounts_hold_void", hold.pk) not in response.content.decode()  # No button any more.
    assert_books_balance()


def test_the_void_and_its_audit_record_commit_together(books, hold, operator_client, monkeypatch):
    def audit_fails(**kwargs):
        raise RuntimeError("the audit trail is unavailable")

    monkeypatch.setattr(hold_services, "audit_record_create", audit_fails)
    with pytest.raises(RuntimeError):
        void(operator_client, hold)

    assert fresh(hold).status == Hold.Status.PENDING
    assert Account.objects.get(pk=books.alice.pk).reserved_minor == 1000
    assert not AuditRecord.objects.exists()


def test_a_void_without_a_reason_is_refused(books, hold, operator_client):
    for reason in ["", "   "]:
        response = void(operator_client, hold, reason=reason)
        assert response.status_code == 200
        assert response.context["form"].errors["reason"]
        assert "Please give a reason." in response.content.decode()

    assert fresh(hold).status == Hold.Status.PENDING
    assert Account.objects.get(pk=books.alice.pk).reserved_minor == 1000
    assert not AuditRecord.objects.exists()
    assert not LogEntry.objects.exists()


def assert_refused(response, status: str) -> None:
    [message] = messages_of(response)
    assert message == f"Hold not voided: The hold is {status}."
    assert not AuditRecord.objects.filter(action="void_hold").exists()
    assert not LogEntry.objects.exists()


def test_voiding_a_hold_voided_meanwhile_is_refused_and_changes_nothing(books, hold, operator_client):
    stale = operator_client.get(admin_url("accounts_hold_void", hold.pk))
    assert stale.status_code == 200
    hold_void(actor=books.client_user, hold_id=hold.public_id)  # Through the API, meanwhile.
    before = Hold.objects.filter(pk=hold.pk).values().get()

    response = void(operator_client, hold)

    assert_refused(response, "voided")
    assert response.redirect_chain[-1][0] == admin_url("accounts_hold_change", hold.pk)
    assert Hold.objects.filter(pk=hold.pk).values().get() == before
    assert Account.objects.get(pk=books.alice.pk).reserved_minor == 0


def test_voiding_a_captured_hold_is_refused(books, hold, operator_client):
    hold_capture(actor=books.client_user, hold_id=hold.public_id)
    before = Hold.objects.filter(pk=hold.pk).values().get()

    assert_refused(void(operator_client, hold), "captured")
    assert Hold.objects.filter(pk=hold.pk).values().get() == before


def test_voiding_a_hold_past_its_expiry_is_refused_and_changes_nothing(books, hold, operator_client):
    lapse(hold)
    before = Hold.objects.filter(pk=hold.pk).values().get()
    reserved = Account.objects.get(pk=books.alice.pk).reserved_minor

    page = operator_client.get(admin_url("accounts_hold_change", hold.pk)).content.decode()
    assert admin_url("accounts_hold_void", hold.pk) not in page  # No button for an expired hold,
    confirmation = operator_client.get(admin_url("accounts_hold_void", hold.pk), follow=True)
    assert confirmation.redirect_chain[-1][0] == admin_url("accounts_hold_change", hold.pk)  # nor a page.
    assert_refused(confirmation, "expired")

    assert_refused(void(operator_client, hold), "expired")
    assert Hold.objects.filter(pk=hold.pk).values().get() == before
    assert Account.objects.get(pk=books.alice.pk).reserved_minor == reserved


def test_a_void_whose_commit_outcome_is_unknown_tells_the_operator_to_look(hold, operator_client, monkeypatch):
    def commit_lost(**kwargs):
        raise Unavailable(OUTCOME_UNKNOWN_DETAIL, outcome="unknown")

    monkeypatch.setattr(console_holds, "hold_void", commit_lost)
    response = void(operator_client, hold)

    [message] = messages_of(response)
    assert "may or may not have been voided" in message
    assert "not voided" not in message
    assert not LogEntry.objects.exists()


def test_the_void_is_in_the_audit_trail_linking_to_the_hold(hold, operator_client, root):
    void(operator_client, hold, reason="Duplicate order")

    html = root.get(admin_url("audit_auditrecord_changelist") + "?target_type=hold").content.decode()
    assert f"{admin_url('accounts_hold_changelist')}?q={hold.public_id}" in html
    assert "Duplicate order" in html
    assert listed(root, f"?q={hold.public_id}") == [fresh(hold)]


# --- who may -------------------------------------------------------------------------------


def test_an_auditor_sees_holds_but_cannot_void_them(books, hold, auditor):
    client = logged_in(auditor)

    assert listed(client) == [hold]
    page = client.get(admin_url("accounts_hold_change", hold.pk))
    assert page.status_code == 200
    assert admin_url("accounts_hold_void", hold.pk) not in page.content.decode()
    assert client.get(admin_url("accounts_hold_void", hold.pk)).status_code == 403
    assert void(client, hold, follow=False).status_code == 403

    assert fresh(hold).status == Hold.Status.PENDING
    assert Account.objects.get(pk=books.alice.pk).reserved_minor == 1000
    assert not AuditRecord.objects.exists()


@pytest.mark.parametrize("role", ["operator", "superuser"])
def test_nobody_adds_changes_or_deletes_a_hold(role, books, hold, request):
    client = logged_in(request.getfixturevalue(role))
    before = Hold.objects.filter(pk=hold.pk).values().get()

    answers = [
        client.get(admin_url("accounts_hold_add")).status_code,
        client.post(admin_url("accounts_hold_add"), {"amount_minor": "1", "currency": "USD"}).status_code,
        client.post(admin_url("accounts_hold_change", hold.pk), {"status": "voided", "amount_minor": 1}).status_code,
        client.get(admin_url("accounts_hold_delete", hold.pk)).status_code,
        client.post(admin_url("accounts_hold_delete", hold.pk), {"post": "yes"}).status_code,
    ]

    assert answers == [403] * 5
    assert Hold.objects.filter(pk=hold.pk).values().get() == before
    assert Hold.objects.count() == 1


def test_a_superuser_may_void_too(books, hold, superuser, root):
    void(root, hold)
    assert fresh(hold).status == Hold.Status.VOIDED
    assert AuditRecord.objects.get().operator == superuser


def test_amounts_use_the_currencys_digits(db, root):
    owner = UserFactory(username="yen-client")
    account = AccountFactory(owner=owner, currency="JPY", name="Taro")
    services.deposit_create(actor=owner, account_id=account.public_id, amount=Decimal("5000"))
    held = hold_create(actor=owner, account_id=account.public_id, amount="1200")

    html = root.get(admin_url("accounts_hold_change", held.pk)).content.decode()
    assert "1200 JPY" in html
    assert "1200.00" not in html
