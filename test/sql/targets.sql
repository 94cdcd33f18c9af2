-- Targets: MIG's forms on crafted agents give what the same condition
-- gives as plain SQL (status online or idle, one agent per queue location:
-- the one heard from last), and every escape route is refused with 42501
-- or 22023 naming the piece; the timeout; NULL and empty targets; the plan
-- of an action's commands.
CREATE EXTENSION mig;
\set VERBOSITY default
INSERT INTO agents VALUES
	(1, 'web1.example.net', 'linux.web1', 'linux', '201409171023+c4d6f50.prod', 1, now(), NULL, now(), 'online'),
	(2, 'web2.example.net', 'linux.web2', 'linux', '201409171023+c4d6f50.prod', 2, now(), NULL, now() - interval '10 minutes', 'idle'),
	(3, 'mac1.example.net', 'darwin.mac1', 'darwin', '20260101+abc.prod', 3, now(), NULL, now(), 'online'),
	(4, 'web1.example.net', 'linux.web1', 'linux', '20250101+old.prod', 4, now(), NULL, now() - interval '1 day', 'online'),
	(5, 'gone.example.net', 'linux.gone', 'linux', '20250101+old.prod', 5, now(), NULL, now(), 'offline'),
	(6, 'db1.example.net', 'linux.db1', 'linux', '20260101+abc.prod', 6, now(), NULL, now(), 'online');
UPDATE agents SET mode = d.mode, environment = d.environment, tags = d.tags
  FROM (VALUES
	(1, 'daemon', '{"os": "linux", "arch": "amd64"}'::json, '{"operator": "IT"}'::json),
	(2, 'daemon', '{"os": "linux", "arch": "arm64"}', '{"operator": "IT"}'),
	(3, 'checkin', '{"os": "darwin"}', '{"operator": "security"}'),
	(6, 'daemon', '{"os": "linux"}', '{"operator": "dba"}')) AS d(id, mode, environment, tags)
 WHERE agents.id = d.id;
INSERT INTO actions (id, name, target, validfrom, expireafter, operations)
VALUES (12345, 'find', 'true', now(), now() + interval '1 day', '[{"module": "file"}]');
INSERT INTO commands VALUES
	(1, 12345, 1, 'success', '[{"foundanything": true}]', now(), now()),
	(2, 12345, 3, 'success', '[{"foundanything": false}]', now(), now()),
	(3, 12345, 6, 'success', '[{"foundanything": true}]', now(), now());

-- MIG's forms, beside the same condition as plain SQL (MIG's query, one
-- agent per queue location: the latest heartbeat)
CREATE FUNCTION pg_temp.plain(cond text) RETURNS numeric[] LANGUAGE plpgsql AS $$
DECLARE r numeric[];
BEGIN
	EXECUTE format('SELECT array_agg(id ORDER BY id) FROM (SELECT DISTINCT ON (queueloc) agents.id
	  FROM agents
	 WHERE agents.status IN (''online'', ''idle'') AND (
%s
)
	 ORDER BY queueloc, heartbeattime DESC, id DESC) x', cond) INTO r;
	RETURN r;
END $$;
SELECT t AS target, array(SELECT mig_target_agents(t) ORDER BY 1) AS agents,
       array(SELECT mig_target_agents(t) ORDER BY 1) IS NOT DISTINCT FROM coalesce(pg_temp.plain(t), '{}') AS same
  FROM unnest(ARRAY[
	'name like ''%''',
	'os=''linux''',
	'agents.queueloc like ''linux.%''',
	'environment->>''os''=''linux'' and mode=''daemon''',
	'tags->>''operator''=''IT''',
	'version=''201409171023+c4d6f50.prod'' and heartbeattime > NOW() - interval ''1 minute''',
	'id IN (SELECT agentid FROM commands, json_array_elements(commands.results) AS r WHERE commands.actionid = 12345 AND r#>>''{foundanything}'' = ''true'')',
	'true -- a comment to the end of the line',
	'status = ''offline''',
	'(id::text)::numeric = id and pid::integer < 4 and starttime::date <= now()::date']) t;

