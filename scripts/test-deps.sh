#!/usr/bin/env bash
# Installs the Debian packages the test suite uses, when any is missing:
# iproute2 and nftables (namespace networks), traceroute and iputils-ping
# (cross-checks), tcpdump (packet captures), e2fsprogs, mount and
# util-linux (mkfs.ext4, e2fsck, mount -o loop, findmnt: the fault test's
# small disk that fills up and turns read-only), prometheus (promtool, and the
# server the alerting test runs), prometheus-alertmanager (with amtool),
# chromium (the browser test), bird2 (the routers of the BGP test),
# softflowd (NetFlow from real traffic for the flows target source),
# systemd (systemd-analyze checks the example
# unit) and python3-aiosmtpd (the SMTP server the
# e-mail test delivers to; it runs with Debian's /usr/bin/python3, whatever
# python3 comes first on PATH). Needs root to install; run by `make test`
# before `go test`.
set -euo pipefail
need=()
check() { command -v "$1" >/dev/null 2>&1 || need+=("$2"); }
# aiosmtpd is a module of Debian's Python, not a command.
has_aiosmtpd() { [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1; }
check ip iproute2
check nft nftables
check traceroute traceroute
check ping iputils-ping
check tcpdump tcpdump
check mkfs.ext4 e2fsprogs
check e2fsck e2fsprogs
check mount mount
check findmnt util-linux
check promtool prometheus
check prometheus prometheus
check prometheus-alertmanager prometheus-alertmanager
check amtool prometheus-alertmanager
check chromium chromium
check bird bird2
check birdc bird2
check softflowd softflowd
check systemd-analyze systemd
has_aiosmtpd || need+=(python3-aiosmtpd)
[ ${#need[@]} -eq 0 ] && exit 0
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
if [ "$(id -u)" -ne 0 ]; then
	echo "test-deps: missing Debian packages: ${need[*]}" >&2
	echo "test-deps: run as root, or: sudo apt-get install ${need[*]}" >&2
	exit 1
fi
echo "test-deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
for t in ip nft traceroute ping tcpdump mkfs.ext4 e2fsck mount findmnt promtool prometheus prometheus-alertmanager amtool chromium bird birdc softflowd systemd-analyze; do
	command -v "$t" >/dev/null || { echo "test-deps: $t still missing after install" >&2; exit 1; }
done
has_aiosmtpd || { echo "test-deps: /usr/bin/python3 cannot import aiosmtpd after install" >&2; exit 1; }
