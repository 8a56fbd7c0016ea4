"""Small archives that would unpack large (decompression bombs), built without holding them in memory."""
from __future__ import annotations

import io
import zipfile

MB = 1024 * 1024


def with_zeros(archive: bytes, name: str = "xl/media/zeros.bin", megabytes: int = 200) -> bytes:
    """`archive` (an .xlsx or .docx) with one more member of `megabytes` MB of zeros (about 1 KB per MB
    compressed), written 1 MB at a time."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(archive)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for member in source.infolist():
            target.writestr(member, source.read(member))
        chunk = bytes(MB)
        with target.open(name, "w", force_zip64=True) as sink:
            for _ in range(megabytes):
                sink.write(chunk)
    return out.getvalue()


def many_members(count: int) -> bytes:
    """A zip of `count` empty members."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as target:
        for n in range(count):
            target.writestr(f"m{n}", b"")
    return out.getvalue()
