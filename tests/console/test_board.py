"""The console's live board: parks, retrieves and pickups done by the phones show within a
second, with no polling."""

from waiting import until

LIVE = 1000     # ms: "within a second"


def test_sign_in_then_a_park_by_phone_shows_on_the_board(api_site, console):
    tab = console(api_site.tokens["alice"])
    page, expect = tab.page, tab.expect
    expect(page.locator("#whoami")).to_have_text("Alice (1001)")
    expect(tab.orbit("7000")).to_have_class("orbit free")
    expect(tab.user("1002")).to_have_attribute("data-state", "idle")
    tab.shot("01-signed-in")

    carol = api_site.switch.register("1003", "Carol")
    carol.dial("*70", variables={"referred_by_user": "1002"})
    orbit = api_site.orbit_of(carol)
    cell = tab.orbit(orbit)
    expect(cell).to_contain_text("1003", timeout=LIVE)
    expect(cell).to_contain_text("Bob (1002)")          # who parked it
    expect(cell).to_contain_text("attempts0")
    expect(cell.locator(".due")).to_have_text(__import__("re").compile(r"^\d+ s$"))
    tab.shot("02-parked")


def test_retrieve_and_pickup_by_phones_show_within_a_second(api_site, console):
    tab = console(api_site.tokens["alice"])
    expect = tab.expect
    carol, bob, alice = api_site.phone("1003"), api_site.phone("1002"), api_site.phone("1001")
    carol.dial("*70", variables={"referred_by_user": "1002"})
    orbit = api_site.orbit_of(carol)
    expect(tab.orbit(orbit)).to_have_class("orbit occupied parked", timeout=LIVE)
    bob.auto_answer()
    bob.dial(orbit)                                  # Bob retrieves by dialling the orbit
    carol.wait_connected(to="1002")
    until(lambda: api_site.park.store.by_orbit(orbit) is None, 5, message="orbit never freed")
    expect(tab.orbit(orbit)).to_have_class("orbit free", timeout=LIVE)
    expect(tab.user("1002")).to_have_attribute("data-state", "talking", timeout=LIVE)
    bob.hangup()
    carol.wait_idle()
    expect(tab.user("1002")).to_have_attribute("data-state", "idle", timeout=LIVE)

    # a call rings for Bob: his group shows it; Alice's phone picks it up by dialling the group
    bob.ring_forever()
    carol.dial("1002")
    bob.wait_ringing()
    ringing = tab.page.locator('#groups [data-group="*8001"] li')
    expect(ringing).to_contain_text("Carol (1003) → Bob (1002)", timeout=LIVE)
    expect(tab.user("1002")).to_have_attribute("data-state", "ringing")
    tab.shot("03-group-ringing")
    alice.auto_answer()
    alice.dial("*8001")
    carol.wait_connected(to="1001")
    expect(ringing).to_have_count(0, timeout=LIVE)
    expect(tab.page.locator('#groups [data-group="*8001"]')).to_contain_text("Nothing ringing.")
    expect(tab.calls()).to_have_count(1, timeout=LIVE)          # Alice's own leg, talking
    expect(tab.calls().first).to_have_class("talking")
