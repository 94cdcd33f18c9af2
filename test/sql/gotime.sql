-- RFC 3339 times as mig reads them (src/gotime.c): exactly as Go's
-- time.Time UnmarshalJSON (time.Parse of "2006-01-02T15:04:05Z07:00") of Go
-- 1.19 reads them, the Go MIG's clients are built with and sign with.  Each
-- row: a time, Go's answer (its Unix seconds, or "refused"; written from
-- the output of test/go/migcanon time, Debian 12's Go 1.19), and mig's: the
-- validfrom of the canonical signed string, or "refused" (22P02).
-- test/fuzz/gotime.check compares many more times with Go itself.
CREATE EXTENSION mig;

CREATE FUNCTION vf(t text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	RETURN substring(mig_action_string(format(
		'{"name":"n","target":"t","validfrom":"%s","expireafter":"2026-01-02T04:04:05Z","operations":[]}',
		t)::json) FROM 'validfrom=(-?[0-9]+);');
EXCEPTION WHEN invalid_text_representation THEN
	RETURN 'refused';
END
$$;

-- as RFC 3339 says
SELECT t AS "time", go AS "Go 1.19", vf(t) AS mig FROM (VALUES
    ('2026-01-02T03:04:05Z', '1767323045'),
    ('2026-01-02T03:04:05+01:00', '1767319445'),
    ('2026-01-02T03:04:05-00:00', '1767323045'),
    ('2024-02-29T12:00:00Z', '1709208000')) v(t, go);

-- Go's extras: a one-digit hour, a fraction after ',' or of any length
-- (dropped: the floor of the instant)
SELECT t AS "time", go AS "Go 1.19", vf(t) AS mig FROM (VALUES
    ('2026-01-02T3:04:05Z', '1767323045'),
    ('2026-01-02T03:04:05.5Z', '1767323045'),
    ('2026-01-02T03:04:05,5Z', '1767323045'),
    ('2026-01-02T03:04:05.1234567891Z', '1767323045'),
    ('2026-01-02T03:04:05.9999999999Z', '1767323045'),
    ('1969-12-31T23:59:59.5Z', '-1')) v(t, go);

-- a fraction where the seconds should be: the seconds are 0
SELECT t AS "time", go AS "Go 1.19", vf(t) AS mig FROM (VALUES
    ('2026-01-02T03:04:,05Z', '1767323040'),
    ('2026-01-02T03:04:.05Z', '1767323040'),
    ('2026-01-02T03:04:,505Z', '1767323040'),
    ('2026-01-02T03:04:.12345678905Z', '1767323040'),
    ('2026-01-02T03:04:.5+01:00', '1767319440'),
    ('1969-12-31T23:59:.5Z', '-60')) v(t, go);

-- offsets: any two digits each, no range
SELECT t AS "time", go AS "Go 1.19", vf(t) AS mig FROM (VALUES
    ('2026-01-02T03:04:05+23:59', '1767236705'),
    ('2026-01-02T03:04:05-23:59', '1767409385'),
    ('2026-01-02T03:04:05+24:00', '1767236645'),
    ('2026-01-02T03:04:05+99:99', '1766960705'),
    ('2026-01-02T03:04:05-99:99', '1767685385')) v(t, go);

-- offsets: a sign and one digit in place of two digits
SELECT t AS "time", go AS "Go 1.19", vf(t) AS mig FROM (VALUES
    ('2026-01-02T03:04:05+-1:30', '1767324845'),
    ('2026-01-02T03:04:05++1:00', '1767319445'),
    ('2026-01-02T03:04:05-01:+5', '1767326945'),
    ('2026-01-02T03:04:05+01:-5', '1767319745'),
    ('2026-01-02T03:04:05--1:-1', '1767319385'),
    ('2026-01-02T03:04:05+-0:00', '1767323045')) v(t, go);

-- years 0000 to 9999, and an offset beyond either end
SELECT t AS "time", go AS "Go 1.19", vf(t) AS mig FROM (VALUES
    ('0000-01-01T00:00:00Z', '-62167219200'),
    ('0000-02-29T00:00:00Z', '-62162121600'),
    ('0000-01-01T00:00:00+01:00', '-62167222800'),
    ('9999-12-31T23:59:59.999999999Z', '253402300799'),
    ('9999-12-31T23:59:59-99:99', '253402663139')) v(t, go);

-- refused: out of range (no 24:00, no leap second, the day within its
-- month)
SELECT t AS "time", go AS "Go 1.19", vf(t) AS mig FROM (VALUES
    ('2026-01-02T24:00:00Z', 'refused'),
    ('2026-01-02T23:59:60Z', 'refused'),
    ('2026-01-02T03:60:05Z', 'refused'),
    ('2026-13-02T03:04:05Z', 'refused'),
    ('2026-00-02T03:04:05Z', 'refused'),
    ('2026-01-00T03:04:05Z', 'refused'),
    ('2026-02-29T03:04:05Z', 'refused'),
    ('2026-04-31T03:04:05Z', 'refused')) v(t, go);

-- refused: separators and letters (T and Z upper-case only)
SELECT t AS "time", go AS "Go 1.19", vf(t) AS mig FROM (VALUES
    ('2026-01-02t03:04:05Z', 'refused'),
    ('2026-01-02T03:04:05z', 'refused'),
    ('2026-01-02 03:04:05Z', 'refused'),
    ('2026-01-02T03:04:05', 'refused'),
    ('2026-01-02T03:04:05Z0', 'refused'),
    (' 2026-01-02T03:04:05Z', 'refused')) v(t, go);

-- refused: digits missing or too many
SELECT t AS "time", go AS "Go 1.19", vf(t) AS mig FROM (VALUES
    ('2026-01-02T03:04Z', 'refused'),
    ('2026-01-02T03:04:5Z', 'refused'),
    ('2026-01-02T03:04:5.5Z', 'refused'),
    ('2026-01-02T003:04:05Z', 'refused'),
    ('26-01-02T03:04:05Z', 'refused'),
    ('+2026-01-02T03:04:05Z', 'refused'),
    ('2026-1-02T03:04:05Z', 'refused')) v(t, go);

-- refused: a fraction without digits, after the minutes, twice, or with a sign
SELECT t AS "time", go AS "Go 1.19", vf(t) AS mig FROM (VALUES
    ('2026-01-02T03:04:05.Z', 'refused'),
    ('2026-01-02T03:04:.Z', 'refused'),
    ('2026-01-02T03:04.5:05Z', 'refused'),
    ('2026-01-02T03:04:05.5,5Z', 'refused'),
    ('2026-01-02T03:04:.5.5Z', 'refused'),
    ('2026-01-02T03:04:05.-1Z', 'refused'),
    ('2026-01-02T03:04:,-5Z', 'refused'),
    ('2026-01-02T03:04:+5Z', 'refused')) v(t, go);

-- refused: offsets of another shape
SELECT t AS "time", go AS "Go 1.19", vf(t) AS mig FROM (VALUES
    ('2026-01-02T03:04:05+0100', 'refused'),
    ('2026-01-02T03:04:05+01', 'refused'),
    ('2026-01-02T03:04:05+1:00', 'refused'),
    ('2026-01-02T03:04:05+01:00:00', 'refused'),
    ('2026-01-02T03:04:05+ 1:00', 'refused'),
    ('2026-01-02T03:04:05+--:00', 'refused')) v(t, go);

-- a JSON escape: Go parses the raw token, so this is no time
SELECT vf('2026-01-02T03:04:05\u005a');
-- the error, in full
SELECT mig_action_string('{"name":"n","target":"t","validfrom":"2026-01-02T03:04:5Z","expireafter":"2026-01-02T04:04:05Z","operations":[]}');

DROP FUNCTION vf(text);
DROP EXTENSION mig;
