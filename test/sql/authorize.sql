-- mig_authorize, mig_authorize_explain and mig_authorized_agents: MIG's
-- weighted ACLs over the investigators with a valid signature on an action.
-- Fixtures (test/fixtures/authz): investigators ivan and judy, an outsider
-- oscar, three actions signed by each.
CREATE EXTENSION mig;
\getenv abs_srcdir PG_ABS_SRCDIR
SELECT set_config('test.fixtures', :'abs_srcdir' || '/fixtures/authz/', false) IS NOT NULL AS fixtures;
CREATE FUNCTION fx(file text) RETURNS text LANGUAGE sql
	AS $$ SELECT pg_read_file(current_setting('test.fixtures') || file) $$;
-- an action row from a fixture action, signed by the given signers
CREATE FUNCTION add_action(id numeric, fixture text, signers text[]) RETURNS void
LANGUAGE sql AS $$
	INSERT INTO actions (id, name, target, validfrom, expireafter, operations, pgpsignatures, syntaxversion)
	SELECT id, a->>'name', a->>'target', (a->>'validfrom')::timestamptz,
	       (a->>'expireafter')::timestamptz, a->'operations',
	       (SELECT coalesce(json_agg(fx(fixture || '.' || s || '.asc') ORDER BY o), '[]')
	          FROM unnest(signers) WITH ORDINALITY u(s, o)),
	       2
	  FROM (SELECT fx(fixture || '.json')::json AS a) j
$$;

-- the fixtures' canonical strings are mig's
SELECT f, mig_action_string(fx(f || '.json')::json) = fx(f || '.txt') AS canonical
  FROM unnest(ARRAY['a1', 'a2', 'a3']) f;

INSERT INTO investigators (id, name, publickey) VALUES
	(1, 'Ivan', fx('ivan.pub')), (2, 'Judy', fx('judy.pub'));
INSERT INTO modules VALUES (1, 'default'), (2, 'file'), (4, 'pkg');
INSERT INTO agents (id, name, queueloc, os, version, pid, starttime, heartbeattime)
SELECT i, 'agent' || i, 'linux.agent' || i, 'linux', '1', i, now(), now()
  FROM generate_series(10, 15) i;

SELECT add_action(1, 'a1', '{ivan}');			-- file, signed by ivan
SELECT add_action(2, 'a1', '{ivan,judy}');		-- file, ivan and judy
SELECT add_action(3, 'a1', '{ivan,ivan}');		-- file, ivan twice
SELECT add_action(4, 'a1', '{oscar}');			-- file, a key no investigator has
SELECT add_action(5, 'a1', '{}');				-- file, no signature
SELECT add_action(6, 'a2', '{ivan,judy}');		-- file, netstat (not a module yet), file
SELECT add_action(7, 'a3', '{ivan}');			-- no operations

-- agent 10: an ACL on file, ivan may use it
INSERT INTO agtmodreq VALUES (2, 10, 1);
INSERT INTO invagtmodperm VALUES (1, 10, 2, 1);
-- agent 11: only the default ACL
INSERT INTO agtmodreq VALUES (1, 11, 1);
INSERT INTO invagtmodperm VALUES (1, 11, 1, 1);
-- agent 12: an ACL on pkg only
INSERT INTO agtmodreq VALUES (4, 12, 1);
INSERT INTO invagtmodperm VALUES (1, 12, 4, 5);
-- agent 13: file needs weight 2, ivan and judy have 1 each
INSERT INTO agtmodreq VALUES (2, 13, 2);
INSERT INTO invagtmodperm VALUES (1, 13, 2, 1), (2, 13, 2, 1);
-- agent 14: an ACL on file, nobody has permission
INSERT INTO agtmodreq VALUES (2, 14, 1);

-- every case, with its explanation
CREATE VIEW cases AS
SELECT action, agent, mig_authorize(action, agent) AS authorized,
       (SELECT string_agg(format('%s: %s/%s %s %s', e.module, e.required_weight,
                                 e.granted_weight, e.signers, e.reason), '; ')
          FROM mig_authorize_explain(action, agent) e) AS explain
  FROM (VALUES (1, 10), (1, 11), (1, 12), (1, 13), (1, 14), (2, 13), (3, 13),
               (4, 10), (5, 10), (6, 10), (6, 11), (7, 10)) c(action, agent);
