-- The mig.* settings: defaults, units, bounds, and refusal of bad values.
SELECT name, setting, unit, context, vartype, min_val, max_val, boot_val
  FROM pg_settings WHERE name LIKE 'mig.%' ORDER BY name;

SHOW mig.rescan_interval;
SHOW mig.max_file_size;

-- good values, with units
SET mig.spool_dir = '/srv/mig/spool';
SHOW mig.spool_dir;
SET mig.rescan_interval = '5s';
SHOW mig.rescan_interval;
SET mig.rescan_interval = 250;
SHOW mig.rescan_interval;
SET mig.batch_size = 50;
SHOW mig.batch_size;
SET mig.max_file_size = '64MB';
SHOW mig.max_file_size;

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
