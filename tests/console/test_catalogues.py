"""Every message the console shows has its Chinese translation (Chinese is the default)."""

from aftersales.web import i18n, messages


def test_every_message_id_is_translated_into_chinese():
    missing = messages.missing("zh")
    where = "\n".join(f"{msgid!r} at {', '.join(places[:2])}" for msgid, places in missing.items())
    assert not missing, f"untranslated (python -m aftersales.web.messages AREA adds them):\n{where}"


def test_the_catalogues_are_used_and_english_is_the_message_id():
    assert i18n.translations("zh").gettext("Sign in") == "登录"
    assert i18n.translations("en").gettext("Sign in") == "Sign in"
    assert len(messages.extract()) > 50


def test_money_and_times_read_as_each_language_writes_them():
    from datetime import UTC, datetime

    zh, en = i18n.Formats("zh", i18n.timezone("Asia/Shanghai")), i18n.Formats("en", i18n.timezone("Europe/Paris"))
    assert zh.money(9900) == "¥99.00" and en.money(123456, "CNY") == "CN¥1,234.56"
    moment = datetime(2026, 12, 1, 16, 30, tzinfo=UTC)
    assert zh.when(moment) == "2026/12/2 00:30" and en.when(moment) == "12/1/26, 5:30\u202fPM"
    assert i18n.timezone("Not/AZone").key == "Asia/Shanghai"
