"""Evidence and the clerk's day in a real headless Chromium.

(c) A supervisor opens an issue with a photo and a PDF as evidence and views each in the page's
viewer: the photo is decoded (naturalWidth > 0) and PDF.js paints the PDF's page on its canvas; the
files come with their inline headers and sandbox. (b, on a phone) A clerk on a 390×844 screen opens
the to-do list's 本月未报送 item, then the issue from the list it opens, finds the report form at once,
files this month's report and a photo from the camera button, and sees both saved. Screenshots are kept
in the test's tmp_path.
"""
from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image
from sqlalchemy import select

from tests.support.browser import expect
from tests.support.factories import PASSWORD, make_issue, make_report, make_round, make_unit, make_user
from tracker.core import files
from tracker.core.extensions import db
from tracker.issues.models import Attachment, Event, ProgressReport

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def one_page_pdf() -> bytes:
    """A well-formed one-page PDF: a green square and a line of text (cross-reference offsets exact)."""
    content = b"0 0.5 0 rg 100 400 300 300 re f BT /F1 24 Tf 100 350 Td (Evidence page) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 500 800] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def photo_bytes(size=(1200, 900)) -> bytes:
    """A JPEG photo: a blue sky over green grass."""
    picture = Image.new("RGB", size, (70, 130, 200))
    picture.paste((60, 160, 60), (0, size[1] // 2, size[0], size[1]))
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=85)
    return out.getvalue()


def add_evidence(app, issue, content: bytes, filename: str, content_type: str, by) -> Attachment:
    sha = hashlib.sha256(content).hexdigest()
    path = files.path_for(app.config["UPLOAD_DIR"], sha)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    attachment = Attachment(issue_id=issue.id, sha256=sha, filename=filename, content_type=content_type,
                            size=len(content), uploaded_by_id=by.id)
    db.session.add(attachment)
    db.session.flush()
    return attachment


def green_pixels(png: bytes) -> int:
    """How many pixels of a screenshot are the test PDF's green."""
    with Image.open(io.BytesIO(png)) as shot:
        data = shot.convert("RGB").tobytes()
    return sum(1 for i in range(0, len(data), 3) if data[i + 1] > 100 and data[i] < 60 and data[i + 2] < 60)


CANVAS_PAINTED = """canvas => {
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let green = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] > 0 && data[i + 1] > 100 && data[i] < 60 && data[i + 2] < 60) green++;
  }
  return {width: canvas.width, height: canvas.height, green: green};
}"""


def test_a_verifier_views_a_photo_and_a_pdf_inside_the_issue_page(app, live_server, page, tmp_path):
    base = live_server
    unit = make_unit(name="市生态环境局")
    staff = make_user("unit_staff", unit=unit)
    supervisor = make_user("supervisor")
    issue = make_issue(lead_unit=unit, round=make_round(), title="工业园区污水处理厂超标排放", state="submitted",
                       progress_percent=100)
    photo = add_evidence(app, issue, photo_bytes(), "整改后现场照片.jpg", "image/jpeg", staff)
    pdf = add_evidence(app, issue, one_page_pdf(), "第三方检测报告.pdf", "application/pdf", staff)
    db.session.commit()
    check = expect()
    seen = {}
    page.on("response", lambda response: seen.__setitem__(response.url.split(base, 1)[-1], response))
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)

    from tests.support.browser import log_in

    log_in(page, base, supervisor.username)
    page.goto(f"{base}/issues/{issue.id}")
    evidence = page.locator("#evidence")
    # The photo has its thumbnail; both have 查看 and 下载.
    thumb = evidence.locator("img.evidence-thumb")
    check(thumb).to_have_count(1)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    assert thumb.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [240, 180]
    check(evidence.get_by_role("link", name="查看")).to_have_count(2)
    check(evidence.get_by_role("link", name="下载")).to_have_count(2)
    page.screenshot(path=str(tmp_path / "desktop-issue.png"), full_page=True)

    # The photo, in the viewer.
    evidence.locator(f'li[data-attachment-id="{photo.id}"]').get_by_role("link", name="查看").click()
    viewer = page.locator("#evidence-viewer")
    check(viewer).to_be_visible()
    check(page.locator("#viewer-title")).to_have_text("整改后现场照片.jpg")
    image = page.locator("#viewer-image")
    check(image).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    assert image.evaluate("img => img.naturalWidth") == 1200
    check(page.locator("#viewer-download")).to_have_attribute(
        "href", f"/issues/{issue.id}/attachments/{photo.id}")
    page.screenshot(path=str(tmp_path / "viewer-photo.png"))

    # Next: the PDF, drawn by PDF.js on the canvas.
    page.locator("#viewer-next").click()
    check(page.locator("#viewer-title")).to_have_text("第三方检测报告.pdf")
    check(image).to_be_hidden()
    canvas = page.locator("#viewer-canvas")
    check(canvas).to_have_attribute("data-painted", "1")
    painted = canvas.evaluate(CANVAS_PAINTED)
    assert painted["width"] > 100 and painted["height"] > 100
    assert painted["green"] > 1000, painted  # the green square is on the canvas
    check(page.locator("#pdf-page")).to_have_text("第 1 / 1 页")
    page.screenshot(path=str(tmp_path / "viewer-pdf.png"))

    # "新窗口打开": the browser's own viewer shows the sandboxed PDF in a tab of its own.
    open_new = page.locator("#viewer-open")
    check(open_new).to_be_visible()
    with page.context.expect_page() as opened:
        open_new.click()
    tab = opened.value
    tab.wait_for_load_state()
    assert tab.evaluate("document.contentType") == "application/pdf"
    green = 0
    for _ in range(100):  # until Chromium's PDF viewer has painted the page (or 10 s)
        green = green_pixels(tab.screenshot())
        if green > 1000:
            break
        tab.wait_for_timeout(100)
    tab.screenshot(path=str(tmp_path / "viewer-pdf-tab.png"))
    assert green > 1000
    tab.close()

    # Back to the photo, then closed with the button.
    page.locator("#viewer-prev").click()
    check(page.locator("#viewer-title")).to_have_text("整改后现场照片.jpg")
    check(open_new).to_be_hidden()
    page.locator("#viewer-close").click()
    check(viewer).to_be_hidden()

    # On a wide screen the menu and the filters are open, no toggles shown.
    page.goto(f"{base}/issues/")
    check(page.locator("#filter-form")).to_be_visible()
    check(page.locator("#filter-toggle")).to_be_hidden()
    check(page.locator("#menu-toggle")).to_be_hidden()
    check(page.locator("#issue-table thead")).to_be_visible()
    page.screenshot(path=str(tmp_path / "desktop-list.png"), full_page=True)

    # What the browser was sent: the files with their own types, inline, not sniffed, sandboxed.
    for attachment, mimetype, extra in ((photo, "image/jpeg", "img-src 'self'"), (pdf, "application/pdf", "")):
        response = seen[f"/issues/{issue.id}/attachments/{attachment.id}/view"]
        headers = response.all_headers()
        assert response.status == 200
        assert headers["content-type"] == mimetype
        assert headers["content-disposition"].startswith("inline;") and "filename*=UTF-8''" in headers[
            "content-disposition"]
        assert headers["x-content-type-options"] == "nosniff"
        csp = headers["content-security-policy"]
        assert "default-src 'none'" in csp and "sandbox" in csp and extra in csp
    thumb_headers = seen[f"/issues/{issue.id}/attachments/{photo.id}/thumb"].all_headers()
    assert thumb_headers["content-type"] == "image/jpeg" and "sandbox" in thumb_headers["content-security-policy"]
    # The page's own CSP stayed strict and nothing broke it.
    page_csp = seen[f"/issues/{issue.id}"].all_headers()["content-security-policy"]
    assert "default-src 'self'" in page_csp and "unsafe-eval" not in page_csp
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems


