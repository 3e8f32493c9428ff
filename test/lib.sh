# test/lib.sh - shared by test/demo.sh, test/check.sh and test/integration/*.sh.
#
# Sourced, not run. Sets up a fresh Debian 12 machine (as root), builds and
# installs xdrec, and runs a throwaway PostgreSQL 15 cluster in a private
# directory under /tmp. The system cluster (15/main) is never touched.

XD_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
XD_PGBIN=/usr/lib/postgresql/15/bin
# XD_PRIVATE_PG=<dir>: install into, and run the cluster from, a private copy
# of the PostgreSQL 15 installation under <dir> (made on first use), so that
# several checkouts on one machine can build and test at once without
# overwriting each other's installed extension. PostgreSQL finds its share and
# lib directories relative to its binaries, so the copy is self-contained.
# The copy takes what the system has gained since (xd_install_deps calls this
# again): packages installed after the first copy (pg_cron, PL/Proxy) are
# added, never overwriting a file in it such as the xdrec it has installed;
# and when the system's server is another release than the one copied (apt
# upgraded postgresql-15 with its server headers: an extension built against
# 15.20's headers does not load into 15.18), everything is copied again.
xd_private_pg_sync()
{
	[ -n "${XD_PRIVATE_PG:-}" ] && [ -x /usr/lib/postgresql/15/bin/postgres ] || return 0
	local stamp="$XD_PRIVATE_PG/system-postgres-version" release mode=-an
	release=$(/usr/lib/postgresql/15/bin/postgres --version)
	[ "$(cat "$stamp" 2>/dev/null)" = "$release" ] || mode=-a
	mkdir -p "$XD_PRIVATE_PG/usr/lib/postgresql/15" "$XD_PRIVATE_PG/usr/share/postgresql/15"
	cp $mode /usr/lib/postgresql/15/. "$XD_PRIVATE_PG/usr/lib/postgresql/15/"
	cp $mode /usr/share/postgresql/15/. "$XD_PRIVATE_PG/usr/share/postgresql/15/"
	ln -sfn /usr/include "$XD_PRIVATE_PG/usr/include"
	chmod 755 "$XD_PRIVATE_PG"
	echo "$release" >"$stamp"
}
if [ -n "${XD_PRIVATE_PG:-}" ]; then
	xd_private_pg_sync
	XD_PGBIN=$XD_PRIVATE_PG/usr/lib/postgresql/15/bin
fi
# build against PostgreSQL 15 whatever else is installed; the integration
# scripts start their second servers from the same binaries
export XD_PGBIN
export PG_CONFIG=$XD_PGBIN/pg_config
# (perl's prove and IPC::Run: the TAP tests in test/t/; git: the upgrade
# test builds release 0.1.0 from the checkout's history; PL/Proxy: the
# scale-out routing and its TAP test, optional at runtime, docs/scale.md)
XD_PACKAGES=(postgresql-15 postgresql-server-dev-15 libopenblas-serial-dev
	postgresql-15-cron postgresql-15-plproxy gnuplot-nox python3-psycopg2 make gcc valgrind nodejs sqlsmith
	perl libipc-run-perl git)

xd_log() { printf '== %s\n' "$*"; }

# Install what is missing: one apt-get update, one apt-get install.
xd_install_deps()
{
	local missing=() p
	for p in "${XD_PACKAGES[@]}"; do
		if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
			missing+=("$p")
		fi
	done
	# npm (the driver test installs Node's pg): Debian's package, unless
	# nodejs already brought one (NodeSource's nodejs bundles npm)
	if ! command -v npm >/dev/null 2>&1; then
		missing+=(npm)
	fi
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "missing packages: ${missing[*]} (run as root to install them)" >&2
		return 1
	fi
	xd_log "installing ${missing[*]}"
	# Installing postgresql-15 would create and start the system cluster
	# 15/main; tell postgresql-common not to create one.
	if ! dpkg-query -W -f='${Status}' postgresql-15 2>/dev/null | grep -q 'install ok installed'; then
		mkdir -p /etc/postgresql-common
		if ! grep -qs '^create_main_cluster *= *false' /etc/postgresql-common/createcluster.conf; then
			echo 'create_main_cluster = false' >> /etc/postgresql-common/createcluster.conf
		fi
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq -o Dpkg::Options::=--force-confold "${missing[@]}" >/dev/null
	xd_private_pg_sync
}

xd_build_install()
{
	xd_log "building and installing xdrec"
	make -C "$XD_ROOT" -s -j2 >/dev/null
	make -C "$XD_ROOT" -s install >/dev/null
}

