-- The authorization rule for one action ($1) and one agent ($2), the query
-- bench/authorize compares mig_authorize with, as written by hand: one
-- text, run as a prepared statement (pgbench -M prepared, $1 and $2 its
-- parameters), as a PL/pgSQL function (RETURN of it, a cached plan) and as
-- a SQL function (planned again at every call).  Same answers as
-- mig_authorize($1, $2) given that the action's signatures rows are current.
SELECT count(*) > 0 AND bool_and(q.required >= 1 AND q.granted >= q.required)
  FROM (SELECT m.name, coalesce(r.minimumweight, 0) AS required,
               (SELECT coalesce(sum(p.weight), 0)
                  FROM invagtmodperm p
                 WHERE p.agentid = $2 AND p.moduleid = r.moduleid
                   AND p.investigatorid IN (SELECT investigatorid FROM signatures
                                             WHERE actionid = $1)) AS granted
          FROM (SELECT DISTINCT op->>'module' AS name
                  FROM actions a, json_array_elements(a.operations) op
                 WHERE a.id = $1) m
          LEFT JOIN LATERAL (
                SELECT r.moduleid, r.minimumweight
                  FROM agtmodreq r JOIN modules mm ON mm.id = r.moduleid
                 WHERE r.agentid = $2 AND mm.name IN (m.name, 'default')
                 ORDER BY mm.name = 'default'
                 LIMIT 1) r ON true) q
