#!/bin/sh
# Reservations with nvme-cli (2.3) against the target, while a second host (the test process,
# another Host Identifier) watches: register, acquire Write Exclusive, report, write as the
# holder; wait until the other host has registered too (it reads the reservation state to know
# when to try its writes, and registers once it has seen Reservation Conflict); then release,
# unregister, report.
set -e
report() { nvme resv-report "$NVME_NS" -n 1 --eds; }
nvme resv-register "$NVME_NS" -n 1 --nrkey=0xabc --rrega=0
nvme resv-acquire "$NVME_NS" -n 1 --crkey=0xabc --rtype=1 --racqa=0
report
dd if=/dev/urandom of=/tmp/p bs=4k count=1 2>/dev/null
dd if=/tmp/p of="$NVME_NS" bs=4k count=1 oflag=direct conv=fsync 2>/dev/null
echo "RESV holder write OK"
i=0
until report | grep -Eq 'regctl *: *2'; do
  i=$((i + 1))
  [ "$i" -lt 240 ] || { echo "RESV the other host never registered"; exit 3; }
  sleep 1
done
echo "RESV the other host registered"
report
nvme resv-release "$NVME_NS" -n 1 --crkey=0xabc --rtype=1 --rrela=0
nvme resv-register "$NVME_NS" -n 1 --crkey=0xabc --rrega=1
report
echo "RESV workload PASSED"
