/* mig--1.2.sql: the MIG data layer, version 1.2, in full */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION mig" to load this file. \quit

------------------------------------------------------------------------------
-- Where mig lives.  mig.control names the schema "mig": CREATE EXTENSION
-- makes it, owned by the installing superuser, when it does not exist.
-- The owner of a schema may drop what is in it (an index, say) and create
-- objects that shadow others, so a schema made beforehand by anyone else
-- would let that role replace what mig trusts: refuse it.
--
-- This script and its update scripts run as a superuser: every operator,
-- function and aggregate in them, and in the views, trigger conditions,
-- defaults and CHECKs they make, is pg_catalog's, named so where the
-- search_path could pick another.
------------------------------------------------------------------------------

DO $$
DECLARE
	nsp oid := '@extschema@'::pg_catalog.regnamespace;
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_namespace n
					 JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) n.nspowner
					WHERE n.oid OPERATOR(pg_catalog.=) nsp AND r.rolsuper)
	   OR EXISTS (SELECT FROM pg_catalog.pg_namespace n,
					 pg_catalog.aclexplode(n.nspacl) AS a
					WHERE n.oid OPERATOR(pg_catalog.=) nsp
					  AND a.grantee OPERATOR(pg_catalog.<>) n.nspowner
					  AND a.privilege_type OPERATOR(pg_catalog.=) 'CREATE')
	   OR EXISTS (SELECT FROM pg_catalog.pg_class c
					WHERE c.relnamespace OPERATOR(pg_catalog.=) nsp)
	   OR EXISTS (SELECT FROM pg_catalog.pg_proc p
					WHERE p.pronamespace OPERATOR(pg_catalog.=) nsp)
	   OR EXISTS (SELECT FROM pg_catalog.pg_operator o
					WHERE o.oprnamespace OPERATOR(pg_catalog.=) nsp)
	   OR EXISTS (SELECT FROM pg_catalog.pg_type t
					WHERE t.typnamespace OPERATOR(pg_catalog.=) nsp)
	THEN
		RAISE EXCEPTION USING
			ERRCODE = 'insufficient_privilege',
			MESSAGE = 'schema "@extschema@" is not one mig can trust',
			DETAIL = 'mig lives in a schema of its own, owned by a superuser, empty before CREATE EXTENSION, in which no other role may create objects.',
			HINT = 'Drop or rename the schema "@extschema@" that is there, then run CREATE EXTENSION mig again: it makes the schema itself.';
	END IF;
END
$$;

------------------------------------------------------------------------------
-- The seed's eight tables (MIG's data document, mig-data.rst): names, types,
-- NOT NULLs and foreign keys exactly as MIG defined them, and after them
-- the columns MIG's released code reads and writes (its database/schema.sql)
-- that the document predates.  What a deployment needs beyond that (unique
-- keys, indexes, CHECKs) is added below without renaming.
------------------------------------------------------------------------------

CREATE TABLE actions (
	id numeric PRIMARY KEY,
	name varchar(2048) NOT NULL,
	target varchar(2048) NOT NULL,
	description json,
	threat json,
	operations json,
	validfrom timestamp with time zone NOT NULL,
	expireafter timestamp with time zone NOT NULL,
	starttime timestamp with time zone,
	finishtime timestamp with time zone,
	lastupdatetime timestamp with time zone,
	status varchar(256),
	sentctr integer,
	returnedctr integer,
	donectr integer,
	cancelledctr integer,
	failedctr integer,
	timeoutctr integer,
	pgpsignatures json,
	syntaxversion integer
);

-- MIG's scheduler never writes os (NOT NULL in the seed): the trigger
-- agents_os below fills it in from the agent's environment.
CREATE TABLE agents (
	id numeric PRIMARY KEY,
	name varchar(2048) NOT NULL,
	queueloc varchar(2048) NOT NULL,
	os varchar(2048) NOT NULL,
	version varchar(2048) NOT NULL,
	pid integer NOT NULL,
	starttime timestamp with time zone NOT NULL,
	destructiontime timestamp with time zone,
	heartbeattime timestamp with time zone NOT NULL,
	status varchar(256),
	mode varchar(2048) NOT NULL DEFAULT '',
	refreshtime timestamp with time zone NOT NULL DEFAULT '0001-01-01 00:00:00+00',
	environment json,
	tags json,
	loadername varchar(2048),
	authorized boolean
);

