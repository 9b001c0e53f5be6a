import datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.balance import Balance
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    id: UUID,
    *,
    at: datetime.datetime | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_at: str | Unset = UNSET
    if not isinstance(at, Unset):
        json_at = at.isoformat()
    params["at"] = json_at

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/accounts/{id}/balance/".format(
            id=quote(str(id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Balance | Problem | None:
    if response.status_code == 200:
        response_200 = Balance.from_dict(response.json())

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Balance | Problem]:
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
    at: datetime.datetime | Unset = UNSET,
) -> Response[Balance | Problem]:
    """Read an account's balance, now or at an instant

     The account's balance and available balance. With `at`, the balance as it stood at that instant
    (zero before the first posting), and the available balance then: the balance less what the account's
    pending holds reserved at that instant. `as_of` is the instant both are for: `at`, or now when `at`
    is omitted or in the future.

    Any API client may call it (`Authorization: Token <key>`). A client sees only what touches its own
    accounts; staff see everything. Another client's object answers `404 not_found`, never 403, so ids
    reveal nothing.

    Args:
        id (UUID):
        at (datetime.datetime | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Balance | Problem]
    """

    kwargs = _get_kwargs(
        id=id,
        at=at,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    id: UUID,
    *,
    client: AuthenticatedClient,
    at: datetime.datetime | Unset = UNSET,
) -> Balance | Problem | None:
    """Read an account's balance, now or at an instant

     The account's balance and available balance. With `at`, the balance as it stood at that instant
    (zero before the first posting), and the available balance then: the balance less what the account's
    pending holds reserved at that instant. `as_of` is the instant both are for: `at`, or now when `at`
    is omitted or in the future.

    Any API client may call it (`Authorization: Token <key>`). A client sees only what touches its own
    accounts; staff see everything. Another client's object answers `404 not_found`, never 403, so ids
    reveal nothing.

    Args:
        id (UUID):
        at (datetime.datetime | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Balance | Problem
    """

    return sync_detailed(
        id=id,
        client=client,
        at=at,
    ).parsed


async def asyncio_detailed(
    id: UUID,
    *,
    client: AuthenticatedClient,
    at: datetime.datetime | Unset = UNSET,
) -> Response[Balance | Problem]:
    """Read an account's balance, now or at an instant

     The account's balance and available balance. With `at`, the balance as it stood at that instant
    (zero before the first posting), and the available balance then: the balance less what the account's
    pending holds reserved at that instant. `as_of` is the instant both are for: `at`, or now when `at`
    is omitted or in the future.

    Any API client may call it (`Authorization: Token <key>`). A client sees only what touches its own
    accounts; staff see everything. Another client's object answers `404 not_found`, never 403, so ids
    reveal nothing.

    Args:
        id (UUID):
        at (datetime.datetime | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Balance | Problem]
    """

    kwargs = _get_kwargs(
        id=id,
        at=at,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    id: UUID,
    *,
    client: AuthenticatedClient,
    at: datetime.datetime | Unset = UNSET,
) -> Balance | Problem | None:
    """Read an account's balance, now or at an instant

     The account's balance and available balance. With `at`, the balance as it stood at that instant
    (zero before the first posting), and the available balance then: the balance less what the account's
    pending holds reserved at that instant. `as_of` is the instant both are for: `at`, or now when `at`
    is omitted or in the future.

    Any API client may call it (`Authorization: Token <key>`). A client sees only what touches its own
    accounts; staff see everything. Another client's object answers `404 not_found`, never 403, so ids
    reveal nothing.

    Args:
        id (UUID):
        at (datetime.datetime | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Balance | Problem
    """

    return (
        await asyncio_detailed(
            id=id,
            client=client,
            at=at,
        )
    ).parsed
