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

my @recipes = qw(scheduler investigator spool-sync monitor worker);
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

$node->stop;
done_testing();
