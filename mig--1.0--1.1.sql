/* mig--1.0--1.1.sql: from mig 1.0 to 1.1 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION mig UPDATE TO '1.1'" to load this file. \quit

------------------------------------------------------------------------------
-- The action counters always equal what commands holds:
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

------------------------------------------------------------------------------
-- The data's life after ingest: agent liveness, retention
-- (off unless mig.command_retention or mig.agent_retention is set) and MIG's
-- agent statistics; the worker runs them every mig.periodic_interval.
------------------------------------------------------------------------------

-- MIG's AgentsStats, one row per periodic run (MIG's own agents_stats).
CREATE TABLE agents_stats (
	taken_at timestamp with time zone PRIMARY KEY,
	online_agents bigint NOT NULL,
	online_agents_by_version json NOT NULL,
	online_endpoints bigint NOT NULL,
	idle_agents bigint NOT NULL,
	idle_agents_by_version json NOT NULL,
	idle_endpoints bigint NOT NULL,
	new_endpoints bigint NOT NULL,
	multi_agents_endpoints bigint NOT NULL,
	disappeared_endpoints bigint NOT NULL,
	flapping_endpoints bigint NOT NULL
);
SELECT pg_catalog.pg_extension_config_dump('agents_stats', '');

CREATE FUNCTION mig_agents_stats(
	OUT taken_at timestamp with time zone, OUT online_agents bigint,
	OUT online_agents_by_version json, OUT online_endpoints bigint,
	OUT idle_agents bigint, OUT idle_agents_by_version json, OUT idle_endpoints bigint,
	OUT new_endpoints bigint, OUT multi_agents_endpoints bigint,
	OUT disappeared_endpoints bigint, OUT flapping_endpoints bigint)
	RETURNS record
	AS 'MODULE_PATHNAME', 'mig_agents_stats'
	LANGUAGE C STABLE STRICT;

CREATE FUNCTION mig_purge(dry_run boolean DEFAULT true, max_rows bigint DEFAULT NULL)
	RETURNS TABLE(table_name text, rows bigint)
	AS 'MODULE_PATHNAME', 'mig_purge'
	LANGUAGE C VOLATILE ROWS 3;

CREATE FUNCTION mig_periodic()
	RETURNS TABLE(task text, rows bigint, took interval)
	AS 'MODULE_PATHNAME', 'mig_periodic'
	LANGUAGE C VOLATILE STRICT ROWS 8;

-- Queue locations with more than one live agent (MIG's ListMultiAgentsQueues):
-- heard from within one heartbeat period, agents in checkin mode aside.
CREATE VIEW mig_duplicate_agents AS
	SELECT a.queueloc, pg_catalog.count(*) AS agents,
		   pg_catalog.array_agg(a.id ORDER BY a.id) AS agent_ids
	  FROM @extschema@.agents AS a
	  LEFT JOIN @extschema@.agent_details AS d ON d.agentid OPERATOR(pg_catalog.=) a.id
	 WHERE a.heartbeattime OPERATOR(pg_catalog.>) (pg_catalog.now() OPERATOR(pg_catalog.-) coalesce(
			pg_catalog.current_setting('mig.agent_heartbeat_freq', true), '5min')::pg_catalog.interval)
	   AND coalesce(d.mode, '') OPERATOR(pg_catalog.<>) 'checkin'
	 GROUP BY a.queueloc
	HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>) 1;
-- (Names qualified in 1.2, as PostgreSQL did for CVE-2020-14350: the view
-- is the same, and binds no aggregate or operator of the update's path.)

REVOKE ALL ON agents_stats, mig_duplicate_agents FROM PUBLIC;
REVOKE ALL ON FUNCTION mig_agents_stats(), mig_purge(boolean, bigint), mig_periodic() FROM PUBLIC;

-- mig_worker_status shows the worker's last periodic run too.  (The view
-- and its function are made again: privileges granted on them in 1.0 must
-- be granted again, as README's Upgrading section says.)
DROP VIEW mig_worker_status;
DROP FUNCTION mig_worker_state();
CREATE FUNCTION mig_worker_state(
	OUT pid integer, OUT state text, OUT started_at timestamp with time zone,
	OUT last_pass timestamp with time zone, OUT last_full_pass timestamp with time zone,
	OUT files_per_sec double precision, OUT backlog bigint, OUT deferred bigint,
	OUT failed bigint, OUT files_total bigint, OUT last_error text,
	OUT last_error_at timestamp with time zone, OUT spool_dir text, OUT database text,
	OUT last_periodic timestamp with time zone, OUT last_periodic_took interval,
	OUT last_periodic_changed json)
	RETURNS record
	AS 'MODULE_PATHNAME', 'mig_worker_state'
	LANGUAGE C VOLATILE STRICT;
CREATE VIEW mig_worker_status AS
	SELECT pid, state, last_pass, files_per_sec, backlog, deferred, failed,
		   last_error, last_error_at, started_at, last_full_pass, files_total,
		   spool_dir, database, last_periodic, last_periodic_took, last_periodic_changed
	  FROM mig_worker_state();
REVOKE ALL ON mig_worker_status FROM PUBLIC;
REVOKE ALL ON FUNCTION mig_worker_state() FROM PUBLIC;

------------------------------------------------------------------------------
-- Targets: an action's target, a WHERE condition over the
-- agents, checked by PostgreSQL's parser and analyzer before it runs (one
-- condition, mig's relations only, pg_catalog's functions that change and
-- read nothing outside them), run read-only as the caller within
-- mig.target_timeout; and the plan of an action's commands.
------------------------------------------------------------------------------

CREATE FUNCTION mig_target_agents(target text) RETURNS SETOF numeric
	AS 'MODULE_PATHNAME', 'mig_target_agents'
	LANGUAGE C STABLE STRICT ROWS 1000;

-- VOLATILE: the authorization may record a verification
CREATE FUNCTION mig_action_targets(action_id numeric) RETURNS SETOF numeric
	AS 'MODULE_PATHNAME', 'mig_action_targets'
	LANGUAGE C VOLATILE STRICT ROWS 1000;

CREATE FUNCTION mig_action_plan(action_id numeric)
	RETURNS TABLE(agent_id numeric, agent_name text, queueloc text,
				  authorized boolean, reason text)
	AS 'MODULE_PATHNAME', 'mig_action_plan'
	LANGUAGE C VOLATILE STRICT ROWS 1000;

REVOKE ALL ON FUNCTION mig_target_agents(text), mig_action_targets(numeric),
	mig_action_plan(numeric) FROM PUBLIC;

------------------------------------------------------------------------------
-- The canonical string of an action held as jsonb: that of
-- its text form.  jsonb keeps one value per key and orders the keys itself,
-- so it equals mig_action_string(json) for an action whose objects give no
-- field twice (README says exactly when).  Another name, not an overload:
-- with both json and jsonb forms, mig_action_string('...') and an untyped
-- parameter would no longer resolve.
------------------------------------------------------------------------------

CREATE FUNCTION mig_action_string_jsonb(action jsonb) RETURNS text
	AS 'MODULE_PATHNAME', 'mig_action_string_jsonb'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
REVOKE ALL ON FUNCTION mig_action_string_jsonb(jsonb) FROM PUBLIC;

------------------------------------------------------------------------------
-- Without mig in shared_preload_libraries, CREATE EXTENSION succeeds but no
-- spool worker starts with the server: say so now, not at the first row
-- missing (a WARNING: PostgreSQL shows no NOTICE of an extension's script).
-- A fresh CREATE EXTENSION runs this script too (after mig--1.0.sql), and
-- so does the update from 1.0; a full script of a later version must do
-- the same.  The function is of no use afterwards: it goes again.
------------------------------------------------------------------------------

CREATE FUNCTION mig_preload_warning() RETURNS void
	AS 'MODULE_PATHNAME', 'mig_preload_warning' LANGUAGE C;
SELECT @extschema@.mig_preload_warning();
DROP FUNCTION mig_preload_warning();
