"""The plain request description and HTTP dates."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from fediverse_node.crypto.http_dates import InvalidHttpDate, format_http_date, parse_http_date
from fediverse_node.crypto.http_request import HttpRequest

MOMENT = datetime(1994, 11, 6, 8, 49, 37, tzinfo=timezone.utc)


def test_headers_are_looked_up_case_insensitively_with_repeats_joined():
    request = HttpRequest.received("GET", "/a?b=c", [("Host", "x.example"), ("Accept", "a"), ("ACCEPT", " b ")])

    assert request.host == "x.example"
    assert request.header_values("accept") == ("a", "b")
    assert request.combined_header("Accept") == "a, b"
    assert request.combined_header("digest") is None
    assert (request.path, request.query) == ("/a", "b=c")


def test_mapping_headers_and_an_explicit_host_behind_a_proxy():
    request = HttpRequest.received("POST", "/inbox", {"Host": "127.0.0.1:8000"}, b"x", host="social.example")

    assert request.host == "social.example"
    assert HttpRequest("GET", "/", "h").query is None
    assert HttpRequest("GET", "/?", "h").query == ""


def test_received_request_without_host_needs_one_given():
    with pytest.raises(ValueError, match="no Host header"):
        HttpRequest.received("GET", "/", [])


def test_http_date_is_written_as_imf_fixdate_in_utc():
    assert format_http_date(MOMENT) == "Sun, 06 Nov 1994 08:49:37 GMT"
    assert format_http_date(MOMENT.astimezone(timezone(timedelta(hours=9)))) == "Sun, 06 Nov 1994 08:49:37 GMT"
    with pytest.raises(ValueError):
        format_http_date(MOMENT.replace(tzinfo=None))


@pytest.mark.parametrize("text", ["Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
                                  "Sun Nov  6 08:49:37 1994"])
def test_all_three_http_date_formats_are_read(text):
    assert parse_http_date(text) == MOMENT


@pytest.mark.parametrize("text", ["wrong date", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 31 Feb 1994 08:49:37 GMT",
                                  "1994-11-06T08:49:37Z", "Sun, 06 Nov 1994 08:49:37 GMT x"])
def test_other_dates_are_refused(text):
    with pytest.raises(InvalidHttpDate):
        parse_http_date(text)
