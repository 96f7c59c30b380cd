"""The roster endpoints and the windows list: readable at any time, scoped to the token's school."""

from __future__ import annotations

import httpx

from tests.fixtures.simulator import OTHER_SCHOOL_ID, SCHOOL_ID, SCHOOL_YEAR, student_id

CLASSES = f"/api/v1/schools/{SCHOOL_ID}/classes"


def test_classes_list_names_grades_and_subjects_with_kinds(so: httpx.Client) -> None:
    response = so.get(CLASSES, params={"school_year": SCHOOL_YEAR})
    assert response.status_code == 200
    classes = {c["class_name"]: c for c in response.json()["classes"]}
    assert set(classes) == {"6A1", "6A2"}
    assert classes["6A1"]["grade"] == 6
    kinds = {s["code"]: s["kind"] for s in classes["6A1"]["subjects"]}
    assert kinds["TOAN"] == "score" and kinds["GDTC"] == "comment"


def test_classes_of_another_school_year_are_not_listed(so: httpx.Client) -> None:
    response = so.get(CLASSES, params={"school_year": "2024-2025"})
    assert response.json() == {"classes": []}


def test_students_keep_their_ids_as_text(so: httpx.Client) -> None:
    response = so.get(f"{CLASSES}/6A1/students", params={"school_year": SCHOOL_YEAR})
    assert response.status_code == 200
    students = response.json()["students"]
    assert len(students) == 40
    assert students[0] == {
        "student_id": student_id(1, 1, 0),
        "full_name": students[0]["full_name"],
        "date_of_birth": students[0]["date_of_birth"],
    }
    assert all(isinstance(s["student_id"], str) for s in students)


def test_unknown_class_is_class_not_found(so: httpx.Client) -> None:
    response = so.get(f"{CLASSES}/9Z9/students", params={"school_year": SCHOOL_YEAR})
    assert response.status_code == 404
    assert response.json() == {"error": "CLASS_NOT_FOUND"}


def test_another_schools_roster_is_forbidden(so: httpx.Client) -> None:
    response = so.get(
        f"/api/v1/schools/{OTHER_SCHOOL_ID}/classes", params={"school_year": SCHOOL_YEAR}
    )
    assert response.status_code == 403
    assert response.json() == {"error": "FORBIDDEN"}


def test_roster_is_readable_outside_any_window(simulator, so: httpx.Client) -> None:
    simulator.configure(clock_offset=-90 * 86400)  # 90 days back: no window is open
    response = so.get(f"{CLASSES}/6A1/students", params={"school_year": SCHOOL_YEAR})
    assert response.status_code == 200


def test_windows_are_filtered_by_year_and_semester(so: httpx.Client) -> None:
    response = so.get("/api/v1/windows", params={"school_year": SCHOOL_YEAR, "semester": "HK2"})
    assert response.status_code == 200
    windows = response.json()["windows"]
    assert [w["id"] for w in windows] == ["hk2"]
    assert set(windows[0]) == {"id", "school_year", "semester", "opens_at", "closes_at"}
    assert windows[0]["opens_at"].endswith("+07:00")
