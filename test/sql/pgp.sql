-- OpenPGP: keys, detached signatures, verified actions and their record.
-- The keys and signatures are test/fixtures (made by make-keys.sh): alice
-- (RSA) and bob (Ed25519) sign, carol's key expired, dave's is revoked after
-- he signed (keys/dave.pub before, keys/dave-revoked.pub after), erin signs
-- with a subkey, mallory is nobody's.  sig/<action>.<signer>.asc is gpg's
-- ASCII armor, .line MIG's one-line form.
CREATE EXTENSION mig;
\getenv abs_srcdir PG_ABS_SRCDIR
\set fixtures :abs_srcdir '/fixtures/'
CREATE TEMP TABLE fx AS
SELECT d || '/' || f AS name, pg_read_file(:'fixtures' || d || '/' || f) AS body
  FROM unnest(ARRAY['keys', 'sig', 'actions']) d, pg_ls_dir(:'fixtures' || d) f;
CREATE FUNCTION pg_temp.fx(name text) RETURNS text
	LANGUAGE sql STABLE AS $$ SELECT body FROM fx WHERE fx.name = $1 $$;
-- how many gpg processes this backend started so far
CREATE FUNCTION pg_temp.gpg_runs() RETURNS bigint
	LANGUAGE sql AS $$ SELECT gpg_runs FROM mig_pgp_stats() $$;

------------------------------------------------------------------------------
-- mig_key_fingerprint: the primary key's fingerprint
------------------------------------------------------------------------------
SELECT k, mig_key_fingerprint(pg_temp.fx('keys/' || k || '.pub'))
  FROM unnest(ARRAY['alice', 'bob', 'carol', 'dave', 'dave-revoked', 'erin', 'mallory']) k;
-- expired and revoked keys have a fingerprint too; erin's is her primary key's
SELECT mig_key_fingerprint(pg_temp.fx('keys/erin.pub')) =
       split_part(split_part(pg_temp.fx('keys/fingerprints'), 'erin ', 2), E'\n', 1) AS erin_primary;

-- not one public key
SELECT mig_key_fingerprint('');
SELECT mig_key_fingerprint('not a key');
SELECT mig_key_fingerprint(pg_temp.fx('keys/alice.pub') || pg_temp.fx('keys/bob.pub'));
SELECT mig_key_fingerprint(pg_temp.fx('sig/1.alice.asc'));
SELECT mig_key_fingerprint(E'-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n!!!!\n-----END PGP PUBLIC KEY BLOCK-----');
SELECT mig_key_fingerprint(replace(pg_temp.fx('keys/alice.pub'), E'\n=', E'\n=A'));
-- a secret key packet (tag 5) is refused
SELECT mig_key_fingerprint(E'-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlAEE\n-----END PGP PRIVATE KEY BLOCK-----');
-- a key packet over 64 kB has no v4 fingerprint (its length is hashed in two
-- bytes): refused, not an internal error (test/fuzz/corpus/pubkey/regress-*)
SELECT mig_key_fingerprint(E'-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n' ||
       encode('\x9a0001000004'::bytea || decode(repeat('00', 65535), 'hex'), 'base64') ||
       E'\n-----END PGP PUBLIC KEY BLOCK-----');
-- a key gpg lists but will not import (its user ID has no self-signature)
SELECT mig_key_fingerprint(pg_temp.fx('keys/alice-nouid.pub'));
SELECT mig_key_fingerprint(NULL) IS NULL AS null_in_null_out;

