package validate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// ServiceMonitor is the subset of the Prometheus Operator's
// monitoring.coreos.com/v1 ServiceMonitor that statusbridge's manifest uses;
// a field outside it fails strict decoding, so add fields here as needed.
type ServiceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              ServiceMonitorSpec `json:"spec"`
}

// ServiceMonitorSpec is the spec of a ServiceMonitor.
type ServiceMonitorSpec struct {
	JobLabel          string                   `json:"jobLabel,omitempty"`
	Selector          metav1.LabelSelector     `json:"selector"`
	NamespaceSelector *NamespaceSelector       `json:"namespaceSelector,omitempty"`
	Endpoints         []ServiceMonitorEndpoint `json:"endpoints"`
	TargetLabels      []string                 `json:"targetLabels,omitempty"`
	PodTargetLabels   []string                 `json:"podTargetLabels,omitempty"`
	SampleLimit       *uint64                  `json:"sampleLimit,omitempty"`
	AttachMetadata    *map[string]bool         `json:"attachMetadata,omitempty"`
}

// NamespaceSelector selects the namespaces a ServiceMonitor looks in.
type NamespaceSelector struct {
	Any        bool     `json:"any,omitempty"`
	MatchNames []string `json:"matchNames,omitempty"`
}

// ServiceMonitorEndpoint is one scrape endpoint of a ServiceMonitor.
type ServiceMonitorEndpoint struct {
	Port          string              `json:"port,omitempty"`
	TargetPort    *intstr.IntOrString `json:"targetPort,omitempty"`
	Path          string              `json:"path,omitempty"`
	Scheme        string              `json:"scheme,omitempty"`
	Interval      string              `json:"interval,omitempty"`
	ScrapeTimeout string              `json:"scrapeTimeout,omitempty"`
	HonorLabels   bool                `json:"honorLabels,omitempty"`
}

// PrometheusRule is the Prometheus Operator's monitoring.coreos.com/v1
// PrometheusRule; its groups are checked by Prometheus's own rule parser.
type PrometheusRule struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              PrometheusRuleSpec `json:"spec"`
}

// PrometheusRuleSpec holds the rule groups, in the rules file format.
type PrometheusRuleSpec struct {
	Groups []json.RawMessage `json:"groups"`
}

// Kustomization is the subset of kustomize.config.k8s.io/v1beta1
// Kustomization that statusbridge's manifests use.
type Kustomization struct {
	metav1.TypeMeta `json:",inline"`
	Namespace       string           `json:"namespace,omitempty"`
	NamePrefix      string           `json:"namePrefix,omitempty"`
	Resources       []string         `json:"resources,omitempty"`
	Components      []string         `json:"components,omitempty"`
	Images          []KustomizeImage `json:"images,omitempty"`
	Labels          []KustomizeLabel `json:"labels,omitempty"`
	Patches         []map[string]any `json:"patches,omitempty"`
	Replicas        []map[string]any `json:"replicas,omitempty"`
}

// KustomizeImage overrides an image name, tag or digest.
type KustomizeImage struct {
	Name    string `json:"name"`
	NewName string `json:"newName,omitempty"`
	NewTag  string `json:"newTag,omitempty"`
	Digest  string `json:"digest,omitempty"`
}

// KustomizeLabel adds labels to resources.
type KustomizeLabel struct {
	Pairs            map[string]string `json:"pairs"`
	IncludeSelectors bool              `json:"includeSelectors,omitempty"`
	IncludeTemplates bool              `json:"includeTemplates,omitempty"`
}

