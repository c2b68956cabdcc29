package main

// Who the agent is, and who runs what it starts. The agent (and tini above it) runs as root in the container, with
// only the capabilities the sandbox spec grants (services/containers/sandbox-spec.ts: SETUID, SETGID, KILL); every
// command, managed process and terminal shell runs as the sandbox user, uid/gid 1000, no supplementary groups. The
// kernel clears a process's capabilities when it changes from uid 0 to another uid, and no-new-privileges keeps an
// exec from giving any back, so what user code runs holds none. Being another uid, user code cannot signal, trace
// or read the agent (/proc/<pid>/environ, /mem and /fd need the same uid or CAP_SYS_PTRACE).
//
// The token comes in a root-only file that the API puts in the agent's own volume before each start; the agent
// reads it once and deletes it, so it is in no environment and on no disk while the sandbox runs.

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
)

const (
	sandboxUID = 1000
	sandboxGID = 1000
	tokenFile  = "/run/vaporform/agent-token"
)

// privileged: the agent runs as root and so drops to the sandbox user for what it starts. Run as the sandbox
// user itself (the image's default user, outside Vaporform's spec), it starts everything as itself.
var privileged = os.Getuid() == 0

// takeToken reads the token the API left for this start and removes the file; "" when there is none.
func takeToken() string {
	data, err := os.ReadFile(tokenFile)
	if err != nil {
		return ""
	}
	os.Remove(tokenFile)
	return strings.TrimSpace(string(data))
}

// userProcAttr is attr with the sandbox user's credentials: the child changes its uid and gid (and drops every
// supplementary group) before it changes directory and executes the program.
func userProcAttr(attr *syscall.SysProcAttr) *syscall.SysProcAttr {
	if privileged {
		attr.Credential = &syscall.Credential{Uid: sandboxUID, Gid: sandboxGID, Groups: []uint32{}}
	}
	return attr
}

// asSandboxUser runs f on an OS thread of its own whose file-system identity (fsuid/fsgid, per thread) is the
// sandbox user's: files it opens or creates are checked and owned as that user's (a new pseudo-terminal's slave,
// a program looked up on the PATH), and it may read the sandbox user's /proc/<pid>/fd without CAP_SYS_PTRACE.
// The thread is never unlocked, so it ends with f and its identity serves nothing else.
func asSandboxUser(f func()) {
	if !privileged {
		f()
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		syscall.Setfsgid(sandboxGID)
		syscall.Setfsuid(sandboxUID)
		f()
	}()
	<-done
}

// userCommand is exec.Command run as the sandbox user with attr, the program looked up on the PATH as that user
// would (a directory of the home that only its owner may search is searched all the same).
func userCommand(attr *syscall.SysProcAttr, name string, args ...string) *exec.Cmd {
	var cmd *exec.Cmd
	asSandboxUser(func() { cmd = exec.Command(name, args...) })
	cmd.SysProcAttr = userProcAttr(attr)
	return cmd
}
