"""The accounting equation, checked from the database: what every test of writes ends with."""

from django.db.models import Count, Sum

from accounts.models import Account
from transactions.models import Posting, Transaction


def assert_books_balance() -> None:
    """Every customer account's stored balance equals the sum of its postings, whose sequence is 1..n
    with chained ``balance_after``; a system account stores none and numbers none of its postings;
    every transaction's postings sum to zero; all postings sum to zero."""
    for account in Account.objects.filter(is_system=True):
        assert (account.balance_minor, account.last_sequence) == (0, 0), f"{account} stores a balance"
        numbered = Posting.objects.filter(account=account, sequence__isnull=False)
        assert not numbered.exists(), f"{account}: numbered postings"
    for account in Account.objects.filter(is_system=False):
        postings = list(Posting.objects.filter(account=account).order_by("sequence"))
        assert [p.sequence for p in postings] == list(range(1, len(postings) + 1)), f"gap in {account}"
        running = 0
        for posting in postings:
            running += posting.amount_minor
            assert posting.balance_after_minor == running, f"broken chain at {posting}"
        assert account.balance_minor == running, f"{account}: stored {account.balance_minor}, postings {running}"
        assert account.last_sequence == len(postings)
        assert account.balance_minor >= 0
    unbalanced = (
        Transaction.objects.annotate(total=Sum("postings__amount_minor"), legs=Count("postings"))
        .exclude(total=0, legs__gte=2)
        .values_list("public_id", flat=True)
    )
    assert list(unbalanced) == []
    assert (Posting.objects.aggregate(total=Sum("amount_minor"))["total"] or 0) == 0
