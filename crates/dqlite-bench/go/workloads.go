package main

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"
)

// The workloads' SQL and sizes: the same as in the Rust and Python workers.
const (
	w1SQL      = "SELECT 1"
	w2SQL      = "INSERT INTO w2 (v) VALUES (?)"
	w3SQL      = "INSERT INTO w3 VALUES (?, ?, ?, ?, ?)"
	w4SQL      = "SELECT i, f, t, b, n FROM w4"
	w5SQL      = "SELECT i, f, t FROM w4 WHERE id = ?"
	w8InSQL    = "INSERT INTO w8 (b) VALUES (?)"
	w8OutSQL   = "SELECT b FROM w8out WHERE size = ?"
	w5Readers  = 8
	w5Keys     = 1000
	w5PoolTask = 64
	w8InTotal  = 32 << 20 // each INSERT waits for a Raft commit
	w8OutTotal = 256 << 20
	w9SQL      = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?) " +
		"SELECT x, x * 0.5, printf('%020d', x), X'5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a', " +
		"CASE WHEN x % 2 = 0 THEN NULL ELSE x END FROM c"
)

// row is one W4 row as a Go program would scan it.
type row struct {
	i int64
	f float64
	t string
	b []byte
	n sql.NullInt64
}

func run(workload, address string, size int64) (result, error) {
	switch workload {
	case "w7connect":
		return coldConnects(address, size)
	case "w9idle":
		return idleConnections(address, size)
	}
	db, err := open(address)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if err := db.Ping(); err != nil {
		return nil, err
	}
	switch workload {
	case "w1":
		var one int64
		samples := make([]time.Duration, 0, size)
		for k := int64(0); k < size; k++ {
			t := time.Now()
			if err := db.QueryRow(w1SQL).Scan(&one); err != nil {
				return nil, err
			}
			samples = append(samples, time.Since(t))
		}
		return latency(samples), nil
	case "w2":
		cpu, t := cpuTime(), time.Now()
		for k := int64(0); k < size; k++ {
			if _, err := db.Exec(w2SQL, 1); err != nil {
				return nil, err
			}
		}
		return rate(float64(size), time.Since(t), cpu), nil
	case "w3":
		return insertsInTransaction(db, size)
	case "w4", "w4stream":
		return fetch(db, workload == "w4", w4SQL)
	case "w9":
		return fetch(db, false, w9SQL, size)
	case "w5":
		return pointQueries(db, w5Readers, w5Readers, time.Duration(size)*time.Second)
	case "w5pool":
		return pointQueries(db, w5PoolTask, w5Readers, time.Duration(size)*time.Second)
	case "w7checkout":
		return checkouts(db, size)
	case "w8in":
		return blobsIn(db, size)
	case "w8out":
		return blobsOut(db, size)
	}
	return nil, fmt.Errorf("go-dqlite does not run %s", workload)
}

// blobCount is how many blobs of `size` bytes W8 moves (in: 32 MiB in all, out: 256
// MiB), at least 4.
func blobCount(total, size int64) int64 {
	if n := total / size; n > 4 {
		return n
	}
	return 4
}

func insertsInTransaction(db *sql.DB, size int64) (result, error) {
	args := make([][]interface{}, 0, size)
	for i := int64(0); i < size; i++ {
		var n interface{}
		if i%2 != 0 {
			n = i
		}
		blob := make([]byte, 16)
		for k := range blob {
			blob[k] = 0x5a
		}
		args = append(args, []interface{}{i, float64(i) * 0.25, fmt.Sprintf("%020d", i), blob, n})
	}
	cpu, t := cpuTime(), time.Now()
	tx, err := db.Begin()
	if err != nil {
		return nil, err
	}
	stmt, err := tx.Prepare(w3SQL)
	if err != nil {
		return nil, err
	}
	for _, a := range args {
		if _, err := stmt.Exec(a...); err != nil {
			return nil, err
		}
	}
	if err := stmt.Close(); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	out := rate(float64(size), time.Since(t), cpu)
	_, err = db.Exec("DELETE FROM w3")
	return out, err
}