CREATE TABLE commands (
	id numeric PRIMARY KEY NOT NULL,
	actionid numeric REFERENCES actions(id) NOT NULL,
	agentid numeric REFERENCES agents(id) NOT NULL,
	status varchar(256) NOT NULL,
	results json,
	starttime timestamp with time zone NOT NULL,
	finishtime timestamp with time zone
);

-- MIG numbers investigators from a sequence; publickey stays the seed's
-- text (an armored key; one MIG writes as bytea's hex text is decoded by
-- the trigger investigators_key); privatekey, apikey and apisalt are
-- secrets (the manual: roles and privileges).
CREATE SEQUENCE investigators_id_seq;
CREATE TABLE investigators (
	id numeric PRIMARY KEY NOT NULL
		DEFAULT pg_catalog.nextval('investigators_id_seq'::pg_catalog.regclass),
	name varchar(1024) NOT NULL,
	pgpfingerprint varchar(128),
	publickey varchar(65536),
	status varchar(255) NOT NULL DEFAULT 'active',
	createdat timestamp with time zone NOT NULL DEFAULT pg_catalog.now(),
	lastmodified timestamp with time zone NOT NULL DEFAULT pg_catalog.now(),
	permissions bigint NOT NULL DEFAULT 0,
	apikey bytea,
	apisalt bytea,
	privatekey bytea
);
ALTER SEQUENCE investigators_id_seq OWNED BY investigators.id;

CREATE TABLE signatures (
	actionid numeric REFERENCES actions(id) NOT NULL,
	investigatorid numeric REFERENCES investigators(id) NOT NULL,
	pgpsignature varchar(4096) NOT NULL
);

CREATE TABLE modules (
	id numeric PRIMARY KEY NOT NULL,
	name varchar(256) NOT NULL
);

CREATE TABLE agtmodreq (
	moduleid numeric REFERENCES modules(id) NOT NULL,
	agentid numeric REFERENCES agents(id) NOT NULL,
	minimumweight integer NOT NULL
);

CREATE TABLE invagtmodperm (
	investigatorid numeric REFERENCES investigators(id) NOT NULL,
	agentid numeric REFERENCES agents(id) NOT NULL,
	moduleid numeric REFERENCES modules(id) NOT NULL,
	weight integer NOT NULL
);

-- Unique keys a deployment relies on.
ALTER TABLE signatures
	ADD CONSTRAINT signatures_actionid_investigatorid_key UNIQUE (actionid, investigatorid);
ALTER TABLE agtmodreq
	ADD CONSTRAINT agtmodreq_moduleid_agentid_key UNIQUE (moduleid, agentid);
ALTER TABLE invagtmodperm
	ADD CONSTRAINT invagtmodperm_investigatorid_agentid_moduleid_key UNIQUE (investigatorid, agentid, moduleid);
