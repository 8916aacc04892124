// Package redistest starts real redis-server processes on loopback ports for
// statusbridge's tests: standalone servers with AOF on, and small clusters.
package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is one redis-server process started by a test.
type Server struct {
	// Addr is host:port on 127.0.0.1.
	Addr string
	// Port is the TCP port the server listens on.
	Port int
	// Dir is the server's working directory (AOF files, logs).
	Dir string

	args []string
	// sentinelConf, when set, makes the process a Sentinel with this config file.
	sentinelConf string
	mu           sync.Mutex
	cmd          *exec.Cmd
	done         chan struct{}
}

// URL returns the server's redis:// URL, database 0.
func (s *Server) URL() string { return fmt.Sprintf("redis://%s/0", s.Addr) }

// Start runs redis-server on a free loopback port in its own temporary
// directory, with appendonly yes and save "", plus args; it returns once the
// server answers PING and kills it when the test ends.
func Start(t testing.TB, args ...string) *Server {
	t.Helper()
	return start(t, false, args)
}

func start(t testing.TB, cluster bool, args []string) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redistest: redis-server is not on PATH (install the redis-server package): %v", err)
	}
	dir := t.TempDir()
	var lastErr error
	for try := 0; try < 5; try++ {
		port, err := freePort(cluster)
		if err != nil {
			t.Fatalf("redistest: no free port: %v", err)
		}
		s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Port: port, Dir: dir, args: args}
		if lastErr = s.launch(bin); lastErr == nil {
			t.Cleanup(s.Kill)
			return s
		}
	}
	t.Fatalf("redistest: redis-server did not start: %v", lastErr)
	return nil
}

// StartSentinel runs a Redis Sentinel that monitors master under name; its
// Addr is what a redis+sentinel:// URL names.
func StartSentinel(t testing.TB, master *Server, name string) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redistest: redis-server is not on PATH (install the redis-server package): %v", err)
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "sentinel.conf")
	body := fmt.Sprintf("sentinel monitor %s 127.0.0.1 %d 1\nsentinel down-after-milliseconds %s 5000\n", name, master.Port, name)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	var lastErr error
	for try := 0; try < 5; try++ {
		port, err := freePort(false)
		if err != nil {
			t.Fatalf("redistest: no free port: %v", err)
		}
		s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Port: port, Dir: dir, sentinelConf: conf}
		if lastErr = s.launch(bin); lastErr == nil {
			t.Cleanup(s.Kill)
			return s
		}
	}
	t.Fatalf("redistest: redis sentinel did not start: %v", lastErr)
	return nil
}

// freePort finds a loopback port that is free; for cluster nodes the cluster
// bus port (port+10000) must be free as well.
func freePort(cluster bool) (int, error) {
	for i := 0; i < 50; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		if !cluster {
			l.Close()
			return port, nil
		}
		if port+10000 > 65535 {
			l.Close()
			continue
		}
		bus, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port+10000)))
		l.Close()
		if err != nil {
			continue
		}
		bus.Close()
		return port, nil
	}
	return 0, errors.New("no port with a free cluster bus port")
}

func (s *Server) launch(bin string) error {
	argv := []string{
		"--port", strconv.Itoa(s.Port),
		"--bind", "127.0.0.1",
		"--dir", s.Dir,
		"--appendonly", "yes",
		"--save", "",
		"--logfile", "redis.log",
		"--daemonize", "no",
	}
	if s.sentinelConf != "" {
		argv = []string{s.sentinelConf, "--sentinel",
			"--port", strconv.Itoa(s.Port),
			"--bind", "127.0.0.1",
			"--dir", s.Dir,
			"--logfile", "redis.log",
			"--daemonize", "no",
		}
	}
	argv = append(argv, s.args...)
	cmd := exec.Command(bin, argv...)
	cmd.Dir = s.Dir
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		reply, err := s.Do("PING")
		if err == nil && reply == "PONG" {
			break
		}
		select {
		case <-done:
			return fmt.Errorf("redis-server on port %d exited: %s", s.Port, s.logTail())
		default:
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-done
			return fmt.Errorf("redis-server on port %d does not answer PING: %v; %s", s.Port, err, s.logTail())
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	return nil
}

func (s *Server) logTail() string {
	b, err := os.ReadFile(filepath.Join(s.Dir, "redis.log"))
	if err != nil {
		return "no log"
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return "log: " + strings.TrimSpace(string(b))
}

// Kill stops the server with SIGKILL and waits for it to exit.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Kill()
	<-done
}

// Restart starts the server again on the same port and directory, so data
// written to the AOF survives.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Kill()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redistest: redis-server is not on PATH: %v", err)
	}
	var lastErr error
	for try := 0; try < 20; try++ {
		if lastErr = s.launch(bin); lastErr == nil {
			return
		}
		time.Sleep(100 * time.Millisecond) // the port may still be held briefly
	}
	t.Fatalf("redistest: restart: %v", lastErr)
}

// Do sends one command to the server over a fresh connection and returns the
// reply as text: a simple string, an integer or a bulk string.
func (s *Server) Do(args ...string) (string, error) {
	conn, err := net.DialTimeout("tcp", s.Addr, time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(conn, b.String()); err != nil {
		return "", err
	}
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("empty reply")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", errors.New(line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil {
			return "", err
		}
		if n < 0 {
			return "", nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
	return "", fmt.Errorf("unsupported reply %q", line)
}

// StartCluster starts masters cluster-enabled servers, joins them into one
// Redis Cluster without replicas, and waits until every node reports
// cluster_state:ok.
func StartCluster(t testing.TB, masters int) []*Server {
	t.Helper()
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Fatalf("redistest: redis-cli is not on PATH (install the redis-tools package): %v", err)
	}
	nodes := make([]*Server, masters)
	argv := []string{"--cluster", "create"}
	for i := range nodes {
		nodes[i] = start(t, true, []string{
			"--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "5000",
			"--appendonly", "no",
		})
		argv = append(argv, nodes[i].Addr)
	}
	argv = append(argv, "--cluster-replicas", "0", "--cluster-yes")
	out, err := exec.Command(cli, argv...).CombinedOutput()
	if err != nil {
		t.Fatalf("redistest: redis-cli --cluster create: %v\n%s", err, out)
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, n := range nodes {
		for {
			info, err := n.Do("CLUSTER", "INFO")
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("redistest: cluster not ready on %s: %v %q", n.Addr, err, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nodes
}
