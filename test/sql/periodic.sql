-- The periodic tasks on crafted rows, times relative to now(): liveness as
-- MIG's scheduler marks agents, MIG's agent statistics beside MIG's own
-- queries (database/agents.go) run on the same rows, the duplicate agents,
-- and the purge (dry run, then for real) with its retention settings.
CREATE EXTENSION mig;
SET mig.agent_heartbeat_freq = '5min';
SET mig.agent_timeout = '20min';

-- agents: id, queue location, version, status, last heartbeat and start
-- (minutes ago)
CREATE FUNCTION pg_temp.agent(id int, q text, v text, st text, hb_min int, start_min int)
	RETURNS void LANGUAGE sql AS $$
	INSERT INTO agents VALUES (id, 'host' || id, q, 'linux', v, id, now() - start_min * interval '1 min',
	                           NULL, now() - hb_min * interval '1 min', st) $$;
SELECT pg_temp.agent(1, 'q1', 'v1', 'online', 1, 600);       -- alive
SELECT pg_temp.agent(2, 'q2', 'v1', 'online', 30, 600);      -- silent 30 min: idle
SELECT pg_temp.agent(3, 'q3', 'v2', 'online', 24, 600);      -- 24 min, under 5 x 5 min: stays
SELECT pg_temp.agent(4, 'q4', 'v2', 'idle', 21, 600);        -- past the timeout: offline
SELECT pg_temp.agent(5, 'q5', 'v2', 'idle', 19, 600);        -- not yet
SELECT pg_temp.agent(6, 'q6', 'v1', 'destroyed', 9000, 9999); -- never touched
SELECT pg_temp.agent(7, 'q1', 'v2', 'online', 2, 60);        -- a second agent on q1
SELECT pg_temp.agent(8, 'q7', 'v3', 'offline', 3000, 100);   -- heard 2 days ago, gone since
SELECT pg_temp.agent(9, 'q8', 'v3', 'online', 1, 30);        -- a new endpoint
SELECT pg_temp.agent(10, 'q9', 'v3', 'online', 1, 30);       -- started recently, but seen days ago too:
SELECT pg_temp.agent(11, 'q9', 'v3', 'offline', 2 * 1440, 5000);
SELECT pg_temp.agent(12, 'q5', 'v1', 'idle', 10, 600);       -- q5: two idle agents

-- liveness: one run, then a second that changes nothing (every task named)
SELECT task, rows FROM mig_periodic() WHERE task LIKE 'agents %' ORDER BY task;
SELECT id, status FROM agents ORDER BY id;
SELECT task, rows FROM mig_periodic() ORDER BY task;
-- a heartbeat brings an agent back online; a destroyed one stays destroyed
SELECT mig_agent_heartbeat('{"id": 4, "name": "host4", "queueloc": "q4"}');
SELECT mig_agent_heartbeat('{"id": 6, "name": "host6", "queueloc": "q6"}');
SELECT id, status FROM agents WHERE id IN (4, 6) ORDER BY id;

-- MIG's statistics, and MIG's own queries on the same rows
SELECT online_agents, online_agents_by_version, online_endpoints, idle_agents,
       idle_agents_by_version, idle_endpoints, new_endpoints, multi_agents_endpoints,
       disappeared_endpoints, flapping_endpoints, "timestamp" = now() AS now
  FROM mig_agents_stats();
