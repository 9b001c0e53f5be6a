from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.reversal_input import ReversalInput
from ...models.transaction import Transaction
from ...types import Response


def _get_kwargs(
    id: UUID,
    *,
    body: ReversalInput,
    idempotency_key: str,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/transactions/{id}/reverse/".format(
            id=quote(str(id), safe=""),
        ),
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

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())

        return response_403

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
    id: UUID,
    *,
    client: AuthenticatedClient,
    body: ReversalInput,
    idempotency_key: str,
) -> Response[Problem | Transaction]:
    """Reverse a transaction (staff only)

     Posts a transaction of kind `reversal` that undoes every leg of the original, which becomes
    `reversed` (its `reversed_by` names the reversal). A transaction is reversed at most once, and a
    reversal is never reversed. Refused like any movement if an account it debits holds too little or is
    frozen or closed.

    Staff clients only (`Authorization: Token <key>` of a client created with `--staff`).

    Send `{"reason": "..."}`.

    Send an `Idempotency-Key` header (e.g. a new UUID per operation). A retry with the same key and body
    replays the first answer with `Idempotent-Replayed: true` and posts nothing again; the same key with
    another body or endpoint is `422 idempotency_key_reused`. A refused request binds nothing.

    Answers 201 with the reversal.

    Args:
        id (UUID):
        idempotency_key (str):
        body (ReversalInput):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | Transaction]
    """

    kwargs = _get_kwargs(
        id=id,
        body=body,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    id: UUID,
    *,
    client: AuthenticatedClient,
    body: ReversalInput,
    idempotency_key: str,
) -> Problem | Transaction | None:
    """Reverse a transaction (staff only)

     Posts a transaction of kind `reversal` that undoes every leg of the original, which becomes
    `reversed` (its `reversed_by` names the reversal). A transaction is reversed at most once, and a
    reversal is never reversed. Refused like any movement if an account it debits holds too little or is
    frozen or closed.

    Staff clients only (`Authorization: Token <key>` of a client created with `--staff`).

    Send `{"reason": "..."}`.

    Send an `Idempotency-Key` header (e.g. a new UUID per operation). A retry with the same key and body
    replays the first answer with `Idempotent-Replayed: true` and posts nothing again; the same key with
    another body or endpoint is `422 idempotency_key_reused`. A refused request binds nothing.

    Answers 201 with the reversal.

    Args:
        id (UUID):
        idempotency_key (str):
        body (ReversalInput):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | Transaction
    """

    return sync_detailed(
        id=id,
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    id: UUID,
    *,
    client: AuthenticatedClient,
    body: ReversalInput,
    idempotency_key: str,
) -> Response[Problem | Transaction]:
    """Reverse a transaction (staff only)

     Posts a transaction of kind `reversal` that undoes every leg of the original, which becomes
    `reversed` (its `reversed_by` names the reversal). A transaction is reversed at most once, and a
    reversal is never reversed. Refused like any movement if an account it debits holds too little or is
    frozen or closed.

    Staff clients only (`Authorization: Token <key>` of a client created with `--staff`).

    Send `{"reason": "..."}`.

    Send an `Idempotency-Key` header (e.g. a new UUID per operation). A retry with the same key and body
    replays the first answer with `Idempotent-Replayed: true` and posts nothing again; the same key with
    another body or endpoint is `422 idempotency_key_reused`. A refused request binds nothing.

    Answers 201 with the reversal.

    Args:
        id (UUID):
        idempotency_key (str):
        body (ReversalInput):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | Transaction]
    """

    kwargs = _get_kwargs(
        id=id,
        body=body,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    id: UUID,
    *,
    client: AuthenticatedClient,
    body: ReversalInput,
    idempotency_key: str,
) -> Problem | Transaction | None:
    """Reverse a transaction (staff only)

     Posts a transaction of kind `reversal` that undoes every leg of the original, which becomes
    `reversed` (its `reversed_by` names the reversal). A transaction is reversed at most once, and a
    reversal is never reversed. Refused like any movement if an account it debits holds too little or is
    frozen or closed.

    Staff clients only (`Authorization: Token <key>` of a client created with `--staff`).

    Send `{"reason": "..."}`.

    Send an `Idempotency-Key` header (e.g. a new UUID per operation). A retry with the same key and body
    replays the first answer with `Idempotent-Replayed: true` and posts nothing again; the same key with
    another body or endpoint is `422 idempotency_key_reused`. A refused request binds nothing.

    Answers 201 with the reversal.

    Args:
        id (UUID):
        idempotency_key (str):
        body (ReversalInput):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | Transaction
    """

    return (
        await asyncio_detailed(
            id=id,
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed
