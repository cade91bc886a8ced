// Package k8s holds the Kubernetes manifests of pulso (the pipeline CronJob, the
// migration Job, the API Deployment and its Service); its test parses every manifest
// and checks the properties they rely on (issue 5, item 5).
//
// The manifests are decoded strictly (unknown fields fail) into the subset of the
// Kubernetes API types defined below, so a misspelt field (concurencyPolicy) is an
// error here rather than silently ignored by the API server's pruning. The checks
// report into a problems list rather than the testing.T, so that
// TestChecksCatchMutations can show each of them failing on a broken copy.
package k8s

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// What the binary does, which the manifests must fit (cmd/pulso, internal/api).
const (
	image          = "ghcr.io/pulso-cobranzas/pulso:v0.1.0" // one release for every pod
	nonrootUID     = 65532                                  // distroless "nonroot"
	serveDrain     = 15 * time.Second                       // serve's drain after SIGTERM
	childReap      = 5 * time.Second                        // then: kill and reap a triggered pipeline
	readyBudget    = 2 * time.Second                        // /health/ready's own timeout
	defaultHTTP    = ":8000"                                // http.addr
	defaultMetrics = ":9090"                                // metrics.addr
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
	Template podTemplate `yaml:"template"`
}

type deployment struct {
	header `yaml:",inline"`
	Spec   struct {
		Replicas                *int32        `yaml:"replicas"`
		RevisionHistoryLimit    *int32        `yaml:"revisionHistoryLimit"`
		MinReadySeconds         int32         `yaml:"minReadySeconds"`
		ProgressDeadlineSeconds *int32        `yaml:"progressDeadlineSeconds"`
		Paused                  bool          `yaml:"paused"`
		Selector                labelSelector `yaml:"selector"`
		Strategy                struct {
			Type          string `yaml:"type"`
			RollingUpdate *struct {
				MaxUnavailable *intOrString `yaml:"maxUnavailable"`
				MaxSurge       *intOrString `yaml:"maxSurge"`
			} `yaml:"rollingUpdate"`
		} `yaml:"strategy"`
		Template podTemplate `yaml:"template"`
	} `yaml:"spec"`
}

type service struct {
	header `yaml:",inline"`
	Spec   struct {
		Type                     string            `yaml:"type"`
		Selector                 map[string]string `yaml:"selector"`
		SessionAffinity          string            `yaml:"sessionAffinity"`
		PublishNotReadyAddresses bool              `yaml:"publishNotReadyAddresses"`
		Ports                    []struct {
			Name        string      `yaml:"name"`
			Port        int32       `yaml:"port"`
			TargetPort  intOrString `yaml:"targetPort"`
			Protocol    string      `yaml:"protocol"`
			AppProtocol string      `yaml:"appProtocol"`
		} `yaml:"ports"`
	} `yaml:"spec"`
}

type labelSelector struct {
	MatchLabels      map[string]string `yaml:"matchLabels"`
	MatchExpressions []struct {
		Key      string   `yaml:"key"`
		Operator string   `yaml:"operator"`
		Values   []string `yaml:"values"`
	} `yaml:"matchExpressions"`
}

// intOrString is Kubernetes' IntOrString: 0, "25%", 8000 or a port name.
type intOrString string

func (v *intOrString) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!str") {
		return fmt.Errorf("line %d: want an integer or a string", n.Line)
	}
	*v = intOrString(n.Value)
	return nil
}

type podTemplate struct {
	Metadata objectMeta `yaml:"metadata"`
	Spec     podSpec    `yaml:"spec"`
}