# The same, its output shown only when it fails (the real-data scripts,
# whose own output is the measurement).
xd_build_install_quietly()
{
	local log rc=0
	log=$(mktemp)
	xd_build_install > "$log" 2>&1 || { rc=$?; cat "$log" >&2; }
	rm -f "$log"
	return $rc
}

# A port nobody listens on, over TCP or the usual socket directories.
xd_free_port()
{
	local port
	for port in $(seq 54329 54429); do
		[ -e "/var/run/postgresql/.s.PGSQL.$port" ] && continue
		[ -e "/tmp/.s.PGSQL.$port" ] && continue
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
		echo "$port"
		return 0
	done
	return 1
}

xd_cleanup()
{
	local rc=$?
	if [ -n "${XD_TMP:-}" ] && [ -d "$XD_TMP" ]; then
		if [ -f "$XD_TMP/data/postmaster.pid" ]; then
			runuser -u postgres -- "$XD_PGBIN/pg_ctl" -D "$XD_TMP/data" -m fast -w stop >/dev/null 2>&1 || true
		fi
		rm -rf "$XD_TMP"
	fi
	return $rc
}

# Start the throwaway cluster and export the client environment.
xd_start_cluster()
{
	XD_TMP=$(mktemp -d /tmp/xdrec-test.XXXXXX)
	trap xd_cleanup EXIT
	chmod 755 "$XD_TMP"
	chown postgres: "$XD_TMP"
	local port
	port=$(xd_free_port) || { echo "no free port" >&2; return 1; }
	runuser -u postgres -- "$XD_PGBIN/initdb" -D "$XD_TMP/data" -U postgres -A trust \
		-E UTF8 --no-locale --no-sync >"$XD_TMP/initdb.log" 2>&1 \
		|| { cat "$XD_TMP/initdb.log"; return 1; }
	cat >>"$XD_TMP/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$XD_TMP'
port = $port
shared_preload_libraries = 'pg_cron'
cron.database_name = 'postgres'
fsync = off
synchronous_commit = off
full_page_writes = off
max_worker_processes = 16
CONF
	runuser -u postgres -- "$XD_PGBIN/pg_ctl" -D "$XD_TMP/data" -l "$XD_TMP/server.log" -w start >/dev/null \
		|| { cat "$XD_TMP/server.log"; return 1; }
	export PGHOST="$XD_TMP" PGPORT="$port" PGUSER=postgres PGDATABASE=postgres
	xd_log "throwaway cluster on $PGHOST port $PGPORT"
}

xd_psql() { psql -X -v ON_ERROR_STOP=1 -q "$@"; }

# xd_prove [test/t/NNN_name.pl ...]: the TAP tests (every test/t/*.pl by
# default) with prove, each starting its own nodes from $XD_PGBIN with
# PostgreSQL::Test::Cluster (test/t/README.md). They run as the postgres user
# (initdb refuses root), from a copy of test/t/ in a private directory that
# user owns, whatever the checkout's permissions; on failure, the tail of
# each test's log.
xd_prove()
{
	local dir tests=() t rc pginstall
	pginstall=$(dirname "$XD_PGBIN")
	[ $# -gt 0 ] || set -- "$XD_ROOT"/test/t/*.pl
	dir=$(mktemp -d /tmp/xdrec-tap.XXXXXX)
	cp -r "$XD_ROOT/test/t/." "$dir/"
	for t in "$@"; do
		# a script from elsewhere (test/bench/cluster.pl) beside XdrecTest.pm
		[ -e "$dir/$(basename "$t")" ] || cp "$t" "$dir/"
		tests+=("$dir/$(basename "$t")")
	done
	chown -R postgres: "$dir"
	(cd "$dir" && runuser -u postgres -- env PATH="$XD_PGBIN:$PATH" XD_PGBIN="$XD_PGBIN" \
		TESTDIR="$dir" PG_REGRESS="$pginstall/lib/pgxs/src/test/regress/pg_regress" \
		prove -I "$pginstall/lib/pgxs/src/test/perl" "${tests[@]}")
	rc=$?
	if [ $rc -ne 0 ]; then
		for t in "$dir"/tmp_check/log/regress_log_*; do
			[ -f "$t" ] || continue
			xd_log "tail of $t"
			tail -n 40 "$t"
		done
	fi
	[ -n "${XD_TAP_KEEP:-}" ] || rm -rf "$dir"
	return $rc
}
