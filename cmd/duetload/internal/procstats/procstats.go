// Package procstats is what a duetload server reports of itself and how duetload
// reads it: memory, goroutines, CPU time and the hub's counters, as JSON on Path.
// It imports only the standard library, so that the load generator does not depend
// on the server it measures.
package procstats

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

// Path is where a duetload server reports its Stats. ?gc=1 collects garbage first,
// so that heap figures count live memory only.
const Path = "/debug/duetload"

// Stats is what a server process costs at one moment.
type Stats struct {
	HeapInuse  uint64        `json:"heapInuse"`  // bytes in in-use heap spans
	HeapAlloc  uint64        `json:"heapAlloc"`  // bytes of live (and not yet swept) objects
	StackInuse uint64        `json:"stackInuse"` // bytes of goroutine stacks
	Sys        uint64        `json:"sys"`        // bytes obtained from the OS by the runtime
	RSS        uint64        `json:"rss"`        // resident set size, from /proc/self/status
	Goroutines int           `json:"goroutines"` //
	NumGC      uint32        `json:"numGC"`      //
	CPU        time.Duration `json:"cpu"`        // user + system time of the process so far
	Hub        HubStats      `json:"hub"`        //
}

// HubStats are the hub's counters. The fields are collab.Stats's, so that the
// server converts one to the other and the compiler checks that they agree.
type HubStats struct {
	Rooms           int
	ConnsOpen       int64
	ConnsOpened     int64
	Messages        int64
	UpdatesAccepted int64
	RefusedByCode   map[string]int64
	AppendConflicts int64
}

// Read reads this process's memory, goroutines and CPU time.
func Read() Stats {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	s := Stats{
		HeapInuse: m.HeapInuse, HeapAlloc: m.HeapAlloc, StackInuse: m.StackInuse, Sys: m.Sys,
		Goroutines: runtime.NumGoroutine(), NumGC: m.NumGC, CPU: CPU(),
	}
	s.RSS, _ = RSS("self")
	return s
}

// CPU is the user and system time this process has used.
func CPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// RSS reads the resident set size of a process ("self" or a pid) from /proc.
func RSS(pid string) (uint64, error) {
	f, err := os.Open("/proc/" + pid + "/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmRSS:")); ok {
			fields := bytes.Fields(rest) // "123456 kB"
			if len(fields) == 2 && string(fields[1]) == "kB" {
				kb, err := strconv.ParseUint(string(fields[0]), 10, 64)
				return kb << 10, err
			}
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%s/status", pid)
}

// ProcCPU reads the user and system time a process ("self" or a pid) has used, all
// its threads together, from /proc.
func ProcCPU(pid string) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; the fields after it may not.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%s/stat: no command name", pid)
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%s/stat: %d fields", pid, len(f))
	}
	utime, err1 := strconv.ParseUint(string(f[11]), 10, 64) // field 14
	stime, err2 := strconv.ParseUint(string(f[12]), 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%s/stat: bad utime or stime", pid)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// clockTicks is USER_HZ, the unit of /proc's CPU times: 100 on every Linux
// architecture Go supports.
const clockTicks = 100

// MachineCPU is the machine's CPU time from /proc/stat, in USER_HZ ticks summed over
// every core: all of it, and the idle part (idle and iowait).
type MachineCPU struct{ Total, Idle uint64 }

// ReadMachineCPU reads /proc/stat.
func ReadMachineCPU() (MachineCPU, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return MachineCPU{}, err
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 6 || string(f[0]) != "cpu" {
		return MachineCPU{}, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	var m MachineCPU
	for i, v := range f[1:min(len(f), 9)] { // user nice system idle iowait irq softirq steal
		n, err := strconv.ParseUint(string(v), 10, 64)
		if err != nil {
			return MachineCPU{}, fmt.Errorf("/proc/stat: %w", err)
		}
		m.Total += n
		if i == 3 || i == 4 {
			m.Idle += n
		}
	}
	return m, nil
}

// BusyCores is how many cores were busy, on average, between two readings.
func BusyCores(a, b MachineCPU, cores int) float64 {
	total := float64(b.Total - a.Total)
	if total <= 0 {
		return 0
	}
	return float64(cores) * (1 - float64(b.Idle-a.Idle)/total)
}