type podSpec struct {
	RestartPolicy                 string     `yaml:"restartPolicy"`
	ServiceAccountName            string     `yaml:"serviceAccountName"`
	AutomountServiceAccountToken  *bool      `yaml:"automountServiceAccountToken"`
	EnableServiceLinks            *bool      `yaml:"enableServiceLinks"`
	TerminationGracePeriodSeconds *int64     `yaml:"terminationGracePeriodSeconds"`
	SecurityContext               *podSecCtx `yaml:"securityContext"`
	TopologySpreadConstraints     []struct {
		MaxSkew           int32         `yaml:"maxSkew"`
		TopologyKey       string        `yaml:"topologyKey"`
		WhenUnsatisfiable string        `yaml:"whenUnsatisfiable"`
		LabelSelector     labelSelector `yaml:"labelSelector"`
		MatchLabelKeys    []string      `yaml:"matchLabelKeys"`
	} `yaml:"topologySpreadConstraints"`
	Containers []container `yaml:"containers"`
	Volumes    []volume    `yaml:"volumes"`
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
	Ports           []struct {
		Name          string `yaml:"name"`
		ContainerPort int32  `yaml:"containerPort"`
		Protocol      string `yaml:"protocol"`
	} `yaml:"ports"`
	EnvFrom []struct {
		ConfigMapRef *ref `yaml:"configMapRef"`
		SecretRef    *ref `yaml:"secretRef"`
	} `yaml:"envFrom"`
	Env       []envVar `yaml:"env"`
	Resources struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	StartupProbe   *probe `yaml:"startupProbe"`
	LivenessProbe  *probe `yaml:"livenessProbe"`
	ReadinessProbe *probe `yaml:"readinessProbe"`
	Lifecycle      *struct {
		PostStart *lifecycleHandler `yaml:"postStart"`
		PreStop   *lifecycleHandler `yaml:"preStop"`
	} `yaml:"lifecycle"`
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

type httpGetAction struct {
	Path   string      `yaml:"path"`
	Port   intOrString `yaml:"port"`
	Scheme string      `yaml:"scheme"`
}

type probe struct {
	HTTPGet   *httpGetAction `yaml:"httpGet"`
	TCPSocket *struct {
		Port intOrString `yaml:"port"`
	} `yaml:"tcpSocket"`
	InitialDelaySeconds int32 `yaml:"initialDelaySeconds"`
	PeriodSeconds       int32 `yaml:"periodSeconds"`
	TimeoutSeconds      int32 `yaml:"timeoutSeconds"`
	SuccessThreshold    int32 `yaml:"successThreshold"`
	FailureThreshold    int32 `yaml:"failureThreshold"`
}

type lifecycleHandler struct {
	Exec *struct {
		Command []string `yaml:"command"`
	} `yaml:"exec"`
	HTTPGet *httpGetAction `yaml:"httpGet"`
	Sleep   *struct {
		Seconds int64 `yaml:"seconds"`
	} `yaml:"sleep"`
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
	objects     []object
	cronJobs    []cronJob
	jobs        []job
	deployments []deployment
	services    []service
	secrets     map[string]secret
	configMaps  map[string]configMap
	// known is every environment variable pulso reads (configEnv).
	known map[string]bool
}

// object is where a document is and what its header says.
type object struct {
	where string
	header
}

// workload is a pod template and what it belongs to ("CronJob pulso-pipeline").
type workload struct {
	name string
	pod  podTemplate
}

func (m manifests) workloads() []workload {
	var w []workload
	for _, c := range m.cronJobs {
		w = append(w, workload{"CronJob " + c.Metadata.Name, c.Spec.JobTemplate.Spec.Template})
	}
	for _, j := range m.jobs {
		w = append(w, workload{"Job " + j.Metadata.Name, j.Spec.Template})
	}
	for _, d := range m.deployments {
		w = append(w, workload{"Deployment " + d.Metadata.Name, d.Spec.Template})
	}
	return w
}

func strictDecode(where string, doc []byte, into any) error {
	dec := yaml.NewDecoder(bytes.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(into); err != nil {
		return fmt.Errorf("%s: %v", where, err)
	}
	return nil
}

// parse decodes every document of files (name → content); known is configEnv's.
func parse(files map[string][]byte, known map[string]bool) (manifests, error) {
	m := manifests{secrets: map[string]secret{}, configMaps: map[string]configMap{}, known: known}
	for _, f := range slices.Sorted(maps.Keys(files)) {
		dec := yaml.NewDecoder(bytes.NewReader(files[f]))
		for i := 0; ; i++ {
			var node yaml.Node
			err := dec.Decode(&node)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return m, fmt.Errorf("%s document %d: %v", f, i+1, err)
			}
			doc, err := yaml.Marshal(&node)
			if err != nil {
				return m, err
			}
			where := fmt.Sprintf("%s document %d", f, i+1)
			var h header
			if err := node.Decode(&h); err != nil {
				return m, fmt.Errorf("%s: %v", where, err)
			}
			m.objects = append(m.objects, object{where, h})
			switch h.APIVersion + " " + h.Kind {
			case "batch/v1 CronJob":
				var c cronJob
				err = strictDecode(where, doc, &c)
				m.cronJobs = append(m.cronJobs, c)
			case "batch/v1 Job":
				var j job
				err = strictDecode(where, doc, &j)
				m.jobs = append(m.jobs, j)
			case "apps/v1 Deployment":
				var d deployment
				err = strictDecode(where, doc, &d)
				m.deployments = append(m.deployments, d)
			case "v1 Service":
				var s service
				err = strictDecode(where, doc, &s)
				m.services = append(m.services, s)
			case "v1 Secret":
				var s secret
				err = strictDecode(where, doc, &s)
				m.secrets[s.Metadata.Name] = s
			case "v1 ConfigMap":
				var c configMap
				err = strictDecode(where, doc, &c)
				m.configMaps[c.Metadata.Name] = c
			default:
				err = fmt.Errorf("%s: unexpected %s %s", where, h.APIVersion, h.Kind)
			}
			if err != nil {
				return m, err
			}
		}
	}
	return m, nil
}

// readFiles is every manifest in this directory.
func readFiles(t *testing.T) map[string][]byte {
	t.Helper()
	names, err := filepath.Glob("*.yaml")
	if err != nil || len(names) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	files := map[string][]byte{}
	for _, f := range names {
		if files[f], err = os.ReadFile(f); err != nil {
			t.Fatal(err)
		}
	}
	return files
}

func load(t *testing.T) manifests {
	t.Helper()
	m, err := parse(readFiles(t), configEnv(t))
	if err != nil {
		t.Fatal(err)
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

// problems is what the checks found; each is one sentence naming the object.
type problems []string

func (p *problems) add(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

func report(t *testing.T, p problems) {
	t.Helper()
	for _, s := range p {
		t.Error(s)
	}
}

// sensitive variables come from a Secret (secretKeyRef), never a literal or a ConfigMap.
var sensitive = map[string]bool{
	"DATABASE_URL": true, "PULSO_DATABASE_URL": true, "REDIS_URL": true, "PULSO_REDIS_URL": true,
	"PULSO_JWT_SECRET": true, "PULSO_BOOTSTRAP_ADMIN_EMAIL": true, "PULSO_BOOTSTRAP_ADMIN_PASSWORD": true,
}

// checkMetadata: every object is named and labelled as pulso's.
func checkMetadata(m manifests) (p problems) {
	for _, o := range m.objects {
		if o.Metadata.Name == "" || o.Metadata.Labels["app.kubernetes.io/name"] != "pulso" {
			p.add("%s: %s needs metadata.name and the app.kubernetes.io/name=pulso label", o.where, o.Kind)
		}
	}
	return p
}

// checkJob holds what a Job's pod must do besides checkPod's.
func checkJob(p *problems, name string, m manifests, js jobSpec) (container, bool) {
	if rp := js.Template.Spec.RestartPolicy; rp != "Never" {
		p.add("%s: restartPolicy %q, want Never (the Job retries; podFailurePolicy needs it)", name, rp)
	}
	if js.BackoffLimit == nil {
		p.add("%s: backoffLimit unset", name)
	}
	if js.ActiveDeadlineSeconds == nil || *js.ActiveDeadlineSeconds <= 0 {
		p.add("%s: activeDeadlineSeconds unset", name)
	}
	return checkPod(p, name, m, js.Template.Spec)
}

// checkPod holds what every pulso pod must do: run as the image's non-root user on a
// read-only root filesystem, bounded resources, DATABASE_URL and the other secrets
// from a Secret, only configuration variables pulso knows, and a GOMEMLIMIT below
// the memory limit. It returns the one container.
func checkPod(p *problems, name string, m manifests, ps podSpec) (container, bool) {
	sc := ps.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser != nonrootUID ||
		sc.SeccompProfile == nil || sc.SeccompProfile.Type != "RuntimeDefault" {
		p.add("%s: pod securityContext must run as non-root uid %d with the RuntimeDefault seccomp profile", name, nonrootUID)
	}
	if ps.AutomountServiceAccountToken == nil || *ps.AutomountServiceAccountToken {
		p.add("%s: pulso needs no Kubernetes API token (automountServiceAccountToken: false)", name)
	}
	if len(ps.Containers) != 1 {
		p.add("%s: %d containers, want 1", name, len(ps.Containers))
		return container{}, false
	}
	c := ps.Containers[0]
	if c.Image == "" || strings.HasSuffix(c.Image, ":latest") || !strings.Contains(c.Image, ":") {
		p.add("%s: image %q must be pinned to a tag or digest", name, c.Image)
	}
	if len(c.Command) != 0 {
		p.add("%s: command overrides the image's ENTRYPOINT; use args", name)
	}
	cs := c.SecurityContext
	if cs == nil || cs.ReadOnlyRootFilesystem == nil || !*cs.ReadOnlyRootFilesystem ||
		cs.AllowPrivilegeEscalation == nil || *cs.AllowPrivilegeEscalation ||
		(cs.RunAsNonRoot != nil && !*cs.RunAsNonRoot) || (cs.RunAsUser != nil && *cs.RunAsUser != nonrootUID) ||
		cs.Capabilities == nil || !slices.Equal(cs.Capabilities.Drop, []string{"ALL"}) || len(cs.Capabilities.Add) != 0 {
		p.add("%s: container securityContext must set readOnlyRootFilesystem, no privilege escalation, drop ALL", name)
	}
	for _, r := range []string{"cpu", "memory"} {
		if c.Resources.Requests[r] == "" {
			p.add("%s: resources.requests.%s unset", name, r)
		}
	}
	if c.Resources.Limits["memory"] == "" {
		p.add("%s: resources.limits.memory unset", name)
	}

	var dbURL bool
	for _, e := range c.Env {
		if (strings.HasPrefix(e.Name, "PULSO_") || e.Name == "DATABASE_URL" || e.Name == "REDIS_URL") && !m.known[e.Name] {
			p.add("%s: env %s is not a pulso configuration key", name, e.Name)
		}
		if e.Name == "DATABASE_URL" {
			dbURL = true
		}
		if sensitive[e.Name] && (e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil) {
			p.add("%s: %s must come from a Secret (secretKeyRef), never a literal", name, e.Name)
		}
	}
	if !dbURL {
		p.add("%s: no DATABASE_URL", name)
	}
	if v, ok := envValue(c, "GOMEMLIMIT"); ok {
		checkMemLimit(p, name, v, c.Resources.Limits["memory"])
	}
	return c, true
}

// checkMemLimit: the Go runtime's soft limit must sit below the container's hard one,
// or the kernel OOM-kills the process before the GC tries harder.
func checkMemLimit(p *problems, name, goMemLimit, limit string) {
	soft, err := parseGoMemLimit(goMemLimit)
	if err != nil {
		p.add("%s: GOMEMLIMIT %q: %v", name, goMemLimit, err)
		return
	}
	hard, err := parseQuantity(limit)
	if err != nil {
		p.add("%s: limits.memory %q: %v", name, limit, err)
		return
	}
	if soft >= hard {
		p.add("%s: GOMEMLIMIT %s (%d bytes) must be below limits.memory %s (%d bytes)", name, goMemLimit, soft, limit, hard)
	}
}

// parseQuantity reads a Kubernetes quantity in bytes: 256Mi, 1Gi, 500M, 1e9, 1.5Gi.
func parseQuantity(s string) (int64, error) {
	num, mult := s, 1.0
	binary := map[string]float64{"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "Pi": 1 << 50, "Ei": 1 << 60}
	decimal := map[byte]float64{'k': 1e3, 'M': 1e6, 'G': 1e9, 'T': 1e12, 'P': 1e15, 'E': 1e18}
	if len(s) > 2 && binary[s[len(s)-2:]] != 0 {
		num, mult = s[:len(s)-2], binary[s[len(s)-2:]]
	} else if i := strings.IndexAny(s, "eE"); i > 0 && i < len(s)-1 {
		exp, err := strconv.Atoi(s[i+1:])
		if err != nil {
			return 0, fmt.Errorf("not a quantity")
		}
		num, mult = s[:i], math.Pow10(exp)
	} else if len(s) > 1 && decimal[s[len(s)-1]] != 0 {
		num, mult = s[:len(s)-1], decimal[s[len(s)-1]]
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 || strings.ContainsAny(num, "eEinfINFxX") {
		return 0, fmt.Errorf("not a quantity")
	}
	return int64(math.Ceil(f * mult)), nil
}

// parseGoMemLimit reads GOMEMLIMIT as the Go runtime does: an integer count of bytes
// with an optional B, KiB, MiB, GiB or TiB suffix. "off" is no limit at all.
func parseGoMemLimit(s string) (int64, error) {
	if s == "off" {
		return math.MaxInt64, nil
	}
	num, mult := s, int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			num, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || num[0] == '+' || n > math.MaxInt64/mult {
		return 0, errors.New("want bytes with an optional B, KiB, MiB, GiB or TiB suffix, as the Go runtime reads it")
	}
	return n * mult, nil
}

func envValue(c container, name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value, true
		}
	}
	return "", false
}

// effectiveEnv is the container's literal environment: its envFrom ConfigMaps, then
// its env values, which win.
func effectiveEnv(m manifests, c container) map[string]string {
	env := map[string]string{}
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef != nil {
			maps.Copy(env, m.configMaps[ef.ConfigMapRef.Name].Data)
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			env[e.Name] = e.Value
		}
	}
	return env
}

// checkReferences: every Secret, ConfigMap and key a pod refers to is defined here
// (the examples), optional references included, so the examples stay complete.
func checkReferences(m manifests) (p problems) {
	secretHas := func(name, key string) (bool, bool) {
		s, ok := m.secrets[name]
		if !ok {
			return false, false
		}
		_, inString := s.StringData[key]
		_, inData := s.Data[key]
		return true, inString || inData
	}
	for _, w := range m.workloads() {
		for _, c := range w.pod.Spec.Containers {
			for _, e := range c.Env {
				if e.ValueFrom == nil {
					continue
				}
				if r := e.ValueFrom.SecretKeyRef; r != nil {
					switch exists, hasKey := secretHas(r.Name, r.Key); {
					case !exists:
						p.add("%s: env %s refers to Secret %q, not defined in secret.example.yaml", w.name, e.Name, r.Name)
					case !hasKey:
						p.add("%s: env %s: Secret %s has no key %s", w.name, e.Name, r.Name, r.Key)
					}
				}
				if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
					if cm, ok := m.configMaps[r.Name]; !ok {
						p.add("%s: env %s refers to ConfigMap %q, not defined", w.name, e.Name, r.Name)
					} else if _, ok := cm.Data[r.Key]; !ok {
						p.add("%s: env %s: ConfigMap %s has no key %s", w.name, e.Name, r.Name, r.Key)
					}
				}
			}
			for _, ef := range c.EnvFrom {
				if ef.ConfigMapRef != nil {
					if _, ok := m.configMaps[ef.ConfigMapRef.Name]; !ok {
						p.add("%s: envFrom ConfigMap %q not defined", w.name, ef.ConfigMapRef.Name)
					}
				}
				if ef.SecretRef != nil {
					if _, ok := m.secrets[ef.SecretRef.Name]; !ok {
						p.add("%s: envFrom Secret %q not defined", w.name, ef.SecretRef.Name)
					}
				}
			}
		}
		for _, v := range w.pod.Spec.Volumes {
			if v.Secret == nil {
				continue
			}
			if _, ok := m.secrets[v.Secret.SecretName]; !ok {
				p.add("%s: volume %s refers to Secret %q, not defined in secret.example.yaml", w.name, v.Name, v.Secret.SecretName)
				continue
			}
			for _, it := range v.Secret.Items {
				if _, hasKey := secretHas(v.Secret.SecretName, it.Key); !hasKey {
					p.add("%s: volume %s: Secret %s has no key %s", w.name, v.Name, v.Secret.SecretName, it.Key)
				}
			}
		}
	}
	return p
}

// checkConfigMaps: only keys pulso knows, and nothing that belongs in a Secret.
func checkConfigMaps(m manifests) (p problems) {
	for _, cm := range m.configMaps {
		for k := range cm.Data {
			if strings.HasPrefix(k, "PULSO_") && !m.known[k] {
				p.add("ConfigMap %s: %s is not a pulso configuration key", cm.Metadata.Name, k)
			}
			if sensitive[k] || strings.Contains(strings.ToLower(k), "secret") || strings.Contains(k, "PASSWORD") {
				p.add("ConfigMap %s: %s belongs in a Secret", cm.Metadata.Name, k)
			}
		}
	}
	return p
}

// checkImages: every pod runs the same pinned release, so the schema the API and the
// pipeline embed is the one the migration Job applied.
func checkImages(m manifests) (p problems) {
	for _, w := range m.workloads() {
		for _, c := range w.pod.Spec.Containers {
			if c.Image != image {
				p.add("%s: image %s, want %s like every other pulso pod (bump them together)", w.name, c.Image, image)
			}
		}
	}
	return p
}

// checkBigQueryKey: a Secret volume, mounted read-only, and bigquery.credentials_file
// pointing at the file inside it.
func checkBigQueryKey(p *problems, name string, m manifests, c container, volumes []volume) {
	credFile, ok := envValue(c, "PULSO_BIGQUERY_CREDENTIALS_FILE")
	if !ok || !filepath.IsAbs(credFile) {
		p.add("%s: PULSO_BIGQUERY_CREDENTIALS_FILE = %q, want an absolute path", name, credFile)
		return
	}
	var found bool
	for _, vm := range c.VolumeMounts {
		if !strings.HasPrefix(credFile, vm.MountPath+"/") {
			continue
		}
		found = true
		if !vm.ReadOnly {
			p.add("%s: credentials mount %s is not readOnly", name, vm.MountPath)
		}
		idx := slices.IndexFunc(volumes, func(v volume) bool { return v.Name == vm.Name })
		if idx < 0 || volumes[idx].Secret == nil {
			p.add("%s: credentials mount %s is not a Secret volume", name, vm.Name)
			continue
		}
		sv := volumes[idx].Secret
		if sv.DefaultMode == nil {
			p.add("%s: credentials volume: set defaultMode (0440 or stricter)", name)
		} else if *sv.DefaultMode&0o027 != 0 {
			p.add("%s: credentials defaultMode %#o: must not be group-writable or world-readable", name, *sv.DefaultMode)
		}
		rel := strings.TrimPrefix(credFile, vm.MountPath+"/")
		key := rel
		for _, it := range sv.Items {
			if it.Path == rel {
				key = it.Key
			}
		}
		if sec, ok := m.secrets[sv.SecretName]; ok {
			if _, ok := sec.StringData[key]; !ok {
				p.add("%s: Secret %s has no key %q for %s", name, sv.SecretName, key, credFile)
			}
		}
	}
	if !found {
		p.add("%s: no volume mounted at %s (PULSO_BIGQUERY_CREDENTIALS_FILE)", name, credFile)
	}
}

// checkWritableTmp: a read-only root filesystem still needs a writable /tmp.
func checkWritableTmp(p *problems, name string, c container) {
	if !slices.ContainsFunc(c.VolumeMounts, func(v volumeMount) bool { return v.MountPath == "/tmp" && !v.ReadOnly }) {
		p.add("%s: no writable /tmp mount", name)
	}
}

func checkCronJob(m manifests) (p problems) {
	if len(m.cronJobs) != 1 {
		p.add("%d CronJobs, want 1", len(m.cronJobs))
		return p
	}
	cj := m.cronJobs[0]
	name := "CronJob " + cj.Metadata.Name
	s := cj.Spec
	if s.Schedule != "0 */3 * * *" {
		p.add("%s: schedule %q, want 0 */3 * * * (domain.md §6)", name, s.Schedule)
	}
	if s.ConcurrencyPolicy != "Forbid" {
		p.add("%s: concurrencyPolicy %q, want Forbid: never two pipelines", name, s.ConcurrencyPolicy)
	}
	if s.StartingDeadlineSeconds == nil || *s.StartingDeadlineSeconds <= 0 || *s.StartingDeadlineSeconds >= 3*3600 {
		p.add("%s: startingDeadlineSeconds must be set and shorter than the schedule interval", name)
	}
	if s.TimeZone != "" {
		if _, err := time.LoadLocation(s.TimeZone); err != nil {
			p.add("%s: timeZone %q: %v", name, s.TimeZone, err)
		}
	}
	js := s.JobTemplate.Spec
	c, ok := checkJob(&p, name, m, js)
	if !ok {
		return p
	}
	// A hung run must end before the next slot, or Forbid would skip slots forever.
	if js.ActiveDeadlineSeconds != nil && *js.ActiveDeadlineSeconds >= 3*3600 {
		p.add("%s: activeDeadlineSeconds %d: must end a run before the next 3-hourly slot", name, *js.ActiveDeadlineSeconds)
	}
	if js.BackoffLimit != nil && *js.BackoffLimit > 2 {
		p.add("%s: backoffLimit %d: retries would run into the next slot", name, *js.BackoffLimit)
	}
	if len(c.Args) < 3 || c.Args[0] != "run-pipeline" {
		p.add("%s: args %v, want run-pipeline …", name, c.Args)
	}
	if i := slices.Index(c.Args, "--source"); i < 0 || i+1 >= len(c.Args) || c.Args[i+1] != "bigquery" {
		p.add("%s: args %v, want --source bigquery", name, c.Args)
	}
	if c.Resources.Limits["cpu"] == "" {
		p.add("%s: resources.limits.cpu unset", name)
	}
	if tg := js.Template.Spec.TerminationGracePeriodSeconds; tg == nil || *tg < 30 {
		p.add("%s: terminationGracePeriodSeconds must leave SIGTERM time to stop at a batch boundary", name)
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
			p.add("%s: podFailurePolicy does not fail the Job on exit %d", name, code)
		}
	}
	checkBigQueryKey(&p, name, m, c, js.Template.Spec.Volumes)
	checkWritableTmp(&p, name, c)
	return p
}

func checkMigrationJob(m manifests) (p problems) {
	if len(m.jobs) != 1 {
		p.add("%d Jobs, want 1", len(m.jobs))
		return p
	}
	j := m.jobs[0]
	name := "Job " + j.Metadata.Name
	if c, ok := checkJob(&p, name, m, j.Spec); ok && !slices.Equal(c.Args, []string{"migrate", "up", "--wait"}) {
		p.add("%s: args %v, want migrate up --wait", name, c.Args)
	}
	return p
}

// selects says whether a selector (all its labels) matches labels.
func selects(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return len(selector) > 0
}

// portOf is the port number addr (":8000", "0.0.0.0:8000") listens on.
func portOf(addr string) (int32, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(port, 10, 32)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("port %q", port)
	}
	return int32(n), nil
}

