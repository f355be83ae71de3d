"""Who sees what on the console, a dropped event stream, the keyboard and a phone-width
screen."""

import gevent.queue

from waiting import until


def drop_streams(site):
    """The controller drops every event-stream client, as it drops one that fell behind."""
    bus = site.controller.bus
    for sub in list(bus._subscribers):
        sub.dropped = True
        bus.unsubscribe(sub)
        sub.queue = gevent.queue.Queue()
        sub.queue.put_nowait(None)


def test_a_user_token_cannot_see_or_act_on_another_users_calls(api_site, console):
    bobs = console(api_site.tokens["bob"])
    page, expect = bobs.page, bobs.expect
    alice, carol, cid = api_site.talking("1001", "1003")
    expect(bobs.user("1001")).to_have_attribute("data-state", "talking")   # the lamp only
    expect(bobs.user("1001")).not_to_contain_text("Carol")
    expect(bobs.calls()).to_have_count(0)
    bobs.shot("06-other-users-call")
    # acting on Alice's call anyway (the page offers no button: call its function directly)
    page.evaluate(f"hangUp({{id: '{cid}', peer: {{number: '1003'}}}})")
    expect(bobs.error).to_have_text(f"Hang up 1003: call {cid} is not a call of user 1002")
    page.evaluate(f"parkCall({{id: '{cid}', peer: {{number: '1003'}}}})")
    expect(bobs.error).to_contain_text("is not a call of user 1002")
    assert alice.state == "talking" and carol.state == "talking"
    # a bad token never gets in
    stranger = console()
    stranger.page.get_by_label("API token").fill("fsc_not-a-token")
    stranger.page.get_by_role("button", name="Sign in").click()
    expect(stranger.page.locator("#connection")).to_contain_text("Signed out:")
    expect(stranger.page.locator("#main")).to_be_hidden()


def test_a_dropped_event_stream_recovers_without_duplicates(api_site, console):
    tab = console(api_site.tokens["alice"])
    page, expect = tab.page, tab.expect
    expect(page.locator("body")).to_have_attribute("data-connects", "1")
    alice, bob, first = api_site.talking("1001", "1002")
    expect(tab.calls()).to_have_count(1)
    drop_streams(api_site)
    # while the page is away the call ends: the page learns it from the events it missed
    bob.hangup()
    until(lambda: all(c["id"] != first for c in api_site.tracker.snapshot("1001")), 5,
          message="the first call never ended")
    expect(page.locator("body")).to_have_attribute("data-connects", "2", timeout=4000)
    expect(page.locator("#connection")).to_have_text("Live")
    expect(tab.calls()).to_have_count(0)
    # after the reconnect: a new call shows once
    bob.auto_answer()
    alice.dial("1002")
    alice.wait_connected(to="1002")
    expect(tab.calls()).to_have_count(1)
    expect(tab.calls().first).to_contain_text("Bob")
    ids = page.evaluate("[...document.querySelectorAll('#call-list li')].map(li => li.dataset.call)")
    assert len(ids) == len(set(ids)) == 1


def test_keyboard_order_and_phone_width(api_site, console):
    tab = console(viewport=(390, 844))
    page, expect = tab.page, tab.expect
    expect(page.get_by_label("API token")).to_be_focused()
    page.keyboard.type(api_site.tokens["alice"])
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Sign in")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Number or extension")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Call", exact=True)).to_be_focused()
    # one column, nothing wider than the screen
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    carol = api_site.phone("1003")
    carol.dial("*70", variables={"referred_by_user": "1002"})
    orbit = api_site.orbit_of(carol)
    expect(tab.orbit(orbit)).to_contain_text("Carol")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    tab.shot("07-phone-width")
    # the stream is live for every panel: the tab signs out cleanly
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("API token")).to_be_focused()
    assert page.evaluate("sessionStorage.length") == 0


def test_an_admin_sees_every_call_and_acts_for_the_user_chosen(api_site, console):
    tab = console(api_site.tokens["admin"])
    page, expect = tab.page, tab.expect
    expect(page.locator("#whoami")).to_have_text("Admin")
    expect(page.locator("#calls-title")).to_have_text("Calls")
    alice, bob, _ = api_site.talking("1001", "1002")
    expect(tab.calls()).to_have_count(2)                  # Alice's leg and Bob's
    # placing a call rings a user's phone: the admin must say whose
    page.get_by_label("Number or extension").fill("1003")
    page.get_by_role("button", name="Call", exact=True).click()
    expect(tab.error).to_have_text("Call 1003: choose the user to act for first")
    page.get_by_label("Act for user").select_option("1003")
    carol = api_site.phone("1003")
    page.get_by_label("Number or extension").fill("1001")
    page.get_by_role("button", name="Call", exact=True).click()
    expect(tab.outcome).to_have_text("Calling 1001: Carol (1003)'s phone rings first")
    carol.wait_ringing()
