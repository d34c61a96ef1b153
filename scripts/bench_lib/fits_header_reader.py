#!/usr/bin/python3
"""fits_header_reader.py FILE: reads a FITS file's primary header and its first extension's
header the way astropy and cfitsio do, and prints one JSON line:

  {"seconds": ..., "bytes_read": ..., "reads": ..., "sha256": ..., "extension_offset": ...}

The pattern: open, read 2880-byte records from 0 until the one holding the END card, compute
the primary data's size from BITPIX, NAXISn, PCOUNT and GCOUNT (rounded up to whole records),
seek past it, read the extension's records until END, close. `seconds` is measured inside
this process from just before open() to just after close(): the interpreter's start-up, which
fitsheader or astropy would add, is not in it. sha256 is of the two headers' bytes, to check
the answer against the same reader on the archive's own file. Stdlib only; unbuffered reads,
so every record is one read(2) as in cfitsio.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time

RECORD = 2880
CARD = 80


def cards(record: bytes):
    for i in range(0, RECORD, CARD):
        yield record[i:i + CARD]


def value_of(card: bytes) -> int | None:
    """The integer value of a `KEY     = value / comment` card."""
    if card[8:10] != b"= ":
        return None
    text = card[10:].split(b"/", 1)[0].strip()
    try:
        return int(text)
    except ValueError:
        return None


def read_header(f, offset: int) -> tuple[bytes, dict, int]:
    """The header at `offset` (bytes up to and including the END record), its integer
    keywords, and the offset just past it. Raises ValueError on a file that is not FITS."""
    f.seek(offset)
    header = bytearray()
    keys: dict[str, int] = {}
    while True:
        record = f.read(RECORD)
        if len(record) != RECORD:
            raise ValueError(f"short header record at {offset + len(header)}: no END card")
        header += record
        for card in cards(record):
            key = card[:8].rstrip().decode("ascii", "replace")
            if key == "END":
                return bytes(header), keys, offset + len(header)
            v = value_of(card)
            if v is not None:
                keys[key] = v


def data_size(keys: dict) -> int:
    """Bytes of the HDU's data, padded to whole records (FITS standard 4.4.1)."""
    naxis = keys.get("NAXIS", 0)
    if naxis == 0:
        return 0
    product = 1
    for n in range(1, naxis + 1):
        product *= keys.get(f"NAXIS{n}", 0)
    bits = abs(keys.get("BITPIX", 8))
    size = bits // 8 * keys.get("GCOUNT", 1) * (keys.get("PCOUNT", 0) + product)
    return (size + RECORD - 1) // RECORD * RECORD


class CountingFile:
    """An unbuffered file that counts its read(2) calls and bytes."""

    def __init__(self, path: str):
        self.f = open(path, "rb", buffering=0)
        self.reads = 0
        self.bytes = 0

    def seek(self, offset: int) -> None:
        self.f.seek(offset)

    def read(self, n: int) -> bytes:
        data = self.f.read(n)
        self.reads += 1
        self.bytes += len(data)
        return data

    def close(self) -> None:
        self.f.close()


def read_two_headers(path: str) -> dict:
    t0 = time.monotonic()
    f = CountingFile(path)
    try:
        primary, keys, end = read_header(f, 0)
        ext_offset = end + data_size(keys)
        extension, _ext_keys, _ = read_header(f, ext_offset)
    finally:
        f.close()
    seconds = time.monotonic() - t0
    return {"seconds": seconds, "bytes_read": f.bytes, "reads": f.reads,
            "sha256": hashlib.sha256(primary + extension).hexdigest(),
            "extension_offset": ext_offset}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.split("\n\n")[0], file=sys.stderr)
        return 2
    try:
        result = read_two_headers(argv[1])
    except (OSError, ValueError) as e:
        print(f"fits_header_reader: {argv[1]}: {e}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
