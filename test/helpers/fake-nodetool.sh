#!/bin/sh
# A stand-in for Cassandra's nodetool on the lab (real sshd, no Cassandra):
# `status` prints a three-node ring in nodetool's own layout, `repair -pr`
# prints what Cassandra 4.1's nodetool prints while it repairs and takes real
# time doing it. Each repair start is logged, so a test can count them.
# `drain` takes a moment and, with a ring file, leaves the ring: its peers see
# it DN from then on.
#
#   FAKE_NODETOOL_REPAIR_SECONDS  how long a repair takes (default 45)
#   FAKE_NODETOOL_LOG             file that gets one line per repair started
#   FAKE_NODETOOL_PREFIX          first three octets of the ring's addresses;
#                                 default: the address sshd answered on
#                                 ($SSH_CONNECTION), else 127.0.0
#   FAKE_NODETOOL_DOWN            last octets of members to show DN ("12 13")
#   FAKE_NODETOOL_REPAIR_FAIL     if set, the repair fails half-way with it
#   FAKE_NODETOOL_RING            a file holding the ring, one "OCTET STATE" a
#                                 line ("14 UJ"), which a test rewrites as
#                                 nodes come and go; `drain` marks its own DN
#   FAKE_NODETOOL_DRAIN_LOG       file that gets one line per drain, naming
#                                 the address it ran on
#
# The ring is .11, .12 and .13 of the prefix, as the lab's nodes are, unless
# FAKE_NODETOOL_RING says otherwise.

set -u

# Global options come before the subcommand, as with the real tool.
while [ $# -gt 0 ]; do
  case $1 in
    -h | --host | -p | --port | -u | --username | -pw | --password | -pwf | --password-file) shift 2 ;;
    -*) shift ;;
    *) break ;;
  esac
