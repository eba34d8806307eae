"""Early warning's words for metrics, marked for translation where they are shown."""

from __future__ import annotations

from indivisible.i18n import _

VOCABULARY: dict[str, str] = {
    "events": _("events"),
    "fatalities": _("fatalities"),
}
