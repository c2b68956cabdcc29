package main

// Terminals: login shells on pseudo-terminals that outlive the API's connections. Each keeps the last
// scrollbackBytes of its output, so that whoever attaches (again, or from another API instance) first gets what
// the screen recently showed, then the live output, with nothing lost or doubled in between.
//
//	POST   /terminals             {cols, rows, cwd, env, max} -> 201 {id, pid}; 429 {code: TERMINAL_LIMIT} at `max` live
//	GET    /terminals             -> [{id, pid, cols, rows, startedAt, exited, exitCode, attached}]
//	GET    /terminals/{id}/attach (Connection: Upgrade, Upgrade: vaporform-terminal) -> 101, then frames both ways
//	DELETE /terminals/{id}        -> 204: the shell's whole session is hung up, then killed
//	GET    /activity              -> {terminals: <live terminals>}: what keeps the sandbox from being idle
//
// A frame is one type byte, a 4-byte big-endian length and the payload. Agent -> API: 'R' the scrollback (always
// the first frame), 'O' output, 'X' the exit (4-byte signed exit code; the connection closes after it).
// API -> agent: 'I' input, 'S' a resize (2-byte cols, 2-byte rows). Anything else ends the connection.

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	scrollbackBytes   = 64 << 10
	readChunkBytes    = 16 << 10
	maxInFrameBytes   = 64 << 10
	attachQueueFrames = 64
	// A peer that takes longer than this to accept one frame is dropped: the shell must not stall for ever.
	attachWriteTimeout = 30 * time.Second
	hardMaxTerminals   = 32
	maxAttachments     = 16 // per terminal
	// Exited terminals stay listed (their last screen can still be attached) this long, at most keepExited of them.
	exitedTTL   = 10 * time.Minute
	keepExited  = 8
	hangupGrace = 2 * time.Second
	maxCols     = 1000
	maxRows     = 500
)

type terminal struct {
	id      string
	cmd     *exec.Cmd
	master  *os.File
	started time.Time

	mu       sync.Mutex
	cols     uint16
	rows     uint16
	ring     []byte // the last scrollbackBytes of output
	attached map[*attachment]struct{}
	exited   bool
	exitCode int
	exitedAt time.Time
	// The last sign of use: created, output, or a client attached or gone. A shell nobody watches and that
	// prints nothing is idle (it no longer keeps the sandbox awake; see inUse).
	lastUse time.Time
}

type attachment struct {
	conn   net.Conn
	frames chan []byte
	gone   chan struct{}
	once   sync.Once
}

func (a *attachment) close() {
	a.once.Do(func() {
		close(a.gone)
		a.conn.Close()
	})
}

type terminals struct {
	mu   sync.Mutex
	byID map[string]*terminal
}

func newTerminals() *terminals {
	return &terminals{byID: map[string]*terminal{}}
}

func frame(kind byte, payload []byte) []byte {
	out := make([]byte, 5+len(payload))
	out[0] = kind
	binary.BigEndian.PutUint32(out[1:5], uint32(len(payload)))
	copy(out[5:], payload)
	return out
}

type createRequest struct {
	Cols uint16   `json:"cols"`
	Rows uint16   `json:"rows"`
	Cwd  string   `json:"cwd"`
	Env  []string `json:"env"`
	Max  int      `json:"max"`
}

type terminalInfo struct {
	ID        string `json:"id"`
	Pid       int    `json:"pid"`
	Cols      uint16 `json:"cols"`
	Rows      uint16 `json:"rows"`
	StartedAt int64  `json:"startedAt"`
	Exited    bool   `json:"exited"`
	ExitCode  int    `json:"exitCode"`
	Attached  int    `json:"attached"`
}

func writeJSON(w http.ResponseWriter, status int, value interface{}) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(value)
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]string{"code": code, "message": message})
}

func validSize(cols, rows uint16) bool {
	return cols >= 1 && cols <= maxCols && rows >= 1 && rows <= maxRows
}

