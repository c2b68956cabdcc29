package main

// Activity: what runs in the sandbox for someone right now, by kind. The API asks before its idle sweep pauses
// the sandbox, and never pauses one with anything running (a paused command would time out and be re-run).
//
//	GET /activity -> {"commands": n, "terminals": n}
//
// A feature that keeps something running for a person (a command, a terminal) holds a count while it runs:
// `done := busy("terminals")`, then `done()` when it ends.

import (
	"encoding/json"
	"net/http"
	"sync"
)

var activity = struct {
	sync.Mutex
	counts map[string]int
}{counts: map[string]int{"commands": 0, "terminals": 0}}

// busy counts one running thing of a kind until the returned function is called.
func busy(kind string) (done func()) {
	activity.Lock()
	activity.counts[kind]++
	activity.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			activity.Lock()
			activity.counts[kind]--
			activity.Unlock()
		})
	}
}

// liveTerminals counts the terminals' live shells (terminals.go sets it; they keep their own registry).
var liveTerminals func() int

func serveActivity(w http.ResponseWriter, r *http.Request) {
	activity.Lock()
	counts := make(map[string]int, len(activity.counts))
	for kind, n := range activity.counts {
		counts[kind] = n
	}
	activity.Unlock()
	if liveTerminals != nil {
		counts["terminals"] += liveTerminals()
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(counts)
}
