# README.md runs as written: every ```sql block of it is executed, in the
# README's order, against the demo's data, and the output it shows is
# compared with psql's.
#
# The data is the demo's: a cluster with tools/demo.conf's settings, loaded
# by tools/demo-load (the script tools/demo.sh runs), so README's examples
# and the demo cannot disagree.
#
# The convention (also in README.md, "Development"; the parser is
# test/t/MigReadme.pm):
#
# - Each ```sql block runs in a psql session of its own (psql -X, footer
#   off), its statements one after the other; a statement ends with a ";"
#   outside quotes and comments.
# - The "-- " comment lines directly after a statement (no blank line
#   between) are its output: one line is its single value as `psql -At`
#   prints it; several lines are psql's aligned table, header included,
#   without the "(N rows)" footer.  "ERROR:  message" shows a statement that
#   fails, with its primary message (psql's first line; the DETAIL is not
#   compared).  Trailing blanks are ignored; nothing else is normalised, so
#   README shows no timestamps, pids or timings: values that vary are
#   left unshown or selected away.
# - Commentary goes before a statement, or after its ";" on the same line.
# - A statement that shows no output must succeed.
# - A block that cannot run here is marked by the line
#   "<!-- doctest: skip (reason) -->" directly before its fence; the test
#   says how many blocks it checked and skipped.
# - "<!-- recipe: NAME -->" before a fence marks a role recipe of the
#   Privileges section: test/sql/privileges.sql and
#   test/t/035_worker_role.pl run those verbatim; this test runs them too.
#
# Last, pg_dump of the demo's database, restored into a new one, gives back
# every row of the tables the extension registers with
# pg_extension_config_dump (README's "Before DROP EXTENSION").
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use MigReadme;

my $node = PostgreSQL::Test::Cluster->new('readme');
$node->init;
my $spool = $node->basedir . '/spool';
$node->append_conf('postgresql.conf',
	slurp_file('tools/demo.conf') . "mig.spool_dir = '$spool'\n");
$node->start;

# the demo's data, loaded as tools/demo.sh loads it
{
	local $ENV{PGHOST} = $node->host;
	local $ENV{PGPORT} = $node->port;
	my ($out, $err);
	IPC::Run::run([ 'tools/demo-load', $spool ], '>', \$out, '2>', \$err)
	  or die "tools/demo-load failed:\n$out\n$err";
	note($out);
}

my @recipes = qw(scheduler investigator spool-sync monitor worker migreadonly migscheduler migapi
  mig-passwords);
my %recipe_seen;
my ($blocks, $checked, $skipped, $statements, $compared) = (0, 0, 0, 0, 0);
my $script = $node->basedir . '/block.sql';

