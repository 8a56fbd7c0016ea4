"""Evidence shown in the issue page: photos and PDFs served inline (type read from the bytes, with a
sandboxing CSP) to those who see the issue, everything else download-only; thumbnails of photos,
made once and kept by hash, and a placeholder for what cannot or must not be decoded."""
from __future__ import annotations

import hashlib
import io
import struct
import zlib
from urllib.parse import quote

import pytest
from PIL import Image

from tests.support.factories import PDF_BYTES, make_issue
from tests.support.web import client_for
from tracker.core import files, thumbnails
from tracker.issues.models import Attachment


def image_bytes(fmt: str, size=(640, 480), mode="RGB", exif: bool = False) -> bytes:
    """A picture in `fmt`, with a camera's EXIF (maker, GPS-like tag) when asked."""
    picture = Image.new(mode, size, (200, 40, 40, 128) if mode == "RGBA" else (200, 40, 40))
    out = io.BytesIO()
    if exif:
        tags = Image.Exif()
        tags[0x010F] = "CameraMaker"  # Make
        tags[0x0112] = 1  # Orientation
        picture.save(out, fmt, exif=tags.tobytes())
    else:
        picture.save(out, fmt)
    return out.getvalue()


def bomb_png(width: int = 50_000, height: int = 50_000) -> bytes:
    """A tiny PNG whose header claims a huge picture (a decompression bomb, 2.5 gigapixels)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 1024))
            + chunk(b"IEND", b""))


def store(app, session, issue, content: bytes, filename: str, content_type: str) -> Attachment:
    """An evidence file on disk and its row, as if uploaded (the row's type is what the name said)."""
    sha = hashlib.sha256(content).hexdigest()
    path = files.path_for(app.config["UPLOAD_DIR"], sha)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    attachment = Attachment(issue_id=issue.id, sha256=sha, filename=filename, content_type=content_type,
                            size=len(content))
    session.add(attachment)
    session.commit()
    return attachment


def view_url(issue, attachment, what: str = "view") -> str:
    return f"/issues/{issue.id}/attachments/{attachment.id}/{what}"


INLINE = [
    ("JPEG", "现场照片.jpg", "image/jpeg"),
    ("PNG", "整改后.png", "image/png"),
    ("GIF", "动图.gif", "image/gif"),
    ("WEBP", "照片.webp", "image/webp"),
]


@pytest.mark.parametrize("fmt,filename,mimetype", INLINE)
@pytest.mark.parametrize("who", ["staff", "coop_staff", "supervisor", "leader"])
def test_photos_are_served_inline_with_their_type_and_a_sandbox(app, session, world, fmt, filename, mimetype, who):
    content = image_bytes(fmt)
    attachment = store(app, session, world["issue"], content, filename, mimetype)
    response = client_for(app, world[who]).get(view_url(world["issue"], attachment))
    assert response.status_code == 200
    assert response.data == content
    assert response.headers["Content-Type"] == mimetype
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("inline;") and "filename*=UTF-8''" in disposition
    assert f"filename*=UTF-8''{quote(filename)}" in disposition  # the name, percent-encoded
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    csp = response.headers["Content-Security-Policy"]
    for part in ("default-src 'none'", "img-src 'self'", "sandbox", "frame-ancestors 'none'"):
        assert part in csp
    assert "script-src" not in csp
    assert "no-store" in response.headers["Cache-Control"]


def test_a_pdf_is_served_inline_as_pdf_in_a_sandbox(app, session, world):
    attachment = store(app, session, world["issue"], PDF_BYTES, "验收报告.pdf", "application/pdf")
    response = client_for(app, world["supervisor"]).get(view_url(world["issue"], attachment))
    assert response.status_code == 200 and response.data == PDF_BYTES
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("inline;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "sandbox" in csp and "frame-ancestors 'none'" in csp


@pytest.mark.parametrize("content,filename,content_type", [
    (b"PK\x03\x04" + b"\0" * 100, "材料.zip", "application/zip"),
    (image_bytes("BMP"), "扫描件.bmp", "image/bmp"),
    (image_bytes("TIFF"), "扫描件.tif", "image/tiff"),
])
def test_other_types_are_refused_inline_and_stay_downloads(app, session, world, content, filename, content_type):
    attachment = store(app, session, world["issue"], content, filename, content_type)
    client = client_for(app, world["supervisor"])
    response = client.get(view_url(world["issue"], attachment))
    assert response.status_code == 415
    assert "不能在页面中查看" in response.get_data(as_text=True)
    assert response.data.find(content[:16]) == -1
    download = client.get(f"/issues/{world['issue'].id}/attachments/{attachment.id}")
    assert download.status_code == 200 and download.data == content
    assert download.headers["Content-Disposition"].startswith("attachment;")
    # The issue page offers no viewer for it, only the download.
    html = client.get(f"/issues/{world['issue'].id}").get_data(as_text=True)
    assert view_url(world["issue"], attachment) not in html


def test_html_named_jpg_is_never_served_as_an_image_or_a_page(app, session, world):
    html = b"<html><body><script>alert(document.domain)</script></body></html>"
    attachment = store(app, session, world["issue"], html, "照片.jpg", "image/jpeg")
    client = client_for(app, world["supervisor"])
    response = client.get(view_url(world["issue"], attachment))
    assert response.status_code == 415
    assert b"alert(document.domain)" not in response.data
    assert not response.headers["Content-Type"].startswith("image/")
    thumb = client.get(view_url(world["issue"], attachment, "thumb"))
    assert thumb.status_code == 200
    assert thumb.headers["Content-Type"] == "image/svg+xml"  # the placeholder
    assert b"alert" not in thumb.data and b"<script" not in thumb.data


def test_someone_who_cannot_see_the_issue_gets_404(app, session, world):
    attachment = store(app, session, world["issue"], image_bytes("PNG"), "照片.png", "image/png")
    for what in ("view", "thumb"):
        response = client_for(app, world["other_staff"]).get(view_url(world["issue"], attachment, what))
        assert response.status_code == 404
        assert not response.headers["Content-Type"].startswith("image/")
        # Nor under another issue's address, even for someone who sees both.
        other_issue = make_issue(lead_unit=world["lead"], round=world["round"])
        session.commit()
        assert client_for(app, world["supervisor"]).get(view_url(other_issue, attachment, what)).status_code == 404
    # Signed out: to the login page.
    response = app.test_client().get(view_url(world["issue"], attachment))
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert thumbnails.cached(app.config["UPLOAD_DIR"], attachment.sha256) is None


def test_thumbnail_is_small_reencoded_without_exif_and_made_once(app, session, world, monkeypatch):
    content = image_bytes("JPEG", size=(1600, 1200), exif=True)
    assert b"CameraMaker" in content
    attachment = store(app, session, world["issue"], content, "现场.jpg", "image/jpeg")
    client = client_for(app, world["staff"])
    response = client.get(view_url(world["issue"], attachment, "thumb"))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    with Image.open(io.BytesIO(response.data)) as thumb:
        assert thumb.format == "JPEG"
        assert max(thumb.size) == thumbnails.MAX_SIDE and thumb.size == (240, 180)
        assert not thumb.getexif()
    assert b"CameraMaker" not in response.data
    # Kept next to the stored files, by hash; the original is untouched.
    path, mimetype = thumbnails.cached(app.config["UPLOAD_DIR"], attachment.sha256)
    assert path.parent.parent.name == "thumbs" and path.name == f"{attachment.sha256}.jpg"
    assert mimetype == "image/jpeg"
    original = files.path_for(app.config["UPLOAD_DIR"], attachment.sha256)
    assert hashlib.sha256(original.read_bytes()).hexdigest() == attachment.sha256
    # The second request serves the cached one without decoding again.
    monkeypatch.setattr(thumbnails, "_make", lambda source: pytest.fail("decoded again"))
    again = client.get(view_url(world["issue"], attachment, "thumb"))
    assert again.status_code == 200 and again.data == response.data


def test_a_transparent_picture_keeps_its_transparency_as_png(app, session, world):
    attachment = store(app, session, world["issue"], image_bytes("PNG", size=(300, 600), mode="RGBA"),
                       "示意图.png", "image/png")
    response = client_for(app, world["supervisor"]).get(view_url(world["issue"], attachment, "thumb"))
    assert response.headers["Content-Type"] == "image/png"
    with Image.open(io.BytesIO(response.data)) as thumb:
        assert thumb.size == (120, 240) and thumb.mode == "RGBA"


@pytest.mark.parametrize("content", [
    bomb_png(),
    b"\xff\xd8\xff\xe0" + b"\0\x10JFIF\0" + b"\x13" * 500,  # a JPEG's start, then rubbish
    image_bytes("PNG")[:60],  # cut short
], ids=["bomb", "broken", "truncated"])
def test_a_bomb_or_broken_picture_gets_the_placeholder_never_an_error(app, session, world, content, monkeypatch):
    attachment = store(app, session, world["issue"], content, "照片.png", "image/png")
    client = client_for(app, world["supervisor"])
    response = client.get(view_url(world["issue"], attachment, "thumb"))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/svg+xml"
    assert response.data.startswith(b"<svg")
    assert "sandbox" in response.headers["Content-Security-Policy"]
    # The failure is remembered: not decoded again on the next request.
    assert thumbnails.cached(app.config["UPLOAD_DIR"], attachment.sha256) is None
    monkeypatch.setattr(thumbnails, "_make", lambda source: pytest.fail("decoded again"))
    assert client.get(view_url(world["issue"], attachment, "thumb")).status_code == 200


def test_the_pixel_limit_is_what_refuses(app, session, world, monkeypatch):
    monkeypatch.setattr(thumbnails, "MAX_PIXELS", 100 * 100)
    attachment = store(app, session, world["issue"], image_bytes("JPEG", size=(101, 100)), "大图.jpg", "image/jpeg")
    response = client_for(app, world["supervisor"]).get(view_url(world["issue"], attachment, "thumb"))
    assert response.headers["Content-Type"] == "image/svg+xml"


def test_a_pdf_gets_the_placeholder_as_thumbnail(app, session, world):
    attachment = store(app, session, world["issue"], PDF_BYTES, "报告.pdf", "application/pdf")
    response = client_for(app, world["supervisor"]).get(view_url(world["issue"], attachment, "thumb"))
    assert response.status_code == 200 and response.headers["Content-Type"] == "image/svg+xml"


def test_the_issue_page_shows_thumbnails_and_view_buttons(app, session, world):
    issue = world["issue"]
    photo = store(app, session, issue, image_bytes("JPEG"), "现场.jpg", "image/jpeg")
    pdf = store(app, session, issue, PDF_BYTES, "报告.pdf", "application/pdf")
    docx = store(app, session, issue, b"PK\x03\x04word", "方案.docx",
                 "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    html = client_for(app, world["supervisor"]).get(f"/issues/{issue.id}").get_data(as_text=True)
    assert f'src="{view_url(issue, photo, "thumb")}"' in html
    assert view_url(issue, pdf, "thumb") not in html and view_url(issue, docx, "thumb") not in html
    assert f'href="{view_url(issue, photo)}"' in html and f'href="{view_url(issue, pdf)}"' in html
    assert view_url(issue, docx) not in html
    for attachment in (photo, pdf, docx):
        assert f'href="/issues/{issue.id}/attachments/{attachment.id}"' in html  # 下载 stays
    assert 'id="evidence-viewer"' in html and "vendor/pdfjs/pdf.min.js" in html
    assert '<script src="/static/evidence.js">' in html


def test_the_clerk_gets_a_jump_link_a_phone_picker_and_a_camera(app, session, world):
    html = client_for(app, world["staff"]).get(f"/issues/{world['issue'].id}").get_data(as_text=True)
    assert 'href="#progress-form" id="jump-to-report"' in html
    assert 'accept="image/*,application/pdf' in html
    assert 'capture="environment"' in html and 'id="camera-form"' in html
    assert html.index('id="progress-form"') < html.index('id="evidence-form"') < html.index('id="camera-form"')
    # Whoever cannot report gets neither.
    html = client_for(app, world["leader"]).get(f"/issues/{world['issue'].id}").get_data(as_text=True)
    assert 'id="jump-to-report"' not in html and 'id="camera-form"' not in html