-- (MIG's name: its API tells a duplicate key by this name in the error)
ALTER TABLE investigators
	ADD CONSTRAINT investigators_pgpfingerprint_idx UNIQUE (pgpfingerprint);
ALTER TABLE modules
	ADD CONSTRAINT modules_name_key UNIQUE (name);

-- Weights: a permission is never negative, a requirement is at least 1.
ALTER TABLE invagtmodperm
	ADD CONSTRAINT invagtmodperm_weight_check CHECK (weight OPERATOR(pg_catalog.>=) 0);
ALTER TABLE agtmodreq
	ADD CONSTRAINT agtmodreq_minimumweight_check CHECK (minimumweight OPERATOR(pg_catalog.>=) 1);

-- Indexes for the foreign keys not already led by a unique key, and for the
-- lookups the scheduler and the worker make.  MIG's schema.sql indexes the
-- same columns; those of its indexes not listed here are the leading
-- columns of a key above (signatures(actionid), agtmodreq(moduleid),
-- invagtmodperm(investigatorid), invagtmodperm(agentid)).
CREATE INDEX commands_actionid_idx ON commands (actionid);
CREATE INDEX commands_agentid_idx ON commands (agentid);
CREATE INDEX signatures_investigatorid_idx ON signatures (investigatorid);
CREATE INDEX agtmodreq_agentid_idx ON agtmodreq (agentid);
CREATE INDEX invagtmodperm_agentid_moduleid_idx ON invagtmodperm (agentid, moduleid);
CREATE INDEX invagtmodperm_moduleid_idx ON invagtmodperm (moduleid);
CREATE INDEX agents_queueloc_idx ON agents (queueloc);
CREATE INDEX agents_heartbeattime_idx ON agents (heartbeattime);
CREATE INDEX agents_starttime_idx ON agents (starttime);
CREATE INDEX agents_queueloc_pid_idx ON agents (queueloc, pid);
CREATE INDEX agents_status_idx ON agents (status);

------------------------------------------------------------------------------
-- MIG's loaders and manifests (its database/schema.sql): the API's tables.
-- loaderkey and salt are secrets (the manual: roles and privileges).
------------------------------------------------------------------------------

CREATE SEQUENCE loaders_id_seq;
CREATE TABLE loaders (
	id numeric PRIMARY KEY NOT NULL
		DEFAULT pg_catalog.nextval('loaders_id_seq'::pg_catalog.regclass),
	loadername varchar(256) NOT NULL,
	keyprefix varchar(256) NOT NULL,
	loaderkey bytea NOT NULL,
	salt bytea NOT NULL,
	name varchar(2048),
	env json,
	tags json,
	lastseen timestamp with time zone NOT NULL,
	enabled boolean NOT NULL DEFAULT false,
	expectenv varchar(2048),
	queueloc varchar(2048)
);
ALTER SEQUENCE loaders_id_seq OWNED BY loaders.id;
CREATE UNIQUE INDEX loaders_loadername_idx ON loaders (loadername);
CREATE UNIQUE INDEX loaders_loaderkey_idx ON loaders (loaderkey);
CREATE UNIQUE INDEX loaders_keyprefix_idx ON loaders (keyprefix);
CREATE UNIQUE INDEX loaders_queueloc_idx ON loaders (queueloc);

CREATE SEQUENCE manifests_id_seq;
CREATE TABLE manifests (
	id numeric PRIMARY KEY NOT NULL
		DEFAULT pg_catalog.nextval('manifests_id_seq'::pg_catalog.regclass),
	name varchar(256) NOT NULL,
	content text NOT NULL,
	"timestamp" timestamp with time zone NOT NULL,
	status varchar(255) NOT NULL,
	target varchar(2048) NOT NULL
);
ALTER SEQUENCE manifests_id_seq OWNED BY manifests.id;

CREATE TABLE manifestsig (
	manifestid numeric NOT NULL REFERENCES manifests(id),
	investigatorid numeric NOT NULL,
	pgpsignature varchar(4096) NOT NULL
);
CREATE UNIQUE INDEX manifestsig_manifestid_investigatorid_idx
	ON manifestsig (manifestid, investigatorid);

------------------------------------------------------------------------------
-- The library
------------------------------------------------------------------------------

CREATE FUNCTION mig_version() RETURNS text
	AS 'MODULE_PATHNAME', 'mig_version'
	LANGUAGE C STABLE STRICT PARALLEL SAFE;

------------------------------------------------------------------------------
-- The canonical signed string
------------------------------------------------------------------------------

-- The exact string MIG's investigators sign for an action (syntax version 2).
CREATE FUNCTION mig_action_string(action json) RETURNS text
	AS 'MODULE_PATHNAME', 'mig_action_string'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- That of an action held as jsonb (its text form); another name, not an
-- overload, so that mig_action_string('...') still resolves.
CREATE FUNCTION mig_action_string_jsonb(action jsonb) RETURNS text
	AS 'MODULE_PATHNAME', 'mig_action_string_jsonb'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

------------------------------------------------------------------------------
-- OpenPGP signatures and their record
------------------------------------------------------------------------------

CREATE FUNCTION mig_key_fingerprint(publickey text) RETURNS text
	AS 'MODULE_PATHNAME', 'mig_key_fingerprint'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION mig_verify_signature(data text, signature text, publickey text) RETURNS text
	AS 'MODULE_PATHNAME', 'mig_verify_signature'
	LANGUAGE C STABLE STRICT PARALLEL SAFE;

-- The keyring epoch: one row, set to a new value of the sequence by every
-- statement that changes investigators' keys, so that an epoch names
-- exactly one set of keys.  Verifications read it in the same snapshot as
-- the keys.
CREATE SEQUENCE keyring_epoch_seq;

CREATE TABLE keyring (
	onerow boolean PRIMARY KEY DEFAULT true CHECK (onerow),
	epoch bigint NOT NULL,
	changed_at timestamp with time zone
);
INSERT INTO keyring (epoch) VALUES (0);

-- The record of verified actions: the per-signature results of the last
-- verification of each action, used while digest (of the signed fields and
-- pgpsignatures), keyring (the epoch) and valid_until (the first expiry of a
-- key of a valid signature) still match.  A cache of what gpg said, not
-- user data: pg_dump dumps no rows of it.
CREATE TABLE verifications (
	actionid numeric PRIMARY KEY REFERENCES actions(id) ON DELETE CASCADE ON UPDATE CASCADE,
	digest bytea NOT NULL,
	keyring bigint NOT NULL,
	valid_until timestamp with time zone,
	signers numeric[] NOT NULL,
	investigator_ids numeric[] NOT NULL,
	fingerprints text[] NOT NULL,
	valid boolean[] NOT NULL,
	reasons text[] NOT NULL,
	verified_at timestamp with time zone NOT NULL
);

CREATE FUNCTION mig_verify_action(action_id numeric)
	RETURNS TABLE("position" int, investigator_id numeric, fingerprint text, valid boolean, reason text)
	AS 'MODULE_PATHNAME', 'mig_verify_action'
	LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE ROWS 2;

CREATE FUNCTION mig_pgp_stats()
	RETURNS TABLE(gpg_runs bigint, keys_imported bigint, from_cache bigint,
				  from_record bigint, with_gpg bigint, recorded bigint,
				  gnupg_directory text)
	AS 'MODULE_PATHNAME', 'mig_pgp_stats'
	LANGUAGE C VOLATILE PARALLEL RESTRICTED ROWS 1;

-- Staleness.  Investigators: a new keyring epoch before any key or status
-- changes; pgpfingerprint filled in from (and checked against) publickey;
-- a changed or removed key takes its recorded signatures with it.
CREATE FUNCTION mig_investigators_keyring() RETURNS trigger
	AS 'MODULE_PATHNAME', 'mig_investigators_keyring' LANGUAGE C;
CREATE FUNCTION mig_investigators_key() RETURNS trigger
	AS 'MODULE_PATHNAME', 'mig_investigators_key' LANGUAGE C;
CREATE TRIGGER investigators_keyring
	BEFORE INSERT OR UPDATE OF id, publickey, pgpfingerprint, status OR DELETE OR TRUNCATE
	ON investigators FOR EACH STATEMENT EXECUTE FUNCTION mig_investigators_keyring();
CREATE TRIGGER investigators_key
	BEFORE INSERT OR UPDATE OR DELETE ON investigators
	FOR EACH ROW EXECUTE FUNCTION mig_investigators_key();

-- Actions: a change of what is signed removes the record and the recorded
-- signatures (after the update, so after a verification holding the row has
-- committed); so do DELETE and a new id (before, for the foreign key).  The
-- condition compares text with pg_catalog's operator.
CREATE FUNCTION mig_actions_signed() RETURNS trigger
	AS 'MODULE_PATHNAME', 'mig_actions_signed' LANGUAGE C;
CREATE TRIGGER actions_signed_changed
	AFTER UPDATE OF name, target, validfrom, expireafter, operations, pgpsignatures ON actions
	FOR EACH ROW
	WHEN (OLD.name::pg_catalog.text IS DISTINCT FROM NEW.name::pg_catalog.text
		  OR OLD.target::pg_catalog.text IS DISTINCT FROM NEW.target::pg_catalog.text
		  OR OLD.validfrom IS DISTINCT FROM NEW.validfrom
		  OR OLD.expireafter IS DISTINCT FROM NEW.expireafter
		  OR OLD.operations::pg_catalog.text IS DISTINCT FROM NEW.operations::pg_catalog.text
		  OR OLD.pgpsignatures::pg_catalog.text IS DISTINCT FROM NEW.pgpsignatures::pg_catalog.text)
	EXECUTE FUNCTION mig_actions_signed();
CREATE TRIGGER actions_renumbered
	BEFORE UPDATE OF id ON actions
	FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id)
	EXECUTE FUNCTION mig_actions_signed();
