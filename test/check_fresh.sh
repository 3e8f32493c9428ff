#!/usr/bin/env bash
# test/check_fresh.sh - `make check-fresh`: the README's two commands on a
# fresh Debian 12. Builds a bookworm root with debootstrap from this
# machine's package mirror (/etc/apt/sources.list*), clones the repository
# (its committed state) to /srv/xdrec and copies ../shared beside it to
# /srv/shared, and runs `bash test/demo.sh` and `bash test/check.sh` there
# with chroot, as root, with a clean environment. Whatever the scripts rely
# on but do not install shows up here. Slow (a root, every package, the whole
# suite): not part of check.sh or CI. Run as root; the root is removed at exit
# unless XD_FRESH_KEEP=1.
set -euo pipefail

XD_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=$(cd "$XD_ROOT/../shared" && pwd -P)
[ "$(id -u)" -eq 0 ] || { echo "check-fresh needs root (debootstrap, chroot)" >&2; exit 1; }

export DEBIAN_FRONTEND=noninteractive
if ! command -v debootstrap >/dev/null 2>&1; then
	apt-get update -qq
	apt-get install -y -qq debootstrap >/dev/null
fi

# "URI suite" for every enabled Debian source of bookworm, in both formats:
# one-line .list entries and deb822 .sources stanzas
sources()
{
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk '{ sub(/\[[^]]*\] */, "") } $1 == "deb" && $3 ~ /^bookworm/ { print $2, $3 }' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk 'BEGIN { RS = ""; FS = "\n" }
			{ uri = ""; suites = ""; deb = 0; on = 1
			  for (k = 1; k <= NF; k++) {
				if ($k ~ /^Types:(.* )?deb( |$)/) deb = 1
				if ($k ~ /^Enabled: *no/) on = 0
				if ($k ~ /^URIs:/) { sub(/^URIs: */, "", $k); split($k, u, " "); uri = u[1] }
				if ($k ~ /^Suites:/) { sub(/^Suites: */, "", $k); suites = $k } }
			  if (deb && on && uri != "") { n = split(suites, s, " "); for (j = 1; j <= n; j++) if (s[j] ~ /^bookworm/) print uri, s[j] } }' "$f"
	done
}
mapfile -t SOURCES < <(sources | sort -u)
MIRROR=$(printf '%s\n' "${SOURCES[@]}" | awk '$2 == "bookworm" { print $1; exit }')
[ -n "$MIRROR" ] || { echo "no bookworm source in /etc/apt/sources.list*" >&2; exit 1; }

ROOT=$(mktemp -d /var/tmp/xdrec-fresh.XXXXXX)
chmod 755 "$ROOT"	# it becomes / : every user must traverse it
MOUNTS=()
cleanup()
{
	local rc=$? pid i
	# whatever still runs inside the root (a server the suite left behind)
	for pid in /proc/[0-9]*; do
		[ "$(readlink "$pid/root" 2>/dev/null)" = "$ROOT" ] && kill -9 "${pid#/proc/}" 2>/dev/null
	done
	for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
		umount -R "${MOUNTS[i]}" 2>/dev/null || umount -lR "${MOUNTS[i]}" 2>/dev/null || true
	done
	if [ "${XD_FRESH_KEEP:-0}" = 1 ]; then
		echo "kept $ROOT"
	elif ! findmnt -R "$ROOT" >/dev/null 2>&1; then
		rm -rf --one-file-system "$ROOT"
	fi
	return $rc
}
trap cleanup EXIT

echo "== debootstrap bookworm from $MIRROR into $ROOT"
debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR" >"$ROOT.debootstrap.log" 2>&1 \
	|| { tail -20 "$ROOT.debootstrap.log"; exit 1; }
rm -f "$ROOT.debootstrap.log"
# the same sources as this machine (updates and security too)
printf 'deb %s main\n' "${SOURCES[@]}" >"$ROOT/etc/apt/sources.list"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
# and the same local trust anchors, for a network whose HTTPS goes through a
# proxy with its own CA (npm fetches Node's pg over HTTPS: without them it
# fails with SELF_SIGNED_CERT_IN_CHAIN); the ca-certificates package the
# scripts install adds them to the root's store
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
	mkdir -p "$ROOT/usr/local/share/ca-certificates"
	cp /usr/local/share/ca-certificates/*.crt "$ROOT/usr/local/share/ca-certificates/"
fi
# a root without init: packages must not start services (postgresql-common
# would start clusters); on a real machine it is systemd's business
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod 755 "$ROOT/usr/sbin/policy-rc.d"

# a clone, history included (the upgrade test builds release 0.1.0 from it)
git clone -q --no-hardlinks "$XD_ROOT" "$ROOT/srv/xdrec"
mkdir -p "$ROOT/srv/shared"
cp -a "$SHARED/." "$ROOT/srv/shared/"
echo "== repository at $(git -C "$XD_ROOT" rev-parse --short HEAD) in /srv/xdrec, shared in /srv/shared"

mount -t proc proc "$ROOT/proc" && MOUNTS+=("$ROOT/proc")
mount -t sysfs sysfs "$ROOT/sys" && MOUNTS+=("$ROOT/sys")
mount --rbind /dev "$ROOT/dev" && mount --make-rslave "$ROOT/dev" && MOUNTS+=("$ROOT/dev")

in_root()
{
	chroot "$ROOT" /usr/bin/env -i HOME=/root TERM="${TERM:-dumb}" LANG=C.UTF-8 \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		/bin/bash -c "cd /srv/xdrec && $1"
}
rc=0
echo "== bash test/demo.sh"
in_root 'bash test/demo.sh' || rc=$?
echo "== bash test/demo.sh exited $rc"
echo "== bash test/check.sh"
in_root 'bash test/check.sh' || rc=$?
echo "== check-fresh: exit status $rc"
exit $rc
