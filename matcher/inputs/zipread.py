"""Reading a zip's members within limits counted on the bytes actually decompressed.

Shared by the service's zip uploads (:mod:`api.uploads`) and the workbook reader
(:mod:`matcher.inputs.xlsx`: an ``.xlsx`` is a zip of XML files): neither trusts the sizes an
archive's headers claim, since a few kilobytes can claim anything and inflate to
gigabytes.
"""

from __future__ import annotations

import os
import struct
import zipfile
import zlib
from collections.abc import Iterator
from typing import IO

__all__ = [
    "CHUNK",
    "MAX_DIRECTORY_BYTES",
    "MAX_ENTRIES",
    "UNZIP_ERRORS",
    "directory_size",
    "inflate",
    "listing_too_long",
    "member_data",
]

CHUNK = 1 << 20  # bytes decompressed at a time: the most a refused member costs in memory
# A dataset is at most nine tables (a workbook a few dozen parts): an archive listing
# more entries is not one, and Python's zipfile would spend seconds and hundreds of
# megabytes on a listing of 500,000.
MAX_ENTRIES = 1000
MAX_DIRECTORY_BYTES = 1 << 20
UNZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    NotImplementedError,
    RuntimeError,
)


def directory_size(fp: IO[bytes]) -> tuple[int, int] | None:
    """(entries, bytes) of the central directory as the archive's end record states
    them (ZIP64 too), read before Python's zipfile parses the listing; ``None`` without
    an end record (zipfile then says the bytes are not a zip)."""
    fp.seek(0, os.SEEK_END)
    size = fp.tell()
    tail_len = min(size, 22 + 65535 + 20 + 56)
    fp.seek(size - tail_len)
    tail = fp.read(tail_len)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return None
    entries, directory = struct.unpack("<HL", tail[at + 10 : at + 16])
    if entries == 0xFFFF or directory == 0xFFFFFFFF:
        z64 = tail.rfind(b"PK\x06\x06", 0, at)
        if z64 >= 0 and at - z64 >= 56:
            entries, directory = struct.unpack("<QQ", tail[z64 + 32 : z64 + 48])
    fp.seek(0)
    return int(entries), int(directory)


def listing_too_long(fp: IO[bytes]) -> tuple[int, int] | None:
    """The (entries, bytes) the end record states if they are past ``MAX_ENTRIES`` or
    ``MAX_DIRECTORY_BYTES`` (then the listing is not parsed at all), else ``None``."""
    listing = directory_size(fp)
    if listing is not None and (listing[0] > MAX_ENTRIES or listing[1] > MAX_DIRECTORY_BYTES):
        return listing
    return None


def member_data(fp: IO[bytes], info: zipfile.ZipInfo) -> int:
    """Where a member's compressed bytes start (after its local header)."""
    fp.seek(info.header_offset)
    head = fp.read(30)
    if len(head) != 30 or head[:4] != b"PK\x03\x04":
        raise ValueError("no local header")
    name_len, extra_len = struct.unpack("<HH", head[26:30])
    return int(info.header_offset + 30 + name_len + extra_len)


def inflate(fp: IO[bytes], info: zipfile.ZipInfo) -> Iterator[tuple[bytes, int]]:
    """A member's content in pieces of at most ``CHUNK`` bytes, each with how many
    compressed bytes were consumed so far (exact: zlib's unconsumed input is not
    counted, so a ratio can be judged after every piece).

    Decompressed here, not by Python's zipfile, whose ``read()`` inflates up to 2 GiB
    in one call before it compares with the size the headers state.
    """
    fp.seek(member_data(fp, info))
    left = info.compress_size
    inflater = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
    fed = 0
    while True:
        if inflater is not None and inflater.unconsumed_tail:
            data = inflater.unconsumed_tail
        elif inflater is not None and inflater.eof:
            return
        else:
            if left <= 0:
                if inflater is not None:
                    tail = inflater.flush()
                    if not inflater.eof:
                        raise ValueError("the deflate stream ends early")
                    if tail:
                        yield tail, fed
                return
            data = fp.read(min(left, 1 << 16))
            if not data:
                raise ValueError("the archive ends inside this member")
            left -= len(data)
            fed += len(data)
        if inflater is None:
            yield data, fed
            continue
        piece = inflater.decompress(data, CHUNK)
        if piece:
            yield piece, fed - len(inflater.unconsumed_tail)