CREATE TRIGGER actions_deleted
	BEFORE DELETE ON actions
	FOR EACH ROW EXECUTE FUNCTION mig_actions_signed();

-- Signatures changed by anything but a verification: the record goes.
CREATE FUNCTION mig_signatures_changed() RETURNS trigger
	AS 'MODULE_PATHNAME', 'mig_signatures_changed' LANGUAGE C;
CREATE TRIGGER signatures_changed
	AFTER INSERT OR UPDATE OR DELETE ON signatures
	FOR EACH ROW EXECUTE FUNCTION mig_signatures_changed();
CREATE TRIGGER signatures_truncated
	AFTER TRUNCATE ON signatures
	FOR EACH STATEMENT EXECUTE FUNCTION mig_signatures_changed();

------------------------------------------------------------------------------
-- The action counters always equal what commands holds: statement
-- triggers add what each INSERT, UPDATE or DELETE of commands changed,
-- whoever writes; TRUNCATE zeroes them; a new action starts at zero.
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

------------------------------------------------------------------------------
-- Authorization
------------------------------------------------------------------------------

-- VOLATILE: when the action's verification is missing or stale it is
-- verified (and recorded, when the transaction may) first.
CREATE FUNCTION mig_authorize(action_id numeric, agent_id numeric)
	RETURNS boolean
	AS 'MODULE_PATHNAME', 'mig_authorize'
	LANGUAGE C VOLATILE STRICT;

