"""WebFinger, host-meta and NodeInfo: how other servers find accounts on this node."""

from __future__ import annotations

import html
from datetime import timedelta
from urllib.parse import unquote, urlsplit

from quart import Blueprint, Response, request

from fediverse_node import REPOSITORY_URL, SOFTWARE_NAME, __version__
from fediverse_node.domain.accounts import Account
from fediverse_node.protocol.render import DEFAULT_AVATAR
from fediverse_node.services import Services
from fediverse_node.store import accounts as account_store
from fediverse_node.store import posts as post_store
from fediverse_node.store.accounts import now_utc
from fediverse_node.web.errors import ApiError
from fediverse_node.web.responses import JRD_JSON, dump_json, json_response

MAX_RESOURCE_LENGTH = 512
NODEINFO_21 = "http://nodeinfo.diaspora.software/ns/schema/2.1"
NODEINFO_20 = "http://nodeinfo.diaspora.software/ns/schema/2.0"


def parse_resource(resource: str, base_url: str) -> tuple[str, str] | None:
    """(username, host) named by an acct: URI, a bare user@host, or one of our actor/profile URLs.

    Returns None when the resource is well formed but is not something this node serves.
    Raises ApiError(400) when it is malformed.
    """
    resource = resource.strip()
    if not resource or len(resource) > MAX_RESOURCE_LENGTH or any(ord(c) < 33 for c in resource):
        raise ApiError(400, "resource must be acct:user@host or an actor URL")
    if resource.startswith(("https://", "http://")):
        parts = urlsplit(resource)
        if f"{parts.scheme}://{parts.netloc}".lower() != base_url.lower():
            return None
        path = unquote(parts.path)
        domain = parts.netloc.lower()
        if path == "/actor":
            return domain, domain
        for prefix in ("/users/", "/@"):
            if path.startswith(prefix) and "/" not in path[len(prefix):]:
                return path[len(prefix):], domain
        return None
    acct = resource[5:] if resource.lower().startswith("acct:") else resource
    acct = acct.lstrip("@") if acct.count("@") == 2 and acct.startswith("@") else acct
    username, separator, host = acct.rpartition("@")
    if not separator or not username or not host or "@" in username or "/" in acct:
        raise ApiError(400, "resource must be acct:user@host or an actor URL")
    return unquote(username), host.lower()


def webfinger_document(account: Account, services: Services) -> dict:
    urls = services.urls
    is_instance_actor = account.uri == urls.instance_actor()
    profile = urls.base_url + "/about" if is_instance_actor else urls.profile_page(account.username)
    links = [
        {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": profile},
        {"rel": "self", "type": "application/activity+json", "href": account.uri},
        {"rel": "http://ostatus.org/schema/1.0/subscribe", "template": urls.authorize_interaction_template()},
    ]
    if not is_instance_actor:
        links.append({"rel": "http://webfinger.net/rel/avatar", "type": "image/png",
                      "href": urls.static(DEFAULT_AVATAR)})
    return {"subject": f"acct:{account.username}@{urls.domain}", "aliases": [profile, account.uri],
            "links": links}


def discovery_blueprint(services: Services) -> Blueprint:
    blueprint = Blueprint("discovery", __name__)
    urls = services.urls
    cache = services.documents

    @blueprint.get("/.well-known/webfinger")
    async def webfinger() -> Response:
        resource = request.args.get("resource")
        if resource is None:
            raise ApiError(400, "the resource parameter is required")
        rels = request.args.getlist("rel")
        key = f"webfinger:{resource.lower()}"
        body = cache.get(key) if not rels else None
        if body is None:
            parsed = parse_resource(resource, urls.base_url)
            if parsed is None or parsed[1] != urls.domain:
                raise ApiError(404, "this node does not serve that resource")
            username, _ = parsed
            async with services.database.read() as conn:
                account = await account_store.get_local_account(conn, username)
            if account is None or account.deleted_at is not None:
                raise ApiError(404, f"no account named {username!r} here")
            document = webfinger_document(account, services)
            if rels:
                document["links"] = [link for link in document["links"] if link["rel"] in rels]
                return json_response(dump_json(document), JRD_JSON)
            body = cache.put(key, dump_json(document))
        return json_response(body, JRD_JSON, max_age=180)

    @blueprint.get("/.well-known/host-meta")
    async def host_meta() -> Response:
        template = f"{urls.base_url}/.well-known/webfinger?resource={{uri}}"
        if "json" in request.headers.get("Accept", "") and "xml" not in request.headers.get("Accept", ""):
            return json_response(dump_json({"links": [{"rel": "lrdd", "template": template}]}))
        xml = ('<?xml version="1.0" encoding="UTF-8"?>\n'
               '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
               f'  <Link rel="lrdd" template="{html.escape(template, quote=True)}"/>\n'
               '</XRD>\n')
        return json_response(xml.encode(), "application/xrd+xml; charset=utf-8", max_age=259200)

    @blueprint.get("/.well-known/host-meta.json")
    async def host_meta_json() -> Response:
        template = f"{urls.base_url}/.well-known/webfinger?resource={{uri}}"
        return json_response(dump_json({"links": [{"rel": "lrdd", "template": template}]}))

    @blueprint.get("/.well-known/nodeinfo")
    async def nodeinfo_index() -> Response:
        return json_response(dump_json({"links": [
            {"rel": NODEINFO_21, "href": f"{urls.base_url}/nodeinfo/2.1"},
            {"rel": NODEINFO_20, "href": f"{urls.base_url}/nodeinfo/2.0"},
        ]}), max_age=1800)

    async def _nodeinfo(version: str) -> Response:
        key = f"nodeinfo:{version}"
        body = cache.get(key)
        if body is None:
            body = cache.put(key, dump_json(await _nodeinfo_document(services, version)))
        return json_response(body, f'application/json; profile="http://nodeinfo.diaspora.software/ns/schema/'
                                   f'{version}#"', max_age=60)

    @blueprint.get("/nodeinfo/2.1")
    async def nodeinfo_21() -> Response:
        return await _nodeinfo("2.1")

    @blueprint.get("/nodeinfo/2.0")
    async def nodeinfo_20() -> Response:
        return await _nodeinfo("2.0")

    return blueprint


async def _nodeinfo_document(services: Services, version: str) -> dict:
    now = now_utc()
    async with services.database.read() as conn:
        total = await account_store.count_active_local_users(conn)
        month = await account_store.count_active_local_users(conn, now - timedelta(days=30))
        halfyear = await account_store.count_active_local_users(conn, now - timedelta(days=180))
        local_posts = await post_store.count_local_posts(conn)
    software = {"name": SOFTWARE_NAME, "version": __version__}
    if version == "2.1":
        software.update(repository=REPOSITORY_URL, homepage=REPOSITORY_URL)
    instance = services.settings.instance
    return {
        "version": version,
        "software": software,
        "protocols": ["activitypub"],
        "services": {"outbound": [], "inbound": []},
        "usage": {"users": {"total": total, "activeMonth": month, "activeHalfyear": halfyear},
                  "localPosts": local_posts},
        "openRegistrations": instance.open_registrations,
        "metadata": {"nodeName": instance.name, "nodeDescription": instance.description,
                     "generator": "local diffusion model"},
    }
