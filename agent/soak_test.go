//go:build soak

package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/budare/budare/internal/testenv"
)

// TestSoakIngestKillsAndBrokerRestarts (make soak) streams 200,000 messages
// in ten rounds; each round the agent is killed with SIGKILL at a random
// point and restarted, and every third round the broker restarts too. In
// the end every message is stored exactly once.
func TestSoakIngestKillsAndBrokerRestarts(t *testing.T) {
	const rounds, per = 10, 20000
	bin := agentBinary(t)
	broker := testenv.Mosquitto(t)
	e := newAgentEnv(t, broker)
	msgs := stream(rounds * per)
	p := e.startProcess(t, bin)
	e.waitSubscribed(t)
	for r := range rounds {
		chunk := msgs[r*per : (r+1)*per]
		pubDone := make(chan struct{})
		go func() { defer close(pubDone); publish(t, broker, fmt.Sprintf("pub-%d", r), chunk) }()
		e.waitRecords(t, uint64(r*per+1000+rand.IntN(per-2000)), 0, 3*time.Minute)
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		p.wait(t)
		<-pubDone
		if r%3 == 2 {
			broker.Stop()
			if err := broker.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		p = e.startProcess(t, bin)
		t.Logf("round %d: agent killed and restarted", r)
	}
	rep := e.waitRecords(t, uint64(len(msgs)), 0, 5*time.Minute)
	t.Logf("%d records stored, %d redeliveries dropped", rep.Records, rep.Duplicates)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t); code != 0 {
		t.Fatalf("exit %d after SIGTERM", code)
	}
	e.verifyStore(t, msgs)
}
