from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.webhook_endpoint_input import WebhookEndpointInput
from ...models.webhook_endpoint_with_secret import WebhookEndpointWithSecret
from ...types import Response


def _get_kwargs(
    *,
    body: WebhookEndpointInput,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/webhook-endpoints/",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | WebhookEndpointWithSecret | None:
    if response.status_code == 201:
        response_201 = WebhookEndpointWithSecret.from_dict(response.json())

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
) -> Response[Problem | WebhookEndpointWithSecret]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: WebhookEndpointInput,
) -> Response[Problem | WebhookEndpointWithSecret]:
    """Register a webhook endpoint

     From now on, every event the client may see whose type is listed is `POST`ed to `url` as JSON (the
    event document, with only the client's legs), signed as Standard Webhooks does: headers `webhook-id`
    (the event id), `webhook-timestamp` (Unix seconds) and `webhook-signature` (`v1,` and the base64
    HMAC-SHA256 of `"{id}.{timestamp}.{body}"` keyed with the secret's bytes). A 2xx within 10 s is
    success; anything else (redirects included: never followed) is retried at once, then after 5 s, 5
    min, 30 min, 2 h, 5 h, 10 h and 10 h, then `failed`. Delivery is at least once and unordered:
    deduplicate by `webhook-id`. The answer carries the `secret`, shown only here and on rotation.

    Any API client may call it (`Authorization: Token <key>`).

    `url` must be `https://` and must not resolve to a loopback, private, link-local or multicast
    address. `event_types` lists event types, or `["*"]` for all. No `Idempotency-Key`: a retry
    registers another endpoint.

    Answers 201 with the endpoint and its `secret`.

    Args:
        body (WebhookEndpointInput):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | WebhookEndpointWithSecret]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    body: WebhookEndpointInput,
) -> Problem | WebhookEndpointWithSecret | None:
    """Register a webhook endpoint

     From now on, every event the client may see whose type is listed is `POST`ed to `url` as JSON (the
    event document, with only the client's legs), signed as Standard Webhooks does: headers `webhook-id`
    (the event id), `webhook-timestamp` (Unix seconds) and `webhook-signature` (`v1,` and the base64
    HMAC-SHA256 of `"{id}.{timestamp}.{body}"` keyed with the secret's bytes). A 2xx within 10 s is
    success; anything else (redirects included: never followed) is retried at once, then after 5 s, 5
    min, 30 min, 2 h, 5 h, 10 h and 10 h, then `failed`. Delivery is at least once and unordered:
    deduplicate by `webhook-id`. The answer carries the `secret`, shown only here and on rotation.

    Any API client may call it (`Authorization: Token <key>`).

    `url` must be `https://` and must not resolve to a loopback, private, link-local or multicast
    address. `event_types` lists event types, or `["*"]` for all. No `Idempotency-Key`: a retry
    registers another endpoint.

    Answers 201 with the endpoint and its `secret`.

    Args:
        body (WebhookEndpointInput):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | WebhookEndpointWithSecret
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: WebhookEndpointInput,
) -> Response[Problem | WebhookEndpointWithSecret]:
    """Register a webhook endpoint

     From now on, every event the client may see whose type is listed is `POST`ed to `url` as JSON (the
    event document, with only the client's legs), signed as Standard Webhooks does: headers `webhook-id`
    (the event id), `webhook-timestamp` (Unix seconds) and `webhook-signature` (`v1,` and the base64
    HMAC-SHA256 of `"{id}.{timestamp}.{body}"` keyed with the secret's bytes). A 2xx within 10 s is
    success; anything else (redirects included: never followed) is retried at once, then after 5 s, 5
    min, 30 min, 2 h, 5 h, 10 h and 10 h, then `failed`. Delivery is at least once and unordered:
    deduplicate by `webhook-id`. The answer carries the `secret`, shown only here and on rotation.

    Any API client may call it (`Authorization: Token <key>`).

    `url` must be `https://` and must not resolve to a loopback, private, link-local or multicast
    address. `event_types` lists event types, or `["*"]` for all. No `Idempotency-Key`: a retry
    registers another endpoint.

    Answers 201 with the endpoint and its `secret`.

    Args:
        body (WebhookEndpointInput):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | WebhookEndpointWithSecret]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: WebhookEndpointInput,
) -> Problem | WebhookEndpointWithSecret | None:
    """Register a webhook endpoint

     From now on, every event the client may see whose type is listed is `POST`ed to `url` as JSON (the
    event document, with only the client's legs), signed as Standard Webhooks does: headers `webhook-id`
    (the event id), `webhook-timestamp` (Unix seconds) and `webhook-signature` (`v1,` and the base64
    HMAC-SHA256 of `"{id}.{timestamp}.{body}"` keyed with the secret's bytes). A 2xx within 10 s is
    success; anything else (redirects included: never followed) is retried at once, then after 5 s, 5
    min, 30 min, 2 h, 5 h, 10 h and 10 h, then `failed`. Delivery is at least once and unordered:
    deduplicate by `webhook-id`. The answer carries the `secret`, shown only here and on rotation.

    Any API client may call it (`Authorization: Token <key>`).

    `url` must be `https://` and must not resolve to a loopback, private, link-local or multicast
    address. `event_types` lists event types, or `["*"]` for all. No `Idempotency-Key`: a retry
    registers another endpoint.

    Answers 201 with the endpoint and its `secret`.

    Args:
        body (WebhookEndpointInput):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | WebhookEndpointWithSecret
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
