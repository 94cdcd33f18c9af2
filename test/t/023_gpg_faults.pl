# Proves that a failure of gpg in the middle of a keyring load leaves the
# session usable: the keyring's GnuPG home is damaged under a connected
# session (its public keyring removed, as a full disk or an operator
# might); a verification then gets gpg's "no public key" and says no
# investigator has the key; a key change makes the next load delete the old
# key, which gpg cannot do: the verification fails with gpg's error (38000)
# and nothing is recorded; the one after it makes the keyring again
# in a new home, removes the damaged one, and answers right.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $fixtures = 'test/fixtures';
sub fx { return slurp_file("$fixtures/$_[0]"); }

my $node = PostgreSQL::Test::Cluster->new('gpg_faults');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'mig'
search_path = '"\$user", public, mig'
mig.spool_dir = '/nonexistent/mig-023-spool'
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION mig');
$node->safe_psql('postgres', sprintf(q{
INSERT INTO investigators (id, name, publickey) VALUES (1, 'Alice', $k$%s$k$), (2, 'Bob', $k$%s$k$);
INSERT INTO actions (id, name, target, validfrom, expireafter, operations, pgpsignatures) VALUES
	(1, 'check sshd', 'status=''online''', '2026-01-02T03:04:05.5+01:00', '2026-01-02T04:04:05.5+01:00',
	 '[{"module":"file","parameters":{"a":"\u003cx\u003e","z":1}}]', json_build_array($s$%s$s$)),
	(2, 'find ssh keys', 'agents.os=''linux''', '2026-03-01 00:00:00+00', '2026-03-02 00:00:00+00',
	 '[{"module":"file","parameters":{"searches":{"s1":{"names":["id_rsa"]}}}},{"module":"netstat","parameters":{"connectedip":["10.0.0.1"]}}]',
	 json_build_array($s$%s$s$, $s$%s$s$));
}, fx('keys/alice.pub'), fx('keys/bob.pub'), fx('sig/1.alice.line'), fx('sig/2.alice.line'),
	fx('sig/2.bob.asc')));

sub results
{
	my ($id) = @_;
	return "SELECT string_agg(position || ':' || valid || coalesce(':' || reason, ''), ' ' ORDER BY position) FROM mig_verify_action($id)";
}

my $s = $node->background_psql('postgres', on_error_stop => 0);
is($s->query_safe(results(2)), '1:true 2:true', 'the keyring is loaded');
my $dir = $s->query_safe('SELECT gnupg_directory FROM mig_pgp_stats()');
my @homes = glob("$dir/keyring.*");
is(scalar(@homes), 1, 'one keyring home');
my $home = $homes[0];
ok(-f "$home/pubring.kbx", 'gpg keeps the keys in pubring.kbx');

# the damage
unlink("$home/pubring.kbx") or die "could not remove $home/pubring.kbx: $!";

# gpg no longer has the keys the keyring lists
is($s->query_safe(results(1)), '1:false:no investigator has this key',
	'gpg has lost the key: no investigator has it, as far as gpg can tell');

# a key change: the load deletes bob's old key, which gpg cannot do
$node->safe_psql('postgres', q{UPDATE investigators SET publickey = publickey || E'\n' WHERE id = 2});
$s->query(results(1));
like($s->{stderr}, qr/ERROR:  could not delete a key with gpg: /,
	'the load fails with gpg\'s error');
$s->{stderr} = '';
is($s->query_safe(q{SELECT count(*) FROM verifications v, keyring k
	WHERE v.actionid = 1 AND v.keyring = k.epoch}), '0',
	'nothing was recorded for the new keys');

# the next load makes the keyring again, in a new home
is($s->query_safe(results(1)), '1:true', 'the next verification answers right');
is($s->query_safe(results(2)), '1:true 2:true', 'with every key');
ok(!-e $home, 'the damaged home is gone');
@homes = glob("$dir/keyring.*");
is(scalar(@homes), 1, 'one keyring home, a new one');
isnt($homes[0], $home, 'not the damaged one');
$s->quit;

$node->stop;
done_testing();
