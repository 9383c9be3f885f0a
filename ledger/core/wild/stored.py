"""How a registered picture's local features are stored (``Features.to_bytes``): the layout version and count."""

from __future__ import annotations

import struct

FEATURE_SCHEME = 1  # the header's version field: bump with the layout of Features.to_bytes
_HEADER = struct.Struct("<HHHH")  # version, count, width, height


def feature_count(data: bytes) -> int:
    return int(_HEADER.unpack_from(data, 0)[1])
