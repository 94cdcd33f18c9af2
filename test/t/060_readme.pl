# The manual runs as written: every ```sql block of README.md and of the
# pages of doc/ is executed against the demo's data, and the output it shows
# is compared with psql's.  And the manual holds together: every relative
# link resolves to a file and a heading, doc/sql.md has a section for every
# function, view and table of the extension, doc/settings.md a row for
# every mig.* setting with its default and context, README.md's index
# links each function and view, and README's benchmark figures are those
# of doc/benchmarks.md.
#
# The data is the demo's: a cluster with tools/demo.conf's settings, loaded
# by tools/demo-load (the script tools/demo.sh runs), so the manual's
# examples and the demo cannot disagree.  Each file runs against a fresh
# demo cluster of its own, in the order test/t/MigReadme.pm's
# manual_files() gives, so that no page's output depends on what another
# page's examples changed; within a file the blocks run in order, and a
# block sees what the blocks before it in that file did.
#
# The convention (also in doc/development.md; the parser is
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
#   the manual shows no timestamps, pids or timings: values that vary are
#   left unshown or selected away.
# - Commentary goes before a statement, or after its ";" on the same line.
# - A statement that shows no output must succeed.
# - A block that cannot run here is marked by the line
#   "<!-- doctest: skip (reason) -->" directly before its fence; the test
#   says how many blocks it checked and skipped.
# - "<!-- recipe: NAME -->" before a fence marks a role recipe of
#   doc/roles.md: test/sql/privileges.sql, test/t/035_worker_role.pl and
#   test/t/070_mig_client.pl run those verbatim; this test runs them too.
#
# Last, pg_dump of the demo's database, restored into a new one, gives back
# every row of the tables the extension registers with
# pg_extension_config_dump (doc/upgrading.md, "Dump and restore").
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use MigReadme;

my $top = top_dir();
my @manual = manual_files();
my %expects_sql = map { $_->[0] => $_->[1] } @manual;

# --- the manual's pages -----------------------------------------------------

my @on_disk = ('README.md', map { s{^\Q$top\E/}{}r } sort glob("$top/doc/*.md"));
is_deeply([ sort @on_disk ], [ sort keys %expects_sql ],
	'the doc test knows every page of the manual (test/t/MigReadme.pm, manual_files)');

sub slurp_lines
{
	my ($path) = @_;
	open(my $fh, '<', "$top/$path") or die "$path: $!";
	my @lines = <$fh>;
	close($fh);
	chomp @lines;
	return @lines;
}

