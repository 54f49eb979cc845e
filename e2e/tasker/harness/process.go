package harness

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// listeningPrefix starts the one stdout line a tasker process prints once
// its HTTP server listens.
const listeningPrefix = "LISTENING "

// process is one running tasker process.
type process struct {
	inst Instance
	cmd  *exec.Cmd
	log  *os.File

	listening chan string   // receives the URL once
	done      chan struct{} // closed when the process has exited and been reaped

	mu       sync.Mutex
	exitErr  error // from cmd.Wait; valid once done is closed
	stopping bool  // Stop sent SIGTERM: exit 0 expected
	killed   bool  // Stop had to SIGKILL it
}

func startProcess(bin string, inst Instance, args, env []string) (*process, error) {
	logf, err := os.OpenFile(inst.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stderr = logf // the child writes its logs straight into the file
	cmd.SysProcAttr = sysProcAttr()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		_ = logf.Close()
		return nil, err
	}
	fmt.Fprintf(logf, "# harness: %s %s\n", bin, strings.Join(args, " "))
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return nil, fmt.Errorf("start %s: %w", inst.ID, err)
	}
	inst.PID = cmd.Process.Pid
	p := &process{
		inst:      inst,
		cmd:       cmd,
		log:       logf,
		listening: make(chan string, 1),
		done:      make(chan struct{}),
	}
	go p.readStdout(stdout)
	return p, nil
}

// readStdout copies stdout into the log, picks out the LISTENING line, and
// reaps the process at EOF.
func (p *process) readStdout(r io.Reader) {
	sc := bufio.NewScanner(r)
	sent := false
	for sc.Scan() {
		line := sc.Text()
		if !sent && strings.HasPrefix(line, listeningPrefix) {
			p.listening <- strings.TrimSpace(strings.TrimPrefix(line, listeningPrefix))
			sent = true
		}
		fmt.Fprintf(p.log, "# stdout: %s\n", line)
	}
	_, _ = io.Copy(io.Discard, r)
	err := p.cmd.Wait()
	p.mu.Lock()
	p.exitErr = err
	p.mu.Unlock()
	fmt.Fprintf(p.log, "# harness: process exited: %v\n", exitText(err))
	_ = p.log.Close()
	close(p.done)
}

func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// status describes the process for log tails.
func (p *process) status() string {
	if !p.exited() {
		return "running"
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s := exitText(p.exitErr)
	if p.killed {
		s += ", killed after the stop deadline"
	}
	return s
}

// waitListening waits for the LISTENING line.
func (p *process) waitListening(ctx context.Context) (string, error) {
	select {
	case url := <-p.listening:
		return url, nil
	case <-p.done:
		// The line may have raced the exit.
		select {
		case url := <-p.listening:
			return url, nil
		default:
		}
		return "", fmt.Errorf("%s exited before listening: %s", p.inst.ID, p.status())
	case <-ctx.Done():
		return "", fmt.Errorf("%s did not print its LISTENING line: %w", p.inst.ID, ctx.Err())
	}
}

// stop sends SIGTERM and waits until deadline, then SIGKILLs the process
// group. It returns an error unless the process exited 0 on SIGTERM.
func (p *process) stop(deadline time.Time) error {
	p.mu.Lock()
	alreadyExited := p.exited() && !p.stopping
	p.stopping = true
	p.mu.Unlock()
	if alreadyExited {
		return fmt.Errorf("%s exited before Stop: %s", p.inst.ID, p.status())
	}
	if !p.exited() {
		_ = terminate(p.cmd.Process)
	}
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
		p.mu.Lock()
		p.killed = true
		p.mu.Unlock()
		_ = kill(p.cmd.Process)
		<-p.done
		return fmt.Errorf("%s did not stop within the deadline after SIGTERM and was killed", p.inst.ID)
	}
	p.mu.Lock()
	err := p.exitErr
	p.mu.Unlock()
	if err != nil {
		return fmt.Errorf("%s: %s after SIGTERM", p.inst.ID, exitText(err))
	}
	return nil
}

// tail returns the last n lines of the process log.
func (p *process) tail(n int) string {
	b, err := os.ReadFile(p.inst.LogPath)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)\n", p.inst.LogPath, err)
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if n > 0 && len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	var sb strings.Builder
	for _, l := range lines {
		sb.Write(l)
		sb.WriteByte('\n')
	}
	return sb.String()
}
