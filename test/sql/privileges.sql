-- Nothing of mig is usable by PUBLIC: an unprivileged role can neither read
-- nor write the tables nor call the functions.  doc/roles.md's recipes for a
-- scheduler, an investigator, a spool-sync and a monitoring role, and for
-- MIG's own migreadonly, migscheduler and migapi, run verbatim
-- (test/readme-sql takes each from doc/roles.md, its only copy, and \i echoes
-- it below), give each role what it is for and nothing else; the secrets
-- (the scheduler's private key, API keys, loaders' keys) are readable by
-- their one role only.  The worker's recipe is run by
-- test/t/035_worker_role.pl; MIG's calls themselves, as migscheduler and
-- migapi, by test/t/070_mig_client.pl.
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

------------------------------------------------------------------------------
-- (e) MIG's own roles: migreadonly, migscheduler, migapi (doc/roles.md, MIG's
-- scheduler and API), each statement below one MIG's code sends
------------------------------------------------------------------------------
\! perl test/readme-sql recipe migreadonly >results/recipe-migreadonly.sql
\i results/recipe-migreadonly.sql
\! perl test/readme-sql recipe migscheduler >results/recipe-migscheduler.sql
\i results/recipe-migscheduler.sql
\! perl test/readme-sql recipe migapi >results/recipe-migapi.sql
\i results/recipe-migapi.sql
\! perl test/readme-sql recipe mig-passwords >results/recipe-mig-passwords.sql
\i results/recipe-mig-passwords.sql
SELECT rolname, rolcanlogin, rolpassword LIKE 'md5%' AS md5,
       array(SELECT b.rolname FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid
              WHERE m.member = r.oid) AS member_of,
       array(SELECT unnest(setconfig) FROM pg_db_role_setting WHERE setrole = r.oid) AS settings
  FROM pg_authid r WHERE rolname IN ('migreadonly', 'migscheduler', 'migapi') ORDER BY 1;

-- no function or view of mig gives a secret column, or a whole row of a
-- table that holds one
SELECT p.oid::regprocedure::text AS gives_a_secret
  FROM pg_depend d JOIN pg_proc p ON p.oid = d.objid AND d.classid = 'pg_proc'::regclass
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'mig') AND d.deptype = 'e'
   AND (p.proargnames && ARRAY['privatekey', 'apikey', 'apisalt', 'loaderkey', 'salt']
        OR p.prorettype IN ('mig.investigators'::regtype, 'mig.loaders'::regtype))
UNION ALL
SELECT c.oid::regclass::text
  FROM pg_depend d JOIN pg_class c ON c.oid = d.objid AND d.classid = 'pg_class'::regclass
  JOIN pg_attribute a ON a.attrelid = c.oid
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'mig') AND d.deptype = 'e'
   AND c.relkind = 'v' AND a.attname IN ('privatekey', 'apikey', 'apisalt', 'loaderkey', 'salt');

-- (Ivan was inserted by hand with his id: MIG's investigators are
-- numbered by the sequence, which goes on after him)
SELECT setval('investigators_id_seq', max(id)::bigint) FROM investigators;

-- the scheduler at its first start: no key yet, it makes one and stores it
-- (InsertSchedulerInvestigator), then reads its own identity back
SET ROLE migscheduler;
SELECT privatekey FROM investigators WHERE name ='migscheduler' AND status='active' ORDER BY id ASC LIMIT 1;
INSERT INTO investigators (name, pgpfingerprint, publickey, privatekey, status, createdat, lastmodified)
VALUES ('migscheduler', NULL, NULL, '\x736563726574', 'active', '2026-01-01 00:00:00+00', '2026-01-01 00:00:00+00');
SELECT convert_from(privatekey, 'UTF8') AS privatekey FROM investigators
 WHERE name ='migscheduler' AND status='active' ORDER BY id ASC LIMIT 1;
SELECT id, name, status, createdat, lastmodified FROM investigators
 WHERE name ='migscheduler' AND status='active' ORDER BY id ASC LIMIT 1;
