"""Writes the ru and zh catalogues from messages.pot and the reviewed translations below.

Run after `pybabel extract` (see docs/dev.md); a message missing here fails the run, so no
string ships untranslated by accident. English needs no translation: its catalogue is the template.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

I18N = Path(__file__).resolve().parent.parent / "src" / "indivisible" / "i18n"

RU = {
    "API": "API",
    "Afghanistan": "Афганистан",
    "Agreement": "Соглашение",
    "Agreements": "Соглашения",
    "Agreements in force for this state": "Соглашения, действующие для этого государства",
    "Article": "Статья",
    "Bodies": "Органы",
    "Body": "Орган",
    "Border, km": "Граница, км",
    "Bound to assist": "Обязаны оказать помощь",
    "Bound with": "Связано с",
    "CSTO": "ОДКБ",
    "Date": "Дата",
    "Dissolved": "Прекратила существование",
    "Established": "Учреждён",
    "Every fact on these pages carries its source; uncertain facts are marked.": "Каждый факт на этих страницах снабжён источником; недостоверные факты отмечены.",
    "Expires": "Срок действия истекает",
    "Founded": "Основана",
    "In force": "Вступило в силу",
    "Kind": "Вид",
    "Language": "Язык",
    "Log in": "Войти",
    "Log out": "Выйти",
    "Map": "Карта",
    "Members on a date": "Члены на дату",
    "Membership timeline": "Хронология членства",
    "Memberships": "Членство",
    "Neighbour": "Сосед",
    "No land borders recorded.": "Сухопутные границы не записаны.",
    "No state held any status in this organisation on this date.": "На эту дату ни одно государство не имело статуса в этой организации.",
    "No state is bound to assist on this date.": "На эту дату ни одно государство не обязано оказывать помощь.",
    "None recorded on this date.": "На эту дату ничего не записано.",
    "Obligations": "Обязательства",
    "Only bound to consult": "Обязаны только консультироваться",
    "Organisation": "Организация",
    "Organisations": "Организации",
    "Participation frozen or suspended": "Участие заморожено или приостановлено",
    "Parties": "Стороны",
    "Password": "Пароль",
    "SCO": "ШОС",
    "Seat": "Местопребывание",
    "Security belt": "Пояс безопасности",
    "Show": "Показать",
    "Signed": "Подписано",
    "Sources": "Источники",
    "State": "Государство",
    "The architecture on a date": "Архитектура на дату",
    "Username": "Имя пользователя",
    "What it binds the parties to": "К чему обязывает стороны",
    "Wrong username or password.": "Неверное имя пользователя или пароль.",
    "accessed": "дата обращения",
    "from": "с",
    "indefinite": "бессрочно",
    "known to the": "известно с точностью до",
    "members of": "члены",
    "since": "с",
    "today": "сегодня",
    "uncertain": "недостоверно",
    "until": "до",
    "member": "член",
    "observer": "наблюдатель",
    "dialogue partner": "партнёр по диалогу",
    "partner": "партнёр",
    "suspended": "приостановлено",
    "frozen": "заморожено",
    "withdrawn": "вышло",
    "regional organisation": "региональная организация",
    "military alliance": "военный союз",
    "economic union": "экономический союз",
    "forum": "форум",
    "universal organisation": "универсальная организация",
    "informal group": "неформальная группа",
    "secretariat": "секретариат",
    "anti-terrorist structure": "антитеррористическая структура",
    "anti-drug centre": "антинаркотический центр",
    "collective force": "коллективные силы",
    "staff": "штаб",
    "council": "совет",
    "centre": "центр",
    "other": "прочее",
    "treaty": "договор",
    "charter": "устав",
    "convention": "конвенция",
    "agreement": "соглашение",
    "declaration": "декларация",
    "protocol": "протокол",
    "mutual assistance": "взаимная помощь",
    "consultation": "консультации",
    "confidence building": "меры доверия",
    "non-aggression": "ненападение",
    "counter-terrorism": "борьба с терроризмом",
    "arms reduction": "сокращение вооружённых сил",
    "information exchange": "обмен информацией",
    "no alliances against the parties": "неучастие в союзах против сторон",
    "day": "дня",
    "month": "месяца",
    "year": "года",
}

ZH = {
    "API": "API",
    "Afghanistan": "阿富汗",
    "Agreement": "协定",
    "Agreements": "协定",
    "Agreements in force for this state": "对该国有效的协定",
    "Article": "条款",
    "Bodies": "机构",
    "Body": "机构",
    "Border, km": "边界（公里）",
    "Bound to assist": "有义务提供援助",
    "Bound with": "相互约束",
    "CSTO": "集安组织",
    "Date": "日期",
    "Dissolved": "解散",
    "Established": "成立",
    "Every fact on these pages carries its source; uncertain facts are marked.": "本页每项事实均注明来源；不确定的事实已标出。",
    "Expires": "失效",
    "Founded": "成立",
    "In force": "生效",
    "Kind": "类型",
    "Language": "语言",
    "Log in": "登录",
    "Log out": "退出",
    "Map": "地图",
    "Members on a date": "某日的成员",
    "Membership timeline": "成员资格时间线",
    "Memberships": "成员资格",
    "Neighbour": "邻国",
    "No land borders recorded.": "未记录陆地边界。",
    "No state held any status in this organisation on this date.": "该日没有任何国家在该组织中具有身份。",
    "No state is bound to assist on this date.": "该日没有国家有义务提供援助。",
    "None recorded on this date.": "该日无记录。",
    "Obligations": "义务",
    "Only bound to consult": "仅有协商义务",
    "Organisation": "组织",
    "Organisations": "组织",
    "Participation frozen or suspended": "参与已冻结或暂停",
    "Parties": "缔约方",
    "Password": "密码",
    "SCO": "上合组织",
    "Seat": "所在地",
    "Security belt": "安全带",
    "Show": "显示",
    "Signed": "签署",
    "Sources": "来源",
    "State": "国家",
    "The architecture on a date": "某日的安全架构",
    "Username": "用户名",
    "What it binds the parties to": "对缔约方的约束",
    "Wrong username or password.": "用户名或密码错误。",
    "accessed": "访问于",
    "from": "自",
    "indefinite": "无限期",
    "known to the": "精确到",
    "members of": "成员：",
    "since": "自",
    "today": "今天",
    "uncertain": "不确定",
    "until": "至",
    "member": "成员国",
    "observer": "观察员国",
    "dialogue partner": "对话伙伴",
    "partner": "伙伴国",
    "suspended": "暂停",
    "frozen": "冻结",
    "withdrawn": "已退出",
    "regional organisation": "区域组织",
    "military alliance": "军事同盟",
    "economic union": "经济联盟",
    "forum": "论坛",
    "universal organisation": "普遍性组织",
    "informal group": "非正式集团",
    "secretariat": "秘书处",
    "anti-terrorist structure": "反恐怖机构",
    "anti-drug centre": "禁毒中心",
    "collective force": "集体部队",
    "staff": "参谋部",
    "council": "理事会",
    "centre": "中心",
    "other": "其他",
    "treaty": "条约",
    "charter": "宪章",
    "convention": "公约",
    "agreement": "协定",
    "declaration": "宣言",
    "protocol": "议定书",
    "mutual assistance": "相互援助",
    "consultation": "协商",
    "confidence building": "建立信任",
    "non-aggression": "互不侵犯",
    "counter-terrorism": "反恐",
    "arms reduction": "裁减军事力量",
    "information exchange": "信息交换",
    "no alliances against the parties": "不参加针对缔约方的同盟",
    "day": "日",
    "month": "月",
    "year": "年",
}


def build(locale: str, table: dict[str, str], template: Catalog) -> list[str]:
    catalogue = Catalog(locale=locale, project="Indivisible", version=template.version)
    missing = []
    for message in template:
        if not message.id:
            continue
        text = table.get(str(message.id), "") if table else ""
        if table and not text:
            missing.append(str(message.id))
        catalogue.add(message.id, text)
    path = I18N / locale / "LC_MESSAGES" / "messages.po"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, catalogue, omit_header=False, sort_output=True, width=100)
    return missing


def main() -> int:
    with (I18N / "messages.pot").open("rb") as handle:
        template = read_po(handle)
    problems = []
    for locale, table in (("en", {}), ("ru", RU), ("zh", ZH)):
        problems += [f"{locale}: no translation for {m!r}" for m in build(locale, table, template)]
    print("\n".join(problems) or "catalogues written: en, ru, zh")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
