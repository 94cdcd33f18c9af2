# Proves that mig_action_string is byte for byte what MIG's Go code signs.
# A Go program (test/go/migcanon, standard library only) generates seeded
# random MIG actions full of awkward strings, numbers, nesting, field
# spellings, repeated fields and times as Go 1.19 reads them (any offset,
# offsets with a sign for a digit, a fraction in place of the seconds), and
# computes each canonical string with Go's own encoding/json and fmt.  mig
# must give the same bytes for every action Go accepts, refuse every action
# Go refuses, and refuse the few Go accepts that mig refuses on purpose
# (marked "s": zero values Go would sign, never a time).  It runs in a
# UTF8 database, and in a SQL_ASCII one for the actions that hold invalid
# UTF-8 bytes; a LATIN1 database must give the same strings as UTF8.
use strict;
use warnings;
use File::Basename qw(dirname);
use FindBin;
use lib $FindBin::RealBin;
use MigGo;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $cases = $ENV{MIG_CANON_CASES} // 2000;
my $seed = $ENV{MIG_CANON_SEED} // 20261128;

# no Go, no test: a failure, never a skip
my ($go) = grep { -x $_ } map { "$_/go" } split /:/, $ENV{PATH};
ok(defined $go, 'go is installed (tools/deps.sh installs golang-go)')
  or BAIL_OUT('the differential test needs Go');

# build offline, every Go cache and setting inside the test's tmp directory
my $tmp = PostgreSQL::Test::Utils::tempdir;
go_offline_env($tmp);
$ENV{CGO_ENABLED} = '0';
my @src = sort glob(dirname(__FILE__) . '/../go/migcanon/*.go');
my $bin = "$tmp/migcanon";
command_ok([ $go, 'build', '-o', $bin, @src ], 'build the Go reference');

my $input = "$tmp/actions.txt";
my $err;
IPC::Run::run([ $bin, 'gen', $seed, $cases ], '>', $input, '2>', \$err)
  or die "generator failed: $err";
my $goout;
IPC::Run::run([ $bin, 'canon' ], '<', $input, '>', \$goout, '2>', \$err)
  or die "Go reference failed: $err";
my @go = split /\n/, $goout;
is(scalar @go, $cases, "Go answered every one of $cases actions");

open my $fh, '<', $input or die "$input: $!";
my @actions = map { chomp; [ split /\t/ ] } <$fh>;    # [hex, u|b, g|s]
close $fh;

my $node = PostgreSQL::Test::Cluster->new('canon');
$node->init;
$node->append_conf('postgresql.conf', qq{search_path = '"\$user", public, mig'});
$node->start;

