-- The schema is the contract of MIG's data document (mig-data.rst): every
-- column, key, foreign key, index and CHECK of the eight tables, read from
-- the catalogs, so that any drift shows in this file's diff; and after the
-- seed's columns, those of MIG's released database/schema.sql, which MIG's
-- scheduler and API read and write.
CREATE EXTENSION mig;

SELECT mig_version() ~ '^mig 1\.2 \(jansson [0-9.]+, gpgme [0-9.]+\)$' AS version_ok;

-- mig lives in a schema of its own, made by CREATE EXTENSION, owned by the
-- installing superuser, in which no one else may create
SELECT n.nspname, r.rolsuper AS owner_is_superuser,
       (SELECT count(*) FROM aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
         WHERE a.grantee <> n.nspowner) AS others_privileges
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
  JOIN pg_roles r ON r.oid = n.nspowner
 WHERE e.extname = 'mig';

-- columns: name, type (with length), nullability, default, in table order
SELECT c.relname AS "table", a.attnum, a.attname,
       format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
       pg_get_expr(d.adbin, d.adrelid) AS "default"
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE c.relnamespace = 'mig'::regnamespace
   AND c.relname IN ('actions', 'agents', 'commands', 'investigators',
                     'signatures', 'modules', 'agtmodreq', 'invagtmodperm',
                     'agents_stats', 'loaders', 'manifests', 'manifestsig')
   AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY c.relname, a.attnum;

