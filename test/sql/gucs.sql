-- The mig.* settings: defaults, units, bounds, and refusal of bad values.
SELECT name, setting, unit, context, vartype, min_val, max_val, boot_val
  FROM pg_settings WHERE name LIKE 'mig.%' ORDER BY name;

SHOW mig.rescan_interval;
SHOW mig.max_file_size;

-- good values, with units: what mig reads is the value in the setting's
-- own unit (a bare number is in that unit); what each setting does is
-- tested where it acts (spool.sql: mig.spool_dir, mig.batch_size,
-- mig.max_file_size; the TAP tests: the worker's)
CREATE FUNCTION pg_temp.value(name text) RETURNS text
	LANGUAGE sql AS $$ SELECT setting || coalesce(' ' || unit, '') FROM pg_settings WHERE name = $1 $$;
SET mig.spool_dir = '/srv/mig/spool';
SELECT pg_temp.value('mig.spool_dir');
SET mig.rescan_interval = '5s';
SELECT pg_temp.value('mig.rescan_interval');
SET mig.rescan_interval = '1min';
SELECT pg_temp.value('mig.rescan_interval');
SET mig.rescan_interval = 250;
SELECT pg_temp.value('mig.rescan_interval');
SET mig.batch_size = 50;
SELECT pg_temp.value('mig.batch_size');
SET mig.max_file_size = '64MB';
SELECT pg_temp.value('mig.max_file_size');
SET mig.max_file_size = '1GB';
SELECT pg_temp.value('mig.max_file_size');

-- bad values are refused with a clear message
SET mig.spool_dir = 'relative/spool';
SET mig.spool_dir = '';
SET mig.rescan_interval = '10ms';
SET mig.rescan_interval = 'often';
SET mig.batch_size = 0;
SET mig.max_file_size = '2GB';
SET mig.database = 'other';
-- the prefix is reserved: a misspelt setting is an error, not a placeholder
SET mig.spooldir = '/tmp';

RESET ALL;
SHOW mig.spool_dir;

-- a target's bounds are the superuser's to set (and to grant): a role that
-- may ask for targets may not lift them, not even to 0, no limit
SET mig.target_timeout = '1s';
SET mig.target_memory = '64MB';
SHOW mig.target_timeout;
SHOW mig.target_memory;
RESET ALL;
CREATE ROLE mig_guc_user;
SET ROLE mig_guc_user;
SET mig.target_timeout = 0;
SET mig.target_memory = 0;
SELECT set_config('mig.target_timeout', '1h', false);
SHOW mig.target_timeout;
RESET ROLE;
GRANT SET ON PARAMETER mig.target_timeout TO mig_guc_user;
SET ROLE mig_guc_user;
SET mig.target_timeout = '10s';
SHOW mig.target_timeout;
RESET ROLE;
RESET mig.target_timeout;
REVOKE SET ON PARAMETER mig.target_timeout FROM mig_guc_user;
DROP ROLE mig_guc_user;
