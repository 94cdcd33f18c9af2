-- The demo's sample: two investigators with their OpenPGP keys, modules,
-- agents and ACLs, two signed actions; then what mig makes of them.
-- Keys and signatures come from test/fixtures/authz (tools/demo.sh passes
-- them in as psql variables).
\pset footer off
INSERT INTO investigators (id, name, publickey) VALUES (1, 'Ivan', :'ivan'), (2, 'Judy', :'judy');
INSERT INTO modules VALUES (1, 'default'), (2, 'file'), (3, 'netstat');
INSERT INTO agents (id, name, queueloc, os, version, pid, starttime, heartbeattime, status)
VALUES (101, 'web1.example.net', 'linux.web1.a1b2c3', 'linux', '20260101+a1b2c3', 811,
        now() - interval '2 days', now(), 'online'),
       (102, 'db1.example.net', 'linux.db1.d4e5f6', 'linux', '20260101+a1b2c3', 922,
        now() - interval '5 days', now(), 'online');
-- web1 runs anything with weight 2 (default); db1 needs 1 for file, 2 otherwise
INSERT INTO agtmodreq VALUES (1, 101, 2), (1, 102, 2), (2, 102, 1);
INSERT INTO invagtmodperm VALUES (1, 101, 1, 1), (2, 101, 1, 1), (1, 102, 2, 1), (2, 102, 1, 1);
-- action 1: a file search signed by Ivan; action 2: file and netstat, signed by both
INSERT INTO actions (id, name, target, validfrom, expireafter, operations, pgpsignatures, status, syntaxversion)
SELECT id, a->>'name', a->>'target', (a->>'validfrom')::timestamptz, (a->>'expireafter')::timestamptz,
       a->'operations', sigs, 'pending', 2
  FROM (VALUES (1, :'a1'::json, json_build_array(:'a1ivan'::text)),
               (2, :'a2'::json, json_build_array(:'a2ivan'::text, :'a2judy'::text))) v(id, a, sigs);

\echo
\echo == investigators (pgpfingerprint is filled in from the key)
SELECT id, name, pgpfingerprint FROM investigators ORDER BY id;
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
SELECT a.id AS action, array(SELECT mig_authorized_agents(a.id) ORDER BY 1) AS authorized_on
  FROM actions a ORDER BY 1;
