// Package config loads and validates the agent's TOML config file. Every
// problem is reported on its own line so `budare-agent check-config` can
// list them all at once.
package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/budare/budare/internal/secretfile"

	"github.com/BurntSushi/toml"

	"github.com/budare/budare/internal/objstore"
	"github.com/budare/budare/internal/record"
	"github.com/budare/budare/internal/tlsfiles"
)

// Config is the agent's whole configuration. packaging/agent.example.toml
// documents every key.
type Config struct {
	Kitchen  string `toml:"kitchen"`
	DataDir  string `toml:"data_dir"`
	Timezone string `toml:"timezone"` // IANA name, e.g. America/Caracas
	Listen   string `toml:"listen"`   // /metrics and /healthz; loopback by default

	MQTT     MQTT            `toml:"mqtt"`
	S3       objstore.Config `toml:"s3"`
	Upload   Upload          `toml:"upload"`
	Models   Models          `toml:"models"`
	Decision Decision        `toml:"decision"`

	// Location is Timezone loaded; set by Load.
	Location *time.Location `toml:"-"`
	// CredentialsDir is systemd's $CREDENTIALS_DIRECTORY; relative secret
	// file names are resolved against it. Set by Load.
	CredentialsDir string `toml:"-"`
	// HasS3 is true when the [s3] section names an endpoint or a dir; without it the
	// agent ingests and decides but uploads and syncs nothing.
	HasS3 bool `toml:"-"`
}

// MQTT is the [mqtt] section.
type MQTT struct {
	// Embedded, when set (host:port), runs an MQTT broker inside the agent
	// on this address, for a kitchen without Mosquitto; Broker then
	// defaults to it.
	Embedded     string   `toml:"embedded"`
	Broker       string   `toml:"broker"` // tcp://host:port, ssl://host:port
	ClientID     string   `toml:"client_id"`
	Username     string   `toml:"username"`
	PasswordFile string   `toml:"password_file"`
	CAFile       string   `toml:"ca_file"`    // CAs (PEM) trusted besides the system's, for ssl://
	CertFile     string   `toml:"cert_file"`  // client certificate (PEM) for a broker requiring one
	KeyFile      string   `toml:"key_file"`   // its key (PEM, a secret: mode 0600)
	BatchMax     int      `toml:"batch_max"`  // messages per bbolt commit
	BatchWait    Duration `toml:"batch_wait"` // longest the batcher waits for more after a batch's oldest message
	// MaxPacketSize is the broker's max_packet_size: the agent never
	// publishes a larger packet (Mosquitto drops the connection on one).
	MaxPacketSize int `toml:"max_packet_size"`
}

// Upload is the [upload] section.
type Upload struct {
	RetentionDays int `toml:"retention_days"` // local days kept after upload; >= MinRetentionDays
	// MinFreeMiB is the free space on data_dir below which the agent reports
	// the disk as nearly full.
	MinFreeMiB int `toml:"min_free_mib"`
}

// Models is the [models] section.
type Models struct {
	ReleasePublicKeyFile string   `toml:"release_public_key_file"`
	PollInterval         Duration `toml:"poll_interval"`
}

// Decision is the [decision] section.
type Decision struct {
	StartOfDay string `toml:"start_of_day"` // HH:MM local time
	// Thresholds on the machine-day risk mapping it to a level. Zero (the
	// default) takes the release's thresholds, which the trainer calibrated
	// on validation days from the operator's targets; a value set here
	// overrides the release's for this kitchen.
	Inspect float64 `toml:"inspect"`
	Service float64 `toml:"service"`
	Stop    float64 `toml:"stop"`
	// UnseenClearDays: a machine unseen this long has its retained action cleared.
	UnseenClearDays int `toml:"unseen_clear_days"`
}

// MinRetentionDays is the fewest days kept locally: decisions need 7 days
// of history plus the day being decided.
const MinRetentionDays = 8

// Duration is a time.Duration written as "15m" in TOML.
type Duration struct{ time.Duration }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("duration %q: want e.g. 5ms, 15m, 1h", b)
	}
	d.Duration = v
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Defaults returns a config with every default filled in.
func Defaults() Config {
	return Config{
		DataDir:  "/var/lib/budare",
		Timezone: "UTC",
		Listen:   "127.0.0.1:9464",
		MQTT: MQTT{
			Broker:    "tcp://127.0.0.1:1883",
			BatchMax:  1000,
			BatchWait: Duration{5 * time.Millisecond},
			// packaging/mosquitto/budare.conf's max_packet_size.
			MaxPacketSize: 256 << 10,
		},
		Upload: Upload{RetentionDays: 14, MinFreeMiB: 256},
		Models: Models{PollInterval: Duration{15 * time.Minute}},
		Decision: Decision{
			StartOfDay:      "05:30",
			UnseenClearDays: 14,
		},
	}
}

// ProblemsError lists every problem found in a config, one per line.
type ProblemsError struct {
	Path     string
	Problems []string
}

func (e *ProblemsError) Error() string {
	return fmt.Sprintf("config %s: %s", e.Path, strings.Join(e.Problems, "; "))
}

// KitchenPlaceholder is the kitchen in the shipped config (see
// record.CheckKitchen).
const KitchenPlaceholder = record.KitchenPlaceholder

// Load reads, defaults and validates a config file. A *ProblemsError lists
// every validation problem.
func Load(path string) (*Config, error) {
	c := Defaults()
	md, err := toml.DecodeFile(path, &c)
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			return nil, &ProblemsError{Path: path, Problems: []string{fmt.Sprintf("line %d: %s", perr.Position.Line, perr.Message)}}
		}
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("config %s does not exist", path)
		}
		return nil, &ProblemsError{Path: path, Problems: []string{err.Error()}}
	}
	var ps []string
	for _, k := range md.Undecoded() {
		ps = append(ps, fmt.Sprintf("unknown key %q", k.String()))
	}
	if c.MQTT.Embedded != "" && !md.IsDefined("mqtt", "broker") {
		c.MQTT.Broker = "" // the embedded broker's, set by problems
	}
	c.CredentialsDir = os.Getenv("CREDENTIALS_DIRECTORY")
	c.HasS3 = c.S3.Endpoint != "" || c.S3.Dir != ""
	ps = append(ps, c.problems()...)
	if len(ps) > 0 {
		return nil, &ProblemsError{Path: path, Problems: ps}
	}
	return &c, nil
}

func (c *Config) problems() []string {
	var ps []string
	if err := record.CheckKitchen(c.Kitchen); err != nil {
		ps = append(ps, err.Error())
	}
	if c.DataDir == "" {
		ps = append(ps, "data_dir is empty")
	}
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil || c.Timezone == "" || c.Timezone == "Local" {
		ps = append(ps, fmt.Sprintf("timezone %q is not an IANA time zone name (e.g. America/Caracas)", c.Timezone))
	} else {
		c.Location = loc
	}
	if _, _, err := net.SplitHostPort(c.Listen); c.Listen != "" && err != nil {
		ps = append(ps, fmt.Sprintf("listen %q is not host:port", c.Listen))
	}
	if c.MQTT.Embedded != "" {
		if host, port, err := net.SplitHostPort(c.MQTT.Embedded); err != nil || port == "" {
			ps = append(ps, fmt.Sprintf("mqtt.embedded %q is not host:port (e.g. 127.0.0.1:1883)", c.MQTT.Embedded))
		} else if c.MQTT.Broker == "" {
			// The agent's own clients dial the embedded broker; a wildcard
			// listen address is dialled on loopback.
			if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
				host = "127.0.0.1"
			}
			c.MQTT.Broker = "tcp://" + net.JoinHostPort(host, port)
		}
	}
	if c.MQTT.Broker == "" {
		ps = append(ps, "mqtt.broker is empty (want e.g. tcp://127.0.0.1:1883, or set mqtt.embedded)")
	} else if !strings.Contains(c.MQTT.Broker, "://") {
		ps = append(ps, fmt.Sprintf("mqtt.broker %q needs a scheme: tcp://, ssl:// or ws://", c.MQTT.Broker))
	}
	if c.MQTT.ClientID == "" && c.Kitchen != "" {
		// A fixed client id is what makes the session persistent.
		c.MQTT.ClientID = "budare-agent-" + c.Kitchen
	}
	if len(c.MQTT.ClientID) > 23*4 {
		ps = append(ps, "mqtt.client_id is too long")
	}
	if _, err := c.MQTTPassword(); err != nil {
		ps = append(ps, fmt.Sprintf("mqtt.password_file: %v", err))
	}
	ps = append(ps, c.mqttTLSFiles().Problems(time.Now())...)
	if c.MQTT.BatchMax < 1 || c.MQTT.BatchMax > 100000 {
		ps = append(ps, fmt.Sprintf("mqtt.batch_max %d: want 1..100000", c.MQTT.BatchMax))
	}
	if c.MQTT.BatchWait.Duration <= 0 || c.MQTT.BatchWait.Duration > time.Second {
		ps = append(ps, fmt.Sprintf("mqtt.batch_wait %s: want more than 0 and at most 1s", c.MQTT.BatchWait))
	}
	if c.MQTT.MaxPacketSize < 16<<10 {
		ps = append(ps, fmt.Sprintf("mqtt.max_packet_size %d: want at least 16384, and the broker's max_packet_size", c.MQTT.MaxPacketSize))
	}
	if c.HasS3 {
		ps = append(ps, c.S3.Problems(c.CredentialsDir)...)
	}
	if c.Upload.RetentionDays < MinRetentionDays {
		ps = append(ps, fmt.Sprintf("upload.retention_days %d: must be at least %d (decisions need 7 days of history)", c.Upload.RetentionDays, MinRetentionDays))
	}
	if c.Models.PollInterval.Duration < time.Second {
		ps = append(ps, fmt.Sprintf("models.poll_interval %s: want at least 1s", c.Models.PollInterval))
	}
	if c.Models.ReleasePublicKeyFile != "" {
		if _, err := os.Stat(c.Models.ReleasePublicKeyFile); err != nil {
			ps = append(ps, fmt.Sprintf("models.release_public_key_file: %v", err))
		}
	}
	if _, err := ParseClock(c.Decision.StartOfDay); err != nil {
		ps = append(ps, fmt.Sprintf("decision.start_of_day: %v", err))
	}
	d := c.Decision
	if bad := thresholdProblem(d); bad != "" {
		ps = append(ps, bad)
	}
	if d.UnseenClearDays < 1 {
		ps = append(ps, "decision.unseen_clear_days must be at least 1")
	}
	return ps
}