WITH s AS (SELECT * FROM mig_agents_stats()),
mig AS (SELECT
  (SELECT coalesce(sum(c), 0) FROM (SELECT COUNT(*) c, version FROM agents
     WHERE agents.status = 'online' GROUP BY version) x) AS online_agents,
  (SELECT COUNT(DISTINCT(queueloc)) FROM agents WHERE status = 'online') AS online_endpoints,
  (SELECT coalesce(sum(c), 0) FROM (SELECT COUNT(*) c, version FROM agents
     WHERE agents.status = 'idle' AND agents.queueloc NOT IN (
       SELECT distinct(queueloc) FROM agents WHERE agents.status = 'online')
     GROUP BY version) x) AS idle_agents,
  (SELECT COUNT(*) FROM (SELECT queueloc FROM agents WHERE status = 'idle'
     AND queueloc NOT IN (SELECT queueloc FROM agents WHERE status = 'online' GROUP BY queueloc)
     GROUP BY queueloc) AS idleendpoints) AS idle_endpoints,
  (SELECT COUNT(*) FROM (SELECT queueloc FROM agents WHERE queueloc NOT IN (
       SELECT queueloc FROM agents WHERE heartbeattime > now() - interval '7 days'
       AND heartbeattime < now() - interval '24 hours' GROUP BY queueloc)
     AND starttime > now() - interval '24 hours' GROUP BY queueloc) AS newendpoints) AS new_endpoints,
  (SELECT COUNT(*) FROM (SELECT queueloc FROM agents WHERE queueloc IN (
       SELECT queueloc FROM agents WHERE status = 'online' GROUP BY queueloc
       HAVING count(queueloc) > 1) GROUP BY queueloc) AS doubleagents) AS multi_agents_endpoints,
  (SELECT COUNT(*) FROM (SELECT queueloc FROM agents WHERE queueloc NOT IN (
       SELECT queueloc FROM agents WHERE status = 'idle' OR status = 'online' GROUP BY queueloc)
     AND heartbeattime > now() - interval '7 days' GROUP BY queueloc) AS disappeared) AS disappeared_endpoints,
  (SELECT COUNT(*) FROM (SELECT queueloc FROM agents WHERE status = 'online' OR status = 'idle'
     GROUP BY queueloc HAVING count(queueloc) > 1) AS flapping) AS flapping_endpoints,
  (SELECT json_agg(json_build_object('version', version, 'count', c) ORDER BY version)::text
     FROM (SELECT COUNT(*) c, version FROM agents WHERE agents.status = 'online' GROUP BY version) x)
     AS online_agents_by_version,
  (SELECT json_agg(json_build_object('version', version, 'count', c) ORDER BY version)::text
     FROM (SELECT COUNT(*) c, version FROM agents WHERE agents.status = 'idle'
       AND agents.queueloc NOT IN (SELECT distinct(queueloc) FROM agents WHERE agents.status = 'online')
       GROUP BY version) x) AS idle_agents_by_version)
SELECT (s.online_agents, s.online_endpoints, s.idle_agents, s.idle_endpoints, s.new_endpoints,
        s.multi_agents_endpoints, s.disappeared_endpoints, s.flapping_endpoints,
        s.online_agents_by_version::text, s.idle_agents_by_version::text) =
       (m.online_agents, m.online_endpoints, m.idle_agents, m.idle_endpoints, m.new_endpoints,
        m.multi_agents_endpoints, m.disappeared_endpoints, m.flapping_endpoints,
        m.online_agents_by_version, m.idle_agents_by_version) AS same_as_mig
  FROM s, mig m;
-- mig_agents_stats() beside MIG's queries, number for number
CREATE FUNCTION pg_temp.same_as_mig() RETURNS boolean LANGUAGE sql AS $$
SELECT (SELECT array[online_agents, idle_agents, online_endpoints, idle_endpoints, new_endpoints,
                     multi_agents_endpoints, disappeared_endpoints, flapping_endpoints]
          FROM mig_agents_stats()) =
       array[(SELECT count(*) FROM agents WHERE status = 'online'),
             (SELECT count(*) FROM agents WHERE status = 'idle' AND queueloc NOT IN (
                SELECT queueloc FROM agents WHERE status = 'online')),
             (SELECT COUNT(DISTINCT(queueloc)) FROM agents WHERE status = 'online'),
             (SELECT COUNT(DISTINCT queueloc) FROM agents WHERE status = 'idle' AND queueloc NOT IN (
                SELECT queueloc FROM agents WHERE status = 'online')),
             (SELECT COUNT(DISTINCT queueloc) FROM agents WHERE queueloc NOT IN (
                SELECT queueloc FROM agents WHERE heartbeattime > now() - interval '7 days'
                AND heartbeattime < now() - interval '24 hours') AND starttime > now() - interval '24 hours'),
             (SELECT count(*) FROM (SELECT queueloc FROM agents WHERE status = 'online'
                GROUP BY queueloc HAVING count(*) > 1) x),
             (SELECT COUNT(DISTINCT queueloc) FROM agents WHERE queueloc NOT IN (
                SELECT queueloc FROM agents WHERE status IN ('idle', 'online'))
                AND heartbeattime > now() - interval '7 days'),
             (SELECT count(*) FROM (SELECT queueloc FROM agents WHERE status IN ('online', 'idle')
                GROUP BY queueloc HAVING count(*) > 1) x)] $$;
