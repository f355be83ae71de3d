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
