"""May a Japanese company take part, how much, when (issue 12): the rules on the hard cases the issue
names, the amounts in every written form, an event's days apart from its registration deadline,
the themes, and the Japanese fact line. Real parsers and rules; the labelled and blind sets are
measured in tests/test_classify_blind.py and bench/classify.py."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from spacedigest.sources.amounts import find_amount
from spacedigest.sources.classify import enrich, extract_event_dates
from spacedigest.sources.eligibility import decide, recorded
from spacedigest.sources.headline import Rates, fact_line, load_rates
from spacedigest.sources.models import Announcement
from spacedigest.sources.themes import themes_of

AT = datetime(2026, 12, 1, 3, tzinfo=timezone.utc)  # noon in Tokyo


def announcement(title: str, summary: str, language: str = "en", organisation: str = "ESA") -> Announcement:
    return Announcement(source_id="t", organisation=organisation, entry_key=title, title=title, url=None, guid=title,
                        summary=summary, published_at=datetime(2026, 11, 20, 9, tzinfo=timezone.utc),
                        published_estimated=False, language=language, content_hash="x")


# --- who may take part ---------------------------------------------------------------------------

@pytest.mark.parametrize("title, text, category, language, want, region", [
    # negations: outsiders are refused, so the call is for the region
    ("Call for tenders: Galileo ground segment", "Economic operators from third countries are not eligible.",
     "tender", "en", "restricted", "EU"),
    ("Appel à projets spatial", "Les entreprises hors UE ne sont pas éligibles. Clôture le 3 mars.",
     "funding", "fr", "restricted", "EU"),
    ("Appel à projets lanceurs", "Les entreprises établies hors de l'Union européenne ne sont pas éligibles.",
     "funding", "fr", "restricted", "EU"),
    # a restricted call that names JAXA (or Japan) only as a partner of the mission
    ("Announcement of Opportunity: instruments for a JAXA-led lunar mission",
     "Proposals must be led by companies established in the ESA Member States. The mission is led by JAXA.",
     "funding", "en", "restricted", "ESA Member States"),
    ("UKSA International Bilateral Fund", "Bids from UK organisations working with partners in Japan are welcome.",
     "funding", "en", "restricted", "UK"),
    # Horizon-style: Japanese entities may join, but without the call's funding
    ("Horizon Europe Cluster 4 space call", "Organisations from non-associated third countries such as Japan may join "
     "a consortium as associated partners but must cover their own costs.", "funding", "en", "restricted",
     "EU and associated countries"),
    ("ホライズン・ヨーロッパ宇宙分野公募", "日本の企業もコンソーシアムに参加できますが、EUからの資金は受けられず、自己資金での参加となります。",
     "funding", "ja", "restricted", "EU and associated countries"),
    # Japan named as eligible, or a Japanese programme for Japanese applicants
    ("Landing pad for Japanese space start-ups", "Start-ups headquartered in Japan can apply for six months at Harwell.",
     "incubation", "en", "japan", "Japan"),
    ("ESAビジネスアプリケーション公募", "欧州企業のパートナーとして日本企業も参加できます。締切：2026年5月31日", "funding", "ja", "japan", "Japan"),
    ("宇宙スタートアップ補助金", "対象は都内に本店を有する中小企業等で、海外法人は対象外です。", "funding", "ja", "japan", "Japan"),
    # open to any country
    ("Space Exploration Masters", "Individuals and companies from any country may submit an idea.", "funding", "en",
     "international", None),
    ("Concours ActInSpace", "La compétition est ouverte aux participants de tous les pays.", "event", "fr",
     "international", None),
    # silence, and news that names Japanese companies, say nothing about who may apply
    ("Call for ideas: space for insurance", "ESA is looking for ideas. Ideas can be submitted until 30 May.", "funding",
     "en", "unknown", None),
    ("UK and Japan sign memorandum of cooperation", "The memorandum opens the way for joint projects between UK and "
     "Japanese companies.", "partnership", "en", "unknown", None),
    ("宇宙戦略基金 採択結果の公表", "採択された実施機関は国内の企業・大学等計24件です。", "programme", "ja", "unknown", None),
])
def test_who_may_take_part(title, text, category, language, want, region):
    got = decide(title, text, category=category, language=language)
    assert (got.eligibility, got.region) == (want, region), got.reason
    if want != "unknown":
        assert got.reason and ":" in got.reason  # the rule and the phrase that decided


def test_a_decision_survives_the_warehouse_and_says_so_in_japanese():
    horizon = decide("Horizon Europe call", "Entities from non-associated third countries may take part in consortia "
                     "but will not receive EU funding.", category="funding")
    kept = recorded(horizon.eligibility, horizon.region, horizon.reason)
    assert kept.without_funding and "資金提供なしで参加可" in kept.line("ja")
    esa = recorded("restricted", "ESA Member States and Canada", "restriction.only-region: x")
    assert esa.region_ja == "ESA加盟国・カナダ"
    assert esa.line("ja") == "ESA加盟国・カナダの法人のみ（日本企業は現地法人・パートナー経由）"


# --- how much ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, value, currency", [
    ("Grants of up to €2M per project.", 2_000_000, "EUR"),
    ("Zero-equity funding from €60k to €2M per activity.", 2_000_000, "EUR"),
    ("Micro-grants of £50,000 for small businesses.", 50_000, "GBP"),
    ("The agency will provide 5 million pounds for projects.", 5_000_000, "GBP"),
    ("補助上限額は最大1億円（補助率2/3）。", 100_000_000, "JPY"),
    ("研究費は1件あたり上限1,000万円。", 10_000_000, "JPY"),
    ("Financement jusqu'à 500 000 € par projet.", 500_000, "EUR"),
    ("Aide jusqu'à 2,5 M€ par projet.", 2_500_000, "EUR"),
    ("Funding of EUR 75,000 per activity, covering up to 75% of the cost.", 75_000, "EUR"),
    ("A total budget of €10 million, with up to €500,000 per project.", 500_000, "EUR"),
    ("Start-ups may receive CHF 200,000 each.", 200_000, "CHF"),
    ("An investment of up to $100,000 per company.", 100_000, "USD"),
])
def test_the_most_one_applicant_can_get(text, value, currency):
    got = find_amount(text, category="funding")
    assert got is not None and (got.value, got.currency) == (value, currency)


@pytest.mark.parametrize("text, category", [
    ("ESA has signed a contract worth €45 million with a consortium.", "funding"),
    ("The start-up raised £12 million in a Series A round.", "funding"),
    ("シリーズBで総額40億円を調達しました。", "funding"),
    ("Tickets cost €150.", "event"),  # an event's price is nothing to apply for
    ("Le CNES attribue un contrat de 30 M€.", "programme"),
])
def test_money_that_is_no_offer_is_no_amount(text, category):
    assert find_amount(text, category=category) is None


# --- when an event takes place --------------------------------------------------------------------

@pytest.mark.parametrize("text, first, last", [
    ("The conference takes place on 12-14 May 2026 in Southampton. Registration closes on 5 May 2026.",
     date(2026, 5, 12), date(2026, 5, 14)),
    ("Les Rencontres réuniront start-up et investisseurs du 3 au 5 juin. Inscription avant le 16 mai.",
     date(2027, 6, 3), date(2027, 6, 5)),
    ("日英宇宙ビジネスフォーラムを2027年1月20日（水）～21日（木）に開催します。参加申込締切：2027年1月9日（土）17時。",
     date(2027, 1, 20), date(2027, 1, 21)),
    ("開催日 2026年12月18日（金） 申込締切 2026年12月15日（火）", date(2026, 12, 18), date(2026, 12, 18)),
    ("Register by 2 March for an online briefing on 4 March.", date(2027, 3, 4), date(2027, 3, 4)),
])
def test_an_events_days_are_not_its_registration_deadline(text, first, last):
    assert extract_event_dates(text, published=date(2026, 11, 20)) == (first, last)


# --- themes and the fact line ----------------------------------------------------------------------

def test_themes_from_the_bilingual_glossary():
    assert themes_of("Space for Ports", "Earth observation data and Galileo navigation for shipping") == \
        ("海事", "測位", "地球観測")
    assert themes_of("月面探査ミッションの公募", "") == ("月面・探査",)
    assert themes_of("Galileo : appel à projets", "navigation par satellite") == ("測位",)


def test_the_fact_line_says_what_who_how_much_and_by_when():
    call = enrich(announcement(
        "Space for Ports: call for proposals",
        "ESA offers zero-equity funding up to €2M per activity for Earth observation services for shipping. "
        "Funded participation is open to companies residing in the ESA Member States. Deadline: 26 February 2027."),
        fetched_at=AT)
    assert call.headline_ja == ("【公募】ESA｜海事・地球観測｜最大200万ユーロ（約3.2億円、12月1日の換算）｜締切 2月26日（金）（残り87日）｜"
                                "応募資格: ESA加盟国の法人のみ（日本企業は現地法人・パートナー経由）")
    assert (call.eligibility, call.eligibility_region, call.amount_max, call.amount_currency) == (
        "restricted", "ESA Member States", 2_000_000, "EUR")
    event = enrich(announcement("UK–Japan Space Industry Day in Tokyo", "The day is open to Japanese and British space "
                                "companies and takes place on 9 March 2027. Register by 1 March 2027."), fetched_at=AT)
    assert (event.category, event.event_date, event.deadline, event.eligibility) == (
        "event", date(2027, 3, 9), date(2027, 3, 1), "japan")
    assert "開催 3月9日（火）・申込締切 3月1日（月）（残り90日）｜参加資格: 日本企業も参加可" in event.headline_ja


def test_the_rates_table_is_staff_data_with_a_date(tmp_path):
    table = tmp_path / "rates.toml"
    table.write_text('date = 2027-01-15\n[jpy_per_unit]\nEUR = 150.0\n', encoding="utf-8")
    rates = load_rates(str(table))
    assert rates == Rates(date(2027, 1, 15), {"EUR": 150.0})
    line = fact_line(category="funding", organisation="CNES", themes=(), amount_max=500_000, amount_currency="EUR",
                     deadline=None, deadline_kind="none", status="unknown", opening_date=None, event_date=None,
                     event_end=None, eligibility=recorded("unknown", None, None), today=date(2027, 1, 20), rates=rates)
    assert "最大50万ユーロ（約7,500万円、1月15日の換算）" in line
    (tmp_path / "broken.toml").write_text("date = 'soon'\n[jpy_per_unit]\nEUR = 1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="broken.toml: 'date' must be a date"):
        load_rates(str(tmp_path / "broken.toml"))


def test_parse_prints_every_new_field_under_the_warehouse_names(tmp_path):
    feed = tmp_path / "calls.xml"
    feed.write_text("""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>
      <item><title>Call for proposals: lunar logistics</title><guid>c1</guid><link>https://x.example/c1</link>
      <pubDate>Fri, 20 Nov 2026 09:00:00 +0000</pubDate>
      <description>Companies from any country may apply. Grants of up to EUR 1 million per project.
      Deadline: 31 January 2027.</description></item></channel></rss>""", encoding="utf-8")
    exe = Path(sys.executable).with_name("spacedigest")
    run = subprocess.run([str(exe), "parse", str(feed), "--kind", "feed", "--as-of", "2026-12-01T03:00:00Z"],
                         capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, SPACEDIGEST_HOME=str(tmp_path / "home")))
    assert run.returncode == 0, run.stderr
    [record] = [json.loads(line) for line in run.stdout.splitlines()]
    assert {k: record[k] for k in ("eligibility", "eligibility_region", "amount_max", "amount_currency", "deadline")} == {
        "eligibility": "international", "eligibility_region": None, "amount_max": 1_000_000.0,
        "amount_currency": "EUR", "deadline": "2027-01-31"}
    assert record["headline_ja"].startswith("【公募】(local file)｜") and "応募資格: 国籍不問（日本企業も応募可）" in record["headline_ja"]
    assert "eligibility_reason" in record and "themes" in record and "event_date" in record and "stated" not in record


@pytest.mark.parametrize("title, text, category, language", [
    ("Space for Ports: call for proposals", "Services for ports around the world. Deadline: 3 March 2027.", "funding", "en"),
    ("Call for proposals: a payload for Japan's lunar rover", "Proposals are due by 3 March 2027.", "funding", "en"),
    ("ESA and JAXA invite proposals for joint Earth observation studies", "Deadline: 3 March 2027.", "funding", "en"),
    ("Innovation challenge", "Experts from around the world will judge the entries. Apply by 3 March.", "funding", "en"),
    ("Accelerator: applications open", "The accelerator has supported start-ups from 20 countries. Apply now.",
     "incubation", "en"),
    ("Appel à projets spatial", "Des experts du monde entier évalueront les dossiers. Date limite : 3 mars.",
     "funding", "fr"),
    ("宇宙ビジネスカンファレンス", "世界中の宇宙機関が参加する国際会議を開催します。", "event", "ja"),
    ("Webinar: doing business in Japan", "Join our webinar on 4 March about the Japanese market.", "event", "en"),
])
def test_traps_that_must_never_read_as_open_to_japan(title, text, category, language):
    """A false "you may apply" costs a member real time: words about the world or Japan that say nothing
    of who may apply leave the item unknown."""
    assert decide(title, text, category=category, language=language).eligibility == "unknown"


def test_a_nationality_that_is_not_japanese_restricts():
    assert decide("Trade mission to Tokyo", "UK companies can join a trade mission to Japan in May.",
                  category="event").eligibility == "restricted"
    assert decide("UK–Japan day", "British and Japanese companies are invited to the day in Tokyo.",
                  category="event").eligibility == "japan"


def test_overseas_companies_including_japanese_and_french_eu_regions():
    assert decide("Landing pad programme", "Overseas space companies, including from Japan, can apply for a desk.",
                  category="incubation").eligibility == "japan"
    assert decide("Landing pad programme", "Overseas space companies can apply for a desk at Harwell.",
                  category="incubation").eligibility == "international"
    horizon = decide("Horizon Europe : appel « Espace »", "Seules les entités des États membres de l'UE et des pays "
                     "associés peuvent recevoir un financement.", category="funding", language="fr")
    assert (horizon.eligibility, horizon.region) == ("restricted", "EU and associated countries")
