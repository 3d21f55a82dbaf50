"""Actors, posts and collections: content negotiation, AS2 documents, HTML pages, errors."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from fediverse_node.actions.accounts import create_local_user
from fediverse_node.actions.posting import NewPost, publish_post
from fediverse_node.domain.posts import Visibility
from fediverse_node.store import accounts as account_store
from fediverse_node.store import follows as follow_store

AS2 = {"Accept": "application/activity+json"}
LD = {"Accept": 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'}
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


@pytest.fixture
def alice(live_node):
    account, _ = live_node.call(lambda s: create_local_user(s, "alice", "password123"))
    return account


def post(node, author, text, **kwargs):
    return node.call(lambda s: publish_post(s, author, NewPost(text=text, **kwargs)))


@pytest.mark.parametrize("headers,content_type", [
    (AS2, "application/activity+json"),
    (LD, 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'),
    ({"Accept": "application/ld+json"}, 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'),
    ({"Accept": "application/activity+json, application/ld+json"}, "application/activity+json"),
    ({"Accept": "text/html;q=0.5, application/activity+json"}, "application/activity+json"),
])
def test_actor_as2(live_node, alice, headers, content_type):
    response = live_node.http.get("/users/alice", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert "Accept" in response.headers["vary"]
    actor = response.json()
    assert actor["id"] == str(response.url)
    assert actor["type"] == "Person" and actor["preferredUsername"] == "alice"
    assert actor["inbox"] == f"{actor['id']}/inbox"
    assert actor["endpoints"]["sharedInbox"] == f"{live_node.base_url}/inbox"
    key = actor["publicKey"]
    assert key["id"] == f"{actor['id']}#main-key" and key["owner"] == actor["id"]
    assert load_pem_public_key(key["publicKeyPem"].encode()).key_size == 2048


def test_actor_html_for_browsers(live_node, alice):
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = live_node.http.get("/users/alice", headers={"Accept": browser})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "@alice@" in response.text
    assert f'<link rel="alternate" type="application/activity+json" href="{live_node.base_url}/users/alice">' \
        in response.text
    assert live_node.http.get("/@alice").status_code == 200


def test_profile_url_redirects_servers_to_the_actor(live_node, alice):
    response = live_node.http.get("/@alice", headers=AS2)
    assert response.status_code == 302 and response.headers["location"] == f"{live_node.base_url}/users/alice"


@pytest.mark.parametrize("accept", ["image/png", "application/xml", "text/html;q=0, */*;q=0"])
def test_unsupported_accept_is_406_json(live_node, alice, accept):
    response = live_node.http.get("/users/alice", headers={"Accept": accept})
    assert response.status_code == 406
    assert "not acceptable" in response.json()["error"]


def test_unknown_user_is_404_json(live_node):
    for path in ("/users/nobody", "/@nobody", "/users/nobody/outbox", "/users/nobody/statuses/1"):
        response = live_node.http.get(path, headers=AS2)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["error"]


def test_deleted_user_is_410_and_suspended_is_marked(live_node, alice):
    bob, _ = live_node.call(lambda s: create_local_user(s, "bob", "password123"))

    async def change(services):
        async with services.database.write() as conn:
            await account_store.delete_local_account(conn, alice.id)
            await account_store.suspend_account(conn, bob.id)
        services.documents.invalidate()

    live_node.call(change)
    assert live_node.http.get("/users/alice", headers=AS2).status_code == 410
    suspended = live_node.http.get("/users/bob", headers=AS2).json()
    assert suspended["suspended"] is True and suspended["name"] == ""


def test_instance_actor(live_node):
    response = live_node.http.get("/actor", headers=AS2)
    assert response.status_code == 200
    actor = response.json()
    assert actor["type"] == "Application" and actor["id"] == f"{live_node.base_url}/actor"
    assert actor["preferredUsername"] == live_node.settings.instance.domain
    assert actor["publicKey"]["owner"] == actor["id"]
    assert live_node.http.get(f"/users/{live_node.settings.instance.domain}", headers=AS2).status_code == 404


def test_bot_is_a_service(live_node):
    live_node.call(lambda s: create_local_user(s, "painter", "password123", is_bot=True))
    assert live_node.http.get("/users/painter", headers=AS2).json()["type"] == "Service"


@pytest.mark.parametrize("visibility,to,cc", [
    (Visibility.PUBLIC, [PUBLIC], ["{followers}"]),
    (Visibility.UNLISTED, ["{followers}"], [PUBLIC]),
])
def test_note_addressing_and_id(live_node, alice, visibility, to, cc):
    made = post(live_node, alice, "hello <b>world</b>\n\nsecond", visibility=visibility)
    response = live_node.http.get(made.uri, headers=AS2)
    assert response.status_code == 200
    note = response.json()
    followers = f"{live_node.base_url}/users/alice/followers"
    assert note["id"] == made.uri == str(response.url)
    assert note["to"] == [t.format(followers=followers) for t in to]
    assert note["cc"] == [c.format(followers=followers) for c in cc]
    assert note["content"] == "<p>hello &lt;b&gt;world&lt;/b&gt;</p><p>second</p>"
    assert note["attributedTo"] == f"{live_node.base_url}/users/alice"


@pytest.mark.parametrize("visibility", [Visibility.FOLLOWERS, Visibility.DIRECT])
def test_private_posts_are_not_served_to_anonymous_fetches(live_node, alice, visibility):
    made = post(live_node, alice, "secret", visibility=visibility)
    assert live_node.http.get(made.uri, headers=AS2).status_code == 404
    assert live_node.http.get(made.uri).status_code == 404


def test_direct_post_addresses_only_mentions(live_node, alice):
    from fediverse_node.protocol.render import post_to_as

    bob, _ = live_node.call(lambda s: create_local_user(s, "bob", "password123"))
    made = post(live_node, alice, "psst @bob", visibility=Visibility.DIRECT)
    note = post_to_as(made, alice, live_node.services.urls)
    assert note["to"] == [bob.uri] and note["cc"] == []
    followers_only = post(live_node, alice, "hi @bob", visibility=Visibility.FOLLOWERS)
    note = post_to_as(followers_only, alice, live_node.services.urls)
    assert note["to"] == [f"{alice.uri}/followers"] and note["cc"] == [bob.uri]


def test_content_warning(live_node, alice):
    made = post(live_node, alice, "the ending", summary="spoilers")
    note = live_node.http.get(made.uri, headers=AS2).json()
    assert note["summary"] == "spoilers" and note["sensitive"] is True


def test_post_html_page_and_create_activity(live_node, alice):
    made = post(live_node, alice, "a page")
    page = live_node.http.get(made.uri, headers={"Accept": "text/html"})
    assert page.status_code == 200 and "<p>a page</p>" in page.text
    assert live_node.http.get(made.url).status_code == 200
    activity = live_node.http.get(made.uri + "/activity", headers=AS2).json()
    assert activity["type"] == "Create" and activity["object"]["id"] == made.uri


@pytest.mark.parametrize("bad", ["abc", "-1", "99999999999999999999999", "1.5"])
def test_bad_post_ids_are_4xx(live_node, alice, bad):
    response = live_node.http.get(f"/users/alice/statuses/{bad}", headers=AS2)
    assert response.status_code in (400, 404)
    assert response.json()["error"]


def test_outbox_pages(live_node, alice, monkeypatch):
    made = [post(live_node, alice, f"post {i}") for i in range(25)]
    post(live_node, alice, "private", visibility=Visibility.FOLLOWERS)
    collection = live_node.http.get("/users/alice/outbox", headers=AS2).json()
    outbox = f"{live_node.base_url}/users/alice/outbox"
    assert collection["type"] == "OrderedCollection" and collection["id"] == outbox
    assert collection["totalItems"] == 25
    assert collection["first"] == f"{outbox}?page=true"
    first = live_node.http.get(collection["first"], headers=AS2).json()
    assert first["type"] == "OrderedCollectionPage" and first["partOf"] == outbox
    assert len(first["orderedItems"]) == 20
    assert first["orderedItems"][0]["object"]["id"] == made[-1].uri
    assert first["orderedItems"][0]["type"] == "Create"
    second = live_node.http.get(first["next"], headers=AS2).json()
    assert [item["object"]["content"] for item in second["orderedItems"]] == \
        [f"<p>post {i}</p>" for i in range(4, -1, -1)]
    assert "next" not in second
    back = live_node.http.get(second["prev"], headers=AS2).json()
    assert back["orderedItems"][-1]["object"]["id"] == made[5].uri


def test_followers_following_featured(live_node, alice):
    bob, _ = live_node.call(lambda s: create_local_user(s, "bob", "password123"))

    async def follow(services):
        async with services.database.write() as conn:
            await follow_store.add_follow(conn, bob.id, alice.id, None, accepted=True)

    live_node.call(follow)
    followers = live_node.http.get("/users/alice/followers", headers=AS2).json()
    assert followers["totalItems"] == 1
    page = live_node.http.get(followers["first"], headers=AS2).json()
    assert page["orderedItems"] == [bob.uri]
    following = live_node.http.get("/users/bob/following?page=true", headers=AS2).json()
    assert following["orderedItems"] == [alice.uri]
    featured = live_node.http.get("/users/alice/collections/featured", headers=AS2).json()
    assert featured["type"] == "OrderedCollection" and featured["totalItems"] == 0


@pytest.mark.parametrize("query", ["max_id=abc", "min_id=-3", "max_id=1e9"])
def test_bad_paging_parameters_are_400(live_node, alice, query):
    response = live_node.http.get(f"/users/alice/outbox?page=true&{query}", headers=AS2)
    assert response.status_code == 400 and "must be" in response.json()["error"]


def test_unknown_routes_and_methods_are_json(live_node):
    missing = live_node.http.get("/nothing/here")
    assert missing.status_code == 404 and missing.json() == {"error": "not found"}
    wrong_method = live_node.http.delete("/.well-known/webfinger")
    assert wrong_method.status_code == 405 and wrong_method.json()["error"]


def test_health_and_static(live_node):
    assert live_node.http.get("/health").json()["status"] == "ok"
    avatar = live_node.http.get("/static/avatar-default.png")
    assert avatar.status_code == 200 and avatar.headers["content-type"] == "image/png"


def test_hashtag_page_lists_public_posts(live_node, alice):
    post(live_node, alice, "look #Sunset")
    post(live_node, alice, "hidden #sunset", visibility=Visibility.UNLISTED)
    page = live_node.http.get("/tags/sunset")
    assert page.status_code == 200 and "look" in page.text and "hidden" not in page.text
    assert live_node.http.get("/tags/bad%20tag").status_code == 400


def test_instance_actor_advertises_only_urls_that_answer(live_node):
    actor = live_node.http.get("/actor", headers=AS2).json()
    assert "followers" not in actor and "following" not in actor and "featured" not in actor
    outbox = live_node.http.get(actor["outbox"], headers=AS2)
    assert outbox.status_code == 200 and outbox.json()["totalItems"] == 0


def test_collections_are_labelled_json_even_for_browsers(live_node, alice):
    response = live_node.http.get("/users/alice/outbox", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/activity+json"


def test_featured_lists_pinned_posts_inline(live_node, alice):
    from fediverse_node.store import posts as post_store
    from fediverse_node.store.accounts import now_utc

    pinned = post(live_node, alice, "pinned one")
    post(live_node, alice, "not pinned")

    async def pin(services):
        async with services.database.write() as conn:
            await post_store.set_pinned(conn, pinned.id, now_utc())

    live_node.call(pin)
    featured = live_node.http.get("/users/alice/collections/featured", headers=AS2).json()
    assert featured["totalItems"] == 1 and "first" not in featured
    assert [note["id"] for note in featured["orderedItems"]] == [pinned.uri]
    assert featured["orderedItems"][0]["type"] == "Note"


def test_profile_field_values_escape_like_mastodon(live_node, alice):
    from fediverse_node.domain.accounts import ProfileField

    async def set_fields(services):
        async with services.database.write() as conn:
            await account_store.set_profile_fields(conn, alice.id, [
                ProfileField("Pronouns", "they/them <b>'"), ProfileField("Site", "https://example.com/a?b=1&c=2")])
        services.documents.invalidate()

    live_node.call(set_fields)
    fields = live_node.http.get("/users/alice", headers=AS2).json()["attachment"]
    assert fields[0] == {"type": "PropertyValue", "name": "Pronouns", "value": "they/them &lt;b&gt;&#39;"}
    assert fields[1]["value"].startswith('<a href="https://example.com/a?b=1&amp;c=2" ')