// fetch reads a whole result, keeping every row (`keep`) or streaming it.
func fetch(db *sql.DB, keep bool, query string, args ...interface{}) (result, error) {
	cpu, t := cpuTime(), time.Now()
	rows, err := db.Query(query, args...)
	if err != nil {
		return nil, err
	}
	var all []row
	count := 0
	var r row
	for rows.Next() {
		if err := rows.Scan(&r.i, &r.f, &r.t, &r.b, &r.n); err != nil {
			return nil, err
		}
		if keep {
			all = append(all, r)
			r = row{}
		}
		count++
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	out := rate(float64(count), time.Since(t), cpu)
	keepAlive(all)
	return out, nil
}

// keepAlive keeps the fetched rows alive until the clock stopped.
//
//go:noinline
func keepAlive(rows []row) int { return len(rows) }

// pointQueries runs `tasks` goroutines of point queries for `duration` over a pool of
// at most `conns` connections (database/sql's own pool).
func pointQueries(db *sql.DB, tasks, conns int, duration time.Duration) (result, error) {
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	deadline := time.Now().Add(duration)
	counts := make([]int64, tasks)
	errs := make([]error, tasks)
	var wg sync.WaitGroup
	cpu, t := cpuTime(), time.Now()
	for g := 0; g < tasks; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			key := int64(g)
			var i int64
			var f float64
			var s string
			for time.Now().Before(deadline) {
				key = key%w5Keys + 1
				if err := db.QueryRow(w5SQL, key).Scan(&i, &f, &s); err != nil {
					errs[g] = err
					return
				}
				counts[g]++
			}
		}(g)
	}
	wg.Wait()
	elapsed := time.Since(t)
	total := int64(0)
	for g := range counts {
		if errs[g] != nil {
			return nil, errs[g]
		}
		total += counts[g]
	}
	if elapsed < duration {
		elapsed = duration
	}
	return rate(float64(total), elapsed, cpu), nil
}

// coldConnects times `size` fresh clients, each from nothing to its first result.
func coldConnects(address string, size int64) (result, error) {
	samples := make([]time.Duration, 0, size)
	var one int64
	for k := int64(0); k < size; k++ {
		t := time.Now()
		db, err := open(address)
		if err != nil {
			return nil, err
		}
		if err := db.QueryRow(w1SQL).Scan(&one); err != nil {
			return nil, err
		}
		samples = append(samples, time.Since(t))
		if err := db.Close(); err != nil {
			return nil, err
		}
	}
	return latency(samples), nil
}

// checkouts times taking a connection from database/sql's pool and giving it back.
func checkouts(db *sql.DB, size int64) (result, error) {
	ctx := context.Background()
	samples := make([]time.Duration, 0, size)
	for k := int64(0); k < size; k++ {
		t := time.Now()
		conn, err := db.Conn(ctx)
		if err != nil {
			return nil, err
		}
		if err := conn.Close(); err != nil {
			return nil, err
		}
		samples = append(samples, time.Since(t))
	}
	return latency(samples), nil
}

func blobsIn(db *sql.DB, size int64) (result, error) {
	blob := make([]byte, size)
	for k := range blob {
		blob[k] = byte(k)
	}
	count := blobCount(w8InTotal, size)
	cpu, t := cpuTime(), time.Now()
	for k := int64(0); k < count; k++ {
		if _, err := db.Exec(w8InSQL, blob); err != nil {
			return nil, err
		}
	}
	out := rate(float64(count*size)/1e6, time.Since(t), cpu)
	_, err := db.Exec("DELETE FROM w8")
	return out, err
}

func blobsOut(db *sql.DB, size int64) (result, error) {
	count := blobCount(w8OutTotal, size)
	var blob []byte
	cpu, t := cpuTime(), time.Now()
	for k := int64(0); k < count; k++ {
		if err := db.QueryRow(w8OutSQL, size).Scan(&blob); err != nil {
			return nil, err
		}
		if int64(len(blob)) != size {
			return nil, fmt.Errorf("a blob of %d bytes came back as %d", size, len(blob))
		}
	}
	return rate(float64(count*size)/1e6, time.Since(t), cpu), nil
}

// idleConnections opens `size` connections, each used once and then held idle, and
// reports the client's resident memory per connection.
func idleConnections(address string, size int64) (result, error) {
	db, err := open(address)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	db.SetMaxIdleConns(int(size) + 1)
	ctx := context.Background()
	var one int64
	// One connection first, so that what every program loads once is not counted.
	first, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if err := first.QueryRowContext(ctx, w1SQL).Scan(&one); err != nil {
		return nil, err
	}
	before := settledRSS()
	held := make([]*sql.Conn, 0, size)
	for k := int64(0); k < size; k++ {
		conn, err := db.Conn(ctx)
		if err != nil {
			return nil, err
		}
		if err := conn.QueryRowContext(ctx, w1SQL).Scan(&one); err != nil {
			return nil, err
		}
		held = append(held, conn)
	}
	after := settledRSS()
	for _, conn := range append(held, first) {
		conn.Close()
	}
	return result{
		"kib_per_conn":   float64(after-before) / float64(size),
		"n":              size,
		"rss_before_kib": before,
		"rss_after_kib":  after,
	}, nil
}
