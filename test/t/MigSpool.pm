# Helpers for the spool worker's TAP tests: make a spool, fill a staging
# directory with MIG-shaped files (bench/mkspool), register their agents,
# and move files into the spool the way MIG's scheduler does (rename).
package MigSpool;

use strict;
use warnings;
use Exporter 'import';
use File::Path qw(make_path);
use File::Basename qw(basename);

our @EXPORT = qw(spool_dirs mkspool load_heartbeats move_files spool_files);

our @DIRS = qw(action/new action/inflight action/done action/invalid
  command/ready command/inflight command/returned command/done);

# the eight directories of a spool
sub spool_dirs
{
	my ($spool) = @_;
	make_path(map { "$spool/$_" } @DIRS);
	return;
}

# bench/mkspool DIR N OPTIONS...
sub mkspool
{
	my ($dir, $n, @opts) = @_;
	system($^X, 'bench/mkspool', $dir, $n, @opts) == 0
	  or die "bench/mkspool $dir $n @opts failed";
	return;
}

# mig_agent_heartbeat() for each line of a heartbeats file (read by the
# server: the tests run as the server's user)
sub load_heartbeats
{
	my ($node, $db, $file) = @_;
	return $node->safe_psql($db, qq{
CREATE TEMP TABLE hb (j text);
COPY hb FROM '$file' (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02');
SELECT count(mig_agent_heartbeat(j::json)) FROM hb;
});
}

# the spool files under a directory, relative paths, sorted
sub spool_files
{
	my ($root, $sub) = @_;
	my @files;
	foreach my $d (@DIRS)
	{
		next if defined $sub && $d ne $sub;
		opendir(my $dh, "$root/$d") or next;
		push @files, map { "$d/$_" } grep { /\.json$/ && !/^\./ } readdir($dh);
		closedir($dh);
	}
	return sort @files;
}

# rename files (relative paths) from one spool into another
sub move_files
{
	my ($from, $to, @files) = @_;
	foreach my $f (@files)
	{
		rename("$from/$f", "$to/$f") or die "rename $from/$f: $!";
	}
	return scalar(@files);
}

1;
