"""Plain text to Mastodon-compatible HTML: exact markup for the cases clients and servers rely on."""

from __future__ import annotations

from fediverse_node.domain.posts import Hashtag, Mention
from fediverse_node.protocol.plain_text import (
    FormattedText,
    MentionHandle,
    find_mention_handles,
    format_plain_text,
)

LOCAL = "example.social"

ALICE = Mention(
    uri="https://example.social/users/alice",
    acct="alice@example.social",
    url="https://example.social/@alice",
)
BOB = Mention(uri="https://remote.example/users/Bob", acct="Bob@remote.example", url="https://remote.example/@Bob")
KNOWN = {("alice", LOCAL): ALICE, ("bob", "remote.example"): BOB}


def tag_url(name: str) -> str:
    return f"https://example.social/tags/{name}"


def fmt(text: str) -> FormattedText:
    return format_plain_text(text, local_domain=LOCAL, hashtag_url=tag_url, mentions=KNOWN)


def html(text: str) -> str:
    return fmt(text).html


def link(url: str, prefix: str, shown: str, hidden: str = "", cls: str = "") -> str:
    return (
        f'<a href="{url}" target="_blank" rel="nofollow noopener" translate="no">'
        f'<span class="invisible">{prefix}</span><span class="{cls}">{shown}</span>'
        f'<span class="invisible">{hidden}</span></a>'
    )


ALICE_HTML = (
    '<span class="h-card" translate="no"><a href="https://example.social/@alice" class="u-url mention">'
    "@<span>alice</span></a></span>"
)
BOB_HTML = (
    '<span class="h-card" translate="no"><a href="https://remote.example/@Bob" class="u-url mention">'
    "@<span>Bob</span></a></span>"
)


# -- paragraphs and escaping -------------------------------------------------------------------


def test_empty_and_blank_text_give_empty_html() -> None:
    assert fmt("") == FormattedText(html="", mentions=(), hashtags=())
    assert html("  \r\n\n \t ") == ""


def test_single_line_is_one_paragraph() -> None:
    assert html("Hello world") == "<p>Hello world</p>"


def test_paragraphs_and_line_breaks() -> None:
    # Given CRLF, CR and LF line endings, surrounding whitespace and a run of blank lines
    text = "\n  first line\r\nsecond line\r\rsecond para\n\n\n \nthird\rline  \n"
    # Then blank lines separate paragraphs and single newlines become <br />
    assert html(text) == "<p>first line<br />second line</p><p>second para</p><p>third<br />line</p>"


def test_script_and_quotes_are_escaped() -> None:
    assert html("<script>alert(1)</script>") == "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"
    assert html("Tom & \"Jerry\" 'n' <b>") == "<p>Tom &amp; &quot;Jerry&quot; &#39;n&#39; &lt;b&gt;</p>"


def test_existing_entities_are_escaped_again() -> None:
    assert html("&lt;b&gt; &#35;tag") == "<p>&amp;lt;b&amp;gt; &amp;#35;tag</p>"


# -- URLs --------------------------------------------------------------------------------------


def test_javascript_and_other_schemes_are_not_linked() -> None:
    assert html("javascript:alert(1)") == "<p>javascript:alert(1)</p>"
    assert html("ftp://example.com/x mailto:a@b.c") == "<p>ftp://example.com/x mailto:a@b.c</p>"


def test_short_url_markup() -> None:
    assert html("see https://example.com/a") == "<p>see " + link(
        "https://example.com/a", "https://", "example.com/a"
    ) + "</p>"
    assert html("https://example.com/a") == (
        '<p><a href="https://example.com/a" target="_blank" rel="nofollow noopener" translate="no">'
        '<span class="invisible">https://</span><span class="">example.com/a</span>'
        '<span class="invisible"></span></a></p>'
    )


def test_long_url_gets_ellipsis_and_invisible_spans() -> None:
    url = "https://example.com/very/long/path/that/goes/on"
    assert html(url) == (
        '<p><a href="https://example.com/very/long/path/that/goes/on" target="_blank" '
        'rel="nofollow noopener" translate="no"><span class="invisible">https://</span>'
        '<span class="ellipsis">example.com/very/long/path/tha</span>'
        '<span class="invisible">t/goes/on</span></a></p>'
    )
    # the visible part is exactly 30 characters, as Mastodon's url[prefix.length, 30]
    assert len("example.com/very/long/path/tha") == 30


def test_url_of_exactly_thirty_characters_is_not_cut() -> None:
    rest = "example.com/" + "a" * 18
    assert len(rest) == 30
    assert html("http://" + rest) == "<p>" + link("http://" + rest, "http://", rest) + "</p>"
    assert html("http://" + rest + "b") == "<p>" + link(
        "http://" + rest + "b", "http://", rest, "b", "ellipsis"
    ) + "</p>"


def test_www_goes_into_the_invisible_prefix() -> None:
    assert html("https://www.example.com/") == "<p>" + link(
        "https://www.example.com/", "https://www.", "example.com/"
    ) + "</p>"


def test_trailing_punctuation_is_not_part_of_the_url() -> None:
    for tail in [".", ",", ":", ";", "!", "?", "'", '"', "...", "?!"]:
        escaped_tail = tail.replace("'", "&#39;").replace('"', "&quot;")
        expected = "<p>Go " + link("https://example.com/x", "https://", "example.com/x") + escaped_tail + "</p>"
        assert html(f"Go https://example.com/x{tail}") == expected, tail


def test_url_in_parentheses_keeps_only_balanced_parentheses() -> None:
    # Given a URL with its own balanced parentheses, inside parentheses
    result = html("(see https://example.com/a_(b))")
    # Then the inner pair is in the URL and the outer closing one is not
    assert result == "<p>(see " + link("https://example.com/a_(b)", "https://", "example.com/a_(b)") + ")</p>"
    assert html("(https://example.com/x).") == "<p>(" + link(
        "https://example.com/x", "https://", "example.com/x"
    ) + ").</p>"


