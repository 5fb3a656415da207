#!/bin/sh
# apt-get install the way every llm-sandbox image does it: no recommends, no package lists or .debs left behind.
# Usage: llm-sandbox-apt-install PACKAGE...   (installed by llm-sandbox/base)
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "$@"
apt-get clean
rm -rf /var/lib/apt/lists/*
