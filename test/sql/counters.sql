-- The action counters always equal what commands holds for the action,
-- whoever writes commands and however (INSERT, UPDATE of status or
-- actionid, DELETE, TRUNCATE, INSERT ... ON CONFLICT), and mig_recount()
-- makes them true again after the triggers were bypassed.
CREATE EXTENSION mig;
INSERT INTO agents VALUES
	(1, 'host1', 'linux.host1', 'linux', '1', 1, now(), NULL, now(), 'online'),
	(2, 'host2', 'linux.host2', 'linux', '1', 1, now(), NULL, now(), 'online');
INSERT INTO actions (id, name, target, validfrom, expireafter) VALUES
	(10, 'a', 't', now(), now()), (11, 'b', 't', now(), now()), (12, 'c', 't', now(), now());

-- what the counters say beside what commands holds; "ok" when they agree
CREATE FUNCTION pg_temp.counters() RETURNS TABLE(id numeric, sent int, returned int,
	done int, cancelled int, failed int, timeout int, ok boolean)
	LANGUAGE sql AS $$
	SELECT a.id, a.sentctr, a.returnedctr, a.donectr, a.cancelledctr, a.failedctr, a.timeoutctr,
	       (a.sentctr, a.returnedctr, a.donectr, a.cancelledctr, a.failedctr, a.timeoutctr)
	       IS NOT DISTINCT FROM (n.sent, n.returned, n.done, n.cancelled, n.failed, n.timeout)
	  FROM actions a,
	       LATERAL (SELECT count(*)::int AS sent,
	                       (count(*) FILTER (WHERE c.status NOT IN ('prepared', 'sent')))::int AS returned,
	                       (count(*) FILTER (WHERE c.status IN ('done', 'success')))::int AS done,
	                       (count(*) FILTER (WHERE c.status = 'cancelled'))::int AS cancelled,
	                       (count(*) FILTER (WHERE c.status = 'failed'))::int AS failed,
	                       (count(*) FILTER (WHERE c.status = 'timeout'))::int AS timeout
	                  FROM commands c WHERE c.actionid = a.id) n
	 ORDER BY a.id $$;

-- no commands yet: the counters start at zero
SELECT * FROM pg_temp.counters();

-- one INSERT of several commands of several actions
INSERT INTO commands VALUES
	(1, 10, 1, 'prepared', NULL, now(), NULL),
	(2, 10, 2, 'sent', NULL, now(), NULL),
	(3, 11, 1, 'success', NULL, now(), now()),
	(4, 11, 2, 'timeout', NULL, now(), now()),
	(5, 12, 1, 'expired', NULL, now(), now());
SELECT * FROM pg_temp.counters();

-- UPDATE: a status, an action, and a change that moves nothing
UPDATE commands SET status = 'failed' WHERE id = 2;
UPDATE commands SET actionid = 12, status = 'cancelled' WHERE id = 4;
UPDATE commands SET results = '[{"foundanything": true}]' WHERE id = 3;
SELECT * FROM pg_temp.counters();

-- INSERT ... ON CONFLICT, as the spool sync writes: inserted and updated rows
INSERT INTO commands VALUES (1, 10, 1, 'done', NULL, now(), now()),
                            (6, 10, 2, 'sent', NULL, now(), NULL)
	ON CONFLICT (id) DO UPDATE SET status = excluded.status;
SELECT * FROM pg_temp.counters();

-- DELETE
DELETE FROM commands WHERE id IN (1, 5);
SELECT * FROM pg_temp.counters();

-- a role that may write commands but not actions keeps them true too
CREATE ROLE mig_counter_writer;
GRANT USAGE ON SCHEMA mig TO mig_counter_writer;
GRANT SELECT, INSERT, UPDATE, DELETE ON commands TO mig_counter_writer;
SET ROLE mig_counter_writer;
INSERT INTO commands VALUES (7, 11, 2, 'failed', NULL, now(), now());
RESET ROLE;
SELECT * FROM pg_temp.counters();

-- a rolled-back statement leaves them as they were
BEGIN;
UPDATE commands SET status = 'success';
ROLLBACK;
SELECT * FROM pg_temp.counters() WHERE NOT ok;

-- bypassed triggers: mig_recount() puts them right, one action or all
ALTER TABLE commands DISABLE TRIGGER USER;
INSERT INTO commands VALUES (8, 12, 2, 'sent', NULL, now(), NULL);
UPDATE actions SET sentctr = 99 WHERE id = 10;
ALTER TABLE commands ENABLE TRIGGER USER;
SELECT id, ok FROM pg_temp.counters();
SELECT mig_recount(10) AS changed;
SELECT mig_recount() AS changed;
SELECT mig_recount() AS changed;
SELECT * FROM pg_temp.counters() WHERE NOT ok;
SELECT mig_recount(999);
SELECT mig_recount(NULL) AS changed;
-- mig_recount writes with the caller's rights
SET ROLE mig_counter_writer;
SELECT mig_recount(10);
RESET ROLE;

-- The counters' statements find the actions of a statement's commands by
-- id, however many actions came after their plans were made (a plan made
-- once and kept, from the sixth run on): no scan of the whole table.
ALTER TABLE actions SET (autovacuum_enabled = off);
VACUUM ANALYZE actions;
INSERT INTO commands VALUES (30, 10, 1, 'sent', NULL, now(), NULL);
DO $$
BEGIN
	FOR i IN 1..8 LOOP
		UPDATE commands SET status = CASE status WHEN 'sent' THEN 'success' ELSE 'sent' END
		 WHERE id = 30;
	END LOOP;
END $$;
INSERT INTO actions (id, name, target, validfrom, expireafter)
	SELECT 1000 + i, 'many', 't', now(), now() FROM generate_series(1, 20000) AS i;
BEGIN;
SELECT seq_scan AS seq0 FROM pg_stat_xact_user_tables WHERE relid = 'actions'::regclass \gset
UPDATE commands SET status = 'timeout' WHERE id = 30;
SELECT seq_scan - :seq0 AS seq_scans FROM pg_stat_xact_user_tables
 WHERE relid = 'actions'::regclass;
COMMIT;
SELECT * FROM pg_temp.counters() WHERE NOT ok;
DELETE FROM actions WHERE id > 1000;
ALTER TABLE actions RESET (autovacuum_enabled);

-- TRUNCATE: nothing left to count
TRUNCATE commands;
SELECT * FROM pg_temp.counters();

DROP EXTENSION mig;
REVOKE USAGE ON SCHEMA mig FROM mig_counter_writer;
DROP ROLE mig_counter_writer;
