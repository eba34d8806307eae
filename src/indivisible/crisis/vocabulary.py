"""Crisis response's words for steps, positions and results, marked for translation: shown
by the web pages and the printable report."""

from __future__ import annotations

from collections.abc import Callable

from indivisible.i18n import _

VOCABULARY: dict[str, str] = {
    "departed": _("departed"),
    "arrived": _("arrived"),
    "task-taken-over": _("task taken over"),
    "withdrawal-started": _("withdrawal started"),
    "home": _("home"),
    "in-favour": _("in favour"),
    "against": _("against"),
    "abstain": _("abstain"),
    "not-participating": _("not participating"),
    "adopted": _("adopted"),
    "blocked": _("blocked"),
    "not-adopted": _("not adopted"),
    "unrest": _("unrest"),
    "armed-attack": _("armed attack"),
    "terrorist-attack": _("terrorist attack"),
    "natural-disaster": _("natural disaster"),
    "request": _("request"),
    "consultation": _("consultation"),
    "decision": _("decision"),
    "plan": _("plan"),
    "transit": _("in transit"),
    "on-task": _("on task"),
    "withdrawal": _("withdrawing"),
    "task": _("task taken over"),
}


def word(value: str | None, gettext: Callable[[str], str]) -> str:
    """A value in the reader's language (``gettext`` translating into it)."""
    if value is None:
        return "—"
    return gettext(VOCABULARY.get(value, value))
