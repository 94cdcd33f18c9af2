#!/usr/bin/perl
# The figures of test/coverage.sh, from gcov's annotated sources (gcov -b):
#
#   test/coverage-summary.pl LINE% BRANCH% TARGET.c... -- FILE.c.gcov...
#
# One line per source: lines executed of the lines gcc counts; branches
# taken at least once of the branches on the lines that hold a condition of
# their own (if, while, for, switch, ?:, && or ||, and the lines such a
# condition goes on over), and, in brackets, of
# all the branches gcov counts.  The others are branches inside macros
# (ereport's and elog's errstart, PG_TRY's sigsetjmp, VARDATA_ANY's header
# tests and the like) on lines that have no condition of their own: no
# test can take both ways of most of them, so that they are left out, as
# lcov 2's "--filter branch" leaves them out (test/coverage.sh checks that
# on test/fixtures/coverage/sample.c.gcov).  Then one line per target
# file and a last line, "coverage targets met" or "coverage targets not
# met".
use strict;
use warnings;

my ($line_target, $branch_target, @args) = @ARGV;
my (@targets, @files);
for (@args) { next if $_ eq '--'; if (/\.gcov$/) { push @files, $_ } else { push @targets, $_ } }

# what a line of code holds once comments and literals are gone
sub code { my ($t) = @_; $t =~ s{/\*.*?\*/|//.*$|"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'}{}g; return $t; }

my %fig;
for my $g (@files)
{
	open(my $fh, '<', $g) or die "$g: $!";
	# $open: the parentheses a condition left open; $cont: it ended with
	# && || or ?, so that the next line goes on with it
	my ($src, $in_comment, $cond, $open, $cont) = (undef, 0, 0, 0, 0);
	my %f = (ln => 0, lc => 0, bn => 0, bc => 0, rn => 0, rc => 0);
	while (<$fh>)
	{
		if (/^\s*-:\s*0:Source:(.*)$/) { $src = $1; next; }
		if (/^\s*([^:]+):\s*(\d+):(.*)$/)
		{
			my ($count, $no, $text) = ($1, $2, $3);
			next if $no == 0;
			if ($count !~ /^\s*-$/)
			{
				$f{ln}++;
				$f{lc}++ unless $count =~ /^[#=]+$/;
			}
			my $c = code($text);
			# the inside of a comment spanning lines
			if ($in_comment) { $c = $c =~ s{^.*?\*/}{} ? $c : ''; $in_comment = 0 if $text =~ m{\*/}; }
			if ($c =~ m{/\*}) { $c =~ s{/\*.*$}{}; $in_comment = 1; }
			# a line of a condition: one that holds one, or goes on with
			# one that an earlier line left open
			$cond = $open > 0 || $cont || $c =~ /\b(?:if|while|for|switch)\b|\?|&&|\|\|/;
			if ($cond)
			{
				$open += () = $c =~ /\(/g;
				$open -= () = $c =~ /\)/g;
				$open = 0 if $open < 0;
				$cont = $c =~ /(?:&&|\|\||\?)\s*$/ ? 1 : 0;
			}
			next;
		}
		if (/^branch\s+\d+\s+(?:taken (\d+)%|never executed)/)
		{
			my $taken = defined $1 && $1 > 0 ? 1 : 0;
			$f{rn}++;
			$f{rc} += $taken;
			if ($cond) { $f{bn}++; $f{bc} += $taken; }
		}
	}
	close $fh;
	next unless defined $src && $src =~ m{(?:^|/)(src/[^/]+\.c)$};
	$fig{$1} = \%f;
}

sub pct { my ($a, $b) = @_; return $b ? 100 * $a / $b : 100; }
my %all = (ln => 0, lc => 0, bn => 0, bc => 0, rn => 0, rc => 0);
for my $s (sort keys %fig)
{
	my $f = $fig{$s};
	printf "%-20s lines %5.1f%% (%5d of %5d)  branches %5.1f%% (%4d of %4d) [all %5.1f%%, %4d of %4d]\n",
	  $s, pct($f->{lc}, $f->{ln}), $f->{lc}, $f->{ln}, pct($f->{bc}, $f->{bn}), $f->{bc}, $f->{bn},
	  pct($f->{rc}, $f->{rn}), $f->{rc}, $f->{rn};
	$all{$_} += $f->{$_} for keys %all;
}
printf "%-20s lines %5.1f%% (%5d of %5d)  branches %5.1f%% (%4d of %4d) [all %5.1f%%, %4d of %4d]\n",
  'all', pct($all{lc}, $all{ln}), $all{lc}, $all{ln}, pct($all{bc}, $all{bn}), $all{bc}, $all{bn},
  pct($all{rc}, $all{rn}), $all{rc}, $all{rn};

my $met = 1;
for my $t (@targets)
{
	my $f = $fig{$t};
	if (!$f || $f->{ln} == 0)
	{
		print "target $t: no counts\n";
		$met = 0;
		next;
	}
	my ($l, $b) = (pct($f->{lc}, $f->{ln}), pct($f->{bc}, $f->{bn}));
	my $ok = $l >= $line_target && $b >= $branch_target;
	printf "target %-15s lines %5.1f%% (>= %d%%), branches %5.1f%% (>= %d%%): %s\n",
	  "$t:", $l, $line_target, $b, $branch_target, $ok ? 'met' : 'NOT met';
	$met &&= $ok;
}
print $met ? "coverage targets met\n" : "coverage targets not met\n";
