// Package k8s holds the Kubernetes manifests of the batch job; its test parses every
// manifest and checks the properties the job relies on (issue 5, item 5).
//
// The manifests are decoded strictly (unknown fields fail) into the subset of the
// Kubernetes API types defined below, so a misspelt field (concurencyPolicy) is an
// error here rather than silently ignored by the API server's pruning.
package k8s

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

type objectMeta struct {
	Name        string            `yaml:"name"`
	Namespace   string            `yaml:"namespace"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type header struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   objectMeta `yaml:"metadata"`
}

type cronJob struct {
	header `yaml:",inline"`
	Spec   struct {
		Schedule                   string `yaml:"schedule"`
		TimeZone                   string `yaml:"timeZone"`
		ConcurrencyPolicy          string `yaml:"concurrencyPolicy"`
		StartingDeadlineSeconds    *int64 `yaml:"startingDeadlineSeconds"`
		SuccessfulJobsHistoryLimit *int   `yaml:"successfulJobsHistoryLimit"`
		FailedJobsHistoryLimit     *int   `yaml:"failedJobsHistoryLimit"`
		Suspend                    *bool  `yaml:"suspend"`
		JobTemplate                struct {
			Metadata objectMeta `yaml:"metadata"`
			Spec     jobSpec    `yaml:"spec"`
		} `yaml:"jobTemplate"`
	} `yaml:"spec"`
}

type job struct {
	header `yaml:",inline"`
	Spec   jobSpec `yaml:"spec"`
}

type jobSpec struct {
	BackoffLimit            *int32 `yaml:"backoffLimit"`
	ActiveDeadlineSeconds   *int64 `yaml:"activeDeadlineSeconds"`
	TTLSecondsAfterFinished *int32 `yaml:"ttlSecondsAfterFinished"`
	PodFailurePolicy        *struct {
		Rules []struct {
			Action      string `yaml:"action"`
			OnExitCodes *struct {
				ContainerName string  `yaml:"containerName"`
				Operator      string  `yaml:"operator"`
				Values        []int32 `yaml:"values"`
			} `yaml:"onExitCodes"`
			OnPodConditions []struct {
				Type   string `yaml:"type"`
				Status string `yaml:"status"`
			} `yaml:"onPodConditions"`
		} `yaml:"rules"`
	} `yaml:"podFailurePolicy"`
	Template struct {
		Metadata objectMeta `yaml:"metadata"`
		Spec     podSpec    `yaml:"spec"`
	} `yaml:"template"`
}

type podSpec struct {
	RestartPolicy                 string      `yaml:"restartPolicy"`
	ServiceAccountName            string      `yaml:"serviceAccountName"`
	AutomountServiceAccountToken  *bool       `yaml:"automountServiceAccountToken"`
	TerminationGracePeriodSeconds *int64      `yaml:"terminationGracePeriodSeconds"`
	SecurityContext               *podSecCtx  `yaml:"securityContext"`
	Containers                    []container `yaml:"containers"`
	Volumes                       []volume    `yaml:"volumes"`
}

type podSecCtx struct {
	RunAsNonRoot   *bool  `yaml:"runAsNonRoot"`
	RunAsUser      *int64 `yaml:"runAsUser"`
	RunAsGroup     *int64 `yaml:"runAsGroup"`
	FSGroup        *int64 `yaml:"fsGroup"`
	SeccompProfile *struct {
		Type string `yaml:"type"`
	} `yaml:"seccompProfile"`
}

type container struct {
	Name            string   `yaml:"name"`
	Image           string   `yaml:"image"`
	ImagePullPolicy string   `yaml:"imagePullPolicy"`
	Command         []string `yaml:"command"`
	Args            []string `yaml:"args"`
	EnvFrom         []struct {
		ConfigMapRef *ref `yaml:"configMapRef"`
		SecretRef    *ref `yaml:"secretRef"`
	} `yaml:"envFrom"`
	Env       []envVar `yaml:"env"`
	Resources struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext *struct {
		AllowPrivilegeEscalation *bool  `yaml:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   *bool  `yaml:"readOnlyRootFilesystem"`
		RunAsNonRoot             *bool  `yaml:"runAsNonRoot"`
		RunAsUser                *int64 `yaml:"runAsUser"`
		Capabilities             *struct {
			Drop []string `yaml:"drop"`
			Add  []string `yaml:"add"`
		} `yaml:"capabilities"`
	} `yaml:"securityContext"`
	VolumeMounts []volumeMount `yaml:"volumeMounts"`
}