------------------------------------------------------------------------------
-- mig_verify_signature: the signer's fingerprint, or NULL
------------------------------------------------------------------------------
SELECT s AS signature, k AS key,
       mig_verify_signature(pg_temp.fx('actions/1.txt'), pg_temp.fx('sig/1.' || s), pg_temp.fx('keys/' || k || '.pub'))
  FROM (VALUES ('alice.asc', 'alice'),        -- valid, ASCII armor
               ('alice.line', 'alice'),       -- valid, MIG's one-line form
               ('bob.line', 'bob'),           -- valid, Ed25519
               ('erin.asc', 'erin'),          -- valid, made by erin's signing subkey
               ('dave.line', 'dave'),         -- valid while the key is not revoked
               ('dave.line', 'dave-revoked'), -- the same signature, key revoked
               ('carol.line', 'carol'),       -- key expired
               ('alice.asc', 'bob'),          -- wrong key
               ('mallory.asc', 'alice')) v(s, k);
-- tampered data
SELECT mig_verify_signature(pg_temp.fx('actions/1.txt') || ' ', pg_temp.fx('sig/1.alice.line'),
                            pg_temp.fx('keys/alice.pub')) AS tampered;
-- a signature of other data
SELECT mig_verify_signature(pg_temp.fx('actions/1.txt'), pg_temp.fx('sig/2.alice.line'),
                            pg_temp.fx('keys/alice.pub')) AS other_data;
-- the one-line form tolerates surrounding whitespace, as armor does
SELECT mig_verify_signature(pg_temp.fx('actions/1.txt'), E'  ' || pg_temp.fx('sig/1.alice.line') || E'\n',
                            pg_temp.fx('keys/alice.pub')) IS NOT NULL AS padded_ok;

-- not a signature at all
SELECT mig_verify_signature('x', '', pg_temp.fx('keys/alice.pub'));
SELECT mig_verify_signature('x', 'garbage!', pg_temp.fx('keys/alice.pub'));
SELECT mig_verify_signature('x', 'AAAA' || pg_temp.fx('sig/1.alice.line'), pg_temp.fx('keys/alice.pub'));
SELECT mig_verify_signature('x', pg_temp.fx('keys/alice.pub'), pg_temp.fx('keys/alice.pub'));
SELECT mig_verify_signature('x', pg_temp.fx('sig/1.alice.asc') || pg_temp.fx('sig/1.bob.asc'),
                            pg_temp.fx('keys/alice.pub'));
SELECT mig_verify_signature('x', pg_temp.fx('sig/1.alice.line'), 'not a key');
SELECT mig_verify_signature(NULL, pg_temp.fx('sig/1.alice.line'), pg_temp.fx('keys/alice.pub')) IS NULL
       AS null_in_null_out;

------------------------------------------------------------------------------
-- investigators: pgpfingerprint comes from publickey
------------------------------------------------------------------------------
INSERT INTO investigators (id, name, publickey) VALUES
	(1, 'Alice', pg_temp.fx('keys/alice.pub')),
	(2, 'Bob', pg_temp.fx('keys/bob.pub')),
	(3, 'Carol', pg_temp.fx('keys/carol.pub')),
	(4, 'Dave', pg_temp.fx('keys/dave.pub'));
-- a fingerprint given in another spelling is accepted and normalized
INSERT INTO investigators (id, name, pgpfingerprint, publickey) VALUES
	(5, 'Erin', lower(regexp_replace(mig_key_fingerprint(pg_temp.fx('keys/erin.pub')), '(....)', '\1 ', 'g')),
	 pg_temp.fx('keys/erin.pub'));
-- an investigator without a key keeps the fingerprint given
INSERT INTO investigators (id, name, pgpfingerprint) VALUES (7, 'Grace', 'ABCD');
SELECT id, name, pgpfingerprint FROM investigators ORDER BY id;
-- a fingerprint that is not the key's, a key that is not one
INSERT INTO investigators (id, name, pgpfingerprint, publickey)
	VALUES (8, 'Heidi', 'DBB1638B590DA0314FED7D0D7461A6A1520DAEC6', pg_temp.fx('keys/mallory.pub'));
