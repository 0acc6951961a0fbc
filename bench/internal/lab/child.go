package lab

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Child is a process the bench started inside a namespace. `ip netns
// exec` replaces itself with the command, so the pid is the command's own
// and its /proc files are the command's.
type Child struct {
	cmd     *exec.Cmd
	done    chan struct{}
	Err     error // what Wait returned, once done is closed
	logPath string
}

// StartIn starts argv in namespace ns with env added to the environment,
// stdout to out (may be nil) and stderr to the file logPath. The child is
// killed if the bench process dies (Pdeathsig), so it never outlives it.
func StartIn(ns string, env []string, out io.Writer, logPath string, argv ...string) (*Child, error) {
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
	c := &Child{cmd: cmd, done: make(chan struct{}), logPath: logPath}
	go func() { c.Err = cmd.Wait(); close(c.done) }()
	return c, nil
}

// PID is the child's process id.
func (c *Child) PID() int { return c.cmd.Process.Pid }

// Exited reports whether the child has ended.
func (c *Child) Exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// Wait waits up to d for the child to end by itself.
func (c *Child) Wait(d time.Duration) error {
	select {
	case <-c.done:
		return c.Err
	case <-time.After(d):
		return fmt.Errorf("%s still running after %s", c.cmd.Args[3], d)
	}
}

// Stop ends the child: SIGTERM, then SIGKILL after 10 s. It is safe to
// call more than once and after the child ended.
func (c *Child) Stop() {
	if c.Exited() {
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

// LogTail returns the last lines of the child's stderr, for errors.
func (c *Child) LogTail() string {
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

// Signal sends sig to the child.
func (c *Child) Signal(sig os.Signal) error { return c.cmd.Process.Signal(sig) }
