"""Group Call Pickup test rig: the park rig's site (the example config's rendered dialplan in
the simulated switch, the controller with Call Park and Group Call Pickup, a fresh schema)."""

from park.conftest import base_config, make_site, migrated  # noqa: F401  (fixtures)