// ParseClock parses "HH:MM" into minutes after midnight.
func ParseClock(s string) (time.Duration, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

// StoreFile is the name of the bbolt store inside data_dir.
const StoreFile = "agent.db"

// StorePath is the bbolt store's path: data_dir/agent.db.
func (c *Config) StorePath() string { return filepath.Join(c.DataDir, StoreFile) }

// BrokerDir is where the embedded broker keeps its retained messages and
// sessions: data_dir/broker.
func (c *Config) BrokerDir() string { return filepath.Join(c.DataDir, "broker") }

// MQTTPassword reads the MQTT password file, if one is configured.
func (c *Config) MQTTPassword() (string, error) {
	if c.MQTT.PasswordFile == "" {
		return "", nil
	}
	return secretfile.ReadName(c.MQTT.PasswordFile, c.CredentialsDir)
}

func (c *Config) mqttTLSFiles() tlsfiles.Files {
	return tlsfiles.Files{Section: "mqtt", CAFile: c.MQTT.CAFile, CertFile: c.MQTT.CertFile, KeyFile: c.MQTT.KeyFile,
		CredDir: c.CredentialsDir}
}

// MQTTTLS is the TLS configuration of both of the agent's MQTT connections
// (used for ssl:// brokers): system CAs plus mqtt.ca_file, and the client
// certificate of mqtt.cert_file and mqtt.key_file.
func (c *Config) MQTTTLS() (*tls.Config, error) { return c.mqttTLSFiles().Config(time.Now()) }

// thresholdProblem checks the decision thresholds the operator set: each in
// [0, 1] (0 = the release's), and the ones set in order.
func thresholdProblem(d Decision) string {
	set := []struct {
		name string
		v    float64
	}{{"inspect", d.Inspect}, {"service", d.Service}, {"stop", d.Stop}}
	prev, prevName := 0.0, ""
	for _, t := range set {
		if !(t.v >= 0 && t.v <= 1) {
			return fmt.Sprintf("decision.%s %g: want 0 (the release's threshold) or a risk in (0, 1]", t.name, t.v)
		}
		if t.v == 0 {
			continue
		}
		if t.v < prev {
			return fmt.Sprintf("decision thresholds: %s (%g) is below %s (%g); want inspect <= service <= stop", t.name, t.v, prevName, prev)
		}
		prev, prevName = t.v, t.name
	}
	return ""
}
