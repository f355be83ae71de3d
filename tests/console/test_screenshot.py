"""The README's screenshot: the console at 1280×800 with a call of mine, a parked call and a call
ringing in my pickup group (build/screenshots/console.png; `make screenshots` shrinks it into
docs/console.png)."""


def test_docs_screenshot(api_site, console):
    tab = console(api_site.tokens["alice"])
    expect = tab.expect
    switch = api_site.switch
    acme = switch.register("5551234", "Acme Ltd")
    acme.dial("*70", variables={"referred_by_user": "1002"})
    orbit = api_site.orbit_of(acme)
    alice, carol, _ = api_site.talking("1001", "1003")
    bob, jane = api_site.phone("1002"), switch.register("5559876", "Jane Doe")
    bob.ring_forever()
    jane.dial("1002")
    bob.wait_ringing()
    expect(tab.orbit(orbit)).to_contain_text("Acme Ltd")
    expect(tab.page.locator('#groups [data-group="*8001"] li')).to_contain_text("Jane Doe")
    expect(tab.calls().first).to_have_class("talking")
    tab.page.keyboard.press("Escape")       # no focus ring in the picture
    path = tab.shot_viewport("console")
    assert path.stat().st_size > 0
    del alice, carol
