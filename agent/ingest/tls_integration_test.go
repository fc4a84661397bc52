package ingest

import (
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/budare/budare/internal/testenv"
	"github.com/budare/budare/internal/tlsfiles"
)

// lastHealth keeps the connection's last reported health.
type lastHealth struct {
	mu  sync.Mutex
	err error
	set bool
}

func (h *lastHealth) Set(_ string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.err, h.set = err, true
}

func (h *lastHealth) get() (error, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err, h.set
}

type connCase struct {
	name   string
	broker string
	files  tlsfiles.Files
	user   string
	pass   string
	want   string // "" = connects; else the failure explanation contains it
}

// runConnCases connects the agent's ingest client as each case says and
// checks that it connects, or fails with the expected explanation.
func runConnCases(t *testing.T, cases []connCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.files.Section = "mqtt"
			tc, err := c.files.Config(time.Now())
			if err != nil {
				t.Fatalf("TLS config: %v", err)
			}
			h := &lastHealth{}
			cl, err := NewClient(ClientOptions{Broker: c.broker, ClientID: "tls-" + strings.ReplaceAll(c.name, " ", "-"),
				Username: c.user, Password: c.pass, TLS: tc, Kitchen: "k-1", Health: h,
				Log: slog.New(slog.DiscardHandler)}, func(m Message) { m.Ack() })
			if err != nil {
				t.Fatal(err)
			}
			cl.Start()
			defer cl.Close(0)
			deadline := time.After(15 * time.Second)
			for {
				select {
				case <-cl.Connected():
					if c.want != "" {
						t.Fatalf("connected; want a failure saying %q", c.want)
					}
					return
				case <-deadline:
					err, _ := h.get()
					t.Fatalf("neither connected nor failed as expected within 15s; last health %v", err)
				case <-time.After(20 * time.Millisecond):
				}
				if err, set := h.get(); set && err != nil && c.want != "" {
					if !strings.Contains(err.Error(), c.want) {
						t.Fatalf("failure %q does not say %q", err, c.want)
					}
					if strings.Contains(err.Error(), "\n") {
						t.Fatalf("failure is not one line: %q", err)
					}
					return
				}
			}
		})
	}
}

func TestMQTTTLSAndMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca := testenv.NewCA(t, dir, "kitchen-ca")
	otherCA := testenv.NewCA(t, dir, "other-ca")
	loop := []net.IP{net.ParseIP("127.0.0.1")}
	srvCert, srvKey := ca.Issue(t, testenv.CertOptions{Name: "broker", IPs: loop, DNSNames: []string{"localhost"}})
	expCert, expKey := ca.Issue(t, testenv.CertOptions{Name: "broker-expired", IPs: loop, Expired: true})
	otherName, otherNameKey := ca.Issue(t, testenv.CertOptions{Name: "broker-elsewhere", DNSNames: []string{"broker.example"}})
	cliCert, cliKey := ca.Issue(t, testenv.CertOptions{Name: "agent-k-1", Client: true})
	strangerCert, strangerKey := otherCA.Issue(t, testenv.CertOptions{Name: "stranger", Client: true})

	mtls := testenv.Mosquitto(t, testenv.MosquittoOptions{TLS: &testenv.MosquittoTLS{
		CertFile: srvCert, KeyFile: srvKey, CAFile: ca.CertFile, RequireCertificate: true}})
	expired := testenv.Mosquitto(t, testenv.MosquittoOptions{TLS: &testenv.MosquittoTLS{CertFile: expCert, KeyFile: expKey}})
	misnamed := testenv.Mosquitto(t, testenv.MosquittoOptions{TLS: &testenv.MosquittoTLS{CertFile: otherName, KeyFile: otherNameKey}})
	good := tlsfiles.Files{CAFile: ca.CertFile, CertFile: cliCert, KeyFile: cliKey}

	runConnCases(t, []connCase{
		{"mutual TLS works", mtls.TLSURL, good, "", "", ""},
		{"TLS without a client certificate refused", mtls.TLSURL, tlsfiles.Files{CAFile: ca.CertFile}, "", "", "mqtt.cert_file"},
		{"client certificate of another CA refused", mtls.TLSURL,
			tlsfiles.Files{CAFile: ca.CertFile, CertFile: strangerCert, KeyFile: strangerKey}, "", "", "refused this client's certificate"},
		{"broker certificate of an untrusted CA", mtls.TLSURL,
			tlsfiles.Files{CAFile: otherCA.CertFile, CertFile: cliCert, KeyFile: cliKey}, "", "", "set mqtt.ca_file to the CA"},
		{"expired broker certificate", expired.TLSURL, tlsfiles.Files{CAFile: ca.CertFile}, "", "", "expired"},
		{"broker certificate for another name", misnamed.TLSURL, tlsfiles.Files{CAFile: ca.CertFile}, "", "", "not for this name (it names broker.example)"},
		{"tcp:// to the TLS port", strings.Replace(mtls.TLSURL, "ssl://", "tcp://", 1), good, "", "", "expects TLS on this port: use ssl://"},
		{"ssl:// to the plain port", strings.Replace(mtls.URL, "tcp://", "ssl://", 1), good, "", "", "does not speak TLS"},
	})
}

func TestExpiredClientCertificateRefusedAtConfig(t *testing.T) {
	dir := t.TempDir()
	ca := testenv.NewCA(t, dir, "ca")
	cert, key := ca.Issue(t, testenv.CertOptions{Name: "agent", Client: true, Expired: true})
	_, err := tlsfiles.Files{Section: "mqtt", CertFile: cert, KeyFile: key}.Config(time.Now())
	if err == nil || !strings.Contains(err.Error(), "mqtt.cert_file "+cert+" expired") {
		t.Fatalf("Config = %v; want the expired client certificate named", err)
	}
}

func TestMQTTPassword(t *testing.T) {
	dir := t.TempDir()
	pwFile, err := testenv.WritePasswordFile(dir, "agent-k-1", "arepa-secret")
	if err != nil {
		t.Fatal(err)
	}
	b := testenv.Mosquitto(t, testenv.MosquittoOptions{PasswordFile: pwFile})
	runConnCases(t, []connCase{
		{"right password", b.URL, tlsfiles.Files{}, "agent-k-1", "arepa-secret", ""},
		{"wrong password", b.URL, tlsfiles.Files{}, "agent-k-1", "wrong", "check mqtt.username and the password in mqtt.password_file"},
		{"no credentials", b.URL, tlsfiles.Files{}, "", "", "mqtt.password_file"},
	})
}
