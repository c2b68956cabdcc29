// Managed processes: commands that outlive the request that started them (a dev server, a watcher, a command
// still running at its timeout). Each runs `sh -c <command>` in its own process group, stdout and stderr on one
// pipe (so they interleave as written) into a outputRing buffer of the last processOutputBytes, addressed by byte offsets
// since the start. They live as long as this agent: the API may die and come back, the ids stay valid.
//
//	POST /processes                         {command, cwd, env}        -> info (409 when maxRunningProcesses already run)
//	GET  /processes                                                    -> {processes: [info], listening: [port]}
//	GET  /processes/{id}                                               -> info
//	GET  /processes/{id}/output?after=&limit=                          -> {output, from, next, truncatedBefore}
//	POST /processes/{id}/wait?timeoutMs=                               -> info, once exited or at the timeout
//	POST /processes/{id}/stop                                          -> info, after TERM to the group (KILL 2 s later)
//
// info is {id, command, cwd, status: running|exited, exitCode, startedAt, exitedAt, ports}; ports are the TCP
// ports on which any process of the group listens. Errors are {"error": {"code", "message"}} with a 4xx status.
package main

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"
)

const (
	maxRunningProcesses  = 32
	maxExitedProcesses   = 64 // exited processes kept for their output, oldest forgotten first
	processOutputBytes   = 1 << 20
	maxProcessOutputRead = 1 << 20
	maxProcessWait       = 5 * time.Minute
	processStopPoll      = 50 * time.Millisecond
)

type processRequest struct {
	Command string   `json:"command"`
	Cwd     string   `json:"cwd"`
	Env     []string `json:"env"`
}

type processInfo struct {
	ID        string  `json:"id"`
	Command   string  `json:"command"`
	Cwd       string  `json:"cwd"`
	Status    string  `json:"status"`
	ExitCode  *int    `json:"exitCode"`
	StartedAt string  `json:"startedAt"`
	ExitedAt  *string `json:"exitedAt"`
	Ports     []int   `json:"ports"`
}

type processOutput struct {
	Output          string `json:"output"`
	From            int64  `json:"from"`
	Next            int64  `json:"next"`
	TruncatedBefore bool   `json:"truncatedBefore"`
}

// outputRing keeps the last `size` bytes written; byte o (counted since the first write) sits at buf[o % size].
type outputRing struct {
	buf   []byte
	size  int
	total int64
}

func (r *outputRing) write(p []byte) {
	for len(p) > 0 {
		var n int
		if len(r.buf) < r.size { // still growing: the next byte's offset is len(buf)
			n = r.size - len(r.buf)
			if n > len(p) {
				n = len(p)
			}
			r.buf = append(r.buf, p[:n]...)
		} else {
			n = copy(r.buf[int(r.total%int64(r.size)):], p)
		}
		r.total += int64(n)
		p = p[n:]
	}
}

func (r *outputRing) start() int64 { return r.total - int64(len(r.buf)) }

// slice copies the bytes at offsets [from, to), which must lie in [start, total].
func (r *outputRing) slice(from, to int64) []byte {
	out := make([]byte, 0, to-from)
	for from < to {
		i := int(from % int64(r.size))
		end := len(r.buf)
		if rest := to - from; int64(end-i) > rest {
			end = i + int(rest)
		}
		out = append(out, r.buf[i:end]...)
		from += int64(end - i)
	}
	return out
}

type managedProcess struct {
	id, command, cwd string
	startedAt        time.Time
	pgid             int
	done             chan struct{} // closed once the leader exited and exitCode is set
	output           *os.File      // the pipe's read end

	mu       sync.Mutex // guards what follows
	out      outputRing
	exitCode *int
	exitedAt time.Time
}

func (p *managedProcess) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

type processTable struct {
	mu     sync.Mutex
	byID   map[string]*managedProcess
	exited []string // ids in the order their processes exited
}

var procTable = &processTable{byID: map[string]*managedProcess{}}

// RunningProcessCount is the number of managed processes still running (for the idle sweep's activity report).
func RunningProcessCount() int {
	procTable.mu.Lock()
	defer procTable.mu.Unlock()
	return procTable.runningLocked()
}

func (t *processTable) runningLocked() int {
	n := 0
	for _, p := range t.byID {
		if !p.exited() {
			n++
		}
	}
	return n
}

func (t *processTable) get(id string) *managedProcess {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.byID[id]
}

func newProcessID() string {
	b := make([]byte, 9)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return "proc-" + hex.EncodeToString(b)
}

type procError struct {
	status int
	code   string
	msg    string
}

func (e *procError) Error() string { return e.msg }

