"""The accounts API's schemas: credentials and the token they buy, a new user and a user."""
from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validates_schema

from tracker.core.enums import ROLES
from tracker.core.schemas import Body, Reply, Str, UtcDateTime, values

CREDENTIALS_MISSING = "请提供 username 和 password。"


class CredentialsSchema(Body):
    """POST /auth/token: a username and its password, and the code of the second factor if the user has one."""

    # Not nullable: a null is absent, and signing in refuses that with 400 (below). The password is
    # taken exactly as sent (compared, never shown or stored).
    username = Str(required=True, allow_none=False, metadata={"minLength": 1})
    password = Str(required=True, clean=False, allow_none=False, metadata={"format": "password", "minLength": 1})
    totp = Str(allow_none=True, metadata={
        "description": "动态验证码(6 位数字):启用了双因素认证的用户必填,缺少或不正确时答 401", "example": "123456"})

    @validates_schema(pass_original=True)
    def _both_given(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        # Signing in answers 400 (not a service's 422) when either is missing or empty as sent. A
        # username that cleaning emptied (control characters only) was given: it names nobody, and
        # signing in answers 401 as for any unknown user.
        sent = original if isinstance(original, dict) else {}
        if not sent.get("username") or not data.get("password"):
            raise ValidationError(CREDENTIALS_MISSING)


class TokenSchema(Reply):
    """A bearer token (shown once; only its hash is stored) and when it expires."""

    token = fields.String(required=True)
    expires_at = UtcDateTime(required=True, metadata={"description": "令牌失效时间(UTC),之后需重新获取"})


class TokenInfoSchema(Reply):
    """One of the caller's live tokens, never the token itself."""

    id = fields.Integer(required=True)
    created_at = UtcDateTime(required=True)
    expires_at = UtcDateTime(required=True)
    last_used_at = UtcDateTime(required=True, allow_none=True,
                               metadata={"description": "最近一次使用(精确到分钟;签发即算一次)"})
    label = fields.String(required=True, allow_none=True, metadata={"description": "申请令牌时客户端的 User-Agent"})
    current = fields.Boolean(required=True, metadata={"description": "是否为本次请求所用的令牌"})


class TokenListSchema(Reply):
    """The caller's live tokens, newest first."""

    items = fields.List(fields.Nested(TokenInfoSchema), required=True)


class UserCreateSchema(Body):
    """POST /users: a new user (the service checks every value and answers 422 with the reason)."""

    username = Str(required=True, metadata={"pattern": "^[A-Za-z0-9_.\\-]{2,80}$"})
    password = Str(required=True, clean=False, metadata={"format": "password", "minLength": 8, "maxLength": 128})
    role = Str(required=True, metadata={"enum": values(ROLES)})
    unit_code = Str(allow_none=True, metadata={
        "description": "unit_staff 与 unit_head 必填(所属单位);supervisor、approver、leader 可填:所服务的区域节点"
                       "(省、市、县或乡镇),其辖区为该节点及其全部下级单位,可见牵头或配合单位在辖区内的问题,"
                       "不填为全部;admin 不填。未知编码答 422"})
    email = Str(allow_none=True, metadata={"format": "email"})
    display_name = Str(allow_none=True)


class UserSchema(Reply):
    """A user, never with the password hash."""

    id = fields.Integer(required=True)
    username = fields.String(required=True)
    role = fields.String(required=True, metadata={"enum": values(ROLES)})
    unit_code = fields.String(required=True, allow_none=True, attribute="unit.code", dump_default=None,
                              metadata={"description": "单位角色的所属单位;"
                                                       "督察整改办、销号审批、分管领导的辖区节点(空为全部)"})
    email = fields.String(required=True, allow_none=True)
    display_name = fields.String(required=True, allow_none=True)
    active = fields.Boolean(required=True)
