"""The dashboard in a real headless Chromium (Playwright driving Debian's `chromium`), walked as the
community's moderator against the offline harness, the sign-in included (issue 19, "Must show").
Each page's screenshot is written to docs/screenshots/ (KIZUNA_SCREENSHOTS to change it)."""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from bot.offline.oauth import serve_dashboard
from tests.helpers import config_with

CHROMIUM = os.environ.get("KIZUNA_CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(os.environ.get("KIZUNA_SCREENSHOTS", Path(__file__).resolve().parent.parent / "docs" / "screenshots"))
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


def _need_browser():
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        missing = "the playwright package (pip install -e '.[test]')"
    else:
        missing = None if shutil.which(CHROMIUM) or Path(CHROMIUM).exists() else f"{CHROMIUM} (apt-get install chromium)"
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"the browser tests need {missing}", pytrace=False)
        pytest.skip(f"needs {missing}")


@pytest.fixture
async def browser():
    _need_browser()
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            await b.close()


@pytest.fixture
async def community(harness, tmp_path):
    """A community in approval mode with a feedback item from alice and an application from vera."""
    g = await harness(config=config_with(tmp_path, {"community.yaml": {"membership": {"mode": "approval"}}}))
    await g.app.feedback.submit(g.world.guild_id, g.user_id("alice"), category="product", title="Matcha kit",
                                text="Please sell a matcha starter kit with a whisk.")
    await g.slash("/join", user="vera")
    await g.submit_modal({"favourite": "Hojicha", "why": "I love roasted tea", "found": "shop", "rules": True}, user="vera")
    for user, channel in (("alice", "lounge"), ("bob", "lounge"), ("carol", "quiz"), ("alice", "feedback")):
        await g.say(channel, "hello!", user=user)
    await g.settle()
    web = await serve_dashboard(g)
    try:
        yield g, web
    finally:
        await web.close()


async def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def signed_in(browser, web, who="mod"):
    context = await browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-US")
    page = await context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the confirmations
    await page.goto(web.sign_in_link(who))
    return context, page


