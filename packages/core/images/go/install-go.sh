#!/bin/sh
# Installs Go from Debian's backports (bookworm itself has Go 1.19), taken from the archive the base image already
# uses, and links go and gofmt into /usr/local/bin. Usage: sh install-go.sh VERSION   (a Debian golang-VERSION-go)
set -eu
version=$1
codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
# The first non-security archive in the apt sources, one-line or deb822 format.
mirror=$({
  grep -hE '^deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | sed -E 's/\[[^]]*\]//' | awk '{ print $2 }'
  grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{ print $2 }'
} | grep -v security | head -n 1)
list=/etc/apt/sources.list.d/llm-sandbox-backports.list
echo "deb ${mirror:-http://deb.debian.org/debian} $codename-backports main" >"$list"
llm-sandbox-apt-install -t "$codename-backports" "golang-$version-go"
rm -f "$list"
ln -s "/usr/lib/go-$version/bin/go" /usr/local/bin/go
ln -s "/usr/lib/go-$version/bin/gofmt" /usr/local/bin/gofmt
go version
