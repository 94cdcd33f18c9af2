-- Nothing of mig is usable by PUBLIC: an unprivileged role can neither read
-- nor write the tables nor call the functions.  README.md's recipes for a
-- scheduler, an investigator, a spool-sync and a monitoring role, run
-- verbatim (test/readme-sql takes each from README.md, its only copy, and
-- \i echoes it below), give each role what it is for and nothing else.
-- The worker's recipe is run by test/t/035_worker_role.pl.
CREATE EXTENSION mig;
CREATE ROLE mig_nobody;

-- no PUBLIC privilege anywhere in the extension
SELECT count(*) AS public_grants
  FROM pg_depend d
  JOIN pg_class c ON c.oid = d.objid AND d.classid = 'pg_class'::regclass
  CROSS JOIN LATERAL aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'mig')
   AND d.deptype = 'e' AND a.grantee = 0;
SELECT p.oid::regprocedure AS public_executable
  FROM pg_depend d
  JOIN pg_proc p ON p.oid = d.objid AND d.classid = 'pg_proc'::regclass
  CROSS JOIN LATERAL aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'mig')
   AND d.deptype = 'e' AND a.grantee = 0;

-- nor the schema: mig's objects are out of its reach by any name
SELECT has_schema_privilege('mig_nobody', 'mig', 'USAGE') AS nobody_uses_mig;
SET ROLE mig_nobody;
SELECT * FROM mig.actions;
SELECT mig.mig_version();
RESET ROLE;
-- and with the schema's USAGE, every table and function still refuses it
GRANT USAGE ON SCHEMA mig TO mig_nobody;
SET ROLE mig_nobody;
SELECT * FROM actions;
SELECT * FROM investigators;
INSERT INTO modules VALUES (1, 'file');
UPDATE agents SET status = 'x';
DELETE FROM commands;
SELECT mig_version();
RESET ROLE;

