"""WebFinger, host-meta and NodeInfo over real HTTP."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from fediverse_node.actions.accounts import create_local_user
from fediverse_node.actions.posting import NewPost, publish_post
from fediverse_node.store import accounts as account_store


@pytest.fixture
def alice(live_node):
    account, _ = live_node.call(lambda s: create_local_user(s, "alice", "password123"))
    return account


def webfinger(node, resource, **params):
    return node.http.get("/.well-known/webfinger", params={"resource": resource, **params})


def test_webfinger_acct(live_node, alice):
    domain = live_node.settings.instance.domain
    response = webfinger(live_node, f"acct:alice@{domain}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/jrd+json; charset=utf-8"
    assert response.headers["access-control-allow-origin"] == "*"
    document = response.json()
    actor = f"{live_node.base_url}/users/alice"
    assert document["subject"] == f"acct:alice@{domain}"
    assert actor in document["aliases"] and f"{live_node.base_url}/@alice" in document["aliases"]
    links = {link["rel"]: link for link in document["links"]}
    assert links["self"] == {"rel": "self", "type": "application/activity+json", "href": actor}
    assert links["http://webfinger.net/rel/profile-page"]["href"] == f"{live_node.base_url}/@alice"
    assert links["http://ostatus.org/schema/1.0/subscribe"]["template"] == \
        f"{live_node.base_url}/authorize_interaction?uri={{uri}}"


@pytest.mark.parametrize("form", ["acct:ALICE@{domain}", "alice@{domain}", "@alice@{domain}",
                                  "{base}/users/alice", "{base}/@alice"])
def test_webfinger_accepts_the_forms_servers_send(live_node, alice, form):
    resource = form.format(domain=live_node.settings.instance.domain, base=live_node.base_url)
    response = webfinger(live_node, resource)
    assert response.status_code == 200, response.text
    assert response.json()["subject"] == f"acct:alice@{live_node.settings.instance.domain}"


def test_webfinger_rel_filter(live_node, alice):
    response = webfinger(live_node, f"acct:alice@{live_node.settings.instance.domain}", rel="self")
    assert [link["rel"] for link in response.json()["links"]] == ["self"]


def test_webfinger_instance_actor(live_node):
    domain = live_node.settings.instance.domain
    response = webfinger(live_node, f"acct:{domain}@{domain}")
    assert response.status_code == 200
    assert response.json()["links"][1]["href"] == f"{live_node.base_url}/actor"


@pytest.mark.parametrize("resource,status", [
    ("acct:nobody@{domain}", 404),
    ("acct:alice@elsewhere.example", 404),
    ("https://elsewhere.example/users/alice", 404),
    ("{base}/users/alice/statuses/1", 404),
    ("acct:", 400),
    ("alice", 400),
    ("acct:@{domain}", 400),
    ("acct:a@b@c@d", 400),
    ("acct:al ice@{domain}", 400),
    ("x" * 600, 400),
    ("", 400),
])
def test_webfinger_bad_resources(live_node, alice, resource, status):
    resource = resource.format(domain=live_node.settings.instance.domain, base=live_node.base_url)
    response = webfinger(live_node, resource)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    assert isinstance(response.json()["error"], str)


def test_webfinger_without_resource_is_400(live_node):
    response = live_node.http.get("/.well-known/webfinger")
    assert response.status_code == 400 and "resource" in response.json()["error"]


def test_deleted_account_is_not_found(live_node, alice):
    async def delete(services):
        async with services.database.write() as conn:
            await account_store.delete_local_account(conn, alice.id)
        services.documents.invalidate()

    live_node.call(delete)
    assert webfinger(live_node, f"acct:alice@{live_node.settings.instance.domain}").status_code == 404


def test_oversized_query_string_is_414(live_node):
    response = live_node.http.get("/.well-known/webfinger", params={"resource": "acct:" + "a" * 5000})
    assert response.status_code == 414
    assert "query string" in response.json()["error"]


def test_host_meta_xml_and_json(live_node):
    response = live_node.http.get("/.well-known/host-meta")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/xrd+xml; charset=utf-8"
    link = ET.fromstring(response.content).find("{http://docs.oasis-open.org/ns/xri/xrd-1.0}Link")
    assert link is not None and link.get("rel") == "lrdd"
    assert link.get("template") == f"{live_node.base_url}/.well-known/webfinger?resource={{uri}}"
    as_json = live_node.http.get("/.well-known/host-meta", headers={"Accept": "application/json"})
    assert as_json.json()["links"][0]["template"] == link.get("template")


def test_nodeinfo(live_node, alice):
    live_node.call(lambda s: publish_post(s, alice, NewPost(text="hello")))
    index = live_node.http.get("/.well-known/nodeinfo").json()
    hrefs = {link["rel"]: link["href"] for link in index["links"]}
    href = hrefs["http://nodeinfo.diaspora.software/ns/schema/2.1"]
    assert href == f"{live_node.base_url}/nodeinfo/2.1"
    response = live_node.http.get("/nodeinfo/2.1")
    assert response.headers["content-type"] == \
        'application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.1#"'
    info = response.json()
    assert info["version"] == "2.1"
    assert info["software"]["name"] == "fediverse-node" and info["software"]["version"]
    assert info["software"]["repository"].startswith("https://")
    assert info["protocols"] == ["activitypub"]
    assert info["openRegistrations"] is False
    assert info["usage"] == {"users": {"total": 1, "activeMonth": 1, "activeHalfyear": 1}, "localPosts": 1}
    assert info["metadata"]["nodeName"] == "Test node"
    assert live_node.http.get("/nodeinfo/2.0").json()["version"] == "2.0"
