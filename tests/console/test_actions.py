"""Every action of the console by click or key, its outcome, and its error path showing the
API's message."""

import re


def test_place_a_call_then_hang_up(api_site, console):
    tab = console(api_site.tokens["alice"])
    page, expect = tab.page, tab.expect
    alice, bob = api_site.phone("1001"), api_site.phone("1002")
    bob.auto_answer()
    page.get_by_label("Number or extension").fill("1002")
    page.get_by_label("Number or extension").press("Enter")
    expect(tab.outcome).to_have_text("Calling 1002: your phone rings first")
    alice.answer()
    bob.wait_connected(to="1001")
    call = tab.calls().first
    expect(call).to_have_class("talking")
    expect(call).to_contain_text("Bob")
    tab.shot("04-talking")
    call.get_by_role("button", name="Hang up").click()
    expect(tab.outcome).to_contain_text("Hung up")
    alice.wait_idle()
    bob.wait_idle()
    expect(tab.calls()).to_have_count(0)
    expect(page.locator("#no-calls")).to_be_visible()


def test_place_call_errors_show_the_api_message(api_site, console):
    tab = console(api_site.tokens["alice"])
    page, expect = tab.page, tab.expect
    page.get_by_label("Number or extension").fill("1")
    page.get_by_role("button", name="Call", exact=True).click()
    expect(tab.error).to_have_text(re.compile(r"^Call 1: destination: 1 is not a destination"))
    expect(tab.outcome).to_have_text("")
    page.get_by_label("Number or extension").fill("12ab")
    page.get_by_role("button", name="Call", exact=True).click()
    expect(tab.error).to_contain_text("destination:")
    tab.shot("05-error")
    # unregistered phone: the API's 409 says so
    page.get_by_label("Number or extension").fill("1002")
    page.get_by_role("button", name="Call", exact=True).click()
    expect(tab.error).to_contain_text("1001")


def test_park_my_call_then_retrieve_it_to_my_phone(api_site, console):
    tab = console(api_site.tokens["alice"])
    page, expect = tab.page, tab.expect
    alice, bob, cid = api_site.talking("1001", "1002")
    expect(tab.calls()).to_have_count(1)
    page.locator(f"#park-{cid}").click()
    expect(tab.outcome).to_have_text(re.compile(r"^Bob \(1002\) parked at orbit 70\d\d$"))
    orbit = tab.outcome.inner_text().rsplit(" ", 1)[-1]
    bob.wait_hearing("music")
    cell = tab.orbit(orbit)
    expect(cell).to_contain_text("Alice (1001)")        # parked by
    page.get_by_role("button", name=f"Retrieve orbit {orbit} to my phone").click()
    expect(tab.outcome).to_have_text(f"Orbit {orbit}: your phone rings, answer to take the call")
    alice.answer()
    bob.wait_connected(to="1001")
    expect(cell).to_have_class("orbit free")
    # retrieving an orbit that is empty by now: the API's message
    page.evaluate(f"retrieve('{orbit}')")
    expect(tab.error).to_have_text(f"Retrieve orbit {orbit}: no call is parked at orbit {orbit}")


def test_pick_up_by_click_and_its_error(api_site, console):
    tab = console(api_site.tokens["alice"])
    page, expect = tab.page, tab.expect
    alice, bob, carol = api_site.phone("1001"), api_site.phone("1002"), api_site.phone("1003")
    page.get_by_role("button", name="Pick up group *8001's longest-ringing call").click()
    expect(tab.error).to_have_text("Pick up group *8001: nothing is ringing for group *8001")
    bob.ring_forever()
    carol.dial("1002")
    bob.wait_ringing()
    page.get_by_role("button", name="Pick up Bob's ringing call").click()
    expect(tab.outcome).to_have_text("Your phone rings, answer to take the call")
    alice.answer()
    carol.wait_connected(to="1001")
    bob.wait_idle()


def test_transfer_my_call_by_key_and_its_error(api_site, console):
    tab = console(api_site.tokens["alice"])
    page, expect = tab.page, tab.expect
    alice, bob, cid = api_site.talking("1001", "1002")
    carol = api_site.phone("1003")
    carol.ring_forever()
    expect(tab.calls()).to_have_count(1)
    expect(tab.calls().first).to_have_class("talking")
    page.keyboard.press("Escape")                   # out of the number field
    page.keyboard.press("t")                 # the key focuses the transfer field
    target = page.locator(f"#transfer-to-{cid}")
    expect(target).to_be_focused()
    target.fill("12x")
    page.locator(f"#transfer-{cid}").click()
    expect(tab.error).to_contain_text("target")
    target.fill("1003")
    page.locator(f"#transfer-{cid}").click()
    expect(tab.outcome).to_have_text("Bob (1002) transferred to Carol (1003)")
    carol.wait_ringing()
    alice.wait_idle()
    expect(tab.calls()).to_have_count(0)


def test_keys_without_a_call_say_so(api_site, console):
    tab = console(api_site.tokens["alice"])
    page, expect = tab.page, tab.expect
    page.keyboard.press("Escape")                   # out of the number field
    page.keyboard.press("p")
    expect(tab.error).to_have_text("Park: you have no call to park")
    page.keyboard.press("r")
    expect(tab.error).to_have_text("Retrieve: no call is parked")
    page.keyboard.press("c")
    expect(page.get_by_label("Number or extension")).to_be_focused()
