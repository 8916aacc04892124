package validate

import (
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
)

const (
	manifestDir = "../kubernetes"
	secretName  = "statusbridge-secrets"
	appName     = "statusbridge"
)

// notInKustomization lists the files that must stay out of the default
// kustomization: placeholders and resources that need a CRD.
var notInKustomization = []string{"secret.example.yaml", "servicemonitor.yaml", "prometheusrule.yaml"}

// contractSettings is the configuration contract the packaging was written
// against; the settings table in package main, when present, is the source of
// truth and must include all of these.
var contractSettings = []string{
	"SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "SLACK_API_URL",
	"REDIS_URL", "STATUSBRIDGE_DATA_DIR", "STATUSBRIDGE_LISTEN",
	"STATUSBRIDGE_METRICS_LISTEN", "STATUSBRIDGE_DRY_RUN", "STATUSBRIDGE_GRAPH_URL",
	"STATUSBRIDGE_LOG_FORMAT", "STATUSBRIDGE_LOG_LEVEL",
}

// azureSettings are read by azidentity itself, not by statusbridge's code.
var azureSettings = []string{
	"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH",
	"AZURE_AUTHORITY_HOST",
}

// runtimeSettings are the Go runtime's, which the manifests may set.
var runtimeSettings = []string{"GOMEMLIMIT", "GOMAXPROCS", "GOGC"}

var secretPattern = regexp.MustCompile(`SECRET|TOKEN|PASSWORD|PASSWD|_KEY$`)

// secretSetting tells whether an environment variable holds a credential
// and so must come from a Secret: marked secret in package main's settings
// table, or named like one.
func secretSetting(t *testing.T, name string) bool {
	return codeSettings(t).secret[name] || name == "REDIS_URL" || secretPattern.MatchString(name)
}

// knownSetting tells whether name is a setting statusbridge or its runtime reads.
func knownSetting(t *testing.T, name string) bool {
	cs := codeSettings(t)
	if cs.found {
		if slices.Contains(cs.names, name) {
			return true
		}
	} else if slices.Contains(contractSettings, name) {
		return true
	}
	return slices.Contains(azureSettings, name) || slices.Contains(runtimeSettings, name)
}

// manifests holds the decoded manifests, loaded once.
type manifests struct {
	objs []Object
}

func load(t *testing.T) manifests {
	t.Helper()
	objs, err := LoadDir(manifestDir)
	if err != nil {
		t.Fatalf("decoding manifests: %v", err)
	}
	if len(objs) == 0 {
		t.Fatal("no manifests found")
	}
	return manifests{objs: objs}
}

