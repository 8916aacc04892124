//go:build !nohelm

package validate

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
)

// RenderChart renders the chart in dir the way `helm template` does, with
// Helm's own loader and template engine in strict mode (a reference to a
// value that does not exist is an error), for a release name and namespace
// and values given as YAML on top of the chart's values.yaml. It returns
// each rendered file by its template path, NOTES.txt included.
func RenderChart(dir, release, namespace, values string) (map[string]string, error) {
	ch, err := loader.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("loading the chart: %w", err)
	}
	if err := ch.Validate(); err != nil {
		return nil, fmt.Errorf("chart metadata (Chart.yaml): %w", err)
	}
	vals, err := chartutil.ReadValues([]byte(values))
	if err != nil {
		return nil, fmt.Errorf("values: %w", err)
	}
	rv, err := chartutil.ToRenderValues(ch, vals, chartutil.ReleaseOptions{
		Name: release, Namespace: namespace, Revision: 1, IsInstall: true,
	}, nil)
	if err != nil {
		return nil, err
	}
	return engine.Engine{Strict: true}.Render(ch, rv)
}

// DecodeRendered strictly decodes every manifest of a rendered chart (see
// Decode), skipping NOTES.txt and files that rendered to nothing.
func DecodeRendered(files map[string]string) ([]Object, error) {
	var objs []Object
	var errs []error
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range files {
			if !yield(k) {
				return
			}
		}
	}) {
		if path.Base(name) == "NOTES.txt" || !strings.HasSuffix(name, ".yaml") {
			continue
		}
		docs, err := SplitDocuments([]byte(files[name]))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		for i, doc := range docs {
			gvk, v, err := Decode(doc)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s#%d: %w\n%s", name, i, err, doc))
				continue
			}
			objs = append(objs, Object{Path: name, Index: i, GVK: gvk, Value: v})
		}
	}
	return objs, errors.Join(errs...)
}
