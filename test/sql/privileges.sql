-- Nothing of mig is usable by PUBLIC: an unprivileged role can neither read
-- nor write the tables nor call the functions.  The README's grants for a
-- scheduler role and an investigator role give exactly what they need.
CREATE EXTENSION mig;
CREATE ROLE mig_nobody;
CREATE ROLE mig_scheduler;
CREATE ROLE mig_investigator;

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

SET ROLE mig_nobody;
SELECT * FROM actions;
SELECT * FROM investigators;
INSERT INTO modules VALUES (1, 'file');
UPDATE agents SET status = 'x';
DELETE FROM commands;
SELECT mig_version();
RESET ROLE;

-- the grants documented in README.md
GRANT SELECT, INSERT, UPDATE ON actions, commands, agents TO mig_scheduler;
GRANT SELECT ON investigators, signatures, modules, agtmodreq, invagtmodperm TO mig_scheduler;
GRANT SELECT ON agent_details TO mig_scheduler;
GRANT SELECT ON actions, commands, agents, agent_details, modules, signatures TO mig_investigator;

GRANT EXECUTE ON FUNCTION mig_action_string(json), mig_verify_action(numeric),
      mig_authorize(numeric, numeric), mig_authorize_explain(numeric, numeric),
      mig_authorized_agents(numeric, numeric[]), mig_target_agents(text),
      mig_action_targets(numeric), mig_action_plan(numeric) TO mig_scheduler;
GRANT EXECUTE ON FUNCTION mig_action_string(json), mig_key_fingerprint(text),
      mig_verify_signature(text, text, text), mig_authorize_explain(numeric, numeric),
      mig_target_agents(text), mig_action_plan(numeric)
      TO mig_investigator;

SET ROLE mig_scheduler;
INSERT INTO agents VALUES (1, 'host1', 'linux.host1.1', 'linux', '1', 1, now(), NULL, now(), 'online');
SELECT count(*) FROM agents;
INSERT INTO investigators VALUES (1, 'Mallory', NULL, NULL);
-- the functions work with EXECUTE alone: they verify, record and read the ACLs
INSERT INTO actions (id, name, target, validfrom, expireafter, operations, pgpsignatures)
VALUES (1, 'n', 't', '2026-01-01Z', '2036-01-01Z', '[{"module":"file"}]', '["not a signature"]');
SELECT * FROM mig_verify_action(1);
SELECT mig_authorize(1, 1), (SELECT count(*) FROM mig_authorized_agents(1)) AS agents;
SELECT module, authorized, reason FROM mig_authorize_explain(1, 1);
SELECT mig_key_fingerprint('x');
-- the target functions read what the target reads, as the scheduler
UPDATE actions SET target = 'os = ''linux''' WHERE id = 1;
SELECT array(SELECT mig_target_agents('os = ''linux''')) AS targeted,
       array(SELECT mig_action_targets(1)) AS planned;
SELECT agent_id, authorized, reason FROM mig_action_plan(1);
RESET ROLE;

SET ROLE mig_investigator;
SELECT count(*) FROM agents;
UPDATE agents SET status = 'offline';
SELECT count(*) FROM invagtmodperm;
SELECT module, authorized FROM mig_authorize_explain(1, 1);
SELECT mig_authorize(1, 1);
-- the dry run before launching
SELECT agent_id, authorized, reason FROM mig_action_plan(1);
SELECT array(SELECT mig_target_agents('status = ''online''')) AS targeted;
SELECT mig_action_targets(1);
RESET ROLE;

DROP EXTENSION mig;
DROP ROLE mig_nobody;
DROP ROLE mig_scheduler;
DROP ROLE mig_investigator;