def test_a_clerk_on_a_phone_files_this_months_report_with_a_photo(app, live_server, browser, tmp_path):
    base = live_server
    unit = make_unit(name="镇人民政府")
    staff = make_user("unit_staff", unit=unit)
    issue = make_issue(lead_unit=unit, round=make_round(), title="镇区生活污水直排问题", progress_percent=30,
                       description="镇区部分生活污水未经处理直排河道。" * 20, measures="新建污水管网。" * 30)
    for month in range(1, 7):  # a long history above the forms on a one-column page
        make_report(issue, period=f"2020-{month:02d}", percent=5 * month, text="推进管网建设。" * 15, author=staff)
    other = make_issue(lead_unit=make_unit(name="别的单位"), round=issue.round, title="别的单位的问题")
    # Reported this month already: not on the to-do list, nor in the list it opens.
    done = make_issue(lead_unit=unit, round=issue.round, title="本月已报送的问题")
    make_report(done, period="2020-07", percent=60, author=staff)
    db.session.commit()
    check = expect()
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                  locale="zh-CN")
    page = context.new_page()
    try:
        # Signing in on the phone: the menu folds behind its button.
        page.goto(f"{base}/login")
        page.fill('input[name="username"]', staff.username)
        page.fill('input[name="password"]', PASSWORD)
        with page.expect_navigation():
            page.get_by_role("button", name="登录").click()
        check(page.locator("#menu-toggle")).to_be_visible()
        check(page.get_by_role("button", name="退出")).to_be_hidden()
        page.locator("#menu-toggle").tap()
        check(page.get_by_role("button", name="退出")).to_be_visible()
        page.screenshot(path=str(tmp_path / "phone-menu.png"))

        # The home page opens on the to-do list: this month's unreported issues, within the first screen.
        page.goto(f"{base}/")
        todo = page.locator('#todo-list a.todo-item[data-kind="unreported"]')
        check(todo).to_be_visible()
        check(todo.locator(".todo-count")).to_have_text("1")
        assert todo.bounding_box()["y"] + todo.bounding_box()["height"] <= PHONE["height"]
        page.screenshot(path=str(tmp_path / "phone-home.png"))

        # Its list holds exactly that issue: filters folded away, the issue as a card, no sideways scrolling.
        with page.expect_navigation():
            todo.tap()
        assert "unreported=1" in page.url
        check(page.locator("#filter-form")).to_be_hidden()
        check(page.locator("#filter-toggle")).to_be_visible()
        row = page.locator(f'tr.issue-row[data-issue-id="{issue.id}"]')
        check(row).to_be_visible()
        check(page.locator(f'tr.issue-row[data-issue-id="{other.id}"]')).to_have_count(0)
        check(page.locator(f'tr.issue-row[data-issue-id="{done.id}"]')).to_have_count(0)
        assert row.bounding_box()["y"] < PHONE["height"]
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=str(tmp_path / "phone-list.png"), full_page=True)
        page.locator("#filter-toggle").tap()
        check(page.locator("#filter-form")).to_be_visible()

        with page.expect_navigation():
            row.get_by_role("link", name=issue.code).tap()
        # The issue page: the report form within the first screen, and the jump link there too.
        form = page.locator("#progress-form")
        check(form).to_be_visible()
        jump = page.locator("#jump-to-report")
        assert jump.bounding_box()["y"] + jump.bounding_box()["height"] <= PHONE["height"]
        assert form.bounding_box()["y"] < PHONE["height"], form.bounding_box()
        assert page.locator("#timeline").bounding_box()["y"] > form.bounding_box()["y"]
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=str(tmp_path / "phone-issue.png"))
        page.screenshot(path=str(tmp_path / "phone-issue-full.png"), full_page=True)
        jump.tap()
        page.wait_for_function("() => location.hash === '#progress-form'")
        assert -1 < form.bounding_box()["y"] < PHONE["height"]  # scrolled to it (sub-pixel rounding)

        # This month's report (the period is filled in), then a photo from the camera button.
        check(page.locator("#p-period")).to_have_value("2020-07")
        page.locator("#p-percent").fill("45")
        page.locator("#p-text").fill("本月新建污水管网 800 米,完成总量的 45%。")
        with page.expect_navigation():
            form.get_by_role("button", name="报送进展").tap()
        check(page.locator("#reports")).to_contain_text("本月新建污水管网 800 米")
        camera = page.locator("#camera-form")
        check(camera.get_by_text("拍照")).to_be_visible()
        check(camera.locator("#e-camera")).to_have_attribute("capture", "environment")
        assert camera.bounding_box()["y"] < PHONE["height"] * 2
        camera.locator("#e-camera").set_input_files(
            files=[{"name": "管网施工现场.jpg", "mimeType": "image/jpeg", "buffer": photo_bytes((800, 600))}])
        check(page.locator("#camera-name")).to_have_text("管网施工现场.jpg")
        with page.expect_navigation():
            camera.get_by_role("button", name="上传照片").tap()
        check(page.locator(".alert")).to_contain_text("管网施工现场.jpg")
        saved = page.locator("#evidence li.attachment", has_text="管网施工现场.jpg")
        check(saved).to_be_visible()
        thumb = saved.locator("img.evidence-thumb")
        thumb.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
        check(page.locator("#reports")).to_contain_text("2020-07")
        page.screenshot(path=str(tmp_path / "phone-saved.png"), full_page=True)
    finally:
        context.close()

    db.session.rollback()  # read what the server committed
    report = db.session.scalar(select(ProgressReport).where(ProgressReport.issue_id == issue.id,
                                                            ProgressReport.period == "2020-07"))
    assert report is not None and report.percent == 45 and report.author_id == staff.id
    attachment = db.session.scalar(select(Attachment).where(Attachment.issue_id == issue.id))
    assert attachment.filename == "管网施工现场.jpg" and attachment.uploaded_by_id == staff.id
    actions = db.session.scalars(select(Event.action).where(Event.issue_id == issue.id).order_by(Event.id)).all()
    assert actions[-2:] == ["progress", "evidence"]
