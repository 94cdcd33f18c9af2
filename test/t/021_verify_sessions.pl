# Proves that a change to the investigators' keys made in one session is
# seen by the next verification of another session that stays connected
# (its keyring was loaded before the change: only what changed is imported
# again), that recording waits for a row lock as any writer does (a lock
# timeout is the caller's error, in a repeatable-read transaction too), and
# that verification works on a hot standby: without recording, and from the
# primary's record once that is replayed.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $fixtures = 'test/fixtures';
sub fx { return slurp_file("$fixtures/$_[0]"); }

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'mig'
search_path = '"\$user", public, mig'
mig.spool_dir = '/nonexistent/mig-021-spool'
});
$primary->start;

# action 1 (signed by alice, dave and mallory) has its operations written
# canonically, as is action 2 (signed by alice and bob)
$primary->safe_psql('postgres', 'CREATE EXTENSION mig');
$primary->safe_psql('postgres', sprintf(q{
INSERT INTO investigators (id, name, publickey) VALUES
	(1, 'Alice', $k$%s$k$), (2, 'Bob', $k$%s$k$), (4, 'Dave', $k$%s$k$);
INSERT INTO actions (id, name, target, validfrom, expireafter, operations, pgpsignatures) VALUES
	(1, 'check sshd', 'status=''online''', '2026-01-02T03:04:05.5+01:00', '2026-01-02T04:04:05.5+01:00',
	 '[{"module":"file","parameters":{"a":"\u003cx\u003e","z":1}}]',
	 json_build_array($s$%s$s$, $s$%s$s$, $s$%s$s$)),
	(2, 'find ssh keys', 'agents.os=''linux''', '2026-03-01 00:00:00+00', '2026-03-02 00:00:00+00',
	 '[{"module":"file","parameters":{"searches":{"s1":{"names":["id_rsa"]}}}},{"module":"netstat","parameters":{"connectedip":["10.0.0.1"]}}]',
	 json_build_array($s$%s$s$, $s$%s$s$));
}, fx('keys/alice.pub'), fx('keys/bob.pub'), fx('keys/dave.pub'),
	fx('sig/1.alice.line'), fx('sig/1.dave.line'), fx('sig/1.mallory.line'),
	fx('sig/2.alice.line'), fx('sig/2.bob.asc')));

my $results = q{SELECT string_agg(position || ':' || valid || coalesce(':' || reason, ''), ' ' ORDER BY position) FROM mig_verify_action(1)};
my $imported = q{SELECT keys_imported FROM mig_pgp_stats()};

# A session that stays connected, with its keyring loaded.
my $b = $primary->background_psql('postgres');
is($b->query_safe($results), '1:true 2:true 3:false:no investigator has this key',
	'first verification');
is($b->query_safe($imported), '3', 'the three keys were imported');

# Another session revokes dave's key ...
$primary->safe_psql('postgres', sprintf(q{UPDATE investigators SET publickey = $k$%s$k$ WHERE id = 4},
	fx('keys/dave-revoked.pub')));
is($b->query_safe($results), '1:true 2:false:key revoked 3:false:no investigator has this key',
	'the connected session sees the revocation');
is($b->query_safe($imported), '4', 'only the changed key was imported again');

# ... adds mallory ...
$primary->safe_psql('postgres', sprintf(q{INSERT INTO investigators (id, name, publickey) VALUES (6, 'Mallory', $k$%s$k$)},
	fx('keys/mallory.pub')));
is($b->query_safe($results), '1:true 2:false:key revoked 3:true',
	'the connected session sees the new key');
is($b->query_safe($imported), '5', 'only the new key was imported');

# ... and removes alice.
$primary->safe_psql('postgres', 'DELETE FROM investigators WHERE id = 1');
is($b->query_safe($results), '1:false:no investigator has this key 2:false:key revoked 3:true',
	'the connected session sees the removal');
is($b->query_safe($imported), '5', 'a removal imports nothing');

# A change rolled back leaves the keyring as it was, even in the session
# that made it (its keyring epoch is never reused).
is($b->query_safe(q{BEGIN; DELETE FROM investigators WHERE id = 6; } . $results),
	'1:false:no investigator has this key 2:false:key revoked 3:false:no investigator has this key',
	'an uncommitted removal is seen in its own transaction');
$b->query_safe('ROLLBACK');
is($b->query_safe($results), '1:false:no investigator has this key 2:false:key revoked 3:true',
	'and not after its rollback');