type volumeMount struct {
	Name      string `yaml:"name"`
	MountPath string `yaml:"mountPath"`
	ReadOnly  bool   `yaml:"readOnly"`
	SubPath   string `yaml:"subPath"`
}

type ref struct {
	Name     string `yaml:"name"`
	Optional *bool  `yaml:"optional"`
}

type keyRef struct {
	Name     string `yaml:"name"`
	Key      string `yaml:"key"`
	Optional *bool  `yaml:"optional"`
}

type envVar struct {
	Name      string `yaml:"name"`
	Value     string `yaml:"value"`
	ValueFrom *struct {
		SecretKeyRef     *keyRef `yaml:"secretKeyRef"`
		ConfigMapKeyRef  *keyRef `yaml:"configMapKeyRef"`
		ResourceFieldRef *struct {
			ContainerName string `yaml:"containerName"`
			Resource      string `yaml:"resource"`
			Divisor       string `yaml:"divisor"`
		} `yaml:"resourceFieldRef"`
	} `yaml:"valueFrom"`
}

type volume struct {
	Name   string `yaml:"name"`
	Secret *struct {
		SecretName  string `yaml:"secretName"`
		DefaultMode *int32 `yaml:"defaultMode"`
		Optional    *bool  `yaml:"optional"`
		Items       []struct {
			Key  string `yaml:"key"`
			Path string `yaml:"path"`
			Mode *int32 `yaml:"mode"`
		} `yaml:"items"`
	} `yaml:"secret"`
	EmptyDir *struct {
		Medium    string `yaml:"medium"`
		SizeLimit string `yaml:"sizeLimit"`
	} `yaml:"emptyDir"`
}

type secret struct {
	header     `yaml:",inline"`
	Type       string            `yaml:"type"`
	StringData map[string]string `yaml:"stringData"`
	Data       map[string]string `yaml:"data"`
}

type configMap struct {
	header `yaml:",inline"`
	Data   map[string]string `yaml:"data"`
}

// manifests is every object of every *.yaml file here, decoded strictly by kind.
type manifests struct {
	cronJobs   []cronJob
	jobs       []job
	secrets    map[string]secret
	configMaps map[string]configMap
}

func strictDecode(t *testing.T, where string, doc []byte, into any) {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(into); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
}

func load(t *testing.T) manifests {
	t.Helper()
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	m := manifests{secrets: map[string]secret{}, configMaps: map[string]configMap{}}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for i := 0; ; i++ {
			var node yaml.Node
			err := dec.Decode(&node)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s document %d: %v", f, i, err)
			}
			doc, err := yaml.Marshal(&node)
			if err != nil {
				t.Fatal(err)
			}
			where := fmt.Sprintf("%s document %d", f, i+1)
			var h header
			if err := node.Decode(&h); err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			if h.Metadata.Name == "" || h.Metadata.Labels["app.kubernetes.io/name"] != "pulso" {
				t.Errorf("%s: %s needs metadata.name and the app.kubernetes.io/name=pulso label", where, h.Kind)
			}
			switch h.APIVersion + " " + h.Kind {
			case "batch/v1 CronJob":
				var c cronJob
				strictDecode(t, where, doc, &c)
				m.cronJobs = append(m.cronJobs, c)
			case "batch/v1 Job":
				var j job
				strictDecode(t, where, doc, &j)
				m.jobs = append(m.jobs, j)
			case "v1 Secret":
				var s secret
				strictDecode(t, where, doc, &s)
				m.secrets[s.Metadata.Name] = s
			case "v1 ConfigMap":
				var c configMap
				strictDecode(t, where, doc, &c)
				m.configMaps[c.Metadata.Name] = c
			default:
				t.Fatalf("%s: unexpected %s %s", where, h.APIVersion, h.Kind)
			}
		}
	}
	return m
}

// configEnv is every environment variable pulso reads: PULSO_ + each key of the
// example configuration (which a cmd/pulso test keeps complete), plus the aliases.
func configEnv(t *testing.T) map[string]bool {
	t.Helper()
	data, err := os.ReadFile("../pulso.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	env := map[string]bool{"DATABASE_URL": true, "REDIS_URL": true}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			key := k
			if prefix != "" {
				key = prefix + "." + k
			}
			if sub, ok := v.(map[string]any); ok {
				walk(key, sub)
				continue
			}
			env["PULSO_"+strings.ToUpper(strings.ReplaceAll(key, ".", "_"))] = true
		}
	}
	walk("", doc)
	return env
}

// checkPod holds what every pulso pod must do: run as non-root on a read-only root
// filesystem, bounded resources, DATABASE_URL from a Secret that exists, and only
// configuration variables pulso knows.
func checkPod(t *testing.T, name string, m manifests, js jobSpec) container {
	t.Helper()
	ps := js.Template.Spec
	if ps.RestartPolicy != "Never" {
		t.Errorf("%s: restartPolicy %q, want Never (the Job retries; podFailurePolicy needs it)", name, ps.RestartPolicy)
	}
	if js.BackoffLimit == nil {
		t.Errorf("%s: backoffLimit unset", name)
	}
	if js.ActiveDeadlineSeconds == nil || *js.ActiveDeadlineSeconds <= 0 {
		t.Errorf("%s: activeDeadlineSeconds unset", name)
	}
	sc := ps.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 ||
		sc.SeccompProfile == nil || sc.SeccompProfile.Type != "RuntimeDefault" {
		t.Errorf("%s: pod securityContext must run as a non-root uid with the RuntimeDefault seccomp profile", name)
	}
	if ps.AutomountServiceAccountToken == nil || *ps.AutomountServiceAccountToken {
		t.Errorf("%s: the job needs no Kubernetes API token (automountServiceAccountToken: false)", name)
	}
	if len(ps.Containers) != 1 {
		t.Fatalf("%s: %d containers, want 1", name, len(ps.Containers))
	}
	c := ps.Containers[0]
	if c.Image == "" || strings.HasSuffix(c.Image, ":latest") || !strings.Contains(c.Image, ":") {
		t.Errorf("%s: image %q must be pinned to a tag or digest", name, c.Image)
	}
	if len(c.Command) != 0 {
		t.Errorf("%s: command overrides the image's ENTRYPOINT; use args", name)
	}
	cs := c.SecurityContext
	if cs == nil || cs.ReadOnlyRootFilesystem == nil || !*cs.ReadOnlyRootFilesystem ||
		cs.AllowPrivilegeEscalation == nil || *cs.AllowPrivilegeEscalation ||
		cs.Capabilities == nil || !slices.Equal(cs.Capabilities.Drop, []string{"ALL"}) || len(cs.Capabilities.Add) != 0 {
		t.Errorf("%s: container securityContext must set readOnlyRootFilesystem, no privilege escalation, drop ALL", name)
	}
	for _, r := range []string{"cpu", "memory"} {
		if c.Resources.Requests[r] == "" {
			t.Errorf("%s: resources.requests.%s unset", name, r)
		}
	}
	if c.Resources.Limits["memory"] == "" {
		t.Errorf("%s: resources.limits.memory unset", name)
	}

	known := configEnv(t)
	var dbURL bool
	for _, e := range c.Env {
		if (strings.HasPrefix(e.Name, "PULSO_") || e.Name == "DATABASE_URL") && !known[e.Name] {
			t.Errorf("%s: env %s is not a pulso configuration key", name, e.Name)
		}
		if e.Name == "DATABASE_URL" {
			dbURL = true
			if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
				t.Errorf("%s: DATABASE_URL must come from a Secret (secretKeyRef), never a literal", name)
				continue
			}
			ref := e.ValueFrom.SecretKeyRef
			if s, ok := m.secrets[ref.Name]; !ok {
				t.Errorf("%s: DATABASE_URL refers to Secret %q, not defined in secret.example.yaml", name, ref.Name)
			} else if _, ok := s.StringData[ref.Key]; !ok {
				t.Errorf("%s: Secret %s has no key %s", name, ref.Name, ref.Key)
			}
		}
	}
	if !dbURL {
		t.Errorf("%s: no DATABASE_URL", name)
	}
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef != nil {
			cm, ok := m.configMaps[ef.ConfigMapRef.Name]
			if !ok {
				t.Errorf("%s: envFrom ConfigMap %q not defined", name, ef.ConfigMapRef.Name)
			}
			for k := range cm.Data {
				if strings.HasPrefix(k, "PULSO_") && !known[k] {
					t.Errorf("ConfigMap %s: %s is not a pulso configuration key", cm.Metadata.Name, k)
				}
				if strings.Contains(strings.ToLower(k), "secret") || strings.Contains(k, "PASSWORD") || k == "DATABASE_URL" {
					t.Errorf("ConfigMap %s: %s belongs in a Secret", cm.Metadata.Name, k)
				}
			}
		}
		if ef.SecretRef != nil {
			if _, ok := m.secrets[ef.SecretRef.Name]; !ok {
				t.Errorf("%s: envFrom Secret %q not defined", name, ef.SecretRef.Name)
			}
		}
	}
	return c
}

func envValue(c container, name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value, true
		}
	}
	return "", false
}

func TestPipelineCronJob(t *testing.T) {
	m := load(t)
	if len(m.cronJobs) != 1 {
		t.Fatalf("%d CronJobs, want 1", len(m.cronJobs))
	}
	cj := m.cronJobs[0]
	s := cj.Spec
	if s.Schedule != "0 */3 * * *" {
		t.Errorf("schedule %q, want 0 */3 * * * (domain.md §6)", s.Schedule)
	}
	if s.ConcurrencyPolicy != "Forbid" {
		t.Errorf("concurrencyPolicy %q, want Forbid: never two pipelines", s.ConcurrencyPolicy)
	}
	if s.StartingDeadlineSeconds == nil || *s.StartingDeadlineSeconds <= 0 || *s.StartingDeadlineSeconds >= 3*3600 {
		t.Errorf("startingDeadlineSeconds must be set and shorter than the schedule interval")
	}
	if s.TimeZone != "" {
		if _, err := time.LoadLocation(s.TimeZone); err != nil {
			t.Errorf("timeZone %q: %v", s.TimeZone, err)
		}
	}
	js := s.JobTemplate.Spec
	c := checkPod(t, "CronJob "+cj.Metadata.Name, m, js)
	// A hung run must end before the next slot, or Forbid would skip slots forever.
	if js.ActiveDeadlineSeconds != nil && *js.ActiveDeadlineSeconds >= 3*3600 {
		t.Errorf("activeDeadlineSeconds %d: must end a run before the next 3-hourly slot", *js.ActiveDeadlineSeconds)
	}
	if js.BackoffLimit != nil && *js.BackoffLimit > 2 {
		t.Errorf("backoffLimit %d: retries would run into the next slot", *js.BackoffLimit)
	}
	if len(c.Args) < 3 || c.Args[0] != "run-pipeline" {
		t.Fatalf("args %v, want run-pipeline …", c.Args)
	}
	if i := slices.Index(c.Args, "--source"); i < 0 || i+1 >= len(c.Args) || c.Args[i+1] != "bigquery" {
		t.Errorf("args %v, want --source bigquery", c.Args)
	}
	if c.Resources.Limits["cpu"] == "" {
		t.Errorf("resources.limits.cpu unset")
	}
	if tg := js.Template.Spec.TerminationGracePeriodSeconds; tg == nil || *tg < 30 {
		t.Errorf("terminationGracePeriodSeconds must leave SIGTERM time to stop at a batch boundary")
	}
	// Exit codes a retry cannot fix fail the Job without one.
	var failFast []int32
	if pfp := js.PodFailurePolicy; pfp != nil {
		for _, r := range pfp.Rules {
			if r.Action == "FailJob" && r.OnExitCodes != nil && r.OnExitCodes.Operator == "In" {
				failFast = append(failFast, r.OnExitCodes.Values...)
			}
		}
	}
	for _, code := range []int32{2, 3} {
		if !slices.Contains(failFast, code) {
			t.Errorf("podFailurePolicy does not fail the Job on exit %d", code)
		}
	}

	// The BigQuery key: a Secret volume, mounted read-only, and
	// bigquery.credentials_file pointing at the file inside it.
	credFile, ok := envValue(c, "PULSO_BIGQUERY_CREDENTIALS_FILE")
	if !ok || !filepath.IsAbs(credFile) {
		t.Fatalf("PULSO_BIGQUERY_CREDENTIALS_FILE = %q, want an absolute path", credFile)
	}
	var found bool
	for _, vm := range c.VolumeMounts {
		if !strings.HasPrefix(credFile, vm.MountPath+"/") {
			continue
		}
		found = true
		if !vm.ReadOnly {
			t.Errorf("credentials mount %s is not readOnly", vm.MountPath)
		}
		idx := slices.IndexFunc(js.Template.Spec.Volumes, func(v volume) bool { return v.Name == vm.Name })
		if idx < 0 || js.Template.Spec.Volumes[idx].Secret == nil {
			t.Fatalf("credentials mount %s is not a Secret volume", vm.Name)
		}
		sv := js.Template.Spec.Volumes[idx].Secret
		if sv.DefaultMode == nil {
			t.Errorf("credentials volume: set defaultMode (0440 or stricter)")
		} else if *sv.DefaultMode&0o027 != 0 {
			t.Errorf("credentials defaultMode %#o: must not be group-writable or world-readable", *sv.DefaultMode)
		}
		rel := strings.TrimPrefix(credFile, vm.MountPath+"/")
		key := rel
		for _, it := range sv.Items {
			if it.Path == rel {
				key = it.Key
			}
		}
		sec, ok := m.secrets[sv.SecretName]
		if !ok {
			t.Fatalf("credentials Secret %q not defined", sv.SecretName)
		}
		if _, ok := sec.StringData[key]; !ok {
			t.Errorf("Secret %s has no key %q for %s", sv.SecretName, key, credFile)
		}
	}
	if !found {
		t.Errorf("no volume mounted at %s", credFile)
	}
	// A read-only root filesystem still needs a writable /tmp.
	if !slices.ContainsFunc(c.VolumeMounts, func(v volumeMount) bool { return v.MountPath == "/tmp" && !v.ReadOnly }) {
		t.Errorf("no writable /tmp mount")
	}
}

