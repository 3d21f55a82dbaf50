"""Our actor, Note and WebFinger answers, compared field by field with what real servers send.

The reference documents are payloads captured from real Mastodon (plus Fedibird, a Mastodon fork),
GoToSocial 0.19.2 and snac 2.94, copied into tests/fixtures/real-servers/ (see the README there).
For every field Mastodon reads when it ingests a remote actor or status, both documents must have it
with the same JSON type and the same shape; values are asserted exactly wherever they are ours.

Differences from Mastodon that are deliberate (or harmless) are listed next to the assertion that
allows them.
"""

from __future__ import annotations

import html
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from pyld import jsonld

from fediverse_node.actions.accounts import create_local_user
from fediverse_node.actions.posting import NewPost, publish_post
from fediverse_node.domain.accounts import Account, ProfileField
from fediverse_node.domain.posts import Post, Visibility
from fediverse_node.store import accounts as account_store

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
REAL = FIXTURES / "real-servers"
CONTEXTS = FIXTURES / "contexts"

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT = "https://w3id.org/security/v1"
ACTIVITY_JSON = "application/activity+json"
LD_JSON = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
# Mastodon's FetchResourceService::ACCEPT_HEADER (app/services/fetch_resource_service.rb).
MASTODON_ACCEPT = ('application/activity+json, application/ld+json; '
                   'profile="https://www.w3.org/ns/activitystreams", text/html;q=0.1')
PROFILE_PAGE_REL = "http://webfinger.net/rel/profile-page"
PASSWORD = "correct horse battery staple"
ISO_8601_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")

# The actor fields Mastodon's ActivityPub::ProcessAccountService reads (all present in its own
# service actor below, a Mastodon 4.x capture).
ACTOR_KEYS_MASTODON_READS = [
    "@context", "id", "type", "preferredUsername", "name", "summary", "url", "inbox", "outbox", "followers",
    "following", "featured", "endpoints", "publicKey", "manuallyApprovesFollowers", "discoverable",
    "indexable", "published", "memorial", "tag", "attachment", "icon", "image",
]
# Mastodon actor fields we do not send: optional for every reader (Mastodon fetches neither when absent).
ACTOR_KEYS_WE_LEAVE_OUT = {"featuredTags", "devices"}

# The Note fields Mastodon's ActivityPub::Parser::StatusParser / CreateService read.
NOTE_KEYS_MASTODON_READS = [
    "@context", "id", "type", "summary", "inReplyTo", "published", "url", "attributedTo", "to", "cc",
    "sensitive", "atomUri", "inReplyToAtomUri", "content", "contentMap", "attachment", "tag",
]
# Note fields Mastodon sends that we do not: `conversation` (OStatus thread tag; Mastodon threads by
# inReplyTo without it) and `replies` (a Collection Mastodon may crawl for replies; optional).
NOTE_KEYS_WE_LEAVE_OUT = {"conversation", "replies"}

# The inline term definitions Mastodon writes for the extension terms an actor uses.
MASTODON_ACTOR_TERMS = ["manuallyApprovesFollowers", "toot", "featured", "featuredTags", "alsoKnownAs",
                        "movedTo", "schema", "PropertyValue", "value", "discoverable", "memorial",
                        "indexable", "suspended", "focalPoint"]


# -- fixtures on disk ----------------------------------------------------------------------------

def load_json(name: str) -> Any:
    return json.loads((REAL / name).read_text(encoding="utf-8"))