-- refused: 22023, not one condition
SELECT mig_target_agents('');
SELECT mig_target_agents('   ');
SELECT mig_target_agents('true; DROP TABLE agents');
SELECT mig_target_agents('true) OR (true');
SELECT mig_target_agents('true UNION SELECT 1');
SELECT mig_target_agents('true ORDER BY 1');
SELECT mig_target_agents('true AS x');
SELECT mig_target_agents('true FROM agents');
SELECT mig_target_agents('true /* an open comment');
-- refused: 42501, what a target may not read or call
SELECT mig_target_agents('pg_sleep(1) IS NOT NULL');
SELECT mig_target_agents('pg_read_file(''/etc/passwd'') <> ''''');
SELECT mig_target_agents('lo_import(''/etc/passwd'') > 0');
SELECT mig_target_agents('set_config(''search_path'', ''x'', false) IS NOT NULL');
SELECT mig_target_agents('current_setting(''data_directory'') IS NOT NULL');
SELECT mig_target_agents('id IN (SELECT id FROM investigators)');
SELECT mig_target_agents('id IN (SELECT oid::numeric FROM pg_authid)');
SELECT mig_target_agents('id IN (SELECT id FROM pg_catalog.pg_class)');
SELECT mig_target_agents('id IN (WITH x AS (DELETE FROM commands RETURNING agentid) SELECT agentid FROM x)');
SELECT mig_target_agents('id IN (SELECT id FROM agents FOR UPDATE)');
SELECT mig_target_agents('''agents''::regclass IS NOT NULL');
SELECT mig_target_agents('''agents''::pg_catalog.regclass IS NOT NULL');
SELECT mig_target_agents('''{agents}''::regclass[] IS NOT NULL');
SELECT mig_target_agents('to_regclass(''pg_authid'') IS NOT NULL');
SELECT mig_target_agents('obj_description(1260, ''pg_class'') IS NOT NULL');
SELECT mig_target_agents('textout(''x'') IS NOT NULL');
SELECT mig_target_agents('domain_in(''x'', 13, -1) IS NOT NULL');
SELECT mig_target_agents('database_to_xml(true, true, '''') IS NOT NULL');
SELECT mig_target_agents('random() < 2');
SELECT mig_target_agents('mig_version() IS NOT NULL');
-- a volatile function and an operator planted in another schema, first
-- on the search_path, and named outright
CREATE SCHEMA evil;
CREATE FUNCTION evil.f() RETURNS boolean LANGUAGE sql STABLE AS 'SELECT true';
CREATE FUNCTION evil.v() RETURNS boolean LANGUAGE sql VOLATILE AS 'SELECT true';
CREATE FUNCTION evil.texteq(text, text) RETURNS boolean LANGUAGE sql IMMUTABLE
	AS 'SELECT true';
CREATE OPERATOR evil.= (leftarg = text, rightarg = text, function = evil.texteq);
CREATE TABLE evil.commands (agentid numeric);
SET search_path = evil, pg_catalog, public, mig;
SELECT array(SELECT mig_target_agents('os::text = ''nothing'''));
SELECT mig_target_agents('evil.f()');
SELECT mig_target_agents('evil.v()');
SELECT mig_target_agents('os::text OPERATOR(evil.=) ''x''');
SELECT mig_target_agents('id IN (SELECT agentid FROM evil.commands)');
SELECT array(SELECT mig_target_agents('id IN (SELECT agentid FROM commands)') ORDER BY 1);
-- the caller's path is the caller's again, after a refusal too
SHOW search_path;
RESET search_path;

-- the timeout
SET mig.target_timeout = '50ms';
SELECT mig_target_agents('(SELECT count(*) FROM generate_series(1, 100000000)) > 0');
RESET mig.target_timeout;
-- NULL
SELECT count(*) FROM mig_target_agents(NULL);

-- the plan: the targeted agents on which the action may run. Action 1 is
-- the authz fixture a1 (module file, target status='online'), signed by ivan.
\getenv abs_srcdir PG_ABS_SRCDIR
SELECT set_config('test.fixtures', :'abs_srcdir' || '/fixtures/authz/', false) IS NOT NULL AS fixtures;
CREATE FUNCTION pg_temp.fx(file text) RETURNS text LANGUAGE sql
	AS $$ SELECT pg_read_file(current_setting('test.fixtures') || file) $$;
INSERT INTO investigators (id, name, publickey) VALUES (1, 'Ivan', pg_temp.fx('ivan.pub'));
INSERT INTO modules VALUES (1, 'default'), (2, 'file');
INSERT INTO actions (id, name, target, validfrom, expireafter, operations, pgpsignatures, syntaxversion)
SELECT 1, a->>'name', a->>'target', (a->>'validfrom')::timestamptz,
       (a->>'expireafter')::timestamptz, a->'operations',
       json_build_array(pg_temp.fx('a1.ivan.asc')), 2
  FROM (SELECT pg_temp.fx('a1.json')::json AS a) j;
-- agent 1: ivan may use file; agent 3: only the default ACL, ivan has it;
-- agent 6: file needs weight 2, ivan has 1; agent 2: no ACL at all
INSERT INTO agtmodreq VALUES (2, 1, 1), (1, 3, 1), (2, 6, 2);
INSERT INTO invagtmodperm VALUES (1, 1, 2, 1), (1, 3, 1, 1), (1, 6, 2, 1);
SELECT array(SELECT mig_action_targets(1) ORDER BY 1) AS targets;
SELECT * FROM mig_action_plan(1) ORDER BY agent_id;
-- the plan is the target intersected with mig_authorized_agents
SELECT array(SELECT mig_action_targets(1) ORDER BY 1)
       = array(SELECT t FROM mig_target_agents('status=''online''') t
                WHERE t IN (SELECT mig_authorized_agents(1)) ORDER BY 1) AS intersection;
-- another target is another action: ivan's signature no longer holds on
-- it, and the plan says so
UPDATE actions SET target = 'os = ''darwin''' WHERE id = 1;
SELECT * FROM mig_action_plan(1) ORDER BY agent_id;
-- an action no investigator signed: every agent denied, none targeted
SELECT * FROM mig_action_plan(12345) ORDER BY agent_id;
SELECT count(*) FROM mig_action_targets(12345);
-- a refused target refuses the plan
UPDATE actions SET target = 'id IN (SELECT id FROM investigators)' WHERE id = 1;
SELECT * FROM mig_action_plan(1);
SELECT mig_action_targets(1);
SELECT mig_action_targets(999);
SELECT * FROM mig_action_plan(NULL);

-- a plan of many agents (more than 256, and many against agtmodreq's
-- rows) reads the ACL as a fleet: each module's agtmodreq rows and each
-- signer's permission rows with one scan each, never an agent's own rows
-- one by one; its rows, in the target's order, are those of one agent at
-- a time: the verdict of mig_authorize and the first denying row of
-- mig_authorize_explain, for every kind of reason
INSERT INTO investigators (id, name, publickey) VALUES (2, 'Judy', pg_temp.fx('judy.pub'));
INSERT INTO modules VALUES (3, 'netstat'), (4, 'pkg');
INSERT INTO agents (id, name, queueloc, os, version, pid, starttime, heartbeattime, status)
SELECT i, 'fleet' || i, 'linux.fleet' || i, 'linux', '1', i, now(), now(),
       CASE WHEN i % 5 = 0 THEN 'idle' ELSE 'online' END
  FROM generate_series(1000, 1599) i;
-- by id % 12: 0 no ACL row at all; 1 file 1, ivan 1 (the ids at another
-- scale); 2 default 1, ivan 1; 3 file 2, ivan 1 and judy 1; 4 file 2, ivan
-- 1 alone; 5 file 1, no permission; 6 file 0; 7 default 0; 8 default 3,
-- ivan 1 and judy 1; 9 file 1 and netstat 1, ivan on file only; 10 file 2,
-- ivan 1, no netstat or default row (action a2 denies on file's weight,
-- before netstat's missing ACL); 11 pkg only
BEGIN;
ALTER TABLE agtmodreq DROP CONSTRAINT agtmodreq_minimumweight_check;
INSERT INTO agtmodreq
SELECT r.m, CASE WHEN a % 12 = 1 THEN a + 0.00 ELSE a END, r.w
  FROM generate_series(1000, 1599) a,
       LATERAL (VALUES (1, 2, 1), (2, 1, 1), (3, 2, 2), (4, 2, 2), (5, 2, 1), (6, 2, 0),
                       (7, 1, 0), (8, 1, 3), (9, 2, 1), (9, 3, 1), (10, 2, 2), (11, 4, 1))
               r(k, m, w)
 WHERE a % 12 = r.k;
INSERT INTO invagtmodperm
SELECT p.i, CASE WHEN a % 12 = 1 THEN a + 0.0 ELSE a END, p.m, p.w
  FROM generate_series(1000, 1599) a,
       LATERAL (VALUES (1, 1, 2, 1), (2, 1, 1, 1), (3, 1, 2, 1), (3, 2, 2, 1), (4, 1, 2, 1),
                       (6, 1, 2, 5), (7, 1, 1, 5), (8, 1, 1, 1), (8, 2, 1, 1), (9, 1, 2, 1),
                       (10, 1, 2, 1), (11, 1, 4, 9))
               p(k, i, m, w)
 WHERE a % 12 = p.k;
ANALYZE agents, agtmodreq, invagtmodperm;
CREATE FUNCTION pg_temp.add_action(id numeric, fixture text, signers text[]) RETURNS void
LANGUAGE sql AS $$
	INSERT INTO actions (id, name, target, validfrom, expireafter, operations, pgpsignatures, syntaxversion)
	SELECT id, a->>'name', a->>'target', (a->>'validfrom')::timestamptz,
	       (a->>'expireafter')::timestamptz, a->'operations',
	       (SELECT coalesce(json_agg(pg_temp.fx(fixture || '.' || s || '.asc') ORDER BY o), '[]')
	          FROM unnest(signers) WITH ORDINALITY u(s, o)),
	       2
	  FROM (SELECT pg_temp.fx(fixture || '.json')::json AS a) j
$$;
SELECT pg_temp.add_action(21, 'a1', '{ivan}');			-- file
SELECT pg_temp.add_action(22, 'a1', '{ivan,judy}');
SELECT pg_temp.add_action(23, 'a2', '{ivan,judy}');	-- file, netstat, file
SELECT pg_temp.add_action(24, 'a2', '{ivan}');
SELECT pg_temp.add_action(25, 'a1', '{}');				-- no signature
SELECT pg_temp.add_action(26, 'a3', '{ivan}');			-- no operations
-- 27: a1 with its name run into its target: it signs the same string as
-- another action, and no signature counts
INSERT INTO actions (id, name, target, validfrom, expireafter, operations, pgpsignatures, syntaxversion)
SELECT 27, name || ';target=' || target, 'true', validfrom, expireafter, operations, pgpsignatures, 2
  FROM actions WHERE id = 21;
-- the plan, numbered, and the same agents decided one at a time
CREATE FUNCTION pg_temp.plan(action numeric) RETURNS TABLE(n bigint, agent_id numeric,
	agent_name text, queueloc text, authorized boolean, reason text)
LANGUAGE sql AS $$
	SELECT p.n, p.agent_id, p.agent_name, p.queueloc, p.authorized, p.reason
	  FROM mig_action_plan(action) WITH ORDINALITY p(agent_id, agent_name, queueloc, authorized, reason, n)
$$;
CREATE FUNCTION pg_temp.one_by_one(action numeric) RETURNS TABLE(n bigint, agent_id numeric,
	agent_name text, queueloc text, authorized boolean, reason text)
LANGUAGE sql AS $$
	SELECT t.n, t.id, a.name, a.queueloc, mig_authorize(action, t.id),
	       (SELECT coalesce(e.module || ': ', '') || e.reason
	          FROM mig_authorize_explain(action, t.id) WITH ORDINALITY
	               e(module, required_weight, granted_weight, signers, authorized, reason, o)
	         WHERE NOT e.authorized ORDER BY e.o LIMIT 1)
	  FROM mig_target_agents((SELECT target FROM actions WHERE id = action)) WITH ORDINALITY t(id, n)
	  JOIN agents a ON a.id = t.id
$$;
-- how many index scans of agtmodreq by agent, and by module, this
-- transaction has made so far
CREATE FUNCTION pg_temp.scans(OUT by_agent bigint, OUT by_module bigint) LANGUAGE sql AS $$
	SELECT pg_stat_get_xact_numscans('agtmodreq_agentid_idx'::regclass),
	       pg_stat_get_xact_numscans('agtmodreq_moduleid_agentid_key'::regclass)
$$;
CREATE TEMP TABLE before AS SELECT * FROM pg_temp.scans();
SELECT a AS action, count(*) AS planned, count(*) FILTER (WHERE authorized) AS authorized,
       count(DISTINCT regexp_replace(reason, '[0-9]+', 'N', 'g')) AS reasons
  FROM generate_series(21, 27) a, pg_temp.plan(a) GROUP BY a ORDER BY a;
SELECT s.by_agent - b.by_agent AS "scans by agent", s.by_module - b.by_module AS "scans by module"
  FROM pg_temp.scans() s, before b;
-- the reasons the plans give, one agent each
SELECT DISTINCT ON (a, regexp_replace(reason, '[0-9]{4}', 'N', 'g')) a AS action, agent_id, authorized, reason
  FROM generate_series(21, 27) a, pg_temp.plan(a)
 ORDER BY a, regexp_replace(reason, '[0-9]{4}', 'N', 'g'), agent_id;
-- every row the same, both ways
SELECT a AS action,
       (SELECT count(*) FROM (SELECT * FROM pg_temp.plan(a) EXCEPT SELECT * FROM pg_temp.one_by_one(a)) x) AS plan_only,
       (SELECT count(*) FROM (SELECT * FROM pg_temp.one_by_one(a) EXCEPT SELECT * FROM pg_temp.plan(a)) x) AS reference_only
  FROM generate_series(21, 27) a ORDER BY a;
-- a target of few agents: each agent's own rows are read, with the same
-- rows again
UPDATE actions SET target = 'id BETWEEN 1000 AND 1099' WHERE id BETWEEN 21 AND 27;
DELETE FROM before;
INSERT INTO before SELECT * FROM pg_temp.scans();
SELECT a AS action, count(*) AS planned FROM generate_series(21, 27) a, pg_temp.plan(a) GROUP BY a ORDER BY a;
SELECT s.by_agent - b.by_agent AS "scans by agent", s.by_module - b.by_module AS "scans by module"
  FROM pg_temp.scans() s, before b;
SELECT a AS action,
       (SELECT count(*) FROM (SELECT * FROM pg_temp.plan(a) EXCEPT SELECT * FROM pg_temp.one_by_one(a)) x) AS plan_only,
       (SELECT count(*) FROM (SELECT * FROM pg_temp.one_by_one(a) EXCEPT SELECT * FROM pg_temp.plan(a)) x) AS reference_only
  FROM generate_series(21, 27) a ORDER BY a;
-- more than 256 agents, but few against agtmodreq's rows (a small target
-- in a big fleet): probed too
INSERT INTO agents (id, name, queueloc, os, version, pid, starttime, heartbeattime, status)
SELECT i, 'offline' || i, 'linux.offline' || i, 'linux', '1', i, now(), now(), 'offline'
  FROM generate_series(2000, 4999) i;
INSERT INTO agtmodreq SELECT 4, i, 1 FROM generate_series(2000, 4999) i;
ANALYZE agtmodreq;
UPDATE actions SET target = 'id BETWEEN 1000 AND 1299' WHERE id = 21;
DELETE FROM before;
INSERT INTO before SELECT * FROM pg_temp.scans();
SELECT count(*) AS planned FROM pg_temp.plan(21);
SELECT s.by_agent - b.by_agent AS "scans by agent", s.by_module - b.by_module AS "scans by module"
  FROM pg_temp.scans() s, before b;
ROLLBACK;

-- the caller's privileges: a role that may not read agents reads none
CREATE ROLE mig_target_reader;
GRANT USAGE ON SCHEMA mig TO mig_target_reader;
GRANT EXECUTE ON FUNCTION mig_target_agents(text) TO mig_target_reader;
SET ROLE mig_target_reader;
SELECT mig_target_agents('true');
RESET ROLE;
REVOKE EXECUTE ON FUNCTION mig_target_agents(text) FROM mig_target_reader;
REVOKE USAGE ON SCHEMA mig FROM mig_target_reader;
DROP ROLE mig_target_reader;
DROP SCHEMA evil CASCADE;
DROP EXTENSION mig;
