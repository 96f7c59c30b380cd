"""Registering schools and reading their Sở credentials.

The client secret is stored only as Fernet ciphertext; :func:`so_credentials`
is the one place that decrypts it (for the Sở client), and
:class:`SoCredentials` keeps it out of ``repr`` so it never lands in a log.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, select

from gradesync.core.crypto import SecretBox
from gradesync.schools.models import School


class SchoolExistsError(ValueError):
    pass


class UnknownSchoolError(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class SoCredentials:
    """A school's account at the Sở (``client_credentials`` grant)."""

    client_id: str
    client_secret: str = field(repr=False)


def add_school(
    session: Session,
    box: SecretBox,
    *,
    school_id: str,
    name: str,
    so_client_id: str,
    so_client_secret: str,
    replace: bool = False,
) -> School:
    """Insert a school (or, with ``replace``, update its name and credentials) and commit."""
    school_id = school_id.strip()
    if not school_id or not name.strip() or not so_client_id or not so_client_secret:
        raise ValueError("Mã trường, tên trường và thông tin đăng nhập Sở đều bắt buộc.")
    school = session.get(School, school_id)
    if school is not None and not replace:
        raise SchoolExistsError(
            f"Trường {school_id} đã có; dùng --replace để thay tên hoặc thông tin đăng nhập."
        )
    if school is None:
        school = School(id=school_id, name="", so_client_id="", so_client_secret_encrypted="")
    school.name = name.strip()
    school.so_client_id = so_client_id
    school.so_client_secret_encrypted = box.encrypt(so_client_secret)
    session.add(school)
    session.commit()
    return school


def get_school(session: Session, school_id: str) -> School | None:
    return session.get(School, school_id)


def list_schools(session: Session) -> list[School]:
    return list(session.exec(select(School).order_by(School.id)))


def so_credentials(session: Session, box: SecretBox, school_id: str) -> SoCredentials:
    """The school's Sở account with the secret decrypted (for the Sở client only)."""
    school = session.get(School, school_id)
    if school is None:
        raise UnknownSchoolError(f"Không có trường {school_id}.")
    return SoCredentials(school.so_client_id, box.decrypt(school.so_client_secret_encrypted))