-- the keyring: keys, never API keys
SELECT count(*) FROM investigators WHERE status='active' AND publickey IS NOT NULL;
SELECT apikey FROM investigators;
-- a heartbeat (os is filled in by mig's trigger), the loader of its queue
INSERT INTO agents (id, name, queueloc, mode, version, pid, starttime, destructiontime, heartbeattime,
                    refreshtime, status, environment, tags, loadername)
VALUES (3, 'host3', 'linux.host3', 'daemon', '20260101', 33, '2026-01-01', '9998-01-11 11:11:11+00',
        '2026-01-01', '2026-01-01', 'online', '{"os": "linux"}', '{"operator": "IT"}',
        (SELECT loadername FROM loaders WHERE queueloc = 'linux.host3' LIMIT 1));
UPDATE agents SET status='online', heartbeattime='2026-01-02',
       loadername=(SELECT loadername FROM loaders WHERE queueloc = 'linux.host3' LIMIT 1) WHERE id=3;
-- a target, as migreadonly
SET ROLE migreadonly;
SELECT DISTINCT ON (queueloc) id, name, queueloc, status, mode, environment, tags
  FROM agents WHERE agents.status IN ('online', 'idle') AND (tags->>'operator'='IT' AND name LIKE 'host_')
 ORDER BY agents.queueloc ASC;
SET ROLE migscheduler;
-- an action of its own (a kill order), its signature, its command and how it ended
INSERT INTO actions (id, name, target, description, threat, operations, validfrom, expireafter, starttime,
                     finishtime, lastupdatetime, status, pgpsignatures, syntaxversion)
VALUES (3, 'Kill agent host3', 'queueloc=''linux.host3''', '{}', '{}', '[{"module":"agentdestroy"}]',
        '2026-01-01', '2036-01-01', '2026-01-01', '0001-01-01 00:00:00+00', '0001-01-01 00:00:00+00',
        'preparing', '["wsBcBAABCAAQ"]', 2);
INSERT INTO signatures(actionid, investigatorid, pgpsignature) VALUES(3, 1, 'wsBcBAABCAAQ');
INSERT INTO commands (id, actionid, agentid, status, starttime, finishtime, results)
VALUES (3, 3, 3, 'sent', '2026-01-01', '9998-01-11 11:11:11+00', '[]');
UPDATE commands SET status='success', results='[]', finishtime='2026-01-01 00:01:00+00'
 WHERE id=3 AND status!='success' AND agentid IN (
       SELECT id FROM agents WHERE agents.queueloc='linux.host3' AND agents.pid=33 AND status IN ('online','idle'));
SELECT DISTINCT(status), COUNT(id) FROM commands WHERE actionid = 3 GROUP BY status;
UPDATE actions SET (finishtime, lastupdatetime, status) = ('2026-01-01 00:02:00+00', '2026-01-01 00:02:00+00', 'completed') WHERE id=3;
INSERT INTO agents_stats (timestamp, online_agents, online_agents_by_version, online_endpoints, idle_agents,
                          idle_agents_by_version, idle_endpoints, new_endpoints, multi_agents_endpoints,
                          disappeared_endpoints, flapping_endpoints)
VALUES ('2026-01-01', 1, '[{"version":"20260101","count":1}]', 1, 0, 'null', 0, 0, 0, 0, 0);
-- and what mig adds: its action is verified (the signature is no real one)
SELECT position, investigator_id, valid FROM mig_verify_action(3);
-- not for it: API keys, loaders' keys, changing investigators, an action's
-- signed fields, deleting, the spool
SELECT loaderkey FROM loaders;
SELECT * FROM loaders;
UPDATE investigators SET status = 'disabled';
UPDATE actions SET target = 'true' WHERE id = 3;
DELETE FROM commands WHERE id = 3;
SELECT count(*) FROM spool_files;
SELECT mig_agent_heartbeat('{"name": "host4", "queueloc": "linux.host4"}');
RESET ROLE;

-- the API: an investigator whose armored key MIG sends as bytea hex
-- (NULLIF($3, E'\\x'::bytea)): stored as the armored text, verifying
\set judy `cat test/fixtures/authz/judy.pub`
SELECT '\x' || encode(convert_to(:'judy', 'UTF8'), 'hex') AS judyhex \gset
SET ROLE migapi;
PREPARE insert_investigator(text, text, bytea, timestamptz, timestamptz, bigint) AS
INSERT INTO investigators (name, pgpfingerprint, publickey, status, createdat, lastmodified, permissions)
VALUES ($1, NULLIF($2, ''), NULLIF($3, E'\\x'::bytea), 'active', $4, $5, $6) RETURNING id;
EXECUTE insert_investigator('Judy', '', :'judyhex', '2026-01-01', '2026-01-01', 3);
SELECT id, name, COALESCE(pgpfingerprint, '') <> '' AS fingerprint, COALESCE(publickey, '') = :'judy' AS armored,
       status, permissions, CASE WHEN apikey IS NOT NULL THEN 'set' ELSE '' END FROM investigators WHERE id=3;
-- an investigator without a key; the same key again, refused by MIG's name
EXECUTE insert_investigator('Nokey', '', '\x', '2026-01-01', '2026-01-01', 0);
EXECUTE insert_investigator('Judy again', '', :'judyhex', '2026-01-01', '2026-01-01', 0);
-- its API key
UPDATE investigators SET apikey='\x01020304', apisalt='\x0506' WHERE id=3;
SELECT id, apikey, apisalt FROM investigators WHERE apikey IS NOT NULL AND apisalt IS NOT NULL AND status='active';
-- not the scheduler's private key, by any path: a column, the whole row, an
-- error's detail (the row that breaks a constraint shows the columns the
-- role may read only)
SELECT privatekey FROM investigators;
SELECT * FROM investigators;
UPDATE investigators SET status = NULL WHERE name = 'migscheduler';
-- loaders: their keys are the API's
INSERT INTO loaders (loadername, keyprefix, loaderkey, salt, lastseen, enabled, expectenv)
VALUES ('loader1', 'prefix1', '\xaabb', '\xccdd', '2026-01-01', FALSE, NULL) RETURNING id;
UPDATE loaders SET name='host3', env='{"os":"linux"}', tags='{}', queueloc=NULLIF('linux.host3', ''),
       enabled=TRUE, expectenv='env#>>''{os}''=''linux''' WHERE id=1;