# each encoding in its own database; the cases go in with COPY, one query
# computes them all
my %db = (u8 => 'UTF8', ascii => 'SQL_ASCII', latin1 => 'LATIN1');
for my $d (sort keys %db)
{
	$node->safe_psql('postgres',
		"CREATE DATABASE $d ENCODING '$db{$d}' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
	$node->safe_psql($d, qq{
CREATE EXTENSION mig;
CREATE TABLE cases (i int PRIMARY KEY, action text NOT NULL, utf8 text, kind text);
CREATE FUNCTION try_canon(hexjson text) RETURNS text LANGUAGE plpgsql AS \$\$
DECLARE
	enc name := pg_catalog.current_setting('server_encoding');
BEGIN
	RETURN 'ok ' || encode(convert_to(
		mig_action_string(convert_from(decode(hexjson, 'hex'), enc)::json), enc), 'hex');
EXCEPTION WHEN OTHERS THEN
	RETURN 'error ' || SQLSTATE || ' ' || SQLERRM;
END
\$\$;
});
}

my $numbered = "$tmp/numbered.txt";
open my $nf, '>', $numbered or die "$numbered: $!";
print $nf join("\t", $_, @{ $actions[$_] }), "\n" for 0 .. $#actions;
close $nf;
$node->safe_psql($_, "COPY cases FROM '$numbered'") for qw(u8 ascii);

# what mig says, in the database that can hold the action
my %mig;
for my $d (qw(u8 ascii))
{
	my $where = $d eq 'u8' ? "utf8 = 'u'" : "utf8 = 'b'";
	for (split /\n/,
		$node->safe_psql($d, "SELECT i, try_canon(action) FROM cases WHERE $where ORDER BY i"))
	{
		my ($i, $r) = split /\|/, $_, 2;
		$mig{$i} = $r;
	}
}
is(scalar keys %mig, $cases, 'mig answered every action');

# non-printable bytes as \xNN, so that a difference can be seen
sub show
{
	my ($bytes) = @_;
	$bytes =~ s/([^\x20-\x7e])/sprintf('\\x%02x', ord($1))/ge;
	return length($bytes) > 600 ? substr($bytes, 0, 600) . '...' : $bytes;
}

my %count = (same => 0, refused_both => 0, strict => 0, bad => 0);
my $shown = 0;
for my $i (0 .. $#go)
{
	my ($ghex, $valid, $kind) = @{ $actions[$i] };
	my ($gs, $gv) = split / /, $go[$i], 2;
	my ($ms, $mv) = split / /, ($mig{$i} // 'missing'), 2;
	my $ok;
	if ($kind eq 's')
	{
		# Go signs it, mig refuses it, with a proper SQLSTATE
		$ok = $gs eq 'ok' && $ms eq 'error' && $mv =~ /^(22023|22P02) /;
		$count{strict}++ if $ok;
	}
	elsif ($gs eq 'ok')
	{
		$ok = $ms eq 'ok' && $mv eq $gv;
		$count{same}++ if $ok;
	}
	else
	{
		$ok = $ms eq 'error' && $mv =~ /^(22023|22P02) /;
		$count{refused_both}++ if $ok;
	}
	next if $ok;
	$count{bad}++;
	next if $shown++ >= 3;
	my $msg = "case $i ($kind, " . ($valid eq 'u' ? 'UTF8' : 'SQL_ASCII') . ") differs\n"
	  . '  action: ' . show(pack('H*', $ghex)) . "\n"
	  . '  go:  ' . ($gs eq 'ok' ? show(pack('H*', $gv)) : "$gs $gv") . "\n"
	  . '  mig: ' . ($ms eq 'ok' ? show(pack('H*', $mv)) : "$ms $mv");
	if ($gs eq 'ok' && $ms eq 'ok')
	{
		my ($a, $b) = (pack('H*', $gv), pack('H*', $mv));
		my $at = 0;
		$at++ while $at < length($a) && $at < length($b)
		  && substr($a, $at, 1) eq substr($b, $at, 1);
		$msg .= "\n  first difference at byte $at: go "
		  . show(substr($a, $at, 20)) . ' / mig ' . show(substr($b, $at, 20));
	}
	diag($msg);
}
is($count{bad}, 0, "every one of $cases actions: mig answers as Go does");
cmp_ok($count{same}, '>=', 1000,
	"$count{same} canonical strings byte-identical to Go's (at least 1,000)");
cmp_ok($count{refused_both}, '>=', 50, "$count{refused_both} actions refused by both");
cmp_ok($count{strict}, '>=', 50, "$count{strict} actions mig refuses on purpose");
cmp_ok(scalar(grep { $_->[1] eq 'b' && $_->[2] eq 'g' } @actions), '>=', 100,
	'at least 100 actions hold invalid UTF-8 bytes');

# LATIN1: the same signed string as UTF8 for what LATIN1 can hold
my @latin = (
	q({"name":"caf\u00e9 é","target":"x<é>","validfrom":"2026-01-02T03:04:05Z","expireafter":"2026-01-02T04:04:05Z","operations":[{"module":"é","parameters":{"é":"\u00e9<>","e":1.5e-7}}]}),
	q({"name":"n","target":"t","validfrom":"2026-01-02T03:04:05Z","expireafter":"2026-01-02T04:04:05Z","operations":[{"module":"m","parameters":"\u00ff\u0080"}]}));
for my $a (@latin)
{
	my $lit = "'" . ($a =~ s/'/''/gr) . "'";
	my $want = $node->safe_psql('u8', "SELECT encode(convert_to(mig_action_string($lit), 'UTF8'), 'hex')");
	my $got = $node->safe_psql('latin1', "SET client_encoding = 'UTF8'; SELECT encode(convert_to(mig_action_string($lit), 'UTF8'), 'hex')");
	is($got, $want, 'a LATIN1 database gives the UTF-8 string: ' . substr($a, 0, 40));
}
my ($rc, $out, $stderr) = $node->psql('latin1',
	q{SET client_encoding = 'UTF8'; SELECT mig_action_string('{"name":"n","target":"t","validfrom":"2026-01-02T03:04:05Z","expireafter":"2026-01-02T04:04:05Z","operations":[{"module":"\u4e2d"}]}')});
like($stderr, qr/character with byte sequence 0xe4 0xb8 0xad in encoding "UTF8" has no equivalent in encoding "LATIN1"/,
	'a string LATIN1 cannot hold is an error, not a wrong answer');

$node->stop;
done_testing();