-- many agents, versions, queue locations and idle ones (the hash tables
-- grow as they fill: more than 1,843 queue locations, the threshold of a
-- table made for 1,024)
INSERT INTO agents SELECT 1000 + i, 'host' || i, 'qq' || (i % 2400), 'linux', 'v' || (i % 40), i,
       now() - (i % 50) * interval '1 hour', NULL, now() - (i % 300) * interval '1 hour',
       (ARRAY['online', 'idle', 'offline', 'idle'])[1 + i % 4]
  FROM generate_series(1, 3000) i;
SELECT pg_temp.same_as_mig() AS many_same_as_mig,
       (SELECT json_array_length(idle_agents_by_version) FROM mig_agents_stats()) AS idle_versions;
DELETE FROM agents WHERE id > 1000;

-- a fleet of agents long gone, as MIG's was: 30,000 offline agents, last
-- heard from weeks ago, with 1% of them online or idle, 1% offline but
-- heard from this week, 1% started in the last day.  The statistics then
-- read these rows alone, found through the indexes, without a scan of the
-- table; with more than a tenth of the rows live, or without one of the
-- indexes, they scan the table.  The numbers are MIG's every time.
CREATE FUNCTION pg_temp.stats_read() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	seq0 bigint;
	idx0 bigint;
	seq1 bigint;
	idx1 bigint;
BEGIN
	SELECT seq_scan, idx_scan INTO seq0, idx0 FROM pg_stat_xact_user_tables WHERE relid = 'agents'::regclass;
	PERFORM * FROM mig_agents_stats();
	SELECT seq_scan, idx_scan INTO seq1, idx1 FROM pg_stat_xact_user_tables WHERE relid = 'agents'::regclass;
	RETURN CASE WHEN seq1 > seq0 THEN 'the table' WHEN idx1 > idx0 THEN 'the indexes' ELSE 'nothing' END;
END $$;
INSERT INTO agents SELECT 100000 + i, 'gone' || i, 'g' || (i % 9000), 'linux', 'v' || (i % 7), i,
       CASE WHEN i % 100 = 2 THEN now() - interval '2 hours' ELSE now() - interval '60 days' END,
       NULL,
       CASE WHEN i % 100 = 0 THEN now() - (i % 40) * interval '1 min'
            WHEN i % 100 = 1 THEN now() - interval '3 days'
            ELSE now() - interval '20 days' - i * interval '1 min' END,
       CASE WHEN i % 100 <> 0 THEN 'offline' WHEN i % 200 = 0 THEN 'online' ELSE 'idle' END
  FROM generate_series(1, 30000) i;
VACUUM ANALYZE agents;
SELECT pg_temp.stats_read() AS read, pg_temp.same_as_mig(),
       online_agents, idle_agents, new_endpoints, disappeared_endpoints
  FROM mig_agents_stats();
BEGIN;
DROP INDEX agents_starttime_idx;
SELECT pg_temp.stats_read() AS read_without_an_index, pg_temp.same_as_mig();
ROLLBACK;
UPDATE agents SET status = 'online', heartbeattime = now() WHERE id > 100000 AND id % 100 < 15;
VACUUM ANALYZE agents;
SELECT pg_temp.stats_read() AS read_fifteen_percent_live, pg_temp.same_as_mig(), online_agents
  FROM mig_agents_stats();
