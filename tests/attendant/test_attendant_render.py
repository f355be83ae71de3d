"""The rendered dialplan for attendants: one extension per number, answering and parking with
the contract's variables, before the users' extension, validated like every other one."""

import dataclasses

import pytest

from fscontrol.config import load
from fscontrol.config.model import Attendant
from fscontrol.errors import ConfigError
from fscontrol.render import contract, render_files


def test_each_attendant_number_answers_and_parks_for_the_controller():
    config = load("tests/live/fscontrol.toml", env={})
    xml = render_files(config)[contract.DIALPLAN_FILE]
    for number in ("8000", "8001"):
        block = xml[xml.index(f'name="fscontrol-attendant-{number}"'):]
        block = block[:block.index("</extension>")]
        assert f'expression="^{number}$"' in block
        assert f'data="{contract.VAR_ACTION}={contract.ACTION_ATTENDANT}"' in block
        assert f'data="{contract.VAR_ATTENDANT}={number}"' in block
        assert block.index('application="answer"') < block.index('application="park"')
    assert xml.index("fscontrol-attendant-8001") < xml.index('name="fscontrol-users"')


def test_a_prefixed_number_is_escaped_in_its_expression():
    config = load("tests/live/fscontrol.toml", env={})
    config = dataclasses.replace(config, attendants=(
        Attendant(number="*555", time_zone="UTC", on_failure="disconnect"),))
    xml = render_files(config)[contract.DIALPLAN_FILE]
    assert 'expression="^\\*555$"' in xml


def test_render_refuses_an_attendant_on_a_pickup_number():
    config = load("tests/live/fscontrol.toml", env={})
    config = dataclasses.replace(config, attendants=(
        Attendant(number="*8005", time_zone="UTC", on_failure="disconnect"),))
    with pytest.raises(ConfigError, match=r"attendants\[0\]\.number.*orbit of orbits\[1\]"):
        render_files(config)
