"""RFC 9421 HTTP Message Signatures on requests: read `Signature-Input`/`Signature`, verify, sign.

    Signature-Input: sig1=("@method" "@target-uri" "content-digest");created=1618884473;keyid="k";alg="ed25519"
    Signature: sig1=:<base64>:

`@target-uri` and `@scheme` need the scheme the sender used; a server behind a TLS-terminating proxy passes
`scheme="https"` even though it received plain HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass

from fediverse_node.crypto.http_request import HttpRequest
from fediverse_node.crypto.keys import PrivateKey, PublicKey
from fediverse_node.crypto.rfc9421_components import signature_base
from fediverse_node.crypto.signature_algorithms import rfc9421_algorithms_for_key, sign_bytes, verify_bytes
from fediverse_node.crypto.signature_errors import SignatureRejected
from fediverse_node.crypto.structured_fields import (
    BareItem,
    InnerList,
    Item,
    StructuredFieldError,
    Token,
    parameter,
    parse_dictionary,
    serialize_inner_list,
    serialize_item,
)


@dataclass(frozen=True)
class Rfc9421Signature:
    """One labelled signature: what it covers (with its parameters) and the signature bytes."""

    label: str
    covered: InnerList
    signature: bytes

    @property
    def key_id(self) -> str:
        key_id = parameter(self.covered.parameters, "keyid")
        if not isinstance(key_id, str) or isinstance(key_id, Token) or not key_id:
            raise SignatureRejected(f"signature {self.label} has no keyid parameter")
        return key_id

    @property
    def algorithm(self) -> str | None:
        return _string_parameter(self, "alg")

    @property
    def created(self) -> int | None:
        return _integer_parameter(self, "created")

    @property
    def expires(self) -> int | None:
        return _integer_parameter(self, "expires")

    @property
    def component_names(self) -> tuple[str, ...]:
        return tuple(str(item.value) for item in self.covered.items)


def find_rfc9421_signature(request: HttpRequest, label: str | None = None) -> Rfc9421Signature | None:
    """The signature labelled `label` (default: the first one in Signature-Input); None if not signed this way."""
    signature_input = request.combined_header("signature-input")
    if signature_input is None:
        return None
    signature_header = request.combined_header("signature")
    if signature_header is None:
        raise SignatureRejected("Signature-Input is present but the Signature header is missing")
    try:
        inputs = parse_dictionary(signature_input)
        signatures = parse_dictionary(signature_header)
    except StructuredFieldError as error:
        raise SignatureRejected(f"Signature-Input or Signature is not a structured-field dictionary: {error}") \
            from error
    if label is None:
        label = next((name for name in inputs if name in signatures), None)
        if label is None:
            raise SignatureRejected("no label appears in both Signature-Input and Signature")
    covered, signed = inputs.get(label), signatures.get(label)
    if covered is None or signed is None:
        raise SignatureRejected(f"signature {label!r} is not in both Signature-Input and Signature")
    if not isinstance(covered, InnerList) or not all(_is_text(item.value) for item in covered.items):
        raise SignatureRejected(f"Signature-Input {label} is not an inner list of component names")
    if not isinstance(signed, Item) or not isinstance(signed.value, bytes):
        raise SignatureRejected(f"Signature {label} is not a byte sequence")
    signature = Rfc9421Signature(label=label, covered=covered, signature=signed.value)
    _ = (signature.key_id, signature.algorithm, signature.created, signature.expires)  # refuse bad types now
    return signature


def verify_rfc9421_signature(request: HttpRequest, signature: Rfc9421Signature, public_key: PublicKey,
                             scheme: str = "https") -> str:
    """Check the signature itself (no time or coverage policy); return the algorithm that verified."""
    base = signature_base(request, signature.covered, scheme)
    for algorithm in rfc9421_algorithms_for_key(signature.algorithm, public_key):
        if verify_bytes(algorithm, public_key, signature.signature, base):
            return algorithm
    raise SignatureRejected(
        f"signature {signature.label} does not verify with the key of {signature.key_id} "
        f"({signature.algorithm or 'alg from key'} over {' '.join(signature.component_names) or 'nothing'})")


def sign_rfc9421(request: HttpRequest, components: tuple[str, ...], parameters: tuple[tuple[str, BareItem], ...],
                 algorithm: str, private_key: PrivateKey, scheme: str, label: str = "sig1") -> dict[str, str]:
    """`Signature-Input` and `Signature` headers for `request` covering `components` with `parameters`."""
    covered = InnerList(tuple(Item(name) for name in components), parameters)
    signed = sign_bytes(algorithm, private_key, signature_base(request, covered, scheme))
    return {"Signature-Input": f"{label}={serialize_inner_list(covered)}",
            "Signature": f"{label}={serialize_item(Item(signed))}"}


def _is_text(value: BareItem) -> bool:
    """An sf-string (a token is text too, but not a valid component name or parameter here)."""
    return isinstance(value, str) and not isinstance(value, Token)


def _string_parameter(signature: Rfc9421Signature, name: str) -> str | None:
    value = parameter(signature.covered.parameters, name)
    if value is None:
        return None
    if not _is_text(value):
        raise SignatureRejected(f"signature {signature.label} parameter {name} is not a string")
    return str(value)


def _integer_parameter(signature: Rfc9421Signature, name: str) -> int | None:
    value = parameter(signature.covered.parameters, name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise SignatureRejected(f"signature {signature.label} parameter {name} is not an integer")
    return value