// live counts the terminals whose shell still runs, and forgets exited ones past their time. Holds ts.mu.
func (ts *terminals) liveLocked() int {
	live := 0
	var exited []*terminal
	for _, t := range ts.byID {
		t.mu.Lock()
		if t.exited {
			exited = append(exited, t)
		} else {
			live++
		}
		t.mu.Unlock()
	}
	sort.Slice(exited, func(i, j int) bool { return exited[i].exitedAt.After(exited[j].exitedAt) })
	for i, t := range exited {
		if i >= keepExited || time.Since(t.exitedAt) > exitedTTL {
			delete(ts.byID, t.id)
		}
	}
	return live
}

func (ts *terminals) live() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.liveLocked()
}

// inUse counts the live shells someone uses: attached now, or attached or printing within `idle`. With idle 0,
// every live shell.
func (ts *terminals) inUse(idle time.Duration) int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if idle <= 0 {
		return ts.liveLocked()
	}
	n := 0
	for _, t := range ts.byID {
		t.mu.Lock()
		if !t.exited && (len(t.attached) > 0 || time.Since(t.lastUse) < idle) {
			n++
		}
		t.mu.Unlock()
	}
	return n
}

func (ts *terminals) create(w http.ResponseWriter, r *http.Request) {
	var req createRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "VALIDATION_FAILED", "bad request: "+err.Error())
		return
	}
	if !validSize(req.Cols, req.Rows) || req.Cwd == "" || req.Max < 1 {
		writeError(w, http.StatusBadRequest, "VALIDATION_FAILED", "cols, rows, cwd and max are required")
		return
	}
	limit := req.Max
	if limit > hardMaxTerminals {
		limit = hardMaxTerminals
	}
	ts.mu.Lock()
	defer ts.mu.Unlock() // held while starting, so two creations cannot both take the last place
	if ts.liveLocked() >= limit {
		writeError(w, http.StatusTooManyRequests, "TERMINAL_LIMIT", "at most "+strconv.Itoa(limit)+" terminals at once")
		return
	}
	t, err := startTerminal(req)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "TERMINAL_START_FAILED", err.Error())
		return
	}
	ts.byID[t.id] = t
	writeJSON(w, http.StatusCreated, map[string]interface{}{"id": t.id, "pid": t.cmd.Process.Pid})
}

func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func startTerminal(req createRequest) (*terminal, error) {
	// Opened as the sandbox user, so that the terminal (/dev/pts/N) is the shell's own, as a login gives it.
	var master, slave *os.File
	var err error
	asSandboxUser(func() { master, slave, err = openPty() })
	if err != nil {
		return nil, err
	}
	defer slave.Close()
	if err := setSize(master, req.Cols, req.Rows); err != nil {
		master.Close()
		return nil, err
	}
	// A login shell (argv[0] "-bash"), the image's environment with the caller's on top, as exec gives commands.
	cmd := &exec.Cmd{Path: "/bin/bash", Args: []string{"-bash"}, Dir: req.Cwd}
	cmd.Env = append(append(os.Environ(), "TERM=xterm-256color", "COLORTERM=truecolor"), req.Env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = userProcAttr(&syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0})
	if err := cmd.Start(); err != nil {
		master.Close()
		return nil, err
	}
	t := &terminal{id: newID(), cmd: cmd, master: master, started: time.Now(), lastUse: time.Now(), cols: req.Cols, rows: req.Rows, attached: map[*attachment]struct{}{}}
	readerDone := make(chan struct{})
	go t.read(readerDone)
	go t.wait(readerDone)
	return t, nil
}