SELECT id, salt, loaderkey FROM loaders WHERE keyprefix='prefix1' AND enabled=TRUE;
BEGIN;
SET LOCAL ROLE migreadonly;
SELECT expectenv FROM loaders WHERE id=1;
SELECT TRUE FROM loaders WHERE id=1 AND env#>>'{os}'='linux';
COMMIT;
-- manifests, inserted with no column named
INSERT INTO manifests VALUES (DEFAULT, 'manifest1', 'H4sI', now(), 'staged', 'env#>>''{os}''=''linux''');
INSERT INTO manifestsig (manifestid, pgpsignature, investigatorid)
SELECT 1, 'wsBc', 3 WHERE EXISTS (SELECT id FROM manifests WHERE id=1 AND status!='disabled');
UPDATE manifests SET status='active' WHERE id=1 AND status!='disabled';
DELETE FROM manifestsig WHERE manifestid=1;
-- actions as an investigator posts them, read back with their commands
INSERT INTO actions (id, name, target, description, threat, operations, validfrom, expireafter, starttime,
                     finishtime, lastupdatetime, status, pgpsignatures, syntaxversion)
VALUES (4, 'check', 'status=''online''', '{}', '{}', '[]', '2026-01-01', '2036-01-01',
        '0009-01-11 11:11:11+00', '9998-01-11 11:11:11+00', '0009-01-11 11:11:11+00', 'pending', '[]', 2);
SELECT commands.id, commands.status, actions.id, agents.name FROM commands, actions, agents
 WHERE commands.id=3 AND commands.actionid = actions.id AND commands.agentid = agents.id;
SELECT count(*) > 0 AS readable FROM agents_stats;
-- and what mig adds for it
SELECT mig_key_fingerprint(publickey) = pgpfingerprint AS same_fingerprint FROM investigators WHERE id = 3;
-- not for it: scheduling (actions' statuses, commands), loaders' names it
-- does not write, deleting
UPDATE actions SET status = 'scheduled' WHERE id = 4;
INSERT INTO commands (id, actionid, agentid, status, starttime) VALUES (4, 4, 3, 'sent', now());
UPDATE loaders SET loadername = 'x';
DELETE FROM investigators WHERE id = 3;
SELECT mig_authorize(4, 3);
RESET ROLE;

-- migreadonly reads MIG's columns for targets and writes nothing
SET ROLE migreadonly;
SELECT id, name, status FROM agents ORDER BY id;
SELECT * FROM agents;
SELECT id, name FROM investigators;
SELECT loaderkey FROM loaders;
INSERT INTO actions (id, name, target, validfrom, expireafter) VALUES (5, 'n', 'true', now(), now());
UPDATE agents SET status = 'offline';
UPDATE loaders SET expectenv = NULL;
DELETE FROM commands;
SELECT * FROM mig_verify_action(3);
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
DROP ROLE migscheduler;
DROP ROLE migapi;
DROP ROLE migreadonly;
