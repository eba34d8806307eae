"""Pydantic's validation errors in the caller's language, keyed by the error type."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from indivisible.i18n import _

# Templates take their parameters from the error's ``ctx``; a type not listed keeps Pydantic's text.
TEMPLATES: Mapping[str, str] = {
    "missing": _("This field is required."),
    "extra_forbidden": _("This field is not allowed here."),
    "string_type": _("Must be a string."),
    "string_pattern_mismatch": _("Must match the pattern {pattern}."),
    "string_too_short": _("Must have at least {min_length} character(s)."),
    "string_too_long": _("Must have at most {max_length} character(s)."),
    "too_short": _("Must have at least {min_length} item(s)."),
    "too_long": _("Must have at most {max_length} item(s)."),
    "enum": _("Must be one of: {expected}."),
    "literal_error": _("Must be one of: {expected}."),
    "date_parsing": _("Must be a date written YYYY-MM-DD."),
    "date_from_datetime_parsing": _("Must be a date written YYYY-MM-DD."),
    "date_from_datetime_inexact": _("Must be a date written YYYY-MM-DD."),
    "date_type": _("Must be a date written YYYY-MM-DD."),
    "int_parsing": _("Must be a whole number."),
    "int_type": _("Must be a whole number."),
    "float_parsing": _("Must be a number."),
    "float_type": _("Must be a number."),
    "greater_than": _("Must be greater than {gt}."),
    "greater_than_equal": _("Must be at least {ge}."),
    "less_than": _("Must be less than {lt}."),
    "less_than_equal": _("Must be at most {le}."),
    "list_type": _("Must be a list."),
    "tuple_type": _("Must be a list."),
    "dict_type": _("Must be an object."),
    "model_type": _("Must be an object."),
    "model_attributes_type": _("Must be an object."),
    "json_invalid": _("The body is not valid JSON."),
    "bool_parsing": _("Must be true or false."),
    "value_error": _("{error}"),
}

# Messages our own validators raise (ValueError texts), so that they are translated too.
VALUE_ERRORS = (
    _("a source needs a url or a document reference"),
    _("valid_to must be after valid_from (periods are half-open)"),
    _("a party is either a state or the members of an organisation"),
    _("valid_to must be after valid_from"),
    _("expires must be after the entry into force"),
    _("a border joins two different states"),
    _("text may not contain NUL characters"),
    _("statuses apply only to the members of an organisation"),
    _("each status may be given once"),
    _("each source may be cited once"),
)


def describe(error: Mapping[str, Any], gettext: Callable[[str], str]) -> str:
    template = TEMPLATES.get(str(error.get("type")))
    if template is None:
        return str(error.get("msg", ""))
    params = {k: str(v) for k, v in (error.get("ctx") or {}).items()}
    if "error" in params:
        params["error"] = gettext(params["error"].removeprefix("Value error, "))
    try:
        return gettext(template).format(**params)
    except (KeyError, IndexError, ValueError):
        return str(error.get("msg", ""))
