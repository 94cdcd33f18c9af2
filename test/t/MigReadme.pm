# The manual's SQL, for the tests that run it: test/t/060_readme.pl (every
# ```sql block of README.md and doc/*.md against the demo's data, its shown
# output compared), test/sql/privileges.sql (through test/readme-sql) and
# test/t/035_worker_role.pl, test/t/070_mig_client.pl (the role recipes of
# doc/roles.md, verbatim).
#
# The convention (doc/development.md, "The manual runs as written"):
#
# - A ```sql block is a sequence of statements, each ended by a ";" outside
#   quotes and comments.  A comment after the ";" on the same line, and
#   comment lines before a statement, are commentary.
# - Comment lines ("-- " and the text) that follow a statement's last line
#   directly, with no blank line between, are the output the statement
#   shows.  One such line is the result's single value, as `psql -At`
#   prints it; several are psql's aligned table, header included, as psql
#   prints it with "\pset footer off" (no "(N rows)").  A statement that
#   fails shows "ERROR:  " and its primary message.  Trailing blanks are
#   ignored.
# - A statement without shown output must succeed; its output is not
#   compared.
# - A line "<!-- doctest: skip (reason) -->" directly before the fence keeps
#   the block out of the doc test; "<!-- recipe: NAME -->" names a block
#   other tests run verbatim (it is still run by the doc test).
package MigReadme;

use strict;
use warnings;
use Exporter 'import';
use File::Basename qw(dirname);
use Cwd qw(abs_path);

our @EXPORT = qw(top_dir manual_files readme_path readme_blocks block_statements readme_recipe);

# The checkout: two levels above this file
sub top_dir
{
	return dirname(dirname(dirname(abs_path(__FILE__))));
}

# The manual, in the order the doc test runs it: README.md, then the pages
# of doc/.  Each is [ path (from the top of the checkout), whether it has
# ```sql blocks ].  A page of doc/ that is not listed here is an error of
# the doc test: each page says whether its examples run.
sub manual_files
{
	return (
		[ 'README.md', 1 ],
		[ 'doc/sql.md', 1 ],
		[ 'doc/signing.md', 1 ],
		[ 'doc/targets.md', 1 ],
		[ 'doc/spool.md', 1 ],
		[ 'doc/settings.md', 1 ],
		[ 'doc/roles.md', 1 ],
		[ 'doc/security.md', 0 ],
		[ 'doc/upgrading.md', 1 ],
		[ 'doc/benchmarks.md', 0 ],
		[ 'doc/development.md', 0 ],
		[ 'doc/design.md', 0 ]);
}

# README.md of this checkout
sub readme_path
{
	return top_dir() . '/README.md';
}

# The fenced blocks of a Markdown file, in order:
#   { lang, line (of the first line inside the fence), lines => [...],
#     skip => reason or undef, recipe => name or undef }
sub readme_blocks
{
	my ($path) = @_;
	$path //= 'README.md';
	my $file = $path =~ m{^/} ? $path : top_dir() . "/$path";
	open(my $fh, '<', $file) or die "$path: $!";
	my @text = <$fh>;
	close($fh);
	chomp @text;
	my @blocks;
	for (my $i = 0; $i < @text; $i++)
	{
		next unless $text[$i] =~ /^```(\S*)\s*$/;
		my $lang = $1;
		my %b = (lang => $lang, line => $i + 2, lines => []);
		if ($i > 0)
		{
			my $prev = $text[ $i - 1 ];
			if ($prev =~ /^<!--\s*doctest:\s*skip\s*\((.+)\)\s*-->\s*$/)
			{
				$b{skip} = $1;
			}
			elsif ($prev =~ /^<!--\s*recipe:\s*([\w-]+)\s*-->\s*$/)
			{
				$b{recipe} = $1;
			}
			elsif ($prev =~ /^<!--.*(doctest|recipe)/)
			{
				die "$path:$i: a marker not understood: $prev\n";
			}
		}
		my $j = $i + 1;
		while ($j < @text && $text[$j] !~ /^```\s*$/)
		{
			push @{ $b{lines} }, $text[$j];
			$j++;
		}
		die "$path:" . ($i + 1) . ": the block is not closed\n" if $j >= @text;
		push @blocks, \%b;
		$i = $j;
	}
	return @blocks;
}

