"""RFC 9421 section 2: the value of each covered component, and the signature base built from them.

Derived components supported for requests: `@method`, `@target-uri`, `@authority`, `@scheme`,
`@request-target`, `@path`, `@query`, `@query-param;name=...`. Header fields are their values joined with
`, `. Component parameters other than `name` (`sf`, `key`, `bs`, `req`, `tr`) are refused.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from fediverse_node.crypto.http_request import HttpRequest
from fediverse_node.crypto.signature_errors import SignatureRejected
from fediverse_node.crypto.structured_fields import InnerList, Item, serialize_inner_list, serialize_item


def normalized_authority(host: str, scheme: str) -> str:
    """Host lower-cased, with the scheme's default port dropped (RFC 9421 section 2.2.3)."""
    authority = host.strip().lower()
    default_port = {"https": ":443", "http": ":80"}.get(scheme.lower())
    if default_port and authority.endswith(default_port):
        authority = authority[: -len(default_port)]
    return authority


def target_uri(request: HttpRequest, scheme: str) -> str:
    return f"{scheme.lower()}://{normalized_authority(request.host, scheme)}{request.target}"


def signature_base(request: HttpRequest, covered: InnerList, scheme: str) -> bytes:
    """The text that is signed: one `"<component>": <value>` line per covered component, then the parameters."""
    lines = []
    seen: set[str] = set()
    for component in covered.items:
        identifier = serialize_item(component)
        if identifier in seen:
            raise SignatureRejected(f"component {identifier} is covered twice")
        seen.add(identifier)
        for value in component_values(request, component, scheme):
            if "\n" in value or "\r" in value:
                raise SignatureRejected(f"component {identifier} has a line break in its value")
            lines.append(f"{identifier}: {value}")
    lines.append(f'"@signature-params": {serialize_inner_list(covered)}')
    try:
        return "\n".join(lines).encode("ascii")
    except UnicodeEncodeError as error:
        raise SignatureRejected("a covered component value is not ASCII") from error


def component_values(request: HttpRequest, component: Item, scheme: str) -> list[str]:
    """The value lines of one covered component (several only for a repeated `@query-param`)."""
    name = component.value
    if not isinstance(name, str) or isinstance(name, bool):
        raise SignatureRejected("a covered component is not a string")
    parameter_names = [key for key, _ in component.parameters]
    if name == "@query-param":
        if parameter_names != ["name"] or not isinstance(component.parameters[0][1], str):
            raise SignatureRejected('@query-param needs exactly one parameter, name="..."')
        return _query_param_values(request, component.parameters[0][1])
    if parameter_names:
        raise SignatureRejected(f"component parameter ;{parameter_names[0]} on {name} is not supported")
    if name.startswith("@"):
        return [_derived_value(request, name, scheme)]
    if name != name.lower():
        raise SignatureRejected(f"covered header name {name!r} is not lower-case")
    value = request.combined_header(name)
    if value is None:
        raise SignatureRejected(f"signed header {name!r} is missing from the request")
    return [value]


def _derived_value(request: HttpRequest, name: str, scheme: str) -> str:
    if name == "@method":
        return request.method
    if name == "@target-uri":
        return target_uri(request, scheme)
    if name == "@authority":
        return normalized_authority(request.host, scheme)
    if name == "@scheme":
        return scheme.lower()
    if name == "@request-target":
        return request.target
    if name == "@path":
        return request.path
    if name == "@query":
        return "?" + (request.query or "")
    if name in ("@status", "@signature-params"):
        raise SignatureRejected(f"{name} cannot be a covered component of a request signature")
    raise SignatureRejected(f"unknown derived component {name}")


def _query_param_values(request: HttpRequest, wanted: str) -> list[str]:
    """Values of the query parameter `wanted`, decoded then re-encoded (RFC 9421 section 2.2.8)."""
    values = []
    for pair in (request.query or "").split("&"):
        if not pair:
            continue
        raw_name, _, raw_value = pair.partition("=")
        if _reencode(raw_name) == _reencode(wanted):
            values.append(_reencode(raw_value))
    if not values:
        raise SignatureRejected(f"signed query parameter {wanted!r} is missing from the request")
    return values


def _reencode(text: str) -> str:
    """Percent-decode (`+` is a space), then percent-encode all but ASCII letters, digits and `*-._`."""
    decoded = unquote_to_bytes(text.replace("+", " "))
    return "".join(chr(byte) if chr(byte).isascii() and (chr(byte).isalnum() or chr(byte) in "*-._")
                   else f"%{byte:02X}" for byte in decoded)
