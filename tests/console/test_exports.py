"""The transactions list as CSV: the rows the list's filters and search select, every page, streamed."""

from __future__ import annotations

import csv
import io
import tracemalloc

import pytest

from tests.console.helpers import admin_url, logged_in
from tests.factories import AccountFactory, UserFactory
from transactions import services

pytestmark = pytest.mark.django_db

EXPORT = admin_url("transactions_transaction_export")


def rows_of(response) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_export_has_every_transaction_with_amounts_in_their_currency_s_digits(books, auditor):
    rows = rows_of(logged_in(auditor).get(EXPORT))
    assert [(r["kind"], r["amount"], r["currency"], r["reference"]) for r in rows] == [
        ("transfer", "30.00", "USD", "RENT-7"),
        ("deposit", "100.00", "USD", "INV-100"),
    ]
    transfer = rows[0]
    assert (transfer["source_account"], transfer["destination_account"]) == ("Alice", "Bob")
    assert transfer["id"] == str(books.transfer.public_id)
    assert transfer["created_at"].endswith("+00:00")


def test_the_export_honours_the_list_s_filters_and_search(books, auditor):
    client = logged_in(auditor)
    assert [r["kind"] for r in rows_of(client.get(EXPORT + "?kind__exact=deposit"))] == ["deposit"]
    assert [r["reference"] for r in rows_of(client.get(EXPORT + "?q=rent"))] == ["RENT-7"]
    assert rows_of(client.get(EXPORT + "?q=no-such-reference")) == []


def test_the_list_links_its_rows_as_csv(books, auditor):
    page = logged_in(auditor).get(admin_url("transactions_transaction_changelist") + "?kind__exact=deposit")
    assert 'href="' + EXPORT + '?kind__exact=deposit"' in page.content.decode()


def test_a_wrong_filter_is_refused_as_the_list_refuses_it(books, auditor):
    client = logged_in(auditor)
    assert client.get(admin_url("transactions_transaction_changelist") + "?reference__regex=(")["Location"].endswith(
        "?e=1"
    )
    response = client.get(EXPORT + "?reference__regex=(")
    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


def test_staff_without_the_view_permission_get_nothing(books, bare_staff, non_staff):
    assert logged_in(bare_staff).get(EXPORT).status_code == 403
    assert logged_in(non_staff).get(EXPORT).status_code == 302  # To the login page.


def test_client_text_is_never_a_formula(auditor):
    owner = UserFactory()
    account = AccountFactory(owner=owner, currency="JPY", name="+cmd")
    services.deposit_create(actor=owner, account_id=account.public_id, amount="7", reference="=2+2", description="-x")
    (row,) = rows_of(logged_in(auditor).get(EXPORT))
    assert (row["reference"], row["description"], row["destination_account"], row["amount"]) == (
        "'=2+2",
        "'-x",
        "'+cmd",
        "7",
    )


def _peak_while_streaming(client, chunk: int, monkeypatch) -> tuple[int, int]:
    """Stream the export with rows fetched ``chunk`` at a time: the lines read and the peak memory meanwhile."""
    monkeypatch.setattr("console.exports.CHUNK", chunk)
    response = client.get(EXPORT)
    tracemalloc.start()
    lines = sum(1 for _ in response.streaming_content)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return lines, peak


@pytest.mark.postgres
def test_the_export_streams_rows_in_chunks_without_loading_them_all(auditor, monkeypatch):
    owner = UserFactory()
    account = AccountFactory(owner=owner, currency="USD")
    for first in (0, 1000):  # Two batches of deposits: one database transaction each.
        services.batch_post(
            actor=owner,
            operations=[
                {"kind": "deposit", "account_id": account.public_id, "amount": "1.00", "reference": f"R-{n:04}"}
                for n in range(first, first + 750)
            ],
        )
    client = logged_in(auditor)
    lines, chunked = _peak_while_streaming(client, 50, monkeypatch)
    all_lines, whole = _peak_while_streaming(client, 100_000, monkeypatch)
    assert lines == all_lines == 1501
    # Fetched 50 at a time, the export holds a fraction of what one fetch of every row holds.
    assert chunked * 3 < whole, (chunked, whole)
