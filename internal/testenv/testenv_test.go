package testenv

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"
)

func TestMosquittoStartStopRestart(t *testing.T) {
	m := Mosquitto(t)
	dial := func() error {
		c, err := net.Dial("tcp", m.URL[len("tcp://"):])
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := dial(); err != nil {
		t.Fatalf("broker not listening: %v", err)
	}
	m.Stop()
	if err := dial(); err == nil {
		t.Fatal("broker still listening after Stop")
	}
	if err := m.Start(context.Background()); err != nil {
		t.Fatalf("restart: %v", err)
	}
	if err := dial(); err != nil {
		t.Fatalf("broker not listening after restart: %v", err)
	}
}

func TestMinIOStartStopRestart(t *testing.T) {
	s := MinIO(t)
	if err := waitHealthy(context.Background(), &http.Client{Timeout: time.Second}, "http://"+s.Endpoint+"/minio/health/live", nil); err != nil {
		t.Fatalf("not healthy: %v", err)
	}
	s.Stop()
	if c, err := net.Dial("tcp", s.Endpoint); err == nil {
		c.Close()
		t.Fatal("minio still listening after Stop")
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatalf("restart: %v", err)
	}
}
