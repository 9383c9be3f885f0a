"""The C2PA manifest store (a JUMBF superbox, ``application/c2pa``) as embedded in a JPEG, taken out byte for byte.

A JPEG carries it in APP11 segments (JPEG XT, ISO/IEC 19566-5): each payload is ``JP``, a 2-byte box instance, a
4-byte packet sequence number, then the box; every packet after the first repeats the box's 8-byte header (LBox,
TBox), which is dropped when the packets are joined. Pure and bounded by the file it is given.
"""

from __future__ import annotations

APP11 = 0xEB
SOS = 0xDA
JP_HEADER = 8  # "JP" + instance (2) + sequence (4)
BOX_HEADER = 8  # LBox (4) + TBox (4)


def jpeg_manifest_store(data: bytes) -> bytes | None:
    """The C2PA manifest store a JPEG carries (its first JUMBF box labelled ``c2pa``), or None."""
    if data[:2] != b"\xff\xd8":
        return None
    boxes: dict[bytes, list[tuple[int, bytes]]] = {}
    at = 2
    while at + 4 <= len(data) and data[at] == 0xFF:
        marker, length = data[at + 1], int.from_bytes(data[at + 2 : at + 4], "big")
        if marker == SOS or length < 2:
            break
        payload = data[at + 4 : at + 2 + length]
        if marker == APP11 and payload[:2] == b"JP" and len(payload) > JP_HEADER + BOX_HEADER:
            instance, sequence = payload[2:4], int.from_bytes(payload[4:8], "big")
            boxes.setdefault(instance, []).append((sequence, payload[JP_HEADER:]))
        at += 2 + length
    for packets in boxes.values():
        packets.sort()
        joined = packets[0][1] + b"".join(p[BOX_HEADER:] for _, p in packets[1:])
        if joined[4:8] == b"jumb" and b"c2pa" in joined[8:64]:
            return joined
    return None