def test_url_stops_at_angle_brackets_and_quotes() -> None:
    assert html("<https://example.com/>") == "<p>&lt;" + link(
        "https://example.com/", "https://", "example.com/"
    ) + "&gt;</p>"


def test_hostile_characters_in_urls_are_escaped_in_href() -> None:
    result = html("https://example.com/?a=1&b='x'onmouseover=alert(1)")
    assert result == "<p>" + link(
        "https://example.com/?a=1&amp;b=&#39;x&#39;onmouseover=alert(1)",
        "https://",
        "example.com/?a=1&amp;b=&#39;x&#39;onmouseo",
        "ver=alert(1)",
        "ellipsis",
    ) + "</p>"
    assert "'" not in result and "<script" not in result


def test_scheme_without_host_is_not_linked() -> None:
    assert html("https:// and https://.") == "<p>https:// and https://.</p>"


def test_url_glued_to_a_word_is_not_linked() -> None:
    assert html("xhttps://example.com") == "<p>xhttps://example.com</p>"


# -- mentions ----------------------------------------------------------------------------------


def test_local_and_remote_mentions_are_resolved() -> None:
    # Given a bare local mention, a local mention with the domain and a remote one, in mixed case
    result = fmt("Hi @alice and @ALICE@Example.Social, meet @bob@remote.example!")
    # Then each links to the profile and shows only the username, and the mentions are deduped
    assert result.html == f"<p>Hi {ALICE_HTML} and {ALICE_HTML}, meet {BOB_HTML}!</p>"
    assert result.mentions == (ALICE, BOB)


def test_unresolved_mentions_stay_plain_escaped_text() -> None:
    result = fmt("@carol and @dave@elsewhere.example and @bob (bare, so local)")
    assert result.html == "<p>@carol and @dave@elsewhere.example and @bob (bare, so local)</p>"
    assert result.mentions == ()


def test_email_addresses_and_url_paths_are_not_mentions() -> None:
    result = fmt("mail alice@example.social or x.@alice or a/@alice")
    assert result.html == "<p>mail alice@example.social or x.@alice or a/@alice</p>"
    assert result.mentions == ()


def test_mention_inside_url_is_part_of_the_link() -> None:
    result = fmt("https://example.social/@alice")
    assert result.html == "<p>" + link(
        "https://example.social/@alice", "https://", "example.social/@alice"
    ) + "</p>"
    assert result.mentions == ()


def test_mention_followed_by_punctuation() -> None:
    assert html("(@alice).") == f"<p>({ALICE_HTML}).</p>"
    assert html("@bob@remote.example.") == f"<p>{BOB_HTML}.</p>"


def test_mention_with_hostile_profile_url_is_escaped() -> None:
    evil = Mention(uri="u", acct="eve@evil.example", url='https://evil.example/"><script>')
    result = format_plain_text("@eve@evil.example", local_domain=LOCAL, hashtag_url=tag_url,
                               mentions={("eve", "evil.example"): evil})
    assert result.html == (
        '<p><span class="h-card" translate="no"><a href="https://evil.example/&quot;&gt;&lt;script&gt;" '
        'class="u-url mention">@<span>eve</span></a></span></p>'
    )


def test_find_mention_handles_in_order_and_deduped() -> None:
    text = "@Bob@Remote.Example hi @alice, @bob@remote.example @ALICE @alice@example.social x@y.z @carol."
    assert find_mention_handles(text) == [
        MentionHandle("Bob", "Remote.Example"),
        MentionHandle("alice", None),
        MentionHandle("alice", "example.social"),
        MentionHandle("carol", None),
    ]


def test_find_mention_handles_ignores_urls_and_partial_hosts() -> None:
    text = "https://example.com/@alice @a@bücher.de @port@host.example:8443 @user.name-x"
    assert find_mention_handles(text) == [
        MentionHandle("port", "host.example:8443"),
        MentionHandle("user.name-x", None),
    ]


# -- hashtags ----------------------------------------------------------------------------------


def hashtag_html(name: str) -> str:
    return f'<a href="https://example.social/tags/{name}" class="mention hashtag" rel="tag">#<span>{name}</span></a>'


def test_hashtags_are_linked_and_deduped_case_insensitively() -> None:
    result = fmt("#Fediverse is #fediverse, #café #日本語 #2024 #2024_recap")
    assert result.html == (
        f"<p>{hashtag_html('Fediverse')} is {hashtag_html('fediverse')}, {hashtag_html('café')} "
        f"{hashtag_html('日本語')} #2024 {hashtag_html('2024_recap')}</p>"
    )
    assert result.hashtags == (Hashtag("Fediverse"), Hashtag("café"), Hashtag("日本語"), Hashtag("2024_recap"))


def test_all_digit_tag_is_not_a_hashtag() -> None:
    result = fmt("issue #123.")
    assert result.html == "<p>issue #123.</p>"
    assert result.hashtags == ()


def test_hashtags_inside_urls_and_words_are_ignored() -> None:
    result = fmt("https://example.com/page#section a#b &#tag")
    assert result.html == "<p>" + link(
        "https://example.com/page#section", "https://", "example.com/page#section"
    ) + " a#b &amp;#tag</p>"
    assert result.hashtags == ()


def test_everything_together() -> None:
    text = "Hey @alice!\nRead https://example.com/post #News\n\n<3"
    assert html(text) == (
        f"<p>Hey {ALICE_HTML}!<br />Read "
        + link("https://example.com/post", "https://", "example.com/post")
        + f" {hashtag_html('News')}</p><p>&lt;3</p>"
    )
