from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.transaction import Transaction
from ...models.transfer_input import TransferInput
from ...types import Response


def _get_kwargs(
    *,
    body: TransferInput,
    idempotency_key: str,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/transfers/",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | Transaction | None:
    if response.status_code == 201:
        response_201 = Transaction.from_dict(response.json())

        return response_201

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

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


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Problem | Transaction]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: TransferInput,
    idempotency_key: str,
) -> Response[Problem | Transaction]:
    """Transfer money between accounts

     Moves money from one of your accounts (`source_account_id`) to any active account of the same
    currency (`destination_account_id`, the payee's), in one `transfer` transaction. The amount must not
    exceed the source's `available_balance`.

    Any API client may call it (`Authorization: Token <key>`).

    `amount` is a decimal string (a JSON number is accepted) greater than zero with at most the
    currency's minor-unit digits (`"250.00"` in USD, never `"1.005"`); answers carry amounts as strings
    with exactly those digits.

    Send an `Idempotency-Key` header (e.g. a new UUID per operation). A retry with the same key and body
    replays the first answer with `Idempotent-Replayed: true` and posts nothing again; the same key with
    another body or endpoint is `422 idempotency_key_reused`. A refused request binds nothing.

    Answers 201 with the posted transaction.

    Args:
        idempotency_key (str):
        body (TransferInput):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | Transaction]
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
    body: TransferInput,
    idempotency_key: str,
) -> Problem | Transaction | None:
    """Transfer money between accounts

     Moves money from one of your accounts (`source_account_id`) to any active account of the same
    currency (`destination_account_id`, the payee's), in one `transfer` transaction. The amount must not
    exceed the source's `available_balance`.

    Any API client may call it (`Authorization: Token <key>`).

    `amount` is a decimal string (a JSON number is accepted) greater than zero with at most the
    currency's minor-unit digits (`"250.00"` in USD, never `"1.005"`); answers carry amounts as strings
    with exactly those digits.

    Send an `Idempotency-Key` header (e.g. a new UUID per operation). A retry with the same key and body
    replays the first answer with `Idempotent-Replayed: true` and posts nothing again; the same key with
    another body or endpoint is `422 idempotency_key_reused`. A refused request binds nothing.

    Answers 201 with the posted transaction.

    Args:
        idempotency_key (str):
        body (TransferInput):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | Transaction
    """

    return sync_detailed(
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: TransferInput,
    idempotency_key: str,
) -> Response[Problem | Transaction]:
    """Transfer money between accounts

     Moves money from one of your accounts (`source_account_id`) to any active account of the same
    currency (`destination_account_id`, the payee's), in one `transfer` transaction. The amount must not
    exceed the source's `available_balance`.

    Any API client may call it (`Authorization: Token <key>`).

    `amount` is a decimal string (a JSON number is accepted) greater than zero with at most the
    currency's minor-unit digits (`"250.00"` in USD, never `"1.005"`); answers carry amounts as strings
    with exactly those digits.

    Send an `Idempotency-Key` header (e.g. a new UUID per operation). A retry with the same key and body
    replays the first answer with `Idempotent-Replayed: true` and posts nothing again; the same key with
    another body or endpoint is `422 idempotency_key_reused`. A refused request binds nothing.

    Answers 201 with the posted transaction.

    Args:
        idempotency_key (str):
        body (TransferInput):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | Transaction]
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
    body: TransferInput,
    idempotency_key: str,
) -> Problem | Transaction | None:
    """Transfer money between accounts

     Moves money from one of your accounts (`source_account_id`) to any active account of the same
    currency (`destination_account_id`, the payee's), in one `transfer` transaction. The amount must not
    exceed the source's `available_balance`.

    Any API client may call it (`Authorization: Token <key>`).

    `amount` is a decimal string (a JSON number is accepted) greater than zero with at most the
    currency's minor-unit digits (`"250.00"` in USD, never `"1.005"`); answers carry amounts as strings
    with exactly those digits.

    Send an `Idempotency-Key` header (e.g. a new UUID per operation). A retry with the same key and body
    replays the first answer with `Idempotent-Replayed: true` and posts nothing again; the same key with
    another body or endpoint is `422 idempotency_key_reused`. A refused request binds nothing.

    Answers 201 with the posted transaction.

    Args:
        idempotency_key (str):
        body (TransferInput):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | Transaction
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed
