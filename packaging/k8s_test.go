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

// pinned reports whether image names a fixed version: a tag other than
// latest, or a digest.
func pinned(image string) bool {
	if strings.Contains(image, "@sha256:") {
		return true
	}
	i := strings.LastIndex(image, ":")
	return i > strings.LastIndex(image, "/") && image[i+1:] != "" && image[i+1:] != "latest"
}

// TestTrainStages holds the staged night's Jobs to their invariants:
// Indexed, retried per index, pinned images, as many completions as the
// shards their pods are told of, memory requested within the limit, and one
// run id and date for every stage.
func TestTrainStages(t *testing.T) {
	docs := readManifests(t, "train-stages.yaml")
	stages := []string{"rows", "fit", "assemble"}
	for _, stage := range stages {
		job := docs["Job/budare-central-"+stage+"-RUN_ID"]
		if job == nil {
			t.Fatalf("no Job budare-central-%s-RUN_ID, have %v", stage, slices.Sorted(maps.Keys(docs)))
		}
		if c := get(job, "metadata", "labels", "app.kubernetes.io/component"); c != "train-"+stage {
			t.Errorf("%s: component label %v, want train-%s (the driver selects on it)", stage, c, stage)
		}
		spec := get(job, "spec")
		if get(spec, "completionMode") != "Indexed" {
			t.Errorf("%s: completionMode %v, want Indexed", stage, get(spec, "completionMode"))
		}
		if n, ok := get(spec, "backoffLimitPerIndex").(int); !ok || n < 1 {
			t.Errorf("%s: backoffLimitPerIndex %v, want per-index retries", stage, get(spec, "backoffLimitPerIndex"))
		}
		if get(spec, "maxFailedIndexes") != 0 {
			t.Errorf("%s: maxFailedIndexes %v: a shard that keeps failing must fail the stage", stage, get(spec, "maxFailedIndexes"))
		}
		if d, _ := get(spec, "activeDeadlineSeconds").(int); d <= 0 {
			t.Errorf("%s: no activeDeadlineSeconds", stage)
		}
		n, _ := get(spec, "completions").(int)
		if n < 1 || get(spec, "parallelism") != n {
			t.Errorf("%s: completions %v parallelism %v: want equal", stage, get(spec, "completions"), get(spec, "parallelism"))
		}
		pod := get(spec, "template", "spec")
		checkPod(t, stage, pod)
		c := get(pod, "containers", 0)
		if img := fmt.Sprint(get(c, "image")); !pinned(img) {
			t.Errorf("%s: image %q is not pinned", stage, img)
		}
		args := strs(get(c, "args"))
		if len(args) < 2 || args[0] != "train" || args[1] != stage {
			t.Errorf("%s: args %v, want train %s", stage, args, stage)
		}
		if flagValue(args, "--run") != "RUN_ID" {
			t.Errorf("%s: --run %q, want RUN_ID (the driver fixes it for every stage)", stage, flagValue(args, "--run"))
		}
		if stage != "assemble" {
			if flagValue(args, "--date") != "RUN_DATE" {
				t.Errorf("%s: --date %q, want RUN_DATE", stage, flagValue(args, "--date"))
			}
			if got, want := flagValue(args, "--shard"), fmt.Sprintf("$(JOB_COMPLETION_INDEX)/%d", n); got != want {
				t.Errorf("%s: --shard %q, want %q (n must equal completions)", stage, got, want)
			}
			var indexEnv bool
			for _, e := range get(c, "env").([]any) {
				if get(e, "name") == "JOB_COMPLETION_INDEX" {
					indexEnv = true
				}
			}
			if !indexEnv {
				t.Errorf("%s: JOB_COMPLETION_INDEX is not declared, so $(JOB_COMPLETION_INDEX) may not expand", stage)
			}
		} else if n != 1 {
			t.Errorf("assemble: %d completions, want 1", n)
		}
		req, lim := quantity(t, get(c, "resources", "requests", "memory")), quantity(t, get(c, "resources", "limits", "memory"))
		if req <= 0 || lim < req {
			t.Errorf("%s: memory request %v, limit %v", stage, get(c, "resources", "requests", "memory"), get(c, "resources", "limits", "memory"))
		}
		if k := flagValue(args, "--key"); k != "$(CREDENTIALS_DIRECTORY)/release-signing-key" {
			t.Errorf("%s --key %q: want the signing key from the mounted secret", stage, k)
		}
	}
}

