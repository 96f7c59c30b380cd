"""A school's staff member, in a real browser: sign in, upload a dirty workbook, read the
red rows and their reasons, press "Gửi lên Sở", watch rows turn green without a reload,
download the marked-up copy. Against ``gradesync serve`` and the Sở simulator."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

from openpyxl import load_workbook
from playwright.sync_api import BrowserContext, Page, expect

from tests.web.conftest import Site, shot, sign_in
from tests.web.workbook import PLANTED, dirty_workbook, student_ids


def upload_through_page(page: Page, tmp_path: Path) -> None:
    book = tmp_path / "BangDiem_6A1_Toan.xlsx"
    book.write_bytes(dirty_workbook())
    page.goto("/files")
    page.get_by_label(re.compile("Chọn tệp sổ điểm")).set_input_files(book)
    page.get_by_role("button", name="Tải lên và kiểm tra").click()
    page.wait_for_url(re.compile(r"/files/[0-9a-f-]{36}$"))


def data_rows(page: Page) -> list[dict[str, str]]:
    return page.eval_on_selector_all(
        "#rows tbody tr",
        """trs => trs.map(tr => ({key: tr.dataset.key, tone: tr.className,
             sync: tr.querySelector('.sync').dataset.sync,
             reasons: tr.querySelector('.reasons').innerText}))""",
    )


def test_staff_uploads_sees_red_rows_pushes_and_watches_them_turn_green(
    site: Site, new_context: Callable[..., BrowserContext], tmp_path: Path
) -> None:
    context = new_context(site)
    page = context.new_page()
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url))

    sign_in(page, site.tokens["staff"])
    expect(page).to_have_url(re.compile(r"/files$"))
    shot(page, "files-empty")

    upload_through_page(page, tmp_path)
    expect(page.locator("p.flash.ok")).to_contain_text("Đã nhận và kiểm tra tệp")
    rows = data_rows(page)
    assert len(rows) == len(student_ids())
    bad = [r for r in rows if r["tone"] == "bad"]
    assert len(bad) == len(PLANTED)
    for planted, row in zip(PLANTED, bad, strict=True):
        assert planted.reason in row["reasons"], row
    assert all(r["sync"] == "NOT_SENT" for r in rows)
    expect(page.locator('[data-count="invalid"]')).to_have_text(str(len(PLANTED)))
    expect(page.locator("#window-state")).to_contain_text(re.compile("Đang mở|Chưa biết"))
    shot(page, "file-before-push", docs=True)

    # The page is never reloaded from here on: a marker set now must survive.
    page.evaluate("window.__samePage = true")
    page.get_by_role("button", name="Gửi lên Sở").click()
    expect(page.locator("#push-message")).to_contain_text("Đã yêu cầu gửi 1 sổ điểm")
    valid = len(student_ids()) - len(PLANTED)
    expect(page.locator("#rows tr.good")).to_have_count(valid, timeout=60_000)
    expect(page.locator('[data-count="synced"]')).to_have_text(str(valid))
    assert page.evaluate("window.__samePage") is True
    after = data_rows(page)
    assert [r["tone"] for r in after if r["sync"] == "SYNCED"] == ["good"] * valid
    assert {r["key"] for r in after if r["tone"] == "bad"} == {r["key"] for r in bad}
    expect(page.locator("#window-state time[data-countdown]")).to_have_text(re.compile("phút"))
    shot(page, "file-after-push", docs=True)

    # What the Sở holds is exactly the valid rows.
    held = {r["student_id"] for r in site.simulator.store(class_name="6A1", subject_code="TOAN")}
    planted_ids = {student_ids()[p.index] for p in PLANTED}
    assert held == set(student_ids()) - planted_ids

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Tải bản sổ điểm đã đánh dấu").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    marked = load_workbook(io.BytesIO(Path(download.path()).read_bytes()))
    text = " ".join(
        str(c.value) for row in marked["Toán"].iter_rows() for c in row if c.value is not None
    )
    assert "từ 0 đến 10" in text or any(
        c.comment for row in marked["Toán"].iter_rows() for c in row
    )

    page.get_by_role("link", name="Nhật ký gửi").click()
    expect(page.locator("table.audit tbody tr").first).to_be_visible()
    shot(page, "audit")

    page.goto("/files")
    expect(page.locator("table.files tbody tr")).to_have_count(1)
    shot(page, "files", docs=True)

    # No personal data in any URL the browser asked for: file ids only.
    for url in urls:
        assert not any(sid in url for sid in student_ids()), url
        assert "Học" not in url and "H%E1%BB%8Dc" not in url, url


def test_filters_and_template_download(
    site: Site, new_context: Callable[..., BrowserContext], tmp_path: Path
) -> None:
    page = new_context(site).new_page()
    sign_in(page, site.tokens["teacher"])
    upload_through_page(page, tmp_path)
    page.get_by_label("Kiểm tra").select_option("INVALID")
    page.get_by_role("button", name="Lọc").click()
    expect(page.locator("#rows tbody tr")).to_have_count(len(PLANTED))
    expect(page.locator("#rows caption")).to_contain_text("đã lọc")

    page.goto("/templates")
    page.get_by_label("Lớp", exact=True).fill("6A1")
    page.get_by_label("Năm học").fill("2025-2026")
    shot(page, "templates")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Tải mẫu (.xlsx)").click()
    template = download_info.value
    assert template.suggested_filename.endswith(".xlsx")
    book = load_workbook(io.BytesIO(Path(template.path()).read_bytes()))
    assert "_gradesync" in book.sheetnames


def test_javascript_off_the_file_page_still_shows_the_status_table(
    site: Site, new_context: Callable[..., BrowserContext]
) -> None:
    with site.api("staff") as api:
        r = api.post("/api/files", files={"file": ("BangDiem_6A1.xlsx", dirty_workbook())})
        assert r.status_code == 201, r.text
        file_id = r.json()["file_id"]
    page = new_context(site, java_script_enabled=False).new_page()
    sign_in(page, site.tokens["staff"])  # a plain form post works without a script
    page.goto(f"/files/{file_id}")
    rows = page.locator("#rows tbody tr")
    expect(rows).to_have_count(len(student_ids()))
    expect(page.locator("#rows tbody tr.bad")).to_have_count(len(PLANTED))
    for planted in PLANTED:
        expect(page.locator("#rows tbody tr.bad .reasons").filter(has_text=planted.reason))\
            .to_have_count(1)  # fmt: skip
    page.get_by_label("Gửi Sở").select_option("NOT_SENT")
    page.get_by_role("button", name="Lọc").click()
    expect(rows).to_have_count(len(student_ids()))
    shot(page, "file-no-javascript")


def test_pages_fit_a_phone_and_work_from_the_keyboard(
    site: Site, new_context: Callable[..., BrowserContext]
) -> None:
    with site.api("staff") as api:
        r = api.post("/api/files", files={"file": ("BangDiem_6A1.xlsx", dirty_workbook())})
        file_id = r.json()["file_id"]
    page = new_context(site, viewport={"width": 375, "height": 740}, is_mobile=True).new_page()
    page.goto("/sign-in")
    page.keyboard.press("Tab")  # the first stop is the skip link
    expect(page.get_by_role("link", name="Bỏ qua, tới nội dung chính")).to_be_focused()
    page.get_by_label("Token API").focus()
    page.keyboard.type(site.tokens["staff"])
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/files$"))
    page.goto(f"/files/{file_id}")
    # Nothing but the rows table (in its own scroll box) is wider than the screen.
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    shot(page, "file-phone", docs=True)


def test_a_file_read_in_the_background_shows_its_rows_when_reading_ends(
    make_site: Callable[..., Site], new_context: Callable[..., BrowserContext], tmp_path: Path
) -> None:
    """Big uploads are answered at once with status PARSING; the page waits, then shows them."""
    site = make_site(inline_parse_max_bytes=0)  # every upload is read in the background
    page = new_context(site).new_page()
    sign_in(page, site.tokens["staff"])
    statuses: list[str] = []  # the file page's status each time the browser loaded it
    page.on(
        "response",
        lambda r: (
            re.search(r"/files/[0-9a-f-]{36}$", r.url)
            and statuses.append(re.search(r'data-status="(\w+)"', r.text()).group(1))
        ),
    )
    # A big lookup sheet beside the grades: reading takes long enough to be seen.
    book = load_workbook(io.BytesIO(dirty_workbook()))
    lookup = book.create_sheet("DanhMuc")
    for i in range(30_000):
        lookup.append([f"Mục {i}", i, i * 0.5, "ghi chú"])
    path = tmp_path / "BangDiem_6A1_Toan.xlsx"
    book.save(path)
    page.goto("/files")
    page.get_by_label(re.compile("Chọn tệp sổ điểm")).set_input_files(path)
    page.get_by_role("button", name="Tải lên và kiểm tra").click()
    expect(page.locator("#rows tbody tr")).to_have_count(len(student_ids()), timeout=60_000)
    assert statuses[0] == "PARSING" and statuses[-1] != "PARSING", statuses
    expect(page.locator("#parsing")).to_have_count(0)
    expect(page.locator("#rows tr.bad")).to_have_count(len(PLANTED))