// checkProbe: an HTTP GET of path on the container's http port.
func checkProbe(p *problems, name, kind string, pr *probe, path string, ports map[string]int32) {
	if pr == nil || pr.HTTPGet == nil {
		p.add("%s: %s must GET %s on the http port", name, kind, path)
		return
	}
	g := pr.HTTPGet
	port, named := ports[string(g.Port)]
	if !named {
		n, err := strconv.ParseInt(string(g.Port), 10, 32)
		port = int32(n)
		if err != nil {
			port = -1
		}
	}
	if g.Path != path || ports["http"] == 0 || port != ports["http"] {
		p.add("%s: %s must GET %s on the http port, not %s on port %s", name, kind, path, g.Path, g.Port)
	}
}

func checkDeployment(m manifests) (p problems) {
	if len(m.deployments) != 1 {
		p.add("%d Deployments, want 1", len(m.deployments))
		return p
	}
	d := m.deployments[0]
	name := "Deployment " + d.Metadata.Name
	s := d.Spec
	if s.Replicas == nil || *s.Replicas < 2 {
		p.add("%s: replicas must be at least 2: one pod down must not take the API down", name)
	}
	if len(s.Selector.MatchExpressions) != 0 || !selects(s.Selector.MatchLabels, s.Template.Metadata.Labels) {
		p.add("%s: selector.matchLabels must be set and match the pod template's labels", name)
	}
	if s.Strategy.Type != "RollingUpdate" || s.Strategy.RollingUpdate == nil ||
		s.Strategy.RollingUpdate.MaxUnavailable == nil || *s.Strategy.RollingUpdate.MaxUnavailable != "0" {
		p.add("%s: strategy must be RollingUpdate with maxUnavailable 0: a new pod is ready before an old one goes", name)
	}
	ps := s.Template.Spec
	c, ok := checkPod(&p, name, m, ps)
	if !ok {
		return p
	}
	if len(c.Args) == 0 || c.Args[0] != "serve" {
		p.add("%s: args %v, want serve …", name, c.Args)
	}
	if ps.EnableServiceLinks == nil || *ps.EnableServiceLinks {
		p.add("%s: enableServiceLinks must be false: the pulso-api Service would inject PULSO_API_* variables", name)
	}
	if ps.RestartPolicy != "" && ps.RestartPolicy != "Always" {
		p.add("%s: restartPolicy %q, want Always", name, ps.RestartPolicy)
	}
	for _, r := range []string{"cpu", "memory"} {
		if c.Resources.Limits[r] == "" {
			p.add("%s: resources.limits.%s unset", name, r)
		}
	}
	if _, ok := envValue(c, "GOMEMLIMIT"); !ok {
		p.add("%s: set GOMEMLIMIT (~90%% of limits.memory): serve's built-in 100 MiB ignores the container's limit", name)
	}

	// The listeners and the named ports agree.
	ports := map[string]int32{}
	for _, cp := range c.Ports {
		ports[cp.Name] = cp.ContainerPort
	}
	env := effectiveEnv(m, c)
	for _, l := range []struct{ port, key, def string }{
		{"http", "PULSO_HTTP_ADDR", defaultHTTP}, {"metrics", "PULSO_METRICS_ADDR", defaultMetrics},
	} {
		addr, ok := env[l.key]
		if !ok {
			addr = l.def
		}
		want, err := portOf(addr)
		if err != nil {
			p.add("%s: %s %q: %v", name, l.key, addr, err)
			continue
		}
		if ports[l.port] != want {
			p.add("%s: container port %q is %d, but %s=%q listens on %d", name, l.port, ports[l.port], l.key, addr, want)
		}
	}
	if a := s.Template.Metadata.Annotations["prometheus.io/port"]; a != "" && a != strconv.Itoa(int(ports["metrics"])) {
		p.add("%s: annotation prometheus.io/port %q is not the metrics port %d", name, a, ports["metrics"])
	}

	// Probes: liveness never touches the database (an outage must not restart every
	// pod); readiness takes the pod out of the Service while PostgreSQL or the
	// migrations are not right.
	checkProbe(&p, name, "readinessProbe", c.ReadinessProbe, "/health/ready", ports)
	checkProbe(&p, name, "livenessProbe", c.LivenessProbe, "/health", ports)
	if c.StartupProbe != nil {
		checkProbe(&p, name, "startupProbe", c.StartupProbe, "/health", ports)
	}
	if rp := c.ReadinessProbe; rp != nil && time.Duration(max(rp.TimeoutSeconds, 1))*time.Second <= readyBudget {
		p.add("%s: readinessProbe.timeoutSeconds %d must exceed /health/ready's own %s budget", name, rp.TimeoutSeconds, readyBudget)
	}

	// Termination: the preStop sleep lets the endpoint removal reach the proxies, then
	// SIGTERM starts the drain; the grace period covers both, or SIGKILL cuts the drain.
	var sleep time.Duration
	if lc := c.Lifecycle; lc == nil || lc.PreStop == nil || lc.PreStop.Sleep == nil || lc.PreStop.Sleep.Seconds <= 0 {
		p.add("%s: lifecycle.preStop.sleep must hold SIGTERM until the endpoint is gone", name)
	} else {
		if lc.PreStop.Exec != nil {
			p.add("%s: lifecycle.preStop.exec: the distroless image has no shell or sleep binary", name)
		}
		sleep = time.Duration(lc.PreStop.Sleep.Seconds) * time.Second
	}
	if tg := ps.TerminationGracePeriodSeconds; tg == nil || time.Duration(*tg)*time.Second <= sleep+serveDrain+childReap {
		p.add("%s: terminationGracePeriodSeconds must exceed the preStop sleep (%s) + the %s drain + %s to reap a triggered pipeline",
			name, sleep, serveDrain, childReap)
	}

	// POST /api/v1/etl/trigger runs the pipeline in this container: it needs a source
	// and the BigQuery key, as the CronJob has.
	if env["PULSO_SOURCE_KIND"] != "bigquery" {
		p.add("%s: PULSO_SOURCE_KIND %q, want bigquery (from pulso-config) for a triggered pipeline", name, env["PULSO_SOURCE_KIND"])
	}
	checkBigQueryKey(&p, name, m, c, ps.Volumes)
	checkWritableTmp(&p, name, c)

	// Behind the ingress: believe X-Forwarded-For from the proxy only.
	proxies := strings.Split(env["PULSO_TRUSTED_PROXIES"], ",")
	if env["PULSO_TRUSTED_PROXIES"] == "" {
		p.add("%s: PULSO_TRUSTED_PROXIES unset: behind Traefik every client would have the proxy's address", name)
		proxies = nil
	}
	for _, pr := range proxies {
		pr = strings.TrimSpace(pr)
		if _, n, err := net.ParseCIDR(pr); err == nil {
			if ones, _ := n.Mask.Size(); ones == 0 {
				p.add("%s: PULSO_TRUSTED_PROXIES %s trusts everybody's X-Forwarded-For", name, pr)
			}
		} else if net.ParseIP(pr) == nil {
			p.add("%s: PULSO_TRUSTED_PROXIES %q is neither an IP address nor a CIDR", name, pr)
		}
	}
	return p
}

