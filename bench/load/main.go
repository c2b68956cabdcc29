// Command load drives a generated service's create+get loop from inside its sandbox: each of -c workers, for -d,
// creates an instance (POST -create with -body, where every "{n}" becomes a number unique to the request) and reads
// it back (GET -get followed by the identifier the create returned under entity.<-id>). It prints one JSON line:
// requests per second and latency percentiles. Standard library only, built static on the host and copied in.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type result struct {
	Requests      int64   `json:"requests"`
	Errors        int64   `json:"errors"`
	Seconds       float64 `json:"seconds"`
	RequestsPerS  float64 `json:"requestsPerSecond"`
	CreateGetPerS float64 `json:"createGetPairsPerSecond"`
	P50Ms         float64 `json:"p50Ms"`
	P99Ms         float64 `json:"p99Ms"`
	FirstError    string  `json:"firstError,omitempty"`
}

func main() {
	base := flag.String("url", "http://127.0.0.1:3000", "the service")
	create := flag.String("create", "", "the create command's path")
	body := flag.String("body", "{}", "the create body; {n} is replaced by a unique number")
	get := flag.String("get", "", "the get-by-id path prefix")
	idField := flag.String("id", "id", "the identifier's field in the created entity")
	workers := flag.Int("c", 20, "connections")
	duration := flag.Duration("d", 10*time.Second, "how long")
	flag.Parse()

	transport := &http.Transport{MaxIdleConns: *workers, MaxIdleConnsPerHost: *workers}
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	var counter, requests, errors int64
	var firstError atomic.Value
	fail := func(err error) {
		atomic.AddInt64(&errors, 1)
		firstError.CompareAndSwap(nil, err.Error())
	}
	latencies := make([][]time.Duration, *workers)
	deadline := time.Now().Add(*duration)
	started := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for time.Now().Before(deadline) {
				n := atomic.AddInt64(&counter, 1)
				payload := strings.ReplaceAll(*body, "{n}", strconv.FormatInt(n, 10))
				t0 := time.Now()
				res, err := client.Post(*base+*create, "application/json", bytes.NewBufferString(payload))
				if err != nil {
					fail(err)
					continue
				}
				data, _ := io.ReadAll(res.Body)
				res.Body.Close()
				latencies[w] = append(latencies[w], time.Since(t0))
				atomic.AddInt64(&requests, 1)
				if res.StatusCode != 201 {
					fail(fmt.Errorf("create: %d %s", res.StatusCode, data))
					continue
				}
				var created struct {
					Entity map[string]any `json:"entity"`
				}
				if err := json.Unmarshal(data, &created); err != nil {
					fail(err)
					continue
				}
				t1 := time.Now()
				res, err = client.Get(fmt.Sprintf("%s%s%v", *base, *get, created.Entity[*idField]))
				if err != nil {
					fail(err)
					continue
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				latencies[w] = append(latencies[w], time.Since(t1))
				atomic.AddInt64(&requests, 1)
				if res.StatusCode != 200 {
					fail(fmt.Errorf("get: %d", res.StatusCode))
				}
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(started).Seconds()
	var all []time.Duration
	for _, l := range latencies {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[int(p*float64(len(all)-1))].Microseconds()) / 1000
	}
	out := result{Requests: requests, Errors: errors, Seconds: elapsed, RequestsPerS: float64(requests) / elapsed,
		CreateGetPerS: float64(requests) / 2 / elapsed, P50Ms: pct(0.5), P99Ms: pct(0.99)}
	if e, ok := firstError.Load().(string); ok {
		out.FirstError = e
	}
	json.NewEncoder(os.Stdout).Encode(out)
}
