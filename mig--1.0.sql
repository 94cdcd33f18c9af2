/* mig--1.0.sql: the MIG data layer */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION mig" to load this file. \quit

------------------------------------------------------------------------------
-- The seed's eight tables (MIG's data document, mig-data.rst): names, types, NOT NULLs and
-- foreign keys exactly as MIG defined them.  What a deployment needs beyond
-- that (unique keys, indexes, CHECKs) is added below without renaming.
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
	status varchar(256)
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

CREATE TABLE investigators (
	id numeric PRIMARY KEY NOT NULL,
	name varchar(1024) NOT NULL,
	pgpfingerprint varchar(128),
	publickey varchar(65536)
);

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
ALTER TABLE investigators
	ADD CONSTRAINT investigators_pgpfingerprint_key UNIQUE (pgpfingerprint);
ALTER TABLE modules
	ADD CONSTRAINT modules_name_key UNIQUE (name);

-- Weights: a permission is never negative, a requirement is at least 1.
ALTER TABLE invagtmodperm
	ADD CONSTRAINT invagtmodperm_weight_check CHECK (weight >= 0);
ALTER TABLE agtmodreq
	ADD CONSTRAINT agtmodreq_minimumweight_check CHECK (minimumweight >= 1);

-- Indexes for the foreign keys not already led by a unique key, and for the
-- lookups the scheduler and the worker make.
CREATE INDEX commands_actionid_idx ON commands (actionid);
CREATE INDEX commands_agentid_idx ON commands (agentid);
CREATE INDEX signatures_investigatorid_idx ON signatures (investigatorid);
CREATE INDEX agtmodreq_agentid_idx ON agtmodreq (agentid);
CREATE INDEX invagtmodperm_agentid_moduleid_idx ON invagtmodperm (agentid, moduleid);
CREATE INDEX invagtmodperm_moduleid_idx ON invagtmodperm (moduleid);
CREATE INDEX agents_queueloc_idx ON agents (queueloc);
CREATE INDEX agents_heartbeattime_idx ON agents (heartbeattime);

------------------------------------------------------------------------------
-- The library
------------------------------------------------------------------------------

CREATE FUNCTION mig_version() RETURNS text
	AS 'MODULE_PATHNAME', 'mig_version'
	LANGUAGE C STABLE STRICT PARALLEL SAFE;

------------------------------------------------------------------------------
-- The canonical signed string (src/canon.c)
------------------------------------------------------------------------------

-- The exact string MIG's investigators sign for an action (syntax version 2).
CREATE FUNCTION mig_action_string(action json) RETURNS text
	AS 'MODULE_PATHNAME', 'mig_action_string'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

------------------------------------------------------------------------------
-- OpenPGP signatures and their record (src/pgp.c)
------------------------------------------------------------------------------

------------------------------------------------------------------------------
-- Authorization (src/authorize.c)
------------------------------------------------------------------------------

-- Whether the action may run on the agent: MIG's weighted ACLs over the
-- investigators with a valid signature on it.  VOLATILE: when the action's
-- verification is missing or stale it is verified (and recorded, if the
-- transaction can write) first.
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
-- The spool and its worker (src/spool.c, src/worker.c)
------------------------------------------------------------------------------

------------------------------------------------------------------------------
-- pg_dump keeps the rows of every table: they are user data, not
-- configuration the script would recreate.
------------------------------------------------------------------------------

SELECT pg_catalog.pg_extension_config_dump('actions', '');
SELECT pg_catalog.pg_extension_config_dump('agents', '');
SELECT pg_catalog.pg_extension_config_dump('commands', '');
SELECT pg_catalog.pg_extension_config_dump('investigators', '');
SELECT pg_catalog.pg_extension_config_dump('signatures', '');
SELECT pg_catalog.pg_extension_config_dump('modules', '');
SELECT pg_catalog.pg_extension_config_dump('agtmodreq', '');
SELECT pg_catalog.pg_extension_config_dump('invagtmodperm', '');

------------------------------------------------------------------------------
-- Privileges: nothing for PUBLIC.  Tables are owner-only already; functions
-- are executable by PUBLIC by default, so take that away.  README.md shows
-- the grants for a scheduler role and an investigator role.
------------------------------------------------------------------------------

DO $$
DECLARE
	obj record;
BEGIN
	FOR obj IN
		SELECT d.classid::regclass AS catalog, d.objid
		  FROM pg_catalog.pg_depend d
		 WHERE d.refclassid = 'pg_catalog.pg_extension'::regclass
		   AND d.refobjid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'mig')
		   AND d.deptype = 'e'
	LOOP
		IF obj.catalog = 'pg_catalog.pg_proc'::regclass THEN
			EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', obj.objid::regprocedure);
		ELSIF obj.catalog = 'pg_catalog.pg_class'::regclass
			  AND (SELECT relkind FROM pg_catalog.pg_class WHERE oid = obj.objid) IN ('r', 'v', 'S') THEN
			EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', obj.objid::regclass);
		END IF;
	END LOOP;
END
$$;
