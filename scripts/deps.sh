#!/usr/bin/env bash
# Installs the Debian packages mamori needs to build, test and run, if any are
# missing. Idempotent: does nothing when everything is present.
#   scripts/deps.sh           build + test dependencies
#   scripts/deps.sh bench     also the HTTP load bench's peers (bench/http.sh)
#   scripts/deps.sh package   also what `make package` checks the .deb with (lintian)
#   scripts/deps.sh fuzz      also clang and its libFuzzer/sanitizer runtimes (make fuzz)
#   scripts/deps.sh --list [GROUP...]  prints the packages, one a line, and installs nothing
#                             (scripts/check_deps.py reads it)
set -euo pipefail

pkgs=(
  g++ cmake make pkg-config
  libboost1.81-dev libboost-json1.81-dev   # Asio, Beast, JSON
  libsimdjson-dev                          # request JSON parsing
  libtomlplusplus-dev                      # config
  libsqlite3-dev                           # embedded durable store
  libdeflate-dev                           # the journals' record CRCs (zlib's CRC-32, 6x faster)
  libpq-dev postgresql-15                  # [store] backend = "postgresql" and its tests' server
  libjemalloc-dev                          # mamorid's allocator
  libsodium-dev                            # secrets at rest, hashing
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-pytest python3-requests  # integration tests
  python3-jsonschema                       # answers checked against docs/openapi.json
  libcurl4-openssl-dev                     # owner e-mail (SMTP) and webhooks (HTTPS)
  libhowardhinnant-date-dev tzdata         # owners' time zones in notices
  python3-aiosmtpd                         # the SMTP relay of the notice tests
  curl
  libqrencode-dev libzxcvbn-dev zlib1g-dev    # TOTP QR codes, password strength, gzip input
  zbar-tools librsvg2-bin                  # QR round-trip test (SVG -> PNG -> decode)
  libc-ares-dev                            # DNSBL lookups
  libmaxminddb-dev                         # GeoIP (country, city, ASN, anonymous networks)
  libutf8proc-dev                          # account names: NFKC, case folding
  dovecot-core dovecot-imapd postfix       # mail integration tests (own config dirs, loopback)
  dnsmasq-base                             # a real DNS server for the DNSBL tests
  openssh-server openssh-client sshpass    # [[logs]] sshd tests: a real sshd, its client
  libsystemd-dev                           # readiness and status to systemd (sd_notify), the journal
  libvectorscan-dev libre2-dev             # log sources: stock patterns in one pass, custom formats
  libnftnl-dev libmnl-dev nftables iproute2  # [firewall]: blocks as nftables set elements over netlink; nft, ip in tests
  libssl-dev python3-cryptography          # TLS on the HTTP listener and the CLI; the tests' own CA
  dpkg-dev systemd                         # the .deb (dpkg-shlibdeps) and its unit (systemd-analyze)
  strace groff-base                        # package test: the unit's system calls, the man pages
  openssl                                  # mail tests: the submission/smtps certificate
  prometheus python3-yaml                  # promtool and YAML for examples/monitoring/ checks
  git                                      # the source commit in mamori_build_info
  redis-server redis-tools libhiredis-dev  # hot state shared over a Redis Cluster; its tests' cluster
  python3-selenium chromium chromium-driver  # browser tests of the owner's pages and the console (headless)
  fonts-noto-cjk                           # Japanese text in the console's browser tests' screenshots
)
# The console's build (console/: npm ci, then esbuild): Debian's nodejs and
# npm, unless an npm is on the PATH already (a nodejs from elsewhere would
# conflict with Debian's).
command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)
# Optional groups, named on the command line.
bench_pkgs=(nginx-light wrk   # bench/http.sh: the ceiling server and the load generator
            fail2ban python3-pyinotify)  # bench/fail2ban_compare.py: the side-by-side run
package_pkgs=(lintian)         # make package: the .deb's policy check
# make fuzz: clang 14; libclang-rt-14-dev holds libFuzzer and the ASan/UBSan
# runtimes (clang-14 only recommends it, and recommends are not installed).
fuzz_pkgs=(clang libclang-rt-14-dev)
list=false
for group in "$@"; do
  case "$group" in
    --list) list=true ;;
    bench) pkgs+=("${bench_pkgs[@]}") ;;
    package) pkgs+=("${package_pkgs[@]}") ;;
    fuzz) pkgs+=("${fuzz_pkgs[@]}") ;;
    *) echo "deps: unknown group '$group' (known: bench, package, fuzz)" >&2; exit 2 ;;
  esac
done
if $list; then
  printf '%s\n' "${pkgs[@]}"
  exit 0
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# Postfix asks how to configure the system's mail: it must not (the tests run
# their own instances from their own config directories).
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"
