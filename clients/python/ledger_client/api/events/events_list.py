from http import HTTPStatus
from typing import Any
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.event_page import EventPage
from ...models.event_type_filter import EventTypeFilter
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    after: UUID | Unset = UNSET,
    page_size: int | Unset = UNSET,
    type_: EventTypeFilter | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_after: str | Unset = UNSET
    if not isinstance(after, Unset):
        json_after = str(after)
    params["after"] = json_after

    params["page_size"] = page_size

    json_type_: str | Unset = UNSET
    if not isinstance(type_, Unset):
        json_type_ = type_.value

    params["type"] = json_type_

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/events/",
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> EventPage | Problem | None:
    if response.status_code == 200:
        response_200 = EventPage.from_dict(response.json())

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[EventPage | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    after: UUID | Unset = UNSET,
    page_size: int | Unset = UNSET,
    type_: EventTypeFilter | Unset = UNSET,
) -> Response[EventPage | Problem]:
    """List events, oldest first in commit order

     A client sees the events touching its accounts (a transaction's with only its own legs); staff see
    every event. Ask `after` the last event processed: no event is ever missed or repeated, even when
    database transactions commit in another order than they began. An event appears once every database
    transaction that began before its own has ended (usually milliseconds).

    Any API client may call it (`Authorization: Token <key>`).

    Answers `{next, previous, results}`: `next` asks `after` the last event of the page while more are
    ready, null once caught up. `page_size`: 1 to 200 (default 50). Any other query parameter is refused
    (`400 validation_error` naming it).

    Args:
        after (UUID | Unset):
        page_size (int | Unset):
        type_ (EventTypeFilter | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[EventPage | Problem]
    """

    kwargs = _get_kwargs(
        after=after,
        page_size=page_size,
        type_=type_,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    after: UUID | Unset = UNSET,
    page_size: int | Unset = UNSET,
    type_: EventTypeFilter | Unset = UNSET,
) -> EventPage | Problem | None:
    """List events, oldest first in commit order

     A client sees the events touching its accounts (a transaction's with only its own legs); staff see
    every event. Ask `after` the last event processed: no event is ever missed or repeated, even when
    database transactions commit in another order than they began. An event appears once every database
    transaction that began before its own has ended (usually milliseconds).

    Any API client may call it (`Authorization: Token <key>`).

    Answers `{next, previous, results}`: `next` asks `after` the last event of the page while more are
    ready, null once caught up. `page_size`: 1 to 200 (default 50). Any other query parameter is refused
    (`400 validation_error` naming it).

    Args:
        after (UUID | Unset):
        page_size (int | Unset):
        type_ (EventTypeFilter | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        EventPage | Problem
    """

    return sync_detailed(
        client=client,
        after=after,
        page_size=page_size,
        type_=type_,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    after: UUID | Unset = UNSET,
    page_size: int | Unset = UNSET,
    type_: EventTypeFilter | Unset = UNSET,
) -> Response[EventPage | Problem]:
    """List events, oldest first in commit order

     A client sees the events touching its accounts (a transaction's with only its own legs); staff see
    every event. Ask `after` the last event processed: no event is ever missed or repeated, even when
    database transactions commit in another order than they began. An event appears once every database
    transaction that began before its own has ended (usually milliseconds).

    Any API client may call it (`Authorization: Token <key>`).

    Answers `{next, previous, results}`: `next` asks `after` the last event of the page while more are
    ready, null once caught up. `page_size`: 1 to 200 (default 50). Any other query parameter is refused
    (`400 validation_error` naming it).

    Args:
        after (UUID | Unset):
        page_size (int | Unset):
        type_ (EventTypeFilter | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[EventPage | Problem]
    """

    kwargs = _get_kwargs(
        after=after,
        page_size=page_size,
        type_=type_,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    after: UUID | Unset = UNSET,
    page_size: int | Unset = UNSET,
    type_: EventTypeFilter | Unset = UNSET,
) -> EventPage | Problem | None:
    """List events, oldest first in commit order

     A client sees the events touching its accounts (a transaction's with only its own legs); staff see
    every event. Ask `after` the last event processed: no event is ever missed or repeated, even when
    database transactions commit in another order than they began. An event appears once every database
    transaction that began before its own has ended (usually milliseconds).

    Any API client may call it (`Authorization: Token <key>`).

    Answers `{next, previous, results}`: `next` asks `after` the last event of the page while more are
    ready, null once caught up. `page_size`: 1 to 200 (default 50). Any other query parameter is refused
    (`400 validation_error` naming it).

    Args:
        after (UUID | Unset):
        page_size (int | Unset):
        type_ (EventTypeFilter | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        EventPage | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            after=after,
            page_size=page_size,
            type_=type_,
        )
    ).parsed
