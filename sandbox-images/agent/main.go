// vaporform-agent: the sandbox's main process (under tini). It runs commands for the API over HTTP, which is
// much faster than `docker exec` (no runc exec per command). Standard library only; built static.
//
// Listens on 0.0.0.0:7681. Every request needs `Authorization: Bearer <token>`; the token is read at start from a
// root-only file that the agent then deletes (identity.go), so no command can see it. Without a token every request
// is refused (the container still idles, as `sleep infinity` did). The agent runs as root with a few capabilities;
// what it runs, as the sandbox user (uid 1000) with none (identity.go).
//
//	GET  /health -> 200 "ok"
//	POST /exec   {argv, cwd, env, timeoutMs, stdin, outputLimit}
//	          -> {exitCode, stdout, stderr, stdoutTruncated, stderrTruncated, timedOut, durationMs}
//	/processes...: managed (background) processes, see processes.go
//	GET  /activity -> {commands, terminals}: what runs for someone now (activity.go)
//	/terminals...: interactive shells on pseudo-terminals (terminals.go)
package main

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	addr         = "0.0.0.0:7681"
	killGrace    = 2 * time.Second
	drainGrace   = 500 * time.Millisecond // how long output is still read after the command exits
	maxBodyBytes = 16 << 20
)

type execRequest struct {
	Argv        []string `json:"argv"`
	Cwd         string   `json:"cwd"`
	Env         []string `json:"env"`
	TimeoutMs   int64    `json:"timeoutMs"`
	Stdin       string   `json:"stdin"`
	OutputLimit int      `json:"outputLimit"`
}

type execResult struct {
	ExitCode        int    `json:"exitCode"`
	Stdout          string `json:"stdout"`
	Stderr          string `json:"stderr"`
	StdoutTruncated bool   `json:"stdoutTruncated"`
	StderrTruncated bool   `json:"stderrTruncated"`
	TimedOut        bool   `json:"timedOut"`
	DurationMs      int64  `json:"durationMs"`
}

// capped keeps the first `limit` bytes read from r and drops the rest, noting that there was more.
type capped struct {
	buf       []byte
	limit     int
	truncated bool
}

func (c *capped) drain(r io.Reader) {
	chunk := make([]byte, 32<<10)
	for {
		n, err := r.Read(chunk)
		if room := c.limit - len(c.buf); n > 0 {
			if n <= room {
				c.buf = append(c.buf, chunk[:n]...)
			} else {
				c.buf = append(c.buf, chunk[:max(room, 0)]...)
				c.truncated = true
			}
		}
		if err != nil {
			return
		}
	}
}

func max(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// run executes one command in its own process group and collects its capped output.
func run(req execRequest) execResult {
	started := time.Now()
	res := execResult{}
	cmd := userCommand(&syscall.SysProcAttr{Setpgid: true}, req.Argv[0], req.Argv[1:]...)
	cmd.Dir = req.Cwd
	cmd.Env = append(os.Environ(), req.Env...) // later entries win: the request's env overrides the image's
	if req.Stdin != "" {
		cmd.Stdin = strings.NewReader(req.Stdin)
	}
	// Our own pipes (not exec's copying goroutines), so that waiting for the process never waits for a
	// background grandchild that keeps the pipe open.
	outR, outW, err1 := os.Pipe()
	errR, errW, err2 := os.Pipe()
	if err1 != nil || err2 != nil {
		return execResult{ExitCode: 126, Stderr: "vaporform-agent: cannot create pipes\n"}
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	err := cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		code := 126
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			code = 127
		}
		return execResult{ExitCode: code, Stderr: "vaporform-agent: " + err.Error() + "\n", DurationMs: time.Since(started).Milliseconds()}
	}
	stdout, stderr := &capped{limit: req.OutputLimit}, &capped{limit: req.OutputLimit}
	var readers sync.WaitGroup
	readers.Add(2)
	go func() { defer readers.Done(); stdout.drain(outR) }()
	go func() { defer readers.Done(); stderr.drain(errR) }()

	// The timeout: TERM to the whole group, KILL two seconds later if anything lingers.
	pgid := cmd.Process.Pid
	var mu sync.Mutex
	killed := false
	timer := time.AfterFunc(time.Duration(req.TimeoutMs)*time.Millisecond, func() {
		mu.Lock()
		res.TimedOut = true
		mu.Unlock()
		syscall.Kill(-pgid, syscall.SIGTERM)
		time.AfterFunc(killGrace, func() {
			mu.Lock()
			killed = true
			mu.Unlock()
			syscall.Kill(-pgid, syscall.SIGKILL)
		})
	})
	cmd.Wait()
	timer.Stop()
	// What the command left behind in its group (`sleep 300 &`, a fork bomb's children) ends with it: a command
	// that should outlive its call is a managed process (processes.go).
	syscall.Kill(-pgid, syscall.SIGKILL)

	// Output written before the exit is in the pipe already: read it, but do not wait long for stragglers.
	deadline := time.Now().Add(drainGrace)
	outR.SetReadDeadline(deadline)
	errR.SetReadDeadline(deadline)
	readers.Wait()
	outR.Close()
	errR.Close()

	// Exit code as a shell reports it: 128+signal when killed by a signal; like coreutils' timeout on a timeout.
	status := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if status.Signaled() {
		res.ExitCode = 128 + int(status.Signal())
	} else {
		res.ExitCode = status.ExitStatus()
	}
	mu.Lock()
	if res.TimedOut {
		res.ExitCode = 124
		if killed {
			res.ExitCode = 137
		}
	}
	mu.Unlock()
	res.Stdout, res.StdoutTruncated = string(stdout.buf), stdout.truncated
	res.Stderr, res.StderrTruncated = string(stderr.buf), stderr.truncated
	res.DurationMs = time.Since(started).Milliseconds()
	return res
}

func main() {
	token := takeToken() // identity.go
	want := []byte("Bearer " + token)

	// authed wraps a handler with the bearer check (constant time); no token configured means no access.
	authed := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			got := []byte(r.Header.Get("Authorization"))
			if token == "" || subtle.ConstantTimeCompare(got, want) != 1 {
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			h(w, r)
		}
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/health", authed(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	mux.HandleFunc("/exec", authed(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		var req execRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes)).Decode(&req); err != nil {
			http.Error(w, "bad request: "+err.Error(), http.StatusBadRequest)
			return
		}
		if len(req.Argv) == 0 || req.Argv[0] == "" || req.TimeoutMs <= 0 || req.OutputLimit < 0 {
			http.Error(w, "bad request: argv, timeoutMs and outputLimit are required", http.StatusBadRequest)
			return
		}
		done := busy("commands")
		res := run(req)
		done() // before the answer: whoever got it finds the command no longer counted
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(res)
	}))
	registerProcessRoutes(mux, authed) // processes.go
	mux.HandleFunc("/activity", authed(serveActivity))

	terms := newTerminals()
	terminalsInUse = terms.inUse // counted by /activity
	mux.HandleFunc("/terminals", authed(terms.route))
	mux.HandleFunc("/terminals/", authed(terms.route))

	server := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 5 * time.Minute}
	log.Fatal(server.ListenAndServe())
}