// one returns the only object of type T named name.
func one[T any](t *testing.T, m manifests, name string) (*T, Object) {
	t.Helper()
	var found []Object
	for _, o := range m.objs {
		v, ok := o.Value.(*T)
		if !ok {
			continue
		}
		if objectName(v) == name {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		var zero T
		t.Fatalf("want exactly one %T named %q, found %d", zero, name, len(found))
	}
	return found[0].Value.(*T), found[0]
}

func objectName(v any) string {
	if o, ok := v.(interface{ GetName() string }); ok {
		return o.GetName()
	}
	return ""
}

func TestManifestsDecodeStrictly(t *testing.T) {
	m := load(t)
	for _, o := range m.objs {
		meta, ok := o.Value.(metav1.Object)
		if !ok {
			continue // Kustomization has no metadata.
		}
		for _, msg := range validation.IsDNS1123Subdomain(meta.GetName()) {
			t.Errorf("%s: name %q: %s", o, meta.GetName(), msg)
		}
		for k, v := range meta.GetLabels() {
			for _, msg := range validation.IsQualifiedName(k) {
				t.Errorf("%s: label key %q: %s", o, k, msg)
			}
			for _, msg := range validation.IsValidLabelValue(v) {
				t.Errorf("%s: label %q value %q: %s", o, k, v, msg)
			}
		}
	}
}

// TestStrictDecodingCatchesMistakes shows that the decoder used above fails
// on the mistakes it is there to catch.
func TestStrictDecodingCatchesMistakes(t *testing.T) {
	good, err := os.ReadFile(filepath.Join(manifestDir, "deployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Decode(good); err != nil {
		t.Fatalf("deployment.yaml: %v", err)
	}
	for name, edit := range map[string][2]string{
		"misspelt field":     {"  replicas: 2\n", "  replica: 2\n"},
		"wrong case":         {"  replicas: 2\n", "  Replicas: 2\n"},
		"duplicate field":    {"  replicas: 2\n", "  replicas: 2\n  replicas: 3\n"},
		"wrong type":         {"  replicas: 2\n", "  replicas: two\n"},
		"unknown apiVersion": {"apiVersion: apps/v1\n", "apiVersion: apps/v1beta9\n"},
		"nested typo":        {"readOnlyRootFilesystem: true", "readOnlyRootFileSystem: true"},
	} {
		t.Run(name, func(t *testing.T) {
			bad := strings.Replace(string(good), edit[0], edit[1], 1)
			if bad == string(good) {
				t.Fatalf("deployment.yaml no longer contains %q", edit[0])
			}
			if _, _, err := Decode([]byte(bad)); err == nil {
				t.Errorf("decoding with %q instead of %q succeeded", edit[1], edit[0])
			} else {
				t.Logf("rejected: %v", err)
			}
		})
	}
}

func TestKustomizations(t *testing.T) {
	m := load(t)
	n := 0
	for _, o := range m.objs {
		k, ok := o.Value.(*Kustomization)
		if !ok {
			continue
		}
		n++
		dir := path.Dir(o.Path)
		entries, err := os.ReadDir(filepath.Join(manifestDir, dir))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range k.Resources {
			if _, err := os.Stat(filepath.Join(manifestDir, dir, r)); err != nil {
				t.Errorf("%s: resource %q: %v", o.Path, r, err)
			}
			if slices.Contains(notInKustomization, path.Base(r)) {
				t.Errorf("%s: %q must not be among the resources", o.Path, r)
			}
		}
		for _, e := range entries {
			f := e.Name()
			if e.IsDir() || f == "kustomization.yaml" || !strings.HasSuffix(f, ".yaml") {
				continue
			}
			if !slices.Contains(k.Resources, f) && !slices.Contains(notInKustomization, f) {
				t.Errorf("%s: %s is neither a resource nor an optional extra", o.Path, f)
			}
		}
		for _, im := range k.Images {
			if im.Digest == "" && (im.NewTag == "" || im.NewTag == "latest") {
				t.Errorf("%s: image %q: pin newTag or digest (not latest)", o.Path, im.Name)
			}
		}
	}
	if n == 0 {
		t.Fatal("no kustomization.yaml found")
	}
	// Secrets are created out of band, never by the kustomization.
	for _, o := range m.objs {
		if _, ok := o.Value.(*corev1.Secret); ok && path.Base(o.Path) != "secret.example.yaml" {
			t.Errorf("%s: a Secret outside secret.example.yaml", o)
		}
	}
}

func rootKustomization(t *testing.T, m manifests) *Kustomization {
	t.Helper()
	for _, o := range m.objs {
		if k, ok := o.Value.(*Kustomization); ok && o.Path == "kustomization.yaml" {
			return k
		}
	}
	t.Fatal("no kustomization.yaml at the manifest root")
	return nil
}

func TestDeployment(t *testing.T) {
	m := load(t)
	d, _ := one[appsv1.Deployment](t, m, appName)
	pod := d.Spec.Template
	podLabels := labels.Set(pod.Labels)

	if d.Spec.Replicas == nil {
		t.Error("replicas not set (defaults to 1), want >= 2")
	} else if *d.Spec.Replicas < 2 {
		t.Errorf("replicas = %d, want >= 2", *d.Spec.Replicas)
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || sel.Empty() || !sel.Matches(podLabels) {
		t.Errorf("selector %v does not match pod labels %v (%v)", d.Spec.Selector, pod.Labels, err)
	}
	if ru := d.Spec.Strategy.RollingUpdate; ru != nil && ru.MaxUnavailable != nil && ru.MaxUnavailable.IntValue() != 0 {
		t.Errorf("rollingUpdate.maxUnavailable = %v, want 0", ru.MaxUnavailable)
	}

	// Spread across nodes.
	spread := false
	for _, c := range pod.Spec.TopologySpreadConstraints {
		s, err := metav1.LabelSelectorAsSelector(c.LabelSelector)
		if err != nil || !s.Matches(podLabels) {
			t.Errorf("topologySpreadConstraint %s: selector does not match the pods", c.TopologyKey)
		}
		spread = spread || c.TopologyKey == "kubernetes.io/hostname"
	}
	if a := pod.Spec.Affinity; a != nil && a.PodAntiAffinity != nil {
		spread = true
	}
	if !spread {
		t.Error("no topologySpreadConstraint on kubernetes.io/hostname and no pod anti-affinity")
	}

	ps := pod.Spec.SecurityContext
	if ps == nil || ps.RunAsNonRoot == nil || !*ps.RunAsNonRoot {
		t.Error("pod securityContext.runAsNonRoot must be true")
	}
	if ps == nil || ps.SeccompProfile == nil || ps.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Error("pod securityContext.seccompProfile.type must be RuntimeDefault")
	}
	if pod.Spec.AutomountServiceAccountToken == nil || *pod.Spec.AutomountServiceAccountToken {
		t.Error("automountServiceAccountToken must be false: statusbridge does not talk to the Kubernetes API")
	}

	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("want one container, got %d", len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	checkImage(t, c.Image, rootKustomization(t, m))
	checkContainerSecurity(t, c)
	checkResources(t, c)

	// Listeners, ports and probes agree.
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		if _, dup := env[e.Name]; dup {
			t.Errorf("env %s set twice", e.Name)
		}
		env[e.Name] = e
	}
	httpPort := containerPort(t, c, "http")
	if got := listenPort(t, env, "STATUSBRIDGE_LISTEN", 8080); got != httpPort {
		t.Errorf("STATUSBRIDGE_LISTEN port %d != container port http %d", got, httpPort)
	}
	metricsPort := httpPort
	if _, ok := env["STATUSBRIDGE_METRICS_LISTEN"]; ok {
		metricsPort = containerPort(t, c, "metrics")
		if got := listenPort(t, env, "STATUSBRIDGE_METRICS_LISTEN", 0); got != metricsPort {
			t.Errorf("STATUSBRIDGE_METRICS_LISTEN port %d != container port metrics %d", got, metricsPort)
		}
	}
	checkProbe(t, "livenessProbe", c.LivenessProbe, "/healthz", c, httpPort)
	checkProbe(t, "readinessProbe", c.ReadinessProbe, "/readyz", c, httpPort)
	if c.StartupProbe != nil {
		checkProbe(t, "startupProbe", c.StartupProbe, "/healthz", c, httpPort)
	}

	// Prometheus scrape annotations point at /metrics on its port.
	ann := pod.Annotations
	if ann["prometheus.io/scrape"] != "true" {
		t.Error(`pod annotation prometheus.io/scrape must be "true"`)
	}
	if ann["prometheus.io/port"] != strconv.Itoa(int(metricsPort)) {
		t.Errorf("pod annotation prometheus.io/port = %q, want %d", ann["prometheus.io/port"], metricsPort)
	}
	if p, ok := ann["prometheus.io/path"]; ok && p != "/metrics" {
		t.Errorf("pod annotation prometheus.io/path = %q, want /metrics", p)
	}

	// readOnlyRootFilesystem leaves no writable /tmp unless one is mounted.
	tmp := false
	for _, vm := range c.VolumeMounts {
		tmp = tmp || vm.MountPath == "/tmp"
	}
	if !tmp {
		t.Error("no volume mounted at /tmp")
	}

	// Kubernetes kills the pod after terminationGracePeriodSeconds; the bridge
	// must have finished its own shutdown grace by then.
	grace := codeSettings(t).def["STATUSBRIDGE_SHUTDOWN_GRACE"]
	if e, ok := env["STATUSBRIDGE_SHUTDOWN_GRACE"]; ok {
		grace = e.Value
	}
	if grace != "" {
		g, err := time.ParseDuration(grace)
		if err != nil {
			t.Fatalf("STATUSBRIDGE_SHUTDOWN_GRACE %q: %v", grace, err)
		}
		tgp := int64(corev1.DefaultTerminationGracePeriodSeconds)
		if p := pod.Spec.TerminationGracePeriodSeconds; p != nil {
			tgp = *p
		}
		if time.Duration(tgp)*time.Second < g+5*time.Second {
			t.Errorf("terminationGracePeriodSeconds %d leaves under 5s beyond STATUSBRIDGE_SHUTDOWN_GRACE %s", tgp, g)
		}
	}

	checkEnv(t, m, c)
}

func checkImage(t *testing.T, image string, k *Kustomization) {
	t.Helper()
	name, tag, digest := splitImage(image)
	if digest == "" && (tag == "" || tag == "latest") {
		t.Errorf("image %q: pin a tag or digest, not latest", image)
	}
	for _, im := range k.Images {
		if im.Name == name {
			return
		}
	}
	t.Errorf("image %q: kustomization.yaml has no images entry named %q to set its tag", image, name)
}

// splitImage splits an image reference into name, tag and digest.
func splitImage(ref string) (name, tag, digest string) {
	name = ref
	if i := strings.Index(name, "@"); i >= 0 {
		name, digest = name[:i], name[i+1:]
	}
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name, tag = name[:i], name[i+1:]
	}
	return name, tag, digest
}

func checkContainerSecurity(t *testing.T, c corev1.Container) {
	t.Helper()
	sc := c.SecurityContext
	if sc == nil {
		t.Fatalf("container %s: no securityContext", c.Name)
	}
	if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Errorf("container %s: runAsNonRoot must be true", c.Name)
	}
	if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
		t.Errorf("container %s: runAsUser 0", c.Name)
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("container %s: readOnlyRootFilesystem must be true", c.Name)
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("container %s: allowPrivilegeEscalation must be false", c.Name)
	}
	if sc.Privileged != nil && *sc.Privileged {
		t.Errorf("container %s: privileged", c.Name)
	}
	if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
		t.Errorf("container %s: capabilities must drop ALL and add none", c.Name)
	}
	if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("container %s: seccompProfile.type must be RuntimeDefault", c.Name)
	}
}