INSERT INTO investigators (id, name, publickey) VALUES (8, 'Heidi', 'garbage');
-- a key gpg cannot use is refused at once, not only warned about at verification
INSERT INTO investigators (id, name, publickey) VALUES (8, 'Heidi', pg_temp.fx('keys/alice-nouid.pub'));
-- the same key twice
INSERT INTO investigators (id, name, publickey) VALUES (8, 'Heidi', pg_temp.fx('keys/alice.pub'));

------------------------------------------------------------------------------
-- mig_verify_action: every signature of an action, against the investigators
------------------------------------------------------------------------------
-- action 1 is the example of doc/design.md; its operations are stored as a client
-- may write them, not canonically (the signed string is computed)
INSERT INTO actions (id, name, target, validfrom, expireafter, operations, pgpsignatures, status)
VALUES (1, 'check sshd', 'status=''online''',
	'2026-01-02T03:04:05.5+01:00', '2026-01-02T04:04:05.5+01:00',
	'[ {"parameters": {"z": 1, "a": "<x>"}, "module": "file"} ]',
	json_build_array(pg_temp.fx('sig/1.alice.asc'),     -- 1 valid, armor
	                 pg_temp.fx('sig/1.bob.line'),      -- 2 valid, one-line
	                 pg_temp.fx('sig/1.carol.line'),    -- 3 key expired
	                 pg_temp.fx('sig/1.dave.asc'),      -- 4 valid (key not revoked yet)
	                 pg_temp.fx('sig/1.erin.line'),     -- 5 valid, by erin's subkey
	                 pg_temp.fx('sig/1.mallory.line'),  -- 6 nobody's key
	                 pg_temp.fx('sig/2.alice.line'),    -- 7 alice's, over other data
	                 'garbage',                         -- 8
	                 42,                                -- 9 not a string
	                 pg_temp.fx('sig/1.alice.line')),   -- 10 alice again
	'pending'),
-- action 2: two signers
	(2, 'find ssh keys', 'agents.os=''linux''', '2026-03-01 00:00:00+00', '2026-03-02 00:00:00+00',
	'[{"module":"file","parameters":{"searches":{"s1":{"names":["id_rsa"]}}}},{"module":"netstat","parameters":{"connectedip":["10.0.0.1"]}}]',
	json_build_array(pg_temp.fx('sig/2.alice.line'), pg_temp.fx('sig/2.bob.asc')), 'pending'),
-- action 3: no signatures
	(3, 'unsigned', 'true', '2026-03-01 00:00:00+00', '2026-03-02 00:00:00+00',
	'[{"module":"file"}]', NULL, 'pending'),
-- action 4: pgpsignatures that are not an array
	(4, 'broken', 'true', '2026-03-01 00:00:00+00', '2026-03-02 00:00:00+00',
	'[{"module":"file"}]', '{"sig": "x"}', 'pending');

SELECT * FROM mig_verify_action(1);
SELECT * FROM mig_verify_action(2);
SELECT * FROM mig_verify_action(3);
SELECT * FROM mig_verify_action(4);
SELECT * FROM mig_verify_action(42);
SELECT * FROM mig_verify_action(NULL);

-- the valid signatures are recorded, once per investigator
SELECT actionid, investigatorid,
       pgpsignature = pg_temp.fx('sig/' || actionid || '.' || lower(i.name) ||
                                 CASE WHEN actionid = 1 AND i.name IN ('Alice', 'Dave') THEN '.asc'
                                      WHEN actionid = 2 AND i.name = 'Bob' THEN '.asc'
                                      ELSE '.line' END) AS first_valid_signature
  FROM signatures s JOIN investigators i ON i.id = s.investigatorid
 ORDER BY actionid, investigatorid;

