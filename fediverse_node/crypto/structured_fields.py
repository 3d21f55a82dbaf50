"""The part of RFC 8941 structured fields that RFC 9421 signatures and RFC 9530 Content-Digest need.

Parses dictionaries whose members are items or inner lists (with parameters) of integers, decimals, strings,
tokens, byte sequences and booleans, and serialises inner lists and items back in canonical form (the form
RFC 9421 signs as `@signature-params`).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass


class Token(str):
    """An sf-token: text like a string, but serialised without quotes."""


BareItem = int | float | str | bytes | bool
Parameters = tuple[tuple[str, BareItem], ...]


@dataclass(frozen=True)
class Item:
    value: BareItem
    parameters: Parameters = ()


@dataclass(frozen=True)
class InnerList:
    items: tuple[Item, ...]
    parameters: Parameters = ()


class StructuredFieldError(ValueError):
    """The field value is not valid structured-field syntax."""


def parse_dictionary(text: str) -> dict[str, Item | InnerList]:
    """Parse an sf-dictionary; a repeated key keeps its first position and its last value (RFC 8941 4.2.2)."""
    return _Parser(text).dictionary()


def parameter(parameters: Parameters, name: str) -> BareItem | None:
    for key, value in parameters:
        if key == name:
            return value
    return None


def serialize_inner_list(inner_list: InnerList) -> str:
    members = " ".join(serialize_item(item) for item in inner_list.items)
    return f"({members}){_serialize_parameters(inner_list.parameters)}"


def serialize_item(item: Item) -> str:
    return _serialize_bare_item(item.value) + _serialize_parameters(item.parameters)


def _serialize_parameters(parameters: Parameters) -> str:
    parts = []
    for key, value in parameters:
        parts.append(f";{key}" if value is True else f";{key}={_serialize_bare_item(value)}")
    return "".join(parts)


def _serialize_bare_item(value: BareItem) -> str:
    if isinstance(value, bool):
        return "?1" if value else "?0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = f"{value:.3f}".rstrip("0")
        return text + "0" if text.endswith(".") else text
    if isinstance(value, bytes):
        return ":" + base64.b64encode(value).decode("ascii") + ":"
    if isinstance(value, Token):
        return str(value)
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _is_lcalpha(char: str) -> bool:
    return "a" <= char <= "z"


def _is_alpha(char: str) -> bool:
    return "a" <= char.lower() <= "z"


def _is_digit(char: str) -> bool:
    return "0" <= char <= "9"


_TOKEN_EXTRA_CHARS = "!#$%&'*+-.^_`|~:/"


class _Parser:
    """A cursor over the field text; each method consumes what it parses (RFC 8941 section 4.2)."""

    def __init__(self, text: str) -> None:
        self.text = text.strip(" ")
        self.position = 0

    def dictionary(self) -> dict[str, Item | InnerList]:
        members: dict[str, Item | InnerList] = {}
        while not self._at_end():
            key = self._key()
            if self._peek() == "=":
                self.position += 1
                members[key] = self._item_or_inner_list()
            else:
                members[key] = Item(True, self._parameters())
            self._skip_ows()
            if self._at_end():
                return members
            self._expect(",")
            self._skip_ows()
            if self._at_end():
                raise StructuredFieldError("trailing comma in dictionary")
        return members

    def _item_or_inner_list(self) -> Item | InnerList:
        return self._inner_list() if self._peek() == "(" else self._item()

    def _inner_list(self) -> InnerList:
        self._expect("(")
        items: list[Item] = []
        while not self._at_end():
            while self._peek() == " ":
                self.position += 1
            if self._peek() == ")":
                self.position += 1
                return InnerList(tuple(items), self._parameters())
            items.append(self._item())
            if self._peek() not in (" ", ")"):
                raise StructuredFieldError(f"unexpected {self._peek()!r} in inner list at {self.position}")
        raise StructuredFieldError("inner list is not closed")

    def _item(self) -> Item:
        return Item(self._bare_item(), self._parameters())

    def _parameters(self) -> Parameters:
        parameters: dict[str, BareItem] = {}
        while self._peek() == ";":
            self.position += 1
            while self._peek() == " ":
                self.position += 1
            key = self._key()
            value: BareItem = True
            if self._peek() == "=":
                self.position += 1
                value = self._bare_item()
            parameters[key] = value
        return tuple(parameters.items())

    def _key(self) -> str:
        start = self.position
        first = self._peek()
        if not (_is_lcalpha(first) or first == "*"):
            raise StructuredFieldError(f"a key must start with a lower-case letter or '*', got {first!r}")
        self.position += 1
        while self._peek() and (_is_lcalpha(self._peek()) or _is_digit(self._peek()) or self._peek() in "_-.*"):
            self.position += 1
        return self.text[start:self.position]

    def _bare_item(self) -> BareItem:
        char = self._peek()
        if char == "-" or _is_digit(char):
            return self._number()
        if char == '"':
            return self._string()
        if char == ":":
            return self._byte_sequence()
        if char == "?":
            return self._boolean()
        if char == "*" or _is_alpha(char):
            return self._token()
        raise StructuredFieldError(f"unexpected {char!r} at {self.position}")

    def _number(self) -> int | float:
        start = self.position
        if self._peek() == "-":
            self.position += 1
        while _is_digit(self._peek()) or self._peek() == ".":
            self.position += 1
        text = self.text[start:self.position]
        digits = text.lstrip("-")
        if not digits or not _is_digit(digits[0]):
            raise StructuredFieldError(f"bad number {text!r}")
        if "." not in digits:
            if len(digits) > 15:
                raise StructuredFieldError(f"integer {text!r} has more than 15 digits")
            return int(text)
        whole, _, fraction = digits.partition(".")
        if len(whole) > 12 or not 1 <= len(fraction) <= 3 or "." in fraction:
            raise StructuredFieldError(f"bad decimal {text!r}")
        return float(text)

    def _string(self) -> str:
        self._expect('"')
        chars: list[str] = []
        while not self._at_end():
            char = self.text[self.position]
            self.position += 1
            if char == "\\":
                escaped = self._peek()
                if escaped not in ('"', "\\"):
                    raise StructuredFieldError("a string may only escape '\"' and '\\'")
                chars.append(escaped)
                self.position += 1
            elif char == '"':
                return "".join(chars)
            elif not " " <= char <= "~":
                raise StructuredFieldError(f"character {char!r} is not allowed in a string")
            else:
                chars.append(char)
        raise StructuredFieldError("string is not closed")

    def _token(self) -> Token:
        start = self.position
        self.position += 1
        while self._peek() and (_is_alpha(self._peek()) or _is_digit(self._peek())
                                or self._peek() in _TOKEN_EXTRA_CHARS):
            self.position += 1
        return Token(self.text[start:self.position])

    def _byte_sequence(self) -> bytes:
        self._expect(":")
        end = self.text.find(":", self.position)
        if end < 0:
            raise StructuredFieldError("byte sequence is not closed")
        encoded = self.text[self.position:end]
        self.position = end + 1
        try:
            return base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as error:
            raise StructuredFieldError(f"byte sequence is not valid base64: {error}") from error

    def _boolean(self) -> bool:
        self._expect("?")
        char = self._peek()
        if char not in ("0", "1"):
            raise StructuredFieldError("a boolean must be ?0 or ?1")
        self.position += 1
        return char == "1"

    def _skip_ows(self) -> None:
        while self._peek() in (" ", "\t"):
            self.position += 1

    def _expect(self, char: str) -> None:
        if self._peek() != char:
            raise StructuredFieldError(f"expected {char!r} at {self.position}, got {self._peek()!r}")
        self.position += 1

    def _peek(self) -> str:
        return self.text[self.position] if self.position < len(self.text) else ""

    def _at_end(self) -> bool:
        return self.position >= len(self.text)