foreach my $block (grep { $_->{lang} eq 'sql' } readme_blocks())
{
	$blocks++;
	$recipe_seen{ $block->{recipe} }++ if defined $block->{recipe};
	if (defined $block->{skip})
	{
		$skipped++;
		note("README.md:$block->{line}: skipped ($block->{skip})");
		next;
	}
	$checked++;
	my @stmts = block_statements($block);
	my $sql = "\\pset footer off\n";
	for my $i (0 .. $#stmts)
	{
		my $out = $stmts[$i]{output};
		my $value = defined $out && @$out == 1;
		$sql .= "\\pset format unaligned\n\\pset tuples_only on\n" if $value;
		$sql .= "\\echo '\@\@doctest-begin $i'\n$stmts[$i]{sql}\n";
		$sql .= "\\echo '\@\@doctest-end $i' :ERROR :LAST_ERROR_MESSAGE\n";
		$sql .= "\\pset format aligned\n\\pset tuples_only off\n" if $value;
	}
	open(my $fh, '>', $script) or die "$script: $!";
	print $fh $sql;
	close($fh);
	my ($stdout, $stderr) = ('', '');
	IPC::Run::run(
		[
			'psql', '-X', '-q', '-h', $node->host, '-p', $node->port,
			'-d', 'mig_demo', '-f', $script
		],
		'<', \undef, '>', \$stdout, '2>', \$stderr);

	for my $i (0 .. $#stmts)
	{
		my $s = $stmts[$i];
		my ($first) = split /\n/, $s->{sql};
		my $name = "README.md:$s->{line}: $first";
		$statements++;
		unless ($stdout =~ /^\@\@doctest-begin $i\n(.*?)^\@\@doctest-end $i (true|false) ?(.*?)$/ms)
		{
			fail("$name: did not run");
			diag("psql said:\n$stdout\n$stderr");
			next;
		}
		my ($got, $error, $message) = ($1, $2 eq 'true', $3);
		my @got = $error ? ("ERROR:  $message") : split /\n/, $got;
		s/\s+$// foreach @got;
		pop @got while @got && $got[-1] eq '';
		if (defined $s->{output})
		{
			my @want = map { s/\s+$//r } @{ $s->{output} };
			$compared++;
			is(join("\n", @got), join("\n", @want), "$name: shows its output");
		}
		else
		{
			ok(!$error, "$name: succeeds") or diag("ERROR:  $message");
		}
	}
}

foreach my $r (@recipes)
{
	is($recipe_seen{$r} // 0, 1, "README.md has the recipe \"$r\"");
}
ok($checked > 0 && $skipped <= 2, 'skips are rare');
diag("README.md: $blocks sql blocks: $checked checked ($statements statements, "
	  . "$compared outputs compared), $skipped skipped");

# pg_dump keeps the rows of the extension's tables: those registered with
# pg_extension_config_dump without a condition, and the values of its
# sequences; the verification record (keyring, verifications: registered
# "WHERE false") is dumped empty
# The worker goes on writing while the dump is made (a periodic run adds a
# row to agents_stats): the dump and the rows it is compared with are read
# in one snapshot, exported by a session that stays open.
my $dump = $node->basedir . '/mig.dump';
my $seen = $node->background_psql('mig_demo');
$seen->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
my $snapshot = $seen->query_safe('SELECT pg_export_snapshot()');
$node->command_ok([ 'pg_dump', '-Fc', "--snapshot=$snapshot", '-d', 'mig_demo', '-f', $dump ],
	'pg_dump -Fc -d mig_demo');
my %config = map { split /\|/, $_, 2 } split /\n/, $node->safe_psql('mig_demo', q{
	SELECT c.relname, c.relkind::text || coalesce(t.cond, '')
	  FROM pg_extension e, unnest(e.extconfig, e.extcondition) t(oid, cond), pg_class c
	 WHERE e.extname = 'mig' AND c.oid = t.oid});
my @tables = sort grep { $config{$_} =~ /^r/ } keys %config;
my @kept = grep { $config{$_} eq 'r' } @tables;
my @sequences = sort grep { $config{$_} eq 'S' } keys %config;
is_deeply([ sort grep { $config{$_} ne 'r' && $config{$_} ne 'S' } keys %config ],
	[ 'keyring', 'verifications' ], 'all but the record are dumped whole');
my $list = `pg_restore -l $dump`;
is_deeply([ sort map { /TABLE DATA \S+ (\S+) / ? ($1) : () } split /\n/, $list ],
	\@tables, 'the dump has the data of every table the extension registers');
is_deeply([ sort map { /SEQUENCE SET \S+ (\S+) / ? ($1) : () } split /\n/, $list ],
	\@sequences, 'and the values of its sequences');
$node->safe_psql('postgres', 'CREATE DATABASE mig_restored');
$node->command_ok([ 'pg_restore', '-d', 'mig_restored', $dump ], 'pg_restore -d mig_restored');
foreach my $t (@kept)
{
	my $q = "SELECT count(*), md5(string_agg(t::text, E'\\n' ORDER BY t::text)) FROM mig.$t t";
	is($node->safe_psql('mig_restored', $q), $seen->query_safe($q),
		"$t: restored as it was");
}
$seen->quit;
foreach my $s (@sequences)
{
	my $q = "SELECT last_value FROM mig.$s";
	cmp_ok($node->safe_psql('mig_restored', $q), '>=', $node->safe_psql('mig_demo', $q),
		"$s: restored, never behind");
}
# (a dump holds no database settings: the restored database's sessions
# name mig's schema)
is($node->safe_psql('mig_restored', 'SELECT count(*) FROM mig.verifications'), '0',
	'the verification record is not restored');
is( $node->safe_psql('mig_restored', q{
	SELECT count(*) FROM mig.actions a, mig.mig_verify_action(a.id) v WHERE v.valid}),
	$node->safe_psql('mig_demo', 'SELECT count(*) FROM signatures'),
	'and the first verification writes it again');

$node->stop;
done_testing();
