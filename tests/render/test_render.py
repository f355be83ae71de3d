"""Rendering: the committed golden output, escaping of every config string, each validation error, scale."""

import dataclasses
from collections import Counter
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from fscontrol.config import load, parse
from fscontrol.config.model import MusicClass, User
from fscontrol.errors import ConfigError, RenderError
from fscontrol.render import render_files, render_to
from fscontrol.render import contract, validate

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "fscontrol.example.toml"


@pytest.fixture(scope="module")
def example():
    return load(EXAMPLE, env={})


def test_committed_dialplan_is_up_to_date(example, tmp_path):
    written = render_to(example, tmp_path)
    assert sorted(p.name for p in written) == sorted(contract.FILES)
    for path in written:
        committed = ROOT / "dialplan" / path.name
        assert committed.exists() and committed.read_bytes() == path.read_bytes(), \
            f"dialplan/ is stale: run make render ({path.name} differs)"
    extra = {p.name for p in (ROOT / "dialplan").iterdir()} - set(contract.FILES)
    assert not extra, f"dialplan/ holds files render does not produce: {extra}"


def _actions(text):
    root = ET.fromstring(text)
    return [(ext.get("name"), a.get("application"), a.get("data"))
            for ext in root.iter("extension") for a in ext.iter("action")]


def test_example_dialplan_contract(example):
    actions = _actions(render_files(example)[contract.DIALPLAN_FILE])
    by_ext = {}
    for ext, app, data in actions:
        by_ext.setdefault(ext, []).append((app, data))
    assert by_ext["fscontrol-orbits-7000-7099"] == [
        ("set", "fscontrol_action=retrieve"), ("set", "fscontrol_orbit=$1"), ("answer", None), ("park", None)]
    assert by_ext["fscontrol-park"] == [("set", "fscontrol_action=park"), ("answer", None), ("park", None)]
    users = dict(by_ext["fscontrol-users"])
    assert users["bind_meta_app"] == "1 ab s execute_extension::fscontrol_park_dtmf XML default"
    assert users["bridge"] == "user/$1@$${domain}"
    apps = [app for app, _ in by_ext["fscontrol-users"]]
    assert apps.index("bind_meta_app") < apps.index("bridge")  # bound before every bridge


PAYLOADS = ['"/><action application="system" data="touch /tmp/x"/>',
            "${system(touch /tmp/x)}", "$${system(touch /tmp/x)}",
            'x" expression=".*', "a\\${x}", "<X-PRE-PROCESS cmd=\"exec\" data=\"id\"/>",
            "]]><!--", "x-pre-process", "<?xml", "\\$1, ${a}"]


