"""Plain-text posts to the HTML Mastodon 4.x makes of them: paragraphs, links, mentions, hashtags.

Pure functions, no I/O. The markup mirrors Mastodon's `TextFormatter` (and Rails' `simple_format`),
because Mastodon clients and servers style and parse it:

* everything is HTML-escaped, entity markup included (`&#39;` for `'`, as Ruby's `html_escape`);
* paragraphs (split on blank lines) become `<p>`, single newlines `<br />`;
* only `http://` and `https://` URLs are linked, shortened to 30 visible characters;
* resolved mentions become an h-card link showing the bare username; unresolved ones stay text;
* hashtags link to `hashtag_url(tag)`, with the tag as written.

Where entities overlap, URLs win: a `#` or `@` inside a URL is part of the link.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from fediverse_node.domain.posts import Hashtag, Mention

__all__ = ["FormattedText", "MentionHandle", "find_mention_handles", "format_plain_text"]


@dataclass(frozen=True)
class MentionHandle:
    username: str
    domain: str | None  # None when written as a bare @user (means: the local domain)


@dataclass(frozen=True)
class FormattedText:
    html: str
    mentions: tuple[Mention, ...]  # only the resolved ones, in order of first appearance, deduped by uri
    hashtags: tuple[Hashtag, ...]  # in order, deduped case-insensitively


# -- detection ---------------------------------------------------------------------------------

# A URL starts with its scheme, not glued to a preceding letter, digit or @ $ # (as twitter-text),
# and runs to whitespace or a character that can never be in one unescaped.
_URL_RE = re.compile(r"(?<![A-Za-z0-9@$#])https?://[^\s<>\"]+", re.IGNORECASE)
_URL_PREFIX_RE = re.compile(r"https?://(?:www\.)?", re.IGNORECASE)
_TRAILING_PUNCTUATION = frozenset(".,:;!?'\"")
_DISPLAY_LENGTH = 30

_USERNAME = r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_HOST = rf"{_LABEL}(?:\.{_LABEL})*(?::[0-9]{{1,5}})?"
# Not after a word character, @, / or . (e-mail addresses, URL paths); and never a partial match
# glued to more word characters or another @ (so `@a@bücher.de` is not read as `@a@b`).
_MENTION_RE = re.compile(rf"(?<![\w@/.])@({_USERNAME})(?:@({_HOST}))?(?![\w@])")
# Word characters, not all digits; not after a word character or & / # = ) (entities, URLs, `a#b`).
_HASHTAG_RE = re.compile(r"(?<![\w&/#=)])#(?!\d+(?!\w))(\w+)")


@dataclass(frozen=True)
class _Url:
    start: int
    end: int
    url: str


@dataclass(frozen=True)
class _MentionAt:
    start: int
    end: int
    handle: MentionHandle


@dataclass(frozen=True)
class _HashtagAt:
    start: int
    end: int
    name: str


_Entity = _Url | _MentionAt | _HashtagAt


def _trim_url(candidate: str) -> str:
    """Drop trailing punctuation and unbalanced closing parentheses, as twitter-text does."""
    end = len(candidate)
    unbalanced = candidate.count(")") - candidate.count("(")
    while end > 0:
        last = candidate[end - 1]
        if last == ")" and unbalanced > 0:
            unbalanced -= 1
        elif last not in _TRAILING_PUNCTUATION:
            break
        end -= 1
    return candidate[:end]


def _find_urls(text: str) -> Iterator[_Url]:
    for match in _URL_RE.finditer(text):
        url = _trim_url(match.group())
        host_start = url.find("://") + 3
        if host_start < len(url) and (url[host_start].isalnum() or url[host_start] == "["):
            yield _Url(match.start(), match.start() + len(url), url)


def _find_entities(text: str) -> list[_Entity]:
    """URLs, mentions and hashtags in order; mentions and hashtags inside a URL are dropped."""
    urls = list(_find_urls(text))
    others: list[_Entity] = [
        _MentionAt(m.start(), m.end(), MentionHandle(m.group(1), m.group(2)))
        for m in _MENTION_RE.finditer(text)
    ]
    others += [_HashtagAt(m.start(), m.end(), m.group(1)) for m in _HASHTAG_RE.finditer(text)]
    url_starts = [u.start for u in urls]  # ascending, and the URLs do not overlap

    def inside_url(entity: _Entity) -> bool:
        i = bisect_left(url_starts, entity.end) - 1  # the last URL starting before `entity` ends
        return i >= 0 and urls[i].end > entity.start

    entities: list[_Entity] = list(urls)
    entities += [e for e in others if not inside_url(e)]
    return sorted(entities, key=lambda e: e.start)


def find_mention_handles(text: str) -> list[MentionHandle]:
    """The `@user` / `@user@host` handles in `text`, in order, without case-insensitive repeats."""
    seen: set[tuple[str, str | None]] = set()
    handles: list[MentionHandle] = []
    for entity in _find_entities(_normalise(text)):
        if isinstance(entity, _MentionAt):
            handle = entity.handle
            key = (handle.username.lower(), handle.domain.lower() if handle.domain else None)
            if key not in seen:
                seen.add(key)
                handles.append(handle)
    return handles


# -- rendering ---------------------------------------------------------------------------------

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"})
_PARAGRAPH_BREAK_RE = re.compile(r"\n\s*\n")


def _escape(text: str) -> str:
    return text.translate(_ESCAPES)


def _normalise(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def _link_url(url: str) -> str:
    prefix_match = _URL_PREFIX_RE.match(url)
    prefix = prefix_match.group() if prefix_match else ""
    rest = url[len(prefix) :]
    display, hidden = rest[:_DISPLAY_LENGTH], rest[_DISPLAY_LENGTH:]
    display_class = "ellipsis" if len(rest) > _DISPLAY_LENGTH else ""
    return (
        f'<a href="{_escape(url)}" target="_blank" rel="nofollow noopener" translate="no">'
        f'<span class="invisible">{_escape(prefix)}</span>'
        f'<span class="{display_class}">{_escape(display)}</span>'
        f'<span class="invisible">{_escape(hidden)}</span></a>'
    )


def _link_mention(mention: Mention, written_username: str) -> str:
    username = mention.acct.split("@", 1)[0] or written_username
    return (
        f'<span class="h-card" translate="no"><a href="{_escape(mention.url)}" class="u-url mention">'
        f"@<span>{_escape(username)}</span></a></span>"
    )


def _link_hashtag(name: str, url: str) -> str:
    return f'<a href="{_escape(url)}" class="mention hashtag" rel="tag">#<span>{_escape(name)}</span></a>'


def _paragraphs(html: str) -> str:
    return "".join(
        "<p>" + paragraph.replace("\n", "<br />") + "</p>"
        for paragraph in _PARAGRAPH_BREAK_RE.split(html)
    )


def format_plain_text(
    text: str,
    *,
    local_domain: str,
    hashtag_url: Callable[[str], str],
    mentions: Mapping[tuple[str, str], Mention],
) -> FormattedText:
    """Render a plain-text post as Mastodon does.

    `mentions` maps (username.lower(), domain.lower()) to a resolved account; a bare `@alice` is
    looked up as ("alice", local_domain). `hashtag_url` gets the tag as written (no `#`) and must
    return a URL-safe string (it is HTML-escaped here, not percent-encoded).
    """
    text = _normalise(text)
    if not text:
        return FormattedText(html="", mentions=(), hashtags=())

    pieces: list[str] = []
    resolved: dict[str, Mention] = {}
    hashtags: dict[str, Hashtag] = {}
    position = 0
    for entity in _find_entities(text):
        pieces.append(_escape(text[position : entity.start]))
        if isinstance(entity, _Url):
            pieces.append(_link_url(entity.url))
        elif isinstance(entity, _MentionAt):
            handle = entity.handle
            mention = mentions.get((handle.username.lower(), (handle.domain or local_domain).lower()))
            if mention is None:
                pieces.append(_escape(text[entity.start : entity.end]))
            else:
                pieces.append(_link_mention(mention, handle.username))
                resolved.setdefault(mention.uri, mention)
        else:
            pieces.append(_link_hashtag(entity.name, hashtag_url(entity.name)))
            hashtags.setdefault(entity.name.casefold(), Hashtag(entity.name))
        position = entity.end
    pieces.append(_escape(text[position:]))

    return FormattedText(
        html=_paragraphs("".join(pieces)),
        mentions=tuple(resolved.values()),
        hashtags=tuple(hashtags.values()),
    )
