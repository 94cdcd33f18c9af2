# test/fuzz/GoOracle.pm: what the oracles (canon.check, gotime.check) share.
#
# An oracle feeds the same inputs to a harness in its print mode
# (MIG_FUZZ_PRINT=1, test/fuzz/oracle.h) and to Go (test/go/migcanon, built
# here offline with the Go on PATH: Debian 12's Go 1.19, the Go MIG's
# clients are built with), one hex line per input, and compares the
# answers line by line.  Here: reading the inputs, building Go's side,
# running each side, and keeping an input that differs in the build
# directory (differ-NAME-HASH), for the corpus once mig is fixed.
#
# Any die is a usage or setup error (the scripts exit 2), not a difference.
package GoOracle;

use strict;
use warnings;
use Digest::SHA qw(sha1_hex);
use Exporter qw(import);
use File::Basename qw(dirname);
use File::Find;
use File::Temp qw(tempdir);

our @EXPORT_OK = qw(read_inputs go_reference answers show keep_differing);

# the files of the INPUT_DIRs (recursively) and FILEs, in a stable order,
# and their bytes: (\@files, \@bytes); a file gone meanwhile (a fuzzer
# still running may replace one) is left out
sub read_inputs
{
	my @args = @_;
	my @files;
	for my $d (@args)
	{
		if (-f $d)
		{
			push @files, $d;
			next;
		}
		-d $d or die "$0: $d: no such file or directory\n";
		find({ wanted => sub { push @files, $File::Find::name if -f $_ }, no_chdir => 1 }, $d);
	}
	my (@read, @bytes);
	for my $f (sort @files)
	{
		my $ih;
		unless (open $ih, '<:raw', $f)
		{
			next if $!{ENOENT};
			die "$f: $!";
		}
		local $/;
		push @read, $f;
		push @bytes, <$ih> // '';
		close $ih;
	}
	return (\@read, \@bytes);
}

# a temporary directory and test/go/migcanon built in it, offline, every Go
# cache and setting inside it (as test/t/010_canon_go.pl builds it)
sub go_reference
{
	my ($name) = @_;
	my $tmp = tempdir("$name-check-XXXXXX", TMPDIR => 1, CLEANUP => 1);
	my @gosrc = sort glob(dirname(__FILE__) . '/../go/migcanon/*.go');
	@gosrc or die "$0: no Go sources in test/go/migcanon\n";
	my %goenv = (
		GOCACHE => "$tmp/gocache", GOPATH => "$tmp/gopath", GOENV => 'off',
		HOME => $tmp, GO111MODULE => 'off', GOTOOLCHAIN => 'local',
		GOPROXY => 'off', GOFLAGS => '', CGO_ENABLED => '0');
	local @ENV{ keys %goenv } = values %goenv;
	system('go', 'build', '-o', "$tmp/migcanon", @gosrc) == 0
	  or die "$0: cannot build the Go reference (is golang-go installed?)\n";
	return ($tmp, "$tmp/migcanon");
}

# each side's answers to the inputs, one line per input: the inputs go to
# $cmd's stdin as hex lines ($tmp/inputs.txt, written once)
sub answers
{
	my ($tmp, $inputs, $name, @cmd) = @_;
	my $in = "$tmp/inputs.txt";
	unless (-e $in)
	{
		open my $fh, '>', $in or die "$in: $!";
		print $fh unpack('H*', $_), "\n" for @$inputs;
		close $fh or die "$in: $!";
	}
	my $out = "$tmp/$name.out";
	my $pid = fork // die "fork: $!";
	if ($pid == 0)
	{
		open STDIN, '<', $in or die "$in: $!";
		open STDOUT, '>', $out or die "$out: $!";
		exec @cmd or die "exec $cmd[0]: $!";
	}
	waitpid($pid, 0);
	die "$0: $name failed (status $?)\n" if $? != 0;
	open my $oh, '<', $out or die "$out: $!";
	chomp(my @lines = <$oh>);
	close $oh;
	die "$0: $name answered " . scalar(@lines) . " of " . scalar(@$inputs) . " inputs\n"
	  unless @lines == @$inputs;
	return @lines;
}

# bytes to be seen: non-printable ones as \xNN, at most $max of them
sub show
{
	my ($bytes, $max) = @_;
	$max //= 400;
	$bytes =~ s/([^\x20-\x7e])/sprintf('\\x%02x', ord($1))/ge;
	return length($bytes) > $max ? substr($bytes, 0, $max) . '...' : $bytes;
}

# an input that differs, kept as BUILD_DIR/differ-NAME-HASH; returns its path
sub keep_differing
{
	my ($build, $name, $bytes) = @_;
	my $path = "$build/differ-$name-" . substr(sha1_hex($bytes), 0, 16);
	open my $fh, '>:raw', $path or die "$path: $!";
	print $fh $bytes;
	close $fh or die "$path: $!";
	return $path;
}

1;