func checkResources(t *testing.T, c corev1.Container) {
	t.Helper()
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		q, ok := c.Resources.Requests[r]
		if !ok || q.IsZero() {
			t.Errorf("container %s: resources.requests.%s not set", c.Name, r)
			continue
		}
		if l, ok := c.Resources.Limits[r]; ok && l.Cmp(q) < 0 {
			t.Errorf("container %s: %s limit %s below request %s", c.Name, r, l.String(), q.String())
		}
	}
	if l, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok || l.IsZero() {
		t.Errorf("container %s: resources.limits.memory not set", c.Name)
	}
}

// containerPort returns the number of the container's port with that name.
func containerPort(t *testing.T, c corev1.Container, name string) int32 {
	t.Helper()
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	t.Fatalf("container %s has no port named %q", c.Name, name)
	return 0
}

// resolvePort turns a port given by name or number into the container's port number.
func resolvePort(c corev1.Container, p intstr.IntOrString) (int32, bool) {
	if p.Type == intstr.Int {
		for _, cp := range c.Ports {
			if cp.ContainerPort == p.IntVal {
				return cp.ContainerPort, true
			}
		}
		return p.IntVal, false
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return cp.ContainerPort, true
		}
	}
	return 0, false
}

// listenPort returns the port of a host:port listen address in env, or def when unset.
func listenPort(t *testing.T, env map[string]corev1.EnvVar, name string, def int32) int32 {
	t.Helper()
	e, ok := env[name]
	if !ok {
		return def
	}
	_, p, err := net.SplitHostPort(e.Value)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, e.Value, err)
	}
	n, err := strconv.ParseInt(p, 10, 32)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, e.Value, err)
	}
	return int32(n)
}

