package main

// Activity: what runs in the sandbox for someone right now, by kind. The API asks before its idle sweep pauses
// the sandbox, and never pauses one with anything running (a paused command would time out and be re-run).
//
//	GET /activity?terminalIdleMs=n -> {"commands": n, "terminals": n}
//
// A terminal counts while a client is attached, or was within terminalIdleMs, or while it prints (a build left
// running in it); without terminalIdleMs every live shell counts.
//
// A feature that keeps something running for a person (a command, a terminal) holds a count while it runs:
// `done := busy("terminals")`, then `done()` when it ends.

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"
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

// terminalsInUse counts the terminals in use (terminals.go sets it; they keep their own registry).
var terminalsInUse func(idle time.Duration) int

// maxTerminalIdle bounds terminalIdleMs (a week).
const maxTerminalIdle = 7 * 24 * time.Hour

func serveActivity(w http.ResponseWriter, r *http.Request) {
	var idle time.Duration
	if raw := r.URL.Query().Get("terminalIdleMs"); raw != "" {
		ms, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || ms < 0 || time.Duration(ms)*time.Millisecond > maxTerminalIdle {
			http.Error(w, "terminalIdleMs is a number of milliseconds, at most a week", http.StatusBadRequest)
			return
		}
		idle = time.Duration(ms) * time.Millisecond
	}
	activity.Lock()
	counts := make(map[string]int, len(activity.counts))
	for kind, n := range activity.counts {
		counts[kind] = n
	}
	activity.Unlock()
	if terminalsInUse != nil {
		counts["terminals"] += terminalsInUse(idle)
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(counts)
}