func TestMigrationJob(t *testing.T) {
	m := load(t)
	if len(m.jobs) != 1 {
		t.Fatalf("%d Jobs, want 1", len(m.jobs))
	}
	j := m.jobs[0]
	c := checkPod(t, "Job "+j.Metadata.Name, m, j.Spec)
	if !slices.Equal(c.Args, []string{"migrate", "up", "--wait"}) {
		t.Errorf("args %v, want migrate up --wait", c.Args)
	}
	if cj := m.cronJobs; len(cj) == 1 && cj[0].Spec.JobTemplate.Spec.Template.Spec.Containers[0].Image != c.Image {
		t.Errorf("migration image %s differs from the pipeline's", c.Image)
	}
}

// The example Secrets carry placeholders only.
func TestExampleSecretsArePlaceholders(t *testing.T) {
	m := load(t)
	if len(m.secrets) == 0 {
		t.Fatal("no example Secrets")
	}
	for name, s := range m.secrets {
		if len(s.Data) != 0 {
			t.Errorf("Secret %s: use stringData placeholders, not base64 data", name)
		}
		if !strings.Contains(strings.ToLower(s.Metadata.Annotations["pulso/example"]), "placeholder") {
			t.Errorf("Secret %s is not marked as an example", name)
		}
		for k, v := range s.StringData {
			if !strings.Contains(v, "CHANGE_ME") {
				t.Errorf("Secret %s key %s has no CHANGE_ME placeholder", name, k)
			}
			if strings.Contains(v, "PRIVATE KEY-----") {
				t.Errorf("Secret %s key %s holds a real-looking private key", name, k)
			}
		}
	}
}
