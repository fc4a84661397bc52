package morning

import (
	"context"
	"fmt"
	"sync"
)

// recPub records publishes; fail makes them fail.
type recPub struct {
	mu   sync.Mutex
	msgs []pubMsg
	fail bool
}

type pubMsg struct {
	topic    string
	payload  []byte
	retained bool
}

func (p *recPub) Publish(_ context.Context, topic string, payload []byte, retained bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail {
		return fmt.Errorf("broker down")
	}
	p.msgs = append(p.msgs, pubMsg{topic, append([]byte(nil), payload...), retained})
	return nil
}

func (p *recPub) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.msgs)
}