func checkProbe(t *testing.T, what string, p *corev1.Probe, wantPath string, c corev1.Container, wantPort int32) {
	t.Helper()
	if p == nil || p.HTTPGet == nil {
		t.Errorf("%s: want an httpGet probe on %s", what, wantPath)
		return
	}
	if p.HTTPGet.Path != wantPath {
		t.Errorf("%s: path %q, want %q", what, p.HTTPGet.Path, wantPath)
	}
	port, ok := resolvePort(c, p.HTTPGet.Port)
	if !ok || port != wantPort {
		t.Errorf("%s: port %s is not the container's listener port %d", what, p.HTTPGet.Port.String(), wantPort)
	}
	if p.HTTPGet.Scheme != "" && p.HTTPGet.Scheme != corev1.URISchemeHTTP {
		t.Errorf("%s: scheme %s, want HTTP", what, p.HTTPGet.Scheme)
	}
}

func checkEnv(t *testing.T, m manifests, c corev1.Container) {
	t.Helper()
	secret, _ := one[corev1.Secret](t, m, secretName)
	keys := map[string]bool{}
	for k := range secret.StringData {
		keys[k] = true
	}
	for k := range secret.Data {
		keys[k] = true
	}
	if len(c.EnvFrom) > 0 {
		t.Error("envFrom: name each setting with env so that every credential is a secretKeyRef")
	}
	for _, e := range c.Env {
		if !knownSetting(t, e.Name) {
			t.Errorf("env %s is not a statusbridge setting", e.Name)
		}
		ref := (*corev1.SecretKeySelector)(nil)
		if e.ValueFrom != nil {
			ref = e.ValueFrom.SecretKeyRef
		}
		if secretSetting(t, e.Name) && (ref == nil || e.Value != "") {
			t.Errorf("env %s holds a credential: it must come from a secretKeyRef", e.Name)
		}
		if ref == nil {
			continue
		}
		if ref.Name != secretName {
			t.Errorf("env %s: secretKeyRef names Secret %q, want %q", e.Name, ref.Name, secretName)
		}
		if !keys[ref.Key] {
			t.Errorf("env %s: key %q is missing from secret.example.yaml", e.Name, ref.Key)
		}
	}
	for _, must := range []string{"SLACK_BOT_TOKEN", "REDIS_URL"} {
		if !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == must }) {
			t.Errorf("env %s is not set", must)
		}
	}
}

