"""The systemd unit in deploy/ runs a command line fscontrol accepts, as the README says."""

import configparser
import shlex
from pathlib import Path

from fscontrol.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]


def _unit():
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string((ROOT / "deploy" / "fscontrol.service").read_text())
    return parser


def test_the_unit_runs_the_controller_as_its_own_user_with_secrets_from_the_environment():
    unit = _unit()
    service = unit["Service"]
    argv = shlex.split(service["ExecStart"])
    assert Path(argv[0]).name == "fscontrol"
    args = build_parser().parse_args(argv[1:])       # the options exist and parse
    assert args.command == "run" and args.log_format == "json"
    assert args.config == "/etc/fscontrol/fscontrol.toml"
    assert service["Restart"] == "always" and service["User"] == "fscontrol"
    assert service["EnvironmentFile"] == "/etc/fscontrol/fscontrol.env"
    for option in ("NoNewPrivileges", "ProtectHome", "PrivateTmp"):
        assert service[option] == "yes", option
    assert service["ProtectSystem"] == "strict"
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    env = (ROOT / "deploy" / "fscontrol.env.example").read_text()
    assert "FSCONTROL_ESL_PASSWORD=" in env and "DATABASE_URL=" in env