$b->quit;

# Recording waits for the rows it writes as any writer does: when the
# record of action 2 must be written again (a new keyring epoch made it
# stale) while another transaction holds bob's recorded signature row,
# a repeatable-read verification fails with its lock_timeout (recording
# runs there in a subtransaction, and only a serialization failure means
# "not recorded"); once the row is free, the same session records, and a
# change it makes to signatures by hand removes the record as ever.
is($primary->safe_psql('postgres', q{SELECT count(*) FILTER (WHERE valid) FROM mig_verify_action(2)}),
	'1', 'action 2 is verified (bob) and recorded');
$primary->safe_psql('postgres', q{UPDATE investigators SET status = 'active' WHERE id = 6});
my $h = $primary->background_psql('postgres');
$h->query_safe(q{BEGIN; SELECT investigatorid FROM signatures WHERE actionid = 2 FOR SHARE});
my $v = $primary->background_psql('postgres', on_error_stop => 0);
$v->query_safe(q{SET lock_timeout = '100ms'; \set VERBOSITY verbose});
my (undef, $failed) = $v->query(
	q{BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM mig_verify_action(2)});
ok($failed, 'the repeatable-read verification fails ...');
like($v->{stderr}, qr/ERROR:  55P03: canceling statement due to lock timeout/,
	'... with the lock timeout, not taken for "not recorded"');
$v->{stderr} = '';
$v->query_safe('ROLLBACK');
$h->query_safe('COMMIT');
$h->quit;
is($v->query_safe(q{SELECT count(*) FILTER (WHERE valid) FROM mig_verify_action(2)}), '1',
	'once the row is free, the session verifies ...');
is($v->query_safe(q{SELECT count(*) FROM verifications WHERE actionid = 2 AND keyring = (SELECT epoch FROM keyring)}),
	'1', '... and records');
is($v->query_safe(q{DELETE FROM signatures WHERE actionid = 2; SELECT count(*) FROM verifications WHERE actionid = 2}),
	'0', 'a change to signatures by hand removes the record');
$v->quit;

# A hot standby verifies, without recording.
$primary->backup('backup');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'backup', has_streaming => 1);
$standby->start;

$primary->safe_psql('postgres', q{UPDATE actions SET target = 'agents.os=''darwin''' WHERE id = 2});
$primary->wait_for_catchup($standby);
my $s = $standby->background_psql('postgres');
is($s->query_safe('SELECT pg_is_in_recovery()'), 't', 'the standby is in recovery');
is($s->query_safe(q{SELECT string_agg(valid || ':' || reason, ' ' ORDER BY position) FROM mig_verify_action(2)}),
	'false:no investigator has this key false:bad signature',
	'the standby verifies an edited action (alice is gone, bob signed the old target)');
$primary->safe_psql('postgres', q{UPDATE actions SET target = 'agents.os=''linux''' WHERE id = 2});
$primary->wait_for_catchup($standby);
is($s->query_safe(q{SELECT count(*) FILTER (WHERE valid) FROM mig_verify_action(2)}), '1',
	'and sees the edit undone');
is($s->query_safe(q{SELECT with_gpg || ' ' || recorded FROM mig_pgp_stats()}), '2 0',
	'with gpg, recording nothing');
is($s->query_safe(q{SELECT count(*) FROM generate_series(1, 5) i, mig_verify_action(2 + 0 * i) v WHERE v.valid}),
	'5', 'repeated verifications on the standby ...');
is($s->query_safe(q{SELECT from_cache || ' ' || with_gpg FROM mig_pgp_stats()}), '5 2',
	'... answer from the backend\'s own copy');
$s->quit;

# Once the primary has recorded the verification, the standby answers from
# the record.
is($primary->safe_psql('postgres', q{SELECT count(*) FILTER (WHERE valid) FROM mig_verify_action(2)}),
	'1', 'the primary verifies and records');
$primary->wait_for_catchup($standby);
$s = $standby->background_psql('postgres');
is($s->query_safe(q{SELECT count(*) FILTER (WHERE valid) FROM mig_verify_action(2)}), '1',
	'a new standby session verifies');
is($s->query_safe(q{SELECT from_record || ' ' || gpg_runs FROM mig_pgp_stats()}),
	'1 0', 'from the replayed record, without gpg');
$s->quit;

$standby->stop;
$primary->stop;
done_testing();
