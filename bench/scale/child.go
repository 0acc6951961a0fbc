package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// child is a process the bench started inside a namespace. `ip netns
// exec` replaces itself with the command, so the pid is the command's own
// and its /proc files are the command's.
type child struct {
	cmd     *exec.Cmd
	done    chan struct{}
	err     error
	logPath string
}

// startIn starts argv in namespace ns with env added to the environment,
// stdout to out (may be nil) and stderr to the file logPath. The child is
// killed if the bench dies (Pdeathsig), so it never outlives it.
func startIn(ns string, env []string, out io.Writer, logPath string, argv ...string) (*child, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child has its own descriptor
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, argv...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = out
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", argv[0], err)
	}
	c := &child{cmd: cmd, done: make(chan struct{}), logPath: logPath}
	go func() { c.err = cmd.Wait(); close(c.done) }()
	return c, nil
}

// pid is the child's process id.
func (c *child) pid() int { return c.cmd.Process.Pid }

// exited reports whether the child has ended.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// wait waits up to d for the child to end by itself.
func (c *child) wait(d time.Duration) error {
	select {
	case <-c.done:
		return c.err
	case <-time.After(d):
		return fmt.Errorf("%s still running after %s", c.cmd.Args[3], d)
	}
}

// stop ends the child: SIGTERM, then SIGKILL after 10 s. It is safe to
// call more than once and after the child ended.
func (c *child) stop() {
	if c.exited() {
		return
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
	}
}

// logTail returns the last lines of the child's stderr, for errors.
func (c *child) logTail() string {
	b, err := os.ReadFile(c.logPath)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	return strings.Join(lines, "\n")
}
