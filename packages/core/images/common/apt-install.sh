#!/bin/sh
# apt-get install the way every llm-sandbox image does it: no recommends, no package lists or .debs left behind.
# Usage: sh apt-install.sh PACKAGE...
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "$@"
apt-get clean
rm -rf /var/lib/apt/lists/*
