"""``GET`` / ``PUT /api/schools/{school_id}/notifications`` (staff of the school, admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from gradesync.auth.dependencies import require_roles
from gradesync.auth.models import Role
from gradesync.auth.service import Principal
from gradesync.core.db import utcnow
from gradesync.core.deps import DatabaseDep, SecretBoxDep
from gradesync.core.errors import ApiError, error_responses
from gradesync.live.notify import repository
from gradesync.live.notify.models import NotificationSettings
from gradesync.live.notify.schemas import NotificationSettingsIn, NotificationSettingsOut

router = APIRouter(tags=["notifications"])

StaffOrAdmin = Annotated[Principal, Depends(require_roles(Role.STAFF, Role.ADMIN))]


def _not_found(school_id: str) -> ApiError:
    return ApiError(
        404, "SCHOOL_NOT_FOUND", f"Không có trường {school_id} (hoặc token không thuộc trường này)."
    )


def _out(school_id: str, row: NotificationSettings | None) -> NotificationSettingsOut:
    return NotificationSettingsOut(
        school_id=school_id,
        emails=list(row.emails) if row else [],
        webhook_url=row.webhook_url if row else None,
        webhook_secret_set=bool(row and row.webhook_secret_encrypted),
        notify_on=list(row.notify_on) if row else [],
    )


@router.get(
    "/api/schools/{school_id}/notifications",
    summary="Cài đặt thông báo của trường",
    response_model=NotificationSettingsOut,
    responses=error_responses(401, 403, 404),
)
def get_notifications(
    school_id: str, principal: StaffOrAdmin, db: DatabaseDep
) -> NotificationSettingsOut:
    with db.read_session() as session:
        if not principal.can_access(school_id) or not repository.school_exists(session, school_id):
            raise _not_found(school_id)
        return _out(school_id, repository.get_settings(session, school_id))


@router.put(
    "/api/schools/{school_id}/notifications",
    summary="Đặt nơi nhận thông báo (email, webhook)",
    description="Thông báo khi một tệp gửi xong lên Sở hoặc cần xử lý (Sở từ chối dòng, hàng chờ "
    "lỗi, cổng sắp đóng mà còn dòng chưa gửi): email và/hoặc POST JSON tới webhook, ký "
    "HMAC-SHA256 trong tiêu đề `X-Gradesync-Signature: t=<unix>,v1=<hex>` trên "
    "`<t>.<body>`. Gửi ở nền, thử lại khi lỗi, không bao giờ làm chậm việc gửi điểm.",
    response_model=NotificationSettingsOut,
    responses=error_responses(401, 403, 404, 422),
)
def put_notifications(
    school_id: str,
    body: NotificationSettingsIn,
    principal: StaffOrAdmin,
    db: DatabaseDep,
    box: SecretBoxDep,
) -> NotificationSettingsOut:
    with db.write_session() as session:
        if not principal.can_access(school_id) or not repository.school_exists(session, school_id):
            raise _not_found(school_id)
        row = repository.get_settings(session, school_id) or NotificationSettings(
            school_id=school_id
        )
        if body.webhook_secret is not None:
            row.webhook_secret_encrypted = box.encrypt(body.webhook_secret)
        if body.webhook_url and not row.webhook_secret_encrypted:
            raise ApiError(
                422,
                "WEBHOOK_SECRET_REQUIRED",
                "Cần «webhook_secret» (ít nhất 16 ký tự) để ký các thông báo gửi tới webhook; "
                "bên nhận dùng khoá này để kiểm tra chữ ký.",
            )
        row.emails = body.emails
        row.webhook_url = body.webhook_url
        row.notify_on = body.notify_on
        row.updated_at = utcnow()
        session.add(row)
        session.commit()
        return _out(school_id, row)
