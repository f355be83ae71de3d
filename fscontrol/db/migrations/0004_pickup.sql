-- Group Call Pickup membership changed at run time (`fscontrol pickup-group add|remove`), per
-- switch and user: the group the user is in now, or none (group_number NULL: taken out of the
-- group the TOML puts them in). A user with a row follows it; a user without one follows the
-- TOML [[pickup_groups]]. Read at every pickup, so a change takes effect at once.
CREATE TABLE pickup_assignments (
    switch       text NOT NULL,
    extension    text NOT NULL,
    group_number text,
    changed_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (switch, extension)
);
