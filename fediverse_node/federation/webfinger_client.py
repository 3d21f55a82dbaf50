"""Resolving `@user@host` handles to actor ids through the remote host's WebFinger."""

from __future__ import annotations

import json

import aiohttp

from fediverse_node.domain.errors import Rejected, Retryable

MAX_JRD_BYTES = 65_536


def split_handle(handle: str) -> tuple[str, str]:
    text = handle.strip().removeprefix("acct:").lstrip("@")
    user, _, host = text.partition("@")
    if not user or not host or "@" in host or "/" in host or " " in text:
        raise Rejected(f"{handle!r} is not a handle like @user@host")
    return user, host.lower()


async def resolve_handle(session: aiohttp.ClientSession, handle: str, scheme: str, timeout: float) -> str:
    """The actor id that `handle`'s WebFinger names as `self` (type application/activity+json)."""
    user, host = split_handle(handle)
    url = f"{scheme}://{host}/.well-known/webfinger"
    try:
        async with session.get(url, params={"resource": f"acct:{user}@{host}"},
                               headers={"Accept": "application/jrd+json, application/json"},
                               timeout=aiohttp.ClientTimeout(total=timeout), allow_redirects=False) as response:
            if response.status == 404:
                raise Rejected(f"{handle} does not exist", status=404)
            if response.status >= 500 or response.status == 429:
                raise Retryable(f"WebFinger of {host} answered {response.status}")
            if response.status != 200:
                raise Rejected(f"WebFinger of {host} answered {response.status}")
            body = await response.content.read(MAX_JRD_BYTES + 1)
    except (aiohttp.ClientError, TimeoutError) as error:
        raise Retryable(f"WebFinger of {host} failed: {error}") from None
    if len(body) > MAX_JRD_BYTES:
        raise Rejected(f"WebFinger answer of {host} is too large")
    try:
        document = json.loads(body)
    except ValueError:
        raise Rejected(f"WebFinger answer of {host} is not JSON") from None
    links = document.get("links") if isinstance(document, dict) else None
    for link in links if isinstance(links, list) else []:
        if isinstance(link, dict) and link.get("rel") == "self" and isinstance(link.get("href"), str) \
                and (link.get("type") or "").startswith(("application/activity+json", "application/ld+json")):
            return link["href"]
    raise Rejected(f"WebFinger of {handle} names no ActivityPub actor")