-- every column of MIG's released schema.sql is here, with a type MIG's code
-- reads and writes through lib/pq (the seed's type where the two differ:
-- actions.pgpsignatures json, investigators.publickey varchar, counts
-- bigint); none is missing
SELECT m.t AS "table", m.c AS "column", m.type AS "MIG's type",
       format_type(a.atttypid, a.atttypmod) AS "mig's type"
  FROM (VALUES
	('actions', 'id', 'numeric'), ('actions', 'name', 'character varying(2048)'),
	('actions', 'target', 'character varying(2048)'), ('actions', 'description', 'json'),
	('actions', 'threat', 'json'), ('actions', 'operations', 'json'),
	('actions', 'validfrom', 'timestamp with time zone'),
	('actions', 'expireafter', 'timestamp with time zone'),
	('actions', 'starttime', 'timestamp with time zone'),
	('actions', 'finishtime', 'timestamp with time zone'),
	('actions', 'lastupdatetime', 'timestamp with time zone'),
	('actions', 'status', 'character varying(256)'), ('actions', 'syntaxversion', 'integer'),
	('actions', 'pgpsignatures', 'character varying(4096)'),
	('agents', 'id', 'numeric'), ('agents', 'name', 'character varying(2048)'),
	('agents', 'queueloc', 'character varying(2048)'), ('agents', 'mode', 'character varying(2048)'),
	('agents', 'version', 'character varying(2048)'), ('agents', 'pid', 'integer'),
	('agents', 'starttime', 'timestamp with time zone'),
	('agents', 'destructiontime', 'timestamp with time zone'),
	('agents', 'heartbeattime', 'timestamp with time zone'),
	('agents', 'refreshtime', 'timestamp with time zone'),
	('agents', 'status', 'character varying(255)'), ('agents', 'environment', 'json'),
	('agents', 'tags', 'json'), ('agents', 'loadername', 'character varying(2048)'),
	('agents_stats', 'timestamp', 'timestamp with time zone'),
	('agents_stats', 'online_agents', 'numeric'), ('agents_stats', 'online_agents_by_version', 'json'),
	('agents_stats', 'online_endpoints', 'numeric'), ('agents_stats', 'idle_agents', 'numeric'),
	('agents_stats', 'idle_agents_by_version', 'json'), ('agents_stats', 'idle_endpoints', 'numeric'),
	('agents_stats', 'new_endpoints', 'numeric'), ('agents_stats', 'multi_agents_endpoints', 'numeric'),
	('agents_stats', 'disappeared_endpoints', 'numeric'), ('agents_stats', 'flapping_endpoints', 'numeric'),
	('agtmodreq', 'moduleid', 'numeric'), ('agtmodreq', 'agentid', 'numeric'),
	('agtmodreq', 'minimumweight', 'integer'),
	('commands', 'id', 'numeric'), ('commands', 'actionid', 'numeric'), ('commands', 'agentid', 'numeric'),
	('commands', 'status', 'character varying(255)'), ('commands', 'results', 'json'),
	('commands', 'starttime', 'timestamp with time zone'),
	('commands', 'finishtime', 'timestamp with time zone'),
	('invagtmodperm', 'investigatorid', 'numeric'), ('invagtmodperm', 'agentid', 'numeric'),
	('invagtmodperm', 'moduleid', 'numeric'), ('invagtmodperm', 'weight', 'integer'),
	('investigators', 'id', 'numeric'), ('investigators', 'name', 'character varying(1024)'),
	('investigators', 'pgpfingerprint', 'character varying(128)'), ('investigators', 'publickey', 'bytea'),
	('investigators', 'privatekey', 'bytea'), ('investigators', 'status', 'character varying(255)'),
	('investigators', 'createdat', 'timestamp with time zone'),
	('investigators', 'lastmodified', 'timestamp with time zone'),
	('investigators', 'permissions', 'bigint'), ('investigators', 'apikey', 'bytea'),
	('investigators', 'apisalt', 'bytea'),
	('manifests', 'id', 'numeric'), ('manifests', 'name', 'character varying(256)'),
	('manifests', 'content', 'text'), ('manifests', 'timestamp', 'timestamp with time zone'),
	('manifests', 'status', 'character varying(255)'), ('manifests', 'target', 'character varying(2048)'),
	('manifestsig', 'manifestid', 'numeric'), ('manifestsig', 'investigatorid', 'numeric'),
	('manifestsig', 'pgpsignature', 'character varying(4096)'),
	('loaders', 'id', 'numeric'), ('loaders', 'loadername', 'character varying(256)'),
	('loaders', 'keyprefix', 'character varying(256)'), ('loaders', 'loaderkey', 'bytea'),
	('loaders', 'salt', 'bytea'), ('loaders', 'name', 'character varying(2048)'),
	('loaders', 'env', 'json'), ('loaders', 'tags', 'json'),
	('loaders', 'lastseen', 'timestamp with time zone'), ('loaders', 'enabled', 'boolean'),
	('loaders', 'expectenv', 'character varying(2048)'), ('loaders', 'queueloc', 'character varying(2048)'),
	('modules', 'id', 'numeric'), ('modules', 'name', 'character varying(256)'),
	('signatures', 'actionid', 'numeric'), ('signatures', 'investigatorid', 'numeric'),
	('signatures', 'pgpsignature', 'character varying(4096)')) AS m(t, c, type)
  LEFT JOIN pg_attribute a
    ON a.attrelid = ('mig.' || m.t)::regclass AND a.attname = m.c AND NOT a.attisdropped
 WHERE a.attname IS NULL OR format_type(a.atttypid, a.atttypmod) <> m.type
 ORDER BY 1, 2;

-- MIG's sequences, each owned by the id it numbers
SELECT t, pg_get_serial_sequence('mig.' || t, 'id') AS sequence
  FROM unnest(ARRAY['investigators', 'loaders', 'manifests']) AS t
 ORDER BY 1;

-- constraints: primary keys, unique keys, foreign keys, checks
SELECT conrelid::regclass AS "table", conname, contype,
       pg_get_constraintdef(oid) AS definition
  FROM pg_constraint
 WHERE connamespace = 'mig'::regnamespace
   AND conrelid <> 0
 ORDER BY conrelid::regclass::text, contype, conname;

-- indexes of the tables MIG's code uses
SELECT indrelid::regclass AS "table", indexrelid::regclass AS index,
       pg_get_indexdef(indexrelid) AS definition
  FROM pg_index
 WHERE indrelid::regclass::text IN ('actions', 'agents', 'commands', 'investigators',
                                    'signatures', 'modules', 'agtmodreq', 'invagtmodperm',
                                    'agents_stats', 'loaders', 'manifests', 'manifestsig')
 ORDER BY indrelid::regclass::text, indexrelid::regclass::text;