DELETE FROM agents WHERE id > 100000;

-- the periodic run keeps them
SELECT count(*) AS kept, max(online_agents) AS online_agents FROM agents_stats;

-- queue locations with more than one live agent (q1's two heard from
-- now: a slow run, under valgrind, outlasts the 5 minutes since the start)
UPDATE agents SET heartbeattime = now() - interval '1 min' WHERE id IN (1, 7);
SELECT * FROM mig_duplicate_agents;
UPDATE agents SET mode = 'checkin' WHERE id = 7;
SELECT * FROM mig_duplicate_agents;
-- the view's heartbeat period, when the session has not loaded mig (and so
-- has no mig.agent_heartbeat_freq), is the setting's default: the one
-- written in C, checked here
SELECT substring(pg_get_viewdef('mig_duplicate_agents'::regclass) FROM $$'([0-9]+min)'$$)::interval
       = (SELECT (boot_val || ' ms')::interval FROM pg_settings
           WHERE name = 'mig.agent_heartbeat_freq') AS same_default;

-- retention: off by default
INSERT INTO modules VALUES (1, 'file');
INSERT INTO actions (id, name, target, validfrom, expireafter, finishtime, status) VALUES
	(100, 'old, finished', 't', now() - interval '40 days', now() - interval '1 day', now() - interval '31 days', 'completed'),
	(101, 'old, expired', 't', now() - interval '60 days', now() - interval '35 days', NULL, 'inflight'),
	-- (Go's zero time, as MIG's scheduler writes an action not finished)
	(102, 'recent', 't', now() - interval '2 days', now() + interval '1 day', '0001-01-01 00:00:00+00', 'inflight');
INSERT INTO commands VALUES
	(1, 100, 8, 'success', NULL, now() - interval '40 days', now() - interval '39 days'),
	(2, 100, 2, 'failed', NULL, now() - interval '40 days', now() - interval '39 days'),
	(3, 101, 8, 'sent', NULL, now() - interval '60 days', NULL),
	(4, 102, 11, 'sent', NULL, now(), NULL);
INSERT INTO agtmodreq VALUES (1, 2, 1);
INSERT INTO spool_files (path, spool, kind, dir, outcome) VALUES
	('/old/spool/action/done/1.json', '/old/spool', 'action', 'done', 'ingested'),
	(current_setting('mig.spool_dir') || '/action/done/2.json', current_setting('mig.spool_dir'), 'action', 'done', 'ingested');
SELECT * FROM mig_purge();
SELECT * FROM mig_purge(false);
SELECT count(*) AS commands FROM commands;

-- commands of actions finished or expired 30 days ago, agents silent 1 day
SET mig.command_retention = '30d';
SET mig.agent_retention = '1d';
SET mig.purge_batch = 1;
SELECT * FROM mig_purge();
SELECT * FROM mig_purge(false);
SELECT id FROM commands ORDER BY id;
-- agent 8 went with its commands; 11, as silent, keeps its live command;
-- (2 has an ACL row, but was heard from within the day)
SELECT id FROM agents WHERE heartbeattime < now() - interval '1 day' ORDER BY id;
SELECT id, sentctr, returnedctr, donectr, failedctr FROM actions ORDER BY id;
SELECT path FROM spool_files ORDER BY path;
-- actions are never purged; their counters equal what is left
SELECT count(*) AS actions_kept FROM actions;
SELECT * FROM mig_purge();

-- the settings are the superuser's
CREATE ROLE mig_periodic_nobody;
GRANT USAGE ON SCHEMA mig TO mig_periodic_nobody;
SET ROLE mig_periodic_nobody;
SET mig.command_retention = '1s';
SELECT * FROM mig_purge();
RESET ROLE;
REVOKE USAGE ON SCHEMA mig FROM mig_periodic_nobody;
DROP ROLE mig_periodic_nobody;
DROP EXTENSION mig;
