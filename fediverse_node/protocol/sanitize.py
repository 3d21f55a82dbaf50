"""Remote HTML -> the subset Mastodon allows. No scripts, no styles, no javascript: links.

`class` is governed by ALLOWED_CLASSES only (nh3 refuses it in both places).
"""

from __future__ import annotations

import nh3

ALLOWED_TAGS = {"p", "br", "span", "a", "abbr", "del", "s", "pre", "blockquote", "code", "b", "strong", "u", "i",
                "em", "ul", "ol", "li", "ruby", "rt", "rp", "h1", "h2", "h3", "h4", "h5", "h6", "sup", "sub"}
ALLOWED_ATTRIBUTES = {"a": {"href", "translate", "title"}, "span": {"translate"},
                      "ol": {"start", "reversed"}, "li": {"value"}, "abbr": {"title"}}
URL_SCHEMES = {"http", "https", "mailto", "xmpp", "matrix", "gemini", "magnet", "ipfs", "dat", "dweb", "ssb"}
ALLOWED_CLASSES = {"a": {"mention", "hashtag", "u-url", "status-link", "unhandled-link"},
                   "span": {"h-card", "invisible", "ellipsis", "mention", "hashtag"}}


def sanitize_html(html: str) -> str:
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=URL_SCHEMES,
                     link_rel="nofollow noopener noreferrer", allowed_classes=ALLOWED_CLASSES,
                     strip_comments=True)
