"""Signature algorithms by name: which key type each needs, and sign/verify over bytes with parsed keys.

Names: `rsa-sha256` (= RFC 9421 `rsa-v1_5-sha256`), `rsa-sha512`, `rsa-pss-sha512`, `ed25519`.
Keys are `cryptography` key objects the caller already parsed; nothing here reads PEM.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from fediverse_node.crypto.keys import PrivateKey, PublicKey
from fediverse_node.crypto.signature_errors import SignatureRejected


def key_type_name(key: PublicKey | PrivateKey) -> str:
    if isinstance(key, (rsa.RSAPublicKey, rsa.RSAPrivateKey)):
        return "RSA"
    if isinstance(key, (ed25519.Ed25519PublicKey, ed25519.Ed25519PrivateKey)):
        return "Ed25519"
    return type(key).__name__


def cavage_algorithm_for_key(declared: str | None, key: PublicKey) -> str:
    """The algorithm to verify a draft-cavage signature with.

    `hs2019` (or no algorithm) means "whatever the key is": RSA verifies as rsa-sha256 PKCS#1 v1.5 (what
    GoToSocial and Mastodon send), Ed25519 as ed25519.
    """
    name = (declared or "hs2019").strip().lower()
    if name.startswith("hmac-"):
        raise SignatureRejected(f"algorithm {name} is not accepted: HMAC needs a shared secret")
    if name == "hs2019":
        return "ed25519" if isinstance(key, ed25519.Ed25519PublicKey) else "rsa-sha256"
    if name in ("rsa-sha256", "rsa-sha512", "ed25519"):
        return name
    raise SignatureRejected(f"unsupported signature algorithm {declared!r}")


def rfc9421_algorithms_for_key(declared: str | None, key: PublicKey) -> tuple[str, ...]:
    """The algorithms to try for an RFC 9421 signature; with no `alg` an RSA key may be either RSA scheme."""
    if declared is None:
        if isinstance(key, ed25519.Ed25519PublicKey):
            return ("ed25519",)
        return ("rsa-v1_5-sha256", "rsa-pss-sha512")
    if declared.startswith("hmac-"):
        raise SignatureRejected(f"algorithm {declared} is not accepted: HMAC needs a shared secret")
    if declared in ("rsa-v1_5-sha256", "rsa-pss-sha512", "ed25519"):
        return (declared,)
    raise SignatureRejected(f"unsupported signature algorithm {declared!r}")


def verify_bytes(algorithm: str, public_key: PublicKey, signature: bytes, message: bytes) -> bool:
    """True when `signature` is `algorithm` over `message` by `public_key`; rejects a key of the wrong type."""
    _require_key_type(algorithm, public_key)
    try:
        if isinstance(public_key, ed25519.Ed25519PublicKey):
            public_key.verify(signature, message)
        else:
            public_key.verify(signature, message, _rsa_padding(algorithm), _rsa_hash(algorithm))
    except InvalidSignature:
        return False
    return True


def sign_bytes(algorithm: str, private_key: PrivateKey, message: bytes) -> bytes:
    _require_key_type(algorithm, private_key)
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        return private_key.sign(message)
    return private_key.sign(message, _rsa_padding(algorithm), _rsa_hash(algorithm))


def _require_key_type(algorithm: str, key: PublicKey | PrivateKey) -> None:
    wanted = "Ed25519" if algorithm == "ed25519" else "RSA"
    if algorithm not in ("rsa-sha256", "rsa-v1_5-sha256", "rsa-sha512", "rsa-pss-sha512", "ed25519"):
        raise SignatureRejected(f"unsupported signature algorithm {algorithm!r}")
    if key_type_name(key) != wanted:
        raise SignatureRejected(
            f"algorithm {algorithm} needs an {wanted} key, but the key is {key_type_name(key)}")


def _rsa_padding(algorithm: str) -> padding.AsymmetricPadding:
    if algorithm == "rsa-pss-sha512":
        return padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=64)
    return padding.PKCS1v15()


def _rsa_hash(algorithm: str) -> hashes.HashAlgorithm:
    return hashes.SHA512() if algorithm in ("rsa-sha512", "rsa-pss-sha512") else hashes.SHA256()
