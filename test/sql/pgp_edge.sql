-- OpenPGP's rarer answers and the record's edges: signatures that expired
-- or expire, a key that may no longer sign, a digest gpg rejects, an
-- inactive investigator, keys the keyring leaves out, signatures too long
-- for signatures.pgpsignature, pgpsignatures JSON mig cannot use, an action
-- id too long for the backend's copy, the copy's eviction, recording in a
-- REPEATABLE READ transaction, the keyring's row deleted.  The keys and
-- signatures are test/fixtures/edge (made by make.sh there): frank signs,
-- grace's key may no longer sign, heidi signs with a subkey that expires
-- before her key.
CREATE EXTENSION mig;
\getenv abs_srcdir PG_ABS_SRCDIR
\set fixtures :abs_srcdir '/fixtures/'
CREATE TEMP TABLE fx AS
SELECT d || '/' || f AS name, pg_read_file(:'fixtures' || d || '/' || f) AS body
  FROM unnest(ARRAY['edge', 'keys', 'actions']) d, pg_ls_dir(:'fixtures' || d) f;
CREATE FUNCTION pg_temp.fx(name text) RETURNS text
	LANGUAGE sql STABLE AS $$ SELECT body FROM fx WHERE fx.name = $1 $$;
-- an action whose signed fields are those of test/fixtures/actions/1.txt
CREATE FUNCTION pg_temp.act(id numeric, sigs json) RETURNS void
	LANGUAGE sql AS $$
INSERT INTO actions (id, name, target, validfrom, expireafter, operations, pgpsignatures, status)
VALUES ($1, 'check sshd', 'status=''online''', '2026-01-02T03:04:05.5+01:00',
	'2026-01-02T04:04:05.5+01:00', '[ {"parameters": {"z": 1, "a": "<x>"}, "module": "file"} ]',
	$2, 'pending') $$;
CREATE FUNCTION pg_temp.stats(OUT from_cache bigint, OUT from_record bigint, OUT with_gpg bigint)
	LANGUAGE sql AS $$ SELECT from_cache, from_record, with_gpg FROM mig_pgp_stats() $$;

-- no investigator has a key yet: a signature is nobody's
SELECT pg_temp.act(100, json_build_array(pg_temp.fx('edge/1.frank.asc')));
SELECT * FROM mig_verify_action(100);

INSERT INTO investigators (id, name, publickey) VALUES
	(1, 'Frank', pg_temp.fx('edge/frank.pub')),
	(2, 'Grace', pg_temp.fx('edge/grace.pub')),
	(3, 'Heidi', pg_temp.fx('edge/heidi.pub'));

------------------------------------------------------------------------------
-- gpg's answers, and until when a valid signature stays valid
------------------------------------------------------------------------------
SELECT pg_temp.act(1, json_build_array(
	pg_temp.fx('edge/1.frank.expired.asc'),  -- 1 the signature expired
	pg_temp.fx('edge/1.frank.md5.asc'),      -- 2 an MD5 digest: gpg rejects it
	pg_temp.fx('edge/1.grace.asc'),          -- 3 made while grace's key could sign
	pg_temp.fx('edge/1.heidi.asc'),          -- 4 valid until heidi's subkey expires
	pg_temp.fx('edge/1.frank.expires.asc'))); -- 5 valid until the signature expires
SELECT * FROM mig_verify_action(1);
-- the record is valid until the first expiry among the valid signatures:
-- heidi's subkey (2090), before her key (2100) and frank's signature (2100)
SELECT valid_until, valid, reasons FROM verifications WHERE actionid = 1;
-- one signature, which expires; one that never does, by a key that never does
SELECT pg_temp.act(2, json_build_array(pg_temp.fx('edge/1.frank.expires.asc')));
SELECT pg_temp.act(3, json_build_array(pg_temp.fx('edge/1.frank.asc')));
SELECT count(*) FROM mig_verify_action(2) WHERE valid;
SELECT count(*) FROM mig_verify_action(3) WHERE valid;
SELECT actionid, valid_until FROM verifications WHERE actionid IN (2, 3) ORDER BY 1;

-- an investigator who is not active: the signature is good, it does not count
UPDATE investigators SET status = 'disabled' WHERE id = 3;
SELECT position, investigator_id, valid, reason FROM mig_verify_action(1) WHERE position = 4;
SELECT signers, valid_until FROM verifications WHERE actionid = 1;
UPDATE investigators SET status = 'active' WHERE id = 3;
SELECT position, investigator_id, valid, reason FROM mig_verify_action(1) WHERE position = 4;

