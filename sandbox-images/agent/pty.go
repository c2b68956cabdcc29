package main

// A pseudo-terminal from /dev/ptmx with raw ioctls (standard library only, like the rest of the agent).

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

// ioctl on a file through its raw connection: f.Fd() would put the file in blocking mode, and a blocked Read
// could then no longer be interrupted by Close.
func ioctl(f *os.File, request uintptr, arg uintptr) error {
	raw, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var errno syscall.Errno
	if err := raw.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, request, arg)
	}); err != nil {
		return err
	}
	if errno != 0 {
		return errno
	}
	return nil
}

// openPty returns the master side and the slave (terminal) side of a new pseudo-terminal.
func openPty() (master *os.File, slave *os.File, err error) {
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	var unlock int32
	if err = ioctl(master, syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("unlockpt: %w", err)
	}
	var n uint32
	if err = ioctl(master, syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("ptsname: %w", err)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		master.Close()
		return nil, nil, err
	}
	return master, slave, nil
}

type winsize struct {
	Rows, Cols, X, Y uint16
}

// setSize sets the terminal's size; the kernel tells the foreground process group with SIGWINCH.
func setSize(f *os.File, cols, rows uint16) error {
	ws := winsize{Rows: rows, Cols: cols}
	return ioctl(f, syscall.TIOCSWINSZ, uintptr(unsafe.Pointer(&ws)))
}