CREATE FUNCTION mig_authorize_explain(action_id numeric, agent_id numeric,
	OUT module text, OUT required_weight int, OUT granted_weight int,
	OUT signers numeric[], OUT authorized boolean, OUT reason text)
	RETURNS SETOF record
	AS 'MODULE_PATHNAME', 'mig_authorize_explain'
	LANGUAGE C VOLATILE STRICT ROWS 2;

-- Not STRICT: a NULL agent_ids means every agent.
CREATE FUNCTION mig_authorized_agents(action_id numeric, agent_ids numeric[] DEFAULT NULL)
	RETURNS SETOF numeric
	AS 'MODULE_PATHNAME', 'mig_authorized_agents'
	LANGUAGE C VOLATILE ROWS 1000;

------------------------------------------------------------------------------
-- Targets: an action's target, a WHERE condition over the agents, checked
-- before it runs, run read-only as the caller within mig.target_timeout;
-- and the plan of an action's commands.
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

------------------------------------------------------------------------------
-- Agents: heartbeats, and the os the seed asks for
------------------------------------------------------------------------------

-- Ids for agents whose heartbeat carries none and whose queue location is new.
CREATE SEQUENCE agent_id_seq;

CREATE FUNCTION mig_agent_heartbeat(heartbeat json) RETURNS numeric
	AS 'MODULE_PATHNAME', 'mig_agent_heartbeat'
	LANGUAGE C VOLATILE STRICT;

