"""The API's shared schema machinery: base schemas for request bodies, query strings and multipart
forms, the fields they are made of, and the schemas every domain answers with (Error, Job).

One marshmallow schema per request and per response drives three things at once: the parser
(`tracker.core.api.ApiParser`) loads the request through it, the response decorator dumps the
answer through it, and flask-smorest turns it into openapi.json. The texts clients read
(descriptions, enums, formats, lengths) sit in the fields' `metadata`.

What the API has always accepted is kept exactly:

- A field of the wrong JSON type answers 400 "字段 NAME 应为字符串。" (整数, 字符串数组, ...);
  JSON `true`/`false` are not integers. A `null` field counts as absent.
- Fields the document marks required are *not* enforced here: a missing value reaches the
  service, whose 422 names it in Chinese (e.g. "请填写单位名称(不超过 200 个字)。"). Request-level checks that
  the API has always answered with 400 (e.g. "请提供 username 和 password。") are schema validators.
- Query arguments are stripped; an empty one counts as absent and gets its default.
- When several fields are wrong, the first in the schema's declared order is reported, as the
  hand-written checks did (`first_message`).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Optional

from flask_smorest.fields import Upload
from marshmallow import EXCLUDE, Schema, ValidationError, fields, missing, pre_load
from werkzeug.datastructures import FileStorage

from tracker.core.bounds import DB_INT_MAX, DB_INT_MIN, MAX_PAGE, NO_CONTROLS_PATTERN, signed_number
from tracker.core.text import clean_text

BAD_REQUEST = "请求格式不正确。"


def values(items: Iterable[Any]) -> list[str]:
    """Plain strings of an enum's members (or a label dict's keys), for an `enum` in the document."""
    return [str(item) for item in items]


class Inline:
    """Marks a schema the document writes out where it is used instead of naming it in components
    (the responses whose shape belongs to one operation only, such as the statistics)."""


class NamedField(fields.Field[Any]):
    """A field whose error messages may name it: "{name}" is its JSON key."""

    def make_error(self, key: str, **kwargs: Any) -> ValidationError:
        """The field's message for `key`, formatted with its name and `kwargs`."""
        return super().make_error(key, name=self.data_key or self.name, **kwargs)


