package packaging_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"go.yaml.in/yaml/v3"
)

// obj walks decoded YAML; a missing step yields nil.
type obj = map[string]any

func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(obj)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func readManifests(t *testing.T, name string) map[string]obj {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("k8s", name))
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]obj{}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var d obj
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		key := fmt.Sprintf("%s/%s", d["kind"], get(d, "metadata", "name"))
		docs[key] = d
	}
	return docs
}

func strs(v any) []string {
	l, _ := v.([]any)
	out := make([]string, len(l))
	for i, x := range l {
		out[i] = fmt.Sprint(x)
	}
	return out
}

// flagValue returns the argument after flag in args.
func flagValue(args []string, flag string) string {
	i := slices.Index(args, flag)
	if i < 0 || i+1 >= len(args) {
		return ""
	}
	return args[i+1]
}

// checkPod holds every pod to the same rules: non-root, read-only root,
// no privilege escalation, config and credentials where the binary looks.
func checkPod(t *testing.T, name string, pod any) {
	t.Helper()
	if get(pod, "securityContext", "runAsNonRoot") != true {
		t.Errorf("%s: runAsNonRoot is not true", name)
	}
	if get(pod, "automountServiceAccountToken") != false {
		t.Errorf("%s: mounts a service account token it does not need", name)
	}
	c := get(pod, "containers", 0)
	if get(c, "securityContext", "readOnlyRootFilesystem") != true || get(c, "securityContext", "allowPrivilegeEscalation") != false {
		t.Errorf("%s: container securityContext %v", name, get(c, "securityContext"))
	}
	var credDir string
	for _, e := range get(c, "env").([]any) {
		if get(e, "name") == "CREDENTIALS_DIRECTORY" {
			credDir = fmt.Sprint(get(e, "value"))
		}
	}
	mounts := map[string]string{}
	for _, m := range get(c, "volumeMounts").([]any) {
		mounts[fmt.Sprint(get(m, "name"))] = fmt.Sprint(get(m, "mountPath"))
	}
	if mounts["credentials"] == "" || mounts["credentials"] != credDir {
		t.Errorf("%s: credentials mounted at %q but CREDENTIALS_DIRECTORY=%q", name, mounts["credentials"], credDir)
	}
	if mounts["config"] != "/etc/budare" {
		t.Errorf("%s: config mounted at %q, want /etc/budare", name, mounts["config"])
	}
	for _, v := range get(pod, "volumes").([]any) {
		if get(v, "name") != "credentials" {
			continue
		}
		// The binaries refuse a secret file that others can read.
		mode, ok := get(v, "secret", "defaultMode").(int)
		if !ok || mode&0o007 != 0 {
			t.Errorf("%s: secret defaultMode %v lets others read the keys", name, get(v, "secret", "defaultMode"))
		}
	}
	args := strs(get(c, "args"))
	if flagValue(args, "--config") != "/etc/budare/central.toml" {
		t.Errorf("%s: args %v do not name /etc/budare/central.toml", name, args)
	}
}

