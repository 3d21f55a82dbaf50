"""A plain description of an HTTP request: what HTTP signatures are computed over. No web framework types."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

HeaderPairs = tuple[tuple[str, str], ...]
HeadersInput = Mapping[str, str] | Iterable[tuple[str, str]]


def header_pairs(headers: HeadersInput | None) -> HeaderPairs:
    """Headers as (name, value) pairs in the order given; a Mapping gives one pair per key."""
    if headers is None:
        return ()
    if isinstance(headers, Mapping):
        return tuple((str(name), str(value)) for name, value in headers.items())
    return tuple((str(name), str(value)) for name, value in headers)


@dataclass(frozen=True)
class HttpRequest:
    """One request as the signer sent it.

    `target` is the request-target in origin form, path plus query exactly as on the request line
    (`/inbox?x=1`). `host` is the authority the sender addressed (host[:port]); behind a reverse proxy that
    rewrites Host, pass the public host here. `headers` are the header lines as received, in order, with
    repeats; lookups are case-insensitive.
    """

    method: str
    target: str
    host: str
    headers: HeaderPairs = ()
    body: bytes = b""
    _values_by_name: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        values_by_name: dict[str, list[str]] = {}
        for name, value in self.headers:
            values_by_name.setdefault(name.lower(), []).append(value.strip())
        object.__setattr__(self, "_values_by_name",
                           {name: tuple(values) for name, values in values_by_name.items()})

    @classmethod
    def received(cls, method: str, target: str, headers: HeadersInput, body: bytes = b"",
                 host: str | None = None) -> HttpRequest:
        """Describe a received request; `host` defaults to the Host header."""
        pairs = header_pairs(headers)
        if host is None:
            host = next((value.strip() for name, value in pairs if name.lower() == "host"), None)
            if host is None:
                raise ValueError("the request has no Host header; pass host=")
        return cls(method=method, target=target, host=host, headers=pairs, body=body)

    def header_values(self, name: str) -> tuple[str, ...]:
        """Every value of the header `name`, in order, each stripped of surrounding whitespace."""
        return self._values_by_name.get(name.lower(), ())

    def combined_header(self, name: str) -> str | None:
        """All values of `name` joined with `, ` (how HTTP combines repeated fields), or None if absent."""
        values = self.header_values(name)
        return ", ".join(values) if values else None

    def has_header(self, name: str) -> bool:
        return name.lower() in self._values_by_name

    @property
    def path(self) -> str:
        path = self.target.partition("?")[0]
        return path or "/"

    @property
    def query(self) -> str | None:
        """The query without its `?`; None when the target has no `?` at all."""
        path, question_mark, query = self.target.partition("?")
        return query if question_mark else None
