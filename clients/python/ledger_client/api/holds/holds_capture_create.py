from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.capture_input import CaptureInput
from ...models.problem import Problem
from ...models.transaction import Transaction
from ...types import UNSET, Response, Unset


def _get_kwargs(
    id: UUID,
    *,
    body: CaptureInput | Unset = UNSET,
    idempotency_key: str,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/holds/{id}/capture/".format(
            id=quote(str(id), safe=""),
        ),
    }

    if not isinstance(body, Unset):
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
    id: UUID,
    *,
    client: AuthenticatedClient,
    body: CaptureInput | Unset = UNSET,
    idempotency_key: str,
) -> Response[Problem | Transaction]:
    """Capture a pending hold

     Posts a `withdrawal` from the held account (the hold has no destination) or a `transfer` to its
    destination, whose `hold_id` is the hold. `amount` defaults to what the hold still reserves;
    captures together never exceed the hold (`capture_exceeds_hold`). Capturing everything that remains,
    or `final: true`, resolves the hold as `captured` and releases the rest. Never refused for funds;
    refused while an account is frozen or closed (`account_inactive`), the hold still pending;
    `hold_not_pending` once it is captured, voided or expired.

    Any API client may call it (`Authorization: Token <key>`). A client sees only what touches its own
    accounts; staff see everything. Another client's object answers `404 not_found`, never 403, so ids
    reveal nothing.

    Send `{}` to capture everything, or `amount`, `final` and `description`.

    Send an `Idempotency-Key` header (e.g. a new UUID per operation). A retry with the same key and body
    replays the first answer with `Idempotent-Replayed: true` and posts nothing again; the same key with
    another body or endpoint is `422 idempotency_key_reused`. A refused request binds nothing.

    Answers 201 with the capture's transaction.

    Args:
        id (UUID):
        idempotency_key (str):
        body (CaptureInput | Unset):

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
    body: CaptureInput | Unset = UNSET,
    idempotency_key: str,
) -> Problem | Transaction | None:
    """Capture a pending hold

     Posts a `withdrawal` from the held account (the hold has no destination) or a `transfer` to its
    destination, whose `hold_id` is the hold. `amount` defaults to what the hold still reserves;
    captures together never exceed the hold (`capture_exceeds_hold`). Capturing everything that remains,
    or `final: true`, resolves the hold as `captured` and releases the rest. Never refused for funds;
    refused while an account is frozen or closed (`account_inactive`), the hold still pending;
    `hold_not_pending` once it is captured, voided or expired.

    Any API client may call it (`Authorization: Token <key>`). A client sees only what touches its own
    accounts; staff see everything. Another client's object answers `404 not_found`, never 403, so ids
    reveal nothing.

    Send `{}` to capture everything, or `amount`, `final` and `description`.

    Send an `Idempotency-Key` header (e.g. a new UUID per operation). A retry with the same key and body
    replays the first answer with `Idempotent-Replayed: true` and posts nothing again; the same key with
    another body or endpoint is `422 idempotency_key_reused`. A refused request binds nothing.

    Answers 201 with the capture's transaction.

    Args:
        id (UUID):
        idempotency_key (str):
        body (CaptureInput | Unset):

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
    body: CaptureInput | Unset = UNSET,
    idempotency_key: str,
) -> Response[Problem | Transaction]:
    """Capture a pending hold

     Posts a `withdrawal` from the held account (the hold has no destination) or a `transfer` to its
    destination, whose `hold_id` is the hold. `amount` defaults to what the hold still reserves;
    captures together never exceed the hold (`capture_exceeds_hold`). Capturing everything that remains,
    or `final: true`, resolves the hold as `captured` and releases the rest. Never refused for funds;
    refused while an account is frozen or closed (`account_inactive`), the hold still pending;
    `hold_not_pending` once it is captured, voided or expired.

    Any API client may call it (`Authorization: Token <key>`). A client sees only what touches its own
    accounts; staff see everything. Another client's object answers `404 not_found`, never 403, so ids
    reveal nothing.

    Send `{}` to capture everything, or `amount`, `final` and `description`.

    Send an `Idempotency-Key` header (e.g. a new UUID per operation). A retry with the same key and body
    replays the first answer with `Idempotent-Replayed: true` and posts nothing again; the same key with
    another body or endpoint is `422 idempotency_key_reused`. A refused request binds nothing.

    Answers 201 with the capture's transaction.

    Args:
        id (UUID):
        idempotency_key (str):
        body (CaptureInput | Unset):

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
    body: CaptureInput | Unset = UNSET,
    idempotency_key: str,
) -> Problem | Transaction | None:
    """Capture a pending hold

     Posts a `withdrawal` from the held account (the hold has no destination) or a `transfer` to its
    destination, whose `hold_id` is the hold. `amount` defaults to what the hold still reserves;
    captures together never exceed the hold (`capture_exceeds_hold`). Capturing everything that remains,
    or `final: true`, resolves the hold as `captured` and releases the rest. Never refused for funds;
    refused while an account is frozen or closed (`account_inactive`), the hold still pending;
    `hold_not_pending` once it is captured, voided or expired.

    Any API client may call it (`Authorization: Token <key>`). A client sees only what touches its own
    accounts; staff see everything. Another client's object answers `404 not_found`, never 403, so ids
    reveal nothing.

    Send `{}` to capture everything, or `amount`, `final` and `description`.

    Send an `Idempotency-Key` header (e.g. a new UUID per operation). A retry with the same key and body
    replays the first answer with `Idempotent-Replayed: true` and posts nothing again; the same key with
    another body or endpoint is `422 idempotency_key_reused`. A refused request binds nothing.

    Answers 201 with the capture's transaction.

    Args:
        id (UUID):
        idempotency_key (str):
        body (CaptureInput | Unset):

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