func checkServices(m manifests) (p problems) {
	if len(m.services) != 1 {
		p.add("%d Services, want 1", len(m.services))
		return p
	}
	svc := m.services[0]
	name := "Service " + svc.Metadata.Name
	s := svc.Spec
	if s.Type != "" && s.Type != "ClusterIP" {
		p.add("%s: type %s, want ClusterIP: the ingress is the way in", name, s.Type)
	}
	if s.PublishNotReadyAddresses {
		p.add("%s: publishNotReadyAddresses would route to pods whose /health/ready fails", name)
	}
	var targets []workload
	for _, w := range m.workloads() {
		if selects(s.Selector, w.pod.Metadata.Labels) {
			targets = append(targets, w)
		}
	}
	if len(targets) != 1 || !strings.HasPrefix(targets[0].name, "Deployment ") {
		names := make([]string, len(targets))
		for i, w := range targets {
			names[i] = w.name
		}
		p.add("%s: selector %v must select the API Deployment's pods and nothing else; selects %v", name, s.Selector, names)
		return p
	}
	ports := map[string]int32{}
	for _, c := range targets[0].pod.Spec.Containers {
		for _, cp := range c.Ports {
			ports[cp.Name] = cp.ContainerPort
		}
	}
	var http bool
	for _, sp := range s.Ports {
		if _, err := strconv.Atoi(string(sp.TargetPort)); err == nil || sp.TargetPort == "" {
			p.add("%s: port %s: targetPort %q must name a container port", name, sp.Name, sp.TargetPort)
		} else if ports[string(sp.TargetPort)] == 0 {
			p.add("%s: port %s: targetPort %q names no container port of %s", name, sp.Name, sp.TargetPort, targets[0].name)
		}
		if sp.Name == "http" && sp.Port == 80 && sp.TargetPort == "http" {
			http = true
		}
	}
	if !http {
		p.add("%s: no port http 80 → http", name)
	}
	return p
}

// checkSecrets: the example Secrets carry placeholders only.
func checkSecrets(m manifests) (p problems) {
	if len(m.secrets) == 0 {
		p.add("no example Secrets")
	}
	for name, s := range m.secrets {
		if len(s.Data) != 0 {
			p.add("Secret %s: use stringData placeholders, not base64 data", name)
		}
		if !strings.Contains(strings.ToLower(s.Metadata.Annotations["pulso/example"]), "placeholder") {
			p.add("Secret %s is not marked as an example", name)
		}
		for k, v := range s.StringData {
			if !strings.Contains(v, "CHANGE_ME") {
				p.add("Secret %s key %s has no CHANGE_ME placeholder", name, k)
			}
			if strings.Contains(v, "PRIVATE KEY-----") {
				p.add("Secret %s key %s holds a real-looking private key", name, k)
			}
		}
	}
	return p
}

var allChecks = []func(manifests) problems{
	checkMetadata, checkReferences, checkConfigMaps, checkImages, checkSecrets,
	checkCronJob, checkMigrationJob, checkDeployment, checkServices,
}

func TestMetadata(t *testing.T)                      { report(t, checkMetadata(load(t))) }
func TestReferencesExist(t *testing.T)               { report(t, checkReferences(load(t))) }
func TestConfigMaps(t *testing.T)                    { report(t, checkConfigMaps(load(t))) }
func TestOneImage(t *testing.T)                      { report(t, checkImages(load(t))) }
func TestExampleSecretsArePlaceholders(t *testing.T) { report(t, checkSecrets(load(t))) }
func TestPipelineCronJob(t *testing.T)               { report(t, checkCronJob(load(t))) }
func TestMigrationJob(t *testing.T)                  { report(t, checkMigrationJob(load(t))) }
func TestAPIDeployment(t *testing.T)                 { report(t, checkDeployment(load(t))) }
func TestAPIService(t *testing.T)                    { report(t, checkServices(load(t))) }

