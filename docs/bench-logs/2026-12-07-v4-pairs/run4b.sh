#!/usr/bin/env bash
# Alternating 4-validator bench, second session: prev (end of issue 13) vs v4 (HEAD, chains
# start at protocol version 4). The order within a round alternates too.
set -u
for round in 6 7 8 9 10 11; do
  if [ $((round % 2)) = 0 ]; then order="prev v4"; else order="v4 prev"; fi
  for which in $order; do
    bin=/work/bin/kexin-release-$which
    out=/work/bench-i14/net4-$which-$round.json
    rm -rf /work/bench-i14/net4-$which-$round
    $bin bench --nodes 4 --duration 15 --dir /work/bench-i14/net4-$which-$round --json > $out.log 2>&1
    tail -1 $out.log > $out
    echo "$which $round $(jq -c '{tx: .signed_tx_per_s, rec: .evidence_records_per_s, p50: .p50_ms, p99: .p99_ms, cons: .consensus_only_blocks_per_s}' $out 2>/dev/null)"
  done
done
