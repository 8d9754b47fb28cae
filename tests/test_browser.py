"""The subscriber's journey in headless Chromium (Debian's chromium through its chromedriver), against
`spacedigest web` under uvicorn and a real SMTP server: subscribe, the confirmation mail, confirm,
preferences, a digest, unsubscribe. A screenshot of each page, in Japanese, goes to
test-artifacts/screenshots/ (SPACEDIGEST_SCREENSHOTS to put them elsewhere)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import LEGAL_ENV, PROJECT_ROOT
from tests.webapp import WebProcess

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
SHOTS = Path(os.environ.get("SPACEDIGEST_SCREENSHOTS") or PROJECT_ROOT / "test-artifacts" / "screenshots")
EXE = str(Path(sys.executable).with_name("spacedigest"))


@pytest.fixture
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("no chromium/chromedriver on this machine: `apt-get install chromium chromium-driver "
                    "fonts-noto-cjk` (Debian) runs the browser tests (.ci/run installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-dev-shm-usage", "--lang=ja", "--window-size=1000,1200", "--hide-scrollbars"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"intl.accept_languages": "ja"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def shot(driver, name: str) -> Path:
    """A screenshot of the whole page."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1000, max(700, min(int(height) + 160, 5000)))
    path = SHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    assert path.stat().st_size > 5000
    return path


def submit(driver, element_id: str = "submit", by=None) -> str:
    """Click and wait for the next page; returns its <h1>."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    old = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(by or By.ID, element_id).click()
    WebDriverWait(driver, 15).until(expected_conditions.staleness_of(old))
    return driver.find_element(By.TAG_NAME, "h1").text


def load_calls(home: Path) -> None:
    """A few real announcements in the warehouse, through the real parser, classifier and loader."""
    from datetime import datetime, timezone

    from spacedigest.sources import kinds
    from spacedigest.sources.catalog import load_catalog
    from spacedigest.sources.pipeline import interpret
    from spacedigest.warehouse import db, load
    from tests.test_e2e import fresh_feed

    now = datetime.now(timezone.utc)
    source = next(s for s in load_catalog() if s.kind == "feed" and s.organisation == "ESA")
    page = kinds.kind_of(source).parse(source, fresh_feed(now, n=3), url=source.url, content_type=None)
    with db.writer(home) as con:
        load.load_announcements(con, interpret(source, [page], url=source.url, fetched_at=now), seen_at=now)


def wait_for(condition, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_the_journey_in_chromium(browser, tmp_path, mail_server):
    from selenium.webdriver.common.by import By

    smtp_url, box = mail_server
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPACEDIGEST_")}
    env.update(LEGAL_ENV, SPACEDIGEST_HOME=str(home), SPACEDIGEST_SMTP_URL=smtp_url)
    with WebProcess(env) as web:
        env["SPACEDIGEST_SITE_URL"] = web.url + "/"
        d = browser
        d.get(web.url + "/subscribe")
        assert d.find_element(By.TAG_NAME, "h1").text == "配信の申し込み"
        d.find_element(By.ID, "email").send_keys("hanako.yamada@example.jp")
        d.find_element(By.ID, "name").send_keys("山田 花子")
        d.find_element(By.ID, "company").send_keys("株式会社 宙テック")
        d.find_element(By.CSS_SELECTOR, "input[name=categories][value=funding]").click()
        d.find_element(By.CSS_SELECTOR, "input[name=categories][value=tender]").click()
        shot(d, "01-subscribe")
        assert submit(d) == "配信の申し込み" and "同意のチェックが必要です" in d.page_source
        shot(d, "02-subscribe-without-consent")  # refused: the consent box was not ticked
        d.find_element(By.ID, "consent").click()
        assert submit(d) == "確認メールをお送りしました"
        shot(d, "03-check-your-mail")

        mail = wait_for(lambda: box.to("hanako.yamada@example.jp"))[0]
        assert "配信申し込みの確認" in str(mail["Subject"])
        link = re.search(r"(http://127\.0\.0\.1:\d+/confirm\?token=[\w-]+&lang=ja)", mail.get_content())[1]
        d.get(link)
        assert d.find_element(By.TAG_NAME, "h1").text == "申し込みの確認"
        shot(d, "04-confirm")
        assert submit(d) == "申し込みが完了しました"
        shot(d, "05-confirmed")

        assert submit(d, "a.button", By.CSS_SELECTOR) == "配信設定"
        assert d.find_element(By.CSS_SELECTOR, "input[name=categories][value=funding]").is_selected()
        shot(d, "06-preferences")
        d.find_element(By.ID, "eligible_only").click()
        d.find_element(By.ID, "frequency_daily").click()
        assert submit(d) == "配信設定"
        assert d.find_element(By.ID, "saved").text.startswith("設定を保存しました")
        assert d.find_element(By.ID, "eligible_only").is_selected()
        shot(d, "07-preferences-saved")

        # the next digest reaches her, with her own links and the legal footer
        load_calls(home)
        assert subprocess.run([EXE, "digest"], env=env, capture_output=True).returncode == 0
        sent = subprocess.run([EXE, "send"], env=env, capture_output=True, text=True)
        assert sent.returncode == 0 and "sent 1" in sent.stdout, sent.stdout + sent.stderr
        digest = box.to("hanako.yamada@example.jp")[-1]
        html = digest.get_body(("html",)).get_content()
        for value in LEGAL_ENV.values():
            if "<" not in value:
                assert value in html
        (tmp_path / "mail.html").write_text(html, encoding="utf-8")
        d.get((tmp_path / "mail.html").as_uri())
        shot(d, "08-digest-mail")
        unsubscribe = re.search(r'href="(http://127\.0\.0\.1:\d+/unsubscribe\?token=[\w-]+)"', html)[1]
        assert unsubscribe in digest["List-Unsubscribe"]

        d.get(unsubscribe)
        assert d.find_element(By.TAG_NAME, "h1").text == "配信停止"
        shot(d, "09-unsubscribe")
        assert submit(d) == "配信を停止しました"
        shot(d, "10-unsubscribed")

        d.get(web.url + "/")
        shot(d, "11-archive")
        assert "宇宙ビジネス公募ダイジェスト" in d.title
    assert "Traceback" not in web.output()

    status = subprocess.run([EXE, "query", "select active, eligible_only, frequency from subscribers", "--format",
                             "csv"], env=env, capture_output=True, text=True)
    assert status.stdout.split()[1] == "False,True,weekly+daily", status.stdout + status.stderr
