-- The schema is the contract of MIG's data document (mig-data.rst): every
-- column, key, foreign key, index and CHECK of the eight tables, read from
-- the catalogs, so that any drift shows in this file's diff.
CREATE EXTENSION mig;

SELECT mig_version() ~ '^mig 1\.1 \(jansson [0-9.]+, gpgme [0-9.]+\)$' AS version_ok;

-- columns: name, type (with length), nullability, in table order
SELECT c.relname AS "table", a.attnum, a.attname,
       format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
 WHERE c.relnamespace = 'public'::regnamespace
   AND c.relname IN ('actions', 'agents', 'commands', 'investigators',
                     'signatures', 'modules', 'agtmodreq', 'invagtmodperm')
   AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY c.relname, a.attnum;

-- constraints: primary keys, unique keys, foreign keys, checks
SELECT conrelid::regclass AS "table", conname, contype,
       pg_get_constraintdef(oid) AS definition
  FROM pg_constraint
 WHERE connamespace = 'public'::regnamespace
   AND conrelid <> 0
 ORDER BY conrelid::regclass::text, contype, conname;

-- indexes of the eight tables
SELECT indrelid::regclass AS "table", indexrelid::regclass AS index,
       pg_get_indexdef(indexrelid) AS definition
  FROM pg_index
 WHERE indrelid::regclass::text IN ('actions', 'agents', 'commands', 'investigators',
                                    'signatures', 'modules', 'agtmodreq', 'invagtmodperm')
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

-- DROP EXTENSION removes every object it created
DROP EXTENSION mig;
SELECT count(*) AS left_over FROM pg_class
 WHERE relnamespace = 'public'::regnamespace;
SELECT count(*) AS left_over FROM pg_proc
 WHERE pronamespace = 'public'::regnamespace;

-- installing into another schema works, and the functions do not depend on
-- the caller's search_path
CREATE SCHEMA mig_other;
CREATE EXTENSION mig SCHEMA mig_other;
SELECT count(*) AS tables FROM pg_tables WHERE schemaname = 'mig_other';
SET search_path = pg_catalog;
SELECT mig_other.mig_version() IS NOT NULL AS callable;
RESET search_path;
DROP EXTENSION mig;
DROP SCHEMA mig_other;