// kinds maps each apiVersion/kind allowed in deploy/kubernetes to a new
// value of its Go type.
var kinds = map[schema.GroupVersionKind]func() any{
	appsv1.SchemeGroupVersion.WithKind("Deployment"):                        func() any { return &appsv1.Deployment{} },
	appsv1.SchemeGroupVersion.WithKind("StatefulSet"):                       func() any { return &appsv1.StatefulSet{} },
	corev1.SchemeGroupVersion.WithKind("Service"):                           func() any { return &corev1.Service{} },
	corev1.SchemeGroupVersion.WithKind("Secret"):                            func() any { return &corev1.Secret{} },
	corev1.SchemeGroupVersion.WithKind("ConfigMap"):                         func() any { return &corev1.ConfigMap{} },
	corev1.SchemeGroupVersion.WithKind("Namespace"):                         func() any { return &corev1.Namespace{} },
	corev1.SchemeGroupVersion.WithKind("ServiceAccount"):                    func() any { return &corev1.ServiceAccount{} },
	policyv1.SchemeGroupVersion.WithKind("PodDisruptionBudget"):             func() any { return &policyv1.PodDisruptionBudget{} },
	networkingv1.SchemeGroupVersion.WithKind("NetworkPolicy"):               func() any { return &networkingv1.NetworkPolicy{} },
	networkingv1.SchemeGroupVersion.WithKind("Ingress"):                     func() any { return &networkingv1.Ingress{} },
	{Group: "monitoring.coreos.com", Version: "v1", Kind: "ServiceMonitor"}: func() any { return &ServiceMonitor{} },
	{Group: "monitoring.coreos.com", Version: "v1", Kind: "PrometheusRule"}: func() any { return &PrometheusRule{} },
	{Group: "kustomize.config.k8s.io", Version: "v1beta1", Kind: "Kustomization"}: func() any {
		return &Kustomization{}
	},
}

// Object is one decoded YAML document of a manifest file.
type Object struct {
	// Path is the file, relative to the manifest root.
	Path string
	// Index is the document's position within the file.
	Index int
	// GVK is the document's apiVersion and kind.
	GVK schema.GroupVersionKind
	// Value is a pointer to the typed object.
	Value any
}

// String names the document for error messages.
func (o Object) String() string {
	return fmt.Sprintf("%s#%d (%s)", o.Path, o.Index, o.GVK.Kind)
}

// Decode strictly decodes one YAML document into the Go type registered for
// its apiVersion and kind. Unknown or duplicate fields, fields spelt with the
// wrong case, wrong value types and unregistered kinds are errors.
func Decode(doc []byte) (schema.GroupVersionKind, any, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return schema.GroupVersionKind{}, nil, fmt.Errorf("reading apiVersion and kind: %w", err)
	}
	gvk := tm.GroupVersionKind()
	newObj, ok := kinds[gvk]
	if !ok {
		return gvk, nil, fmt.Errorf("apiVersion %q kind %q is not one this validator knows", tm.APIVersion, tm.Kind)
	}
	obj := newObj()
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		return gvk, nil, err
	}
	// encoding/json matches field names case-insensitively; the API server
	// does not. Decode again the way it does to catch "Replicas:" and the like.
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return gvk, nil, err
	}
	strictErrs, err := kjson.UnmarshalStrict(js, newObj())
	if err != nil {
		return gvk, nil, err
	}
	if len(strictErrs) > 0 {
		return gvk, nil, errors.Join(strictErrs...)
	}
	return gvk, obj, nil
}

// SplitDocuments splits a multi-document YAML stream, dropping empty
// documents and those holding only comments.
func SplitDocuments(data []byte) ([][]byte, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		if onlyComments(doc) {
			continue
		}
		docs = append(docs, doc)
	}
}

func onlyComments(doc []byte) bool {
	for line := range strings.SplitSeq(string(doc), "\n") {
		line = strings.TrimSpace(line)
		if line != "" && line != "---" && !strings.HasPrefix(line, "#") {
			return false
		}
	}
	return true
}

// LoadDir decodes every .yaml and .yml file below root.
func LoadDir(root string) ([]Object, error) {
	var files []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(files)
	var objs []Object
	var errs []error
	for _, f := range files {
		rel, _ := filepath.Rel(root, f)
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		docs, err := SplitDocuments(data)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", rel, err))
			continue
		}
		if len(docs) == 0 {
			errs = append(errs, fmt.Errorf("%s: no YAML document", rel))
		}
		for i, doc := range docs {
			gvk, v, err := Decode(doc)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s#%d: %w", rel, i, err))
				continue
			}
			objs = append(objs, Object{Path: filepath.ToSlash(rel), Index: i, GVK: gvk, Value: v})
		}
	}
	return objs, errors.Join(errs...)
}
