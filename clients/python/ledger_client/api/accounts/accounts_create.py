from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.account import Account
from ...models.account_open_input import AccountOpenInput
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: AccountOpenInput,
    idempotency_key: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/accounts/",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Account | Problem | None:
    if response.status_code == 201:
        response_201 = Account.from_dict(response.json())

        return response_201

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())

        return response_413

    if response.status_code == 414:
        response_414 = Problem.from_dict(response.json())

        return response_414

    if response.status_code == 415:
        response_415 = Problem.from_dict(response.json())

        return response_415

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Account | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: AccountOpenInput,
    idempotency_key: str | Unset = UNSET,
) -> Response[Account | Problem]:
    """Open an account

     Opens an account of yours in `currency` (one of the ledger's currencies, e.g. `USD`), with an
    optional `name` and `metadata` (a JSON object kept as sent). It starts `active` with a zero balance.

    Any API client may call it (`Authorization: Token <key>`).

    Opening moves no money, so `Idempotency-Key` is optional here; with it, a retry answers the account
    first opened instead of opening another.

    Answers 201 with the account.

    Args:
        idempotency_key (str | Unset):
        body (AccountOpenInput):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Account | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    body: AccountOpenInput,
    idempotency_key: str | Unset = UNSET,
) -> Account | Problem | None:
    """Open an account

     Opens an account of yours in `currency` (one of the ledger's currencies, e.g. `USD`), with an
    optional `name` and `metadata` (a JSON object kept as sent). It starts `active` with a zero balance.

    Any API client may call it (`Authorization: Token <key>`).

    Opening moves no money, so `Idempotency-Key` is optional here; with it, a retry answers the account
    first opened instead of opening another.

    Answers 201 with the account.

    Args:
        idempotency_key (str | Unset):
        body (AccountOpenInput):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Account | Problem
    """

    return sync_detailed(
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: AccountOpenInput,
    idempotency_key: str | Unset = UNSET,
) -> Response[Account | Problem]:
    """Open an account

     Opens an account of yours in `currency` (one of the ledger's currencies, e.g. `USD`), with an
    optional `name` and `metadata` (a JSON object kept as sent). It starts `active` with a zero balance.

    Any API client may call it (`Authorization: Token <key>`).

    Opening moves no money, so `Idempotency-Key` is optional here; with it, a retry answers the account
    first opened instead of opening another.

    Answers 201 with the account.

    Args:
        idempotency_key (str | Unset):
        body (AccountOpenInput):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Account | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: AccountOpenInput,
    idempotency_key: str | Unset = UNSET,
) -> Account | Problem | None:
    """Open an account

     Opens an account of yours in `currency` (one of the ledger's currencies, e.g. `USD`), with an
    optional `name` and `metadata` (a JSON object kept as sent). It starts `active` with a zero balance.

    Any API client may call it (`Authorization: Token <key>`).

    Opening moves no money, so `Idempotency-Key` is optional here; with it, a retry answers the account
    first opened instead of opening another.

    Answers 201 with the account.

    Args:
        idempotency_key (str | Unset):
        body (AccountOpenInput):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Account | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed
