-- bench/scale_rows.sql: the rows of bench/scale's database, as COPY text on
-- standard output: the actions, a line "\.", the agents, "\.", the
-- commands, "\.", for psql's \copy ... FROM pstdin, table after table.
-- Generated in SQL, deterministic for the same :scale and :now0.
--
--   psql -v scale=S -v now0=TIMESTAMPTZ -f bench/scale_rows.sql
--
-- MIG's production after two years (mig#135): S commands, S agents, 71% of
-- them never targeted.  Over the two years before now0:
--   - S / 1000 actions, one after the other, each of 1000 commands, each
--     finished 10 minutes after it started and expired after an hour;
--   - S agents, one started every 730 days / S: an agent process of one of
--     S / 100 endpoints (its queue location), each restarted every few
--     days; an offline agent was last heard from 3.5 to 10.5 days after it
--     started, at least a day ago; the last 1.3% are live: online (85%,
--     heard from in the last 4 minutes) or idle (heard from 30 to 50
--     minutes ago);
--   - the agents whose id - 1 modulo 100 is below 29 (29%) are the
--     targeted ones, in id order; action a's 1000 commands go to 1000
--     consecutive targeted agents, the window moving on by (targeted -
--     1000) / (actions - 1) from one action to the next, so that each
--     targeted agent gets about 3.45 commands from actions of the days it
--     ran;
--   - small results (about 100 bytes a command).
\set actions (:scale / 1000)
\set endpoints (:scale / 100)
\set targeted (:scale * 29 / 100)
\set live (:scale * 13 / 1000)
SET TIME ZONE 'UTC';
-- the actions: their counters are the counter triggers' (or mig_recount()'s)
COPY (
SELECT a, 'action ' || a, 'status=''online'' AND mode=''daemon''',
       '{"author":"Alice Investigator","email":"alice@example.net","revision":1}',
       format('{"ref":"IR-%s","level":"alert","family":"backdoor","type":"sshd"}', a),
       format('[{"module":"file","parameters":{"searches":{"s1":{"paths":["/usr/sbin","/etc/ssh"],'
              '"sha256":["%s"],"options":{"maxdepth":3}}}}}]', md5(a::text) || md5((a + 1)::text)),
       t, t + interval '1 hour', t, t + interval '10 minutes', t + interval '10 minutes', 'completed',
       '["wsBcBAABCAAQBQJnAAAAAAkQ' || repeat('Aa0', 80) || '=Xy1Z"]', 2
  FROM (SELECT a, :'now0'::timestamptz - interval '730 days'
                  + (a - 1) * (63072000.0 / :actions) * interval '1 second' + interval '1 hour' AS t
          FROM (SELECT generate_series(1::bigint, :actions) AS a) s) x
) TO STDOUT;
\echo '\\.'
-- the agents
COPY (
SELECT g, 'host' || e || '.example.net', os || '.host' || e || '.example.net', os,
       '20' || to_char(st, 'YYMM') || '01-0.a1b2c3d4.prod', 1000 + g % 30000, st, NULL,
       CASE WHEN g <= :scale - :live
            THEN greatest(st, least(st + (3.5 + 7 * h) * interval '1 day',
                                    :'now0'::timestamptz - interval '1 day'))
            WHEN h < 0.85 THEN :'now0'::timestamptz - (g % 240) * interval '1 second'
            ELSE :'now0'::timestamptz - interval '30 minutes' - (g % 1200) * interval '1 second' END,
       CASE WHEN g <= :scale - :live THEN 'offline' WHEN h < 0.85 THEN 'online' ELSE 'idle' END,
       CASE WHEN e % 20 = 0 THEN 'checkin' ELSE 'daemon' END, st,
       format('{"init":"systemd","ident":"%s","os":"%s","arch":"amd64","isproxied":false,'
              '"addresses":["10.%s.%s.%s/16"],"publicip":"198.51.100.%s"}',
              CASE os WHEN 'linux' THEN 'Debian GNU/Linux 12 (bookworm)' WHEN 'darwin' THEN 'macOS 14.5'
                      ELSE 'Windows 10 Enterprise' END, os,
              (e >> 16) & 255, (e >> 8) & 255, e & 255, e % 256),
       format('{"operator":"IT","team":"ops%s"}', e % 10), NULL, NULL
  FROM (SELECT g, g % :endpoints AS e,
               CASE WHEN g % :endpoints % 25 < 2 THEN 'windows'
                    WHEN g % :endpoints % 25 < 5 THEN 'darwin' ELSE 'linux' END AS os,
               :'now0'::timestamptz - interval '730 days'
                 + (g - 1) * (63072000.0 / :scale) * interval '1 second' AS st,
               (g * 7919 % 1000) / 1000.0 AS h
          FROM (SELECT generate_series(1::bigint, :scale) AS g) s) x
) TO STDOUT;
\echo '\\.'
-- the commands
COPY (
SELECT n, a, (t / 29) * 100 + t % 29 + 1,
       CASE WHEN n % 20 = 0 THEN 'failed' WHEN n % 20 < 3 THEN 'timeout'
            WHEN n % 20 = 3 THEN 'expired' ELSE 'success' END,
       '[{"foundanything":' || (n % 10 = 0) || ',"success":true,"elements":{},'
       '"statistics":{"exectime":"' || n % 997 || 'ms"},"errors":[]}]',
       st, st + (n % 300) * interval '1 second'
  FROM (SELECT n, a, (a - 1) * (:targeted - 1000) / (:actions - 1) + (n - 1) % 1000 AS t,
               :'now0'::timestamptz - interval '730 days'
                 + (a - 1) * (63072000.0 / :actions) * interval '1 second' + interval '1 hour'
                 + (n - 1) % 1000 * interval '10 milliseconds' AS st
          FROM (SELECT n, (n - 1) / 1000 + 1 AS a FROM (SELECT generate_series(1::bigint, :scale) AS n) s) y) x
) TO STDOUT;
\echo '\\.'
