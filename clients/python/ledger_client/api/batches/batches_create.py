from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.batch import Batch
from ...models.batch_input import BatchInput
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    *,
    body: BatchInput,
    idempotency_key: str,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/batches/",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Batch | Problem | None:
    if response.status_code == 201:
        response_201 = Batch.from_dict(response.json())

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Batch | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: BatchInput,
    idempotency_key: str,
) -> Response[Batch | Problem]:
    """Post a batch of movements and holds atomically

     1 to 1000 operations, each `{"kind": "deposit"|"withdrawal"|"transfer"|"hold", ...}` with the fields
    of that endpoint (`hold`: of `POST /api/v1/holds/`). All or nothing: a refusal posts nothing and its
    problem document carries `operation`, the index of the refused operation. The answer lists the
    transactions and the holds placed, each in the order of the operations.

    Any API client may call it (`Authorization: Token <key>`).

    `amount` is a decimal string (a JSON number is accepted) greater than zero with at most the
    currency's minor-unit digits (`"250.00"` in USD, never `"1.005"`); answers carry amounts as strings
    with exactly those digits.

    Send an `Idempotency-Key` header (e.g. a new UUID per operation). A retry with the same key and body
    replays the first answer with `Idempotent-Replayed: true` and posts nothing again; the same key with
    another body or endpoint is `422 idempotency_key_reused`. A refused request binds nothing.

    Args:
        idempotency_key (str):
        body (BatchInput):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Batch | Problem]
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
    body: BatchInput,
    idempotency_key: str,
) -> Batch | Problem | None:
    """Post a batch of movements and holds atomically

     1 to 1000 operations, each `{"kind": "deposit"|"withdrawal"|"transfer"|"hold", ...}` with the fields
    of that endpoint (`hold`: of `POST /api/v1/holds/`). All or nothing: a refusal posts nothing and its
    problem document carries `operation`, the index of the refused operation. The answer lists the
    transactions and the holds placed, each in the order of the operations.

    Any API client may call it (`Authorization: Token <key>`).

    `amount` is a decimal string (a JSON number is accepted) greater than zero with at most the
    currency's minor-unit digits (`"250.00"` in USD, never `"1.005"`); answers carry amounts as strings
    with exactly those digits.

    Send an `Idempotency-Key` header (e.g. a new UUID per operation). A retry with the same key and body
    replays the first answer with `Idempotent-Replayed: true` and posts nothing again; the same key with
    another body or endpoint is `422 idempotency_key_reused`. A refused request binds nothing.

    Args:
        idempotency_key (str):
        body (BatchInput):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Batch | Problem
    """

    return sync_detailed(
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: BatchInput,
    idempotency_key: str,
) -> Response[Batch | Problem]:
    """Post a batch of movements and holds atomically

     1 to 1000 operations, each `{"kind": "deposit"|"withdrawal"|"transfer"|"hold", ...}` with the fields
    of that endpoint (`hold`: of `POST /api/v1/holds/`). All or nothing: a refusal posts nothing and its
    problem document carries `operation`, the index of the refused operation. The answer lists the
    transactions and the holds placed, each in the order of the operations.

    Any API client may call it (`Authorization: Token <key>`).

    `amount` is a decimal string (a JSON number is accepted) greater than zero with at most the
    currency's minor-unit digits (`"250.00"` in USD, never `"1.005"`); answers carry amounts as strings
    with exactly those digits.

    Send an `Idempotency-Key` header (e.g. a new UUID per operation). A retry with the same key and body
    replays the first answer with `Idempotent-Replayed: true` and posts nothing again; the same key with
    another body or endpoint is `422 idempotency_key_reused`. A refused request binds nothing.

    Args:
        idempotency_key (str):
        body (BatchInput):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Batch | Problem]
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
    body: BatchInput,
    idempotency_key: str,
) -> Batch | Problem | None:
    """Post a batch of movements and holds atomically

     1 to 1000 operations, each `{"kind": "deposit"|"withdrawal"|"transfer"|"hold", ...}` with the fields
    of that endpoint (`hold`: of `POST /api/v1/holds/`). All or nothing: a refusal posts nothing and its
    problem document carries `operation`, the index of the refused operation. The answer lists the
    transactions and the holds placed, each in the order of the operations.

    Any API client may call it (`Authorization: Token <key>`).

    `amount` is a decimal string (a JSON number is accepted) greater than zero with at most the
    currency's minor-unit digits (`"250.00"` in USD, never `"1.005"`); answers carry amounts as strings
    with exactly those digits.

    Send an `Idempotency-Key` header (e.g. a new UUID per operation). A retry with the same key and body
    replays the first answer with `Idempotent-Replayed: true` and posts nothing again; the same key with
    another body or endpoint is `422 idempotency_key_reused`. A refused request binds nothing.

    Args:
        idempotency_key (str):
        body (BatchInput):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Batch | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed
