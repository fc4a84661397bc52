package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// MosquittoOptions tune a test broker. The zero value is a persistent broker
// with a queue deep enough for a day offline, as packaging/mosquitto/budare.conf.
type MosquittoOptions struct {
	// Extra lines appended to the generated mosquitto.conf.
	Extra []string
	// TLS adds a second listener, with TLS, on its own port (TLSURL).
	TLS *MosquittoTLS
	// PasswordFile turns anonymous access off and checks clients against
	// this mosquitto_passwd file (see WritePasswordFile).
	PasswordFile string
	// ConfigFile, when set, is a shipped mosquitto.conf to run instead of
	// the generated one (packaging/mosquitto/budare.conf), changed only
	// where a test must: its listener (127.0.0.1 and a free port), its
	// persistence directory, password file and ACL file (into the
	// broker's directory), and "user root".
	ConfigFile string
	// ACLFile is copied to the broker's acl_file.
	ACLFile string
	// Users are the password file's users and passwords
	// (mosquitto_passwd -b), for a config with allow_anonymous false.
	Users map[string]string
}

// MosquittoTLS is the TLS listener's configuration.
type MosquittoTLS struct {
	CertFile, KeyFile string // the broker's certificate and key (PEM)
	// CAFile verifies client certificates; with RequireCertificate a
	// client without a valid one is refused (mutual TLS).
	CAFile             string
	RequireCertificate bool
}

// MosquittoServer is a running Mosquitto broker on 127.0.0.1.
type MosquittoServer struct {
	URL  string // tcp://127.0.0.1:port
	Port int
	// TLSURL is ssl://127.0.0.1:port of the TLS listener, if one was asked for.
	TLSURL  string
	TLSPort int
	Dir     string // config, persistence and log

	bin string
	mu  sync.Mutex
	p   *proc
}

// StartMosquitto starts a broker in dir on a random free port.
func StartMosquitto(ctx context.Context, dir string, opt MosquittoOptions) (*MosquittoServer, error) {
	bin, err := findBinary("BUDARE_MOSQUITTO_BIN", "/usr/sbin/mosquitto", "mosquitto")
	if err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	m := &MosquittoServer{URL: fmt.Sprintf("tcp://127.0.0.1:%d", port), Port: port, Dir: dir, bin: bin}
	anonymous := "allow_anonymous true"
	if opt.PasswordFile != "" {
		anonymous = "allow_anonymous false\npassword_file " + opt.PasswordFile
	}
	// "user root": started as root, Mosquitto otherwise drops to user
	// mosquitto, which cannot write its persistence file into a test's
	// temporary directory, and a restart would silently lose every session.
	if opt.ConfigFile != "" {
		if err := m.shippedConfig(opt); err != nil {
			return nil, err
		}
		if err := m.Start(ctx); err != nil {
			return nil, err
		}
		return m, nil
	}
	conf := fmt.Sprintf(`listener %d 127.0.0.1
user root
%s
persistence true
persistence_location %s/
autosave_interval 1
max_queued_messages 2000000
max_queued_bytes 0
max_inflight_messages 1000
`, port, anonymous, dir)
	if t := opt.TLS; t != nil {
		tport, err := FreePort()
		if err != nil {
			return nil, err
		}
		m.TLSPort, m.TLSURL = tport, fmt.Sprintf("ssl://127.0.0.1:%d", tport)
		// Listener options follow the listener they belong to.
		conf += fmt.Sprintf("listener %d 127.0.0.1\ncertfile %s\nkeyfile %s\n", tport, t.CertFile, t.KeyFile)
		if t.CAFile != "" {
			conf += "cafile " + t.CAFile + "\n"
		}
		if t.RequireCertificate {
			conf += "require_certificate true\n"
		}
	}
	for _, l := range opt.Extra {
		conf += l + "\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "mosquitto.conf"), []byte(conf), 0o600); err != nil {
		return nil, fmt.Errorf("write mosquitto.conf: %w", err)
	}
	if err := m.Start(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

// Start (re)starts a stopped broker on the same port with the same data.
func (m *MosquittoServer) Start(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.p != nil {
		return nil
	}
	logPath := filepath.Join(m.Dir, "mosquitto.log")
	p, err := startProc(m.bin, []string{"-c", filepath.Join(m.Dir, "mosquitto.conf")}, nil, logPath)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for _, port := range []int{m.Port, m.TLSPort} {
		if port == 0 {
			continue
		}
		if err := waitTCP(ctx, fmt.Sprintf("127.0.0.1:%d", port), p.exited); err != nil {
			p.stop()
			return fmt.Errorf("mosquitto: %w; log: %s", err, tail(logPath))
		}
	}
	m.p = p
	return nil
}

// Stop stops the broker gracefully (it saves its persistence file).
func (m *MosquittoServer) Stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.p.stop()
	m.p = nil
}

// Kill stops the broker with SIGKILL, as a crash does: it saves nothing
// on the way out. (A power cut also loses what the OS had not yet written.)
func (m *MosquittoServer) Kill() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.p == nil {
		return
	}
	_ = m.p.cmd.Process.Kill()
	<-m.p.exited
	m.p.log.Close()
	m.p = nil
}

