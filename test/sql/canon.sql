-- mig_action_string: the string MIG's investigators sign, byte for byte what
-- MIG's Go clients compute (test/t/010_canon_go.pl checks it against Go
-- itself on thousands of random actions; here each rule on a small case).
CREATE EXTENSION mig;

-- errors show their SQLSTATE
CREATE FUNCTION canon(a text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	RETURN mig_action_string(a::json);
EXCEPTION WHEN OTHERS THEN
	RETURN 'ERROR ' || SQLSTATE || ': ' || SQLERRM;
END
$$;
-- an action with these operations, valid for an hour from 2026-01-02
CREATE FUNCTION ops(o text) RETURNS text LANGUAGE sql AS $$
	SELECT canon('{"name":"n","target":"t","validfrom":"2026-01-02T03:04:05Z",'
	             '"expireafter":"2026-01-02T04:04:05Z","operations":' || o || '}')
$$;

-- the example of doc/design.md
SELECT mig_action_string($${
  "name": "check sshd", "target": "status='online'",
  "validfrom": "2026-01-02T03:04:05.5+01:00", "expireafter": "2026-01-02T04:04:05.5+01:00",
  "operations": [{"module": "file", "parameters": {"z": 1, "a": "<x>"}}],
  "pgpsignatures": ["..."], "syntaxversion": 2}$$::json);

-- keys sorted bytewise at every depth, whitespace dropped, duplicates: the last wins
SELECT ops($$[{"parameters": {"b": {"y": [1, {"d": 1, "c": 2}], "x": null}, "a": true,
                              "B": false, "é": 1, "aa": 2, "a": false}, "module": "m"}]$$);
-- keys compare as Go strings, after decoding: these are one key, U+FFFD
SELECT ops($$[{"module":"m","parameters":{"\ud800":1,"\udfff":2,"\u0061":3,"a":4,"\u00e9":5,"é":6}}]$$);
-- empty containers, every JSON literal
SELECT ops($$[{"module":"m","parameters":{"o":{ },"a":[ ],"t":true,"f":false,"n":null}}]$$);
-- no parameters: null; the compression flags only when true (omitempty)
SELECT ops($$[{"module":"a"}, {"module":"b","parameters":null,"is_compressed":false},
              {"module":"c","is_compressed":true,"want_compressed":true,"parameters":"H4sI"}]$$);
-- field names match without regard to case, as Go matches them (U+017F is an s)
SELECT ops($$[{"MODULE":"m","Parameterſ":1,"IS_COMPRESSED":true,"extra":{"z":1e999}}]$$);
SELECT canon($${"NAME":"n","Target":"t","ValidFrom":"2026-01-02T03:04:05Z",
               "EXPIREAFTER":"2026-01-02T04:04:05Z","operation\u017f":[],"id":"x"}$$);
-- a field given twice: the last one wins; null leaves a string, a flag or a time alone
SELECT canon($${"name":"fir\u0000st","Name":"second","target":"t","target":null,
               "validfrom":"2026-01-02T03:04:05Z","validfrom":null,
               "expireafter":"2000-01-01T00:00:00Z","expireafter":"2026-01-02T04:04:05Z",
               "operations":[{"module":"m","module":null,"is_compressed":true,"is_compressed":null}]}$$);
-- operations given twice: Go decodes the second array into the elements of
-- the first (what it leaves out stays), an empty array or null starts afresh
SELECT ops($$[{"module":"a","parameters":1,"is_compressed":true},{"module":"b"},{"module":"c"}],
             "operations":[{"parameters":2}],
             "operations":[null,null,{"parameters":3}]$$);
SELECT ops($$[{"module":"a","parameters":1}], "operations":[], "operations":[{"module":"b"}]$$);

-- strings: quotes, backslashes, \n \r \t short; other controls, < > &,
-- U+2028 and U+2029 as \u escapes in lower-case hex; / DEL and emoji raw
SELECT ops($$[{"module":"m","parameters":"q\" b\\ s\/ n\n r\r t\t b\b f\f 0\u0000 1f\u001F <>& \u2028\u2029 \u007f 😀 \ud83d\ude00"}]$$);
-- every control character
SELECT ops(format('[{"module":"m","parameters":"%s"}]',
                  string_agg(format('\u%s', lpad(to_hex(c), 4, '0')), '' ORDER BY c)))
  FROM generate_series(0, 31) c;
-- unpaired surrogate escapes become U+FFFD, as Go decodes them
SELECT ops($$[{"module":"m\ud800","parameters":["\udc00","\ud800\u0041","\ud83d","x\udfffy","\udc00\ud83d\ude00"]}]$$);
-- the name and target are written verbatim, not escaped
SELECT canon($${"name":"a;b=c <&> \"q\"","target":"x\ny \u2028","validfrom":"2026-01-02T03:04:05Z",
               "expireafter":"2026-01-02T04:04:05Z","operations":[]}$$);

-- numbers are float64: shortest round trip, exponent form below 1e-6 and from 1e21
SELECT ops($$[{"module":"m","parameters":[0, -0, 1, 1.0, -0.0, 100, 1e2, 12.5e1, 12e3, 0.1,
              0.30000000000000004, 1e20, 1e21, 123456789012345678901234, 1e-6, 1e-7, 1.5e-7,
              1e-10, 9007199254740993, 5e-324, 1e-400, -1e-400, 1.7976931348623157e308, 1e23]}]$$);

-- times: any offset, optional fraction (dropped, also before 1970), to whole
-- Unix seconds (test/sql/gotime.sql: every form of time Go 1.19 reads)
SELECT canon(format('{"name":"n","target":"t","validfrom":"%s","expireafter":"%s","operations":[]}',
                    vf, ea))
  FROM (VALUES ('2026-01-02T03:04:05Z', '2026-01-02T03:04:05.999999999Z'),
               ('2026-01-02T03:04:05+23:59', '2026-01-02T03:04:05-23:59'),
               ('2026-01-02T03:04:05-00:00', '2026-01-02T03:04:05+00:00'),
               ('2026-01-02T03:04:05,5+01:00', '2026-01-02T3:04:05Z'),
               ('1969-12-31T23:59:59.5Z', '0001-01-01T00:00:00Z'),
               ('2024-02-29T12:00:00Z', '9999-12-31T23:59:59.123456789123Z')) t(vf, ea);

-- Go's limit: 10,000 levels of nesting, counting the action, its operations
-- and the operation (9,997 levels of parameters); one more is refused
SELECT length(ops('[{"module":"m","parameters":' || repeat('[', 9997) || repeat(']', 9997) || '}]'));
SELECT ops('[{"module":"m","parameters":' || repeat('{"a":', 9998) || '1' || repeat('}', 9998) || '}]');

-- bad input: SQLSTATE 22023 or 22P02, naming the field
SELECT canon('[]');
SELECT canon('"action"');
SELECT canon('{"name":1,"target":"t","validfrom":"2026-01-02T03:04:05Z","expireafter":"2026-01-02T04:04:05Z","operations":[]}');
SELECT canon('{"name":"n","TARGET":["t"],"validfrom":"2026-01-02T03:04:05Z","expireafter":"2026-01-02T04:04:05Z","operations":[]}');
SELECT ops('{"module":"m"}');
SELECT ops('"file"');
SELECT ops('[{"module":"m"}, 5]');
SELECT ops('[{"module":["file"]}]');
SELECT ops('[{"module":"m","is_compressed":"yes"}]');
SELECT ops('[{"module":"m","want_compressed":1}]');
SELECT ops('[{"module":"m","parameters":{"a":[1,{"b c":[0,1e400]}]}}]');
SELECT canon(format('{"name":"n","target":"t","validfrom":"%s","expireafter":"2026-01-02T04:04:05Z","operations":[]}', vf))
  FROM (VALUES ('2026-01-02 03:04:05Z'), ('2026-01-02t03:04:05Z'), ('2026-02-30T03:04:05Z'),
               ('2026-01-02T24:00:00Z'), ('2026-01-02T03:04:05'), ('2026-01-02T03:04:05+0100'),
               ('2026-01-02T03:04:05.Z'), ('26-01-02T03:04:05Z'), ('2026\u002d01-02T03:04:05Z')) t(vf);
SELECT canon('{"name":"n","target":"t","validfrom":1767323045,"expireafter":"2026-01-02T04:04:05Z","operations":[]}');
-- ... and where mig is stricter than Go on purpose: what Go would sign as
-- an empty name, a zero time, "operations":null or an empty module
SELECT canon('null');
SELECT canon('{"target":"t","validfrom":"2026-01-02T03:04:05Z","expireafter":"2026-01-02T04:04:05Z","operations":[]}');
SELECT canon('{"name":null,"target":"t","validfrom":"2026-01-02T03:04:05Z","expireafter":"2026-01-02T04:04:05Z","operations":[]}');
SELECT canon('{"name":"n","target":"t","expireafter":"2026-01-02T04:04:05Z","operations":[]}');
SELECT canon('{"name":"n","target":"t","validfrom":"2026-01-02T03:04:05Z","expireafter":"2026-01-02T04:04:05Z"}');
SELECT ops('null');
SELECT ops('[{"module":"m"}], "operations":null');
SELECT ops('[{"module":"m"}, null]');
SELECT ops('[{"parameters":{}}]');
SELECT ops('[{"module":null}]');
SELECT canon('{"name":"a\u0000b","target":"t","validfrom":"2026-01-02T03:04:05Z","expireafter":"2026-01-02T04:04:05Z","operations":[]}');
SELECT mig_action_string(NULL) IS NULL AS null_in_null_out;
-- a few errors in full
SELECT mig_action_string('{"name":"n","target":"t","validfrom":"2026-01-02T03:04:05Z","expireafter":"2026-01-02T04:04:05Z"}');
SELECT mig_action_string('{"name":"n","target":"t","validfrom":"2026-01-02 03:04:05","expireafter":"2026-01-02T04:04:05Z","operations":[]}');
SELECT mig_action_string('{"name":"n","target":"t","validfrom":"2026-01-02T03:04:05Z","expireafter":"2026-01-02T04:04:05Z","operations":[{"module":"m","parameters":{"x":-1e999}}]}');

-- mig_action_string_jsonb: the string of the action as jsonb keeps it, one
-- value per key, the keys in jsonb's order.  'same' when it is the json
-- form's string, else both.
CREATE FUNCTION forms(a text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	j text := canon(a);
	b text;
BEGIN
	BEGIN
		b := mig_action_string_jsonb(a::jsonb);
	EXCEPTION WHEN OTHERS THEN
		b := 'ERROR ' || SQLSTATE || ': ' || SQLERRM;
	END;
	RETURN CASE WHEN j = b THEN 'same' ELSE 'json:  ' || j || E'\njsonb: ' || b END;
END
$$;
CREATE FUNCTION act(o text) RETURNS text LANGUAGE sql AS $$
	SELECT '{"name":"n","target":"t","validfrom":"2026-01-02T03:04:05Z",'
	       '"expireafter":"2026-01-02T04:04:05Z","operations":' || o || '}'
$$;
-- the fixtures, and every rule of a field given once: the same string
\getenv abs_srcdir PG_ABS_SRCDIR
SELECT f, mig_action_string_jsonb(a::jsonb) = t AS canonical, forms(a)
  FROM unnest(ARRAY['a1', 'a2', 'a3']) f,
       LATERAL (SELECT pg_read_file(:'abs_srcdir' || '/fixtures/authz/' || f || '.json') AS a,
                       pg_read_file(:'abs_srcdir' || '/fixtures/authz/' || f || '.txt') AS t) x;
SELECT mig_action_string_jsonb($${
  "name": "check sshd", "target": "status='online'",
  "validfrom": "2026-01-02T03:04:05.5+01:00", "expireafter": "2026-01-02T04:04:05.5+01:00",
  "operations": [{"module": "file", "parameters": {"z": 1, "a": "<x>"}}],
  "pgpsignatures": ["..."], "syntaxversion": 2}$$::jsonb) =
  pg_read_file(:'abs_srcdir' || '/fixtures/actions/1.txt') AS design_example;
SELECT forms(a) FROM (VALUES
	($${"operations":[],"expireafter":"2026-01-02T04:04:05Z","validfrom":"2026-01-02T03:04:05Z",
	    "Target":"t","NAME":"n","id":1}$$),
	(act($$[{"parameters": {"b": {"y": [1, {"d": 1, "c": 2}], "x": null}, "a": true,
	        "B": false, "é": 1, "aa": 2, "a": false}, "module": "m"}]$$)),
	(act($$[{"module":"a"}, {"module":"b","parameters":null,"is_compressed":false},
	        {"module":"c","is_compressed":true,"want_compressed":true,"parameters":"H4sI"}]$$)),
	(act($$[{"module":"m","parameters":"q\" b\\ s\/ n\n r\r t\t b\b f\f 1f\u001F <>& \u2028\u2029 \u007f 😀 \ud83d\ude00"}]$$)),
	(act($$[{"module":"m","parameters":[0, 1, 1.0, 100, 1e2, 12.5e1, 0.1, 0.30000000000000004,
	        1e20, 1e21, 123456789012345678901234, 1e-7, 9007199254740993, 5e-324, 1e-400,
	        -1e-400, 1.7976931348623157e308, 1e23]}]$$)),
	($${"name":"n","target":"t","validfrom":"1969-12-31T23:59:59.5Z",
	    "expireafter":"2026-01-02T03:04:05,5+23:59","operations":[]}$$),
	('[]'),
	(act('[{"module":"m","parameters":{"a":[1,{"b c":[0,1e400]}]}}]')),
	('{"name":"n","target":"t","validfrom":"2026-01-02T03:04:05Z","expireafter":"2026-01-02T04:04:05Z"}')) t(a);
-- where it differs: a field given twice (in any case: jsonb sorts the keys,
-- uppercase first, and keeps the last value, even a null that Go skips;
-- operations twice is the last array alone), a time written with an escape
-- (Go reads it raw), -0
SELECT forms(a) FROM (VALUES
	($${"name":"first","Name":"second","target":"t","validfrom":"2026-01-02T03:04:05Z",
	    "expireafter":"2026-01-02T04:04:05Z","operations":[]}$$),
	($${"name":"n","target":"t","target":null,"validfrom":"2026-01-02T03:04:05Z",
	    "expireafter":"2026-01-02T04:04:05Z","operations":[]}$$),
	(act($$[{"module":"a","parameters":1},{"module":"b"}], "operations":[{"parameters":2}]$$)),
	($${"name":"n","target":"t","validfrom":"2026\u002d01-02T03:04:05Z",
	    "expireafter":"2026-01-02T04:04:05Z","operations":[]}$$),
	(act('[{"module":"m","parameters":[-0, -0.0]}]'))) t(a);
SELECT mig_action_string_jsonb(NULL) IS NULL AS null_in_null_out;
DROP FUNCTION forms(text);
DROP FUNCTION act(text);

-- called through a search_path that holds a decoy of the same name and
-- not the extension's schema
CREATE SCHEMA decoy;
CREATE FUNCTION decoy.mig_action_string(action json) RETURNS text
	LANGUAGE sql AS $$ SELECT 'decoy' $$;
SET search_path = decoy, pg_catalog;
SELECT mig.mig_action_string('{"name":"n","target":"t","validfrom":"2026-01-02T03:04:05Z","expireafter":"2026-01-02T04:04:05Z","operations":[{"module":"m"}]}');
SET search_path = '';
SELECT mig.mig_action_string('{"name":"n","target":"t","validfrom":"2026-01-02T03:04:05Z","expireafter":"2026-01-02T04:04:05Z","operations":[{"module":"m"}]}');
RESET search_path;
DROP SCHEMA decoy CASCADE;
DROP EXTENSION mig;
DROP FUNCTION canon(text);
DROP FUNCTION ops(text);
