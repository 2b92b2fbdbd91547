package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Process names whose CPU time a drain reports beside the worker's.
var (
	pgProcs   = map[string]bool{"postgres": true}
	imapProcs = map[string]bool{"dovecot": true, "imap": true, "imap-login": true, "auth": true, "config": true,
		"log": true, "anvil": true, "stats": true, "indexer": true, "indexer-worker": true}
)

// clockTick is the unit of /proc/<pid>/stat's times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// cpuOf sums the CPU time, user and system, of the processes named in
// names, including their children that ended (a PostgreSQL backend's time
// moves to the postmaster when it exits). The difference of two calls is
// what those servers spent in between. 0 where /proc is missing.
func cpuOf(names map[string]bool) time.Duration {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var ticks int64
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // ended meanwhile
		}
		s := string(b)
		open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || close < open || !names[s[open+1:close]] {
			continue
		}
		fields := strings.Fields(s[close+1:])
		if len(fields) < 15 {
			continue
		}
		for _, i := range []int{11, 12, 13, 14} { // utime stime cutime cstime
			n, _ := strconv.ParseInt(fields[i], 10, 64)
			ticks += n
		}
	}
	return time.Duration(ticks) * clockTick
}

// cpuMeter measures the servers' CPU time over a span.
type cpuMeter struct{ pg, imap time.Duration }

func startCPU() cpuMeter { return cpuMeter{pg: cpuOf(pgProcs), imap: cpuOf(imapProcs)} }

func (m cpuMeter) since() (pg, imap time.Duration) {
	return cpuOf(pgProcs) - m.pg, cpuOf(imapProcs) - m.imap
}
