import datetime
from http import HTTPStatus
from typing import Any
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.paginated_transaction_list import PaginatedTransactionList
from ...models.problem import Problem
from ...models.withdrawals_list_status import WithdrawalsListStatus
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    account_id: UUID | Unset = UNSET,
    created_after: datetime.datetime | Unset = UNSET,
    created_before: datetime.datetime | Unset = UNSET,
    cursor: str | Unset = UNSET,
    page_size: int | Unset = UNSET,
    reference: str | Unset = UNSET,
    status: WithdrawalsListStatus | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_account_id: str | Unset = UNSET
    if not isinstance(account_id, Unset):
        json_account_id = str(account_id)
    params["account_id"] = json_account_id

    json_created_after: str | Unset = UNSET
    if not isinstance(created_after, Unset):
        json_created_after = created_after.isoformat()
    params["created_after"] = json_created_after

    json_created_before: str | Unset = UNSET
    if not isinstance(created_before, Unset):
        json_created_before = created_before.isoformat()
    params["created_before"] = json_created_before

    params["cursor"] = cursor

    params["page_size"] = page_size

    params["reference"] = reference

    json_status: str | Unset = UNSET
    if not isinstance(status, Unset):
        json_status = status.value

    params["status"] = json_status

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/withdrawals/",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> PaginatedTransactionList | Problem | None:
    if response.status_code == 200:
        response_200 = PaginatedTransactionList.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

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
) -> Response[PaginatedTransactionList | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    account_id: UUID | Unset = UNSET,
    created_after: datetime.datetime | Unset = UNSET,
    created_before: datetime.datetime | Unset = UNSET,
    cursor: str | Unset = UNSET,
    page_size: int | Unset = UNSET,
    reference: str | Unset = UNSET,
    status: WithdrawalsListStatus | Unset = UNSET,
) -> Response[PaginatedTransactionList | Problem]:
    """List your withdrawals

     The withdrawals touching your accounts, newest first, each with the legs on accounts you may see.

    Any API client may call it (`Authorization: Token <key>`). A client sees only what touches its own
    accounts; staff see everything. Another client's object answers `404 not_found`, never 403, so ids
    reveal nothing.

    Filters combine (all must hold): see the query parameters. `account_id` must be one of your
    accounts; another client's matches nothing.

    Answers a page `{next, previous, results}`, newest first. Follow `next` (it carries an opaque
    `cursor`) until it is null; set `page_size` (1 to 200, default 50). Paging neither skips nor repeats
    a row while new ones arrive. Any query parameter the list does not take is refused (`400
    validation_error` naming it).

    Args:
        account_id (UUID | Unset):
        created_after (datetime.datetime | Unset):
        created_before (datetime.datetime | Unset):
        cursor (str | Unset):
        page_size (int | Unset):
        reference (str | Unset):
        status (WithdrawalsListStatus | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PaginatedTransactionList | Problem]
    """

    kwargs = _get_kwargs(
        account_id=account_id,
        created_after=created_after,
        created_before=created_before,
        cursor=cursor,
        page_size=page_size,
        reference=reference,
        status=status,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    account_id: UUID | Unset = UNSET,
    created_after: datetime.datetime | Unset = UNSET,
    created_before: datetime.datetime | Unset = UNSET,
    cursor: str | Unset = UNSET,
    page_size: int | Unset = UNSET,
    reference: str | Unset = UNSET,
    status: WithdrawalsListStatus | Unset = UNSET,
) -> PaginatedTransactionList | Problem | None:
    """List your withdrawals

     The withdrawals touching your accounts, newest first, each with the legs on accounts you may see.

    Any API client may call it (`Authorization: Token <key>`). A client sees only what touches its own
    accounts; staff see everything. Another client's object answers `404 not_found`, never 403, so ids
    reveal nothing.

    Filters combine (all must hold): see the query parameters. `account_id` must be one of your
    accounts; another client's matches nothing.

    Answers a page `{next, previous, results}`, newest first. Follow `next` (it carries an opaque
    `cursor`) until it is null; set `page_size` (1 to 200, default 50). Paging neither skips nor repeats
    a row while new ones arrive. Any query parameter the list does not take is refused (`400
    validation_error` naming it).

    Args:
        account_id (UUID | Unset):
        created_after (datetime.datetime | Unset):
        created_before (datetime.datetime | Unset):
        cursor (str | Unset):
        page_size (int | Unset):
        reference (str | Unset):
        status (WithdrawalsListStatus | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PaginatedTransactionList | Problem
    """

    return sync_detailed(
        client=client,
        account_id=account_id,
        created_after=created_after,
        created_before=created_before,
        cursor=cursor,
        page_size=page_size,
        reference=reference,
        status=status,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    account_id: UUID | Unset = UNSET,
    created_after: datetime.datetime | Unset = UNSET,
    created_before: datetime.datetime | Unset = UNSET,
    cursor: str | Unset = UNSET,
    page_size: int | Unset = UNSET,
    reference: str | Unset = UNSET,
    status: WithdrawalsListStatus | Unset = UNSET,
) -> Response[PaginatedTransactionList | Problem]:
    """List your withdrawals

     The withdrawals touching your accounts, newest first, each with the legs on accounts you may see.

    Any API client may call it (`Authorization: Token <key>`). A client sees only what touches its own
    accounts; staff see everything. Another client's object answers `404 not_found`, never 403, so ids
    reveal nothing.

    Filters combine (all must hold): see the query parameters. `account_id` must be one of your
    accounts; another client's matches nothing.

    Answers a page `{next, previous, results}`, newest first. Follow `next` (it carries an opaque
    `cursor`) until it is null; set `page_size` (1 to 200, default 50). Paging neither skips nor repeats
    a row while new ones arrive. Any query parameter the list does not take is refused (`400
    validation_error` naming it).

    Args:
        account_id (UUID | Unset):
        created_after (datetime.datetime | Unset):
        created_before (datetime.datetime | Unset):
        cursor (str | Unset):
        page_size (int | Unset):
        reference (str | Unset):
        status (WithdrawalsListStatus | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PaginatedTransactionList | Problem]
    """

    kwargs = _get_kwargs(
        account_id=account_id,
        created_after=created_after,
        created_before=created_before,
        cursor=cursor,
        page_size=page_size,
        reference=reference,
        status=status,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    account_id: UUID | Unset = UNSET,
    created_after: datetime.datetime | Unset = UNSET,
    created_before: datetime.datetime | Unset = UNSET,
    cursor: str | Unset = UNSET,
    page_size: int | Unset = UNSET,
    reference: str | Unset = UNSET,
    status: WithdrawalsListStatus | Unset = UNSET,
) -> PaginatedTransactionList | Problem | None:
    """List your withdrawals

     The withdrawals touching your accounts, newest first, each with the legs on accounts you may see.

    Any API client may call it (`Authorization: Token <key>`). A client sees only what touches its own
    accounts; staff see everything. Another client's object answers `404 not_found`, never 403, so ids
    reveal nothing.

    Filters combine (all must hold): see the query parameters. `account_id` must be one of your
    accounts; another client's matches nothing.

    Answers a page `{next, previous, results}`, newest first. Follow `next` (it carries an opaque
    `cursor`) until it is null; set `page_size` (1 to 200, default 50). Paging neither skips nor repeats
    a row while new ones arrive. Any query parameter the list does not take is refused (`400
    validation_error` naming it).

    Args:
        account_id (UUID | Unset):
        created_after (datetime.datetime | Unset):
        created_before (datetime.datetime | Unset):
        cursor (str | Unset):
        page_size (int | Unset):
        reference (str | Unset):
        status (WithdrawalsListStatus | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PaginatedTransactionList | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            account_id=account_id,
            created_after=created_after,
            created_before=created_before,
            cursor=cursor,
            page_size=page_size,
            reference=reference,
            status=status,
        )
    ).parsed
