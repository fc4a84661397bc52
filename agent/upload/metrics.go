package upload

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	bytes         prometheus.Counter
	objects       prometheus.Counter
	failures      prometheus.Counter
	merges        prometheus.Counter
	pruned        prometheus.Counter
	pending       prometheus.Gauge
	oldestPending prometheus.Gauge
	oldestAge     prometheus.Gauge
	lastSuccess   prometheus.Gauge
	diskFree      prometheus.Gauge
	diskLow       prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "budare_agent_upload_bytes_total", Help: "Bytes of daily windows uploaded (compressed)."}),
		objects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "budare_agent_upload_objects_total", Help: "Daily window objects uploaded and verified."}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "budare_agent_upload_failures_total", Help: "Failed daily window upload attempts."}),
		merges: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "budare_agent_upload_merges_total", Help: "Uploads merged with the existing remote window (late records for a pruned day)."}),
		pruned: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "budare_agent_upload_pruned_windows_total", Help: "Local days deleted by retention after their window's upload was verified."}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "budare_agent_upload_pending_windows", Help: "Closed local days whose window is not uploaded yet (or has late records)."}),
		oldestPending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "budare_agent_upload_oldest_pending_day_timestamp_seconds", Help: "Start (unix time) of the oldest closed local day not uploaded yet; 0 when none."}),
		oldestAge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "budare_agent_upload_oldest_pending_day_age_seconds", Help: "Age of the oldest closed local day not uploaded yet; 0 when none."}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "budare_agent_upload_last_success_timestamp_seconds", Help: "Unix time of the last verified upload."}),
		diskFree: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "budare_agent_data_dir_free_bytes", Help: "Free bytes on the file system holding data_dir."}),
		diskLow: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "budare_agent_disk_nearly_full", Help: "1 when data_dir has less than upload.min_free_mib free."}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.bytes, m.objects, m.failures, m.merges, m.pruned,
		m.pending, m.oldestPending, m.oldestAge, m.lastSuccess, m.diskFree, m.diskLow} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
