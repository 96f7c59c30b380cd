"""Header mapping by text: every spelling domain.md lists, and the two-row merged group."""

from __future__ import annotations

import unicodedata

import pytest

from gradesync.gradebook.headers import find_header, role_of


@pytest.mark.parametrize(
    ("text", "role"),
    [
        ("Mã HS", "student_id"), ("Mã định danh\nBộ GD&ĐT", "student_id"),
        ("Số định danh cá nhân", "student_id"), ("Họ và tên", "full_name"),
        ("HO VA TEN", "full_name"), ("Họ và tên đệm", "family_name"), ("Tên", "given_name"),
        ("TX1", "tx"), ("ĐĐGtx 3", "tx"), ("Điểm TX2", "tx"), ("ĐĐGtx", "tx_all"),
        ("GK", "gk"), ("ĐĐGgk", "gk"), ("Giữa kỳ", "gk"), ("Giữa kì", "gk"), ("Điểm GK", "gk"),
        ("CK", "ck"), ("ĐĐGck", "ck"), ("TBM", "tb"), ("ĐTBmhk", "tb"), ("ĐTBmhk (HKI)", "tb"),
        ("ĐTBmhkII", "tb"), ("Đánh giá", "result"), ("Mức đạt được", "result"),
        ("Nhận xét", "comment"), ("Miễn", "exempt"), ("MG", "exempt"), ("STT", "skip"),
        ("Chăm chỉ", "rating.cham_chi"), ("Điểm KTĐK", "score"), ("Điểm thi lại", None),
    ],
)  # fmt: skip
def test_role_of(text, role):
    assert role_of(text) == role
    assert role_of(unicodedata.normalize("NFD", text)) == role
    assert role_of(f"  {text.upper()}  ") == role


def test_two_row_header_with_merged_group():
    rows = [
        ["Title"],
        ["STT", "Mã HS", "Họ và tên", "ĐĐGtx", "", "", "Điểm định kỳ", "", "TB", "Ghi chú lạ"],
        ["", "", "", 1, 2, 3, "GK", "CK", "", ""],
        [1, "0790000001", "An", 8, 7, 9, 8, 9, 8.4, ""],
    ]
    header = find_header(rows)
    assert (header.top, header.bottom) == (1, 2)
    assert [(c.role, c.cell) for c in header.tx] == [("tx", "D3"), ("tx", "E3"), ("tx", "F3")]
    roles = {c.role: c.cell for c in header.columns}
    assert roles == {"student_id": "B2", "full_name": "C2", "gk": "G3", "ck": "H3", "tb": "I2"}
    assert [(c.header, c.cell) for c in header.unmapped] == [("Ghi chú lạ", "J2")]


def test_a_roster_is_not_a_grade_table():
    assert find_header([["Mã HS", "Họ tên", "Ngày sinh"], ["0790000001", "An", "1/1/2013"]]) is None
