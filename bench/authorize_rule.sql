-- The authorization rule as the best hand-written SQL we could write: the
-- baseline of bench/authorize.  Same answers as mig_authorized_agents($1)
-- for every agent, given that the action's signatures rows are current.
--
--   required: agtmodreq of the module, else of "default" (FULL JOIN per
--             module, hashed); no row, or below 1, denies
--   granted:  sum of the signers' invagtmodperm weights on the module that
--             gave the requirement
CREATE FUNCTION authorized_agents_sql(numeric) RETURNS SETOF numeric
LANGUAGE sql STABLE AS $fn$
WITH act AS MATERIALIZED (
	SELECT operations FROM actions WHERE id = $1
), mods AS MATERIALIZED (
	SELECT DISTINCT op->>'module' AS name
	  FROM act, json_array_elements(act.operations) op
), want AS MATERIALIZED (
	SELECT mods.name, m.id AS moduleid
	  FROM mods LEFT JOIN modules m ON m.name = mods.name
), dflt AS MATERIALIZED (
	SELECT id FROM modules WHERE name = 'default'
), signers AS MATERIALIZED (
	SELECT DISTINCT investigatorid FROM signatures WHERE actionid = $1
), req AS (
	SELECT coalesce(s.agentid, d.agentid) AS agentid,
	       coalesce(s.name, d.name) AS name,
	       CASE WHEN s.agentid IS NOT NULL THEN s.moduleid ELSE d.moduleid END AS moduleid,
	       CASE WHEN s.agentid IS NOT NULL THEN s.minimumweight ELSE d.minimumweight END AS required
	  FROM (SELECT r.agentid, w.name, r.moduleid, r.minimumweight
	          FROM want w JOIN agtmodreq r ON r.moduleid = w.moduleid) s
	  FULL JOIN (SELECT r.agentid, w.name, r.moduleid, r.minimumweight
	               FROM want w CROSS JOIN dflt JOIN agtmodreq r ON r.moduleid = dflt.id) d
	    ON d.agentid = s.agentid AND d.name = s.name
), perm AS (
	SELECT p.agentid, p.moduleid, sum(p.weight) AS granted
	  FROM invagtmodperm p
	 WHERE p.investigatorid IN (SELECT investigatorid FROM signers)
	   AND (p.moduleid IN (SELECT moduleid FROM want) OR p.moduleid IN (SELECT id FROM dflt))
	 GROUP BY p.agentid, p.moduleid
)
SELECT req.agentid
  FROM req
  LEFT JOIN perm ON perm.agentid = req.agentid AND perm.moduleid = req.moduleid
 GROUP BY req.agentid
HAVING count(DISTINCT req.name) = (SELECT count(*) FROM mods)
   AND bool_and(req.required >= 1 AND coalesce(perm.granted, 0) >= req.required);
$fn$;
