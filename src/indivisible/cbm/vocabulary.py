"""The CBM module's words for kinds, categories and outcomes, marked for translation: shown
by the web pages, the PDF report and anything else that presents CBM values to a person."""

from __future__ import annotations

from indivisible.i18n import _

VOCABULARY: dict[str, str] = {
    "exercise": _("exercise"),
    "transfer": _("transfer"),
    "concentration": _("concentration"),
    "alert": _("alert activity"),
    "river-ship-entry": _("river combat ships entering the zone"),
    "personnel": _("personnel"),
    "battle-tanks": _("battle tanks"),
    "armoured-combat-vehicles": _("armoured combat vehicles"),
    "artillery": _("artillery"),
    "combat-aircraft": _("combat aircraft"),
    "combat-helicopters": _("combat helicopters"),
    "aircraft-sorties": _("aircraft sorties"),
    "airborne-troops": _("airborne troops"),
    "amphibious-troops": _("amphibious troops"),
    "border-troops": _("border troops"),
    "inside": _("inside"),
    "outside": _("outside"),
    "uncertain": _("uncertain"),
    "required": _("required"),
    "not-required": _("not required"),
    "on-time": _("on time"),
    "late": _("late"),
    "unknown": _("unknown"),
    "invite": _("observers due"),
    "voluntary": _("voluntary"),
    "held": _("held"),
    "within": _("within the limit"),
    "exceeded": _("exceeded"),
    "no-data": _("no data"),
    "on_time": _("on time"),
    "required_undated": _("required, notice period not encoded"),
    "missing": _("missing"),
    "inspection": _("inspection"),
    "evaluation-visit": _("evaluation visit"),
}
