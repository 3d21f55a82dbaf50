"""AI provenance inside the image file, as an XMP packet; and a reader for it.

The packet says, in standard terms, that the image was made by a trained algorithm
(`Iptc4xmpExt:DigitalSourceType` = trainedAlgorithmicMedia) and by what software (`xmp:CreatorTool`).
The rest is in this project's own namespace, XMP_NAMESPACE, the same on every node:

    fedi:generatorUrl   the node's base URL or the project URL
    fedi:model          the diffusers model id or folder name
    fedi:seed           integer seed of the generator
    fedi:steps          number of inference steps
    fedi:guidanceScale  classifier-free guidance scale (a decimal number)
    fedi:safety         "passed" (the model's safety checker looked at it) or "unchecked"
    fedi:prompt         the prompt, only when it is public

Mastodon strips metadata when it re-encodes, so the ActivityPub object carries the label as well."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ElementTree
from typing import Any
from xml.sax.saxutils import escape

from PIL import Image, UnidentifiedImageError

from fediverse_node.domain.media import FEDIVERSE_NODE_NS, Provenance

XMP_NAMESPACE = FEDIVERSE_NODE_NS
IPTC_EXT_NAMESPACE = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
XMP_BASIC_NAMESPACE = "http://ns.adobe.com/xap/1.0/"
RDF_NAMESPACE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
PNG_XMP_KEY = "XML:com.adobe.xmp"  # the iTXt keyword the XMP specification gives for PNG
MAX_PACKET_BYTES = 65_536

# Characters XML 1.0 cannot carry at all, even escaped.
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

# element in our namespace -> (key in Provenance.to_json, type)
_FIELDS: dict[str, tuple[str, type]] = {
    "generatorUrl": ("generator_url", str),
    "model": ("model", str),
    "seed": ("seed", int),
    "steps": ("steps", int),
    "guidanceScale": ("guidance_scale", float),
    "safety": ("safety", str),
    "prompt": ("prompt", str),
}


def _text(value: object) -> str:
    return escape(_NOT_XML.sub("", str(value)))


def build_xmp(provenance: Provenance) -> str:
    """The XMP packet (a str) for `provenance`; the prompt is left out when it is private."""
    values: dict[str, Any] = provenance.to_json()
    lines = [f"   <Iptc4xmpExt:DigitalSourceType>{_text(provenance.digital_source_type)}"
             "</Iptc4xmpExt:DigitalSourceType>",
             f"   <xmp:CreatorTool>{_text(provenance.generator)}</xmp:CreatorTool>"]
    for element, (key, _) in _FIELDS.items():
        if values[key] is not None:
            lines.append(f"   <fedi:{element}>{_text(values[key])}</fedi:{element}>")
    body = "\n".join(lines)
    return ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
            '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
            f' <rdf:RDF xmlns:rdf="{RDF_NAMESPACE}">\n'
            f'  <rdf:Description rdf:about="" xmlns:xmp="{XMP_BASIC_NAMESPACE}"\n'
            f'    xmlns:Iptc4xmpExt="{IPTC_EXT_NAMESPACE}" xmlns:fedi="{XMP_NAMESPACE}">\n'
            f"{body}\n"
            "  </rdf:Description>\n"
            " </rdf:RDF>\n"
            "</x:xmpmeta>\n"
            '<?xpacket end="r"?>')


def xmp_from_image(data: bytes) -> str | None:
    """The raw XMP packet in a PNG, JPEG or WebP file, or None."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            packet = image.info.get("xmp") or image.info.get(PNG_XMP_KEY)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return None
    if isinstance(packet, bytes):
        packet = packet.decode("utf-8", errors="replace")
    return packet if isinstance(packet, str) and packet else None


def parse_xmp(packet: str) -> dict[str, Any] | None:
    """Provenance.to_json-shaped fields found in an XMP packet (prompt None when absent), or None when
    the packet does not say the image is algorithmic media made by a known tool."""
    if len(packet) > MAX_PACKET_BYTES or "<!DOCTYPE" in packet or "<!ENTITY" in packet:
        return None
    try:
        root = ElementTree.fromstring(packet.lstrip("\ufeff").strip())
    except ElementTree.ParseError:
        return None
    source = root.find(f".//{{{IPTC_EXT_NAMESPACE}}}DigitalSourceType")
    tool = root.find(f".//{{{XMP_BASIC_NAMESPACE}}}CreatorTool")
    if source is None or tool is None:
        return None
    found: dict[str, Any] = {"digital_source_type": source.text or "", "generator": tool.text or "",
                             "prompt": None}
    for element, (key, kind) in _FIELDS.items():
        node = root.find(f".//{{{XMP_NAMESPACE}}}{element}")
        if node is not None:
            try:
                found[key] = kind(node.text or "")
            except ValueError:
                return None
    return found


def read_provenance(data: bytes) -> dict[str, Any] | None:
    """The provenance embedded in an image file, as a dict (see parse_xmp), or None; for tests and tools."""
    packet = xmp_from_image(data)
    return parse_xmp(packet) if packet is not None else None
