# XdrecTest.pm - what the TAP tests in test/t/ share (README.md there): a node
# started from the PostgreSQL installation test/lib.sh chose ($XD_PGBIN, the
# private copy under XD_PRIVATE_PG included) and configured like the
# throwaway cluster, and the usual trained model.
package XdrecTest;

use strict;
use warnings;

use Exporter 'import';
use File::Basename qw(dirname);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;

our @EXPORT = qw(xd_node xd_node_from_backup xd_trained_model xd_catchup);

# xd_node(name, %init): a new node, initialised (%init goes to
# PostgreSQL::Test::Cluster::init, e.g. allows_streaming => 1) and configured
# as test/lib.sh configures the throwaway cluster, not started.
sub xd_node
{
	my ($name, %init) = @_;
	die "XD_PGBIN is not set: run the TAP tests through xd_prove (test/lib.sh)\n"
	  unless $ENV{XD_PGBIN};
	my $node = PostgreSQL::Test::Cluster->new($name,
		install_path => dirname($ENV{XD_PGBIN}));
	$node->init(%init);
	$node->append_conf('postgresql.conf', <<'CONF');
shared_preload_libraries = 'pg_cron'
cron.database_name = 'postgres'
synchronous_commit = off
full_page_writes = off
max_worker_processes = 16
log_statement = none
CONF
	return $node;
}

# xd_catchup(node, subscriber): waits until the standby or subscription
# named by subscriber (a node or an application name) has replayed all that
# node has inserted into its WAL. xd_node's clusters commit asynchronously
# (synchronous_commit = off), so the write position wait_for_catchup takes
# by default can still be short of the last commit when a call returns: a
# standby "caught up" to it may not show that commit yet.
sub xd_catchup
{
	my ($node, $subscriber) = @_;
	$node->wait_for_catchup($subscriber, 'replay', $node->lsn('insert'));
	return;
}

# xd_node_from_backup(name, primary, backup): a streaming standby of primary
# from its backup (PostgreSQL::Test::Cluster::backup), not started.
sub xd_node_from_backup
{
	my ($name, $primary, $backup) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name,
		install_path => $primary->install_path);
	$node->init_from_backup($primary, $backup, has_streaming => 1);
	return $node;
}

# xd_trained_model(node, db, model, generate, options): a new database db
# with xdrec, a table orders from xdrec.generate (generate: its options), and
# model on orders with the generated features and options, trained on d0.
sub xd_trained_model
{
	my ($node, $db, $model, $generate, $options) = @_;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, <<SQL);
CREATE EXTENSION xdrec;
SELECT xdrec.generate('orders', '$generate');
SELECT xdrec.create_model('$model', 'orders', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(), options => '$options');
SELECT xdrec.train('$model', 'd0');
SQL
	return;
}

1;