// read copies the terminal's output into the scrollback and to every attachment, in order. An attachment whose
// queue is full holds the reader back (so a flood is paced by whoever watches), up to attachWriteTimeout.
func (t *terminal) read(done chan struct{}) {
	defer close(done)
	buf := make([]byte, readChunkBytes)
	for {
		n, err := t.master.Read(buf)
		if n > 0 {
			chunk := frame('O', buf[:n])
			t.mu.Lock()
			t.lastUse = time.Now()
			t.ring = append(t.ring, buf[:n]...)
			if over := len(t.ring) - scrollbackBytes; over > 0 {
				t.ring = append(t.ring[:0:0], t.ring[over:]...)
			}
			peers := make([]*attachment, 0, len(t.attached))
			for a := range t.attached {
				peers = append(peers, a)
			}
			t.mu.Unlock()
			for _, a := range peers {
				select {
				case a.frames <- chunk:
				case <-a.gone:
				}
			}
		}
		if err != nil {
			return // EIO once the shell and everything holding the terminal are gone, or the master closed
		}
	}
}

// wait reaps the shell, lets the last output through, then tells every attachment how it ended.
func (t *terminal) wait(readerDone chan struct{}) {
	t.cmd.Wait()
	select {
	case <-readerDone:
	case <-time.After(drainGrace):
		// Something in the background still holds the terminal: the session is hung up with its shell (as when a
		// terminal window closes; nohup'd programs stay).
		hangUp(t.cmd.Process.Pid, syscall.SIGHUP)
		t.master.Close()
		<-readerDone
	}
	t.master.Close()
	status := t.cmd.ProcessState.Sys().(syscall.WaitStatus)
	code := status.ExitStatus()
	if status.Signaled() {
		code = 128 + int(status.Signal())
	}
	payload := make([]byte, 4)
	binary.BigEndian.PutUint32(payload, uint32(int32(code)))
	exit := frame('X', payload)
	t.mu.Lock()
	t.exited, t.exitCode, t.exitedAt = true, code, time.Now()
	peers := t.attached
	t.attached = map[*attachment]struct{}{}
	t.mu.Unlock()
	for a := range peers {
		select {
		case a.frames <- exit:
		case <-a.gone:
		}
		close(a.frames) // the writer ends the connection after the exit frame
	}
}

// hangUp signals every process of the shell's session (job control gives each job a group of its own).
func hangUp(sid int, signal syscall.Signal) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	for _, entry := range entries {
		pid, err := strconv.Atoi(entry.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + entry.Name() + "/stat")
		if err != nil {
			continue
		}
		// Fields after the command (which may hold spaces and parentheses): state ppid pgrp session ...
		text := string(stat)
		fields := strings.Fields(text[strings.LastIndexByte(text, ')')+1:])
		if len(fields) > 3 && fields[3] == strconv.Itoa(sid) {
			syscall.Kill(pid, signal)
		}
	}
}

func (ts *terminals) get(id string) *terminal {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.byID[id]
}

func (ts *terminals) list(w http.ResponseWriter) {
	ts.mu.Lock()
	ts.liveLocked()
	out := make([]terminalInfo, 0, len(ts.byID))
	for _, t := range ts.byID {
		t.mu.Lock()
		out = append(out, terminalInfo{ID: t.id, Pid: t.cmd.Process.Pid, Cols: t.cols, Rows: t.rows, StartedAt: t.started.UnixMilli(),
			Exited: t.exited, ExitCode: t.exitCode, Attached: len(t.attached)})
		t.mu.Unlock()
	}
	ts.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].StartedAt < out[j].StartedAt })
	writeJSON(w, http.StatusOK, out)
}

func (ts *terminals) remove(w http.ResponseWriter, id string) {
	ts.mu.Lock()
	t := ts.byID[id]
	delete(ts.byID, id)
	ts.mu.Unlock()
	if t == nil {
		writeError(w, http.StatusNotFound, "TERMINAL_NOT_FOUND", "no such terminal")
		return
	}
	t.mu.Lock()
	exited := t.exited
	t.mu.Unlock()
	if !exited {
		hangUp(t.cmd.Process.Pid, syscall.SIGHUP)
		time.AfterFunc(hangupGrace, func() { hangUp(t.cmd.Process.Pid, syscall.SIGKILL) })
	}
	w.WriteHeader(http.StatusNoContent)
}