-- An agent written without os (MIG's scheduler never writes it) gets the
-- environment's "os", or an empty string.
CREATE FUNCTION mig_agents_os() RETURNS trigger
	AS 'MODULE_PATHNAME', 'mig_agents_os' LANGUAGE C;
CREATE TRIGGER agents_os
	BEFORE INSERT ON agents
	FOR EACH ROW WHEN (NEW.os IS NULL)
	EXECUTE FUNCTION mig_agents_os();

------------------------------------------------------------------------------
-- The spool and its worker
------------------------------------------------------------------------------

-- One row per spool file the sync has looked at: what it held and what became
-- of it.  (inode, size, mtime) is how a pass knows a file is unchanged.
CREATE TABLE spool_files (
	path text COLLATE "C" PRIMARY KEY,
	spool text NOT NULL,
	kind text NOT NULL
		CHECK (kind OPERATOR(pg_catalog.=) ANY (ARRAY['action', 'command'])),
	dir text NOT NULL
		CHECK (dir OPERATOR(pg_catalog.=) ANY (ARRAY['new', 'inflight', 'done', 'invalid', 'ready', 'returned'])),
	inode bigint,
	size bigint,
	mtime timestamp with time zone,
	outcome text NOT NULL
		CHECK (outcome OPERATOR(pg_catalog.=) ANY (ARRAY['ingested', 'unchanged', 'deferred', 'failed'])),
	error text,
	objectid numeric,
	synced_at timestamp with time zone NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX spool_files_attention_idx ON spool_files (spool, outcome, path)
	WHERE outcome OPERATOR(pg_catalog.=) ANY (ARRAY['deferred', 'failed']);

CREATE FUNCTION mig_spool_sync(spool_dir text DEFAULT NULL)
	RETURNS TABLE(scanned bigint, ingested bigint, unchanged bigint,
				  deferred bigint, failed bigint)
	AS 'MODULE_PATHNAME', 'mig_spool_sync'
	LANGUAGE C VOLATILE;

CREATE FUNCTION mig_worker_launch() RETURNS integer
	AS 'MODULE_PATHNAME', 'mig_worker_launch'
	LANGUAGE C VOLATILE STRICT;

CREATE FUNCTION mig_worker_state(
	OUT pid integer, OUT state text, OUT started_at timestamp with time zone,
	OUT last_pass timestamp with time zone, OUT last_full_pass timestamp with time zone,
	OUT files_per_sec double precision, OUT backlog bigint, OUT deferred bigint,
	OUT failed bigint, OUT files_total bigint, OUT last_error text,
	OUT last_error_at timestamp with time zone, OUT spool_dir text, OUT database text,
	OUT last_periodic timestamp with time zone, OUT last_periodic_took interval,
	OUT last_periodic_changed json, OUT scheduler_writes boolean, OUT filled bigint)
	RETURNS record
	AS 'MODULE_PATHNAME', 'mig_worker_state'
	LANGUAGE C VOLATILE STRICT;

CREATE VIEW mig_worker_status AS
	SELECT s.pid, s.state, s.last_pass, s.files_per_sec, s.backlog, s.deferred, s.failed,
		   s.last_error, s.last_error_at, s.started_at, s.last_full_pass, s.files_total,
		   s.spool_dir, s.database, s.last_periodic, s.last_periodic_took,
		   s.last_periodic_changed, s.scheduler_writes, s.filled
	  FROM @extschema@.mig_worker_state() AS s;

------------------------------------------------------------------------------
-- The data's life after ingest: agent liveness, retention (off unless
-- mig.command_retention or mig.agent_retention is set) and MIG's agent
-- statistics; the worker runs them every mig.periodic_interval.
------------------------------------------------------------------------------

-- MIG's AgentsStats, one row per periodic run: MIG's agents_stats, its
-- column names.
CREATE TABLE agents_stats (
	"timestamp" timestamp with time zone PRIMARY KEY,
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

CREATE FUNCTION mig_agents_stats(
	OUT "timestamp" timestamp with time zone, OUT online_agents bigint,
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
	 WHERE a.heartbeattime OPERATOR(pg_catalog.>) (pg_catalog.now() OPERATOR(pg_catalog.-)
			COALESCE(pg_catalog.current_setting('mig.agent_heartbeat_freq', true),
					 '5min')::pg_catalog.interval)
	   AND a.mode::pg_catalog.text OPERATOR(pg_catalog.<>) 'checkin'
	 GROUP BY a.queueloc
	HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>) 1;

------------------------------------------------------------------------------
-- pg_dump keeps the rows of every table of user data and the values of its
-- sequences.  The verification record (keyring, verifications) is a cache of
-- what gpg said, not user data: dumped empty (a restored record would name
-- the old cluster's keyring epochs), it is written again by the first
-- verification after a restore.  (In the order an update from 1.0 leaves
-- them.)
------------------------------------------------------------------------------

SELECT pg_catalog.pg_extension_config_dump('keyring_epoch_seq', '');
SELECT pg_catalog.pg_extension_config_dump('keyring', 'WHERE false');
SELECT pg_catalog.pg_extension_config_dump('verifications', 'WHERE false');
SELECT pg_catalog.pg_extension_config_dump('spool_files', '');
SELECT pg_catalog.pg_extension_config_dump('agent_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('actions', '');
SELECT pg_catalog.pg_extension_config_dump('agents', '');
SELECT pg_catalog.pg_extension_config_dump('commands', '');
SELECT pg_catalog.pg_extension_config_dump('investigators', '');
SELECT pg_catalog.pg_extension_config_dump('signatures', '');
SELECT pg_catalog.pg_extension_config_dump('modules', '');
SELECT pg_catalog.pg_extension_config_dump('agtmodreq', '');
SELECT pg_catalog.pg_extension_config_dump('invagtmodperm', '');
SELECT pg_catalog.pg_extension_config_dump('agents_stats', '');
SELECT pg_catalog.pg_extension_config_dump('investigators_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('loaders', '');
SELECT pg_catalog.pg_extension_config_dump('loaders_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('manifests', '');
SELECT pg_catalog.pg_extension_config_dump('manifests_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('manifestsig', '');

------------------------------------------------------------------------------
-- Privileges: nothing for PUBLIC.  Tables are owner-only already; functions
-- are executable by PUBLIC by default, so take that away.  The manual shows
-- the grants for each role.
------------------------------------------------------------------------------

DO $$
DECLARE
	obj record;
BEGIN
	FOR obj IN
		SELECT d.classid, d.objid
		  FROM pg_catalog.pg_depend d
		 WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass::pg_catalog.oid
		   AND d.refobjid OPERATOR(pg_catalog.=)
				(SELECT e.oid FROM pg_catalog.pg_extension e
				  WHERE e.extname OPERATOR(pg_catalog.=) 'mig'::pg_catalog.name)
		   AND d.deptype OPERATOR(pg_catalog.=) 'e'::pg_catalog."char"
	LOOP
		IF obj.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass::pg_catalog.oid THEN
			EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC',
									  obj.objid::pg_catalog.regprocedure::pg_catalog.text);
		ELSIF obj.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass::pg_catalog.oid THEN
			EXECUTE pg_catalog.format('REVOKE ALL ON %s FROM PUBLIC',
									  obj.objid::pg_catalog.regclass::pg_catalog.text);
		END IF;
	END LOOP;
END
$$;

------------------------------------------------------------------------------
-- Without mig in shared_preload_libraries, CREATE EXTENSION succeeds but no
-- spool worker starts with the server: say so now (a WARNING: PostgreSQL
-- shows no NOTICE of an extension's script).  The function is of no use
-- afterwards: it goes again.
------------------------------------------------------------------------------

CREATE FUNCTION mig_preload_warning() RETURNS void
	AS 'MODULE_PATHNAME', 'mig_preload_warning' LANGUAGE C;
SELECT @extschema@.mig_preload_warning();
DROP FUNCTION mig_preload_warning();