# Where a line's code ends: scans $line from the lexer state $st (a hash:
# quote => undef, "'", "e'", '"', '$tag$' or '/*'), and returns the offsets
# of the ";" that end statements on it, and the offset of a "--" comment
# that ends the line (or undef).
sub scan_line
{
	my ($st, $line) = @_;
	my @ends;
	my $n = length($line);
	my $i = 0;
	while ($i < $n)
	{
		my $q = $st->{quote};
		my $c = substr($line, $i, 1);
		if (!defined $q)
		{
			if (substr($line, $i, 2) eq '--')
			{
				return (\@ends, $i);
			}
			elsif (substr($line, $i, 2) eq '/*')
			{
				$st->{quote} = '/*';
				$i += 2;
				next;
			}
			elsif ($c eq "'")
			{
				my $prev = $i > 0 ? substr($line, $i - 1, 1) : '';
				$st->{quote} = ($prev =~ /[eE]/
					  && ($i < 2 || substr($line, $i - 2, 1) !~ /\w/)) ? "e'" : "'";
			}
			elsif ($c eq '"')
			{
				$st->{quote} = '"';
			}
			elsif ($c eq '$' && substr($line, $i) =~ /^(\$(?:[A-Za-z_]\w*)?\$)/
				&& ($i == 0 || substr($line, $i - 1, 1) !~ /\w/))
			{
				$st->{quote} = $1;
				$i += length($1);
				next;
			}
			elsif ($c eq ';')
			{
				push @ends, $i;
			}
			$i++;
		}
		elsif ($q eq '/*')
		{
			if (substr($line, $i, 2) eq '*/')
			{
				$st->{quote} = undef;
				$i += 2;
				next;
			}
			$i++;
		}
		elsif ($q eq "'" || $q eq '"')
		{
			if ($c eq $q)
			{
				if (substr($line, $i + 1, 1) eq $q)
				{
					$i += 2;
					next;
				}
				$st->{quote} = undef;
			}
			$i++;
		}
		elsif ($q eq "e'")
		{
			if ($c eq '\\')
			{
				$i += 2;
				next;
			}
			if ($c eq "'")
			{
				if (substr($line, $i + 1, 1) eq "'")
				{
					$i += 2;
					next;
				}
				$st->{quote} = undef;
			}
			$i++;
		}
		else    # a dollar quote
		{
			if (substr($line, $i, length($q)) eq $q)
			{
				$st->{quote} = undef;
				$i += length($q);
				next;
			}
			$i++;
		}
	}
	return (\@ends, undef);
}

# The statements of a block, in order:
#   { sql (its text, from its first code line to its ";" and the comment
#     after it), line (in the file), output => [shown lines] or undef }
sub block_statements
{
	my ($block, $path) = @_;
	$path //= 'README.md';
	my @stmts;
	my $st = { quote => undef };
	my $cur;          # the statement being read
	my $last;         # the statement that ended on the previous line, while its output may follow
	my $lineno = $block->{line} - 1;
	foreach my $line (@{ $block->{lines} })
	{
		$lineno++;
		if (!defined $cur && !defined $st->{quote})
		{
			if ($line =~ /^\s*$/)
			{
				$last = undef;
				next;
			}
			if ($line =~ /^\s*--/)
			{
				if (defined $last)
				{
					die "$path:$lineno: a line of shown output must start with \"-- \": $line\n"
					  unless $line =~ /^--(?: (.*))?$/;
					$last->{output} //= [];
					push @{ $last->{output} }, $1 // '';
				}
				next;
			}
			die "$path:$lineno: psql meta-commands are not run by the doc test: $line\n"
			  if $line =~ /^\s*\\/;
		}
		$last = undef;
		my ($ends, $comment) = scan_line($st, $line);
		my $pos = 0;
		foreach my $e (@$ends)
		{
			my $piece = substr($line, $pos, $e + 1 - $pos);
			if (!defined $cur)
			{
				next if $piece =~ /^\s*;$/;
				$cur = { sql => '', line => $lineno };
			}
			$cur->{sql} .= $piece;
			push @stmts, $cur;
			$last = $cur;
			$cur = undef;
			$pos = $e + 1;
		}
		my $rest = substr($line, $pos);
		if (defined $last && $rest =~ /^\s*(--.*)?$/)
		{
			$last->{sql} .= $rest;
			$last->{sql} =~ s/\s+$//;
			next;
		}
		$last = undef;
		next if !defined $cur && $rest =~ /^\s*$/;
		$cur //= { sql => '', line => $lineno };
		$cur->{sql} .= $rest . "\n";
	}
	die "$path:$cur->{line}: a statement without its \";\"\n" if defined $cur;
	return @stmts;
}

# The SQL of the block marked <!-- recipe: NAME -->, verbatim: the one
# block of that name in the whole manual (or in the file given)
sub readme_recipe
{
	my ($name, $path) = @_;
	my @files = defined $path ? ($path) : map { $_->[0] } manual_files();
	my @found;
	foreach my $f (@files)
	{
		next unless -e ($f =~ m{^/} ? $f : top_dir() . "/$f");
		push @found, map { [ $f, $_ ] }
		  grep { ($_->{recipe} // '') eq $name } readme_blocks($f);
	}
	die "the manual has no recipe \"$name\"\n" unless @found;
	die "the manual has " . scalar(@found) . " recipes \"$name\": "
	  . join(', ', map { "$_->[0]:$_->[1]{line}" } @found) . "\n"
	  if @found > 1;
	my ($f, $b) = @{ $found[0] };
	die "$f:$b->{line}: the recipe \"$name\" is not a sql block\n" unless $b->{lang} eq 'sql';
	return join('', map { "$_\n" } @{ $b->{lines} });
}

1;
