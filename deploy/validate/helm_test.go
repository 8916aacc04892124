//go:build !nohelm

package validate

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
)

const chartDir = "../helm/statusbridge"

// render renders the chart and decodes its manifests strictly.
func render(t *testing.T, release, namespace, values string) manifests {
	t.Helper()
	files, err := RenderChart(chartDir, release, namespace, values)
	if err != nil {
		t.Fatalf("rendering the chart: %v", err)
	}
	for name, out := range files {
		if filepath.Base(name) == "NOTES.txt" && strings.TrimSpace(out) == "" {
			t.Errorf("%s rendered empty", name)
		}
	}
	objs, err := DecodeRendered(files)
	if err != nil {
		t.Fatalf("decoding the rendered chart: %v", err)
	}
	if len(objs) == 0 {
		t.Fatal("the chart rendered no manifest")
	}
	for _, o := range objs {
		meta, ok := o.Value.(metav1.Object)
		if !ok {
			t.Errorf("%s has no metadata", o)
			continue
		}
		if meta.GetNamespace() != namespace {
			t.Errorf("%s: namespace %q, want the release's %q", o, meta.GetNamespace(), namespace)
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
	return manifests{objs: objs}
}

// count returns how many objects of type T were rendered.
func count[T any](m manifests) int {
	n := 0
	for _, o := range m.objs {
		if _, ok := o.Value.(*T); ok {
			n++
		}
	}
	return n
}

// checkChartWorkload checks the facts statusbridge relies on in a rendered
// chart whose objects are named name and whose credentials come from secret.
func checkChartWorkload(t *testing.T, m manifests, name, secret string, replicas int32) *appsv1.Deployment {
	t.Helper()
	d, _ := one[appsv1.Deployment](t, m, name)
	pod := d.Spec.Template
	podLabels := labels.Set(pod.Labels)
	if d.Spec.Replicas == nil || *d.Spec.Replicas != replicas {
		t.Errorf("replicas = %v, want %d", d.Spec.Replicas, replicas)
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || sel.Empty() || !sel.Matches(podLabels) {
		t.Errorf("Deployment selector %v does not match pod labels %v (%v)", d.Spec.Selector, pod.Labels, err)
	}
	for _, c := range pod.Spec.TopologySpreadConstraints {
		if s, err := metav1.LabelSelectorAsSelector(c.LabelSelector); err != nil || !s.Matches(podLabels) {
			t.Errorf("topologySpreadConstraint %s: selector does not match the pods", c.TopologyKey)
		}
	}
	ps := pod.Spec.SecurityContext
	if ps == nil || ps.RunAsNonRoot == nil || !*ps.RunAsNonRoot {
		t.Error("pod securityContext.runAsNonRoot must be true")
	}
	if pod.Spec.AutomountServiceAccountToken == nil || *pod.Spec.AutomountServiceAccountToken {
		t.Error("automountServiceAccountToken must be false")
	}
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("want one container, got %d", len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	if _, tag, digest := splitImage(c.Image); digest == "" && (tag == "" || tag == "latest") {
		t.Errorf("image %q: not pinned", c.Image)
	}
	checkContainerSecurity(t, c)
	checkResources(t, c)

	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		if _, dup := env[e.Name]; dup {
			t.Errorf("env %s set twice", e.Name)
		}
		env[e.Name] = e
		if !knownSetting(t, e.Name) {
			t.Errorf("env %s is not a statusbridge setting", e.Name)
		}
		var ref *corev1.SecretKeySelector
		if e.ValueFrom != nil {
			ref = e.ValueFrom.SecretKeyRef
		}
		if secretSetting(t, e.Name) && (ref == nil || e.Value != "") {
			t.Errorf("env %s holds a credential: it must come from a secretKeyRef", e.Name)
		}
		if ref != nil && (ref.Name != secret || ref.Key != e.Name) {
			t.Errorf("env %s: secretKeyRef %s/%s, want %s/%s", e.Name, ref.Name, ref.Key, secret, e.Name)
		}
	}
	for _, must := range []string{"SLACK_BOT_TOKEN", "REDIS_URL"} {
		e, ok := env[must]
		if !ok || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			t.Errorf("env %s is not taken from the Secret", must)
		} else if o := e.ValueFrom.SecretKeyRef.Optional; o != nil && *o {
			t.Errorf("env %s is optional; statusbridge cannot run without it", must)
		}
	}
	httpPort := containerPort(t, c, "http")
	metricsPort := containerPort(t, c, "metrics")
	if got := listenPort(t, env, "STATUSBRIDGE_LISTEN", 8080); got != httpPort {
		t.Errorf("STATUSBRIDGE_LISTEN port %d != container port http %d", got, httpPort)
	}
	if got := listenPort(t, env, "STATUSBRIDGE_METRICS_LISTEN", 0); got != metricsPort {
		t.Errorf("STATUSBRIDGE_METRICS_LISTEN port %d != container port metrics %d", got, metricsPort)
	}
	checkProbe(t, "livenessProbe", c.LivenessProbe, "/healthz", c, httpPort)
	checkProbe(t, "readinessProbe", c.ReadinessProbe, "/readyz", c, httpPort)
	if c.StartupProbe != nil {
		checkProbe(t, "startupProbe", c.StartupProbe, "/healthz", c, httpPort)
	}

	svc, _ := one[corev1.Service](t, m, name)
	if len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(podLabels) {
		t.Errorf("Service selector %v does not match pod labels %v", svc.Spec.Selector, podLabels)
	}
	for _, p := range svc.Spec.Ports {
		if _, ok := resolvePort(c, p.TargetPort); !ok {
			t.Errorf("Service port %s: targetPort %s is no container port", p.Name, p.TargetPort.String())
		}
	}
	if pdbs := count[policyv1.PodDisruptionBudget](m); pdbs > 0 {
		pdb, _ := one[policyv1.PodDisruptionBudget](t, m, name)
		psel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil || psel.String() != sel.String() {
			t.Errorf("PodDisruptionBudget selector %q differs from the Deployment's %q", psel, sel)
		}
		if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() >= int(replicas) {
			t.Errorf("PodDisruptionBudget minAvailable %v leaves no pod to evict from %d", pdb.Spec.MinAvailable, replicas)
		}
	}
	if sa := pod.Spec.ServiceAccountName; count[corev1.ServiceAccount](m) > 0 {
		one[corev1.ServiceAccount](t, m, sa)
	}
	return d
}

func TestHelmChartDefaults(t *testing.T) {
	m := render(t, appName, "statusbridge", "")
	d := checkChartWorkload(t, m, appName, secretName, 2)
	for kind, n := range map[string]int{
		"Deployment": count[appsv1.Deployment](m), "Service": count[corev1.Service](m),
		"ServiceAccount": count[corev1.ServiceAccount](m), "PodDisruptionBudget": count[policyv1.PodDisruptionBudget](m),
	} {
		if n != 1 {
			t.Errorf("%d %s rendered, want 1", n, kind)
		}
	}
	for kind, n := range map[string]int{
		"Secret": count[corev1.Secret](m), "ServiceMonitor": count[ServiceMonitor](m), "PrometheusRule": count[PrometheusRule](m),
	} {
		if n != 0 {
			t.Errorf("%d %s rendered by default, want none", n, kind)
		}
	}
	pdb, _ := one[policyv1.PodDisruptionBudget](t, m, appName)
	if pdb.Spec.MinAvailable == nil || *pdb.Spec.MinAvailable != intstr.FromInt32(1) {
		t.Errorf("PodDisruptionBudget minAvailable = %v, want 1", pdb.Spec.MinAvailable)
	}
	if got := d.Spec.Template.Spec.Containers[0].Image; got != "statusbridge:0.1.0" {
		t.Errorf("image %q, want the chart's appVersion statusbridge:0.1.0", got)
	}
	if a := d.Spec.Template.Annotations; a["prometheus.io/scrape"] != "true" || a["prometheus.io/port"] != "9090" {
		t.Errorf("pod annotations %v: want prometheus.io/scrape on port 9090", a)
	}

	// The chart mirrors deploy/kubernetes: same settings, probes, resources
	// and security contexts.
	k, _ := one[appsv1.Deployment](t, load(t), appName)
	kc, hc := k.Spec.Template.Spec.Containers[0], d.Spec.Template.Spec.Containers[0]
	envs := func(c corev1.Container) []corev1.EnvVar {
		out := slices.Clone(c.Env)
		slices.SortFunc(out, func(a, b corev1.EnvVar) int { return strings.Compare(a.Name, b.Name) })
		return out
	}
	for what, pair := range map[string][2]any{
		"env":                    {envs(kc), envs(hc)},
		"ports":                  {kc.Ports, hc.Ports},
		"args":                   {kc.Args, hc.Args},
		"livenessProbe":          {kc.LivenessProbe, hc.LivenessProbe},
		"readinessProbe":         {kc.ReadinessProbe, hc.ReadinessProbe},
		"startupProbe":           {kc.StartupProbe, hc.StartupProbe},
		"resources":              {kc.Resources, hc.Resources},
		"securityContext":        {kc.SecurityContext, hc.SecurityContext},
		"volumeMounts":           {kc.VolumeMounts, hc.VolumeMounts},
		"pod securityContext":    {k.Spec.Template.Spec.SecurityContext, d.Spec.Template.Spec.SecurityContext},
		"strategy":               {k.Spec.Strategy, d.Spec.Strategy},
		"terminationGracePeriod": {k.Spec.Template.Spec.TerminationGracePeriodSeconds, d.Spec.Template.Spec.TerminationGracePeriodSeconds},
	} {
		if !reflect.DeepEqual(pair[0], pair[1]) {
			t.Errorf("%s differs between deploy/kubernetes and the chart:\n kustomize: %+v\n chart:     %+v", what, pair[0], pair[1])
		}
	}
}

func TestHelmChartOptions(t *testing.T) {
	const values = `
replicaCount: 3
image: {repository: registry.example.com/statusbridge, tag: "1.2.3"}
secret:
  create: true
  values:
    REDIS_URL: redis://redis:6379/0
    SLACK_BOT_TOKEN: xoxb-test
    SLACK_APP_TOKEN: xapp-test
env:
  STATUSBRIDGE_GRAPH_RATE: 600/30s
serviceMonitor: {enabled: true, labels: {release: kube-prometheus-stack}}
prometheusRule: {enabled: true, labels: {release: kube-prometheus-stack}}
podDisruptionBudget: {enabled: true, minAvailable: 2}
`
	const name = "prod-statusbridge"
	m := render(t, "prod", "bridge", values)
	d := checkChartWorkload(t, m, name, name, 3)
	c := d.Spec.Template.Spec.Containers[0]
	if c.Image != "registry.example.com/statusbridge:1.2.3" {
		t.Errorf("image %q", c.Image)
	}
	if !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "STATUSBRIDGE_GRAPH_RATE" && e.Value == "600/30s" }) {
		t.Error("env STATUSBRIDGE_GRAPH_RATE from values.env not rendered")
	}
	s, _ := one[corev1.Secret](t, m, name)
	if s.StringData["SLACK_BOT_TOKEN"] != "xoxb-test" || s.StringData["REDIS_URL"] == "" {
		t.Errorf("Secret stringData %v misses the inline values", s.StringData)
	}
	if d.Spec.Template.Annotations["checksum/secret"] == "" {
		t.Error("no checksum/secret annotation: pods would keep old credentials after an upgrade")
	}

	sm, _ := one[ServiceMonitor](t, m, name)
	svc, _ := one[corev1.Service](t, m, name)
	ssel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
	if err != nil || ssel.Empty() || !ssel.Matches(labels.Set(svc.Labels)) {
		t.Errorf("ServiceMonitor selector %v does not match the Service's labels %v", sm.Spec.Selector, svc.Labels)
	}
	if sm.Labels["release"] != "kube-prometheus-stack" {
		t.Errorf("ServiceMonitor labels %v miss serviceMonitor.labels", sm.Labels)
	}
	for _, ep := range sm.Spec.Endpoints {
		if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == ep.Port }) {
			t.Errorf("ServiceMonitor endpoint port %q is not a Service port name", ep.Port)
		}
	}
	if ns := sm.Spec.NamespaceSelector; ns == nil || !slices.Contains(ns.MatchNames, "bridge") {
		t.Errorf("ServiceMonitor namespaceSelector %+v misses the release namespace", ns)
	}

	pr, _ := one[PrometheusRule](t, m, name)
	if pr.Labels["release"] != "kube-prometheus-stack" {
		t.Errorf("PrometheusRule labels %v miss prometheusRule.labels", pr.Labels)
	}
	compareRuleGroups(t, "the chart's PrometheusRule", pr.Spec)
}