\x on
SELECT * FROM cases ORDER BY action, agent;
\x off

-- a module named in the operations but absent from modules falls back to
-- default; once it exists with its own ACL, that ACL decides
INSERT INTO modules VALUES (3, 'netstat');
INSERT INTO agtmodreq VALUES (2, 15, 1), (3, 15, 1);
INSERT INTO invagtmodperm VALUES (1, 15, 2, 1);
SELECT mig_authorize(6, 15) AS "netstat without permission";
SELECT * FROM mig_authorize_explain(6, 15);
INSERT INTO invagtmodperm VALUES (2, 15, 3, 1);
SELECT mig_authorize(6, 15) AS "both modules met";
SELECT * FROM mig_authorize_explain(6, 15);
SELECT mig_authorize(6, 11) AS "both through default";

-- the CHECKs: a minimum weight of 0 and a negative weight are refused
INSERT INTO agtmodreq VALUES (4, 10, 0);
INSERT INTO invagtmodperm VALUES (1, 10, 4, -1);
-- a minimum weight below 1 all the same (the CHECK dropped, as only the
-- tables' owner or a superuser can): it denies, whatever the weights, in
-- every function, and the explanation says why
BEGIN;
ALTER TABLE agtmodreq DROP CONSTRAINT agtmodreq_minimumweight_check;
UPDATE agtmodreq SET minimumweight = 0 WHERE (moduleid, agentid) IN ((2, 10), (1, 11));
SELECT mig_authorize(1, 10) AS "own ACL", mig_authorize(1, 11) AS "default ACL",
       array(SELECT mig_authorized_agents(1, '{10, 11, 12}')) AS agents;
SELECT * FROM mig_authorize_explain(1, 10);
SELECT * FROM mig_authorize_explain(1, 11);
ROLLBACK;
SELECT mig_authorize(1, 10) AS "own ACL", mig_authorize(1, 11) AS "default ACL";

-- unknown ids are errors, not a silent false; NULL gives NULL
CREATE FUNCTION try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE q;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
-- (the action is checked before the agent, by each function alike)
SELECT q, try(q) FROM (VALUES ('SELECT mig_authorize(999, 10)'), ('SELECT mig_authorize(1, 999)'),
                              ('SELECT mig_authorize(999, 998)'),
                              ('SELECT * FROM mig_authorize_explain(999, 10)'),
                              ('SELECT * FROM mig_authorize_explain(1, 999)'),
                              ('SELECT * FROM mig_authorize_explain(999, 998)'),
                              ('SELECT * FROM mig_authorized_agents(999)'),
                              ('SELECT * FROM mig_authorized_agents(999, ''{998}'')')) t(q);
SELECT mig_authorize(NULL, 10) IS NULL AS n1, mig_authorize(1, NULL) IS NULL AS n2,
       (SELECT count(*) FROM mig_authorize_explain(NULL, 10)) AS n3,
       (SELECT count(*) FROM mig_authorized_agents(NULL)) AS n4;

-- the set-based form, for every agent, for some, with unknown and NULL ids
SELECT a, array(SELECT mig_authorized_agents(a) ORDER BY 1) AS every_agent
  FROM generate_series(1, 7) a ORDER BY a;
SELECT array(SELECT mig_authorized_agents(6, '{15, 11, 10, 999, NULL, 15}') ORDER BY 1) AS some;

-- revoking judy's key removes her grant on the next call, in every session
SELECT mig_authorize(2, 13) AS "before revocation";
UPDATE investigators SET publickey = fx('judy-revoked.pub') WHERE id = 2;
SELECT mig_authorize(2, 13) AS "after revocation";
SELECT reason FROM mig_authorize_explain(2, 13);
\c
SELECT set_config('test.fixtures', :'abs_srcdir' || '/fixtures/authz/', false) IS NOT NULL AS fixtures;
SELECT mig_authorize(2, 13) AS "another session";
UPDATE investigators SET publickey = fx('judy.pub') WHERE id = 2;

-- a read-only transaction authorizes too: the key changed back, so the
-- action is verified again, without recording

BEGIN READ ONLY;
SELECT mig_authorize(2, 13) AS "read only";
COMMIT;

-- mig_authorized_agents equals mig_authorize over a generated fleet with
-- mixed ACLs, through both its scan (over more than 1,843 agents, the
-- threshold of its hash table made for 1,024: it grows)
-- and its per-agent path
SELECT setseed(0.42);
INSERT INTO agents (id, name, queueloc, os, version, pid, starttime, heartbeattime)
SELECT i, 'fleet' || i, 'linux.fleet' || i, 'linux', '1', i, now(), now()
  FROM generate_series(100, 2399) i;
-- (random() in a subquery's target list is drawn per row)
INSERT INTO agtmodreq
SELECT m, a, 1 + (r2 * 2)::int
  FROM (SELECT a, m, random() AS r, random() AS r2
          FROM generate_series(100, 2399) a, unnest(ARRAY[1, 2, 3]) m) x
 WHERE r < 0.6;
INSERT INTO invagtmodperm
SELECT i, a, m, (r2 * 2)::int
  FROM (SELECT a, m, i, random() AS r, random() AS r2
          FROM generate_series(100, 2399) a, unnest(ARRAY[1, 2, 3]) m, unnest(ARRAY[1, 2]) i) x
 WHERE r < 0.7;
SELECT count(*) AS requirements, count(DISTINCT agentid) AS agents FROM agtmodreq WHERE agentid >= 100;
SELECT x.action,
       count(*) FILTER (WHERE x.authorized) AS authorized,
       count(*) FILTER (WHERE x.authorized IS DISTINCT FROM (s.agent IS NOT NULL)) AS scan_differs,
       count(*) FILTER (WHERE x.authorized IS DISTINCT FROM x.probed) AS probe_differs
  FROM (SELECT action, a.id AS agent, mig_authorize(action, a.id) AS authorized,
               EXISTS (SELECT FROM mig_authorized_agents(action, ARRAY[a.id])) AS probed
          FROM agents a, generate_series(1, 7) action) x
  LEFT JOIN (SELECT action, mig_authorized_agents(action) AS agent
               FROM generate_series(1, 7) action) s
         ON s.action = x.action AND s.agent = x.agent
 GROUP BY x.action ORDER BY x.action;

-- the whole fleet is decided by merging the ACL scans in agent order: the
-- same agents as mig_authorize decides one by one, with ids stored at
-- other scales in every table and column (2400.0 is 2400; a stream's key
-- 1.0 is the signer 1), agents with requirements for some modules only,
-- with permissions but no requirement, and past the last agent with a
-- requirement, agents with permissions only
INSERT INTO agents (id, name, queueloc, os, version, pid, starttime, heartbeattime)
SELECT CASE WHEN i % 3 = 0 THEN round(i::numeric, 1) ELSE i END,
       'scaled' || i, 'linux.scaled' || i, 'linux', '1', i, now(), now()
  FROM generate_series(2400, 2799) i;
INSERT INTO agtmodreq
SELECT CASE WHEN a % 2 = 0 THEN round(m, 2) ELSE m END,
       CASE WHEN (a + m) % 4 = 0 THEN round(a, 2) ELSE a END, 1 + (r2 * 2)::int
  FROM (SELECT a::numeric, m, random() AS r, random() AS r2
          FROM generate_series(2400, 2699) a, unnest(ARRAY[1, 2, 3]::numeric[]) m) x
 WHERE r < 0.6;
INSERT INTO invagtmodperm
SELECT CASE WHEN a % 5 = 0 THEN round(i, 1) ELSE i END,
       CASE WHEN (a + i) % 3 = 0 THEN round(a, 3) ELSE a END,
       CASE WHEN (a + m) % 2 = 0 THEN round(m, 1) ELSE m END, (r2 * 2)::int
  FROM (SELECT a::numeric, m, i, random() AS r, random() AS r2
          FROM generate_series(2400, 2799) a, unnest(ARRAY[1, 2, 3]::numeric[]) m,
               unnest(ARRAY[1, 2]::numeric[]) i) x
 WHERE r < 0.7;
SELECT (SELECT count(*) FROM agtmodreq WHERE agentid >= 2400 AND agentid::text LIKE '%.%') AS req_agents_scaled,
       (SELECT count(*) FROM agtmodreq WHERE agentid >= 2400 AND moduleid::text LIKE '%.%') AS req_modules_scaled,
       (SELECT count(*) FROM invagtmodperm WHERE agentid >= 2400 AND agentid::text LIKE '%.%') AS perm_agents_scaled,
       (SELECT count(*) FROM invagtmodperm WHERE agentid >= 2400 AND investigatorid::text LIKE '%.%') AS perm_signers_scaled;
SELECT a AS action, count(x) AS authorized, count(x) FILTER (WHERE x >= 2400) AS "of them from 2400",
       (SELECT count(*) FROM (SELECT mig_authorized_agents(a)
                              EXCEPT SELECT id FROM agents WHERE mig_authorize(a, id)) y) AS fleet_only,
       (SELECT count(*) FROM (SELECT id FROM agents WHERE mig_authorize(a, id)
                              EXCEPT SELECT mig_authorized_agents(a)) y) AS one_by_one_only
  FROM generate_series(1, 7) a LEFT JOIN LATERAL mig_authorized_agents(a) x ON true
 GROUP BY a ORDER BY a;
-- each agent once, in ascending order: the merge's order (a hash
-- table's is not)
SELECT a AS action, count(*) AS agents,
       count(*) FILTER (WHERE prev >= agent) AS not_ascending
  FROM generate_series(1, 7) a,
       LATERAL (SELECT agent, lag(agent) OVER (ORDER BY n) AS prev
                  FROM mig_authorized_agents(a) WITH ORDINALITY g(agent, n)) o
 GROUP BY a ORDER BY a;
-- one scan per module in R and per signer, none by agent; the signers'
-- rows past the last agent with a requirement are not read
BEGIN;
CREATE TEMP TABLE fleet_stats AS
SELECT pg_stat_get_xact_numscans('agtmodreq_moduleid_agentid_key'::regclass) AS req_scans,
       pg_stat_get_xact_numscans('invagtmodperm_investigatorid_agentid_moduleid_key'::regclass) AS perm_scans,
       pg_stat_get_xact_numscans('agtmodreq_agentid_idx'::regclass) +
       pg_stat_get_xact_numscans('invagtmodperm_agentid_moduleid_idx'::regclass) AS scans_by_agent,
       pg_stat_get_xact_tuples_returned('invagtmodperm_investigatorid_agentid_moduleid_key'::regclass) AS perm_read;
SELECT count(*) AS authorized FROM mig_authorized_agents(6);
SELECT pg_stat_get_xact_numscans('agtmodreq_moduleid_agentid_key'::regclass) - req_scans AS "scans by module",
       pg_stat_get_xact_numscans('invagtmodperm_investigatorid_agentid_moduleid_key'::regclass) - perm_scans
         AS "scans by signer",
       pg_stat_get_xact_numscans('agtmodreq_agentid_idx'::regclass) +
       pg_stat_get_xact_numscans('invagtmodperm_agentid_moduleid_idx'::regclass) - scans_by_agent
         AS "scans by agent",
       pg_stat_get_xact_tuples_returned('invagtmodperm_investigatorid_agentid_moduleid_key'::regclass) - perm_read
         <= (SELECT count(*) + 2 FROM invagtmodperm
              WHERE investigatorid IN (1, 2) AND agentid <= (SELECT max(agentid) FROM agtmodreq))
         AS "stops at the last requirement",
       (SELECT count(*) FROM invagtmodperm
         WHERE investigatorid IN (1, 2) AND agentid > (SELECT max(agentid) FROM agtmodreq)) AS "rows past it"
  FROM fleet_stats;
COMMIT;
DROP TABLE fleet_stats;
-- with an index on the agents in descending order, the scans are not
-- merged: a hash table decides (in its own order), the same agents
BEGIN;
ALTER TABLE agtmodreq DROP CONSTRAINT agtmodreq_moduleid_agentid_key;
CREATE UNIQUE INDEX agtmodreq_desc ON agtmodreq (moduleid, agentid DESC);
SELECT a AS action, count(x) AS authorized,
       (SELECT count(*) FROM (SELECT mig_authorized_agents(a)
                              EXCEPT SELECT id FROM agents WHERE mig_authorize(a, id)) y) AS fleet_only,
       (SELECT count(*) FROM (SELECT id FROM agents WHERE mig_authorize(a, id)
                              EXCEPT SELECT mig_authorized_agents(a)) y) AS one_by_one_only,
       (SELECT count(*) FILTER (WHERE prev >= agent)
          FROM (SELECT agent, lag(agent) OVER (ORDER BY n) AS prev
                  FROM mig_authorized_agents(a) WITH ORDINALITY g(agent, n)) o) > 0 AS not_in_order
  FROM generate_series(1, 7) a LEFT JOIN LATERAL mig_authorized_agents(a) x ON true
 WHERE a IN (2, 6) GROUP BY a ORDER BY a;
ROLLBACK;

-- ids stored at another scale (2.0 is 2) are the same ids in every path:
-- one agent's rows read by agent, the fleet's through the modules' and
-- signers' keys, where equal bytes spare numeric_eq and unequal ones must
-- still be compared as numbers
INSERT INTO agents (id, name, queueloc, os, version, pid, starttime, heartbeattime)
VALUES (16.0, 'agent16', 'linux.agent16', 'linux', '1', 16, now(), now());
INSERT INTO agtmodreq VALUES (2.0, 16, 2), (4, 16.00, 1);
INSERT INTO invagtmodperm VALUES (1.0, 16.00, 2.0, 1), (2, 16.0, 2.000, 1), (1, 16, 4, 9);
SELECT a AS action, mig_authorize(a, 16) AS authorized,
       (SELECT string_agg(format('%s %s/%s %s', module, required_weight, granted_weight, signers), '; ')
          FROM mig_authorize_explain(a, 16.000)) AS explain,
       16 IN (SELECT mig_authorized_agents(a)) AS fleet,
       array(SELECT mig_authorized_agents(a, '{16.0, 10}') ORDER BY 1) AS given
  FROM generate_series(1, 2) a ORDER BY a;
-- a change to an ACL is seen by the next call of each function
DELETE FROM invagtmodperm WHERE investigatorid = 2 AND agentid = 16;
SELECT mig_authorize(2, 16) AS authorized, 16 IN (SELECT mig_authorized_agents(2)) AS fleet,
       array(SELECT mig_authorized_agents(2, '{16}')) AS given;
UPDATE agtmodreq SET minimumweight = 1 WHERE agentid = 16 AND moduleid = 2;
SELECT mig_authorize(2, 16) AS authorized, 16 IN (SELECT mig_authorized_agents(2)) AS fleet,
       array(SELECT mig_authorized_agents(2, '{16}')) AS given;
DELETE FROM agtmodreq WHERE agentid = 16 AND moduleid = 2;
SELECT mig_authorize(2, 16) AS "default only, no row", 16 IN (SELECT mig_authorized_agents(2)) AS fleet;
DELETE FROM invagtmodperm WHERE agentid = 16;
DELETE FROM agtmodreq WHERE agentid = 16;
DELETE FROM agents WHERE id = 16;

-- each backend remembers where it last found an action's row, its record
-- and a module's row, and fetches that TID first: what is found there
-- counts only when it is still the visible row of that id or name, not
-- once VACUUM has freed the slot and another row has taken it
SELECT add_action(9, 'a1', '{ivan,judy}');
SELECT mig_authorize(9, 13) AS "action 9", mig_authorize(6, 15) AS "netstat";
DELETE FROM signatures WHERE actionid = 9;
DELETE FROM verifications WHERE actionid = 9;
DELETE FROM actions WHERE id = 9;
DELETE FROM agtmodreq WHERE moduleid = 3;
DELETE FROM invagtmodperm WHERE moduleid = 3;
DELETE FROM modules WHERE id = 3;
VACUUM actions, verifications, signatures, modules;
SELECT add_action(10, 'a1', '{ivan}');
INSERT INTO modules VALUES (5, 'other');
INSERT INTO agtmodreq VALUES (5, 15, 1);
INSERT INTO invagtmodperm VALUES (2, 15, 5, 1);
SELECT try('SELECT mig_authorize(9, 13)') AS "action 9", mig_authorize(10, 13) AS "action 10";
SELECT mig_authorize(6, 15) AS "no netstat", module, reason FROM mig_authorize_explain(6, 15);
DELETE FROM invagtmodperm WHERE moduleid = 5;
DELETE FROM agtmodreq WHERE moduleid = 5;
DELETE FROM modules WHERE id = 5;
DELETE FROM signatures WHERE actionid = 10;
DELETE FROM verifications WHERE actionid = 10;
DELETE FROM actions WHERE id = 10;
INSERT INTO modules VALUES (3, 'netstat');
INSERT INTO agtmodreq VALUES (3, 15, 1);
INSERT INTO invagtmodperm VALUES (2, 15, 3, 1);
SELECT mig_authorize(6, 15) AS "netstat again";

-- an action whose name or target holds a delimiter of the signed string
-- signs the same string as another action: none of its signatures counts
-- (action 8 is action 1 with its name run into its target)
INSERT INTO actions (id, name, target, validfrom, expireafter, operations, pgpsignatures)
SELECT 8, name || ';target=' || target, 'true', validfrom, expireafter, operations, pgpsignatures
  FROM actions WHERE id = 1;
SELECT position, valid, reason FROM mig_verify_action(8);
SELECT mig_authorize(8, 10) AS "delimiter in the name";
SELECT module, authorized, reason FROM mig_authorize_explain(8, 10);
UPDATE actions SET name = 'authz file', target = 'x;validfrom=1' WHERE id = 8;
SELECT module, authorized, reason FROM mig_authorize_explain(8, 10);
-- outside its validity window the verdict stands, and explain says so
UPDATE actions SET name = a.name, target = a.target, validfrom = '2019-01-01 00:00:00+00',
       expireafter = '2020-01-01 00:00:00+00'
  FROM actions a WHERE a.id = 1 AND actions.id = 8;
SELECT module, authorized, reason FROM mig_authorize_explain(8, 10);
UPDATE actions SET validfrom = '2099-01-01 00:00:00+00', expireafter = '2100-01-01 00:00:00+00'
 WHERE id = 8;
SELECT module, authorized, reason FROM mig_authorize_explain(8, 10);
DELETE FROM actions WHERE id = 8;

-- the indexes mig reads are found from their tables, by their columns,
-- never by name: an index of that name on another table is not one of
-- them, nor is a partial one; without one, an error, not another answer
SELECT mig_authorize(2, 13) AS "before", mig_authorize(1, 13) AS "before, denied";
DROP INDEX invagtmodperm_agentid_moduleid_idx;
CREATE TABLE decoy (agentid numeric, moduleid numeric, weight int);
CREATE INDEX invagtmodperm_agentid_moduleid_idx ON decoy (agentid, moduleid);
SELECT try('SELECT mig_authorize(2, 13)');
CREATE INDEX perm_partial ON invagtmodperm (agentid, moduleid) WHERE weight > 0;
SELECT try('SELECT mig_authorize(2, 13)');
CREATE INDEX perm_expression ON invagtmodperm ((agentid + 0), moduleid);
SELECT try('SELECT mig_authorize(2, 13)');
CREATE INDEX perm_by_agent ON invagtmodperm (agentid, moduleid);
SELECT mig_authorize(2, 13) AS "after", mig_authorize(1, 13) AS "after, denied";
DROP TABLE decoy;
DROP INDEX perm_partial, perm_expression;

-- called with an empty search_path: mig finds its own tables
DROP VIEW cases;
DROP FUNCTION add_action(numeric, text, text[]);
DROP FUNCTION fx(text);
DROP FUNCTION try(text);
DROP EXTENSION mig;
CREATE EXTENSION mig;
SET search_path = '';
INSERT INTO mig.modules VALUES (1, 'default');
INSERT INTO mig.agents (id, name, queueloc, os, version, pid, starttime, heartbeattime)
VALUES (1, 'a', 'q', 'linux', '1', 1, now(), now());
INSERT INTO mig.actions (id, name, target, validfrom, expireafter, operations, pgpsignatures)
VALUES (1, 'n', 't', now(), now(), '[{"module":"file"}]', '[]');
SELECT mig.mig_authorize(1, 1), count(*) FROM mig.mig_authorized_agents(1);
RESET search_path;
DROP EXTENSION mig;