# GitHub's anchors: the heading's text in lower case, without what is not a
# letter, digit, "_", "-" or space, its spaces made "-"; a repeated anchor
# gets "-1", "-2", ...
sub anchors
{
	my ($path) = @_;
	my (%seen, %anchors);
	my $fence = 0;
	foreach my $line (slurp_lines($path))
	{
		$fence = !$fence if $line =~ /^```/;
		next if $fence;
		next unless $line =~ /^#{1,6}\s+(.*?)\s*#*\s*$/;
		my $a = lc($1);
		$a =~ s/\[([^\]]*)\]\([^)]*\)/$1/g;    # a link's text
		$a =~ s/[^\w\- ]//g;
		$a =~ s/ /-/g;
		my $n = $seen{$a}++;
		$anchors{ $n ? "$a-$n" : $a } = 1;
	}
	return \%anchors;
}

# Every relative link of the manual goes to a file of the checkout and, when
# it names one, to a heading of that file.
my $links = 0;
foreach my $page (map { $_->[0] } @manual)
{
	my @lines = slurp_lines($page);
	my $fence = 0;
	my %bad;
	for my $i (0 .. $#lines)
	{
		my $line = $lines[$i];
		$fence = !$fence if $line =~ /^```/;
		next if $fence;
		(my $text = $line) =~ s/`[^`]*`//g;    # code spans are no links
		while ($text =~ /\]\(([^)\s]+)\)/g)
		{
			my $target = $1;
			next if $target =~ m{^(https?|mailto):};
			$links++;
			my ($file, $anchor) = $target =~ /^([^#]*)(?:#(.*))?$/;
			my $dir = $page =~ m{/} ? ($page =~ s{/[^/]*$}{}r) : '.';
			my $resolved = $file eq '' ? $page : "$dir/$file";
			1 while $resolved =~ s{(^|/)\./}{$1};
			1 while $resolved =~ s{[^/]+/\.\./}{};
			$resolved =~ s{^\./}{};
			if ($resolved =~ m{^\.\./} || !-e "$top/$resolved")
			{
				$bad{"$page:" . ($i + 1) . ": $target: no file $resolved"} = 1;
			}
			elsif (defined $anchor && !($resolved =~ /\.md$/ && anchors($resolved)->{$anchor}))
			{
				$bad{"$page:" . ($i + 1) . ": $target: no heading #$anchor in $resolved"} = 1;
			}
		}
	}
	ok(!%bad, "$page: its relative links resolve") or diag(join("\n", sort keys %bad));
}
ok($links > 50, "the manual's pages link each other ($links relative links)");

# README's benchmark figures are doc/benchmarks.md's: every figure of the
# summary table (a number with a unit or an "x") is found there.
{
	my @lines = slurp_lines('README.md');
	my $bench = join("\n", slurp_lines('doc/benchmarks.md'));
	my ($in, @figures) = (0);
	foreach my $line (@lines)
	{
		$in = 1 if $line =~ /^## Benchmarks/;
		$in = 0 if $in && $line =~ /^## (?!Benchmarks)/;
		next unless $in && $line =~ /^\|/ && $line !~ /^\| *-/;
		my @cells = split /\s*\|\s*/, $line;
		shift @cells;
		shift @cells;    # the first column names the measure
		push @figures, grep { /\d/ } map { s/^\*\*|\*\*$//gr } @cells;
	}
	ok(@figures >= 5, 'README.md summarizes the benchmarks (' . scalar(@figures) . ' figures)');
	my @missing = grep { index($bench, $_) < 0 } @figures;
	is("@missing", '', "README.md's benchmark figures are doc/benchmarks.md's");
}

# --- a demo cluster for each page with examples -------------------------------

# Each page gets a fresh cluster with the demo's data, loaded as
# tools/demo.sh loads it.  A few are loaded ahead, in the background, while
# the page before runs; a page's cluster stops once it has run.
my @pending = grep { $expects_sql{$_} } map { $_->[0] } @manual;
my %node;
my %load;

sub start_page
{
	my $page = shift @pending;
	return unless defined $page;
	my $name = $page =~ s{^doc/}{}r =~ s{\.md$}{}r =~ s{\W}{_}gr;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	my $spool = $node->basedir . '/spool';
	$node->append_conf('postgresql.conf',
		slurp_file("$top/tools/demo.conf") . "mig.spool_dir = '$spool'\n");
	$node->start;
	$node{$page} = $node;
	my %l = (out => '', err => '');
	$l{h} = IPC::Run::start(
		[
			'env', 'PGHOST=' . $node->host, 'PGPORT=' . $node->port,
			"$top/tools/demo-load", $spool
		],
		'<', \undef, '>', \$l{out}, '2>', \$l{err});
	$load{$page} = \%l;
	return;
}
start_page() for 1 .. 4;

my @recipes = qw(scheduler investigator spool-sync monitor worker migreadonly migscheduler migapi
  mig-passwords);
my %recipe_seen;
my ($blocks, $checked, $skipped, $statements, $compared) = (0, 0, 0, 0, 0);

foreach my $page (map { $_->[0] } @manual)
{
	my @sql = grep { $_->{lang} eq 'sql' } readme_blocks($page);
	if (!$expects_sql{$page})
	{
		is(scalar(@sql), 0, "$page: no sql blocks, as test/t/MigReadme.pm says");
		next;
	}
	ok(scalar(@sql) > 0, "$page: has sql blocks");
	my $node = $node{$page};
	my $l = $load{$page};
	$l->{h}->finish or die "tools/demo-load for $page failed:\n$l->{out}\n$l->{err}";
	note("$page: demo loaded");
	my $script = $node->basedir . '/block.sql';
	my ($pchecked, $pstatements, $pcompared, $pskipped) = (0, 0, 0, 0);

	foreach my $block (@sql)
	{
		$blocks++;
		$recipe_seen{ $block->{recipe} }++ if defined $block->{recipe};
		if (defined $block->{skip})
		{
			$skipped++;
			$pskipped++;
			note("$page:$block->{line}: skipped ($block->{skip})");
			next;
		}
		$checked++;
		$pchecked++;
		my @stmts = block_statements($block, $page);
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
			my $name = "$page:$s->{line}: $first";
			$statements++;
			$pstatements++;
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
				$pcompared++;
				is(join("\n", @got), join("\n", @want), "$name: shows its output");
			}
			else
			{
				ok(!$error, "$name: succeeds") or diag("ERROR:  $message");
			}
		}
	}
	diag("$page: " . scalar(@sql) . " sql blocks: $pchecked checked ($pstatements statements, "
		  . "$pcompared outputs compared), $pskipped skipped");
	# the reference's coverage, and a dump and restore, on README's cluster
	if ($page eq 'README.md')
	{
		check_reference($node);
		check_dump($node);
	}
	$node->stop;
	start_page();
}

foreach my $r (@recipes)
{
	is($recipe_seen{$r} // 0, 1, "the manual has the recipe \"$r\" once");
}
ok($checked > 0 && $skipped <= 2, 'skips are rare');
diag("the manual: $blocks sql blocks: $checked checked ($statements statements, "
	  . "$compared outputs compared), $skipped skipped");

done_testing();

# --- the reference covers the extension ---------------------------------------

sub check_reference
{
	my ($node) = @_;

	# doc/sql.md: a section (a heading naming it in a code span) for every
	# function, view and table of the extension; its sequences named
	my @sql_md = slurp_lines('doc/sql.md');
	my @headings = grep { /^#{2,4} / } @sql_md;
	my $members = $node->safe_psql('mig_demo', q{
		SELECT CASE WHEN d.classid = 'pg_proc'::regclass THEN
					CASE WHEN p.prorettype = 'trigger'::regtype THEN 'trigger function' ELSE 'function' END
				ELSE CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'S' THEN 'sequence' END
			   END, coalesce(p.proname, c.relname)
		  FROM pg_depend d
		  LEFT JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid
		  LEFT JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid
		 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
		   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'mig')
		   AND coalesce(p.proname, c.relname) IS NOT NULL
		 ORDER BY 1, 2});
	my %kinds;
	my @missing;
	foreach my $row (split /\n/, $members)
	{
		my ($kind, $name) = split /\|/, $row;
		$kinds{$kind}++;
		if ($kind eq 'sequence')
		{
			push @missing, "$kind $name" unless grep { /`\Q$name\E`/ } @sql_md;
		}
		else
		{
			push @missing, "$kind $name" unless grep { /`\Q$name\E[(`]/ } @headings;
		}
	}
	is(join(', ', @missing), '', 'doc/sql.md has a section for every function, view and table of mig');
	ok(($kinds{function} // 0) > 15 && ($kinds{view} // 0) >= 2 && ($kinds{table} // 0) > 10,
		'the catalog lists them: ' . join(', ', map { "$kinds{$_} ${_}s" } sort keys %kinds));

	# README.md's index: a link into doc/sql.md for every function and view
	my $sql_anchors = anchors('doc/sql.md');
	my $readme = join("\n", slurp_lines('README.md'));
	my @unlisted;
	foreach my $row (split /\n/, $members)
	{
		my ($kind, $name) = split /\|/, $row;
		next unless $kind eq 'function' || $kind eq 'view';
		push @unlisted, $name
		  unless $readme =~ /\[`\Q$name\E[^`]*`\]\(doc\/sql\.md#([^)]+)\)/ && $sql_anchors->{$1};
	}
	is(join(', ', @unlisted), '', "README.md's index links every function and view into doc/sql.md");

	# doc/settings.md: one row per mig.* setting, "| `name` | `default` |
	# context |", the default as postgresql.conf would write it; the same
	# names, defaults and contexts as pg_settings
	my %doc_setting;
	foreach my $line (slurp_lines('doc/settings.md'))
	{
		next unless $line =~ /^\| `(mig\.\w+)` \| `([^`]*)` \| (\w+) \|/;
		$doc_setting{$1} = [ $2, $3 ];
	}
	my %pg_setting = map { my ($n, @v) = split /\|/, $_, -1; ($n => \@v) } split /\n/,
	  $node->safe_psql('mig_demo', q{
		SELECT name, boot_val, coalesce(unit, ''), context FROM pg_settings
		 WHERE name LIKE 'mig.%' ORDER BY name});
	is_deeply([ sort keys %doc_setting ], [ sort keys %pg_setting ],
		'doc/settings.md has a row for every mig.* setting of pg_settings');
	foreach my $name (sort keys %pg_setting)
	{
		next unless $doc_setting{$name};
		my ($boot, $unit, $context) = @{ $pg_setting{$name} };
		my ($default, $doc_context) = @{ $doc_setting{$name} };
		$default =~ s/^'(.*)'$/$1/;    # a string in quotes, as '' for empty
		# the default, in the setting's unit, as PostgreSQL reads it
		my $q = $default =~ s/'/''/gr;
		my $got =
		    $unit eq 'ms' ? $node->safe_psql('postgres',
			"SELECT round(extract(epoch FROM '$q'::interval) * 1000)")
		  : $unit eq 's' ? $node->safe_psql('postgres',
			"SELECT round(extract(epoch FROM '$q'::interval))")
		  : $unit eq 'kB' ? $node->safe_psql('postgres', "SELECT pg_size_bytes('$q') / 1024")
		  : $default;
		is("$got $doc_context", "$boot $context", "doc/settings.md: $name: its default and context");
	}
	return;
}

# --- dump and restore ---------------------------------------------------------

sub check_dump
{
	my ($node) = @_;

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
	return;
}
