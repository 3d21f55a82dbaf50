"""Actor key pairs: RSA-2048 by default. Parsed keys are cached per process, keyed by PEM text."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
PublicKey = rsa.RSAPublicKey | ed25519.Ed25519PublicKey


@dataclass(frozen=True)
class KeyPairPem:
    private_pem: str
    public_pem: str


def generate_rsa_key_pair(bits: int = 2048) -> KeyPairPem:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return _to_pem(key)


def generate_ed25519_key_pair() -> KeyPairPem:
    return _to_pem(ed25519.Ed25519PrivateKey.generate())


def _to_pem(key: PrivateKey) -> KeyPairPem:
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode("ascii")
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
    return KeyPairPem(private_pem, public_pem)


class KeyRing:
    """Parses each PEM once per process; later calls return the parsed key object."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self._private: dict[str, PrivateKey] = {}
        self._public: dict[str, PublicKey] = {}
        self._max_entries = max_entries

    def private_key(self, pem: str) -> PrivateKey:
        key = self._private.get(pem)
        if key is None:
            loaded = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
            if not isinstance(loaded, (rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey)):
                raise ValueError("unsupported private key type")
            key = self._remember(self._private, pem, loaded)
        return key

    def public_key(self, pem: str) -> PublicKey:
        key = self._public.get(pem)
        if key is None:
            loaded = serialization.load_pem_public_key(pem.encode("ascii"))
            if not isinstance(loaded, (rsa.RSAPublicKey, ed25519.Ed25519PublicKey)):
                raise ValueError("unsupported public key type")
            key = self._remember(self._public, pem, loaded)
        return key

    def _remember(self, cache: dict, pem: str, key):  # type: ignore[no-untyped-def]
        if len(cache) >= self._max_entries:
            cache.pop(next(iter(cache)))
        cache[pem] = key
        return key