done
sub=${1:-}
[ $# -gt 0 ] && shift

server=
[ -n "${SSH_CONNECTION:-}" ] && server=$(printf '%s\n' "$SSH_CONNECTION" | cut -d' ' -f3)
prefix=${FAKE_NODETOOL_PREFIX:-}
[ -z "$prefix" ] && [ -n "$server" ] && prefix=${server%.*}
[ -n "$prefix" ] || prefix=127.0.0

stamp() { date '+[%Y-%m-%d %H:%M:%S,000]'; }

uuid() {
  if [ -r /proc/sys/kernel/random/uuid ]; then cat /proc/sys/kernel/random/uuid; else echo 5a0e4c1e-3b8e-11ef-9a1c-0242ac120002; fi
}

status() {
  echo 'Datacenter: datacenter1'
  echo '======================='
  echo 'Status=Up/Down'
  echo '|/ State=Normal/Leaving/Joining/Moving'
  printf '%-4s%-15s%-12s%-8s%-18s%-38s%s\n' '--' Address Load Tokens 'Owns (effective)' 'Host ID' Rack
  ring | while read -r n st; do
    [ -n "$n" ] || continue
    for d in ${FAKE_NODETOOL_DOWN:-}; do [ "$d" = "$n" ] && st=DN; done
    printf '%-4s%-15s%-12s%-8s%-18s%-38s%s\n' "$st" "$prefix.$n" "1.$n GiB" 16 '100.0%' "6d194555-f6eb-41d0-ac1e-0000000000$n" rack1
  done
}

ring() {
  if [ -n "${FAKE_NODETOOL_RING:-}" ]; then cat -- "$FAKE_NODETOOL_RING"; else printf '11 UN\n12 UN\n13 UN\n'; fi
}

drain() {
  [ -n "${FAKE_NODETOOL_DRAIN_LOG:-}" ] && printf '%s drain pid=%s on=%s\n' "$(date '+%Y-%m-%dT%H:%M:%S')" "$$" "${server:-local}" >> "$FAKE_NODETOOL_DRAIN_LOG"
  # Flushing memtables takes a moment; then the node leaves gossip and its peers see it down.
  sleep 1
  if [ -n "${FAKE_NODETOOL_RING:-}" ] && [ -n "$server" ]; then
    me=${server##*.}
    tmp="$FAKE_NODETOOL_RING.$$"
    ring | while read -r n st; do if [ "$n" = "$me" ]; then echo "$n DN"; else echo "$n $st"; fi; done > "$tmp" && mv -f -- "$tmp" "$FAKE_NODETOOL_RING"
  fi
}

repair() {
  seconds=${FAKE_NODETOOL_REPAIR_SECONDS:-45}
  command=1
  if [ -n "${FAKE_NODETOOL_LOG:-}" ]; then
    [ -f "$FAKE_NODETOOL_LOG" ] && command=$(($(wc -l < "$FAKE_NODETOOL_LOG") + 1))
    printf '%s repair pid=%s args=%s\n' "$(date '+%Y-%m-%dT%H:%M:%S')" "$$" "$*" >> "$FAKE_NODETOOL_LOG"
  fi
  pr=false
  for a in "$@"; do case $a in -pr | --partitioner-range) pr=true ;; esac; done
  ks=telemetry
  echo "$(stamp) Starting repair command #$command ($(uuid)), repairing keyspace $ks with repair options (parallelism: parallel, primary range: $pr, incremental: true, job threads: 1, ColumnFamilies: [], dataCenters: [], hosts: [], previewKind: NONE, # of ranges: 16, pull repair: false, force repair: false, optimise streams: false, ignore unreplicated keyspaces: false, repairPaxos: true, paxosOnly: false)"
  sessions=5
  i=1
  while [ $i -le $sessions ]; do
    sleep $((seconds * i / sessions - seconds * (i - 1) / sessions))
    if [ -n "${FAKE_NODETOOL_REPAIR_FAIL:-}" ] && [ $i -gt $((sessions / 2)) ]; then
      msg="Repair command #$command failed with error $FAKE_NODETOOL_REPAIR_FAIL"
      line="$(stamp) $msg"
      echo "$line"
      echo "$(stamp) Repair command #$command finished with error"
      echo "error: Repair job has failed with the error message: $line. Check the logs on the repair participants for further details" >&2
      echo '-- StackTrace --' >&2
      echo "java.lang.RuntimeException: Repair job has failed with the error message: $line. Check the logs on the repair participants for further details" >&2
      exit 2
    fi
    echo "$(stamp) Repair session $(uuid) for range [(-$((9000000000000000000 / i)),$((1000000000000000 * i))]] finished (progress: $((i * 100 / sessions))%)"
    i=$((i + 1))
  done
  echo "$(stamp) Repair completed successfully"
  echo "$(stamp) Repair command #$command finished in $(words "$seconds")"
}

# "1 hour 0 minutes 5 seconds", as nodetool words a duration: zero parts
# dropped at either end only (commons-lang formatDurationWords).
words() {
  h=$(($1 / 3600)); m=$(($1 % 3600 / 60)); s=$(($1 % 60)); out=; held=
  for part in "$h hour" "$m minute" "$s second"; do
    n=${part%% *}
    [ "$n" = 1 ] && w=$part || w="${part}s"
    if [ "$n" -gt 0 ]; then out="${out:+$out }${held:+$held }$w"; held=
    elif [ -n "$out" ]; then held="${held:+$held }$w"; fi
  done
  echo "${out:-0 seconds}"
}

case $sub in
  status) status ;;
  version) echo 'ReleaseVersion: 4.1.7' ;;
  repair) repair "$@" ;;
  drain) drain ;;
  '')
    echo 'usage: nodetool [(-h <host> | --host <host>)] <command> [<args>]' >&2
    exit 1
    ;;
  *)
    echo "nodetool: Found unexpected parameters: [$sub${*:+, $*}]" >&2
    echo "See 'nodetool help' or 'nodetool help <command>'." >&2
    exit 1
    ;;
esac
