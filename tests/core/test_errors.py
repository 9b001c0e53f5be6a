"""The refusals of ``ledger.errors``: ``ALL_ERRORS`` lists each one, with a code of its own."""

from ledger import errors


def _subclasses(cls):
    for subclass in cls.__subclasses__():
        yield subclass
        yield from _subclasses(subclass)


def test_every_refusal_is_listed_once_with_its_own_code():
    """The API titles problem documents and documents their types from ALL_ERRORS: none may be missing."""
    defined = {cls for cls in _subclasses(errors.LedgerError) if cls.__module__ == errors.__name__}
    assert set(errors.ALL_ERRORS) == defined
    assert len({error.code for error in errors.ALL_ERRORS}) == len(errors.ALL_ERRORS)
