/* mig--1.1--1.2.sql: from mig 1.1 to 1.2 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION mig UPDATE TO '1.2'" to load this file. \quit

------------------------------------------------------------------------------
-- This script runs as a superuser with the extension's old schema (often
-- public, which the database's owner controls) first on its search_path:
-- every operator, function, aggregate and relation in it is named with its
-- schema, pg_catalog's or mig's, so that nothing planted there is called
-- or bound into what it makes.
------------------------------------------------------------------------------

------------------------------------------------------------------------------
-- 1.2 lives in a schema of its own, "mig", owned by a superuser, in which
-- no other role may create anything: the owner of a schema may drop what
-- is in it and shadow it.  Every object of the extension moves there with
-- its rows, privileges and dependents (indexes, constraints, triggers);
-- the extension's schema becomes "mig".
------------------------------------------------------------------------------

DO $$
DECLARE
	old_nsp oid := '@extschema@'::pg_catalog.regnamespace;
	new_nsp oid;
	ext oid;
	obj record;
BEGIN
	SELECT e.oid INTO ext FROM pg_catalog.pg_extension e
	 WHERE e.extname OPERATOR(pg_catalog.=) 'mig'::pg_catalog.name;
	SELECT n.oid INTO new_nsp FROM pg_catalog.pg_namespace n
	 WHERE n.nspname OPERATOR(pg_catalog.=) 'mig'::pg_catalog.name;
	IF new_nsp IS NULL THEN
		-- as CREATE EXTENSION makes it for a fresh 1.2: the schema is not a
		-- member (pg_dump makes it before the extension)
		CREATE SCHEMA mig;
		ALTER EXTENSION mig DROP SCHEMA mig;
		new_nsp := 'mig'::pg_catalog.regnamespace;
	END IF;

	-- the schema must be one no other role can write: a superuser's, no
	-- CREATE granted, and (when it is not already mig's) empty
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_namespace n
					 JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) n.nspowner
					WHERE n.oid OPERATOR(pg_catalog.=) new_nsp AND r.rolsuper)
	   OR EXISTS (SELECT FROM pg_catalog.pg_namespace n,
					 pg_catalog.aclexplode(n.nspacl) AS a
					WHERE n.oid OPERATOR(pg_catalog.=) new_nsp
					  AND a.grantee OPERATOR(pg_catalog.<>) n.nspowner
					  AND a.privilege_type OPERATOR(pg_catalog.=) 'CREATE')
	   OR (new_nsp OPERATOR(pg_catalog.<>) old_nsp
		   AND (EXISTS (SELECT FROM pg_catalog.pg_class c
						 WHERE c.relnamespace OPERATOR(pg_catalog.=) new_nsp)
				OR EXISTS (SELECT FROM pg_catalog.pg_proc p
							WHERE p.pronamespace OPERATOR(pg_catalog.=) new_nsp)
				OR EXISTS (SELECT FROM pg_catalog.pg_operator o
							WHERE o.oprnamespace OPERATOR(pg_catalog.=) new_nsp)
				OR EXISTS (SELECT FROM pg_catalog.pg_type t
							WHERE t.typnamespace OPERATOR(pg_catalog.=) new_nsp)))
	THEN
		RAISE EXCEPTION USING
			ERRCODE = 'insufficient_privilege',
			MESSAGE = 'schema "mig" is not one mig can trust',
			DETAIL = 'mig 1.2 lives in a schema "mig" of its own, owned by a superuser, in which no other role may create objects.',
			HINT = 'Drop or rename the schema "mig" that is there (or give it to a superuser, empty, and revoke CREATE on it), then update again.';
	END IF;

	IF new_nsp OPERATOR(pg_catalog.<>) old_nsp THEN
		-- tables take their indexes, constraints, triggers and row types
		-- along; no sequence of 1.1 belongs to a column
		FOR obj IN
			SELECT d.classid, d.objid, c.relkind
			  FROM pg_catalog.pg_depend d
			  LEFT JOIN pg_catalog.pg_class c
				ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass::pg_catalog.oid
			   AND c.oid OPERATOR(pg_catalog.=) d.objid
			 WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass::pg_catalog.oid
			   AND d.refobjid OPERATOR(pg_catalog.=) ext
			   AND d.deptype OPERATOR(pg_catalog.=) 'e'::pg_catalog."char"
			 ORDER BY d.classid, d.objid
		LOOP
			IF obj.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass::pg_catalog.oid THEN
				EXECUTE pg_catalog.format('ALTER FUNCTION %s SET SCHEMA mig',
										  obj.objid::pg_catalog.regprocedure::pg_catalog.text);
			ELSIF obj.relkind OPERATOR(pg_catalog.=) 'r'::pg_catalog."char" THEN
				EXECUTE pg_catalog.format('ALTER TABLE %s SET SCHEMA mig',
										  obj.objid::pg_catalog.regclass::pg_catalog.text);
			ELSIF obj.relkind OPERATOR(pg_catalog.=) 'S'::pg_catalog."char" THEN
				EXECUTE pg_catalog.format('ALTER SEQUENCE %s SET SCHEMA mig',
										  obj.objid::pg_catalog.regclass::pg_catalog.text);
			ELSIF obj.relkind OPERATOR(pg_catalog.=) 'v'::pg_catalog."char" THEN
				EXECUTE pg_catalog.format('ALTER VIEW %s SET SCHEMA mig',
										  obj.objid::pg_catalog.regclass::pg_catalog.text);
			ELSE
				RAISE EXCEPTION 'mig 1.1 has no member like %',
					pg_catalog.pg_describe_object(obj.classid, obj.objid, 0);
			END IF;
		END LOOP;

		-- what ALTER EXTENSION ... SET SCHEMA records, for a extension that
		-- is not relocatable: its schema, and its dependency on it
		UPDATE pg_catalog.pg_extension SET extnamespace = new_nsp
		 WHERE oid OPERATOR(pg_catalog.=) ext;
		UPDATE pg_catalog.pg_depend SET refobjid = new_nsp
		 WHERE classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass::pg_catalog.oid
		   AND objid OPERATOR(pg_catalog.=) ext
		   AND refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_namespace'::pg_catalog.regclass::pg_catalog.oid
		   AND refobjid OPERATOR(pg_catalog.=) old_nsp;
	END IF;
END
$$;

------------------------------------------------------------------------------
-- What 1.0 and 1.1 bound by name where the database's owner could have
-- planted a better match: the trigger condition on actions compared
-- varchar with whatever "=" the path gave.  Made again, on text.
------------------------------------------------------------------------------

DROP TRIGGER actions_signed_changed ON mig.actions;
CREATE TRIGGER actions_signed_changed
	AFTER UPDATE OF name, target, validfrom, expireafter, operations, pgpsignatures ON mig.actions
	FOR EACH ROW
	WHEN (OLD.name::pg_catalog.text IS DISTINCT FROM NEW.name::pg_catalog.text
		  OR OLD.target::pg_catalog.text IS DISTINCT FROM NEW.target::pg_catalog.text
		  OR OLD.validfrom IS DISTINCT FROM NEW.validfrom
		  OR OLD.expireafter IS DISTINCT FROM NEW.expireafter
		  OR OLD.operations::pg_catalog.text IS DISTINCT FROM NEW.operations::pg_catalog.text
		  OR OLD.pgpsignatures::pg_catalog.text IS DISTINCT FROM NEW.pgpsignatures::pg_catalog.text)
	EXECUTE FUNCTION mig.mig_actions_signed();

------------------------------------------------------------------------------
-- MIG's own code on mig: the columns, tables, sequences, defaults and
-- indexes of MIG's released database/schema.sql that the seed predates.
------------------------------------------------------------------------------

-- agents: what heartbeats say beyond the seed's columns moves from
-- agent_details into agents, as MIG names it
ALTER TABLE mig.agents
	ADD COLUMN mode varchar(2048) NOT NULL DEFAULT '',
	ADD COLUMN refreshtime timestamp with time zone NOT NULL DEFAULT '0001-01-01 00:00:00+00',
	ADD COLUMN environment json,
	ADD COLUMN tags json,
	ADD COLUMN loadername varchar(2048),
	ADD COLUMN authorized boolean;
UPDATE mig.agents AS a
   SET mode = COALESCE(d.mode, ''),
	   refreshtime = COALESCE(d.refreshtime, '0001-01-01 00:00:00+00'),
	   environment = d.environment,
	   tags = d.tags,
	   loadername = d.loadername,
	   authorized = d.authorized
  FROM mig.agent_details AS d
 WHERE d.agentid OPERATOR(pg_catalog.=) a.id;

CREATE OR REPLACE VIEW mig.mig_duplicate_agents AS
	SELECT a.queueloc, pg_catalog.count(*) AS agents,
		   pg_catalog.array_agg(a.id ORDER BY a.id) AS agent_ids
	  FROM mig.agents AS a
	 WHERE a.heartbeattime OPERATOR(pg_catalog.>) (pg_catalog.now() OPERATOR(pg_catalog.-)
			COALESCE(pg_catalog.current_setting('mig.agent_heartbeat_freq', true),
					 '5min')::pg_catalog.interval)
	   AND a.mode::pg_catalog.text OPERATOR(pg_catalog.<>) 'checkin'
	 GROUP BY a.queueloc
	HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>) 1;

-- (out of the extension first: that takes it off the list of tables
-- pg_dump dumps, where a plain DROP would leave its oid)
ALTER EXTENSION mig DROP TABLE mig.agent_details;
DROP TABLE mig.agent_details;

CREATE INDEX agents_starttime_idx ON mig.agents (starttime);
CREATE INDEX agents_queueloc_pid_idx ON mig.agents (queueloc, pid);
CREATE INDEX agents_status_idx ON mig.agents (status);

CREATE FUNCTION mig.mig_agents_os() RETURNS trigger
	AS 'MODULE_PATHNAME', 'mig_agents_os' LANGUAGE C;
CREATE TRIGGER agents_os
	BEFORE INSERT ON mig.agents
	FOR EACH ROW WHEN (NEW.os IS NULL)
	EXECUTE FUNCTION mig.mig_agents_os();

-- investigators: MIG's columns, and ids from a sequence that starts past
-- the ids there are
CREATE SEQUENCE mig.investigators_id_seq;
ALTER TABLE mig.investigators
	ALTER COLUMN id SET DEFAULT pg_catalog.nextval('mig.investigators_id_seq'::pg_catalog.regclass),
	ADD COLUMN status varchar(255) NOT NULL DEFAULT 'active',
	ADD COLUMN createdat timestamp with time zone NOT NULL DEFAULT pg_catalog.now(),
	ADD COLUMN lastmodified timestamp with time zone NOT NULL DEFAULT pg_catalog.now(),
	ADD COLUMN permissions bigint NOT NULL DEFAULT 0,
	ADD COLUMN apikey bytea,
	ADD COLUMN apisalt bytea,
	ADD COLUMN privatekey bytea;
ALTER SEQUENCE mig.investigators_id_seq OWNED BY mig.investigators.id;
SELECT pg_catalog.setval('mig.investigators_id_seq'::pg_catalog.regclass,
						 pg_catalog.ceil(pg_catalog.max(i.id))::pg_catalog.int8)
  FROM mig.investigators AS i
HAVING pg_catalog.max(i.id) OPERATOR(pg_catalog.>=) 1::pg_catalog.numeric;

-- MIG's API tells an investigator whose key is there already by the name
-- of this unique index in the error
ALTER TABLE mig.investigators
	RENAME CONSTRAINT investigators_pgpfingerprint_key TO investigators_pgpfingerprint_idx;

-- a disabled investigator's signatures no longer count: the status is part
-- of the keyring
DROP TRIGGER investigators_keyring ON mig.investigators;
CREATE TRIGGER investigators_keyring
	BEFORE INSERT OR UPDATE OF id, publickey, pgpfingerprint, status OR DELETE OR TRUNCATE
	ON mig.investigators FOR EACH STATEMENT EXECUTE FUNCTION mig.mig_investigators_keyring();

-- MIG's loaders and manifests
CREATE SEQUENCE mig.loaders_id_seq;
CREATE TABLE mig.loaders (
	id numeric PRIMARY KEY NOT NULL
		DEFAULT pg_catalog.nextval('mig.loaders_id_seq'::pg_catalog.regclass),
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
ALTER SEQUENCE mig.loaders_id_seq OWNED BY mig.loaders.id;
CREATE UNIQUE INDEX loaders_loadername_idx ON mig.loaders (loadername);
CREATE UNIQUE INDEX loaders_loaderkey_idx ON mig.loaders (loaderkey);
CREATE UNIQUE INDEX loaders_keyprefix_idx ON mig.loaders (keyprefix);
CREATE UNIQUE INDEX loaders_queueloc_idx ON mig.loaders (queueloc);

CREATE SEQUENCE mig.manifests_id_seq;
CREATE TABLE mig.manifests (
	id numeric PRIMARY KEY NOT NULL
		DEFAULT pg_catalog.nextval('mig.manifests_id_seq'::pg_catalog.regclass),
	name varchar(256) NOT NULL,
	content text NOT NULL,
	"timestamp" timestamp with time zone NOT NULL,
	status varchar(255) NOT NULL,
	target varchar(2048) NOT NULL
);
ALTER SEQUENCE mig.manifests_id_seq OWNED BY mig.manifests.id;

CREATE TABLE mig.manifestsig (
	manifestid numeric NOT NULL REFERENCES mig.manifests(id),
	investigatorid numeric NOT NULL,
	pgpsignature varchar(4096) NOT NULL
);
CREATE UNIQUE INDEX manifestsig_manifestid_investigatorid_idx
	ON mig.manifestsig (manifestid, investigatorid);

-- agents_stats with MIG's column name (MIG's StoreAgentsStats writes it);
-- the function that computes a row says it the same way.  (The function is
-- made again: grants on it must be given again.)
ALTER TABLE mig.agents_stats RENAME COLUMN taken_at TO "timestamp";
DROP FUNCTION mig.mig_agents_stats();
CREATE FUNCTION mig.mig_agents_stats(
	OUT "timestamp" timestamp with time zone, OUT online_agents bigint,
	OUT online_agents_by_version json, OUT online_endpoints bigint,
	OUT idle_agents bigint, OUT idle_agents_by_version json, OUT idle_endpoints bigint,
	OUT new_endpoints bigint, OUT multi_agents_endpoints bigint,
	OUT disappeared_endpoints bigint, OUT flapping_endpoints bigint)
	RETURNS record
	AS 'MODULE_PATHNAME', 'mig_agents_stats'
	LANGUAGE C STABLE STRICT;

-- mig_worker_status says whether MIG's scheduler writes the database too
-- (mig.scheduler_writes) and what the worker filled in for it.  A
-- function's result columns cannot change in place: it and its view are
-- made again, and the privileges granted on them are granted again.
DO $$
DECLARE
	grants text[];
	g text;
BEGIN
	SELECT pg_catalog.array_agg(pg_catalog.format('GRANT %s ON %s TO %s%s', a.privilege_type,
			  CASE WHEN o.kind OPERATOR(pg_catalog.=) 'f'
				   THEN 'FUNCTION mig.mig_worker_state()' ELSE 'mig.mig_worker_status' END,
			  CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0::pg_catalog.oid THEN 'PUBLIC'
				   ELSE pg_catalog.quote_ident(r.rolname::pg_catalog.text) END,
			  CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END))
	  INTO grants
	  FROM (SELECT 'v'::pg_catalog.text AS kind, c.relacl AS acl, c.relowner AS owner
			  FROM pg_catalog.pg_class c
			 WHERE c.oid OPERATOR(pg_catalog.=) 'mig.mig_worker_status'::pg_catalog.regclass
			UNION ALL
			SELECT 'f', p.proacl, p.proowner FROM pg_catalog.pg_proc p
			 WHERE p.oid OPERATOR(pg_catalog.=) 'mig.mig_worker_state()'::pg_catalog.regprocedure) AS o,
		   pg_catalog.aclexplode(o.acl) AS a
	  LEFT JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) a.grantee
	 WHERE a.grantee OPERATOR(pg_catalog.<>) o.owner;

	DROP VIEW mig.mig_worker_status;
	DROP FUNCTION mig.mig_worker_state();
	CREATE FUNCTION mig.mig_worker_state(
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
	CREATE VIEW mig.mig_worker_status AS
		SELECT s.pid, s.state, s.last_pass, s.files_per_sec, s.backlog, s.deferred, s.failed,
			   s.last_error, s.last_error_at, s.started_at, s.last_full_pass, s.files_total,
			   s.spool_dir, s.database, s.last_periodic, s.last_periodic_took,
			   s.last_periodic_changed, s.scheduler_writes, s.filled
		  FROM mig.mig_worker_state() AS s;
	REVOKE ALL ON mig.mig_worker_status FROM PUBLIC;
	REVOKE ALL ON FUNCTION mig.mig_worker_state() FROM PUBLIC;
	FOREACH g IN ARRAY COALESCE(grants, '{}'::pg_catalog.text[]) LOOP
		EXECUTE g;
	END LOOP;
END
$$;

------------------------------------------------------------------------------
-- pg_dump keeps the new tables' rows and sequences' values; nothing new is
-- for PUBLIC.
------------------------------------------------------------------------------

SELECT pg_catalog.pg_extension_config_dump('mig.investigators_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mig.loaders', '');
SELECT pg_catalog.pg_extension_config_dump('mig.loaders_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mig.manifests', '');
SELECT pg_catalog.pg_extension_config_dump('mig.manifests_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mig.manifestsig', '');

REVOKE ALL ON mig.investigators_id_seq, mig.loaders, mig.loaders_id_seq, mig.manifests,
	mig.manifests_id_seq, mig.manifestsig FROM PUBLIC;
REVOKE ALL ON FUNCTION mig.mig_agents_os(), mig.mig_agents_stats() FROM PUBLIC;