func (t *processTable) start(req processRequest) (*managedProcess, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.runningLocked() >= maxRunningProcesses {
		return nil, &procError{http.StatusConflict, "TOO_MANY_PROCESSES", "at most " + strconv.Itoa(maxRunningProcesses) + " processes may run at once; stop one first"}
	}
	cmd := userCommand(&syscall.SysProcAttr{Setpgid: true}, "sh", "-c", req.Command)
	cmd.Dir = req.Cwd
	cmd.Env = append(os.Environ(), req.Env...)
	r, w, err := os.Pipe()
	if err != nil {
		return nil, &procError{http.StatusServiceUnavailable, "CANNOT_START", "cannot create a pipe: " + err.Error()}
	}
	cmd.Stdout, cmd.Stderr = w, w // one pipe: stdout and stderr interleave as written
	err = cmd.Start()
	w.Close()
	if err != nil {
		r.Close()
		return nil, &procError{http.StatusUnprocessableEntity, "CANNOT_START", "cannot start the command: " + err.Error()}
	}
	p := &managedProcess{
		id: newProcessID(), command: req.Command, cwd: req.Cwd, startedAt: time.Now().UTC(),
		pgid: cmd.Process.Pid, done: make(chan struct{}), output: r, out: outputRing{size: processOutputBytes},
	}
	t.byID[p.id] = p
	go p.collect()
	go t.reap(p, cmd)
	return p, nil
}

