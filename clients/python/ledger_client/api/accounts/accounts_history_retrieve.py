import datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.history_kind_filter import HistoryKindFilter
from ...models.paginated_history_entry_list import PaginatedHistoryEntryList
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    id: UUID,
    *,
    created_after: datetime.datetime | Unset = UNSET,
    created_before: datetime.datetime | Unset = UNSET,
    cursor: str | Unset = UNSET,
    kind: HistoryKindFilter | Unset = UNSET,
    page_size: int | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_created_after: str | Unset = UNSET
    if not isinstance(created_after, Unset):
        json_created_after = created_after.isoformat()
    params["created_after"] = json_created_after

    json_created_before: str | Unset = UNSET
    if not isinstance(created_before, Unset):
        json_created_before = created_before.isoformat()
    params["created_before"] = json_created_before

    params["cursor"] = cursor

    json_kind: str | Unset = UNSET
    if not isinstance(kind, Unset):
        json_kind = kind.value

    params["kind"] = json_kind

    params["page_size"] = page_size

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/accounts/{id}/history/".format(
            id=quote(str(id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> PaginatedHistoryEntryList | Problem | None:
    if response.status_code == 200:
        response_200 = PaginatedHistoryEntryList.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

    if response.status_code == 414:
        response_414 = Problem.from_dict(response.json())

        return response_414

    if response.status_code == 429:
        response_429 = Problem.from_dict(response.json())

        return response_429

    if response.status_code == 431:
        response_431 = Problem.from_dict(response.json())

        return response_431

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[PaginatedHistoryEntryList | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    id: UUID,
    *,
    client: AuthenticatedClient,
    created_after: datetime.datetime | Unset = UNSET,
    created_before: datetime.datetime | Unset = UNSET,
    cursor: str | Unset = UNSET,
    kind: HistoryKindFilter | Unset = UNSET,
    page_size: int | Unset = UNSET,
) -> Response[PaginatedHistoryEntryList | Problem]:
    """List an account's postings, newest first

     The account's postings: signed amounts (positive in, negative out) with the balance after each
    posting, filtered by `kind` and the `created_after`/`created_before` window if given.

    Any API client may call it (`Authorization: Token <key>`). A client sees only what touches its own
    accounts; staff see everything. Another client's object answers `404 not_found`, never 403, so ids
    reveal nothing.

    Answers a page `{next, previous, results}`, newest first. Follow `next` (it carries an opaque
    `cursor`) until it is null; set `page_size` (1 to 200, default 50). Paging neither skips nor repeats
    a row while new ones arrive. Any query parameter the list does not take is refused (`400
    validation_error` naming it).

    Args:
        id (UUID):
        created_after (datetime.datetime | Unset):
        created_before (datetime.datetime | Unset):
        cursor (str | Unset):
        kind (HistoryKindFilter | Unset):
        page_size (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PaginatedHistoryEntryList | Problem]
    """

    kwargs = _get_kwargs(
        id=id,
        created_after=created_after,
        created_before=created_before,
        cursor=cursor,
        kind=kind,
        page_size=page_size,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    id: UUID,
    *,
    client: AuthenticatedClient,
    created_after: datetime.datetime | Unset = UNSET,
    created_before: datetime.datetime | Unset = UNSET,
    cursor: str | Unset = UNSET,
    kind: HistoryKindFilter | Unset = UNSET,
    page_size: int | Unset = UNSET,
) -> PaginatedHistoryEntryList | Problem | None:
    """List an account's postings, newest first

     The account's postings: signed amounts (positive in, negative out) with the balance after each
    posting, filtered by `kind` and the `created_after`/`created_before` window if given.

    Any API client may call it (`Authorization: Token <key>`). A client sees only what touches its own
    accounts; staff see everything. Another client's object answers `404 not_found`, never 403, so ids
    reveal nothing.

    Answers a page `{next, previous, results}`, newest first. Follow `next` (it carries an opaque
    `cursor`) until it is null; set `page_size` (1 to 200, default 50). Paging neither skips nor repeats
    a row while new ones arrive. Any query parameter the list does not take is refused (`400
    validation_error` naming it).

    Args:
        id (UUID):
        created_after (datetime.datetime | Unset):
        created_before (datetime.datetime | Unset):
        cursor (str | Unset):
        kind (HistoryKindFilter | Unset):
        page_size (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PaginatedHistoryEntryList | Problem
    """

    return sync_detailed(
        id=id,
        client=client,
        created_after=created_after,
        created_before=created_before,
        cursor=cursor,
        kind=kind,
        page_size=page_size,
    ).parsed


async def asyncio_detailed(
    id: UUID,
    *,
    client: AuthenticatedClient,
    created_after: datetime.datetime | Unset = UNSET,
    created_before: datetime.datetime | Unset = UNSET,
    cursor: str | Unset = UNSET,
    kind: HistoryKindFilter | Unset = UNSET,
    page_size: int | Unset = UNSET,
) -> Response[PaginatedHistoryEntryList | Problem]:
    """List an account's postings, newest first

     The account's postings: signed amounts (positive in, negative out) with the balance after each
    posting, filtered by `kind` and the `created_after`/`created_before` window if given.

    Any API client may call it (`Authorization: Token <key>`). A client sees only what touches its own
    accounts; staff see everything. Another client's object answers `404 not_found`, never 403, so ids
    reveal nothing.

    Answers a page `{next, previous, results}`, newest first. Follow `next` (it carries an opaque
    `cursor`) until it is null; set `page_size` (1 to 200, default 50). Paging neither skips nor repeats
    a row while new ones arrive. Any query parameter the list does not take is refused (`400
    validation_error` naming it).

    Args:
        id (UUID):
        created_after (datetime.datetime | Unset):
        created_before (datetime.datetime | Unset):
        cursor (str | Unset):
        kind (HistoryKindFilter | Unset):
        page_size (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PaginatedHistoryEntryList | Problem]
    """

    kwargs = _get_kwargs(
        id=id,
        created_after=created_after,
        created_before=created_before,
        cursor=cursor,
        kind=kind,
        page_size=page_size,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    id: UUID,
    *,
    client: AuthenticatedClient,
    created_after: datetime.datetime | Unset = UNSET,
    created_before: datetime.datetime | Unset = UNSET,
    cursor: str | Unset = UNSET,
    kind: HistoryKindFilter | Unset = UNSET,
    page_size: int | Unset = UNSET,
) -> PaginatedHistoryEntryList | Problem | None:
    """List an account's postings, newest first

     The account's postings: signed amounts (positive in, negative out) with the balance after each
    posting, filtered by `kind` and the `created_after`/`created_before` window if given.

    Any API client may call it (`Authorization: Token <key>`). A client sees only what touches its own
    accounts; staff see everything. Another client's object answers `404 not_found`, never 403, so ids
    reveal nothing.

    Answers a page `{next, previous, results}`, newest first. Follow `next` (it carries an opaque
    `cursor`) until it is null; set `page_size` (1 to 200, default 50). Paging neither skips nor repeats
    a row while new ones arrive. Any query parameter the list does not take is refused (`400
    validation_error` naming it).

    Args:
        id (UUID):
        created_after (datetime.datetime | Unset):
        created_before (datetime.datetime | Unset):
        cursor (str | Unset):
        kind (HistoryKindFilter | Unset):
        page_size (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PaginatedHistoryEntryList | Problem
    """

    return (
        await asyncio_detailed(
            id=id,
            client=client,
            created_after=created_after,
            created_before=created_before,
            cursor=cursor,
            kind=kind,
            page_size=page_size,
        )
    ).parsed
