#!/bin/sh
# stamp.sh NAME CPUS_HELD LOG: a test that holds the CPUs for 2 s and says when.
echo "start $(date +%s.%N) $1 $2" >> "$3"
sleep 2
echo "end $(date +%s.%N) $1 $2" >> "$3"