------------------------------------------------------------------------------
-- Valid signatures longer than signatures.pgpsignature holds (4,096)
------------------------------------------------------------------------------
-- long armor headers: kept in MIG's one-line form, which gpg reads too
SELECT length(pg_temp.fx('edge/1.frank.headers.asc')) > 4096 AS long_armor;
SELECT pg_temp.act(4, json_build_array(pg_temp.fx('edge/1.frank.headers.asc')));
SELECT position, investigator_id, valid FROM mig_verify_action(4);
SELECT pgpsignature !~ 'BEGIN PGP' AS one_line, length(pgpsignature) <= 4096 AS fits,
       mig_verify_signature(pg_temp.fx('actions/1.txt'), pgpsignature, pg_temp.fx('edge/frank.pub')) =
       mig_key_fingerprint(pg_temp.fx('edge/frank.pub')) AS verifies
  FROM signatures WHERE actionid = 4;
-- a signature packet too long for it in any form: recorded without the row
SELECT pg_temp.act(5, json_build_array(pg_temp.fx('edge/1.frank.notation.asc')));
SELECT position, investigator_id, valid FROM mig_verify_action(5);
SELECT signers, valid FROM verifications WHERE actionid = 5;
SELECT count(*) AS signature_rows FROM signatures WHERE actionid = 5;

------------------------------------------------------------------------------
-- pgpsignatures mig cannot use, and actions without operations
------------------------------------------------------------------------------
-- JSON null is no signature; a string holding a NUL is not a signature
INSERT INTO actions (id, name, target, validfrom, expireafter, operations, pgpsignatures)
VALUES (6, 'null', 'true', '2026-03-01 00:00:00+00', '2026-03-02 00:00:00+00', '[{"module":"file"}]', 'null'),
	(7, 'nul', 'true', '2026-03-01 00:00:00+00', '2026-03-02 00:00:00+00', '[{"module":"file"}]', '["a\u0000b"]'),
-- JSON that PostgreSQL stores but that mig cannot read (a number beyond float64)
	(8, 'huge', 'true', '2026-03-01 00:00:00+00', '2026-03-02 00:00:00+00', '[{"module":"file"}]', '[1e400]'),
-- no operations: signed as MIG's clients sign them (null), nothing to authorize
	(9, 'no operations', 'true', '2026-03-01 00:00:00+00', '2026-03-02 00:00:00+00', NULL,
	 json_build_array(pg_temp.fx('edge/1.frank.asc'))),
-- operations that are not MIG's: the verification fails whole, and nothing is recorded
	(10, 'bad operations', 'true', '2026-03-01 00:00:00+00', '2026-03-02 00:00:00+00', '{"module":"file"}',
	 json_build_array(pg_temp.fx('edge/1.frank.asc')));
SELECT * FROM mig_verify_action(6);
SELECT * FROM mig_verify_action(7);
SELECT * FROM mig_verify_action(8);
SELECT position, investigator_id, valid, reason FROM mig_verify_action(9);
INSERT INTO agents (id, name, queueloc, mode, version, pid, starttime, heartbeattime, status)
VALUES (1, 'a1', 'q1', 'daemon', '1', 1, now(), now(), 'online');
SELECT mig_authorize(9, 1) AS authorized;
SELECT * FROM mig_verify_action(10);
SELECT count(*) AS records FROM verifications WHERE actionid IN (8, 10);
-- the session goes on after those errors
SELECT count(*) FROM mig_verify_action(3) WHERE valid;

------------------------------------------------------------------------------
-- The backend's copy: ids too long for it, its eviction
------------------------------------------------------------------------------
-- an id of more than 63 digits is not kept in the copy: the record answers
SELECT pg_temp.act(1e70, json_build_array(pg_temp.fx('edge/1.frank.asc')));
SELECT * FROM pg_temp.stats() \gset s_
BEGIN TRANSACTION READ ONLY;
SELECT count(*) FROM mig_verify_action(1e70) WHERE valid;
SELECT count(*) FROM mig_verify_action(1e70) WHERE valid;
COMMIT;
SELECT from_cache - :s_from_cache AS from_cache, from_record - :s_from_record AS from_record,
       with_gpg - :s_with_gpg AS with_gpg FROM pg_temp.stats();
-- recorded by a transaction that can write, then read from the record
SELECT count(*) FROM mig_verify_action(1e70) WHERE valid;
SELECT count(*) FROM mig_verify_action(1e70) WHERE valid;
SELECT from_cache - :s_from_cache AS from_cache, from_record - :s_from_record AS from_record,
       with_gpg - :s_with_gpg AS with_gpg FROM pg_temp.stats();
-- the copy holds 1,024 actions; then it starts afresh (in a read-only
-- transaction, which never records, the copy answers what it holds)
SELECT count(pg_temp.act(i, NULL)) FROM generate_series(1000, 2099) i;
SELECT * FROM pg_temp.stats() \gset s_
BEGIN TRANSACTION READ ONLY;
SELECT count(*) FROM mig_verify_action(3) WHERE valid;
SELECT count(*) FROM generate_series(1000, 2099) i, mig_verify_action(i);
SELECT count(*) FROM mig_verify_action(3) WHERE valid;
COMMIT;
SELECT from_cache - :s_from_cache AS from_cache, from_record - :s_from_record AS from_record,
       with_gpg - :s_with_gpg AS with_gpg FROM pg_temp.stats();