// collect copies the pipe into the outputRing until every writer closed it (or the process is forgotten).
func (p *managedProcess) collect() {
	chunk := make([]byte, 32<<10)
	for {
		n, err := p.output.Read(chunk)
		if n > 0 {
			p.mu.Lock()
			p.out.write(chunk[:n])
			p.mu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

// reap waits for the group's leader, records its exit, and forgets the oldest exited processes past maxExitedProcesses.
func (t *processTable) reap(p *managedProcess, cmd *exec.Cmd) {
	cmd.Wait()
	code := -1 // unknown: the leader was reaped by someone else (never expected)
	if cmd.ProcessState != nil {
		status := cmd.ProcessState.Sys().(syscall.WaitStatus)
		code = status.ExitStatus()
		if status.Signaled() {
			code = 128 + int(status.Signal())
		}
	}
	p.mu.Lock()
	p.exitCode = &code
	p.exitedAt = time.Now().UTC()
	p.mu.Unlock()
	close(p.done)

	t.mu.Lock()
	t.exited = append(t.exited, p.id)
	var forget []*managedProcess
	for len(t.exited) > maxExitedProcesses {
		if old := t.byID[t.exited[0]]; old != nil {
			forget = append(forget, old)
			delete(t.byID, old.id)
		}
		t.exited = t.exited[1:]
	}
	t.mu.Unlock()
	for _, old := range forget {
		old.output.Close() // ends its collector, should a straggler still hold the pipe open
	}
}

func (p *managedProcess) info(ports map[int][]int) processInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	info := processInfo{
		ID: p.id, Command: p.command, Cwd: p.cwd, Status: "running",
		StartedAt: p.startedAt.Format(time.RFC3339Nano), Ports: []int{},
	}
	if p.exitCode != nil {
		code := *p.exitCode
		at := p.exitedAt.Format(time.RFC3339Nano)
		info.Status, info.ExitCode, info.ExitedAt = "exited", &code, &at
	} else if found := ports[p.pgid]; found != nil {
		info.Ports = found
	}
	return info
}

// readOutput returns the kept output from `after` on, at most `limit` bytes, cut at UTF-8 character boundaries.
func (p *managedProcess) readOutput(after int64, limit int) processOutput {
	p.mu.Lock()
	defer p.mu.Unlock()
	start, total := p.out.start(), p.out.total
	res := processOutput{}
	from := after
	if from < start {
		from, res.TruncatedBefore = start, true
	}
	if from > total {
		from = total
	}
	to := from + int64(limit)
	if to > total {
		to = total
	}
	data := p.out.slice(from, to)
	{ // the first bytes may be the tail of a character whose start was dropped (or asked for past)
		skip := 0
		for skip < len(data) && skip < utf8.UTFMax-1 && !utf8.RuneStart(data[skip]) {
			skip++
		}
		data, from = data[skip:], from+int64(skip)
	}
	if cut := incompleteTail(data); cut > 0 && cut < len(data) { // leave a character cut in two for the next read
		data = data[:len(data)-cut]
	}
	res.Output, res.From, res.Next = string(data), from, from+int64(len(data))
	return res
}

// incompleteTail is the length of a UTF-8 character started but not finished at the end of b (0 if none).
func incompleteTail(b []byte) int {
	for i := 1; i <= utf8.UTFMax && i <= len(b); i++ {
		c := b[len(b)-i]
		if !utf8.RuneStart(c) {
			continue
		}
		if !utf8.FullRune(b[len(b)-i:]) {
			return i
		}
		return 0
	}
	return 0
}

// stop sends TERM to the group, KILL after killGrace to whatever of it is left, and waits for the leader's exit.
func (p *managedProcess) stop() {
	if !p.exited() || len(processGroups()[p.pgid]) > 0 {
		syscall.Kill(-p.pgid, syscall.SIGTERM)
		deadline := time.Now().Add(killGrace)
		for time.Now().Before(deadline) && (!p.exited() || len(processGroups()[p.pgid]) > 0) {
			time.Sleep(processStopPoll)
		}
		if !p.exited() || len(processGroups()[p.pgid]) > 0 {
			syscall.Kill(-p.pgid, syscall.SIGKILL)
		}
	}
	select {
	case <-p.done:
	case <-time.After(killGrace):
	}
}

// processGroups maps each process group to its live (not zombie) processes' pids, from /proc/[pid]/stat.
func processGroups() map[int][]int {
	groups := map[int][]int{}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return groups
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so split after the last ')'.
		i := strings.LastIndexByte(string(stat), ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(string(stat[i+1:]))
		if len(fields) < 3 || fields[0] == "Z" {
			continue
		}
		if pgid, err := strconv.Atoi(fields[2]); err == nil {
			groups[pgid] = append(groups[pgid], pid)
		}
	}
	return groups
}

// listeningInodes maps the socket inode of every TCP socket in LISTEN to its port (IPv4 and IPv6).
func listeningInodes() map[string]int {
	inodes := map[string]int{}
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(file)
		if err != nil {
			continue
		}
		scanner := bufio.NewScanner(f)
		scanner.Scan() // the header
		for scanner.Scan() {
			// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
			fields := strings.Fields(scanner.Text())
			if len(fields) < 10 || fields[3] != "0A" {
				continue
			}
			colon := strings.LastIndexByte(fields[1], ':')
			port, err := strconv.ParseUint(fields[1][colon+1:], 16, 16)
			if colon < 0 || err != nil || fields[9] == "0" {
				continue
			}
			inodes[fields[9]] = int(port)
		}
		f.Close()
	}
	return inodes
}

// portsByGroup maps each of the given process groups to the sorted TCP ports its processes listen on.
func portsByGroup(pgids map[int]bool) map[int][]int {
	result := map[int][]int{}
	if len(pgids) == 0 {
		return result
	}
	inodes := listeningInodes()
	if len(inodes) == 0 {
		return result
	}
	// The sandbox user's /proc/<pid>/fd are read as that user (the agent, root without CAP_SYS_PTRACE, may not).
	asSandboxUser(func() {
		for pgid, pids := range processGroups() {
			if !pgids[pgid] {
				continue
			}
			seen := map[int]bool{}
			for _, pid := range pids {
				dir := "/proc/" + strconv.Itoa(pid) + "/fd"
				fds, err := os.ReadDir(dir)
				if err != nil {
					continue
				}
				for _, fd := range fds {
					link, err := os.Readlink(dir + "/" + fd.Name())
					if err != nil || !strings.HasPrefix(link, "socket:[") {
						continue
					}
					if port, ok := inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")]; ok && !seen[port] {
						seen[port] = true
						result[pgid] = append(result[pgid], port)
					}
				}
			}
			sort.Ints(result[pgid])
		}
	})
	return result
}

// infos describes the processes, finding the running ones' ports in one scan of /proc.
func processInfos(list []*managedProcess) []processInfo {
	running := map[int]bool{}
	for _, p := range list {
		if !p.exited() {
			running[p.pgid] = true
		}
	}
	ports := portsByGroup(running)
	out := make([]processInfo, 0, len(list))
	for _, p := range list {
		out = append(out, p.info(ports))
	}
	return out
}

func describeProcess(p *managedProcess) processInfo { return processInfos([]*managedProcess{p})[0] }

func writeProcJSON(w http.ResponseWriter, status int, v interface{}) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeProcError(w http.ResponseWriter, err *procError) {
	writeProcJSON(w, err.status, map[string]interface{}{"error": map[string]string{"code": err.code, "message": err.msg}})
}

func procBadRequest(msg string) *procError {
	return &procError{http.StatusBadRequest, "BAD_REQUEST", msg}
}