// TestHelmChartRefusesMistakes shows that rendering fails on values that
// would deploy a broken or unsafe bridge, and that strict decoding catches
// a misspelt field passed through values.
func TestHelmChartRefusesMistakes(t *testing.T) {
	for name, values := range map[string]string{
		"unpinned image":         `image: {tag: latest}`,
		"credential in env":      `env: {SLACK_BOT_TOKEN: xoxb-leak}`,
		"listener in env":        `env: {STATUSBRIDGE_LISTEN: ":9999"}`,
		"inline secret, no keys": `secret: {create: true, values: {SLACK_BOT_TOKEN: xoxb-test}}`,
		"misspelt probe field":   `probes: {liveness: {httpGet: {paht: /healthz, port: http}}}`,
		"misspelt context field": `securityContext: {readOnlyRootFileSystem: true}`,
		"wrong value type":       `replicaCount: two`,
	} {
		t.Run(name, func(t *testing.T) {
			files, err := RenderChart(chartDir, appName, "statusbridge", values)
			if err == nil {
				_, err = DecodeRendered(files)
			}
			if err == nil {
				t.Errorf("values %q rendered and decoded", values)
			} else {
				t.Logf("rejected: %.300s", err)
			}
		})
	}
}

// TestHelmChartRulesCopy checks that the chart ships the alerting rules
// unchanged (a chart cannot read files outside its directory).
func TestHelmChartRulesCopy(t *testing.T) {
	want := loadRules(t)
	got, err := os.ReadFile(filepath.Join(chartDir, "files", "statusbridge-rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s/files/statusbridge-rules.yaml differs from %s: cp %s %s/files/", chartDir, rulesFile, rulesFile, chartDir)
	}
}