// quantity parses the Mi/Gi memory quantities the manifests use, in MiB.
func quantity(t *testing.T, v any) int {
	t.Helper()
	s := fmt.Sprint(v)
	for suffix, mul := range map[string]int{"Mi": 1, "Gi": 1024} {
		if n, err := strconv.Atoi(strings.TrimSuffix(s, suffix)); err == nil && strings.HasSuffix(s, suffix) {
			return n * mul
		}
	}
	t.Fatalf("memory quantity %q: want <n>Mi or <n>Gi", s)
	return 0
}

// TestTrainDriver: the driver CronJob creates the stages in order from the
// ConfigMap of train-stages.yaml, in the config's time zone, with only the
// rights it needs.
func TestTrainDriver(t *testing.T) {
	docs := readManifests(t, "train-cronjob.yaml")
	cj := docs["CronJob/budare-central-train"]
	role := docs["Role/budare-central-train-driver"]
	if cj == nil || role == nil || docs["ServiceAccount/budare-central-train-driver"] == nil || docs["RoleBinding/budare-central-train-driver"] == nil {
		t.Fatalf("want the driver CronJob, ServiceAccount, Role and RoleBinding, have %v", slices.Sorted(maps.Keys(docs)))
	}
	if get(cj, "spec", "concurrencyPolicy") != "Forbid" {
		t.Error("two nights could overlap: concurrencyPolicy is not Forbid")
	}
	pod := get(cj, "spec", "jobTemplate", "spec", "template", "spec")
	if get(pod, "serviceAccountName") != "budare-central-train-driver" {
		t.Errorf("driver runs as %v", get(pod, "serviceAccountName"))
	}
	c := get(pod, "containers", 0)
	if img := fmt.Sprint(get(c, "image")); !pinned(img) {
		t.Errorf("driver image %q is not pinned", img)
	}
	if get(c, "securityContext", "readOnlyRootFilesystem") != true || get(pod, "securityContext", "runAsNonRoot") != true {
		t.Errorf("driver security context %v %v", get(pod, "securityContext"), get(c, "securityContext"))
	}
	script := strings.Join(strs(get(c, "args")), "\n")
	if !strings.Contains(script, "for stage in rows fit assemble") || !strings.Contains(script, "Complete") || !strings.Contains(script, "Failed") {
		t.Errorf("driver script does not run rows, fit, assemble in order, each after the previous completed:\n%s", script)
	}
	var stagesMap string
	for _, v := range get(pod, "volumes").([]any) {
		if m := get(v, "configMap", "name"); m != nil {
			stagesMap = fmt.Sprint(m)
		}
	}
	if stagesMap != "budare-central-train-stages" {
		t.Errorf("driver mounts ConfigMap %q, want budare-central-train-stages", stagesMap)
	}
	verbs := strs(get(role, "rules", 0, "verbs"))
	if get(role, "rules", 0, "resources", 0) != "jobs" || !slices.Contains(verbs, "create") || slices.Contains(verbs, "delete") || slices.Contains(verbs, "*") {
		t.Errorf("driver role %v: want create/get on jobs and nothing more", get(role, "rules"))
	}
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
	var tz string
	for _, e := range get(c, "env").([]any) {
		if get(e, "name") == "TZ" {
			tz = fmt.Sprint(get(e, "value"))
		}
	}
	if get(cj, "spec", "timeZone") != cfg.Timezone || tz != cfg.Timezone {
		t.Errorf("driver schedule zone %v, TZ %q, config %q: the run date must be the config's", get(cj, "spec", "timeZone"), tz, cfg.Timezone)
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
