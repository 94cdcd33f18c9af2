-- The demo's sample: a few modules, agents and ACLs, then what is in the tables.
\pset footer off
INSERT INTO modules VALUES (1, 'default'), (2, 'file'), (3, 'netstat');
INSERT INTO agents (id, name, queueloc, os, version, pid, starttime, heartbeattime, status)
VALUES (101, 'web1.example.net', 'linux.web1.a1b2c3', 'linux', '20260101+a1b2c3', 811,
        now() - interval '2 days', now(), 'online'),
       (102, 'db1.example.net', 'linux.db1.d4e5f6', 'linux', '20260101+a1b2c3', 922,
        now() - interval '5 days', now(), 'online');
INSERT INTO investigators (id, name) VALUES (1, 'Alice Investigator'), (2, 'Bob Responder');
INSERT INTO agtmodreq VALUES (1, 101, 2), (1, 102, 2), (2, 102, 1);
INSERT INTO invagtmodperm VALUES (1, 101, 1, 1), (2, 101, 1, 1), (1, 102, 2, 1);

\echo
\echo agents
SELECT id, name, queueloc, os, status FROM agents ORDER BY id;
\echo modules and ACLs
SELECT r.agentid AS agent, m.name AS module, r.minimumweight AS required
  FROM agtmodreq r JOIN modules m ON m.id = r.moduleid ORDER BY 1, 2;
SELECT p.investigatorid AS investigator, i.name, p.agentid AS agent, m.name AS module, p.weight
  FROM invagtmodperm p JOIN modules m ON m.id = p.moduleid
  JOIN investigators i ON i.id = p.investigatorid ORDER BY 1, 3, 4;