func TestTrainCronJob(t *testing.T) {
	docs := readManifests(t, "train-cronjob.yaml")
	train, assemble := docs["CronJob/budare-central-train"], docs["CronJob/budare-central-assemble"]
	if train == nil || assemble == nil {
		t.Fatalf("want CronJobs budare-central-train and budare-central-assemble, have %v", slices.Sorted(maps.Keys(docs)))
	}
	job := get(train, "spec", "jobTemplate", "spec")
	if get(job, "completionMode") != "Indexed" {
		t.Errorf("train job completionMode %v, want Indexed", get(job, "completionMode"))
	}
	n, _ := get(job, "completions").(int)
	if n < 2 || get(job, "parallelism") != n {
		t.Errorf("completions %v parallelism %v: want equal, at least 2", get(job, "completions"), get(job, "parallelism"))
	}
	pod := get(job, "template", "spec")
	checkPod(t, "train", pod)
	args := strs(get(pod, "containers", 0, "args"))
	if args[0] != "train" {
		t.Errorf("train args %v", args)
	}
	if got, want := flagValue(args, "--shard"), fmt.Sprintf("$(JOB_COMPLETION_INDEX)/%d", n); got != want {
		t.Errorf("--shard %q, want %q (n must equal completions)", got, want)
	}
	var indexEnv bool
	for _, e := range get(pod, "containers", 0, "env").([]any) {
		if get(e, "name") == "JOB_COMPLETION_INDEX" {
			indexEnv = true
		}
	}
	if !indexEnv {
		t.Error("JOB_COMPLETION_INDEX is not declared, so $(JOB_COMPLETION_INDEX) may not expand")
	}
	if get(train, "spec", "concurrencyPolicy") != "Forbid" {
		t.Error("two nights' training could overlap: concurrencyPolicy is not Forbid")
	}

	apod := get(assemble, "spec", "jobTemplate", "spec", "template", "spec")
	checkPod(t, "assemble", apod)
	aargs := strs(get(apod, "containers", 0, "args"))
	if aargs[0] != "assemble" || flagValue(aargs, "--shards") != strconv.Itoa(n) {
		t.Errorf("assemble args %v: want assemble --shards %d", aargs, n)
	}
	// Assemble must start only after every shard has finished or been
	// stopped by the train job's deadline, on the same day.
	start := minuteOfDay(t, get(train, "spec", "schedule"))
	deadline, _ := get(job, "activeDeadlineSeconds").(int)
	if deadline == 0 {
		t.Fatal("the train job has no activeDeadlineSeconds: assemble could run while shards still train")
	}
	if a := minuteOfDay(t, get(assemble, "spec", "schedule")); a < start+deadline/60 || a >= 24*60 {
		t.Errorf("assemble at minute %d runs before the train job's deadline (minute %d)", a, start+deadline/60)
	}
	// Both compute "today" in the central time zone of the config.
	central, err := os.ReadFile("central.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Timezone string `toml:"timezone"`
	}
	if err := toml.Unmarshal(central, &cfg); err != nil {
		t.Fatal(err)
	}
	for _, cj := range []obj{train, assemble} {
		if tz := get(cj, "spec", "timeZone"); tz != cfg.Timezone {
			t.Errorf("%v runs in time zone %v, the config's is %q: train and assemble could see different dates", get(cj, "metadata", "name"), tz, cfg.Timezone)
		}
	}
	for _, a := range [][]string{args, aargs} {
		if k := flagValue(a, "--key"); k != "$(CREDENTIALS_DIRECTORY)/release-signing-key" {
			t.Errorf("%s --key %q: want the signing key from the mounted secret", a[0], k)
		}
	}
}

func TestServeDeployment(t *testing.T) {
	docs := readManifests(t, "serve.yaml")
	dep, svc := docs["Deployment/budare-central-serve"], docs["Service/budare-central-serve"]
	if dep == nil || svc == nil {
		t.Fatalf("want Deployment and Service budare-central-serve, have %v", slices.Sorted(maps.Keys(docs)))
	}
	pod := get(dep, "spec", "template", "spec")
	checkPod(t, "serve", pod)
	labels := get(dep, "spec", "template", "metadata", "labels").(obj)
	for _, sel := range []any{get(dep, "spec", "selector", "matchLabels"), get(svc, "spec", "selector")} {
		for k, v := range sel.(obj) {
			if labels[k] != v {
				t.Errorf("selector %s=%v does not match the pod labels %v", k, v, labels)
			}
		}
	}
	c := get(pod, "containers", 0)
	args := strs(get(c, "args"))
	if args[0] != "serve" {
		t.Errorf("serve args %v", args)
	}
	port := get(c, "ports", 0)
	if get(svc, "spec", "ports", 0, "targetPort") != get(port, "name") {
		t.Errorf("service targetPort %v is not the container port %v", get(svc, "spec", "ports", 0, "targetPort"), get(port, "name"))
	}
	if listen := flagValue(args, "--listen"); !strings.HasSuffix(listen, fmt.Sprintf(":%v", get(port, "containerPort"))) {
		t.Errorf("serve listens on %q but the container port is %v", listen, get(port, "containerPort"))
	}
}

func minuteOfDay(t *testing.T, schedule any) int {
	t.Helper()
	f := strings.Fields(fmt.Sprint(schedule))
	if len(f) != 5 {
		t.Fatalf("schedule %q is not a 5-field cron expression", schedule)
	}
	m, err1 := strconv.Atoi(f[0])
	h, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || f[2] != "*" || f[3] != "*" || f[4] != "*" {
		t.Fatalf("schedule %q: want a fixed daily time", schedule)
	}
	return h*60 + m
}
