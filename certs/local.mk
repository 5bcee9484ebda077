# SPDX-License-Identifier: ISC
# certs: paprika-certs, the script that makes a deployment's PKI.
bin_SCRIPTS += certs/paprika-certs
EXTRA_DIST += certs/paprika-certs certs/README.md

TESTS += tests/loopback/test-certs.sh
EXTRA_DIST += tests/loopback/test-certs.sh
