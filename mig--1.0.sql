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
-- The canonical signed string
------------------------------------------------------------------------------

-- The exact string MIG's investigators sign for an action (syntax version 2).
CREATE FUNCTION mig_action_string(action json) RETURNS text
	AS 'MODULE_PATHNAME', 'mig_action_string'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

------------------------------------------------------------------------------
-- OpenPGP signatures and their record
------------------------------------------------------------------------------

-- Keys and signatures.  gpg runs in a private GNUPGHOME per
-- backend; these depend on their arguments (and on the clock, for expiry).
CREATE FUNCTION mig_key_fingerprint(publickey text) RETURNS text
	AS 'MODULE_PATHNAME', 'mig_key_fingerprint'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION mig_verify_signature(data text, signature text, publickey text) RETURNS text
	AS 'MODULE_PATHNAME', 'mig_verify_signature'
	LANGUAGE C STABLE STRICT PARALLEL SAFE;

-- The keyring epoch: one row, set to a new value of the
-- sequence by every statement that changes investigators' keys, so that an
-- epoch names exactly one set of keys (sequence values never come back, even
-- after a rollback).  Verifications read it in the same snapshot as the keys.
CREATE SEQUENCE keyring_epoch_seq;
SELECT pg_catalog.pg_extension_config_dump('keyring_epoch_seq', '');

CREATE TABLE keyring (
	onerow boolean PRIMARY KEY DEFAULT true CHECK (onerow),
	epoch bigint NOT NULL,
	changed_at timestamp with time zone
);
INSERT INTO keyring (epoch) VALUES (0);
-- the row is made here: dump none (see verifications)
SELECT pg_catalog.pg_extension_config_dump('keyring', 'WHERE false');

-- The record of verified actions: the per-signature results of the last
-- verification of each action, used while digest (of the signed fields and
-- pgpsignatures), keyring (the epoch) and valid_until (the first expiry of a
-- key of a valid signature) still match.  The valid signatures themselves
-- are in signatures.  This and keyring are a cache of what gpg said, not user
-- data: pg_dump knows them but dumps no rows (a restored record would refer
-- to the old cluster's keyring epochs); the first verification after a
-- restore writes the record again.
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
SELECT pg_catalog.pg_extension_config_dump('verifications', 'WHERE false');

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

-- Staleness.  Investigators: a new keyring epoch before any row changes;
-- pgpfingerprint filled in from (and checked against) publickey; a changed
-- or removed key takes its recorded signatures with it.
CREATE FUNCTION mig_investigators_keyring() RETURNS trigger
	AS 'MODULE_PATHNAME', 'mig_investigators_keyring' LANGUAGE C;
CREATE FUNCTION mig_investigators_key() RETURNS trigger
	AS 'MODULE_PATHNAME', 'mig_investigators_key' LANGUAGE C;
CREATE TRIGGER investigators_keyring
	BEFORE INSERT OR UPDATE OF id, publickey, pgpfingerprint OR DELETE OR TRUNCATE
	ON investigators FOR EACH STATEMENT EXECUTE FUNCTION mig_investigators_keyring();
CREATE TRIGGER investigators_key
	BEFORE INSERT OR UPDATE OR DELETE ON investigators
	FOR EACH ROW EXECUTE FUNCTION mig_investigators_key();

-- Actions: a change of what is signed removes the record and the recorded
-- signatures (after the update, so after a verification holding the row has
-- committed); so do DELETE and a new id (before, for the foreign key).
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
-- Authorization
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
-- The spool and its worker
------------------------------------------------------------------------------

-- One row per spool file the sync has looked at: what it held and what became
-- of it.  (inode, size, mtime) is how a pass knows a file is unchanged; a
-- file whose failure was not its content's fault (unreadable, refused by the
-- database) is stored without them so that every pass retries it.
CREATE TABLE spool_files (
	path text COLLATE "C" PRIMARY KEY,
	spool text NOT NULL,
	kind text NOT NULL CHECK (kind IN ('action', 'command')),
	dir text NOT NULL CHECK (dir IN ('new', 'inflight', 'done', 'invalid', 'ready', 'returned')),
	inode bigint,
	size bigint,
	mtime timestamp with time zone,
	outcome text NOT NULL CHECK (outcome IN ('ingested', 'unchanged', 'deferred', 'failed')),
	error text,
	objectid numeric,
	synced_at timestamp with time zone NOT NULL DEFAULT now()
);
CREATE INDEX spool_files_attention_idx ON spool_files (spool, outcome, path)
	WHERE outcome IN ('deferred', 'failed');

-- What a heartbeat says about an agent beyond the seed's columns.
CREATE TABLE agent_details (
	agentid numeric PRIMARY KEY REFERENCES agents(id) ON DELETE CASCADE,
	mode text,
	loadername text,
	environment json,
	tags json,
	refreshtime timestamp with time zone,
	authorized boolean,
	updated_at timestamp with time zone NOT NULL DEFAULT now()
);

-- Ids for agents whose heartbeat carries none and whose queue location is new.
CREATE SEQUENCE agent_id_seq;

SELECT pg_catalog.pg_extension_config_dump('spool_files', '');
SELECT pg_catalog.pg_extension_config_dump('agent_details', '');
SELECT pg_catalog.pg_extension_config_dump('agent_id_seq', '');

CREATE FUNCTION mig_spool_sync(spool_dir text DEFAULT NULL)
	RETURNS TABLE(scanned bigint, ingested bigint, unchanged bigint,
				  deferred bigint, failed bigint)
	AS 'MODULE_PATHNAME', 'mig_spool_sync'
	LANGUAGE C VOLATILE;

CREATE FUNCTION mig_agent_heartbeat(heartbeat json) RETURNS numeric
	AS 'MODULE_PATHNAME', 'mig_agent_heartbeat'
	LANGUAGE C VOLATILE STRICT;

CREATE FUNCTION mig_worker_launch() RETURNS integer
	AS 'MODULE_PATHNAME', 'mig_worker_launch'
	LANGUAGE C VOLATILE STRICT;

CREATE FUNCTION mig_worker_state(
	OUT pid integer, OUT state text, OUT started_at timestamp with time zone,
	OUT last_pass timestamp with time zone, OUT last_full_pass timestamp with time zone,
	OUT files_per_sec double precision, OUT backlog bigint, OUT deferred bigint,
	OUT failed bigint, OUT files_total bigint, OUT last_error text,
	OUT last_error_at timestamp with time zone, OUT spool_dir text, OUT database text)
	RETURNS record
	AS 'MODULE_PATHNAME', 'mig_worker_state'
	LANGUAGE C VOLATILE STRICT;

CREATE VIEW mig_worker_status AS
	SELECT pid, state, last_pass, files_per_sec, backlog, deferred, failed,
		   last_error, last_error_at, started_at, last_full_pass, files_total,
		   spool_dir, database
	  FROM mig_worker_state();

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
--
-- (Edited in 1.2, as PostgreSQL edited its contrib scripts for
-- CVE-2020-14350: this block runs as the installing superuser, and its
-- operators and functions are now pg_catalog's by name, not whatever a
-- schema on the path offers; the trigger condition above compares text
-- with pg_catalog's operator.  The objects made are the same.)
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