func TestSecretExampleHoldsPlaceholdersOnly(t *testing.T) {
	m := load(t)
	s, o := one[corev1.Secret](t, m, secretName)
	if path.Base(o.Path) != "secret.example.yaml" {
		t.Errorf("Secret %s lives in %s, want secret.example.yaml", secretName, o.Path)
	}
	values := map[string]string{}
	for k, v := range s.StringData {
		values[k] = v
	}
	for k, v := range s.Data {
		values[k] = string(v)
	}
	if len(values) == 0 {
		t.Fatal("the example Secret lists no keys")
	}
	for k, v := range values {
		if k == "REDIS_URL" {
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
				t.Errorf("%s: %q is not a redis:// URL", k, v)
			} else if _, hasPass := u.User.Password(); hasPass {
				t.Errorf("%s: the example holds a password", k)
			}
			continue
		}
		if v != "REPLACE_ME" {
			t.Errorf("%s: want the placeholder REPLACE_ME, got a value", k)
		}
	}
}

func TestServiceAndPodDisruptionBudget(t *testing.T) {
	m := load(t)
	d, _ := one[appsv1.Deployment](t, m, appName)
	podLabels := labels.Set(d.Spec.Template.Labels)
	c := d.Spec.Template.Spec.Containers[0]

	svc, _ := one[corev1.Service](t, m, appName)
	if len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(podLabels) {
		t.Errorf("Service selector %v does not match pod labels %v", svc.Spec.Selector, podLabels)
	}
	names := map[string]bool{}
	for _, p := range svc.Spec.Ports {
		names[p.Name] = true
		if _, ok := resolvePort(c, p.TargetPort); !ok {
			t.Errorf("Service port %s: targetPort %s is no container port", p.Name, p.TargetPort.String())
		}
	}
	if !names["http"] {
		t.Error("Service has no port named http")
	}

	pdb, _ := one[policyv1.PodDisruptionBudget](t, m, appName)
	if pdb.Spec.MinAvailable == nil || *pdb.Spec.MinAvailable != intstr.FromInt32(1) {
		t.Errorf("PodDisruptionBudget minAvailable = %v, want 1", pdb.Spec.MinAvailable)
	}
	if d.Spec.Replicas != nil && pdb.Spec.MinAvailable != nil && pdb.Spec.MinAvailable.IntValue() >= int(*d.Spec.Replicas) {
		t.Error("PodDisruptionBudget minAvailable leaves no pod to evict")
	}
	sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	if err != nil || sel.Empty() || !sel.Matches(podLabels) {
		t.Errorf("PodDisruptionBudget selector %v does not match pod labels %v (%v)", pdb.Spec.Selector, podLabels, err)
	}
	dsel, _ := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if sel.String() != dsel.String() {
		t.Errorf("PodDisruptionBudget selector %q differs from the Deployment's %q", sel, dsel)
	}
}

