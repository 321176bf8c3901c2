#!/bin/sh
# Live namespace changes seen by the kernel host (interop/rpc_test.ts). Connected with one
# namespace: wait for NSID 2 to appear (the test adds it over JSON-RPC when the controller
# comes), show it, signal the test by connecting a discovery controller, then wait for NSID 2
# to go (the test removes it when it sees that discovery controller).
set -e
nvme list
wait_for() { # $1: "present" or "absent"
  i=0
  while [ $i -lt 120 ]; do
    if ls /dev/nvme*n2 >/dev/null 2>&1; then [ "$1" = present ] && return 0
    else [ "$1" = absent ] && return 0; fi
    sleep 0.5; i=$((i + 1))
  done
  echo "namespace 2 never became $1"; nvme list; exit 1
}
wait_for present
echo "== namespace 2 appeared =="
nvme list
dd if=/dev/urandom of=/tmp/p bs=4096 count=16 2>/dev/null
dd if=/tmp/p of="$(ls /dev/nvme*n2 | head -n 1)" bs=4096 oflag=direct 2>/dev/null
echo "== signal: remove it =="
nvme discover -t tcp -a "$NVME_TRADDR" -s "$NVME_TRSVCID" >/dev/null
wait_for absent
echo "== namespace 2 disappeared =="
nvme list
echo "rpc live namespace workload PASSED"
