"""GET/HEAD /media/<name>: stored files with their type, caching headers, ETag and 404s for anything else."""

from __future__ import annotations

import httpx
import pytest
from PIL import Image

from fediverse_node.config import MediaSettings
from fediverse_node.domain.media import Provenance
from fediverse_node.media.processing import encode_generated
from fediverse_node.media.storage import MediaStorage

PROVENANCE = Provenance(generator="fediverse-node 0.1.0", generator_url="https://social.example",
                        model="tiny", seed=7, steps=2, guidance_scale=0.0, prompt=None, safety="unchecked")


def _image(width: int = 64, height: int = 48) -> Image.Image:
    return Image.new("RGB", (width, height), (40, 90, 200))


@pytest.fixture
def stored(live_node):
    """(file_name, thumbnail_name, processed) for a PNG saved in the node's media folder."""
    processed = encode_generated(_image(200, 100), MediaSettings(image_format="png"), PROVENANCE)
    file_name, thumbnail_name = MediaStorage(live_node.settings.media_dir).save(processed)
    return file_name, thumbnail_name, processed


def test_serves_the_file_with_caching_headers(live_node, stored):
    file_name, _, processed = stored
    response = live_node.http.get(f"/media/{file_name}")
    assert response.status_code == 200
    assert response.content == processed.data
    assert response.headers["content-type"] == "image/png"
    assert response.headers["content-length"] == str(len(processed.data))
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["etag"] == f'"{processed.sha256}"'
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["access-control-allow-origin"] == "*"


def test_thumbnails_are_served_too(live_node, stored):
    _, thumbnail_name, processed = stored
    response = live_node.http.get(f"/media/{thumbnail_name}")
    assert response.status_code == 200 and response.content == processed.thumbnail


@pytest.mark.parametrize("extension,media_type", [("webp", "image/webp"), ("jpeg", "image/jpeg")])
def test_content_type_follows_the_extension(live_node, extension, media_type):
    processed = encode_generated(_image(), MediaSettings(image_format=extension), PROVENANCE)
    file_name, _ = MediaStorage(live_node.settings.media_dir).save(processed)
    response = live_node.http.get(f"/media/{file_name}")
    assert response.status_code == 200 and response.headers["content-type"] == media_type


def test_head_has_the_headers_and_no_body(live_node, stored):
    file_name, _, processed = stored
    response = live_node.http.head(f"/media/{file_name}")
    assert response.status_code == 200 and response.content == b""
    assert response.headers["content-type"] == "image/png"
    assert response.headers["etag"] == f'"{processed.sha256}"'


@pytest.mark.parametrize("if_none_match", ["{etag}", "W/{etag}", '"other", {etag}', "*"])
def test_conditional_get_answers_304(live_node, stored, if_none_match):
    file_name, _, processed = stored
    etag = f'"{processed.sha256}"'
    response = live_node.http.get(f"/media/{file_name}", headers={"If-None-Match": if_none_match.format(etag=etag)})
    assert response.status_code == 304 and response.content == b""
    assert response.headers["etag"] == etag
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"


def test_a_different_etag_gets_the_file(live_node, stored):
    file_name, _, processed = stored
    response = live_node.http.get(f"/media/{file_name}", headers={"If-None-Match": '"something-else"'})
    assert response.status_code == 200 and response.content == processed.data


def test_range_requests_are_served(live_node, stored):
    file_name, _, processed = stored
    response = live_node.http.get(f"/media/{file_name}", headers={"Range": "bytes=0-9"})
    assert response.status_code == 206 and response.content == processed.data[:10]


def _raw_get(live_node, raw_path: str) -> httpx.Response:
    """A GET whose path is sent exactly as given (httpx would otherwise normalise dot segments).
    Redirects are followed: the router answers doubled slashes with a 308 to the merged path."""
    with httpx.Client(timeout=10, follow_redirects=True) as client:
        request = client.build_request("GET", live_node.base_url)
        request.url = request.url.copy_with(raw_path=raw_path.encode("ascii"))
        return client.send(request)


@pytest.mark.parametrize("raw_path", [
    "/media/{name}.txt", "/media/ab/" + "0" * 64 + ".png", "/media/%2e%2e/%2e%2e/config.toml",
    "/media/../node.db", "/media/..%2f..%2fnode.db", "/media/%2fetc%2fpasswd", "/media//etc/passwd",
    "/media/{shard}%5c{digest}.png", "/media/{name}%00", "/media/{name}/..", "/media/nothing",
    "/media/{shard}/{digest}.PNG", "/media/",
])
def test_anything_but_a_stored_name_is_404_json(live_node, stored, raw_path):
    file_name, _, processed = stored
    (live_node.settings.base_dir / "config.toml").write_text("secret = 1\n")
    path = raw_path.format(name=file_name, shard=processed.sha256[:2], digest=processed.sha256)
    response = _raw_get(live_node, path)
    assert response.status_code == 404, path
    assert response.headers["content-type"].startswith("application/json")
    assert "error" in response.json()
    assert b"secret" not in response.content


def test_other_methods_are_not_allowed(live_node, stored):
    response = live_node.http.post(f"/media/{stored[0]}", content=b"x")
    assert response.status_code == 405
