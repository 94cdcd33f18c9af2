-- bench/agents_stats_mig.sql: MIG's eight agent statistics queries
-- (database/agents.go, as MIG's scheduler runs them, one after the other)
-- and mig_agents_stats(), as two functions giving the same eight numbers in
-- the same order, for bench/lifecycle and bench/scale to time side by side:
--   bench_mig_queries()  MIG's queries
--   bench_ours()         mig_agents_stats()
CREATE FUNCTION bench_mig_queries() RETURNS bigint[] LANGUAGE sql AS $$
SELECT ARRAY[
  (SELECT coalesce(sum(c), 0)::bigint FROM (SELECT COUNT(*) c, version FROM agents
     WHERE agents.status = 'online' GROUP BY version) x),
  (SELECT coalesce(sum(c), 0)::bigint FROM (SELECT COUNT(*) c, version FROM agents
     WHERE agents.status = 'idle' AND agents.queueloc NOT IN (
       SELECT distinct(queueloc) FROM agents WHERE agents.status = 'online') GROUP BY version) x),
  (SELECT COUNT(DISTINCT(queueloc)) FROM agents WHERE status = 'online'),
  (SELECT COUNT(*) FROM (SELECT queueloc FROM agents WHERE status = 'idle'
     AND queueloc NOT IN (SELECT queueloc FROM agents WHERE status = 'online' GROUP BY queueloc)
     GROUP BY queueloc) AS idleendpoints),
  (SELECT COUNT(*) FROM (SELECT queueloc FROM agents WHERE queueloc NOT IN (
       SELECT queueloc FROM agents WHERE heartbeattime > now() - interval '7 days'
       AND heartbeattime < now() - interval '24 hours' GROUP BY queueloc)
     AND starttime > now() - interval '24 hours' GROUP BY queueloc) AS newendpoints),
  (SELECT COUNT(*) FROM (SELECT queueloc FROM agents WHERE queueloc IN (
       SELECT queueloc FROM agents WHERE status = 'online' GROUP BY queueloc
       HAVING count(queueloc) > 1) GROUP BY queueloc) AS doubleagents),
  (SELECT COUNT(*) FROM (SELECT queueloc FROM agents WHERE queueloc NOT IN (
       SELECT queueloc FROM agents WHERE status = 'idle' OR status = 'online' GROUP BY queueloc)
     AND heartbeattime > now() - interval '7 days' GROUP BY queueloc) AS disappeared),
  (SELECT COUNT(*) FROM (SELECT queueloc FROM agents WHERE status = 'online' OR status = 'idle'
     GROUP BY queueloc HAVING count(queueloc) > 1) AS flapping)] $$;
CREATE FUNCTION bench_ours() RETURNS bigint[] LANGUAGE sql AS $$
SELECT ARRAY[online_agents, idle_agents, online_endpoints, idle_endpoints, new_endpoints,
             multi_agents_endpoints, disappeared_endpoints, flapping_endpoints]
  FROM mig_agents_stats() $$;