func TestParseQuantity(t *testing.T) {
	for in, want := range map[string]int64{
		"256Mi": 256 << 20, "1Gi": 1 << 30, "1.5Gi": 3 << 29, "500M": 500e6, "128974848": 128974848,
		"129e6": 129e6, "1k": 1000, "2Ki": 2048, "1E": 1e18,
	} {
		if got, err := parseQuantity(in); err != nil || got != want {
			t.Errorf("parseQuantity(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "Mi", "256MiB", "256mi", "-1Gi", "lots", "1e", "Inf"} {
		if got, err := parseQuantity(in); err == nil {
			t.Errorf("parseQuantity(%q) = %d, want an error", in, got)
		}
	}
	for in, want := range map[string]int64{
		"230MiB": 230 << 20, "900MiB": 900 << 20, "1GiB": 1 << 30, "1048576": 1 << 20, "512B": 512, "off": math.MaxInt64,
	} {
		if got, err := parseGoMemLimit(in); err != nil || got != want {
			t.Errorf("parseGoMemLimit(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "230Mi", "230M", "1.5GiB", "-1MiB", "+1MiB", "MiB", "99999999999TiB"} {
		if got, err := parseGoMemLimit(in); err == nil {
			t.Errorf("parseGoMemLimit(%q) = %d, want an error", in, got)
		}
	}
}

// TestChecksCatchMutations breaks the manifests one way at a time (a text edit of one
// file that must apply exactly once) and expects the problem naming that breakage:
// every check above can fail.
func TestChecksCatchMutations(t *testing.T) {
	files, known := readFiles(t), configEnv(t)
	run := func(files map[string][]byte) []string {
		m, err := parse(files, known)
		if err != nil {
			return []string{err.Error()}
		}
		var all []string
		for _, check := range allChecks {
			all = append(all, check(m)...)
		}
		return all
	}
	if got := run(files); len(got) != 0 {
		t.Fatalf("the manifests as they are: %q", got)
	}
	const (
		dep = "deployment.yaml"
		svc = "service.yaml"
		cj  = "cronjob.yaml"
		mj  = "migrate-job.yaml"
		cm  = "configmap.yaml"
		sec = "secret.example.yaml"
	)
	for _, tc := range []struct{ name, file, old, new, want string }{
		// Strict decoding.
		{"misspelt field", dep, "maxUnavailable: 0", "maxUnavailabe: 0", "field maxUnavailabe not found"},
		{"misspelt service field", svc, "targetPort: http", "targetport: http", "field targetport not found"},
		{"port not int or string", svc, "targetPort: metrics", "targetPort: [metrics]", "want an integer or a string"},
		{"unexpected kind", svc, "kind: Service", "kind: Endpoints", "unexpected v1 Endpoints"},
		{"no name label", svc, "metadata:\n  name: pulso-api\n  labels:\n    app.kubernetes.io/name: pulso",
			"metadata:\n  name: pulso-api\n  labels:\n    app.kubernetes.io/name: other", "app.kubernetes.io/name=pulso label"},

		// Deployment.
		{"one replica", dep, "replicas: 2", "replicas: 1", "replicas must be at least 2"},
		{"maxUnavailable 1", dep, "maxUnavailable: 0", "maxUnavailable: 1", "maxUnavailable 0"},
		{"selector off the template", dep, "matchLabels:\n      app.kubernetes.io/name: pulso\n      app.kubernetes.io/component: api",
			"matchLabels:\n      app.kubernetes.io/name: pulso\n      app.kubernetes.io/component: web", "selector.matchLabels"},
		{"args", dep, "args: [serve]", "args: [run-pipeline]", "want serve"},
		{"readiness on /health", dep, "path: /health/ready", "path: /health", "readinessProbe must GET /health/ready"},
		{"readiness on metrics", dep, "path: /health/ready\n              port: http", "path: /health/ready\n              port: metrics",
			"readinessProbe must GET /health/ready on the http port"},
		{"liveness on the database", dep, "path: /health\n              port: http\n            periodSeconds: 10",
			"path: /health/ready\n              port: http\n            periodSeconds: 10", "livenessProbe must GET /health on"},
		{"liveness by number", dep, "port: http\n            periodSeconds: 10", "port: 9090\n            periodSeconds: 10",
			"livenessProbe must GET /health on the http port"},
		{"no liveness", dep, "livenessProbe:", "x-livenessProbe:", "field x-livenessProbe not found"},
		{"readiness timeout", dep, "timeoutSeconds: 3", "timeoutSeconds: 1", "readinessProbe.timeoutSeconds"},
		{"root uid", dep, "runAsUser: 65532", "runAsUser: 0", "pod securityContext must run as non-root uid 65532"},
		{"other uid", dep, "runAsUser: 65532", "runAsUser: 1000", "non-root uid 65532"},
		{"root allowed", dep, "runAsNonRoot: true\n        runAsUser", "runAsNonRoot: false\n        runAsUser", "pod securityContext"},
		{"writable root", dep, "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "container securityContext"},
		{"privilege escalation", dep, "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true", "container securityContext"},
		{"capability", dep, "drop: [ALL]", "drop: [ALL]\n              add: [NET_ADMIN]", "container securityContext"},
		{"service token", dep, "automountServiceAccountToken: false", "automountServiceAccountToken: true", "automountServiceAccountToken"},
		{"service links", dep, "enableServiceLinks: false", "enableServiceLinks: true", "enableServiceLinks"},
		{"no memory limit", dep, "cpu: \"2\"\n              memory: 256Mi", "cpu: \"2\"", "resources.limits.memory unset"},
		{"no cpu limit", dep, "cpu: \"2\"\n", "", "resources.limits.cpu unset"},
		{"GOMEMLIMIT above the limit", dep, "value: 230MiB", "value: 300MiB", "GOMEMLIMIT 300MiB"},
		{"GOMEMLIMIT equal to the limit", dep, "value: 230MiB", "value: 256MiB", "must be below limits.memory"},
		{"GOMEMLIMIT in Kubernetes units", dep, "value: 230MiB", "value: 230Mi", "as the Go runtime reads it"},
		{"GOMEMLIMIT off", dep, "value: 230MiB", "value: \"off\"", "must be below limits.memory"},
		{"no GOMEMLIMIT", dep, "name: GOMEMLIMIT", "name: GOGC", "set GOMEMLIMIT"},
		{"limit below GOMEMLIMIT", dep, "cpu: \"2\"\n              memory: 256Mi", "cpu: \"2\"\n              memory: 200Mi", "must be below limits.memory"},
		{"short grace", dep, "terminationGracePeriodSeconds: 45", "terminationGracePeriodSeconds: 30", "terminationGracePeriodSeconds must exceed"},
		{"long sleep", dep, "seconds: 10", "seconds: 30", "terminationGracePeriodSeconds must exceed the preStop sleep (30s)"},
		{"no preStop", dep, "sleep:\n                seconds: 10", "httpGet:\n                path: /health\n                port: http",
			"lifecycle.preStop.sleep"},
		{"preStop exec", dep, "sleep:\n                seconds: 10",
			"sleep:\n                seconds: 10\n              exec:\n                command: [sleep, \"10\"]", "has no shell"},
		{"image drift", dep, "image: ghcr.io/pulso-cobranzas/pulso:v0.1.0", "image: ghcr.io/pulso-cobranzas/pulso:v0.2.0",
			"Deployment pulso-api: image ghcr.io/pulso-cobranzas/pulso:v0.2.0"},
		{"latest", dep, "pulso:v0.1.0", "pulso:latest", "must be pinned"},
		{"command", dep, "args: [serve]", "command: [/usr/local/bin/pulso]\n          args: [serve]", "command overrides"},
		{"http port drift", dep, "containerPort: 8000", "containerPort: 8080", `container port "http" is 8080`},
		{"metrics port drift", dep, "value: \":9090\"", "value: \":9091\"", `container port "metrics" is 9090`},
		{"scrape annotation", dep, "prometheus.io/port: \"9090\"", "prometheus.io/port: \"8000\"", "prometheus.io/port"},
		{"JWT secret literal", dep, "- name: PULSO_JWT_SECRET\n              valueFrom:\n                secretKeyRef:\n                  name: pulso-secrets\n                  key: PULSO_JWT_SECRET",
			"- name: PULSO_JWT_SECRET\n              value: CHANGE_ME", "PULSO_JWT_SECRET must come from a Secret"},
		{"unknown secret key", dep, "key: PULSO_JWT_SECRET", "key: JWT_SECRET", "Secret pulso-secrets has no key JWT_SECRET"},
		{"optional ref still checked", dep, "key: REDIS_URL", "key: REDIS", "Secret pulso-secrets has no key REDIS"},
		{"unknown secret", dep, "name: pulso-secrets\n                  key: PULSO_JWT_SECRET", "name: pulso-jwt\n                  key: PULSO_JWT_SECRET",
			`refers to Secret "pulso-jwt"`},
		{"unknown ConfigMap", dep, "name: pulso-config", "name: pulso-api-config", `envFrom ConfigMap "pulso-api-config" not defined`},
		{"unknown env key", dep, "name: PULSO_HTTP_ADDR", "name: PULSO_HTTP_LISTEN", "env PULSO_HTTP_LISTEN is not a pulso configuration key"},
		{"no credentials mount", dep, "mountPath: /var/run/secrets/pulso/bigquery", "mountPath: /var/run/secrets/bq", "no volume mounted at"},
		{"credentials writable", dep, "mountPath: /var/run/secrets/pulso/bigquery\n              readOnly: true",
			"mountPath: /var/run/secrets/pulso/bigquery\n              readOnly: false", "is not readOnly"},
		{"credentials world-readable", dep, "defaultMode: 0440", "defaultMode: 0444", "world-readable"},
		{"unknown credentials secret", dep, "secretName: pulso-bigquery", "secretName: bigquery", `volume bigquery-credentials refers to Secret "bigquery"`},
		{"no tmp", dep, "mountPath: /tmp", "mountPath: /scratch", "no writable /tmp"},
		{"no source for a trigger", dep, "          envFrom:\n            - configMapRef:\n                name: pulso-config\n", "", "PULSO_SOURCE_KIND"},

		// ConfigMap and Secrets.
		{"trust everybody", cm, `PULSO_TRUSTED_PROXIES: "10.42.0.0/16"`, `PULSO_TRUSTED_PROXIES: "10.42.0.0/16,0.0.0.0/0"`, "trusts everybody"},
		{"trust garbage", cm, `PULSO_TRUSTED_PROXIES: "10.42.0.0/16"`, `PULSO_TRUSTED_PROXIES: "traefik"`, "neither an IP address nor a CIDR"},
		{"trust nobody", cm, `PULSO_TRUSTED_PROXIES: "10.42.0.0/16"`, `PULSO_TRUSTED_PROXIES: ""`, "PULSO_TRUSTED_PROXIES unset"},
		{"source dir", cm, "PULSO_SOURCE_KIND: bigquery", "PULSO_SOURCE_KIND: dir", "want bigquery"},
		{"secret in ConfigMap", cm, "PULSO_HSTS: \"true\"", "PULSO_HSTS: \"true\"\n  PULSO_JWT_SECRET: x", "PULSO_JWT_SECRET belongs in a Secret"},
		{"redis in ConfigMap", cm, "PULSO_HSTS: \"true\"", "PULSO_HSTS: \"true\"\n  REDIS_URL: redis://r:6379", "REDIS_URL belongs in a Secret"},
		{"unknown ConfigMap key", cm, "PULSO_HSTS:", "PULSO_HSTS_ENABLED:", "PULSO_HSTS_ENABLED is not a pulso configuration key"},
		{"example key missing", sec, "  PULSO_JWT_SECRET: \"CHANGE_ME\"\n", "", "Secret pulso-secrets has no key PULSO_JWT_SECRET"},
		{"real-looking secret", sec, `PULSO_JWT_SECRET: "CHANGE_ME"`, `PULSO_JWT_SECRET: "s3cr3t"`, "no CHANGE_ME placeholder"},
		{"base64 data", sec, "stringData:\n  # Every pod", "data:\n  X: Q0hBTkdFX01F\nstringData:\n  # Every pod", "not base64 data"},

		// Service.
		{"selects nothing", svc, "  selector:\n    app.kubernetes.io/name: pulso\n    app.kubernetes.io/component: api",
			"  selector:\n    app.kubernetes.io/name: pulso\n    app.kubernetes.io/component: web", "must select the API Deployment's pods"},
		{"selects the jobs too", svc, "  selector:\n    app.kubernetes.io/name: pulso\n    app.kubernetes.io/component: api",
			"  selector:\n    app.kubernetes.io/name: pulso", "selects [CronJob pulso-pipeline Job pulso-migrate Deployment pulso-api]"},
		{"target port name", svc, "targetPort: http", "targetPort: web", `targetPort "web" names no container port`},
		{"target port number", svc, "targetPort: metrics", "targetPort: 9090", `targetPort "9090" must name a container port`},
		{"no http port", svc, "port: 80", "port: 8080", "no port http 80"},
		{"LoadBalancer", svc, "type: ClusterIP", "type: LoadBalancer", "want ClusterIP"},
		{"not-ready endpoints", svc, "type: ClusterIP", "type: ClusterIP\n  publishNotReadyAddresses: true", "publishNotReadyAddresses"},

		// The CronJob and the migration Job.
		{"schedule", cj, `schedule: "0 */3 * * *"`, `schedule: "0 * * * *"`, "schedule"},
		{"concurrency", cj, "concurrencyPolicy: Forbid", "concurrencyPolicy: Allow", "want Forbid"},
		{"deadline past the slot", cj, "activeDeadlineSeconds: 9000", "activeDeadlineSeconds: 10800", "before the next 3-hourly slot"},
		{"exit 3 retried", cj, "values: [2, 3, 4]", "values: [2, 4]", "does not fail the Job on exit 3"},
		{"pipeline GOMEMLIMIT", cj, "value: 900MiB", "value: 1GiB", "GOMEMLIMIT 1GiB"},
		{"pipeline image", cj, "image: ghcr.io/pulso-cobranzas/pulso:v0.1.0", "image: ghcr.io/pulso-cobranzas/pulso:v0.1.1", "CronJob pulso-pipeline: image"},
		{"pipeline DATABASE_URL literal", cj, "- name: DATABASE_URL\n                  valueFrom:\n                    secretKeyRef:\n                      name: pulso-secrets\n                      key: DATABASE_URL",
			"- name: DATABASE_URL\n                  value: postgres://x", "DATABASE_URL must come from a Secret"},
		{"migration args", mj, "args: [migrate, up, --wait]", "args: [migrate, up]", "want migrate up --wait"},
		{"migration image", mj, "image: ghcr.io/pulso-cobranzas/pulso:v0.1.0", "image: ghcr.io/pulso-cobranzas/pulso:v0.0.9", "Job pulso-migrate: image"},
		{"migration restarts", mj, "restartPolicy: Never", "restartPolicy: OnFailure", "restartPolicy \"OnFailure\""},
		{"migration without retries", mj, "  backoffLimit: 2\n", "", "backoffLimit unset"},
		{"migration without deadline", mj, "  activeDeadlineSeconds: 10800\n", "", "activeDeadlineSeconds unset"},
		{"late start", cj, "startingDeadlineSeconds: 1800", "startingDeadlineSeconds: 10800", "startingDeadlineSeconds must be set"},
		{"time zone", cj, `timeZone: "America/Lima"`, `timeZone: "America/Lim"`, `timeZone "America/Lim"`},
		{"retries past the slot", cj, "backoffLimit: 1", "backoffLimit: 3", "retries would run into the next slot"},
		{"pipeline args", cj, "- run-pipeline", "- pipeline", "want run-pipeline"},
		{"pipeline source", cj, "- bigquery", "- dir", "want --source bigquery"},
		{"pipeline cpu limit", cj, "cpu: \"2\"\n", "", "resources.limits.cpu unset"},
		{"pipeline grace", cj, "terminationGracePeriodSeconds: 120", "terminationGracePeriodSeconds: 10", "stop at a batch boundary"},

		// More of the Deployment: references, probes, listeners.
		{"readiness by TCP", dep, "httpGet:\n              path: /health/ready\n              port: http", "tcpSocket:\n              port: http",
			"readinessProbe must GET /health/ready on the http port"},
		{"no cpu request", dep, "cpu: 250m\n", "", "resources.requests.cpu unset"},
		{"no DATABASE_URL", dep, "- name: DATABASE_URL\n", "- name: PULSO_DATABASE_URL\n", "no DATABASE_URL"},
		{"restartPolicy", dep, "      automountServiceAccountToken: false\n", "      automountServiceAccountToken: false\n      restartPolicy: OnFailure\n",
			`restartPolicy "OnFailure", want Always`},
		{"bad listener", dep, "value: \":8000\"", "value: \"8000\"", `PULSO_HTTP_ADDR "8000"`},
		{"unknown ConfigMap key ref", dep, "            - name: GOMEMLIMIT\n",
			"            - name: PULSO_LOG_LEVEL\n              valueFrom:\n                configMapKeyRef:\n                  name: pulso-config\n                  key: LOG_LEVEL\n            - name: GOMEMLIMIT\n",
			"ConfigMap pulso-config has no key LOG_LEVEL"},
		{"unknown ConfigMap ref", dep, "            - name: GOMEMLIMIT\n",
			"            - name: PULSO_LOG_LEVEL\n              valueFrom:\n                configMapKeyRef:\n                  name: pulso-cfg\n                  key: PULSO_LOG_LEVEL\n            - name: GOMEMLIMIT\n",
			`refers to ConfigMap "pulso-cfg"`},
		{"unknown envFrom Secret", dep, "                name: pulso-config\n", "                name: pulso-config\n            - secretRef:\n                name: pulso-env\n",
			`envFrom Secret "pulso-env" not defined`},
		{"unknown credentials key", dep, "- key: credentials.json", "- key: key.json", "Secret pulso-bigquery has no key key.json"},
		{"relative credentials path", dep, "value: /var/run/secrets/pulso/bigquery/credentials.json", "value: credentials.json", "want an absolute path"},
		{"credentials without mode", dep, "            defaultMode: 0440\n", "", "set defaultMode"},
		{"credentials not a Secret", dep, "        - name: bigquery-credentials\n          secret:\n            secretName: pulso-bigquery\n            defaultMode: 0440\n            items:\n              - key: credentials.json\n                path: credentials.json\n",
			"        - name: bigquery-credentials\n          emptyDir: {}\n", "is not a Secret volume"},
		{"secret not marked", sec, "  name: pulso-bigquery\n  labels:\n    app.kubernetes.io/name: pulso\n  annotations:\n    pulso/example: \"placeholders only",
			"  name: pulso-bigquery\n  labels:\n    app.kubernetes.io/name: pulso\n  annotations:\n    pulso/example: \"examples only", "Secret pulso-bigquery is not marked"},
		{"sidecar", dep, "      containers:\n", "      containers:\n        - name: proxy\n          image: envoyproxy/envoy:v1.31.0\n", "2 containers, want 1"},
		{"second Service", svc, "      targetPort: metrics\n      protocol: TCP\n",
			"      targetPort: metrics\n      protocol: TCP\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: pulso-api-2\n  labels:\n    app.kubernetes.io/name: pulso\n",
			"2 Services, want 1"},
		{"private key", sec, `"private_key": "CHANGE_ME"`, `"private_key": "-----BEGIN PRIVATE KEY-----CHANGE_ME"`, "real-looking private key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, ok := files[tc.file]
			if !ok {
				t.Fatalf("no %s", tc.file)
			}
			if n := bytes.Count(data, []byte(tc.old)); n != 1 {
				t.Fatalf("%q occurs %d times in %s, want exactly once", tc.old, n, tc.file)
			}
			mutated := maps.Clone(files)
			mutated[tc.file] = bytes.Replace(data, []byte(tc.old), []byte(tc.new), 1)
			got := run(mutated)
			if !slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, tc.want) }) {
				t.Errorf("no problem mentions %q; got %q", tc.want, got)
			}
		})
	}
}