def _string_fields(obj, path=""):
    """(key path, setter) for every str field in the config, including arrays of tables."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        key = f"{path}.{f.name}" if path else f.name
        if isinstance(value, str):
            yield key, (lambda o, n=f.name: (lambda v: dataclasses.replace(o, **{n: v})))(obj)
        elif dataclasses.is_dataclass(value):
            for sub, setter in _string_fields(value, key):
                yield sub, (lambda s=setter, n=f.name: lambda v: dataclasses.replace(obj, **{n: s(v)}))()
        elif isinstance(value, tuple):
            for i, item in enumerate(value):
                if isinstance(item, str):
                    yield f"{key}[{i}]", (lambda n=f.name, i=i: lambda v: dataclasses.replace(
                        obj, **{n: getattr(obj, n)[:i] + (v,) + getattr(obj, n)[i + 1:]}))()
                elif dataclasses.is_dataclass(item):
                    for sub, setter in _string_fields(item, f"{key}[{i}]"):
                        yield sub, (lambda s=setter, n=f.name, i=i: lambda v: dataclasses.replace(
                            obj, **{n: getattr(obj, n)[:i] + (s(v),) + getattr(obj, n)[i + 1:]}))()


def _dollars(text):
    root = ET.fromstring(text)
    return sorted(m for e in root.iter() for v in e.attrib.values() for m in re.findall(r"\$+\{[^}]*\}", v))


def test_every_string_field_is_escaped_or_refused(example):
    baseline = render_files(example)
    fields = list(_string_fields(example))
    assert len(fields) > 25
    rendered = refused = 0
    for key, setter in fields:
        for payload in PAYLOADS:
            config = setter(payload)
            assert config != example
            try:
                files = render_files(config)
            except (ConfigError, RenderError) as e:
                paths = [p for p, _ in e.problems]
                assert any(p and (key == p or key.startswith(p + ".") or key.startswith(p + "["))
                           for p in paths), (key, payload, e.problems)
                refused += 1
                continue
            rendered += 1
            for name, text in files.items():
                assert "application=\"system\"" not in text
                base = [(e, a) for e, a, _ in _actions(baseline[name])]
                assert [(e, a) for e, a, _ in _actions(text)] == base, (key, payload)
                # no variable reference beyond the baseline's (a replaced value may remove one)
                assert not Counter(_dollars(text)) - Counter(_dollars(baseline[name])), (key, payload)
                assert [el.tag for el in ET.fromstring(text).iter()] == \
                    [el.tag for el in ET.fromstring(baseline[name]).iter()], (key, payload)
    assert rendered and refused


def test_fields_that_reach_xml_are_escaped_not_refused(example):
    """A safe but XML-special value renders, escaped."""
    config = dataclasses.replace(example, switch=dataclasses.replace(
        example.switch, user_dial_string="{sip_h_X-Who='A & B <c>'}user/{ext}@{domain}"))
    text = render_files(config)[contract.DIALPLAN_FILE]
    assert "{sip_h_X-Who=&#39;A &amp; B &lt;c&gt;&#39;}user/$1@$${domain}" in text
    assert dict((a, d) for _, a, d in _actions(text))["bridge"] == \
        "{sip_h_X-Who='A & B <c>'}user/$1@$${domain}"


@pytest.mark.parametrize("field, value, key", [
    ("context", "my context", "switch.context"),
    ("domain", "pbx.example.com/${x}", "switch.domain"),
    ("domain", "$${domain}.evil", "switch.domain"),
    ("user_dial_string", "${sofia_contact({ext}@{domain})}", "switch.user_dial_string"),
    ("user_dial_string", "user/{ext}@{domain}$", "switch.user_dial_string"),
])
def test_unsafe_switch_values_are_refused_with_key_path(example, field, value, key):
    config = dataclasses.replace(example, switch=dataclasses.replace(example.switch, **{field: value}))
    with pytest.raises(RenderError) as e:
        render_files(config)
    assert e.value.id == "invalid-render"
    assert [p for p, _ in e.value.problems] == [key]


def test_allowed_variable_forms(example):
    # the dial string may use $${name} only: the ring-back, which has no calling channel, asks
    # the switch for a global variable but could not expand a channel variable ${name}
    for domain in ("pbx.example.com", "$${domain}", "${domain_name}"):
        config = dataclasses.replace(example, switch=dataclasses.replace(
            example.switch, domain=domain, user_dial_string="{sip_h_X-Site=$${site}}user/{ext}@{domain}"))
        assert f"{{sip_h_X-Site=$${{site}}}}user/$1@{domain}" in render_files(config)[contract.DIALPLAN_FILE]


def test_music_directory_allows_only_preprocessor_variables(example):
    config = dataclasses.replace(example, music_classes=(MusicClass("moh2", "/music/${x}"),))
    with pytest.raises(RenderError) as e:
        render_files(config)
    assert e.value.problems[0][0] == "music_classes[0].directory"


def test_invalid_config_is_a_config_error(example):
    config = dataclasses.replace(example, users=(User("12x"),))
    with pytest.raises(ConfigError) as e:
        render_files(config)
    assert e.value.problems[0][0] == "users[0].extension"


def test_shadowed_orbit_is_an_error(example):
    # valid config, but "**" + user 100 == "*7100"... with directed pickup "*7", orbit *7100 is dialled
    # as directed pickup of extension 100 first: that orbit could never be retrieved.
    config = parse({
        "features": {"directed_pickup": "*7"},
        "park": {"code": "*90"},
        "users": [{"extension": "100"}],
        "orbits": [{"name": "p", "kind": "park", "start": "*7100", "end": "*7199"}],
    }, env={})
    with pytest.raises(RenderError) as e:
        render_files(config)
    (where, message), = e.value.problems
    assert where == 'dialplan.xml: extension "fscontrol-orbits-*7100-*7199"'
    assert message == 'never reached for "*7100": extension "fscontrol-directed-pickup" before it matches that number'


def _ext(name, expression, *actions):
    acts = "".join(f'<action application="{a}"/>' for a in actions or ("park",))
    return (f'<extension name="{name}"><condition field="destination_number" expression="{expression}">'
            f'{acts}</condition></extension>')


def _check(body, name=contract.DIALPLAN_FILE):
    with pytest.raises(RenderError) as e:
        validate.check({name: "<include>\n" + body + "\n</include>\n"})
    return e.value.problems


def test_validation_rejects_malformed_xml():
    (where, message), = _check("<extension name='a'>")
    assert where == "dialplan.xml" and message.startswith("not well-formed XML")


def test_validation_rejects_a_regex_that_does_not_compile():
    (where, message), = _check(_ext("bad", "^(70[0-9]$"))
    assert where == 'dialplan.xml: extension "bad"' and "does not compile" in message


def test_validation_rejects_shadowed_extensions():
    problems = _check(_ext("all-7", "^7\\d+$") + _ext("orbits", "^(70[0-9]{2})$"))
    assert problems == [('dialplan.xml: extension "orbits"',
                         'never reached for "7000": extension "all-7" before it matches that number')]


def test_continue_extensions_do_not_shadow():
    validate.check({contract.DIALPLAN_FILE: "<include>\n" + _ext("a", "^7\\d+$").replace(
        "<extension ", '<extension continue="true" ') + _ext("b", "^(70[0-9]{2})$") + "\n</include>\n"})


def test_validation_rejects_duplicate_extension_names():
    problems = _check(_ext("a", "^1$") + _ext("a", "^2$"))
    assert problems == [('dialplan.xml: extension "a"', "the name is used twice")]


def test_validation_rejects_preprocessor_lines():
    problems = _check("<!-- <X-PRE-PROCESS cmd=\"include\" data=\"x\"/> -->\n" + _ext("a", "^1$"))
    assert problems[0][0] == "dialplan.xml:2"


def test_validation_rejects_expanding_dollars():
    problems = _check('<extension name="a"><condition field="destination_number" expression="^1$">'
                      '<action application="set" data="x=${system(id)}"/></condition></extension>')
    assert problems[0][0] == 'dialplan.xml: extension "a"' and "$" in problems[0][1]


def test_validation_rejects_unanalysable_regex():
    (where, message), = _check(_ext("a", "^(?!6000)60\\d{2}$"))
    assert "cannot be checked for shadowing" in message


def test_validation_rejects_duplicate_music_class():
    d = '<directory name="m" path="/x"/>'
    problems = _check(d + d, contract.LOCAL_STREAM_FILE)
    assert problems == [("local_stream.xml", 'music class "m" is defined twice')]


def test_nothing_is_written_when_validation_fails(tmp_path, example):
    config = dataclasses.replace(example, switch=dataclasses.replace(example.switch, context="a b"))
    with pytest.raises(RenderError):
        render_to(config, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_fifty_thousand_orbits_render_compactly():
    orbits = [{"name": f"r{i}", "kind": "park", "start": f"{i}0000", "end": f"{i}9999"}
              for i in range(2, 7)]
    config = parse({"orbits": orbits, "users": [{"extension": f"{1000 + i}"} for i in range(500)]}, env={})
    assert sum(r.numbers.size for r in config.orbits) == 50_000
    files = render_files(config)
    text = files[contract.DIALPLAN_FILE]
    assert len(text) < 8000, len(text)
    assert text.count("<extension ") == 5 + 5  # one per range, plus dtmf, park, voicemail, pickup, users
    exprs = [e.get("expression") for e in ET.fromstring(text).iter("condition")]
    assert "^([2-6][0-9]{4})$" not in exprs  # ranges stay separate extensions
    assert any(re.fullmatch(x, "59999") for x in exprs) and not any(re.fullmatch(x, "79999") for x in exprs[4:9])


# --- scale: the shadowing check and the range rules are near-linear (issue 11, item 10) --------

class _Budget:
    """Counts calls of the pairwise comparisons and fails as soon as there are more than
    `limit`: comparing every pair of 3,000 ranges is millions of calls (it never finished)."""

    def __init__(self, monkeypatch, limit):
        from fscontrol.config.numbers import NumberRange
        from fscontrol.render.lang import Language
        self.calls = Counter()
        for cls, name in ((Language, "common"), (NumberRange, "overlaps"), (NumberRange, "contains")):
            original = getattr(cls, name)

            def counted(*args, _original=original, _name=name, **kwargs):
                self.calls[_name] += 1
                if self.calls[_name] > limit:
                    raise AssertionError(f"more than {limit} calls of {_name}: pairwise, not linear")
                return _original(*args, **kwargs)
            monkeypatch.setattr(cls, name, counted)


def _single_orbit_ranges(n, start=10000, prefix=""):
    return [{"name": f"r{i}", "kind": "park", "start": f"{prefix}{start + 2 * i}",
             "end": f"{prefix}{start + 2 * i}", "fallback": "1000"} for i in range(n)]


def test_three_thousand_ranges_check_without_comparing_every_pair(monkeypatch):
    budget = _Budget(monkeypatch, limit=3000)
    users = [{"extension": str(2000 + i)} for i in range(300)]
    config = parse({"orbits": _single_orbit_ranges(3000), "users": users}, env={})
    files = render_files(config)
    assert files[contract.DIALPLAN_FILE].count("<extension ") == 3000 + 5
    assert budget.calls["common"] == 0  # every generated expression is a finite set of numbers


def test_problems_are_still_found_among_thousands_of_ranges(monkeypatch):
    _Budget(monkeypatch, limit=3000)
    orbits = _single_orbit_ranges(3000)
    orbits[2500] = {**orbits[2500], "start": "10010", "end": "10013"}      # overlaps r5 and r6
    orbits[2999] = {**orbits[2999], "start": "2001", "end": "2001"}        # a user's extension
    orbits[1500] = {**orbits[1500], "fallback": "10400"}                   # an orbit of r200
    data = {"orbits": orbits, "users": [{"extension": "2001"}]}
    with pytest.raises(ConfigError) as e:
        parse(data, env={})
    lines = e.value.lines()
    assert 'orbits[2500]: "10010".."10013" overlaps orbits[5] ("10010".."10010")' in lines
    assert 'orbits[2500]: "10010".."10013" overlaps orbits[6] ("10012".."10012")' in lines
    assert 'orbits[2999]: orbit "2001" collides with users[0].extension' in lines
    assert any(line.startswith('orbits[1500].fallback: "10400" is an orbit of orbits[200]') for line in lines)
    assert len(lines) == 4, lines


def test_a_shadowed_orbit_is_found_among_thousands_of_ranges(monkeypatch):
    _Budget(monkeypatch, limit=3000)
    config = parse({
        "features": {"directed_pickup": "*7"}, "park": {"code": "*90"},
        "users": [{"extension": "1100"}],
        "orbits": _single_orbit_ranges(3000, start=20000, prefix="*") + [
            {"name": "late", "kind": "park", "start": "*71100", "end": "*71100"}],
    }, env={})
    with pytest.raises(RenderError) as e:
        render_files(config)
    assert e.value.problems == [('dialplan.xml: extension "fscontrol-orbits-*71100-*71100"',
                                 'never reached for "*71100": extension "fscontrol-directed-pickup" '
                                 'before it matches that number')]


def test_an_unbounded_expression_after_thousands_of_finite_ones_is_still_compared(monkeypatch):
    _Budget(monkeypatch, limit=3000)
    body = "".join(_ext(f"n{i}", f"^(8{i:04d})$") for i in range(3000))
    problems = _check(body + _ext("orbits", "^(70[0-9]{2})$") + _ext("all-7", "^7\\d+$"))
    assert problems == [('dialplan.xml: extension "all-7"',
                         'never reached for "7000": extension "orbits" before it matches that number')]


def test_range_index_agrees_with_comparing_every_pair():
    import random

    from fscontrol.config.numbers import NumberRange, RangeIndex
    rnd = random.Random(11)
    for _ in range(200):
        ranges = []
        for i in range(rnd.randint(0, 12)):
            first = rnd.randint(0, 40)
            ranges.append((i, NumberRange(rnd.choice(["", "*"]), rnd.choice([2, 3]), first,
                                          first + rnd.randint(0, 8))))
        index = RangeIndex(ranges)
        expected = [(i, j) for i, a in ranges for j, b in ranges if j < i and a.overlaps(b)]
        assert index.overlaps() == expected
        for number in ("05", "*012", "17", "*40", "040", "x1"):
            assert index.find(number) == [i for i, r in ranges if r.contains(number)], number