------------------------------------------------------------------------------
-- Recording in a REPEATABLE READ transaction (a concurrent change:
-- test/specs/pgp_record.spec)
------------------------------------------------------------------------------
SELECT pg_temp.act(11, json_build_array(pg_temp.fx('edge/1.frank.asc')));
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) FROM mig_verify_action(11) WHERE valid;
SELECT signers FROM verifications WHERE actionid = 11;
COMMIT;
SELECT signers FROM verifications WHERE actionid = 11;

------------------------------------------------------------------------------
-- The keyring's row deleted, as only a superuser editing mig's tables by
-- hand can: the epoch reads as 0, gpg still answers, and nothing is
-- recorded, since there is no keyring row to hold while recording
------------------------------------------------------------------------------
SELECT pg_temp.act(12, json_build_array(pg_temp.fx('edge/1.frank.asc')));
BEGIN;
DELETE FROM keyring;
SELECT with_gpg, recorded FROM mig_pgp_stats() \gset s_
SELECT position, investigator_id, valid, reason FROM mig_verify_action(12);
SELECT with_gpg - :s_with_gpg AS with_gpg, recorded - :s_recorded AS recorded
  FROM mig_pgp_stats();
SELECT count(*) AS records FROM verifications WHERE actionid = 12;
ROLLBACK;
-- with the row back, the verification is recorded
SELECT count(*) FROM mig_verify_action(12) WHERE valid;
SELECT signers FROM verifications WHERE actionid = 12;
-- and a key change while the row is gone makes a new epoch (the row comes
-- back), so this session, which loaded the keys as of epoch 0, loads them
-- again: the disabled investigator's signature stops counting at once
BEGIN;
DELETE FROM keyring;
SELECT position, investigator_id, valid FROM mig_verify_action(12);
UPDATE investigators SET status = 'disabled' WHERE id = 1;
SELECT count(*) AS rows, bool_and(epoch > 0) AS new_epoch FROM keyring;
SELECT position, investigator_id, valid, reason FROM mig_verify_action(12);
ROLLBACK;

------------------------------------------------------------------------------
-- TRUNCATE of signatures by hand: every record goes
------------------------------------------------------------------------------
SELECT count(*) > 0 AS some_records FROM verifications;
TRUNCATE signatures;
SELECT count(*) AS records FROM verifications;
SELECT count(*) FROM mig_verify_action(3) WHERE valid;
SELECT actionid, investigatorid FROM signatures ORDER BY 1;

------------------------------------------------------------------------------
-- A record edited by hand, its arrays of other lengths than the signatures
-- or with NULLs: read as far as the signatures go, a NULL as not valid
------------------------------------------------------------------------------
UPDATE verifications SET fingerprints = fingerprints || '{x}'::text[], valid = valid || true,
       reasons = reasons || '{x}'::text[] WHERE actionid = 3;
SELECT position, investigator_id, valid, reason FROM mig_verify_action(3);
UPDATE verifications SET valid = '{NULL}' WHERE actionid = 3;
SELECT position, investigator_id, valid, reason FROM mig_verify_action(3);
-- a digest edited (of another length, or another of the same length): the
-- record is not current; this backend's copy answers and writes it again,
-- without gpg
SELECT * FROM pg_temp.stats() \gset s_
UPDATE verifications SET digest = '\x00' WHERE actionid = 3;
SELECT position, investigator_id, valid, reason FROM mig_verify_action(3);
UPDATE verifications SET digest = decode(repeat('00', 32), 'hex') WHERE actionid = 3;
SELECT position, investigator_id, valid, reason FROM mig_verify_action(3);
SELECT from_cache - :s_from_cache AS from_cache, from_record - :s_from_record AS from_record,
       with_gpg - :s_with_gpg AS with_gpg,
       (SELECT digest <> decode(repeat('00', 32), 'hex') FROM verifications WHERE actionid = 3) AS written_again
  FROM pg_temp.stats();

------------------------------------------------------------------------------
-- Keys the keyring leaves out, with a warning, when a key was stored
-- without the checks of the trigger investigators_key (as a superuser may,
-- or as rows stored before it): one that is not a key, one gpg will not
-- import (no valid user ID), one another investigator has; the others load
------------------------------------------------------------------------------
ALTER TABLE investigators DISABLE TRIGGER investigators_key;
INSERT INTO investigators (id, name, publickey) VALUES
	(4, 'Ivan', pg_temp.fx('keys/alice-nouid.pub')),
	(5, 'Judy', 'garbage'),
	(6, 'Frank again', pg_temp.fx('edge/frank.pub')),
	(7, 'Bob', pg_temp.fx('keys/bob.pub'));
ALTER TABLE investigators ENABLE TRIGGER investigators_key;
SELECT position, investigator_id, valid, reason FROM mig_verify_action(1);

DROP EXTENSION mig;
