"""The RFC 8941 subset: dictionaries of items and inner lists, and canonical serialisation."""

from __future__ import annotations

import pytest

from fediverse_node.crypto.structured_fields import (
    InnerList,
    Item,
    StructuredFieldError,
    Token,
    parse_dictionary,
    serialize_inner_list,
    serialize_item,
)


def test_signature_input_parses_and_serialises_back_canonically():
    text = 'sig1=( "@method"  "@query-param";name="Pet" );created=1618884473;keyid="k\\"1";alg=ed25519'

    members = parse_dictionary(text)

    inner = members["sig1"]
    assert isinstance(inner, InnerList)
    assert inner.items == (Item("@method"), Item("@query-param", (("name", "Pet"),)))
    assert inner.parameters == (("created", 1618884473), ("keyid", 'k"1'), ("alg", Token("ed25519")))
    assert serialize_inner_list(inner) == (
        '("@method" "@query-param";name="Pet");created=1618884473;keyid="k\\"1";alg=ed25519')


def test_dictionary_members_of_every_bare_type():
    members = parse_dictionary('a=1, b=-2.5, c="x", d=tok/en:1, e=:aGk=:, f=?0, g, h;p=?1')

    assert [member.value for member in members.values() if isinstance(member, Item)] == [
        1, -2.5, "x", Token("tok/en:1"), b"hi", False, True, True]
    assert members["h"] == Item(True, (("p", True),))
    assert serialize_item(Item(2.5)) == "2.5" and serialize_item(Item(b"hi")) == ":aGk=:"
    assert serialize_item(Item(True, (("p", True), ("q", False)))) == "?1;p;q=?0"


def test_repeated_key_keeps_the_last_value():
    assert parse_dictionary("a=1, b=2, a=3") == {"a": Item(3), "b": Item(2)}


@pytest.mark.parametrize("text", ['a="open', "a=(1 2", "A=1", "a=1,", "a=1 b=2", "a=:!!:", "a=?2", 'a="\\n"',
                                  "a=1234567890123456", "a=1.2345", "a=@x"])
def test_invalid_dictionary_is_refused(text):
    with pytest.raises(StructuredFieldError):
        parse_dictionary(text)
