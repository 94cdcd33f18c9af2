# Proves that a verification is current only until the first expiry among
# the keys of its valid signatures: a key made by this test to expire a few
# seconds later signs an action; verified before then, the signature is
# valid, the record's valid_until is the key's expiry and both the record
# and the backend's copy answer without gpg; from the expiry on, neither
# answers (in the session that holds the copy, and in a new one), gpg runs
# again and says "key expired", and the record says so, without an expiry.
# The key and its GnuPG home are in this test's own directory.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $data = slurp_file('test/fixtures/actions/1.txt');

# how long the key is valid: enough for the verifications before its
# expiry on a slow machine (valgrind gives the tests a longer timeout)
my $window = $PostgreSQL::Test::Utils::timeout_default > 180
  ? int($PostgreSQL::Test::Utils::timeout_default / 18) : 10;

my $node = PostgreSQL::Test::Cluster->new('expiry');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'mig'
search_path = '"\$user", public, mig'
mig.spool_dir = '/nonexistent/mig-022-spool'
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION mig');

# the key, made now, and its signature of action 1's canonical string
my $home = PostgreSQL::Test::Utils::tempdir;
chmod 0700, $home;
my @gpg = ('gpg', '--homedir', $home, '--batch', '--quiet', '--pinentry-mode', 'loopback',
	'--passphrase', '');
system(@gpg, '--quick-gen-key', 'Kim <kim@example.net>', 'ed25519', 'sign', "seconds=$window") == 0
  or die "gpg could not make a key";
my ($pub) = grep { /^pub:/ } split /\n/, `gpg --homedir $home --batch --with-colons --list-keys`;
my $expires = (split /:/, $pub)[6];
ok($expires > time(), "the key expires at $expires, in the future");
open(my $fh, '>', "$home/1.txt") or die;
print $fh $data;
close $fh;
system(@gpg, '--armor', '--detach-sign', '--output', "$home/1.asc", "$home/1.txt") == 0
  or die "gpg could not sign";
my $key = `gpg --homedir $home --batch --armor --export kim\@example.net`;
my $sig = slurp_file("$home/1.asc");
system('gpgconf', '--homedir', $home, '--kill', 'all');

$node->safe_psql('postgres', qq{
INSERT INTO investigators (id, name, publickey) VALUES (1, 'Kim', \$k\$$key\$k\$);
INSERT INTO actions (id, name, target, validfrom, expireafter, operations, pgpsignatures)
VALUES (1, 'check sshd', 'status=''online''', '2026-01-02T03:04:05.5+01:00', '2026-01-02T04:04:05.5+01:00',
	'[ {"parameters": {"z": 1, "a": "<x>"}, "module": "file"} ]', json_build_array(\$s\$$sig\$s\$));
});

my $verify = q{SELECT valid || coalesce(':' || reason, '') FROM mig_verify_action(1)};
my $stats = q{SELECT from_cache || ' ' || from_record || ' ' || with_gpg FROM mig_pgp_stats()};
my $record = q{SELECT valid::text || ' ' || coalesce(reasons::text, '') || ' '
	|| coalesce(extract(epoch FROM valid_until)::bigint::text, 'never') FROM verifications WHERE actionid = 1};

# before the expiry: gpg, then the record (a new session), then the copy (a
# read-only transaction of the first session, which never records)
my $s = $node->background_psql('postgres');
is($s->query_safe($verify), 'true', 'valid before the key expires');
is($node->safe_psql('postgres', $record), "{t} {NULL} $expires",
	'the record is valid until the key expires');
is($node->safe_psql('postgres', "$verify; $stats"), "true\n0 1 0",
	'a new session answers from the record');
is($s->query_safe("BEGIN READ ONLY; $verify; $stats; COMMIT"), "true\n1 0 1",
	'the session that verified answers from its copy');
ok(time() < $expires, 'all of that before the key expired')
  or diag('the machine was too slow for a key valid for ' . $window . ' s');

# from the expiry on (gpg counts a key valid through the second of its
# expiry: mig's copy and record are stale from its start, gpg's answer
# changes a second later)
$node->safe_psql('postgres',
	"SELECT pg_sleep(greatest(0, $expires + 1 - extract(epoch FROM clock_timestamp())) + 0.2)");
is($s->query_safe("BEGIN READ ONLY; $verify; $stats; COMMIT"), "false:key expired\n1 0 2",
	'after the expiry the copy is stale: gpg says the key expired');
is($node->safe_psql('postgres', "$verify; $stats"), "false:key expired\n0 0 1",
	'after the expiry the record is stale: gpg says the key expired');
is($node->safe_psql('postgres', $record), '{f} {"key expired"} never',
	'the record says so, without an expiry');
is($node->safe_psql('postgres', "$verify; $stats"), "false:key expired\n0 1 0",
	'and answers the next session');
$s->quit;

$node->stop;
done_testing();
