"""AI provenance: the XMP packet in PNG, WebP and JPEG files, and the Provenance JSON."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ElementTree

import pytest
from PIL import Image

from fediverse_node.config import MediaSettings
from fediverse_node.domain.media import TRAINED_ALGORITHMIC_MEDIA, Provenance
from fediverse_node.media.processing import encode_generated
from fediverse_node.media.provenance import (IPTC_EXT_NAMESPACE, PNG_XMP_KEY, XMP_NAMESPACE, build_xmp,
                                             parse_xmp, read_provenance)
from media_samples import gradient, provenance


def test_json_round_trip():
    given = provenance()
    assert Provenance.from_json(given.to_json()) == given
    private = provenance(prompt=None)
    assert private.to_json()["prompt"] is None
    assert Provenance.from_json(private.to_json()) == private
    assert given.digital_source_type == TRAINED_ALGORITHMIC_MEDIA


def test_packet_is_well_formed_xml_with_the_iptc_source_type():
    root = ElementTree.fromstring(build_xmp(provenance()).lstrip("\ufeff"))
    source = root.find(f".//{{{IPTC_EXT_NAMESPACE}}}DigitalSourceType")
    assert source is not None and source.text == TRAINED_ALGORITHMIC_MEDIA
    assert root.find(f".//{{{XMP_NAMESPACE}}}seed").text == "1234"  # type: ignore[union-attr]


@pytest.mark.parametrize("image_format", ["webp", "png", "jpeg"])
def test_every_format_carries_the_provenance(image_format):
    # Given a generated image encoded in the configured format
    processed = encode_generated(gradient(), MediaSettings(image_format=image_format), provenance())
    # Then the file and its thumbnail both say what made them
    for data in (processed.data, processed.thumbnail):
        found = read_provenance(data)
        assert found is not None
        assert Provenance.from_json(found) == provenance()


def test_png_keeps_it_in_an_itxt_chunk_and_nothing_else():
    processed = encode_generated(gradient(), MediaSettings(image_format="png"), provenance())
    with Image.open(io.BytesIO(processed.data)) as image:
        assert set(image.info) <= {PNG_XMP_KEY, "xmp"}  # Pillow shows the one chunk under both keys
        assert "parameters" not in image.info
    assert b"iTXt" + PNG_XMP_KEY.encode() in processed.data


def test_a_private_prompt_is_left_out():
    processed = encode_generated(gradient(), MediaSettings(), provenance(prompt=None))
    found = read_provenance(processed.data)
    assert found is not None and found["prompt"] is None
    assert b"lighthouse" not in processed.data


def test_markup_in_the_prompt_is_escaped():
    tricky = 'a <b>bold</b> & "quoted" \'cat\' ]]> \x00\x07 prompt'
    processed = encode_generated(gradient(), MediaSettings(), provenance(prompt=tricky))
    found = read_provenance(processed.data)
    assert found is not None and found["prompt"] == 'a <b>bold</b> & "quoted" \'cat\' ]]>  prompt'


def test_files_without_provenance_read_as_none():
    buffer = io.BytesIO()
    gradient().save(buffer, "PNG")
    assert read_provenance(buffer.getvalue()) is None
    assert read_provenance(b"not an image") is None
    assert parse_xmp("<not xml") is None
    assert parse_xmp('<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>') is None