// procQueryInt reads an optional non-negative integer query parameter.
func procQueryInt(r *http.Request, name string, fallback int64) (int64, *procError) {
	raw := r.URL.Query().Get(name)
	if raw == "" {
		return fallback, nil
	}
	v, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || v < 0 {
		return 0, procBadRequest(name + " must be a non-negative integer")
	}
	return v, nil
}

func handleProcessStart(w http.ResponseWriter, r *http.Request) {
	var req processRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes)).Decode(&req); err != nil {
		writeProcError(w, procBadRequest("bad request: "+err.Error()))
		return
	}
	if req.Command == "" || strings.IndexByte(req.Command, 0) >= 0 || !strings.HasPrefix(req.Cwd, "/") {
		writeProcError(w, procBadRequest("a command (no NUL byte) and an absolute cwd are required"))
		return
	}
	p, err := procTable.start(req)
	if err != nil {
		var procErr *procError
		if errors.As(err, &procErr) {
			writeProcError(w, procErr)
		} else {
			writeProcError(w, &procError{http.StatusInternalServerError, "INTERNAL", err.Error()})
		}
		return
	}
	writeProcJSON(w, http.StatusOK, describeProcess(p))
}

func handleProcessList(w http.ResponseWriter, r *http.Request) {
	procTable.mu.Lock()
	list := make([]*managedProcess, 0, len(procTable.byID))
	for _, p := range procTable.byID {
		list = append(list, p)
	}
	procTable.mu.Unlock()
	sort.Slice(list, func(i, j int) bool { return list[i].startedAt.Before(list[j].startedAt) })
	// Every TCP port listened on in the sandbox, whoever listens (a terminal's server too): the preview's choice.
	listening := []int{}
	seen := map[int]bool{}
	for _, port := range listeningInodes() {
		if !seen[port] {
			seen[port] = true
			listening = append(listening, port)
		}
	}
	sort.Ints(listening)
	writeProcJSON(w, http.StatusOK, map[string]interface{}{"processes": processInfos(list), "listening": listening})
}

// handleProcess serves /processes/{id} and /processes/{id}/{output,wait,stop}.
func handleProcess(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/processes/"), "/")
	if len(parts) > 2 {
		writeProcError(w, &procError{http.StatusNotFound, "NOT_FOUND", "no such route"})
		return
	}
	p := procTable.get(parts[0])
	if p == nil {
		writeProcError(w, &procError{http.StatusNotFound, "PROCESS_NOT_FOUND", "no process " + parts[0]})
		return
	}
	action := ""
	if len(parts) == 2 {
		action = parts[1]
	}
	wantMethod := http.MethodPost
	if action == "" || action == "output" {
		wantMethod = http.MethodGet
	}
	if r.Method != wantMethod {
		writeProcError(w, &procError{http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "use " + wantMethod})
		return
	}
	switch action {
	case "":
		writeProcJSON(w, http.StatusOK, describeProcess(p))
	case "output":
		after, err := procQueryInt(r, "after", 0)
		if err != nil {
			writeProcError(w, err)
			return
		}
		limit, err := procQueryInt(r, "limit", maxProcessOutputRead)
		if err != nil {
			writeProcError(w, err)
			return
		}
		if limit > maxProcessOutputRead {
			limit = maxProcessOutputRead
		}
		writeProcJSON(w, http.StatusOK, p.readOutput(after, int(limit)))
	case "wait":
		ms, err := procQueryInt(r, "timeoutMs", 0)
		if err != nil {
			writeProcError(w, err)
			return
		}
		timeout := time.Duration(ms) * time.Millisecond
		if timeout > maxProcessWait {
			timeout = maxProcessWait
		}
		timer := time.NewTimer(timeout)
		select {
		case <-p.done:
		case <-timer.C:
		case <-r.Context().Done():
		}
		timer.Stop()
		writeProcJSON(w, http.StatusOK, describeProcess(p))
	case "stop":
		io.Copy(io.Discard, io.LimitReader(r.Body, 1<<10))
		p.stop()
		writeProcJSON(w, http.StatusOK, describeProcess(p))
	default:
		writeProcError(w, &procError{http.StatusNotFound, "NOT_FOUND", "no such route"})
	}
}

// registerProcessRoutes adds the managed-process endpoints to the agent's mux, behind its bearer check.
func registerProcessRoutes(mux *http.ServeMux, authed func(http.HandlerFunc) http.HandlerFunc) {
	mux.HandleFunc("/processes", authed(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost:
			handleProcessStart(w, r)
		case http.MethodGet:
			handleProcessList(w, r)
		default:
			writeProcError(w, &procError{http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "use GET or POST"})
		}
	}))
	mux.HandleFunc("/processes/", authed(handleProcess))
}
