-- Call Park rows belong to a switch (`switch.name`, by default "esl_host:esl_port"): controllers
-- of different switches may share this database, each reconciling, listing and allocating only
-- its own switch's rows. Orbits are per switch, as Lync's are per pool: the primary key becomes
-- (switch, orbit), so two switches may each have a call parked at 7001.
--
-- Rows parked before this migration have no known switch: they get '' ("unclaimed") and the first
-- controller to reconcile after the upgrade takes them all (before this migration only one
-- switch per database worked, so they are its rows). Until then an unclaimed row keeps its orbit
-- taken on every switch, so taking it over never collides with a newer row. The default also lets
-- a controller of the previous version, still running during an upgrade, insert rows.
ALTER TABLE parked_calls ADD COLUMN switch text NOT NULL DEFAULT '';
ALTER TABLE parked_calls DROP CONSTRAINT parked_calls_pkey;
ALTER TABLE parked_calls ADD PRIMARY KEY (switch, orbit);
-- controller_id now only says which controller process runs the row's timers (for operators);
-- nothing selects by it any more
DROP INDEX parked_calls_controller;
-- the call_log names the switch of a park event (NULL: before this migration, or another feature)
ALTER TABLE call_log ADD COLUMN switch text;
CREATE INDEX call_log_switch_orbit ON call_log (switch, orbit);
