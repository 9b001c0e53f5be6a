"""The output documents are built by plain functions (transactions.serializers); each must equal
what REST framework renders from the declared fields, which is what the OpenAPI schema says."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest
from rest_framework import serializers

from tests.factories import AccountFactory
from transactions import selectors, services
from transactions.models import Posting
from transactions.serializers import BatchSerializer, HistoryEntrySerializer, TransactionSerializer

pytestmark = pytest.mark.django_db


def _from_fields(serializer: serializers.Serializer, instance) -> dict:
    """REST framework's own rendering of ``instance`` through the serializer's declared fields."""
    return serializers.Serializer.to_representation(serializer, instance)


def _as_json(document):
    """Both renderings, as the JSON renderer would write them (ordered dicts become plain dicts)."""
    if isinstance(document, dict):
        return {key: _as_json(value) for key, value in document.items()}
    if isinstance(document, list):
        return [_as_json(item) for item in document]
    return document


@pytest.fixture
def ledger(user, other_user, staff):
    """Every kind of transaction, in two currencies, between two clients; one reversed."""
    usd, jpy = AccountFactory(owner=user, currency="USD"), AccountFactory(owner=user, currency="JPY")
    theirs = AccountFactory(owner=other_user, currency="USD")
    services.deposit_create(
        actor=user, account_id=usd.public_id, amount=Decimal("125.50"), metadata={"order": "A-1", "n": [1, 2.5]}
    )
    services.deposit_create(actor=user, account_id=jpy.public_id, amount=Decimal("1200"), reference="yen")
    services.withdrawal_create(actor=user, account_id=usd.public_id, amount=Decimal("0.50"), description="cash")
    transfer = services.transfer_create(
        actor=user, source_account_id=usd.public_id, destination_account_id=theirs.public_id, amount=Decimal("20")
    )
    services.transaction_reverse(actor=staff, transaction_id=transfer.public_id, reason="sent in error")
    return SimpleNamespace(usd=usd, jpy=jpy, theirs=theirs)


@pytest.mark.parametrize("viewer", ["user", "other_user", "staff"])
def test_a_transaction_document_equals_its_fields_rendering(ledger, viewer, request):
    viewer = request.getfixturevalue(viewer)
    visible = list(selectors.transactions_visible_to(viewer))
    assert len(visible) >= 2
    for txn in visible:
        serializer = TransactionSerializer(txn, context={"request": SimpleNamespace(user=viewer)})
        expected = _from_fields(serializer, txn)
        # The declared field renders every leg; a client sees only the legs on its own accounts.
        own = {str(p.account.public_id) for p in txn.postings.all() if viewer.is_staff or p.account.owner == viewer}
        expected["postings"] = [leg for leg in expected["postings"] if leg["account_id"] in own]
        assert expected["postings"], "every visible transaction has a leg the viewer may see"
        assert _as_json(serializer.data) == _as_json(expected)


def test_the_201_answer_rendered_under_the_locks_equals_the_document_read_back(ledger, user, api):
    response = api.post(
        "/api/v1/transfers/",
        {"source_account_id": str(ledger.usd.public_id), "destination_account_id": str(ledger.theirs.public_id),
         "amount": "1.25", "metadata": {"k": "v"}},
        HTTP_IDEMPOTENCY_KEY="render-1",
    )  # fmt: skip
    assert response.status_code == 201
    read_back = api.get(f"/api/v1/transactions/{response.json()['id']}/")
    assert read_back.json() == response.json()


def test_a_batch_document_equals_its_fields_rendering(ledger, user):
    batch = services.batch_post(
        actor=user,
        operations=[
            {"kind": "deposit", "account_id": ledger.usd.public_id, "amount": Decimal("3")},
            {"kind": "transfer", "source_account_id": ledger.usd.public_id,
             "destination_account_id": ledger.theirs.public_id, "amount": Decimal("2")},
        ],
    )  # fmt: skip
    stored = selectors.batch_get(user=user, batch_id=batch.public_id)
    serializer = BatchSerializer(stored, context={"request": SimpleNamespace(user=user)})
    expected = _from_fields(serializer, stored)
    expected["transactions"] = [
        TransactionSerializer(txn, context=serializer.context).data
        for txn in sorted(stored.transactions.all(), key=lambda txn: txn.pk)
    ]
    assert [txn["amount"] for txn in expected["transactions"]] == ["3.00", "2.00"]
    assert _as_json(serializer.data) == _as_json(expected)


def test_a_history_entry_equals_its_fields_rendering(ledger):
    for account in (ledger.usd, ledger.jpy):
        rows = list(selectors.account_history(account).order_by("-sequence"))
        assert rows
        for row in rows:
            posting = Posting.objects.select_related("transaction").get(account=account, sequence=row["sequence"])
            expected = _from_fields(HistoryEntrySerializer(), posting)
            assert _as_json(HistoryEntrySerializer(row).data) == _as_json(expected)
    assert Posting.objects.filter(account=ledger.jpy).count() == 1