-- what the superuser keeps: investigators (Ivan's key, test/fixtures/authz)
-- and modules; ACLs once the scheduler has registered the agents
\set ivan `cat test/fixtures/authz/ivan.pub`
\set a1 `cat test/fixtures/authz/a1.json`
\set a1ivan `cat test/fixtures/authz/a1.ivan.asc`
\set a1txt `cat test/fixtures/authz/a1.txt`
INSERT INTO investigators (id, name, publickey) VALUES (1, 'Ivan', :'ivan');
INSERT INTO modules VALUES (1, 'default'), (2, 'file');

------------------------------------------------------------------------------
-- (a) the scheduler
------------------------------------------------------------------------------
\! perl test/readme-sql recipe scheduler >results/recipe-scheduler.sql
\i results/recipe-scheduler.sql

SET ROLE mig_scheduler;
-- heartbeats: an agent with its id, a new one numbered from agent_id_seq
SELECT mig_agent_heartbeat('{"id": 1, "name": "host1", "queueloc": "linux.host1", "os": "linux",
  "environment": {"os": "linux"}, "tags": {"operator": "IT"}}');
SELECT mig_agent_heartbeat('{"name": "host2", "queueloc": "linux.host2", "os": "linux"}');
SELECT a.id, a.status, a.tags FROM agents a ORDER BY 1;
RESET ROLE;
INSERT INTO agtmodreq VALUES (2, 1, 1);
INSERT INTO invagtmodperm VALUES (1, 1, 2, 1);

SET ROLE mig_scheduler;
-- an action signed by Ivan: verified, recorded, authorized on host1 only
INSERT INTO actions (id, name, target, validfrom, expireafter, operations, pgpsignatures, status)
SELECT 1, a->>'name', a->>'target', (a->>'validfrom')::timestamptz, (a->>'expireafter')::timestamptz,
       a->'operations', json_build_array(:'a1ivan'::text), 'pending'
  FROM (SELECT :'a1'::json AS a) s;
SELECT position, investigator_id, valid, reason FROM mig_verify_action(1);
SELECT mig_authorize(1, 1) AS host1, mig_authorize(1, 2) AS host2,
       array(SELECT mig_authorized_agents(1)) AS authorized;
SELECT module, authorized, reason FROM mig_authorize_explain(1, 2);
SELECT mig_action_string(json_build_object('name', name, 'target', target, 'validfrom', validfrom,
         'expireafter', expireafter, 'operations', operations)) = :'a1txt' AS signed_string
  FROM actions WHERE id = 1;
-- targets and the plan (action 1 targets status='online')
SELECT array(SELECT mig_target_agents('tags->>''operator''=''IT''')) AS targeted,
       array(SELECT mig_action_targets(1) ORDER BY 1) AS planned;
SELECT agent_id, authorized, reason FROM mig_action_plan(1) ORDER BY 1;
-- its commands, and the counters the triggers keep
INSERT INTO commands (id, actionid, agentid, status, starttime) VALUES (1, 1, 1, 'sent', now());
UPDATE commands SET status = 'success', finishtime = now() WHERE id = 1;
UPDATE actions SET status = 'completed' WHERE id = 1;
SELECT status, sentctr, returnedctr, donectr FROM actions WHERE id = 1;
SELECT investigatorid FROM signatures WHERE actionid = 1;
-- not for it: investigators, modules, ACLs, deleting, the record, the
-- spool, the worker
INSERT INTO investigators VALUES (9, 'Mallory', NULL, NULL);
UPDATE investigators SET publickey = NULL;
INSERT INTO modules VALUES (9, 'exec');
INSERT INTO invagtmodperm VALUES (1, 2, 2, 1);
UPDATE agtmodreq SET minimumweight = 1;
DELETE FROM commands;
DELETE FROM agents WHERE id = 2;
SELECT count(*) FROM verifications;
SELECT * FROM mig_spool_sync('/nonexistent');
SELECT state FROM mig_worker_status;
SELECT mig_key_fingerprint('x');
RESET ROLE;

------------------------------------------------------------------------------
-- (b) the investigator
------------------------------------------------------------------------------
\! perl test/readme-sql recipe investigator >results/recipe-investigator.sql
\i results/recipe-investigator.sql

SET ROLE mig_investigator;
SELECT id, name, status FROM actions;
SELECT id, agentid, status FROM commands;
SELECT investigatorid FROM signatures;
SELECT mig_key_fingerprint(:'ivan');
SELECT mig_verify_signature(mig_action_string(json_build_object('name', name, 'target', target,
         'validfrom', validfrom, 'expireafter', expireafter, 'operations', operations)),
       pgpsignatures->>0, :'ivan') AS signer
  FROM actions WHERE id = 1;
-- why not host2, and the dry run
SELECT module, authorized, reason FROM mig_authorize_explain(1, 2);
SELECT agent_id, authorized FROM mig_action_plan(1) ORDER BY 1;
SELECT array(SELECT mig_target_agents('os = ''linux''') ORDER BY 1) AS targeted;
-- not for it: writing, the keys and ACLs, deciding
UPDATE agents SET status = 'offline';
INSERT INTO actions (id, name, target, validfrom, expireafter) VALUES (2, 'n', 'true', now(), now());
UPDATE commands SET status = 'cancelled';
SELECT count(*) FROM investigators;
SELECT count(*) FROM invagtmodperm;
SELECT count(*) FROM agtmodreq;
SELECT mig_authorize(1, 1);
SELECT mig_action_targets(1);
SELECT * FROM mig_verify_action(1);
SELECT mig_agent_heartbeat('{"name": "host3", "queueloc": "linux.host3"}');
RESET ROLE;

------------------------------------------------------------------------------
-- (c) the spool sync: a spool of 2 actions and 4 commands (bench/mkspool)
-- whose 2 agents are not registered yet
------------------------------------------------------------------------------
\set spool `echo "$PWD/results/privileges-spool"`
\! rm -rf results/privileges-spool && perl bench/mkspool results/privileges-spool 4 --actions 2 --agents 2 --first-id 100 --agent-first 10 --heartbeats results/privileges-heartbeats.jsonl >/dev/null
\! perl test/readme-sql recipe spool-sync >results/recipe-spool-sync.sql
\i results/recipe-spool-sync.sql

SET ROLE mig_sync;
SELECT * FROM mig_spool_sync(:'spool');
RESET ROLE;
-- the agents' heartbeats arrive (the scheduler's part)
\set hb `cat results/privileges-heartbeats.jsonl`
SET ROLE mig_scheduler;
SELECT count(mig_agent_heartbeat(l::json)) FROM regexp_split_to_table(:'hb', E'\n') l WHERE l <> '';
RESET ROLE;
SET ROLE mig_sync;
SELECT * FROM mig_spool_sync(:'spool');
SELECT id, status, sentctr, returnedctr FROM actions WHERE id >= 100 ORDER BY id;
SELECT outcome, count(*) FROM spool_files GROUP BY 1 ORDER BY 1;
-- not for it: investigators, agents, ACLs, deleting actions, deciding
SELECT count(*) FROM investigators;
SELECT mig_agent_heartbeat('{"name": "host3", "queueloc": "linux.host3"}');
INSERT INTO agents VALUES (9, 'h', 'q', 'linux', '1', 1, now(), NULL, now(), 'online');
UPDATE agtmodreq SET minimumweight = 1;
DELETE FROM actions WHERE id = 100;
SELECT mig_authorize(1, 1);
SELECT state FROM mig_worker_status;
RESET ROLE;
-- without pg_read_server_files it may not read the spool
REVOKE pg_read_server_files FROM mig_sync;
SET ROLE mig_sync;
SELECT * FROM mig_spool_sync(:'spool');
RESET ROLE;

------------------------------------------------------------------------------
-- (d) monitoring
------------------------------------------------------------------------------
-- a grant on mig_worker_status alone is not enough: the view calls
-- mig_worker_state(), which PostgreSQL checks against the view's reader
CREATE ROLE mig_viewer;
GRANT USAGE ON SCHEMA mig TO mig_viewer;
GRANT SELECT ON mig_worker_status TO mig_viewer;
SET ROLE mig_viewer;
SELECT state FROM mig_worker_status;
RESET ROLE;

\! perl test/readme-sql recipe monitor >results/recipe-monitor.sql
\i results/recipe-monitor.sql

SET ROLE mig_monitor;
SELECT state IS NOT NULL AS has_state, backlog >= 0 AS has_backlog FROM mig_worker_status;
SELECT outcome, count(*) FROM spool_files GROUP BY 1 ORDER BY 1;
SELECT count(*) >= 0 AS readable FROM agents_stats;
SELECT * FROM mig_duplicate_agents;
-- not for it: the data, the functions that act
SELECT count(*) FROM actions;
SELECT count(*) FROM agents;
SELECT count(*) FROM investigators;
SELECT * FROM mig_agents_stats();
SELECT mig_worker_launch();
SELECT * FROM mig_spool_sync();
SELECT * FROM mig_periodic();
DELETE FROM spool_files;
RESET ROLE;

\! rm -rf results/privileges-spool results/privileges-heartbeats.jsonl
DROP EXTENSION mig;
DROP SCHEMA mig;		-- and the grants on it
DROP ROLE mig_nobody;
DROP ROLE mig_scheduler;
DROP ROLE mig_investigator;
DROP ROLE mig_sync;
DROP ROLE mig_viewer;
DROP ROLE mig_monitor;