func TestServiceMonitor(t *testing.T) {
	m := load(t)
	sm, _ := one[ServiceMonitor](t, m, appName)
	svc, _ := one[corev1.Service](t, m, appName)
	ns := rootKustomization(t, m).Namespace

	sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
	if err != nil || sel.Empty() || !sel.Matches(labels.Set(svc.Labels)) {
		t.Errorf("ServiceMonitor selector %v does not match the Service's labels %v (%v)", sm.Spec.Selector, svc.Labels, err)
	}
	if sm.Namespace != ns {
		t.Errorf("ServiceMonitor namespace %q, want %q", sm.Namespace, ns)
	}
	if nsel := sm.Spec.NamespaceSelector; nsel != nil && !nsel.Any && !slices.Contains(nsel.MatchNames, ns) {
		t.Errorf("ServiceMonitor namespaceSelector %v misses %q", nsel.MatchNames, ns)
	}
	if len(sm.Spec.Endpoints) == 0 {
		t.Fatal("ServiceMonitor has no endpoints")
	}
	for _, ep := range sm.Spec.Endpoints {
		if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == ep.Port }) {
			t.Errorf("ServiceMonitor endpoint port %q is not a Service port name", ep.Port)
		}
		if ep.Path != "" && ep.Path != "/metrics" {
			t.Errorf("ServiceMonitor endpoint path %q, want /metrics", ep.Path)
		}
	}
}

func TestRedisStarterKeepsEveryUpdate(t *testing.T) {
	m := load(t)
	var found bool
	for _, o := range m.objs {
		ss, ok := o.Value.(*appsv1.StatefulSet)
		if !ok {
			continue
		}
		for _, c := range ss.Spec.Template.Spec.Containers {
			if !strings.HasPrefix(c.Image, "redis") {
				continue
			}
			found = true
			args := append(slices.Clone(c.Command), c.Args...)
			if !hasPair(args, "--maxmemory-policy", "noeviction") {
				t.Errorf("%s: redis without --maxmemory-policy noeviction", o)
			}
			if !hasPair(args, "--appendonly", "yes") {
				t.Errorf("%s: redis without --appendonly yes", o)
			}
			if _, tag, _ := splitImage(c.Image); tag == "" || tag == "latest" {
				t.Errorf("%s: image %q: pin a tag", o, c.Image)
			}
			checkContainerSecurity(t, c)
			if !slices.ContainsFunc(c.VolumeMounts, func(v corev1.VolumeMount) bool { return v.MountPath == "/data" }) {
				t.Errorf("%s: nothing mounted at /data", o)
			}
		}
	}
	if !found {
		t.Skip("no Redis StatefulSet example")
	}
}

// hasPair tells whether flag is followed by value in args, or given as "flag value" in one word.
func hasPair(args []string, flag, value string) bool {
	for i, a := range args {
		if a == flag && i+1 < len(args) && args[i+1] == value {
			return true
		}
		if strings.Join(strings.Fields(a), " ") == flag+" "+value {
			return true
		}
	}
	return false
}
