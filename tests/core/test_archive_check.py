"""The archive check every .xlsx/.docx reader makes before parsing (ASVS 12.1.2)."""
from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest

from tests.support.archives import MB, many_members, with_zeros
from tracker.core.errors import Refusal
from tracker.core.files import ArchiveLimits, archive_limits, check_archive


def _workbook() -> bytes:
    stream = io.BytesIO()
    openpyxl.Workbook().save(stream)
    return stream.getvalue()


def test_an_ordinary_workbook_passes_and_the_stream_is_left_where_it_was():
    data = _workbook()
    stream = io.BytesIO(data)
    check_archive(stream, ArchiveLimits())
    assert stream.tell() == 0
    check_archive(data, ArchiveLimits())


def test_a_member_of_200_mb_of_zeros_is_refused_by_its_ratio(caplog):
    bomb = with_zeros(_workbook(), megabytes=200)
    assert len(bomb) < 400 * 1024  # about 200 KB on the wire
    with pytest.raises(Refusal) as refused:
        check_archive(bomb, ArchiveLimits())
    assert refused.value.kind == "too_large" and refused.value.status == 413
    assert "压缩比异常" in refused.value.message and "zeros.bin" in refused.value.message
    assert [r.getMessage() for r in caplog.records if r.name == "tracker.security"] == [
        f"event=archive_refused reason='ratio' member='xl/media/zeros.bin' size={200 * MB} "
        f"compressed={zipfile.ZipFile(io.BytesIO(bomb)).getinfo('xl/media/zeros.bin').compress_size}"]


def test_the_total_uncompressed_size_is_limited():
    bomb = with_zeros(_workbook(), megabytes=3)
    with pytest.raises(Refusal) as refused:
        check_archive(bomb, ArchiveLimits(max_total_bytes=2 * MB, max_ratio=10_000))
    assert "解压后过大(超过 2 MB)" in refused.value.message
    check_archive(bomb, ArchiveLimits(max_total_bytes=4 * MB, max_ratio=10_000))


def test_the_number_of_members_is_limited():
    with pytest.raises(Refusal) as refused:
        check_archive(many_members(11), ArchiveLimits(max_members=10))
    assert "部件过多(超过 10 个)" in refused.value.message
    check_archive(many_members(10), ArchiveLimits(max_members=10))


def test_declared_sizes_bound_what_zipfile_gives_a_parser():
    """A member whose directory entry understates its size yields no more than declared (and fails
    its CRC check): so the sizes the check reads are the ones a parser can get."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        target.writestr("big", bytes(4 * MB))
    data = bytearray(out.getvalue())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("big")
    # Patch the central directory's uncompressed size to 1 KB.
    central = data.rindex(b"PK\x01\x02")
    data[central + 24:central + 28] = (1024).to_bytes(4, "little")
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        assert archive.getinfo("big").file_size == 1024 != info.file_size
        with pytest.raises(zipfile.BadZipFile), archive.open("big") as member:
            assert len(member.read()) <= 1024


def test_not_a_zip_is_left_to_the_parser():
    check_archive(b"%PDF-1.4", ArchiveLimits())


def test_limits_come_from_the_config():
    assert archive_limits({}) == ArchiveLimits(100 * MB, 100, 10_000)
    assert archive_limits({"ARCHIVE_MAX_BYTES": MB, "ARCHIVE_MAX_RATIO": 5, "ARCHIVE_MAX_MEMBERS": 7}) == \
        ArchiveLimits(MB, 5, 7)