class BodyField(NamedField):
    """A JSON body field: `required` is documented, not enforced here. A missing value reaches
    the service, whose 422 says in Chinese what to fill in. A JSON null counts as absent (`Body`),
    so the document calls the field `nullable`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_none", True)
        super().__init__(*args, **kwargs)

    def _validate_missing(self, value: Any) -> None:
        if value is missing:
            return
        super()._validate_missing(value)


# --- JSON body fields ----------------------------------------------------------

class Str(BodyField, fields.String):
    """A JSON string, cleaned of invisible characters (`tracker.core.text.clean_text`) unless
    `clean=False` (a password: compared, never shown, so taken exactly as sent)."""

    default_error_messages = {"invalid": "字段 {name} 应为字符串。", "invalid_utf8": "字段 {name} 应为字符串。"}

    def __init__(self, *, clean: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.clean = clean

    def _deserialize(self, value: Any, attr: Optional[str], data: Optional[Mapping[str, Any]],
                     **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        return clean_text(text) if self.clean else text


class Int(BodyField, fields.Integer):
    """A JSON integer; `true`/`false` are refused although Python counts them as ints, and so is
    one outside the database's integer range (400, documented as the field's minimum and maximum
    unless the field documents narrower bounds, which its service checks)."""

    default_error_messages = {"invalid": "字段 {name} 应为整数。",
                              "range": f"字段 {{name}} 应为 {DB_INT_MIN} 到 {DB_INT_MAX} 的整数。"}

    def __init__(self, **kwargs: Any) -> None:
        kwargs["metadata"] = {"minimum": DB_INT_MIN, "maximum": DB_INT_MAX, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: Optional[str], data: Optional[Mapping[str, Any]],
                     **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        if not DB_INT_MIN <= value <= DB_INT_MAX:
            raise self.make_error("range")
        return value


class StrList(BodyField, fields.List):  # type: ignore[type-arg]
    """A JSON array of strings."""

    default_error_messages = {"invalid": "字段 {name} 应为字符串数组。"}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(fields.String(), **kwargs)

    def _deserialize(self, value: Any, attr: Optional[str], data: Optional[Mapping[str, Any]],
                     **kwargs: Any) -> list[Any]:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.make_error("invalid")
        return [clean_text(item) for item in value]


class Flag(BodyField, fields.Boolean):
    """A JSON `true` or `false`; nothing else (not 1, not "true").

    With `null_is_absent=False` a JSON null is refused like any other wrong value rather than
    read as absent (the plan import's `confirm` has always answered null with 400).
    """

    default_error_messages = {"invalid": "字段 {name} 应为 true 或 false。", "null": "字段 {name} 应为 true 或 false。"}

    def __init__(self, *, null_is_absent: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("allow_none", null_is_absent)
        super().__init__(**kwargs)
        self.null_is_absent = null_is_absent

    def _deserialize(self, value: Any, attr: Optional[str], data: Optional[Mapping[str, Any]],
                     **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


# --- query-string fields -------------------------------------------------------

class TextArg(fields.String):
    """A free-text query argument (stripped; empty counts as absent; cleaned like every text).
    Documented without control characters, which the app refuses in any query string
    (`tracker.core.bounds`)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["metadata"] = {"pattern": NO_CONTROLS_PATTERN, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: Optional[str], data: Optional[Mapping[str, Any]],
                     **kwargs: Any) -> Any:
        return clean_text(super()._deserialize(value, attr, data, **kwargs), multiline=False)


class IntArg(NamedField, fields.Integer):
    """A whole-number query argument with bounds: at most the database's integer range (an id), or
    `MAX_PAGE` for a page number (`page=True`). Only ASCII digits with an optional minus count:
    Python's int() would also take "+1", "1_000" and other scripts' digits."""

    default_error_messages = {"invalid": "参数 {name} 应为整数。", "range": "参数 {name} 应为{bounds}的整数。"}

    def __init__(self, *, minimum: int, maximum: Optional[int] = None, page: bool = False, **kwargs: Any) -> None:
        ceiling = MAX_PAGE if page else DB_INT_MAX
        # Below the minimum of an argument without a maximum of its own, the message stays the one
        # the API has always given ("不小于 1").
        self.open_ended = maximum is None
        maximum = ceiling if maximum is None else min(maximum, ceiling)
        kwargs["metadata"] = {"minimum": minimum, "maximum": maximum, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)
        self.minimum, self.maximum = minimum, maximum

    def _deserialize(self, value: Any, attr: Optional[str], data: Optional[Mapping[str, Any]],
                     **kwargs: Any) -> int:
        number = signed_number(value) if isinstance(value, str) else None
        if number is None:
            raise self.make_error("invalid")
        if number < self.minimum and self.open_ended:
            raise self.make_error("range", bounds=f"不小于 {self.minimum}")
        if not self.minimum <= number <= self.maximum:
            raise self.make_error("range", bounds=f"{self.minimum} 到 {self.maximum}")
        return number


class ChoiceArg(NamedField, fields.String):
    """A query argument that must be one of `choices`."""

    default_error_messages = {"invalid": "参数 {name} 应为 {choices} 之一。"}

    def __init__(self, choices: Iterable[Any], **kwargs: Any) -> None:
        self.choices = tuple(values(choices))
        kwargs["metadata"] = {"enum": list(self.choices), **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: Optional[str], data: Optional[Mapping[str, Any]],
                     **kwargs: Any) -> str:
        if value not in self.choices:
            raise self.make_error("invalid", choices="、".join(self.choices))
        return str(value)


class BoolArg(NamedField, fields.Boolean):
    """A true/false (1/0) query argument, any case."""

    default_error_messages = {"invalid": "参数 {name} 应为 true 或 false。"}

    def _deserialize(self, value: Any, attr: Optional[str], data: Optional[Mapping[str, Any]],
                     **kwargs: Any) -> bool:
        text = str(value).lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise self.make_error("invalid")


# --- multipart form fields -----------------------------------------------------

class File(NamedField, Upload):
    """An uploaded file (a multipart part with a filename); `required` says how to send it."""

    def _deserialize(self, value: Any, attr: Optional[str], data: Optional[Mapping[str, Any]],
                     **kwargs: Any) -> FileStorage:
        # A plain form field of the same name is no file: answer as if it were missing.
        if not isinstance(value, FileStorage):
            raise self.make_error("required")
        return value


class FormFlag(BoolArg):
    """A form field true/1 or false/0 (any case): read as `BoolArg`, named as a field."""

    default_error_messages = {"invalid": "字段 {name} 应为 true 或 false。"}


class FormInt(NamedField, fields.Integer):
    """A form field of ASCII decimal digits, at most the database's integer range."""

    default_error_messages = {"invalid": "字段 {name} 应为整数。",
                              "range": f"字段 {{name}} 应为 0 到 {DB_INT_MAX} 的整数。"}

    def __init__(self, **kwargs: Any) -> None:
        kwargs["metadata"] = {"minimum": 0, "maximum": DB_INT_MAX, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: Optional[str], data: Optional[Mapping[str, Any]],
                     **kwargs: Any) -> int:
        if not isinstance(value, str) or not value.isascii() or not value.isdigit():
            raise self.make_error("invalid")
        if len(value.lstrip("0")) > len(str(DB_INT_MAX)) or int(value) > DB_INT_MAX:
            raise self.make_error("range")
        return int(value)


# --- response fields -----------------------------------------------------------

DATE_META = {"example": "2020-12-31"}


class UtcDateTime(fields.DateTime):
    """A stored (naive UTC) moment as ISO 8601 with an explicit Z, e.g. 2020-07-15T02:00:00Z."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["metadata"] = {"description": "UTC, e.g. 2020-07-15T02:00:00Z", **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _serialize(self, value: Optional[datetime], attr: Optional[str], obj: Any,
                   **kwargs: Any) -> Optional[str]:
        return value.isoformat(timespec="seconds") + "Z" if value else None


class Figure(fields.Raw):
    """A number passed on as the service computed it (an int stays an int, a float a float)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["metadata"] = {"type": "number", **kwargs.get("metadata", {})}
        super().__init__(**kwargs)


# --- base schemas --------------------------------------------------------------

class Body(Schema):
    """A JSON request body (an object; the parser refuses anything else before this schema runs).

    Unknown fields are ignored and `null` counts as absent, so services see a missing value the
    same way whether it was left out or sent as null. Its fields are `BodyField`s: `required`
    ones are documented but left to the services (see the module docstring).
    """

    class Meta:
        """Unknown fields are ignored."""

        unknown = EXCLUDE

    @pre_load
    def _null_is_absent(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        fields_by_key = {field.data_key or name: field for name, field in self.fields.items()}
        return {key: value for key, value in data.items()
                if value is not None or not getattr(fields_by_key.get(key), "null_is_absent", True)}


class Query(Schema):
    """A query string: each argument stripped, an empty one absent, unknown ones ignored."""

    class Meta:
        """Unknown arguments are ignored."""

        unknown = EXCLUDE

    @pre_load
    def _blank_is_absent(self, data: Mapping[str, Any], **kwargs: Any) -> dict[str, Any]:
        out = {}
        for name, field in self.fields.items():
            key = field.data_key or name
            value = data.get(key)
            if isinstance(value, str) and value.strip():
                out[key] = value.strip()
        return out


class Multipart(Schema):
    """A multipart/form-data body: files, and form fields cleaned and stripped (an empty one absent)."""

    class Meta:
        """Unknown form fields are ignored."""

        unknown = EXCLUDE

    @pre_load
    def _blank_is_absent(self, data: Mapping[str, Any], **kwargs: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, field in self.fields.items():
            key = field.data_key or name
            value = data.get(key)
            if isinstance(value, FileStorage):
                out[key] = value
            elif isinstance(value, str) and clean_text(value).strip():
                out[key] = clean_text(value).strip()
        return out


def first_message(messages: Any, schema: Schema) -> str:
    """The message of the first wrong field in `schema`'s declared order (as the hand-written
    checks reported them one at a time), else the request-level one, else a generic 400."""
    if isinstance(messages, Mapping):
        for name, field in schema.fields.items():
            key = field.data_key or name
            if key in messages:
                return _first_text(messages[key])
        for value in messages.values():
            return _first_text(value)
    return _first_text(messages)


def _first_text(messages: Any) -> str:
    if isinstance(messages, str):
        return messages
    if isinstance(messages, Mapping):
        messages = list(messages.values())
    if isinstance(messages, (list, tuple)):
        for item in messages:
            text = _first_text(item)
            if text:
                return text
    return BAD_REQUEST


# --- schemas every domain answers with -----------------------------------------

class Reply(Schema):
    """A response body, dumped from the service's objects (or JSON forms) by the response decorator.

    `unknown` only matters when loading, which a reply never is; EXCLUDE keeps apispec from
    declaring `additionalProperties: false`, which some answers would contradict (a 422 adds
    its details to the Error).
    """

    class Meta:
        """See the class docstring."""

        unknown = EXCLUDE

    def get_attribute(self, obj: Any, attr: str, default: Any) -> Any:
        """A key of a dict (a service's JSON form), else marshmallow's lookup. A key the dict lacks
        is absent from the reply: marshmallow would fall back to the dict's attribute of that
        name, and `update` or `items` are methods of every dict."""
        if isinstance(obj, Mapping) and "." not in attr:
            return obj.get(attr, default)
        return super().get_attribute(obj, attr, default)


class ErrorSchema(Reply):
    """Every refusal: {"error": "..."}."""

    error = fields.String(required=True, metadata={"description": "错误说明(中文)"})


JOB_KINDS = ("ledger_export", "ledger_import", "ledger_preview")
JOB_STATES = ("queued", "running", "done", "failed")


class JobSchema(Reply):
    """A background task as `tracker.core.tasks.job_json` describes it, with the API's download link."""

    id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"enum": list(JOB_KINDS)})
    kind_label = fields.String()
    state = fields.String(required=True, metadata={
        "enum": list(JOB_STATES), "description": "心跳超过 10 分钟的未完成任务显示为 failed(任务中断)"})
    state_label = fields.String()
    done = fields.Integer(required=True, metadata={"description": "已处理行数"})
    total = fields.Integer(required=True, metadata={"description": "总行数"})
    percent = fields.Integer(required=True, metadata={"minimum": 0, "maximum": 100})
    download_url = fields.String(required=True, allow_none=True, metadata={"description": "完成的导出任务的下载地址"})
    summary = fields.Dict(required=True, allow_none=True, metadata={
        "description": "完成的导入任务:{\"created\": 新登记数, \"updated\": 更新数};"
                       "完成的导入预览:{\"rows\", \"create\", \"update\", \"unchanged\", "
                       "\"errors\", \"warnings\"}(行数和错误、提示条数)"})
    error = fields.String(required=True, allow_none=True, metadata={"description": "失败原因(中文)"})
    created_at = fields.String(metadata={"format": "date-time", "description": "UTC, e.g. 2020-07-15T02:00:00Z"})
    finished_at = fields.String(allow_none=True, metadata={"format": "date-time",
                                                           "description": "UTC, e.g. 2020-07-15T02:00:00Z"})