-- every table and sequence of the extension is dumped by pg_dump
SELECT c.relname, c.relkind,
       c.oid = ANY (e.extconfig) AS config_dumped
  FROM pg_extension e
  JOIN pg_depend d ON d.refclassid = 'pg_extension'::regclass AND d.refobjid = e.oid
                  AND d.classid = 'pg_class'::regclass AND d.deptype = 'e'
  JOIN pg_class c ON c.oid = d.objid
 WHERE e.extname = 'mig' AND c.relkind IN ('r', 'S')
 ORDER BY c.relname;

-- an agent written as MIG's scheduler writes it, without os: the
-- environment's; and with neither, an empty string
INSERT INTO agents (id, name, queueloc, mode, version, pid, starttime, destructiontime,
                    heartbeattime, refreshtime, status, environment, tags)
VALUES (7, 'host7', 'linux.host7', 'daemon', '20260101', 7, now(), '0001-01-01', now(), now(),
        'online', '{"os": "linux", "arch": "amd64"}', 'null'),
       (8, 'host8', 'linux.host8', 'daemon', '20260101', 8, now(), '0001-01-01', now(), now(),
        'online', '{"arch": "amd64"}', 'null'),
       (9, 'host9', 'linux.host9', 'daemon', '20260101', 9, now(), '0001-01-01', now(), now(),
        'online', NULL, NULL);
INSERT INTO agents (id, name, queueloc, os, version, pid, starttime, heartbeattime, environment)
VALUES (10, 'host10', 'linux.host10', 'darwin', '1', 10, now(), now(), '{"os": "linux"}');
SELECT id, os, mode, refreshtime = '0001-01-01 00:00:00+00' AS zero_refreshtime FROM agents ORDER BY id;
DELETE FROM agents;

-- the CHECKs refuse a minimum weight below 1 and a negative weight
INSERT INTO modules VALUES (1, 'file');
INSERT INTO agents VALUES (1, 'host1', 'linux.host1.1', 'linux', '20260101', 42,
                           now(), NULL, now(), 'online');
INSERT INTO investigators VALUES (1, 'Alice', NULL, NULL);
INSERT INTO agtmodreq VALUES (1, 1, 0);
INSERT INTO invagtmodperm VALUES (1, 1, 1, -1);
INSERT INTO agtmodreq VALUES (1, 1, 1);
INSERT INTO agtmodreq VALUES (1, 1, 2);
INSERT INTO invagtmodperm VALUES (1, 1, 1, 0);
-- a foreign key holds
INSERT INTO commands VALUES (1, 999, 1, 'sent', NULL, now(), NULL);

-- DROP EXTENSION removes every object it created; the schema it made is
-- left, empty
DROP EXTENSION mig;
SELECT count(*) AS left_over FROM pg_class
 WHERE relnamespace IN ('public'::regnamespace, 'mig'::regnamespace);
SELECT count(*) AS left_over FROM pg_proc
 WHERE pronamespace IN ('public'::regnamespace, 'mig'::regnamespace);

-- it goes nowhere else
CREATE SCHEMA mig_other;
CREATE EXTENSION mig SCHEMA mig_other;
DROP SCHEMA mig_other;

-- a schema "mig" that is there already must be one mig can trust: a
-- superuser's, empty, with CREATE for no one else
CREATE ROLE mig_dbowner;
ALTER SCHEMA mig OWNER TO mig_dbowner;
CREATE EXTENSION mig;
ALTER SCHEMA mig OWNER TO CURRENT_USER;
GRANT CREATE ON SCHEMA mig TO mig_dbowner;
CREATE EXTENSION mig;
REVOKE CREATE ON SCHEMA mig FROM mig_dbowner;
CREATE FUNCTION mig.mig_version() RETURNS text LANGUAGE sql AS $$ SELECT 'planted' $$;
CREATE EXTENSION mig;
DROP FUNCTION mig.mig_version();
CREATE EXTENSION mig;
SELECT count(*) AS tables FROM pg_tables WHERE schemaname = 'mig';

-- the functions do not depend on the caller's search_path
SET search_path = pg_catalog;
SELECT mig.mig_version() IS NOT NULL AS callable;
RESET search_path;
DROP EXTENSION mig;
DROP ROLE mig_dbowner;
