-- The demo's sample: two investigators with their OpenPGP keys, modules,
-- three agents (their heartbeats) and ACLs, two signed actions; then what
-- mig makes of them.  The manual's examples run against it
-- (test/t/060_readme.pl).  Keys and signatures come from
-- test/fixtures/authz (tools/demo-load passes them in as psql variables).
\pset footer off
INSERT INTO investigators (id, name, publickey) VALUES (1, 'Ivan', :'ivan'), (2, 'Judy', :'judy');
INSERT INTO modules VALUES (1, 'default'), (2, 'file'), (3, 'netstat');
-- the agents, as their heartbeats describe them (heard from now)
\o /dev/null
SELECT mig_agent_heartbeat(hb::json) FROM (VALUES
  ('{"id": 101, "name": "web1.example.net", "queueloc": "linux.web1.a1b2c3", "mode": "daemon",
     "version": "20260101+a1b2c3", "pid": 811, "starttime": "2026-01-01T10:00:00Z", "status": "online",
     "environment": {"os": "linux", "arch": "amd64"}, "tags": {"operator": "IT"}}'),
  ('{"id": 102, "name": "db1.example.net", "queueloc": "linux.db1.d4e5f6", "mode": "daemon",
     "version": "20260101+a1b2c3", "pid": 922, "starttime": "2026-01-01T10:00:00Z", "status": "online",
     "environment": {"os": "linux", "arch": "amd64"}, "tags": {"operator": "DBA"}}'),
  ('{"id": 103, "name": "mac1.example.net", "queueloc": "darwin.mac1.g7h8i9", "mode": "daemon",
     "version": "20260101+a1b2c3", "pid": 533, "starttime": "2026-01-01T10:00:00Z", "status": "online",
     "environment": {"os": "darwin", "arch": "arm64"}, "tags": {"operator": "IT"}}')) v(hb);
\o
-- web1 runs anything with weight 2 (default); db1 needs 1 for file, 2
-- otherwise; mac1 runs file with weight 1 and nothing else
INSERT INTO agtmodreq (moduleid, agentid, minimumweight)
VALUES (1, 101, 2), (1, 102, 2), (2, 102, 1), (2, 103, 1);
-- Ivan: 1 on default on web1, 1 on file on db1 and on mac1; Judy: 1 on
-- default on web1 and on db1
INSERT INTO invagtmodperm (investigatorid, agentid, moduleid, weight)
VALUES (1, 101, 1, 1), (2, 101, 1, 1), (1, 102, 2, 1), (2, 102, 1, 1), (1, 103, 2, 1);
-- action 1: a file search signed by Ivan; action 2: file and netstat,
-- signed by Ivan, by Judy and by a key no investigator has (Oscar's)
INSERT INTO actions (id, name, target, validfrom, expireafter, operations, pgpsignatures, status, syntaxversion)
SELECT id, a->>'name', a->>'target', (a->>'validfrom')::timestamptz, (a->>'expireafter')::timestamptz,
       a->'operations', sigs, 'pending', 2
  FROM (VALUES (1, :'a1'::json, json_build_array(:'a1ivan'::text)),
               (2, :'a2'::json, json_build_array(:'a2ivan'::text, :'a2judy'::text, :'a2oscar'::text))) v(id, a, sigs);

\echo
\echo == investigators (pgpfingerprint is filled in from the key)
SELECT id, name, pgpfingerprint FROM investigators ORDER BY id;
\echo == agents, with what their heartbeats said in MIG's columns
SELECT a.id, a.name, a.queueloc, a.os, a.mode, a.status, a.tags
  FROM agents a ORDER BY a.id;
\echo == the string the signers signed, as MIG computes it
SELECT id, signed_string FROM (SELECT id, mig_action_string(json_build_object(
         'name', name, 'target', target, 'validfrom', validfrom, 'expireafter', expireafter,
         'operations', operations)) AS signed_string FROM actions) s ORDER BY id;
\echo == their signatures, verified with gpg and recorded
SELECT a.id AS action, v.* FROM actions a, mig_verify_action(a.id) v ORDER BY 1, 2;
SELECT actionid, investigatorid FROM signatures ORDER BY 1, 2;
\echo == may they run? (weighted ACLs)
SELECT a.id AS action, g.id AS agent, e.*
  FROM actions a, agents g, mig_authorize_explain(a.id, g.id) e ORDER BY 1, 2;
\echo == where: the agents their targets select, and the verdict on each
SELECT a.id AS action, a.target, p.agent_id, p.agent_name, p.authorized
  FROM actions a, mig_action_plan(a.id) p ORDER BY 1, 3;