// Log returns the end of the broker's log, for failure messages.
func (m *MosquittoServer) Log() string { return tail(filepath.Join(m.Dir, "mosquitto.log")) }

// Mosquitto starts a broker for the test and stops it at cleanup.
func Mosquitto(t testing.TB, opts ...MosquittoOptions) *MosquittoServer {
	t.Helper()
	var opt MosquittoOptions
	if len(opts) > 0 {
		opt = opts[0]
	}
	var m *MosquittoServer
	var err error
	for range 3 { // a random port can be taken between FreePort and bind
		m, err = StartMosquitto(context.Background(), t.TempDir(), opt)
		if err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("start mosquitto: %v", err)
	}
	t.Cleanup(m.Stop)
	return m
}

// WritePasswordFile writes a mosquitto_passwd file into dir for user with
// password (hashed by mosquitto_passwd, installed with Mosquitto).
func WritePasswordFile(dir, user, password string) (string, error) {
	bin, err := findBinary("BUDARE_MOSQUITTO_PASSWD_BIN", "/usr/bin/mosquitto_passwd", "mosquitto_passwd")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "mosquitto.passwd")
	out, err := exec.Command(bin, "-c", "-b", path, user, password).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("mosquitto_passwd: %w: %s", err, out)
	}
	return path, os.Chmod(path, 0o600)
}

// shippedConfig writes opt.ConfigFile, adapted to the test, as the broker's
// mosquitto.conf, with its password and ACL files.
func (m *MosquittoServer) shippedConfig(opt MosquittoOptions) error {
	src, err := os.ReadFile(opt.ConfigFile)
	if err != nil {
		return fmt.Errorf("mosquitto config: %w", err)
	}
	var out []string
	for _, line := range strings.Split(string(src), "\n") {
		k, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch k {
		case "listener":
			line = fmt.Sprintf("listener %d 127.0.0.1", m.Port)
		case "persistence_location":
			line = "persistence_location " + m.Dir + "/"
		case "password_file":
			line = "password_file " + filepath.Join(m.Dir, "passwd")
		case "acl_file":
			line = "acl_file " + filepath.Join(m.Dir, "acl")
		case "user", "log_dest", "pid_file":
			line = "# " + line
		}
		out = append(out, line)
	}
	// Started as root, Mosquitto otherwise drops to user mosquitto, which
	// cannot read the test's private directory.
	out = append(out, "user root")
	out = append(out, opt.Extra...)
	if err := os.WriteFile(filepath.Join(m.Dir, "mosquitto.conf"), []byte(strings.Join(out, "\n")+"\n"), 0o600); err != nil {
		return fmt.Errorf("write mosquitto.conf: %w", err)
	}
	acl := []byte("# no ACL file given: everything allowed\ntopic readwrite #\npattern readwrite #\n")
	if opt.ACLFile != "" {
		if acl, err = os.ReadFile(opt.ACLFile); err != nil {
			return fmt.Errorf("mosquitto ACL: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(m.Dir, "acl"), acl, 0o600); err != nil {
		return fmt.Errorf("write acl: %w", err)
	}
	passwd := filepath.Join(m.Dir, "passwd")
	if err := os.WriteFile(passwd, nil, 0o600); err != nil {
		return fmt.Errorf("write passwd: %w", err)
	}
	if len(opt.Users) == 0 {
		return nil
	}
	pw, err := findBinary("BUDARE_MOSQUITTO_PASSWD_BIN", "/usr/bin/mosquitto_passwd", "mosquitto_passwd")
	if err != nil {
		return err
	}
	for user, pass := range opt.Users {
		if out, err := exec.Command(pw, "-b", passwd, user, pass).CombinedOutput(); err != nil {
			return fmt.Errorf("mosquitto_passwd %s: %w: %s", user, err, out)
		}
	}
	return nil
}
