# Proves that mig_action_string is byte for byte what MIG's Go code signs:
# a Go program (test/go/migcanon) generates seeded random MIG actions full
# of awkward strings, numbers, nesting, field spellings and time offsets,
# computes each canonical string with Go's own encoding/json and fmt, and
# every one must equal mig_action_string's answer (or both must refuse).
use strict;
use warnings;
use File::Basename qw(dirname);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $cases = $ENV{MIG_CANON_CASES} // 1500;
my $seed = $ENV{MIG_CANON_SEED} // 20261128;

my ($go) = grep { -x $_ } map { "$_/go" } split /:/, $ENV{PATH};
$go //= '';
ok($go ne '', 'go is installed (tools/deps.sh installs golang-go)')
  or BAIL_OUT('the differential test needs Go');

# build the reference offline, with every Go cache inside the test's tmp
my $tmp = PostgreSQL::Test::Utils::tempdir;
$ENV{GOCACHE} = "$tmp/gocache";
$ENV{GOPATH} = "$tmp/gopath";
$ENV{HOME} = $tmp;
$ENV{GO111MODULE} = 'off';
$ENV{GOTOOLCHAIN} = 'local';
$ENV{GOFLAGS} = '';
$ENV{CGO_ENABLED} = '0';
my $src = dirname(__FILE__) . '/../go/migcanon/main.go';
my $bin = "$tmp/migcanon";
command_ok([ $go, 'build', '-o', $bin, $src ], 'build the Go reference');

my $input = "$tmp/actions.hex";
my ($out, $err);
IPC::Run::run([ $bin, 'gen', $seed, $cases ], '>', $input, '2>', \$err)
  or die "generator failed: $err";
my @want;
IPC::Run::run([ $bin, 'canon' ], '<', $input, '>', \$out, '2>', \$err)
  or die "Go reference failed: $err";
@want = split /\n/, $out;
is(scalar @want, $cases, "Go answered every one of $cases actions");

my $node = PostgreSQL::Test::Cluster->new('canon');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION mig');
$node->safe_psql('postgres', qq{
CREATE TABLE cases (i serial PRIMARY KEY, action text NOT NULL);
COPY cases (action) FROM '$input';
CREATE FUNCTION try_canon(hexjson text) RETURNS text LANGUAGE plpgsql AS \$\$
BEGIN
	RETURN 'ok ' || encode(convert_to(
		mig_action_string(convert_from(decode(hexjson, 'hex'), 'UTF8')::json), 'UTF8'), 'hex');
EXCEPTION WHEN OTHERS THEN
	RETURN 'error ' || SQLSTATE || ' ' || SQLERRM;
END
\$\$;
});
my @got = split /\n/,
  $node->safe_psql('postgres', 'SELECT try_canon(action) FROM cases ORDER BY i');
is(scalar @got, $cases, 'mig answered every action');

my ($same, $ok, $shown) = (0, 0, 0);
open my $fh, '<', $input or die;
my @actions = <$fh>;
close $fh;
for my $i (0 .. $#want)
{
	my ($ws, $wv) = split / /, $want[$i], 2;
	my ($gs, $gv) = split / /, ($got[$i] // ''), 2;
	if ($ws eq 'ok' ? ($gs eq 'ok' && $gv eq $wv) : $gs eq 'error')
	{
		$same++;
		$ok++ if $ws eq 'ok';
		next;
	}
	next if $shown++ >= 3;
	chomp(my $a = $actions[$i]);
	diag("case $i differs\n  action: " . pack('H*', $a)
		  . "\n  go:  " . ($ws eq 'ok' ? pack('H*', $wv) : "$ws $wv")
		  . "\n  mig: " . ($gs eq 'ok' ? pack('H*', $gv) : "$gs $gv"));
}
is($same, $cases, "all $cases canonical strings are byte-identical to Go's");
cmp_ok($ok, '>=', 1000, 'at least 1,000 of them are valid actions');

$node->stop;
done_testing();
