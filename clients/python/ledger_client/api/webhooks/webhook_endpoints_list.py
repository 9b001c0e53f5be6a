from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.paginated_webhook_endpoint_list import PaginatedWebhookEndpointList
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    cursor: str | Unset = UNSET,
    page_size: int | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["cursor"] = cursor

    params["page_size"] = page_size

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/webhook-endpoints/",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> PaginatedWebhookEndpointList | Problem | None:
    if response.status_code == 200:
        response_200 = PaginatedWebhookEndpointList.from_dict(response.json())

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
) -> Response[PaginatedWebhookEndpointList | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    cursor: str | Unset = UNSET,
    page_size: int | Unset = UNSET,
) -> Response[PaginatedWebhookEndpointList | Problem]:
    """List your webhook endpoints, newest first

     The endpoints you registered, with their event types and status; never their secrets.

    Any API client may call it (`Authorization: Token <key>`). Every client, staff too, sees only its
    own endpoints.

    Answers a page `{next, previous, results}`, newest first. Follow `next` (it carries an opaque
    `cursor`) until it is null; set `page_size` (1 to 200, default 50). Paging neither skips nor repeats
    a row while new ones arrive. Any query parameter the list does not take is refused (`400
    validation_error` naming it).

    Args:
        cursor (str | Unset):
        page_size (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PaginatedWebhookEndpointList | Problem]
    """

    kwargs = _get_kwargs(
        cursor=cursor,
        page_size=page_size,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    cursor: str | Unset = UNSET,
    page_size: int | Unset = UNSET,
) -> PaginatedWebhookEndpointList | Problem | None:
    """List your webhook endpoints, newest first

     The endpoints you registered, with their event types and status; never their secrets.

    Any API client may call it (`Authorization: Token <key>`). Every client, staff too, sees only its
    own endpoints.

    Answers a page `{next, previous, results}`, newest first. Follow `next` (it carries an opaque
    `cursor`) until it is null; set `page_size` (1 to 200, default 50). Paging neither skips nor repeats
    a row while new ones arrive. Any query parameter the list does not take is refused (`400
    validation_error` naming it).

    Args:
        cursor (str | Unset):
        page_size (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PaginatedWebhookEndpointList | Problem
    """

    return sync_detailed(
        client=client,
        cursor=cursor,
        page_size=page_size,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    cursor: str | Unset = UNSET,
    page_size: int | Unset = UNSET,
) -> Response[PaginatedWebhookEndpointList | Problem]:
    """List your webhook endpoints, newest first

     The endpoints you registered, with their event types and status; never their secrets.

    Any API client may call it (`Authorization: Token <key>`). Every client, staff too, sees only its
    own endpoints.

    Answers a page `{next, previous, results}`, newest first. Follow `next` (it carries an opaque
    `cursor`) until it is null; set `page_size` (1 to 200, default 50). Paging neither skips nor repeats
    a row while new ones arrive. Any query parameter the list does not take is refused (`400
    validation_error` naming it).

    Args:
        cursor (str | Unset):
        page_size (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PaginatedWebhookEndpointList | Problem]
    """

    kwargs = _get_kwargs(
        cursor=cursor,
        page_size=page_size,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    cursor: str | Unset = UNSET,
    page_size: int | Unset = UNSET,
) -> PaginatedWebhookEndpointList | Problem | None:
    """List your webhook endpoints, newest first

     The endpoints you registered, with their event types and status; never their secrets.

    Any API client may call it (`Authorization: Token <key>`). Every client, staff too, sees only its
    own endpoints.

    Answers a page `{next, previous, results}`, newest first. Follow `next` (it carries an opaque
    `cursor`) until it is null; set `page_size` (1 to 200, default 50). Paging neither skips nor repeats
    a row while new ones arrive. Any query parameter the list does not take is refused (`400
    validation_error` naming it).

    Args:
        cursor (str | Unset):
        page_size (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PaginatedWebhookEndpointList | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            cursor=cursor,
            page_size=page_size,
        )
    ).parsed
