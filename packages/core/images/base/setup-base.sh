#!/bin/sh
# llm-sandbox/base's set-up, run as root: installs the base packages, trusts the extra CA certificates of the build
# context (extra-ca.crt next to this script; may be empty), and makes the unprivileged user `sandbox` (uid/gid 1000)
# and its working directory /sandbox.
set -eu
here=$(cd "$(dirname "$0")" && pwd)

sh "$here/apt-install.sh" ca-certificates tar coreutils procps

# Extra CAs (corporate TLS proxies): one file per certificate under /usr/local/share/ca-certificates, skipping the
# ones Debian's bundle already has (a bundle given as NODE_EXTRA_CA_CERTS usually repeats all of them).
dir=/usr/local/share/ca-certificates/llm-sandbox
mkdir -p "$dir"
if [ -s "$here/extra-ca.crt" ]; then
  awk -v dir="$dir" '
    /-----BEGIN CERTIFICATE-----/ { inside = 1; body = ""; pem = "-----BEGIN CERTIFICATE-----\n"; next }
    inside && /-----END CERTIFICATE-----/ {
      inside = 0
      pem = pem "-----END CERTIFICATE-----\n"
      if (FILENAME == ARGV[1]) { known[body] = 1 }
      else if (!(body in known)) {
        known[body] = 1; n++
        file = sprintf("%s/extra-%03d.crt", dir, n); printf "%s", pem > file; close(file)
      }
      next
    }
    inside { line = $0; gsub(/[ \t\r]/, "", line); body = body line; pem = pem line "\n" }
    END { if (n + 0 > 0) printf "llm-sandbox: %d extra CA certificate(s) to trust\n", n; else print "llm-sandbox: the extra CA certificates are all in the Debian bundle already" }
  ' /etc/ssl/certs/ca-certificates.crt "$here/extra-ca.crt"
fi
update-ca-certificates

groupadd --gid 1000 sandbox
useradd --uid 1000 --gid 1000 --create-home --home-dir /home/sandbox --shell /bin/bash sandbox
mkdir -p /sandbox
chown sandbox:sandbox /sandbox
