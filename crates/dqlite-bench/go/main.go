// Command go-dqlite-bench is the go-dqlite client of dqlite-bench: it runs one workload
// through go-dqlite's database/sql driver, the way Go programs use it, and prints one
// JSON line in the same format as the Rust and Python workers.
//
// Usage: go-dqlite-bench WORKLOAD ADDRESS SIZE
//
// It is built by dqlite-bench with GO111MODULE=off against Debian's
// golang-github-canonical-go-dqlite-dev sources (GOPATH=/usr/share/gocode), offline.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/canonical/go-dqlite/client"
	"github.com/canonical/go-dqlite/driver"
)

// Database every workload uses.
const database = "bench"

// result is the JSON object a worker prints.
type result map[string]interface{}

func main() {
	if len(os.Args) != 4 {
		fail(fmt.Errorf("usage: go-dqlite-bench WORKLOAD ADDRESS SIZE"))
	}
	workload, address := os.Args[1], os.Args[2]
	size, err := strconv.ParseInt(os.Args[3], 10, 64)
	if err != nil {
		fail(fmt.Errorf("SIZE: %w", err))
	}
	out, err := run(workload, address, size)
	if err != nil {
		fail(err)
	}
	line, err := json.Marshal(out)
	if err != nil {
		fail(err)
	}
	fmt.Println(string(line))
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "go-dqlite-bench: %v\n", err)
	os.Exit(1)
}

// open returns a database/sql handle on go-dqlite's driver whose node store holds
// `address` (comma-separated addresses are all stored).
func open(address string) (*sql.DB, error) {
	store := client.NewInmemNodeStore()
	var nodes []client.NodeInfo
	for _, a := range strings.Split(address, ",") {
		nodes = append(nodes, client.NodeInfo{Address: a})
	}
	if err := store.Set(context.Background(), nodes); err != nil {
		return nil, err
	}
	drv, err := driver.New(store, driver.WithConnectionTimeout(60*time.Second))
	if err != nil {
		return nil, err
	}
	connector, err := drv.OpenConnector(database)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(connector), nil
}

// latency summarises round-trip samples like the other workers (median, p99).
func latency(samples []time.Duration) result {
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	at := func(perMille int) float64 {
		if len(samples) == 0 {
			return 0
		}
		return float64(samples[(len(samples)-1)*perMille/1000].Nanoseconds()) / 1e3
	}
	return result{"median_us": at(500), "p99_us": at(990), "n": len(samples)}
}

// rate is `count` units over `elapsed`, with the process's peak RSS and CPU per unit.
func rate(count float64, elapsed time.Duration, cpuBefore cpuUsage) result {
	now := cpuTime()
	user := now.user - cpuBefore.user
	cpu := user + now.system - cpuBefore.system
	perOp := func(d time.Duration) float64 {
		if count > 0 {
			return float64(d.Nanoseconds()) / 1e3 / count
		}
		return 0
	}
	return result{
		"per_s":              count / elapsed.Seconds(),
		"n":                  count,
		"seconds":            elapsed.Seconds(),
		"peak_rss_kib":       statusKiB("VmHWM:"),
		"cpu_us_per_op":      perOp(cpu),
		"cpu_user_us_per_op": perOp(user),
	}
}

// cpuUsage is the process's CPU time so far: in user space (the client's own code) and
// in the kernel on its behalf.
type cpuUsage struct {
	user, system time.Duration
}

func cpuTime() cpuUsage {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		return cpuUsage{}
	}
	return cpuUsage{
		user:   time.Duration(usage.Utime.Nano()),
		system: time.Duration(usage.Stime.Nano()),
	}
}

// statusKiB reads one "Vm...:  N kB" line of /proc/self/status.
func statusKiB(field string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, field) {
			fields := strings.Fields(line)
			if len(fields) >= 2 {
				v, _ := strconv.ParseInt(fields[1], 10, 64)
				return v
			}
		}
	}
	return 0
}

// settledRSS is the resident set after a garbage collection returned what it could.
func settledRSS() int64 {
	runtime.GC()
	debug.FreeOSMemory()
	return statusKiB("VmRSS:")
}