def load_http(name: str) -> tuple[str, dict[str, str], Any]:
    """A captured answer stored with its status line and headers: (status, headers, JSON body)."""
    text = (REAL / name).read_text(encoding="utf-8").replace("\r\n", "\n")
    if text.startswith("HTTP/"):
        head, _, body = text.partition("\n\n")
        status_line, *lines = head.split("\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
        return status_line.split()[1], headers, json.loads(body)
    status, _, body = text.partition("\n")  # a bare status code on the first line
    return status.strip(), {}, json.loads(body)


def gotosocial_accept_header() -> str:
    request = load_json("gts-signed-get-actor.json")
    return next(value for name, value in request["headers"] if name.lower() == "accept")


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def hcard_like_mastodon(href: str, username: str) -> str:
    """Mastodon 4.x's mention markup, taken from its service actor's bio, pointed at another account."""
    summary = load_json("mastodon-service-actor.json")["summary"]
    match = re.search(r'<span class="h-card" translate="no"><a href="([^"]+)" class="u-url mention">'
                      r"@<span>([^<]+)</span></a></span>", summary)
    assert match, "the Mastodon fixture has no h-card mention"
    return match.group(0).replace(match.group(1), href).replace(f"<span>{match.group(2)}</span>",
                                                                f"<span>{username}</span>")


def hashtag_like_mastodon(href: str, name: str) -> str:
    """Mastodon's hashtag link, taken from a mastodon.social status, pointed at another tag."""
    content = load_json("mastodon-note-hashtag-emelie.json")["content"]
    match = re.search(r'<a href="([^"]+)" class="mention hashtag" rel="tag">#<span>([^<]+)</span></a>',
                      content)
    assert match, "the Mastodon fixture has no hashtag link"
    return match.group(0).replace(match.group(1), href).replace(f"<span>{match.group(2)}</span>",
                                                                f"<span>{name}</span>")


def assert_same_types(ours: dict[str, Any], theirs: dict[str, Any], keys: list[str], where: str) -> None:
    for key in keys:
        assert key in theirs, f"{where}: the fixture lacks {key!r} (wrong fixture?)"
        assert key in ours, f"{where}: we do not send {key!r}, which Mastodon reads"
        assert type(ours[key]) is type(theirs[key]), (
            f"{where}: {key!r} is {type(ours[key]).__name__} in ours, {type(theirs[key]).__name__} in theirs")


def rsa_key_size(pem: str) -> int:
    key = load_pem_public_key(pem.encode("ascii"))
    assert isinstance(key, rsa.RSAPublicKey)
    return key.key_size


def assert_recent(stamp: str) -> None:
    moment = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert abs(datetime.now(timezone.utc) - moment) < timedelta(minutes=5)


# -- our side ------------------------------------------------------------------------------------

def make_user(node: Any, name: str, *, bot: bool = False,
              fields: list[tuple[str, str]] | None = None) -> Account:
    async def work(services: Any) -> Account:
        account, _ = await create_local_user(services, name, PASSWORD, is_bot=bot)
        if fields:
            async with services.database.write() as conn:
                await account_store.set_profile_fields(conn, account.id, [ProfileField(n, v) for n, v in fields])
        return account

    return node.call(work)


def make_post(node: Any, author: str, text: str, **options: Any) -> Post:
    options.setdefault("visibility", Visibility.PUBLIC)
    options.setdefault("summary", "")

    async def work(services: Any) -> Post:
        async with services.database.read() as conn:
            account = await account_store.get_local_account(conn, author)
        assert account is not None
        return await publish_post(services, account, NewPost(text=text, **options))

    return node.call(work)


def fetch(node: Any, url: str, accept: str = ACTIVITY_JSON, **kwargs: Any) -> httpx.Response:
    return node.http.get(url, headers={"Accept": accept}, **kwargs)


def fetch_json(node: Any, url: str, accept: str = ACTIVITY_JSON) -> dict[str, Any]:
    response = fetch(node, url, accept)
    assert response.status_code == 200, response.text
    return response.json()


def netloc(node: Any) -> str:
    return urlsplit(node.base_url).netloc


# -- Content-Type ---------------------------------------------------------------------------------

def test_content_type_follows_the_accept_header_for_actor_and_note(live_node: Any) -> None:
    make_user(live_node, "alice")
    post = make_post(live_node, "alice", "Hello world")
    actor_url = live_node.base_url + "/users/alice"
    for url in (actor_url, post.uri):
        assert fetch(live_node, url, ACTIVITY_JSON).headers["content-type"] == ACTIVITY_JSON
        assert fetch(live_node, url, LD_JSON).headers["content-type"] == LD_JSON
        # What Mastodon itself sends when it fetches an actor or a status.
        assert fetch(live_node, url, MASTODON_ACCEPT).headers["content-type"] == ACTIVITY_JSON
        # GoToSocial lists ld+json first; Mastodon (valid_activitypub_content_type?) and GoToSocial
        # accept either type, so either is right, as long as it is JSON and one of the two exactly.
        assert fetch(live_node, url, gotosocial_accept_header()).headers["content-type"] in (ACTIVITY_JSON,
                                                                                             LD_JSON)
        response = fetch(live_node, url, ACTIVITY_JSON)
        assert "accept" in [v.strip().lower() for v in response.headers["vary"].split(",")]
        assert response.json()["id"] == url


def test_gotosocial_accept_header_fixture_is_what_we_think() -> None:
    assert gotosocial_accept_header() == (
        'application/ld+json; profile="https://www.w3.org/ns/activitystreams",application/activity+json')


# -- actors ---------------------------------------------------------------------------------------

def test_person_actor_matches_mastodon_field_by_field(live_node: Any) -> None:
    make_user(live_node, "alice")
    url = live_node.base_url + "/users/alice"
    ours = fetch_json(live_node, url)
    mastodon = load_json("mastodon-service-actor.json")  # Mastodon 4.x: has indexable, published, memorial
    person = load_json("mastodon-person-emelie.json")  # a mastodon.social Person

    assert_same_types(ours, mastodon, ACTOR_KEYS_MASTODON_READS, "actor vs Mastodon")
    assert set(mastodon) - set(ours) <= ACTOR_KEYS_WE_LEAVE_OUT

    # @context: AS2 then security v1, then inline terms defined exactly as Mastodon defines them.
    assert ours["@context"][:2] == mastodon["@context"][:2] == [AS_CONTEXT, SECURITY_CONTEXT]
    our_terms, their_terms = ours["@context"][2], mastodon["@context"][2]
    for term in MASTODON_ACTOR_TERMS:
        assert our_terms.get(term) == their_terms[term], term

    assert ours["id"] == url
    assert ours["type"] == person["type"] == "Person"
    assert ours["preferredUsername"] == "alice"
    assert ours["name"] == "alice"
    assert ours["summary"] == ""
    # Same URL layout as Mastodon: the profile page at /@name, everything else under the actor id.
    assert mastodon["url"] == f"https://{urlsplit(mastodon['id']).netloc}/@{mastodon['preferredUsername']}"
    assert ours["url"] == f"{live_node.base_url}/@alice"
    for key in ("inbox", "outbox", "followers", "following", "featured"):
        suffix = mastodon[key].removeprefix(mastodon["id"])
        assert suffix != mastodon[key]
        assert ours[key] == ours["id"] + suffix, key
    assert set(ours["endpoints"]) == set(mastodon["endpoints"]) == {"sharedInbox"}
    assert mastodon["endpoints"]["sharedInbox"] == f"https://{urlsplit(mastodon['id']).netloc}/inbox"
    assert ours["endpoints"]["sharedInbox"] == live_node.base_url + "/inbox"

    key, their_key = ours["publicKey"], mastodon["publicKey"]
    assert set(key) == set(their_key) == {"id", "owner", "publicKeyPem"}
    assert their_key["id"] == mastodon["id"] + "#main-key" and their_key["owner"] == mastodon["id"]
    assert key["id"] == ours["id"] + "#main-key"
    assert key["owner"] == ours["id"]
    assert rsa_key_size(key["publicKeyPem"]) == rsa_key_size(their_key["publicKeyPem"]) == 2048
    assert key["publicKeyPem"].splitlines()[0] == their_key["publicKeyPem"].splitlines()[0] \
        == "-----BEGIN PUBLIC KEY-----"
    assert key["publicKeyPem"].endswith("-----END PUBLIC KEY-----\n")

    assert ours["manuallyApprovesFollowers"] is False
    assert ours["discoverable"] is True
    assert ours["indexable"] is True
    assert ours["memorial"] is False
    assert ISO_8601_Z.match(mastodon["published"])
    assert ISO_8601_Z.match(ours["published"])
    assert_recent(ours["published"])
    assert ours["tag"] == []
    assert ours["attachment"] == []

    for image in ("icon", "image"):
        assert set(ours[image]) == set(mastodon[image]) == set(person[image]) == {"type", "mediaType", "url"}
        assert ours[image]["type"] == mastodon[image]["type"] == "Image"
        served = live_node.http.get(ours[image]["url"])
        assert served.status_code == 200
        assert media_type(served.headers["content-type"]) == ours[image]["mediaType"] == "image/png"

    # GoToSocial's Person: every field it sends, we send, with the same types.
    _, _, gts = load_http("gts-actor-erin.http")
    assert_same_types(ours, gts, sorted(set(gts) - {"@context"}), "actor vs GoToSocial")
    assert gts["published"] and ISO_8601_Z.match(gts["published"])


def test_actor_profile_fields_are_property_values_like_mastodons(live_node: Any) -> None:
    mastodon = {f["name"]: f for f in load_json("mastodon-service-actor.json")["attachment"]}
    user_agent_text = html.unescape(mastodon["my user-agent"]["value"])
    assert user_agent_text == "\"fediverse's stats (fediverse@mastodont.cat)\""
    make_user(live_node, "alice", fields=[("code", "https://codeberg.org/spla/stats"),
                                          ("my user-agent", user_agent_text)])
    ours = fetch_json(live_node, live_node.base_url + "/users/alice")

    assert [f["name"] for f in ours["attachment"]] == ["code", "my user-agent"]
    for field in ours["attachment"]:
        theirs = mastodon[field["name"]]
        assert set(field) == set(theirs) == {"type", "name", "value"}
        assert field["type"] == theirs["type"] == "PropertyValue"
        assert type(field["value"]) is str

    ours_by_name = {f["name"]: f["value"] for f in ours["attachment"]}
    # Plain text: HTML-escaped, the same text once unescaped. (Mastodon writes ' as &#39;, we as
    # &#x27;: the same character to any HTML parser.)
    assert html.unescape(ours_by_name["my user-agent"]) == user_agent_text
    assert not set('<>"') & set(ours_by_name["my user-agent"])

    # A URL: a link to it with rel=me (what profile verification follows), showing the same text.
    def anchor(value: str) -> tuple[str, set[str], str]:
        match = re.fullmatch(r'<a href="([^"]+)"[^>]* rel="([^"]+)"[^>]*>(.*)</a>', value)
        assert match, value
        return match.group(1), set(match.group(2).split()), re.sub(r"<[^>]+>", "", match.group(3))

    our_href, our_rel, our_text = anchor(ours_by_name["code"])
    their_href, their_rel, their_text = anchor(mastodon["code"]["value"])
    assert our_href == their_href == "https://codeberg.org/spla/stats"
    assert our_text == their_text == "https://codeberg.org/spla/stats"
    assert {"me", "nofollow", "noopener"} <= our_rel
    assert {"me", "nofollow", "noopener"} <= their_rel


def test_bot_is_a_service_actor_like_mastodons(live_node: Any) -> None:
    make_user(live_node, "statsbot", bot=True)
    ours = fetch_json(live_node, live_node.base_url + "/users/statsbot")
    mastodon = load_json("mastodon-service-actor.json")
    assert ours["type"] == mastodon["type"] == "Service"
    assert_same_types(ours, mastodon, ACTOR_KEYS_MASTODON_READS, "bot vs Mastodon's Service")
    assert set(mastodon) - set(ours) <= ACTOR_KEYS_WE_LEAVE_OUT
    assert ours["preferredUsername"] == "statsbot"
    assert ours["publicKey"]["owner"] == ours["id"] == live_node.base_url + "/users/statsbot"


def test_instance_actor_matches_mastodons_application_actor(live_node: Any) -> None:
    ours = fetch_json(live_node, live_node.base_url + "/actor")
    mastodon = load_json("mastodon-application-actor.json")
    assert ours["type"] == mastodon["type"] == "Application"
    assert ours["id"] == live_node.base_url + "/actor"
    assert mastodon["preferredUsername"] == urlsplit(mastodon["id"]).netloc
    assert ours["preferredUsername"] == netloc(live_node)
    assert ours["manuallyApprovesFollowers"] is mastodon["manuallyApprovesFollowers"] is True
    assert_same_types(ours, mastodon, sorted(set(mastodon) - {"@context"}), "instance actor vs Mastodon")
    assert ours["publicKey"]["id"] == ours["id"] + "#main-key"
    assert ours["publicKey"]["owner"] == ours["id"]
    assert rsa_key_size(ours["publicKey"]["publicKeyPem"]) == 2048
    assert ours["endpoints"] == {"sharedInbox": live_node.base_url + "/inbox"}


def test_the_collections_and_pages_a_person_advertises_resolve(live_node: Any) -> None:
    make_user(live_node, "alice")
    actor = fetch_json(live_node, live_node.base_url + "/users/alice")
    for key in ("outbox", "followers", "following", "featured"):
        collection = fetch_json(live_node, actor[key])
        assert collection["id"] == actor[key], key
        assert collection["type"] == "OrderedCollection", key
        assert collection["totalItems"] == 0, key
    page = fetch(live_node, actor["url"], "text/html")
    assert page.status_code == 200
    assert media_type(page.headers["content-type"]) == "text/html"
    # Mastodon fetches the profile URL with its own Accept and follows the redirect to the actor.
    redirected = fetch(live_node, actor["url"], MASTODON_ACCEPT, follow_redirects=True)
    assert redirected.status_code == 200 and redirected.json()["id"] == actor["id"]


def test_instance_actor_advertises_only_collections_it_serves(live_node: Any) -> None:
    # Mastodon's Application actor has no collections; where ours names one, it must answer.
    ours = fetch_json(live_node, live_node.base_url + "/actor")
    mastodon = load_json("mastodon-application-actor.json")
    assert not {"outbox", "followers", "following", "featured"} & set(mastodon)
    for key in ("outbox", "followers", "following", "featured"):
        if key in ours:
            assert fetch(live_node, ours[key]).status_code == 200, f"{key}: {ours[key]}"


# -- Notes ----------------------------------------------------------------------------------------

def test_public_note_matches_mastodon_note_field_by_field(live_node: Any) -> None:
    make_user(live_node, "alice")
    post = make_post(live_node, "alice", "Hello world", language="ja")
    actor = fetch_json(live_node, live_node.base_url + "/users/alice")
    ours = fetch_json(live_node, post.uri)
    mastodon = load_json("mastodon-note-with-language.json")  # mastodon.social, public, language ja

    assert_same_types(ours, mastodon, NOTE_KEYS_MASTODON_READS, "Note vs Mastodon")
    assert set(mastodon) - set(ours) == NOTE_KEYS_WE_LEAVE_OUT
    assert set(ours) <= set(mastodon)  # nothing Mastodon does not send
    assert ours["@context"][0] == mastodon["@context"][0] == AS_CONTEXT
    assert isinstance(ours["@context"][-1], dict) and ours["@context"][-1]["sensitive"] == "as:sensitive"
    assert mastodon["@context"][-1]["sensitive"] == "as:sensitive"

    # Identifiers laid out as Mastodon's: <actor>/statuses/<n>, shown at <profile>/<n>.
    their_id = re.fullmatch(re.escape(mastodon["attributedTo"]) + r"/statuses/(\d+)", mastodon["id"])
    assert their_id and mastodon["url"] == mastodon["attributedTo"].replace("/users/", "/@") \
        + "/" + their_id.group(1)
    our_id = re.fullmatch(re.escape(actor["id"]) + r"/statuses/(\d+)", ours["id"])
    assert our_id and ours["id"] == post.uri
    assert ours["url"] == f"{actor['url']}/{our_id.group(1)}"
    assert ours["atomUri"] == ours["id"] and mastodon["atomUri"] == mastodon["id"]
    assert ours["attributedTo"] == actor["id"]

    assert ours["type"] == "Note"
    assert ours["summary"] is None and mastodon["summary"] is None
    assert ours["inReplyTo"] is None and ours["inReplyToAtomUri"] is None
    assert ours["sensitive"] is False
    assert ours["to"] == [PUBLIC] and mastodon["to"] == [PUBLIC]
    assert mastodon["cc"] == [mastodon["attributedTo"] + "/followers"]
    assert ours["cc"] == [actor["followers"]]
    assert ours["content"] == "<p>Hello world</p>"
    assert ours["contentMap"] == {"ja": ours["content"]}
    assert mastodon["contentMap"] == {"ja": mastodon["content"]}
    assert ours["attachment"] == [] and ours["tag"] == []
    assert ISO_8601_Z.match(mastodon["published"]) and ISO_8601_Z.match(ours["published"])
    assert_recent(ours["published"])

    # The page at `url` is the HTML view; Mastodon's own Accept gets the Note through a redirect.
    page = fetch(live_node, ours["url"], "text/html")
    assert page.status_code == 200 and media_type(page.headers["content-type"]) == "text/html"
    redirected = fetch(live_node, ours["url"], MASTODON_ACCEPT, follow_redirects=True)
    assert redirected.status_code == 200 and redirected.json()["id"] == ours["id"]


def test_note_without_language_has_no_content_map_like_mastodons(live_node: Any) -> None:
    make_user(live_node, "alice")
    ours = fetch_json(live_node, make_post(live_node, "alice", "yeah.").uri)
    mastodon = load_json("mastodon-note-object.json")
    keys = [k for k in NOTE_KEYS_MASTODON_READS if k != "contentMap"]
    assert_same_types(ours, mastodon, keys, "Note (no language) vs Mastodon")
    assert "contentMap" not in mastodon and "contentMap" not in ours
    assert ours["content"] == mastodon["content"] == "<p>yeah.</p>"

    # GoToSocial's Note (as snac received it): every field it sends that Mastodon reads, we send.
    gts = load_json("gts-note-as-received-by-snac.json")
    shared = set(gts) & set(NOTE_KEYS_MASTODON_READS) - {"contentMap"}
    assert shared >= {"id", "type", "attributedTo", "to", "cc", "content", "published", "sensitive",
                      "summary", "tag", "attachment", "url"}
    assert shared <= set(ours)


def test_note_with_cw_mention_and_hashtag_matches_mastodon(live_node: Any) -> None:
    make_user(live_node, "alice")
    make_user(live_node, "bob")
    post = make_post(live_node, "alice", "Hello @bob #Moo it's <b>", summary="cw")
    alice = fetch_json(live_node, live_node.base_url + "/users/alice")
    bob = fetch_json(live_node, live_node.base_url + "/users/bob")
    ours = fetch_json(live_node, post.uri)
    mastodon = load_json("mastodon-post-activity-hashtag.json")["object"]  # CW "cw", @lain, #moo

    assert_same_types(ours, mastodon, [k for k in NOTE_KEYS_MASTODON_READS if k not in ("@context", "contentMap")],
                      "CW Note vs Mastodon")
    assert ours["summary"] == mastodon["summary"] == "cw"
    assert ours["sensitive"] is mastodon["sensitive"] is True
    assert ours["to"] == mastodon["to"] == [PUBLIC]
    assert mastodon["cc"] == [mastodon["attributedTo"] + "/followers", mastodon["tag"][0]["href"]]
    assert ours["cc"] == [alice["followers"], bob["id"]]

    their_mention, their_hashtag = mastodon["tag"]
    our_mention, our_hashtag = ours["tag"]
    assert set(our_mention) == set(their_mention) == {"type", "href", "name"}
    assert set(our_hashtag) == set(their_hashtag) == {"type", "href", "name"}
    assert our_mention["type"] == their_mention["type"] == "Mention"
    assert our_hashtag["type"] == their_hashtag["type"] == "Hashtag"
    # Mention: href is the actor id, name is @user@host (Mastodon writes a bare @user for its own
    # local accounts; the full form, as here, is what it writes for everyone else).
    lain = urlsplit(their_mention["href"])
    assert their_mention["name"] == f"@{lain.path.rsplit('/', 1)[1]}@{lain.netloc}"
    assert our_mention == {"type": "Mention", "href": bob["id"], "name": f"@bob@{netloc(live_node)}"}
    # Hashtag: href <base>/tags/<lower-case tag>, name "#" + the tag.
    assert their_hashtag["href"] == f"{lain.scheme}://{urlsplit(mastodon['id']).netloc}/tags/moo"
    assert their_hashtag["name"] == "#moo"
    assert our_hashtag == {"type": "Hashtag", "href": live_node.base_url + "/tags/moo", "name": "#Moo"}

    # Content markup: Mastodon's <p>, h-card mention and "mention hashtag" link, and Ruby's escaping.
    assert ours["content"] == ("<p>Hello " + hcard_like_mastodon(bob["url"], "bob") + " "
                               + hashtag_like_mastodon(our_hashtag["href"], "Moo") + " it&#39;s &lt;b&gt;</p>")
    assert "&#39;" in load_json("mastodon-service-actor.json")["attachment"][1]["value"]
    assert "contentMap" not in ours

    # The links resolve: the hashtag page and the mentioned profile page.
    for link in (our_hashtag["href"], bob["url"]):
        response = fetch(live_node, link, "text/html")
        assert response.status_code == 200, link
        assert media_type(response.headers["content-type"]) == "text/html"


def test_sensitive_without_cw_and_replies(live_node: Any) -> None:
    make_user(live_node, "alice")
    make_user(live_node, "bob")
    parent = make_post(live_node, "alice", "first")
    reply = make_post(live_node, "bob", "@alice second", sensitive=True, in_reply_to_uri=parent.uri)
    ours = fetch_json(live_node, reply.uri)
    assert ours["sensitive"] is True
    assert ours["summary"] is None
    assert ours["inReplyTo"] == ours["inReplyToAtomUri"] == parent.uri
    assert ours["cc"] == [live_node.base_url + "/users/bob/followers", live_node.base_url + "/users/alice"]


def test_unlisted_note_addressing_matches_mastodons(live_node: Any) -> None:
    make_user(live_node, "alice")
    ours = fetch_json(live_node, make_post(live_node, "alice", "quiet", visibility=Visibility.UNLISTED).uri)
    fedibird = load_json("fedibird-note-unlisted.json")  # a Mastodon fork's unlisted Note
    assert fedibird["to"] == [fedibird["attributedTo"] + "/followers"]
    assert fedibird["cc"] == [PUBLIC]
    assert ours["to"] == [live_node.base_url + "/users/alice/followers"]
    assert ours["cc"] == [PUBLIC]


@pytest.mark.parametrize("visibility", [Visibility.FOLLOWERS, Visibility.DIRECT])
def test_followers_only_and_direct_notes_are_not_served_anonymously(live_node: Any,
                                                                     visibility: Visibility) -> None:
    make_user(live_node, "alice")
    make_user(live_node, "bob")
    post = make_post(live_node, "alice", "@bob not for everyone", visibility=visibility)
    for url, accept in ((post.uri, ACTIVITY_JSON), (post.uri, LD_JSON), (post.uri, MASTODON_ACCEPT),
                        (post.uri + "/activity", ACTIVITY_JSON), (post.url, "text/html")):
        response = fetch(live_node, url, accept)
        assert response.status_code == 404, (url, accept)
        assert media_type(response.headers["content-type"]) == "application/json"
        assert response.json() == {"error": "no such post"}
    outbox = fetch_json(live_node, live_node.base_url + "/users/alice/outbox")
    assert outbox["totalItems"] == 0


def test_create_activity_matches_mastodons(live_node: Any) -> None:
    make_user(live_node, "alice")
    make_user(live_node, "bob")
    post = make_post(live_node, "alice", "@bob #moo", summary="cw")
    note = fetch_json(live_node, post.uri)
    ours = fetch_json(live_node, post.uri + "/activity")
    mastodon = load_json("mastodon-post-activity-hashtag.json")
    keys = sorted(set(mastodon) - {"@context", "signature", "nickname"})  # LD signatures: not ours
    assert_same_types(ours, mastodon, keys, "Create vs Mastodon")
    assert set(ours) == set(keys) | {"@context"}
    assert mastodon["id"] == mastodon["object"]["id"] + "/activity"
    assert ours["id"] == note["id"] + "/activity"
    assert ours["type"] == "Create"
    assert ours["actor"] == note["attributedTo"]
    assert (mastodon["to"], mastodon["cc"]) == (mastodon["object"]["to"], mastodon["object"]["cc"])
    assert (ours["to"], ours["cc"]) == (note["to"], note["cc"])
    assert ours["published"] == note["published"]
    assert ours["object"] == {k: v for k, v in note.items() if k != "@context"}


# -- WebFinger ------------------------------------------------------------------------------------

def test_webfinger_matches_gotosocial_snac_and_mastodon(live_node: Any) -> None:
    make_user(live_node, "alice")
    actor = fetch_json(live_node, live_node.base_url + "/users/alice")
    host = netloc(live_node)
    response = live_node.http.get(f"/.well-known/webfinger?resource=acct:alice@{host}")
    assert response.status_code == 200
    ours = response.json()

    gts = load_json("gts-webfinger-erin.json")
    _, snac_headers, snac = load_http("snac-webfinger-alice.http")
    mastodon = load_json("mastodon-webfinger-template.json")

    assert media_type(response.headers["content-type"]) == media_type(snac_headers["content-type"]) \
        == "application/jrd+json"
    assert response.headers["access-control-allow-origin"] == snac_headers["access-control-allow-origin"] == "*"

    assert set(ours) == set(gts) == set(snac) == set(mastodon) == {"subject", "aliases", "links"}
    assert gts["subject"] == "acct:erin@gts.peer.test"
    assert ours["subject"] == f"acct:alice@{host}"

    def link(document: dict[str, Any], rel: str, type_: str | None = None) -> dict[str, Any]:
        found = [l for l in document["links"] if l["rel"] == rel and (type_ is None or l.get("type") == type_)]
        assert len(found) == 1, (rel, document["links"])
        return found[0]

    for theirs in (gts, snac):
        self_link = link(theirs, "self", ACTIVITY_JSON)
        profile = link(theirs, PROFILE_PAGE_REL)
        assert set(self_link) == set(profile) == {"rel", "type", "href"}
        assert profile["type"] == "text/html"
        assert self_link["href"] in theirs["aliases"]
    assert set(gts["aliases"]) == {link(gts, "self")["href"], link(gts, PROFILE_PAGE_REL)["href"]}

    assert link(ours, "self", ACTIVITY_JSON) == {"rel": "self", "type": ACTIVITY_JSON, "href": actor["id"]}
    assert link(ours, PROFILE_PAGE_REL) == {"rel": PROFILE_PAGE_REL, "type": "text/html", "href": actor["url"]}
    assert set(ours["aliases"]) == {actor["id"], actor["url"]}
    for entry in ours["links"]:
        assert isinstance(entry["rel"], str)
        assert isinstance(entry.get("href", entry.get("template")), str), entry

    # Mastodon's remote-follow template, and it leads somewhere.
    their_template = link(mastodon, "http://ostatus.org/schema/1.0/subscribe")["template"]
    assert their_template.endswith("/authorize_interaction?uri={uri}")
    template = link(ours, "http://ostatus.org/schema/1.0/subscribe")["template"]
    assert template == live_node.base_url + "/authorize_interaction?uri={uri}"
    assert live_node.http.get(template.replace("{uri}", quote(actor["id"], safe=""))).status_code in (200, 302)


def test_webfinger_round_trip_and_resource_forms(live_node: Any) -> None:
    make_user(live_node, "alice")
    host = netloc(live_node)
    actor = fetch_json(live_node, live_node.base_url + "/users/alice")
    # Mastodon's check after fetching an actor: acct:<preferredUsername>@<host of id> -> the same id.
    acct = f"acct:{actor['preferredUsername']}@{urlsplit(actor['id']).netloc}"
    expected = live_node.http.get("/.well-known/webfinger", params={"resource": acct}).json()
    assert expected["subject"] == acct
    for raw in (f"acct%3Aalice%40{quote(host, safe='')}",  # GoToSocial percent-encodes the whole resource
                f"acct:ALICE@{host}",
                quote(actor["id"], safe=""),  # by actor URL
                quote(actor["url"], safe="")):  # by profile URL
        response = live_node.http.get(f"/.well-known/webfinger?resource={raw}")
        assert response.status_code == 200, raw
        assert response.json() == expected, raw
    assert live_node.http.get(f"/.well-known/webfinger?resource=acct:nobody@{host}").status_code == 404


# -- JSON-LD, offline -----------------------------------------------------------------------------

class OfflineLoader:
    """A pyld document loader serving only the bundled AS2 and security v1 contexts."""

    DOCUMENTS = {AS_CONTEXT: "activitystreams.jsonld", SECURITY_CONTEXT: "security-v1.jsonld"}

    def __init__(self) -> None:
        self.refused: list[str] = []

    def __call__(self, url: str, options: Any = None) -> dict[str, Any]:
        if url not in self.DOCUMENTS:
            self.refused.append(url)
            raise LookupError(f"offline test loader: refusing to fetch {url}")
        document = json.loads((CONTEXTS / self.DOCUMENTS[url]).read_text(encoding="utf-8"))
        return {"contextUrl": None, "documentUrl": url, "document": document,
                "contentType": "application/ld+json"}


def expand(document: dict[str, Any]) -> dict[str, Any]:
    loader = OfflineLoader()
    expanded = jsonld.expand(document, {"documentLoader": loader})
    assert loader.refused == []
    assert len(expanded) == 1
    return expanded[0]


AS = "https://www.w3.org/ns/activitystreams#"
SEC = "https://w3id.org/security#"
TOOT = "http://joinmastodon.org/ns#"
# Compact key -> expanded IRI, for the actor fields Mastodon reads.
ACTOR_IRIS = {
    "type": "@type", "id": "@id", "preferredUsername": AS + "preferredUsername", "name": AS + "name",
    "summary": AS + "summary", "url": AS + "url", "inbox": "http://www.w3.org/ns/ldp#inbox",
    "outbox": AS + "outbox", "followers": AS + "followers", "following": AS + "following",
    "featured": TOOT + "featured", "endpoints": AS + "endpoints", "publicKey": SEC + "publicKey",
    "manuallyApprovesFollowers": AS + "manuallyApprovesFollowers", "discoverable": TOOT + "discoverable",
    "indexable": TOOT + "indexable", "memorial": TOOT + "memorial", "published": AS + "published",
    "tag": AS + "tag", "attachment": AS + "attachment", "icon": AS + "icon", "image": AS + "image",
}


def test_bundled_contexts_are_the_published_ones() -> None:
    as2 = json.loads((CONTEXTS / "activitystreams.jsonld").read_text(encoding="utf-8"))["@context"]
    security = json.loads((CONTEXTS / "security-v1.jsonld").read_text(encoding="utf-8"))["@context"]
    assert as2["as"] == AS and as2["inbox"] == {"@id": "ldp:inbox", "@type": "@id"}
    assert as2["sharedInbox"] == {"@id": "as:sharedInbox", "@type": "@id"}
    assert security["sec"] == SEC and security["publicKeyPem"] == "sec:publicKeyPem"
    assert security["owner"] == {"@id": "sec:owner", "@type": "@id"}


def test_offline_loader_refuses_any_other_url() -> None:
    loader = OfflineLoader()
    with pytest.raises(jsonld.JsonLdError):
        jsonld.expand({"@context": "https://example.com/ns", "name": "x"}, {"documentLoader": loader})
    assert loader.refused == ["https://example.com/ns"]


def test_actor_expands_offline_to_the_same_terms_as_mastodons(live_node: Any) -> None:
    make_user(live_node, "alice", fields=[("Pronouns", "she/her")])
    ours = fetch_json(live_node, live_node.base_url + "/users/alice")
    expanded = expand(ours)
    mastodon = expand(load_json("mastodon-service-actor.json"))

    # Every property we send is defined by the contexts (JSON-LD drops undefined terms silently).
    assert len(expanded) == len(ours) - 1
    for key, iri in ACTOR_IRIS.items():
        assert iri in mastodon, key
        assert iri in expanded, key
    assert expanded["@id"] == ours["id"]
    assert expanded["@type"] == [AS + "Person"] and mastodon["@type"] == [AS + "Service"]
    assert expanded["http://www.w3.org/ns/ldp#inbox"] == [{"@id": ours["inbox"]}]
    assert expanded[AS + "endpoints"][0][AS + "sharedInbox"] == [{"@id": ours["endpoints"]["sharedInbox"]}]
    key = expanded[SEC + "publicKey"][0]
    assert key["@id"] == ours["publicKey"]["id"]
    assert key[SEC + "owner"] == [{"@id": ours["id"]}]
    assert key[SEC + "publicKeyPem"] == [{"@value": ours["publicKey"]["publicKeyPem"]}]
    assert rsa_key_size(key[SEC + "publicKeyPem"][0]["@value"]) == 2048
    assert expanded[AS + "manuallyApprovesFollowers"] == [{"@value": False}]
    assert expanded[TOOT + "discoverable"] == [{"@value": True}]
    # Profile fields: schema.org PropertyValue, as Mastodon's.
    field = expanded[AS + "attachment"][0]
    their_field = mastodon[AS + "attachment"][0]
    assert field["@type"] == their_field["@type"] == ["http://schema.org#PropertyValue"]
    assert set(field) == set(their_field)
    assert field["http://schema.org#value"] == [{"@value": "she/her"}]
    assert expanded[AS + "icon"][0]["@type"] == [AS + "Image"]


def test_note_expands_offline_with_every_term_defined(live_node: Any) -> None:
    make_user(live_node, "alice")
    make_user(live_node, "bob")
    post = make_post(live_node, "alice", "@bob #Moo hi", summary="cw", language="en")
    ours = fetch_json(live_node, post.uri)
    expanded = expand(ours)
    nulls = [k for k, v in ours.items() if v is None]  # JSON-LD drops null values
    assert nulls == ["inReplyTo", "inReplyToAtomUri"]
    # content and contentMap both expand to as:content (the latter with @language): one IRI, two keys.
    assert len(expanded) == len(ours) - 1 - len(nulls) - 1
    assert set(expanded) == {"@id", "@type", AS + "summary", AS + "published", AS + "url", AS + "attributedTo",
                             AS + "to", AS + "cc", AS + "sensitive", "http://ostatus.org#atomUri",
                             AS + "content", AS + "attachment", AS + "tag"}
    assert expanded["@type"] == [AS + "Note"]
    assert expanded[AS + "sensitive"] == [{"@value": True}]
    assert expanded[AS + "summary"] == [{"@value": "cw"}]
    assert expanded[AS + "to"] == [{"@id": PUBLIC}]
    assert expanded[AS + "attributedTo"] == [{"@id": ours["attributedTo"]}]
    assert {"@value": ours["content"], "@language": "en"} in expanded[AS + "content"]
    assert sorted(t["@type"][0] for t in expanded[AS + "tag"]) == [AS + "Hashtag", AS + "Mention"]
    mastodon = expand(load_json("mastodon-post-activity-hashtag.json"))[AS + "object"][0]
    assert sorted(t["@type"][0] for t in mastodon[AS + "tag"]) == [AS + "Hashtag", AS + "Mention"]
    assert mastodon[AS + "sensitive"] == [{"@value": True}]
