# Proves that mig loads from shared_preload_libraries (a misspelt mig.* line
# in postgresql.conf removed with a WARNING), that CREATE EXTENSION
# works in such a cluster and in one that does not preload it (there with a
# WARNING that no spool worker will start, and how to have one), and that
# pg_dump of a database with rows in every one of the eight tables restores
# into a fresh database with the same rows.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('preload');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'mig'
search_path = '"\$user", public, mig'
mig.spool_dir = '/nonexistent/mig-001-spool'
mig.spooldir = '/nonexistent/misspelt'
});
$node->start;

# a misspelt mig.* line in postgresql.conf (doc/settings.md): the
# server starts, loading mig removes it with a WARNING, a reload says so
# again, and SET of it is an error
like(slurp_file($node->logfile),
	qr/WARNING:  invalid configuration parameter name "mig\.spooldir", removing it\n.*DETAIL:  "mig" is now a reserved prefix\./,
	'a misspelt mig.* setting in postgresql.conf is removed with a WARNING');
my $reload_offset = -s $node->logfile;
$node->reload;
$node->wait_for_log(qr/invalid configuration parameter name "mig\.spooldir"/, $reload_offset);
is($node->safe_psql('postgres',
		"SELECT error FROM pg_file_settings WHERE name = 'mig.spooldir'"),
	'setting could not be applied', 'pg_file_settings shows it not applied');
my ($rc, $out, $err) = $node->psql('postgres', "SET mig.spooldir = '/tmp'");
like($err, qr/ERROR:  invalid configuration parameter name "mig\.spooldir"/,
	'SET of a misspelt mig.* setting is an error');

is($node->safe_psql('postgres', 'SHOW shared_preload_libraries'), 'mig',
	'mig is preloaded');
$node->safe_psql('postgres', 'CREATE DATABASE src');
my ($ret, $stdout, $stderr) = $node->psql('src', 'CREATE EXTENSION mig');
is($ret, 0, 'CREATE EXTENSION in a cluster that preloads mig');
is($stderr, '', 'with no warning: the worker starts with the server');
like($node->safe_psql('src', 'SELECT mig_version()'),
	qr/^mig 1\.2 \(jansson [\d.]+, gpgme [\d.]+\)$/, 'library loads and links');

# a row in every table, with awkward values: JSON, NULLs, time zones, quotes
# (an investigator's key must be a real one: it is checked on the way in)
my $key = slurp_file('test/fixtures/keys/alice.pub');
$node->safe_psql('src', qq{
INSERT INTO investigators VALUES (3, 'Alice', 'DBB1638B590DA0314FED7D0D7461A6A1520DAEC6', \$k\$$key\$k\$);
});
$node->safe_psql('src', q{
INSERT INTO actions VALUES (1, 'check ''sshd''', 'status=''online''',
  '{"author":"Alice","revision":2}', '{"level":"alert","family":"test"}',
  '[{"module":"file","parameters":{"searches":{"s1":{"names":["sshd"]}}}}]',
  '2026-01-02 03:04:05.5+01', '2026-01-02 04:04:05+01', NULL, NULL, now(),
  'pending', 0, 0, 0, 0, 0, 0, '["sig1","sig2"]', 2);
INSERT INTO agents VALUES (7, 'host7.example.net', 'linux.host7.abc', 'linux',
  '20260101+abc', 4242, '2026-01-01 00:00:00+00', NULL, '2026-01-01 00:05:00+00', 'online');
INSERT INTO commands VALUES (11, 1, 7, 'success', '[{"foundanything":true}]',
  '2026-01-02 03:05:00+00', '2026-01-02 03:06:00+00');
INSERT INTO signatures VALUES (1, 3, 'sig1');
INSERT INTO modules VALUES (5, 'file'), (6, 'default');
INSERT INTO agtmodreq VALUES (5, 7, 2);
INSERT INTO invagtmodperm VALUES (3, 7, 5, 2);
});

my $tables = 'actions agents commands investigators signatures modules agtmodreq invagtmodperm';
my %before;
foreach my $t (split ' ', $tables)
{
	$before{$t} = $node->safe_psql('src', "SELECT t::text FROM $t t ORDER BY 1");
	isnt($before{$t}, '', "$t has rows");
}

my $dump = $node->basedir . '/src.dump';
$node->command_ok(
	[ 'pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('src') ],
	'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE dst');
$node->command_ok(
	[ 'pg_restore', '--exit-on-error', '-d', $node->connstr('dst'), $dump ],
	'pg_restore into a fresh database');

foreach my $t (split ' ', $tables)
{
	is($node->safe_psql('dst', "SELECT t::text FROM $t t ORDER BY 1"),
		$before{$t}, "$t rows survive dump and restore");
}

$node->stop;

# without shared_preload_libraries the library is loaded by CREATE EXTENSION,
# after startup: every GUC must still be definable then
my $plain = PostgreSQL::Test::Cluster->new('plain');
$plain->init;
$plain->append_conf('postgresql.conf', qq{search_path = '"\$user", public, mig'});
$plain->start;
($ret, $stdout, $stderr) = $plain->psql('postgres', 'CREATE EXTENSION mig');
is($ret, 0, 'CREATE EXTENSION in a cluster that does not preload mig');
like($stderr,
	qr/WARNING:  mig is not in shared_preload_libraries: no spool worker will start with the server\n.*HINT:  Add mig to shared_preload_libraries \(shared_preload_libraries = 'mig'\) in postgresql\.conf and restart the server\. Until the restart, SELECT mig_worker_launch\(\) starts a worker\./s,
	'says that no worker will start, and how to have one');
is($plain->safe_psql('postgres',
		"SELECT count(*) FROM pg_proc WHERE proname = 'mig_preload_warning'"),
	'0', 'the function that said it is gone');
# the library already loaded in the session: still said
($ret, $stdout, $stderr) = $plain->psql('postgres',
	"DROP EXTENSION mig; LOAD 'mig'; CREATE EXTENSION mig");
like($stderr, qr/WARNING:  mig is not in shared_preload_libraries/,
	'also when the session had loaded the library before');
like($plain->safe_psql('postgres', 'SELECT mig_version()'),
	qr/^mig 1\.2 /, 'CREATE EXTENSION works without preloading');
is($plain->safe_psql('postgres', "LOAD 'mig'; SHOW mig.database"), 'postgres',
	'GUCs are defined when loaded late');
$plain->stop;
done_testing();