func (ts *terminals) attach(w http.ResponseWriter, r *http.Request, id string) {
	t := ts.get(id)
	if t == nil {
		writeError(w, http.StatusNotFound, "TERMINAL_NOT_FOUND", "no such terminal")
		return
	}
	t.mu.Lock()
	full := len(t.attached) >= maxAttachments
	t.mu.Unlock()
	if full {
		writeError(w, http.StatusTooManyRequests, "TERMINAL_BUSY", "too many connections to this terminal")
		return
	}
	if !strings.EqualFold(r.Header.Get("Upgrade"), "vaporform-terminal") {
		writeError(w, http.StatusBadRequest, "VALIDATION_FAILED", "attach needs Upgrade: vaporform-terminal")
		return
	}
	hijacker, ok := w.(http.Hijacker)
	if !ok {
		writeError(w, http.StatusInternalServerError, "INTERNAL", "cannot hijack")
		return
	}
	conn, rw, err := hijacker.Hijack()
	if err != nil {
		return
	}
	conn.SetDeadline(time.Time{})
	rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: vaporform-terminal\r\n\r\n")
	if rw.Flush() != nil {
		conn.Close()
		return
	}
	a := &attachment{conn: conn, frames: make(chan []byte, attachQueueFrames), gone: make(chan struct{})}
	t.mu.Lock()
	a.frames <- frame('R', append([]byte(nil), t.ring...))
	if t.exited {
		payload := make([]byte, 4)
		binary.BigEndian.PutUint32(payload, uint32(int32(t.exitCode)))
		a.frames <- frame('X', payload)
		close(a.frames)
	} else {
		t.attached[a] = struct{}{}
	}
	t.mu.Unlock()
	go a.write()
	t.serveInput(a, rw.Reader)
	t.mu.Lock()
	delete(t.attached, a)
	t.lastUse = time.Now()
	t.mu.Unlock()
	a.close()
}

func (a *attachment) write() {
	defer a.close()
	for {
		select {
		case f, ok := <-a.frames:
			if !ok {
				return
			}
			a.conn.SetWriteDeadline(time.Now().Add(attachWriteTimeout))
			if _, err := a.conn.Write(f); err != nil {
				return
			}
		case <-a.gone:
			return
		}
	}
}

// serveInput reads the API's frames until the connection ends or sends something it should not.
func (t *terminal) serveInput(a *attachment, r *bufio.Reader) {
	header := make([]byte, 5)
	for {
		if _, err := io.ReadFull(r, header); err != nil {
			return
		}
		size := binary.BigEndian.Uint32(header[1:5])
		if size > maxInFrameBytes {
			return
		}
		payload := make([]byte, size)
		if _, err := io.ReadFull(r, payload); err != nil {
			return
		}
		switch header[0] {
		case 'I':
			if _, err := t.master.Write(payload); err != nil && !errors.Is(err, os.ErrClosed) {
				return
			}
		case 'S':
			if size != 4 {
				return
			}
			cols, rows := binary.BigEndian.Uint16(payload[0:2]), binary.BigEndian.Uint16(payload[2:4])
			if !validSize(cols, rows) {
				return
			}
			t.mu.Lock()
			if !t.exited {
				t.cols, t.rows = cols, rows
				setSize(t.master, cols, rows)
			}
			t.mu.Unlock()
		default:
			return
		}
	}
}

// route serves /terminals and /terminals/{id}[/attach].
func (ts *terminals) route(w http.ResponseWriter, r *http.Request) {
	rest := strings.Trim(strings.TrimPrefix(r.URL.Path, "/terminals"), "/")
	parts := strings.Split(rest, "/")
	switch {
	case rest == "" && r.Method == http.MethodPost:
		ts.create(w, r)
	case rest == "" && r.Method == http.MethodGet:
		ts.list(w)
	case len(parts) == 1 && r.Method == http.MethodDelete:
		ts.remove(w, parts[0])
	case len(parts) == 2 && parts[1] == "attach" && r.Method == http.MethodGet:
		ts.attach(w, r, parts[0])
	default:
		writeError(w, http.StatusNotFound, "ROUTE_NOT_FOUND", "no such route")
	}
}