async def test_a_moderator_walks_every_page(browser, community):
    g, web = community
    context, page = await signed_in(browser, web)
    # signed in through the fake Discord's authorize, token, users/@me, guilds and member look-up
    assert page.url.startswith(web.url + "/calendar"), page.url
    assert {"GET /oauth2/authorize", "POST /api/oauth2/token", "GET /api/users/@me", "GET /api/users/@me/guilds",
            "GET /api/users/@me/guilds/{guild_id}/member"} <= set(web.fake.requests)
    await page.wait_for_selector(".entry")
    await shot(page, "calendar")

    # a preview, rendered as members will see it
    await page.click(".entry.post, .entry")
    await page.wait_for_selector("#rendered")
    assert await page.inner_text("#rendered .name")
    await shot(page, "calendar-preview")
    entry_id = await page.get_attribute(".entry", "data-id")
    if entry_id in g.app.schedules.schedule_ids():  # pause it, after the confirmation
        await page.click("#pause")
        await page.wait_for_selector("#notice.ok")
        assert entry_id in g.app.schedules.paused
        await g.app.schedules.resume(entry_id, g.user_id("mod"))
    await page.click("#view-week")
    await page.wait_for_selector("table.grid.week")
    await shot(page, "calendar-week")

    # move a feedback card: the member gets the status DM, as with the slash command
    await page.click("#nav-feedback")
    card = page.locator("article.card").first
    await card.locator("select[name=status]").select_option("planned")
    await card.locator("button").click()
    await page.wait_for_selector("#col-planned article.card")
    dm = g.dms("alice")[-1]  # sent before the page answered (offline, the dashboard drains the outbox)
    assert "Matcha kit" in (dm.content + str(dm.embeds)), dm.content
    assert (await g.app.feedback.board(g.world.guild_id))["planned"][0].title == "Matcha kit"
    await shot(page, "feedback")
    # and by dragging the card to another column
    await page.drag_and_drop("#card-1", "#col-done")
    await page.wait_for_selector("#col-done #card-1")
    assert (await g.app.feedback.get(g.world.guild_id, 1)).status == "done"

    # approve vera's application
    await page.click("#nav-members")
    await page.click("button.approve")
    await page.wait_for_selector("#notice.ok")
    await g.settle()
    assert "member" in g.member("vera").roles
    await page.reload()
    assert "vera" in await page.inner_text("#members")
    await shot(page, "members")

    # config: an error is shown at its line and nothing changes; then a good edit reloads the bot
    config_file = Path(g.app.config.dir) / "community.yaml"
    before = config_file.read_text(encoding="utf-8")
    await page.goto(web.url + "/config?file=community.yaml")
    text = await page.input_value("#text")
    lines = text.splitlines()
    port_line = next(i for i, line in enumerate(lines, 1) if re.match(r"\s+port: 8080", line))
    await page.fill("#text", text.replace("  port: 8080", "  port: eighty"))
    await page.locator("#text").press("End")
    await page.wait_for_selector(f"#problems li[data-line='{port_line}']")
    await page.click("#save")
    await page.wait_for_selector("#result .notice.bad")
    assert f"line {port_line}" in await page.inner_text("#problems")
    assert config_file.read_text(encoding="utf-8") == before
    assert g.app.config.community.web.port == 8080
    await shot(page, "config-error")
    await page.fill("#text", text.replace("  port: 8080", "  port: 8081"))
    await page.click("#save")
    await page.wait_for_selector("#result .notice.ok")
    assert g.app.config.community.web.port == 8081  # reloaded
    assert "port: 8081" in config_file.read_text(encoding="utf-8")
    await shot(page, "config")

    # the audit log names the moderator for every write, the config diff included
    await page.click("#nav-audit")
    audit = await page.inner_text("#audit")
    for action in ("feedback.status", "application.approve", "config.edit"):
        assert action in audit or action.split(".")[0] in audit, (action, audit)
    assert "+  port: 8081" in audit
    await shot(page, "audit")

    # open a drop now (after the confirmation); a member claims; the page shows the stock and claims
    await page.click("#nav-drops")
    drop = g.app.drops.specs[0]
    await page.click(f"#drop-{drop.id} button.open")
    await page.wait_for_selector(f"#drop-{drop.id} .stock")
    await g.settle()
    opened = await g.app.drops.status(g.world.guild_id, drop.id)
    await g.advance_to(opened.windows[-1][1])  # open for everyone (a session that ends meanwhile signs in again)
    await g.click(on=g.channel(drop.channel).messages[-1], user="alice", index=1)
    await page.reload()
    status = await g.app.drops.status(g.world.guild_id, drop.id)
    assert status.remaining == status.stock - 1
    assert f"{status.remaining} of {status.stock}" in await page.inner_text(f"#drop-{drop.id} .stock")
    await shot(page, "drops")
    entry = (await g.app.audit.search(g.world.guild_id, action="drop.open"))[0]
    assert entry["actor_id"] == g.user_id("mod")

    await page.click("#nav-health")
    await page.wait_for_selector(".chart svg")
    await shot(page, "health")

    # the language switch
    await page.click("#lang-ja")
    assert "監査ログ" in await page.inner_text("header")
    await shot(page, "health-ja")
    await context.close()


async def test_a_member_without_moderator_rights_is_refused(browser, community):
    g, web = community
    context, page = await signed_in(browser, web, "alice")
    assert "Only the community's moderators" in await page.inner_text("body")
    response = await page.goto(web.url + "/calendar")  # no session: through Discord again, refused again
    assert response.status == 403 and "/auth/callback" in page.url
    assert not [c for c in await context.cookies() if c["name"] == "kizuna_session"]
    refused = await page.request.get(web.url + "/feedback", max_redirects=0)
    assert refused.status == 302 and "/login" in refused.headers["location"]
    await shot(page, "refused")
    await context.close()


async def test_a_write_without_the_csrf_token_is_refused(browser, community):
    g, web = community
    context, page = await signed_in(browser, web)
    schedule = g.app.schedules.schedule_ids()[0]
    refused = await page.request.post(web.url + "/calendar/pause", form={"id": schedule})
    assert refused.status == 403
    assert schedule not in g.app.schedules.paused
    token = await page.get_attribute("body", "hx-headers")
    csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', token).group(1)
    accepted = await page.request.post(web.url + "/calendar/pause", form={"id": schedule}, headers={"X-CSRF-Token": csrf})
    assert accepted.status == 200
    assert schedule in g.app.schedules.paused
    entry = (await g.app.audit.search(g.world.guild_id, action="schedule.pause"))[0]
    assert entry["actor_id"] == g.user_id("mod")
    await context.close()
