"""Sở admins (and school staff) in a real browser: dead letters and retry, the province's
progress, grade-entry windows (the Sở's beside ours)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import BrowserContext, expect

from tests.web.conftest import Site, shot, sign_in
from tests.web.workbook import PLANTED, dirty_workbook, student_ids

VALID = len(student_ids()) - len(PLANTED)


def upload_and_push(site: Site) -> str:
    with site.api("staff") as api:
        r = api.post("/api/files", files={"file": ("BangDiem_6A1.xlsx", dirty_workbook())})
        assert r.status_code == 201, r.text
        file_id = r.json()["file_id"]
        r = api.post(f"/api/files/{file_id}/push", json={})
        assert r.status_code == 202, r.text
    return file_id


def counts(site: Site, file_id: str) -> dict[str, Any]:
    with site.api("staff") as api:
        return api.get(f"/api/files/{file_id}").json()["counts"]


def test_admin_retries_a_dead_letter_and_the_rows_reach_the_so(
    make_site: Callable[..., Site], new_context: Callable[..., BrowserContext]
) -> None:
    site = make_site(sync_max_retries=1)
    site.simulator.configure(faults={"503": 1.0})  # the Sở is down: every batch fails
    file_id = upload_and_push(site)
    site.wait_for("the rows to go DEAD", lambda: counts(site, file_id)["dead"] == VALID)

    page = new_context(site).new_page()
    sign_in(page, site.tokens["admin"])
    expect(page).to_have_url(re.compile("/admin/province$"))
    page.get_by_role("link", name="Gửi thất bại").click()
    letter = page.locator("section.card").filter(has_text="Lớp 6A1 · TOAN")
    expect(letter.locator("tbody tr")).to_have_count(VALID)
    expect(letter).to_contain_text("Trường 79000701")
    shot(page, "dead-letters", docs=True)

    site.simulator.configure(faults={"503": 0.0})  # the Sở is back
    letter.get_by_role("button", name=re.compile("Gửi lại")).click()
    expect(page.get_by_role("status")).to_contain_text("Đã xếp lại lớp 6A1 · môn TOAN")
    site.wait_for("the retried rows to be SYNCED", lambda: counts(site, file_id)["synced"] == VALID)
    page.reload()
    expect(page.get_by_text("Không có gì gửi thất bại")).to_be_visible()
    held = site.simulator.store(class_name="6A1", subject_code="TOAN")
    assert len(held) == VALID

    page.goto(f"/files/{file_id}/audit")
    expect(page.locator("table.audit")).to_contain_text("Gửi thất bại")
    expect(page.locator("table.audit")).to_contain_text("Đã lên Sở")


def test_province_progress_and_windows(
    site: Site, new_context: Callable[..., BrowserContext]
) -> None:
    file_id = upload_and_push(site)  # teaches the server the Sở's windows too
    site.wait_for("the push to finish", lambda: counts(site, file_id)["synced"] == VALID)

    page = new_context(site).new_page()
    sign_in(page, site.tokens["admin"])
    school = page.locator('tr[data-school="79000701"]')
    expect(school.locator('[data-count="synced"]')).to_have_text(str(VALID))
    expect(page.locator('[data-total="synced"]')).to_have_text(str(VALID))
    expect(page.locator("#window-state")).to_contain_text("đang mở")
    points = page.locator("#chart polyline").get_attribute("points") or ""
    assert len(points.split()) >= 2
    shot(page, "province", docs=True)

    page.get_by_role("link", name="Cổng nhập điểm").click()
    term = page.locator("section.card").filter(has_text="HK1 · 2025-2026")
    expect(term.locator("div").filter(has_text="Của Sở").locator("tbody tr")).to_have_count(1)

    page.get_by_label("Năm học").fill("2025-2026")
    page.get_by_label("Học kỳ").select_option("HK2")
    page.get_by_label("Mở lúc (giờ Việt Nam)").fill("2026-05-20T07:00")
    page.get_by_label("Đóng lúc (giờ Việt Nam)").fill("2026-05-20T17:00")
    page.get_by_role("button", name="Lưu đợt mở cổng").click()
    expect(page.get_by_role("status")).to_contain_text("Đã đặt đợt mở cổng HK2 2025-2026")
    ours = page.locator("section.card").filter(has_text="HK2 · 2025-2026")
    row = ours.locator("div").filter(has_text="Do quản trị đặt").locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("20/05/2026 07:00")
    expect(row).to_contain_text("20/05/2026 17:00")
    shot(page, "windows", docs=True)
    with site.api("admin") as api:
        mine = [w for w in api.get("/api/windows").json()["windows"] if w["source"] == "admin"]
    assert [(w["opens_at"], w["closes_at"]) for w in mine] == [
        ("2026-05-20T07:00:00+07:00", "2026-05-20T17:00:00+07:00")
    ]
