package ingest

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/budare/budare/internal/record"
)

// Metrics are the ingest figures exported on /metrics.
type Metrics struct {
	received      prometheus.Counter
	stored        prometheus.Counter
	duplicates    prometheus.Counter
	rejected      *prometheus.CounterVec
	commits       prometheus.Counter
	commitErrors  prometheus.Counter
	commitSeconds prometheus.Histogram
	batchSize     prometheus.Histogram
	lastCommit    prometheus.Gauge
	connected     prometheus.Gauge
	connects      prometheus.Counter
}

// NewMetrics creates the ingest metrics and registers them with reg (nil:
// not registered, for tests).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		received: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "budare_agent_ingest_messages_total", Help: "MQTT messages received on the cook and event topics (redeliveries included)."}),
		stored: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "budare_agent_ingest_records_stored_total", Help: "Records committed to the store for the first time."}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "budare_agent_ingest_duplicates_total", Help: "Redelivered records recognised by (machine, ts, seq) and dropped."}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "budare_agent_ingest_rejected_total", Help: "Payloads rejected and quarantined, by reason."}, []string{"reason"}),
		commits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "budare_agent_ingest_commits_total", Help: "Store transactions committed (each acknowledges one batch)."}),
		commitErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "budare_agent_ingest_commit_errors_total", Help: "Failed store commits (the batch is retried, not acknowledged)."}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "budare_agent_ingest_commit_duration_seconds", Help: "Duration of a batch's store commit, fsync included.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "budare_agent_ingest_batch_messages", Help: "Messages per committed batch.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 8)}),
		lastCommit: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "budare_agent_ingest_last_commit_timestamp_seconds", Help: "Unix time of the last successful batch commit."}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "budare_agent_mqtt_connected", Help: "1 while connected to the kitchen broker."}),
		connects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "budare_agent_mqtt_connects_total", Help: "Successful connections to the kitchen broker (reconnections included)."}),
	}
	for _, r := range record.Reasons {
		m.rejected.WithLabelValues(string(r)) // pre-create, so every reason shows 0
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.received, m.stored, m.duplicates, m.rejected, m.commits,
		m.commitErrors, m.commitSeconds, m.batchSize, m.lastCommit, m.connected, m.connects} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