-- a second verification of an unchanged action answers without gpg (from
-- the record, or this backend's copy of it; a new session: see the end)
SELECT pg_temp.gpg_runs() AS runs \gset
SELECT position, valid FROM mig_verify_action(1) WHERE valid;
SELECT count(*) AS rows_from_record FROM mig_verify_action(2);
SELECT pg_temp.gpg_runs() - :runs AS new_gpg_runs;
-- and so do the calls of one statement after the first: they cannot see the
-- record it wrote, the backend keeps its own copy
UPDATE actions SET pgpsignatures = json_build_array(pg_temp.fx('sig/2.bob.asc'), pg_temp.fx('sig/2.alice.line'))
 WHERE id = 2;
SELECT pg_temp.gpg_runs() AS runs \gset
SELECT count(*) AS valid FROM generate_series(1, 20) i, mig_verify_action(2 + 0 * i) v WHERE v.valid;
SELECT pg_temp.gpg_runs() - :runs AS new_gpg_runs;
UPDATE actions SET pgpsignatures = json_build_array(pg_temp.fx('sig/2.alice.line'), pg_temp.fx('sig/2.bob.asc'))
 WHERE id = 2;
SELECT count(*) AS valid FROM mig_verify_action(2) v WHERE v.valid;

------------------------------------------------------------------------------
-- Staleness
------------------------------------------------------------------------------
-- a change that is not signed keeps the record
UPDATE actions SET status = 'inflight', sentctr = 1 WHERE id = 2;
SELECT count(*) AS recorded FROM signatures WHERE actionid = 2;
SELECT pg_temp.gpg_runs() AS runs \gset
SELECT count(*) FILTER (WHERE valid) AS valid FROM mig_verify_action(2);
SELECT pg_temp.gpg_runs() - :runs AS new_gpg_runs;

-- an edit of a signed field removes the record; the signatures are bad now
UPDATE actions SET target = 'agents.os=''darwin''' WHERE id = 2;
SELECT count(*) AS recorded FROM signatures WHERE actionid = 2;
SELECT position, valid, reason FROM mig_verify_action(2);
-- and good again once the edit is undone
UPDATE actions SET target = 'agents.os=''linux''' WHERE id = 2;
SELECT position, valid, reason FROM mig_verify_action(2);
-- so does a change of the signatures: one removed
UPDATE actions SET pgpsignatures = json_build_array(pg_temp.fx('sig/2.bob.line')) WHERE id = 2;
SELECT actionid, investigatorid FROM signatures WHERE actionid = 2;
SELECT position, investigator_id, valid FROM mig_verify_action(2);
SELECT actionid, investigatorid FROM signatures WHERE actionid = 2;

-- a key change: dave's key is now revoked; his recorded signature goes
UPDATE investigators SET publickey = pg_temp.fx('keys/dave-revoked.pub') WHERE id = 4;
SELECT actionid, investigatorid FROM signatures WHERE investigatorid = 4;
SELECT position, investigator_id, valid, reason FROM mig_verify_action(1) WHERE position = 4;
-- a key added: mallory's signature counts once she is an investigator
INSERT INTO investigators (id, name, publickey) VALUES (6, 'Mallory', pg_temp.fx('keys/mallory.pub'));
SELECT position, investigator_id, valid, reason FROM mig_verify_action(1) WHERE position = 6;
-- a key removed: bob's signature no longer counts, and his rows go
DELETE FROM investigators WHERE id = 2;
SELECT position, investigator_id, valid, reason FROM mig_verify_action(1) WHERE position = 2;
SELECT count(*) AS bob_rows FROM signatures WHERE investigatorid = 2;
-- a key set to NULL: erin's fingerprint goes with it
UPDATE investigators SET publickey = NULL WHERE id = 5;
SELECT pgpfingerprint FROM investigators WHERE id = 5;
SELECT position, valid, reason FROM mig_verify_action(1) WHERE position = 5;

-- signatures changed by hand: the record is dropped and written again
-- (without gpg: the backend still knows the answer)
DELETE FROM signatures WHERE actionid = 1 AND investigatorid = 6;
SELECT count(*) AS records FROM verifications WHERE actionid = 1;
SELECT pg_temp.gpg_runs() AS runs \gset
SELECT count(*) FILTER (WHERE valid) AS valid FROM mig_verify_action(1);
SELECT investigatorid FROM signatures WHERE actionid = 1 ORDER BY 1;
SELECT pg_temp.gpg_runs() - :runs AS new_gpg_runs;
-- even when that happens again within the transaction that wrote the record
BEGIN;
DELETE FROM signatures WHERE actionid = 1;
SELECT count(*) FILTER (WHERE valid) AS valid FROM mig_verify_action(1);
DELETE FROM signatures WHERE actionid = 1;
SELECT count(*) FILTER (WHERE valid) AS valid FROM mig_verify_action(1);
SELECT investigatorid FROM signatures WHERE actionid = 1 ORDER BY 1;
COMMIT;

-- a recorded action can be deleted, and renumbered
UPDATE actions SET id = 12 WHERE id = 2;
SELECT actionid FROM verifications ORDER BY 1;
DELETE FROM actions WHERE id = 12;
SELECT count(*) AS left_over FROM signatures WHERE actionid IN (2, 12);

------------------------------------------------------------------------------
-- A read-only transaction verifies without recording
------------------------------------------------------------------------------
UPDATE actions SET pgpsignatures = json_build_array(pg_temp.fx('sig/1.alice.line')) WHERE id = 1;
SELECT pg_temp.gpg_runs() AS runs \gset
BEGIN TRANSACTION READ ONLY;
SELECT position, investigator_id, valid FROM mig_verify_action(1);
SELECT count(*) AS records FROM verifications WHERE actionid = 1;
-- repeated calls (one per row) run gpg once
SELECT count(*) AS valid FROM generate_series(1, 10) i, mig_verify_action(1 + 0 * i) v WHERE v.valid;
COMMIT;
SELECT pg_temp.gpg_runs() - :runs AS new_gpg_runs;
-- the next transaction that can write records it, without gpg
SELECT position, investigator_id, valid FROM mig_verify_action(1);
SELECT count(*) AS records FROM verifications WHERE actionid = 1;
SELECT pg_temp.gpg_runs() - :runs AS new_gpg_runs;

------------------------------------------------------------------------------
-- gpg left nothing behind in the backend's directory but its homes
------------------------------------------------------------------------------
SELECT gnupg_directory ~ '/base/pgsql_tmp/pgsql_tmp\.mig_gnupg\.\d+$' AS private_directory,
       (pg_stat_file(gnupg_directory)).isdir
  FROM mig_pgp_stats();

DROP EXTENSION mig;

------------------------------------------------------------------------------
-- Called with a search_path that does not hold mig's schema
------------------------------------------------------------------------------
CREATE EXTENSION mig;
SET search_path = pg_catalog, pg_temp;
INSERT INTO mig.investigators (id, name, publickey)
	VALUES (1, 'Alice', pg_temp.fx('keys/alice.pub'));
INSERT INTO mig.actions (id, name, target, validfrom, expireafter, operations, pgpsignatures)
VALUES (2, 'find ssh keys', 'agents.os=''linux''', '2026-03-01 00:00:00+00', '2026-03-02 00:00:00+00',
	'[{"module":"file","parameters":{"searches":{"s1":{"names":["id_rsa"]}}}},{"module":"netstat","parameters":{"connectedip":["10.0.0.1"]}}]',
	json_build_array(pg_temp.fx('sig/2.alice.line')));
SELECT * FROM mig.mig_verify_action(2);
SELECT actionid, investigatorid FROM mig.signatures;

-- a new session answers from the record, without gpg
\c
SET search_path = pg_catalog;
SELECT position, valid FROM mig.mig_verify_action(2);
SELECT from_cache, from_record, with_gpg, gpg_runs FROM mig.mig_pgp_stats();
RESET search_path;
DROP EXTENSION mig;
