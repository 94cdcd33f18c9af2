/* mig--1.0--1.1.sql: from mig 1.0 to 1.1 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION mig UPDATE TO '1.1'" to load this file. \quit

------------------------------------------------------------------------------
-- The action counters always equal what commands holds (src/counters.c):
-- statement triggers add what each INSERT, UPDATE or DELETE of commands
-- changed (from its transition tables), whoever writes; TRUNCATE zeroes
-- them; a new action starts at zero (it has no commands yet: this is also
-- what keeps a restored dump's counters true).  mig_recount() recounts from
-- commands on demand.
------------------------------------------------------------------------------

CREATE FUNCTION mig_commands_counted() RETURNS trigger
	AS 'MODULE_PATHNAME', 'mig_commands_counted' LANGUAGE C;

CREATE FUNCTION mig_actions_counted() RETURNS trigger
	AS 'MODULE_PATHNAME', 'mig_actions_counted' LANGUAGE C;

CREATE TRIGGER actions_counted
	BEFORE INSERT ON actions
	FOR EACH ROW EXECUTE FUNCTION mig_actions_counted();
CREATE TRIGGER commands_counted_insert
	AFTER INSERT ON commands REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION mig_commands_counted();
CREATE TRIGGER commands_counted_update
	AFTER UPDATE ON commands REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION mig_commands_counted();
CREATE TRIGGER commands_counted_delete
	AFTER DELETE ON commands REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION mig_commands_counted();
CREATE TRIGGER commands_counted_truncate
	AFTER TRUNCATE ON commands
	FOR EACH STATEMENT EXECUTE FUNCTION mig_commands_counted();

CREATE FUNCTION mig_recount(action_id numeric DEFAULT NULL) RETURNS bigint
	AS 'MODULE_PATHNAME', 'mig_recount'
	LANGUAGE C VOLATILE;

-- 1.0 recounted only for the spool sync: make every counter true once.
SELECT @extschema@.mig_recount();

-- Nothing for PUBLIC, as for every function of 1.0.
REVOKE ALL ON FUNCTION mig_commands_counted() FROM PUBLIC;
REVOKE ALL ON FUNCTION mig_actions_counted() FROM PUBLIC;
REVOKE ALL ON FUNCTION mig_recount(numeric) FROM PUBLIC;
