# Helpers for the spool worker's TAP tests: a cluster with mig preloaded and
# a spool of its own, MIG-shaped files in a staging directory
# (bench/mkspool), their agents registered, and files moved into the spool
# the way MIG's scheduler does (rename).
package MigSpool;

use strict;
use warnings;
use Exporter 'import';
use File::Path qw(make_path);
use File::Basename qw(basename);

use PostgreSQL::Test::Cluster;

our @EXPORT = qw(mig_node spool_dirs mkspool load_heartbeats move_files spool_files);

our @DIRS = qw(action/new action/inflight action/done action/invalid
  command/ready command/inflight command/returned command/done);

# A cluster with mig preloaded, its spool in the node's directory:
#   my ($node, $spool) = mig_node('name', rescan => '1h', batch => 50,
#       conf => "extra lines", dirs => 1, start => 1, extension => 1);
# rescan and batch set mig.rescan_interval and mig.batch_size; dirs makes the
# spool's eight directories; start starts it and extension (with start)
# creates the extension in postgres.  Defaults: all off but start.
sub mig_node
{
	my ($name, %opt) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	my $spool = $node->basedir . '/spool';
	my $conf = "shared_preload_libraries = 'mig'\nmig.spool_dir = '$spool'\n"
	  . "search_path = '\"\$user\", public, mig'\n";
	$conf .= "mig.rescan_interval = '$opt{rescan}'\n" if defined $opt{rescan};
	$conf .= "mig.batch_size = $opt{batch}\n" if defined $opt{batch};
	$conf .= $opt{conf} if defined $opt{conf};
	$node->append_conf('postgresql.conf', $conf);
	spool_dirs($spool) if $opt{dirs};
	if ($opt{start} // 1)
	{
		$node->start;
		$node->safe_psql('postgres', 'CREATE EXTENSION mig') if $opt{extension};
	}
	return ($node, $spool);
}

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
SELECT count(mig.mig_agent_heartbeat(j::json)) FROM hb;
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
